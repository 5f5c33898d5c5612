"""Export a trained generator (and discriminator) as a TF1 Hub format module.

The module directory (`model_dir/tfhub/<step>/` by default) holds one
`saved_model.pb` with eleven graph variants, a `variables/` checkpoint shared by
all of them, and the marker `tfhub_module.pb` (ModuleDef format 3, the bytes
08 03). See docs/hub_export.md for users; in short:

- tags `{}` (the empty set), signature `default` -- the interface of
  DeepMind's biggan-* modules: inputs `z` float32 [None, z_dim], `y` float32
  [None, num_classes] (one-hot or any blend; ignored by unconditional models,
  which still take it; 1 column if the dataset has no labels), `truncation`
  float32 []; output `default` float32 [None, H, W, 3] in [-1, 1]. The
  generator uses the EMA weights when the model keeps them, spectral norm
  converged on the exported weights, and batch norm in
  inference mode with *standing statistics per truncation value*: for each t
  on a grid (default 0.02, 0.04, ..., 1.00) the generator is run in
  training-mode BN on batches of z = t * truncnorm(-2, 2) with uniformly random
  one-hot classes; each BN layer's batch mean and variance are averaged over
  the batches and stored as non-trainable variables
  `standing_statistics/<layer>/{mean,variance}` [grid, C]. The module
  interpolates them linearly at `truncation` (clamped to the grid's range). z
  is never rescaled inside the module: the caller passes z already truncated.
- tags `{"gen", "bs<N>"}` (compare_gan's; N = 8, 16, 32, 64 or None): inputs
  `z` and, if conditional, `labels` int32 [N]; output `generated` in [0, 1].
  The generator evaluation measures (`inference_generator.InferenceGenerator`
  loaded by `inference_generator.load_inference_generator`): same weights and spectral
  norm, batch norm with the moving averages or evaluation's standing
  statistics (`evaluation_statistics/<layer>/{mean,variance}` [C]).
- tags `{"disc", "bs<N>"}` (compare_gan's): inputs `images` float32 [N,
  H, W, C] in [0, 1] and, if conditional, `labels` int32 [N]; output
  `prediction`, D's sigmoid probability [N, 1] (raw weights with converged
  spectral norm, inference mode). For SSGAN / S3GAN it is D with its heads
  (S3GAN's projection; label -1 means "unlabelled": D's predicted class is
  projected), and `{disc, bsNone}` also returns `rotation_logits` [N, 4] and
  `predictor_logits` [N, num_classes] when the model has those heads
  (compare_gan exported the base D only).

How it is written (TensorFlow only; tensorflow_hub >= 0.16 has no TF1 export
API): every variant is built in its own `tf.compat.v1.Graph` with placeholders;
the networks run on graph variables through `VariableStore.override`, inside
`arch_ops.no_state_updates()` (no spectral-norm or BN-statistics assignments),
with `arch_ops.batch_stats_hook` substituting the standing statistics. Each
variant's MetaGraphDef is exported with `strip_default_attrs=True`, only the
variable collections (the ones hub.Module supports) and a Saver restoring its
own variables from the shared checkpoint. `tf.compat.v1.saved_model.Builder`
is not used because it saves the variables of the first graph only, and no
single variant holds both G's and D's variables; instead one "state" graph
holding every exported variable (G, D, standing statistics) writes the
checkpoint, and the SavedModel proto is assembled from the variants' MetaGraphDefs.
Everything is written into a temporary sibling directory that is renamed into
place, so a failed export leaves nothing behind.

Entry points: `export_checkpoint(ctx_or_gan, checkpoint_path, output_dir=None)`,
the `export` schedule (`--schedule=export`), `python -m compare_gan2.export`,
and `on_checkpoint_evaluated`, the after-evaluation action that
compare_gan2/main.py gives the evaluation schedules (it exports only with
`hub_export.export_evaluated_checkpoints = True`).
"""

import collections
import dataclasses
import os
import uuid

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import inference_generator
from compare_gan2.architectures import arch_ops
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.training import checkpoints

