"""Who writes: the chief of a multi-worker strategy, and where the others write.

TensorFlow's multi-worker rule (tutorials "Multi-worker training with Keras",
section "Model saving and loading"): every worker runs the same saves (a save may
need all of them), the chief into `model_dir`, the others into a directory of
their own that is deleted afterwards. Event files, sample PNGs, the operative
config and TRAIN_DONE are written by the chief alone.
"""

import os

import tensorflow as tf

from compare_gan2 import model_dir as model_dir_lib


def task_of(strategy):
  """(task_type, task_id) of this process, or (None, None) with one worker."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return None, None
  return resolver.task_type, resolver.task_id


def is_chief(strategy):
  """True for the process that writes `model_dir`: the "chief" task, or worker 0
  of a cluster without one, or the only process."""
  task_type, task_id = task_of(strategy)
  if task_type is None:
    return True
  resolver = strategy.cluster_resolver
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  if task_type == "chief":
    return True
  return task_type == "worker" and task_id == 0 and not has_chief


def checkpoint_dir(model_dir, strategy):
  """`model_dir` for the chief; `model_dir/.worker_tmp/<type>_<id>` otherwise."""
  if is_chief(strategy):
    return model_dir
  task_type, task_id = task_of(strategy)
  return os.path.join(model_dir, model_dir_lib.WORKER_TMP_DIR,
                      f"{task_type}_{task_id}")


def remove_worker_dir(model_dir, strategy):
  """Deletes a non-chief's checkpoint directory, and `.worker_tmp/` once the
  last worker's is gone (no-op on the chief)."""
  path = checkpoint_dir(model_dir, strategy)
  if path == model_dir:
    return
  if tf.io.gfile.exists(path):
    tf.io.gfile.rmtree(path)
  if not model_dir_lib.is_remote(path):  # Remote "directories" vanish empty.
    try:
      os.rmdir(os.path.dirname(path))
    except OSError:
      pass  # Another worker's directory is still there: the last one removes it.


def summary_writer(model_dir, strategy, name=None):
  """An event-file writer in `model_dir` (or `model_dir/name`) on the chief, a
  no-op writer elsewhere."""
  if not is_chief(strategy):
    return tf.summary.create_noop_writer()
  return tf.summary.create_file_writer(
      os.path.join(model_dir, name) if name else model_dir)
