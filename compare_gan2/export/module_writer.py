"""Writes a TF1 Hub module: `saved_model.pb`, `variables/`, `tfhub_module.pb`.

`tf.compat.v1.saved_model.Builder` is not used because it saves the variables of
the first graph only, and no single variant holds both G's and D's variables;
instead one "state" graph holding every exported variable (G, D, standing
statistics) writes the checkpoint, and the SavedModel proto is assembled from
the variants' MetaGraphDefs (graph_variants.py). Everything is written into a
temporary sibling directory that is renamed into place, so a failed export
leaves nothing behind.
"""

import os
import uuid

from absl import logging
import tensorflow as tf

from compare_gan2 import inference_generator
from compare_gan2.export import graph_variants
from compare_gan2.export import model_info
from compare_gan2.export import options as options_lib
from compare_gan2.export import truncation_stats
from compare_gan2.training import checkpoints

MODULE_DEF_BYTES = b"\x08\x03"  # ModuleDef{format: 3}
EXPORT_DIR_NAME = "tfhub"


def _load_values(session, variables, values):
  """Assigns numpy values to graph variables (via feeds, not constants)."""
  ops, feeds = [], {}
  for name, var in variables.items():
    ph = tf.compat.v1.placeholder(var.dtype.base_dtype, var.shape)
    ops.append(var.assign(ph, read_value=False))
    feeds[ph] = values[name]
  session.run(ops, feeds)


def write_variables(info, stats, eval_stats, export_dir):
  """One checkpoint `variables/variables` holding every exported variable."""
  eval_scope = truncation_stats.EVAL_STATS_SCOPE
  specs = {**info.g_specs, **info.d_specs,
           **truncation_stats.stats_specs(stats),
           **truncation_stats.stats_specs(eval_stats, eval_scope)}
  values = {**info.g_values, **info.d_values,
            **truncation_stats.stats_values(stats),
            **truncation_stats.stats_values(eval_stats, eval_scope)}
  with tf.Graph().as_default() as graph:
    variables = graph_variants.make_variables(specs)
    saver = tf.compat.v1.train.Saver(
        var_list=variables, sharded=True, allow_empty=True,
        write_version=tf.compat.v1.train.SaverDef.V2)
    with tf.compat.v1.Session(graph=graph) as session:
      _load_values(session, variables, values)
      variables_dir = os.path.join(export_dir, "variables")
      tf.io.gfile.makedirs(variables_dir)
      saver.save(session, os.path.join(variables_dir, "variables"),
                 write_meta_graph=False, write_state=False)


def write_module(info, options, export_dir):
  """Writes the module of `info` into `export_dir`; returns the statistics."""
  if set(info.g_specs) & set(info.d_specs):
    raise model_info.ExportError(
        "G and D share variable names: "
        f"{sorted(set(info.g_specs) & set(info.d_specs))[:3]}")
  # Spectral norm as evaluation uses it: u converged on the exported weights
  # (the InferenceGenerator converges G's; D's here).
  generator = model_info.measured_generator(info)
  info.g_values = generator.values
  info.d_values = {**info.d_values, **inference_generator.
                   converged_spectral_norm_vectors(info.d_values)}
  stats = truncation_stats.compute_truncation_statistics(generator, info,
                                                         options)
  eval_stats = generator.statistics
  meta_graphs = graph_variants.all_variants(info, stats, eval_stats,
                                            options.truncation_grid)
  write_variables(info, stats, eval_stats, export_dir)
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  saved_model = saved_model_pb2.SavedModel(saved_model_schema_version=1)
  saved_model.meta_graphs.extend(meta_graphs)
  with tf.io.gfile.GFile(os.path.join(export_dir, "saved_model.pb"), "wb") as f:
    f.write(saved_model.SerializeToString())
  with tf.io.gfile.GFile(os.path.join(export_dir, "tfhub_module.pb"), "wb") as f:
    f.write(MODULE_DEF_BYTES)
  return stats


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
  checkpoint (see `hub_export.on_checkpoint_evaluated`); the `export` schedule
  and `python -m compare_gan2.export` call it too.

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
  options = options or options_lib.get_export_options()
  if output_dir is None:
    output_dir = default_output_dir(model_dir, checkpoint_path)
  output_dir = os.path.abspath(output_dir)
  # Validates; writes nothing.
  info = model_info.model_info(gan, checkpoint_path, strategy)

  created = _missing_parents(output_dir)
  tf.io.gfile.makedirs(os.path.dirname(output_dir))
  tmp_dir = "{}.tmp-{}".format(output_dir, uuid.uuid4().hex[:8])
  try:
    tf.io.gfile.makedirs(tmp_dir)
    write_module(info, options, tmp_dir)
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