DEFAULT_TAGS = frozenset()
GEN_TAGS = frozenset({"gen", "bsNone"})
DISC_TAGS = frozenset({"disc", "bsNone"})
# compare_gan's fixed-batch variants {gen|disc, bs8|bs16|bs32|bs64} and bsNone.
BATCH_SIZES = (8, 16, 32, 64, None)
SIGNATURE = "default"
STATS_SCOPE = "standing_statistics"
EVAL_STATS_SCOPE = "evaluation_statistics"
EMA_SUFFIX = "/ExponentialMovingAverage"
MODULE_DEF_BYTES = b"\x08\x03"  # ModuleDef{format: 3}
EXPORT_DIR_NAME = "tfhub"
_VARIABLE_COLLECTIONS = (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
                         tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)


def batch_tags(model, batch_size):
  """compare_gan's tag set of a variant: {"gen"|"disc", "bs<batch_size>"}."""
  return frozenset({model, f"bs{batch_size}"})


class ExportError(RuntimeError):
  """The export could not be written (nothing was left behind)."""


@dataclasses.dataclass(frozen=True)
class ExportOptions:
  """How standing statistics are computed (gin selector `hub_export`)."""
  truncation_grid: tuple
  stats_batch_size: int
  stats_num_batches: int
  stats_seed: int
  export_evaluated_checkpoints: bool


def default_truncation_grid(size=50, include_zero=False):
  """(0.02, 0.04, ..., 1.00) for size 50; with include_zero also 0.00 first."""
  start = 0 if include_zero else 1
  return tuple(float(k) / size for k in range(start, size + 1))


@gin.configurable("hub_export")
def get_export_options(truncation_grid_size=50,
                       truncation_grid_include_zero=False,
                       truncation_grid=None,
                       stats_batch_size=64,
                       stats_num_batches=8,
                       stats_seed=0,
                       export_evaluated_checkpoints=False):
  """Gin `hub_export.*`: standing statistics and the evaluation hook.

  Args:
    truncation_grid_size: grid points in (0, 1]: k / size for k = 1..size
      (50: 0.02, 0.04, ..., 1.00).
    truncation_grid_include_zero: also a point at 0.00 (51 values for 50, as
      DeepMind's biggan-deep modules).
    truncation_grid: explicit increasing list of truncation values; overrides
      the two above.
    stats_batch_size: batch size of the training-mode BN runs. Statistics are
      averages of per-batch moments, so this is the batch whose statistics the
      module reproduces.
    stats_num_batches: batches averaged per truncation value.
    stats_seed: seed of the latents and classes used for the statistics.
    export_evaluated_checkpoints: the evaluation schedules also export every
      checkpoint they evaluate (compare_gan's behaviour; off by default, as
      it roughly doubles evaluation time).
  """
  if truncation_grid is None:
    grid = default_truncation_grid(truncation_grid_size,
                                   truncation_grid_include_zero)
  else:
    grid = tuple(float(t) for t in truncation_grid)
  if not grid or any(b <= a for a, b in zip(grid, grid[1:])):
    raise ValueError(f"hub_export truncation grid must be a non-empty increasing "
                     f"list, got {grid}.")
  if stats_batch_size < 2 or stats_num_batches < 1:
    raise ValueError("hub_export needs stats_batch_size >= 2 and "
                     "stats_num_batches >= 1.")
  return ExportOptions(grid, int(stats_batch_size), int(stats_num_batches),
                       int(stats_seed), bool(export_evaluated_checkpoints))


# ----------------------------------------------------------------------------
# Inputs of the standing-statistics runs.
# ----------------------------------------------------------------------------


def truncated_normal(rng, shape, bound=2.0):
  """Standard normal samples truncated to [-bound, bound] (by resampling)."""
  x = rng.standard_normal(shape)
  outside = np.abs(x) > bound
  while outside.any():
    x[outside] = rng.standard_normal(int(outside.sum()))
    outside = np.abs(x) > bound
  return x.astype(np.float32)


def stats_inputs(z_dim, num_classes, batch_size, num_batches, seed):
  """Base latents truncnorm(-2, 2) [num_batches, bs, z_dim] and class ids.

  The latents for truncation t are `t * base` (the same base for every t, so
  the statistics vary smoothly along the grid); class ids are uniform in
  [0, num_classes) (None when num_classes is None).
  """
  rng = np.random.default_rng(seed)
  base = truncated_normal(rng, [num_batches, batch_size, z_dim])
  labels = None
  if num_classes:
    labels = rng.integers(0, num_classes, size=[num_batches, batch_size])
  return base, labels


