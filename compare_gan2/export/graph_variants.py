"""The module's graph variants, each built in its own `tf.compat.v1.Graph`.

- `default_variant`: tags {} (DeepMind's biggan-* interface): z, y, truncation
  -> default in [-1, 1], batch norm with the per-truncation statistics.
- `gen_variant`: compare_gan's {"gen", "bs<N>"}: z (, labels) -> generated in
  [0, 1], the generator evaluation measures.
- `disc_variant`: compare_gan's {"disc", "bs<N>"}: images (, labels) ->
  prediction (and D's heads for bsNone).

The networks run on graph variables through `VariableStore.override`, inside
`variable_store.no_state_updates()`; each variant's MetaGraphDef carries only the
variable collections hub.Module supports and a Saver of its own variables.
"""

import tensorflow as tf

from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.export import model_info
from compare_gan2.export import truncation_stats

DEFAULT_TAGS: frozenset[str] = frozenset()
GEN_TAGS = frozenset({"gen", "bsNone"})
DISC_TAGS = frozenset({"disc", "bsNone"})
# compare_gan's fixed-batch variants {gen|disc, bs8|bs16|bs32|bs64} and bsNone.
BATCH_SIZES = (8, 16, 32, 64, None)
SIGNATURE = "default"
_VARIABLE_COLLECTIONS = (tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
                         tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
# D head outputs the {disc, bsNone} variant also returns: {output: signature name}.
DISC_HEAD_OUTPUTS = {"rotation_logits": "rotation_logits",
                     "aux_logits": "predictor_logits"}


def batch_tags(model, batch_size):
  """compare_gan's tag set of a variant: {"gen"|"disc", "bs<batch_size>"}."""
  return frozenset({model, f"bs{batch_size}"})


def make_variables(specs):
  """Graph variables named exactly like the store's (zeros initializers)."""
  result = {}
  graph = tf.compat.v1.get_default_graph()
  with graph.name_scope(None):
    for name, spec in specs.items():
      var = tf.compat.v1.Variable(tf.zeros(spec.shape, spec.dtype), name=name,
                                  trainable=spec.trainable, use_resource=True)
      if var.op.name != name:
        raise model_info.ExportError(
            f"Internal error: graph variable {name!r} was named "
            f"{var.op.name!r}.")
      result[name] = var
  return result


def _run_generator(info, variables, z, y, is_training, hook):
  generator = info.gan.generator
  with variable_store.no_state_updates(), generator.store.override(variables), \
      normalization.batch_stats_hook(hook):
    return generator(z, y, is_training=is_training)


def _run_discriminator(info, variables, images, y):
  """D with its heads (SSGAN/S3GAN): {"probs", "logits", "features", ...}."""
  with variable_store.no_state_updates(), \
      info.gan.discriminator.store.override(variables):
    return info.gan.discriminator_outputs(images, y, is_training=False)


def _labels_to_y(info, labels):
  if not info.conditional:
    return None
  return tf.one_hot(labels, info.num_classes, dtype=tf.float32)


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


def default_variant(info, stats, grid):
  """Empty tag set: z, y, truncation -> default in [-1, 1]."""
  with tf.Graph().as_default() as graph:
    g_vars = make_variables(info.g_specs)
    s_vars = make_variables(truncation_stats.stats_specs(stats))
    z = tf.compat.v1.placeholder(tf.float32, [None, info.z_dim], name="z")
    y = tf.compat.v1.placeholder(tf.float32, [None, info.num_classes], name="y")
    truncation = tf.compat.v1.placeholder(tf.float32, [], name="truncation")
    hook = truncation_stats.interpolating_hook(s_vars, grid, truncation)
    images = _run_generator(info, g_vars, z, y if info.conditional else None,
                            is_training=False, hook=hook)
    output = tf.identity(images * 2.0 - 1.0, name="default")
    inputs = {"z": z, "y": y, "truncation": truncation}
    return _meta_graph(graph, {**g_vars, **s_vars}, DEFAULT_TAGS, inputs,
                       {"default": output})


def gen_variant(info, eval_stats, batch_size):
  """compare_gan's {"gen", "bs<batch_size>"}: z (, labels) -> generated in
  [0, 1]: the generator evaluation measures (its standing statistics when G
  keeps accumulators, else the moving averages)."""
  with tf.Graph().as_default() as graph:
    g_vars = make_variables(info.g_specs)
    s_vars = make_variables(truncation_stats.stats_specs(
        eval_stats, truncation_stats.EVAL_STATS_SCOPE))
    z = tf.compat.v1.placeholder(tf.float32, [batch_size, info.z_dim], name="z")
    inputs = {"z": z}
    y = None
    if info.conditional:
      labels = tf.compat.v1.placeholder(tf.int32, [batch_size], name="labels")
      inputs["labels"] = labels
      y = _labels_to_y(info, labels)
    hook = None
    if eval_stats is not None:
      hook = truncation_stats.evaluation_stats_hook(s_vars)
    images = _run_generator(info, g_vars, z, y, is_training=False, hook=hook)
    output = tf.identity(images, name="generated")
    return _meta_graph(graph, {**g_vars, **s_vars}, batch_tags("gen", batch_size),
                       inputs, {"generated": output})


def disc_variant(info, batch_size):
  """compare_gan's {"disc", "bs<batch_size>"}: images (, labels) -> prediction."""
  with tf.Graph().as_default() as graph:
    d_vars = make_variables(info.d_specs)
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


def all_variants(info, stats, eval_stats, grid):
  """The module's eleven MetaGraphDefs: default, gen x 5, disc x 5."""
  meta_graphs = [default_variant(info, stats, grid)]
  meta_graphs += [gen_variant(info, eval_stats, bs) for bs in BATCH_SIZES]
  meta_graphs += [disc_variant(info, bs) for bs in BATCH_SIZES]
  return meta_graphs