# ----------------------------------------------------------------------------
# What to export: variable specs and values, checked against the checkpoint.
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class _VarSpec:
  shape: tuple
  dtype: tf.DType
  trainable: bool


@dataclasses.dataclass
class _ModelInfo:
  """Everything the graph builders need; no reference to eager variables."""
  gan: object
  g_specs: dict  # raw G name -> _VarSpec
  d_specs: dict
  g_values: dict  # raw G name -> value (EMA value for EMA'd weights)
  d_values: dict
  uses_ema: bool
  z_dim: int
  num_classes: int  # columns of the default signature's y (>= 1)
  conditional: bool
  image_shape: tuple


def _specs(store):
  return {name: _VarSpec(tuple(v.shape.as_list()), v.dtype.base_dtype,
                         bool(v.trainable))
          for name, v in store.vars.items()}


def _model_info(gan, checkpoint_path, strategy=None):
  """Builds `gan` if needed and reads the checkpoint values it needs.

  Raises:
    CheckpointNotFoundError: no such checkpoint.
    CheckpointMismatchError: the checkpoint does not fit the configured model.
  """
  values = checkpoints.read_variables(checkpoint_path)
  if getattr(gan, "global_step", None) is None:
    if strategy is not None:
      with strategy.scope():
        gan.build()
    else:
      gan.build()
  g_specs = _specs(gan.generator.store)
  d_specs = _specs(gan.discriminator.store)
  ema_names = set(gan.generator_variable_mapping(
      use_ema=inference_generator.use_ema(gan, evaluator_lib.eval_options())))
  wanted = {}  # checkpoint name -> (network, raw name)
  for name in g_specs:
    wanted[name + EMA_SUFFIX if name in ema_names else name] = ("g", name)
  for name in d_specs:
    wanted[name] = ("d", name)
  missing = sorted(n for n in wanted if n not in values)
  wrong = []
  for ckpt_name, (net, name) in wanted.items():
    spec = (g_specs if net == "g" else d_specs)[name]
    if ckpt_name in values and tuple(values[ckpt_name].shape) != spec.shape:
      wrong.append(f"{ckpt_name} {tuple(values[ckpt_name].shape)} vs {spec.shape}")
  if missing or wrong:
    details = []
    if missing:
      details.append(f"missing: {missing[:5]}")
    if wrong:
      details.append("shape mismatch: " + ", ".join(sorted(wrong)[:5]))
    raise checkpoints.CheckpointMismatchError(
        f"Cannot export checkpoint {checkpoint_path!r}: it does not match the "
        f"configured model ({len(missing)} variables missing, {len(wrong)} with "
        f"other shapes; {'; '.join(details)}). Was it written with another "
        "architecture or gin config? Export with the gin config the model was "
        "trained with (the model_dir's operative_config-<step>.gin, the default "
        "of `python -m compare_gan2.export`).")
  g_values, d_values = {}, {}
  for ckpt_name, (net, name) in wanted.items():
    (g_values if net == "g" else d_values)[name] = values[ckpt_name]
  num_classes = gan.num_classes if gan.conditional else (gan.num_classes or 1)
  return _ModelInfo(
      gan=gan, g_specs=g_specs, d_specs=d_specs, g_values=g_values,
      d_values=d_values, uses_ema=bool(ema_names), z_dim=int(gan.z_dim),
      num_classes=int(num_classes), conditional=bool(gan.conditional),
      image_shape=tuple(int(d) for d in gan.dataset.image_shape))


# ----------------------------------------------------------------------------
# Graph building blocks (all inside a tf.compat.v1 graph).
# ----------------------------------------------------------------------------


def _make_variables(specs):
  """Graph variables named exactly like the store's (zeros initializers)."""
  result = {}
  graph = tf.compat.v1.get_default_graph()
  with graph.name_scope(None):
    for name, spec in specs.items():
      var = tf.compat.v1.Variable(tf.zeros(spec.shape, spec.dtype), name=name,
                                  trainable=spec.trainable, use_resource=True)
      if var.op.name != name:
        raise ExportError(f"Internal error: graph variable {name!r} was named "
                          f"{var.op.name!r}.")
      result[name] = var
  return result


def _load_values(session, variables, values):
  """Assigns numpy values to graph variables (via feeds, not constants)."""
  ops, feeds = [], {}
  for name, var in variables.items():
    ph = tf.compat.v1.placeholder(var.dtype.base_dtype, var.shape)
    ops.append(var.assign(ph, read_value=False))
    feeds[ph] = values[name]
  session.run(ops, feeds)


def _run_generator(info, variables, z, y, is_training, hook):
  generator = info.gan.generator
  with arch_ops.no_state_updates(), generator.store.override(variables), \
      arch_ops.batch_stats_hook(hook):
    return generator(z, y, is_training=is_training)


# D head outputs the {disc, bsNone} variant also returns: {output: signature name}.
DISC_HEAD_OUTPUTS = {"rotation_logits": "rotation_logits",
                     "aux_logits": "predictor_logits"}


def _run_discriminator(info, variables, images, y):
  """D with its heads (SSGAN/S3GAN): {"probs", "logits", "features", ...}."""
  with arch_ops.no_state_updates(), \
      info.gan.discriminator.store.override(variables):
    return info.gan.discriminator_outputs(images, y, is_training=False)


def _labels_to_y(info, labels):
  if not info.conditional:
    return None
  return tf.one_hot(labels, info.num_classes, dtype=tf.float32)


def _inference_generator(info):
  """The generator evaluation measures, with the checkpoint's values (and the
  standing statistics of `eval.*` if G keeps accumulators)."""
  generator = inference_generator.InferenceGenerator(info.gan)
  return inference_generator.load_inference_generator(
      generator, info.g_values, evaluator_lib.eval_options())


def compute_truncation_statistics(generator, info, options):
  """{layer key: (mean [grid, C], variance [grid, C])} as float32 numpy.

  Per-layer batch moments of the (EMA) generator in training-mode batch norm
  on z = t * truncnorm(-2, 2) with uniform random classes, averaged over
  `stats_num_batches` batches, for each t of the grid
  (`InferenceGenerator.measure_batch_statistics`, as evaluation's standing
  statistics).
  """
  base, labels = stats_inputs(info.z_dim, info.num_classes if info.conditional
                              else None, options.stats_batch_size,
                              options.stats_num_batches, options.stats_seed)
  per_t = []
  for t in options.truncation_grid:
    batches = [(tf.constant(t * base[b]),
                None if labels is None else tf.constant(labels[b], tf.int32))
               for b in range(options.stats_num_batches)]
    per_t.append(generator.measure_batch_statistics(batches))
  return {key: (np.stack([s[key][0] for s in per_t]),
                np.stack([s[key][1] for s in per_t])) for key in per_t[0]}


def _stats_variable_names(key, scope=STATS_SCOPE):
  base = f"{scope}/{key.replace('#', '_call')}"
  return base + "/mean", base + "/variance"


def _stats_specs(stats, scope=STATS_SCOPE):
  specs = {}
  for key, (mean, variance) in (stats or {}).items():
    mean_name, var_name = _stats_variable_names(key, scope)
    specs[mean_name] = _VarSpec(mean.shape, tf.float32, False)
    specs[var_name] = _VarSpec(variance.shape, tf.float32, False)
  return specs


def _stats_values(stats, scope=STATS_SCOPE):
  values = {}
  for key, (mean, variance) in (stats or {}).items():
    mean_name, var_name = _stats_variable_names(key, scope)
    values[mean_name], values[var_name] = mean, variance
  return values


def interpolation_weights(grid, truncation):
  """(left index, weight of the right neighbour) for `truncation` on `grid`.

  truncation is clamped to [grid[0], grid[-1]]; the statistics are
  (1 - w) * S[i] + w * S[i + 1] (S[i] alone for a one-point grid).
  """
  grid_t = tf.constant(grid, tf.float32)
  if len(grid) == 1:
    return tf.constant(0), tf.constant(0.0)
  t = tf.clip_by_value(tf.cast(truncation, tf.float32), grid[0], grid[-1])
  # Number of interior grid points <= t: the left neighbour's index.
  index = tf.reduce_sum(tf.cast(grid_t[1:-1] <= t, tf.int32))
  left = tf.gather(grid_t, index)
  right = tf.gather(grid_t, index + 1)
  return index, (t - left) / (right - left)


def _substituting_hook(stats_variables, grid, truncation):
  """A batch_stats_hook returning the interpolated standing statistics."""
  index, weight = interpolation_weights(grid, truncation)

  def interpolate(table):
    if len(grid) == 1:
      return table[0]
    return ((1.0 - weight) * tf.gather(table, index) +
            weight * tf.gather(table, index + 1))

  tables = _stats_lookup(stats_variables, STATS_SCOPE)

  def lookup(key):
    mean, variance = tables(key)
    return interpolate(mean), interpolate(variance)

  return inference_generator.substituting_hook(lookup)


def _stats_lookup(stats_variables, scope):
  """key -> (mean, variance) graph variables of `scope`, or ExportError."""

  def lookup(key):
    mean_name, var_name = _stats_variable_names(key, scope)
    if mean_name not in stats_variables:
      raise ExportError(f"Batch norm layer {key!r} has no standing statistics "
                        "(it was not called in the training-mode run).")
    return stats_variables[mean_name], stats_variables[var_name]

  return lookup


def _tensor_infos(tensors):
  return {k: tf.compat.v1.saved_model.build_tensor_info(t)
          for k, t in tensors.items()}


def _meta_graph(graph, variables, tags, inputs, outputs):
  """The MetaGraphDef of `graph` with one `default` signature and a Saver."""
  with graph.as_default():
    saver = tf.compat.v1.train.Saver(
        var_list=dict(variables), sharded=True, allow_empty=True,
        write_version=tf.compat.v1.train.SaverDef.V2)
    meta_graph = tf.compat.v1.train.export_meta_graph(
        graph=graph, saver_def=saver.as_saver_def(),
        collection_list=list(_VARIABLE_COLLECTIONS), clear_devices=True,
        strip_default_attrs=True)
  meta_graph.meta_info_def.tags[:] = sorted(tags)
  signature = tf.compat.v1.saved_model.build_signature_def(
      inputs=_tensor_infos(inputs), outputs=_tensor_infos(outputs))
  meta_graph.signature_def[SIGNATURE].CopyFrom(signature)
  return meta_graph


def _default_variant(info, stats, grid):
  """Empty tag set: z, y, truncation -> default in [-1, 1]."""
  with tf.Graph().as_default() as graph:
    g_vars = _make_variables(info.g_specs)
    s_vars = _make_variables(_stats_specs(stats))
    z = tf.compat.v1.placeholder(tf.float32, [None, info.z_dim], name="z")
    y = tf.compat.v1.placeholder(tf.float32, [None, info.num_classes], name="y")
    truncation = tf.compat.v1.placeholder(tf.float32, [], name="truncation")
    hook = _substituting_hook(s_vars, grid, truncation)
    images = _run_generator(info, g_vars, z, y if info.conditional else None,
                            is_training=False, hook=hook)
    output = tf.identity(images * 2.0 - 1.0, name="default")
    inputs = {"z": z, "y": y, "truncation": truncation}
    return _meta_graph(graph, {**g_vars, **s_vars}, DEFAULT_TAGS, inputs,
                       {"default": output})


def _gen_variant(info, eval_stats, batch_size):
  """compare_gan's {"gen", "bs<batch_size>"}: z (, labels) -> generated in
  [0, 1]: the generator evaluation measures (its standing statistics when G
  keeps accumulators, else the moving averages)."""
  with tf.Graph().as_default() as graph:
    g_vars = _make_variables(info.g_specs)
    s_vars = _make_variables(_stats_specs(eval_stats, EVAL_STATS_SCOPE))
    z = tf.compat.v1.placeholder(tf.float32, [batch_size, info.z_dim], name="z")
    inputs = {"z": z}
    y = None
    if info.conditional:
      labels = tf.compat.v1.placeholder(tf.int32, [batch_size], name="labels")
      inputs["labels"] = labels
      y = _labels_to_y(info, labels)
    hook = None
    if eval_stats is not None:
      hook = inference_generator.substituting_hook(
          _stats_lookup(s_vars, EVAL_STATS_SCOPE))
    images = _run_generator(info, g_vars, z, y, is_training=False, hook=hook)
    output = tf.identity(images, name="generated")
    return _meta_graph(graph, {**g_vars, **s_vars}, batch_tags("gen", batch_size),
                       inputs, {"generated": output})


def _disc_variant(info, batch_size):
  """compare_gan's {"disc", "bs<batch_size>"}: images (, labels) -> prediction."""
  with tf.Graph().as_default() as graph:
    d_vars = _make_variables(info.d_specs)
    images = tf.compat.v1.placeholder(
        tf.float32, [batch_size] + list(info.image_shape), name="images")
    inputs = {"images": images}
    y = None
    if info.conditional:
      labels = tf.compat.v1.placeholder(tf.int32, [batch_size], name="labels")
      inputs["labels"] = labels
      y = _labels_to_y(info, labels)
    outputs = _run_discriminator(info, d_vars, images, y)
    signature = {"prediction": tf.identity(outputs["probs"], name="prediction")}
    if batch_size is None:  # compare_gan's exports lacked the heads.
      for key, name in DISC_HEAD_OUTPUTS.items():
        if key in outputs:
          signature[name] = tf.identity(outputs[key], name=name)
    return _meta_graph(graph, d_vars, batch_tags("disc", batch_size), inputs,
                       signature)


def _write_variables(info, stats, eval_stats, export_dir):
  """One checkpoint `variables/variables` holding every exported variable."""
  specs = {**info.g_specs, **info.d_specs, **_stats_specs(stats),
           **_stats_specs(eval_stats, EVAL_STATS_SCOPE)}
  values = {**info.g_values, **info.d_values, **_stats_values(stats),
            **_stats_values(eval_stats, EVAL_STATS_SCOPE)}
  with tf.Graph().as_default() as graph:
    variables = _make_variables(specs)
    saver = tf.compat.v1.train.Saver(
        var_list=variables, sharded=True, allow_empty=True,
        write_version=tf.compat.v1.train.SaverDef.V2)
    with tf.compat.v1.Session(graph=graph) as session:
      _load_values(session, variables, values)
      variables_dir = os.path.join(export_dir, "variables")
      tf.io.gfile.makedirs(variables_dir)
      saver.save(session, os.path.join(variables_dir, "variables"),
                 write_meta_graph=False, write_state=False)


def _write_module(info, options, export_dir):
  if set(info.g_specs) & set(info.d_specs):
    raise ExportError("G and D share variable names: "
                      f"{sorted(set(info.g_specs) & set(info.d_specs))[:3]}")
  # Spectral norm as evaluation uses it: u converged on the exported weights
  # (the InferenceGenerator converges G's; D's here).
  generator = _inference_generator(info)
  info.g_values = generator.values
  info.d_values = {**info.d_values, **inference_generator.
                   converged_spectral_norm_vectors(info.d_values)}
  stats = compute_truncation_statistics(generator, info, options)
  eval_stats = generator.statistics
  grid = options.truncation_grid
  meta_graphs = [_default_variant(info, stats, grid)]
  meta_graphs += [_gen_variant(info, eval_stats, bs) for bs in BATCH_SIZES]
  meta_graphs += [_disc_variant(info, bs) for bs in BATCH_SIZES]
  _write_variables(info, stats, eval_stats, export_dir)
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
  saved_model.meta_graphs.extend(meta_graphs)
  with tf.io.gfile.GFile(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
    f.write(saved_model.SerializeToString())
  with tf.io.gfile.GFile(os.path.join(export_dir, "tfhub_module.pb"), "wb") as f:
    f.write(MODULE_DEF_BYTES)
  return stats


# ----------------------------------------------------------------------------
# Public API.
# ----------------------------------------------------------------------------


def default_output_dir(model_dir, checkpoint_path):
  """`model_dir/tfhub/<step>`."""
  return os.path.join(model_dir, EXPORT_DIR_NAME,
                      str(checkpoints.step_of(checkpoint_path)))


def _missing_parents(path):
  """Ancestors of `path` that do not exist yet, outermost first."""
  missing = []
  parent = os.path.dirname(os.path.abspath(path))
  while parent and not tf.io.gfile.exists(parent):
    missing.append(parent)
    up = os.path.dirname(parent)
    if up == parent:
      break
    parent = up
  return list(reversed(missing))


def export_checkpoint(ctx_or_gan, checkpoint_path, output_dir=None,
                      options=None):
  """Writes the TF1 Hub module of `checkpoint_path` to `output_dir`.

  This is the function the evaluation schedules call for each evaluated
  checkpoint (see `on_checkpoint_evaluated`); the `export` schedule and
  `python -m compare_gan2.export` call it too.

  Args:
    ctx_or_gan: a runner Context (its `gan`, `model_dir` and `strategy` are
      used) or a GAN object (ModularGAN and subclasses) configured like the
      checkpoint's model. The GAN is built if needed; its variables are only
      used for names and shapes (the exported values come from the
      checkpoint), so its in-memory state is left untouched.
    checkpoint_path: `.../model.ckpt-<step>`.
    output_dir: module directory; default `<model_dir>/tfhub/<step>` (model_dir
      of the context / GAN, else the checkpoint's directory). An existing
      directory is replaced.
    options: ExportOptions; default from gin (`hub_export.*`).

  Returns:
    The output directory.

  Raises:
    checkpoints.CheckpointNotFoundError: no such checkpoint.
    checkpoints.CheckpointMismatchError: the checkpoint is from another
      architecture / config.
    Nothing is written in either case, nor on any other error.
  """
  gan = getattr(ctx_or_gan, "gan", ctx_or_gan)
  strategy = getattr(ctx_or_gan, "strategy", None)
  model_dir = (getattr(ctx_or_gan, "model_dir", None) or
               getattr(gan, "_model_dir", None) or
               os.path.dirname(checkpoint_path))
  options = options or get_export_options()
  if output_dir is None:
    output_dir = default_output_dir(model_dir, checkpoint_path)
  output_dir = os.path.abspath(output_dir)
  info = _model_info(gan, checkpoint_path, strategy)  # Validates; writes nothing.

  created = _missing_parents(output_dir)
  tf.io.gfile.makedirs(os.path.dirname(output_dir))
  tmp_dir = "{}.tmp-{}".format(output_dir, uuid.uuid4().hex[:8])
  try:
    tf.io.gfile.makedirs(tmp_dir)
    _write_module(info, options, tmp_dir)
    if tf.io.gfile.exists(output_dir):
      old = "{}.old-{}".format(output_dir, uuid.uuid4().hex[:8])
      tf.io.gfile.rename(output_dir, old)
      tf.io.gfile.rename(tmp_dir, output_dir)
      tf.io.gfile.rmtree(old)
    else:
      tf.io.gfile.rename(tmp_dir, output_dir)
  except BaseException:
    if tf.io.gfile.exists(tmp_dir):
      tf.io.gfile.rmtree(tmp_dir)
    for parent in reversed(created):
      if tf.io.gfile.exists(parent) and not tf.io.gfile.listdir(parent):
        tf.io.gfile.rmtree(parent)  # Empty directory.
    raise
  logging.info("Exported %s (%s weights) as a TF Hub module to %s.",
               checkpoint_path, "EMA" if info.uses_ema else "raw", output_dir)
  return output_dir


def schedule_export(ctx):
  """`--schedule=export`: exports ctx.flags["checkpoint"] or the latest one.

  ctx.flags may carry `checkpoint` (a checkpoint path) and `export_output`
  (the module directory); both default as in `export_checkpoint`.
  """
  flags = ctx.flags or {}
  path = flags.get("checkpoint") or checkpoints.latest_checkpoint(
      ctx.model_dir, required=True)
  return export_checkpoint(ctx, path, flags.get("export_output"))


def on_checkpoint_evaluated(ctx, step, checkpoint_path, scores):
  """After-evaluation action: exports the checkpoint to model_dir/tfhub/<step>.

  Only with `hub_export.export_evaluated_checkpoints = True` (compare_gan's
  behaviour; off by default); returns the module path or None.
  """
  del step, scores
  options = get_export_options()
  if not options.export_evaluated_checkpoints:
    return None
  return export_checkpoint(ctx, checkpoint_path, options=options)
