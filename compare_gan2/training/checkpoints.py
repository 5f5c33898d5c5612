"""Checkpoint files in `model_dir`: `model.ckpt-<step>`, retention and TRAIN_DONE.

Checkpoints are written with `tf.train.CheckpointManager`: TensorFlow writes the
shards to a temporary name and renames them into place, and the `checkpoint` state
file is replaced atomically, so an interrupted save never corrupts the last good
checkpoint. Variables are saved flat under their compare_gan names
(`generator/fc_noise/kernel`, `.../Adam`, `.../ExponentialMovingAverage`), so
`read_variables` can map a checkpoint back to names without rebuilding the model.
"""

import os
import re

from absl import logging
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import model_dir as model_dir_lib

CHECKPOINT_NAME = model_dir_lib.CHECKPOINT_PREFIX
TRAIN_DONE = model_dir_lib.TRAIN_DONE
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


class CheckpointNotFoundError(errors.UserError, FileNotFoundError):
  """No checkpoint where one was required."""


def _unescape(key):
  """Inverts tf.train.Checkpoint's escaping of attribute names ("/"->".S", "."->"..")."""
  return re.sub(r"\.(S|\.)", lambda m: "/" if m.group(1) == "S" else ".", key)


def make_checkpoint(variables):
  """A tf.train.Checkpoint tracking `{name: variable}` flat."""
  return tf.train.Checkpoint(**variables)


def make_manager(checkpoint, model_dir, keep_checkpoint_max):
  return tf.train.CheckpointManager(
      checkpoint, model_dir, max_to_keep=keep_checkpoint_max,
      checkpoint_name=CHECKPOINT_NAME)


def save(manager, step):
  """`manager.save(checkpoint_number=step)`; its path.

  A save that fails (a full disk, an interrupt) leaves nothing of itself: its
  `model.ckpt-<step>_temp/` shard directory and any partial
  `model.ckpt-<step>.{index,data-*}` are removed (`model_dir.remove_failed_save`),
  so the newest checkpoint in the directory is again the last complete one, the
  one the `checkpoint` state file names.
  """
  try:
    return manager.save(checkpoint_number=step)
  except BaseException:
    try:
      removed = model_dir_lib.remove_failed_save(manager.directory, step)
    except Exception:  # pylint: disable=broad-except
      removed = []  # Cleaning up must not hide the error of the save.
    if removed:
      logging.warning("The save of step %d failed; removed what it left: %s",
                      step, ", ".join(removed))
    raise


def step_of(path):
  """The global step of `.../model.ckpt-<step>`."""
  match = re.search(r"-(\d+)$", path)
  if not match:
    raise ValueError(f"Not a checkpoint path with a step: {path!r}")
  return int(match.group(1))


def all_checkpoints(model_dir):
  """Existing checkpoint paths in model_dir, sorted by step.

  Paths are rebuilt as `model_dir/<basename>`: the state file may hold paths
  relative to the directory the trainer ran in, or absolute ones from before the
  run directory was moved.
  """
  state = tf.train.get_checkpoint_state(model_dir)
  paths = list(state.all_model_checkpoint_paths) if state else []
  paths = [os.path.join(model_dir, os.path.basename(p)) for p in paths]
  paths = [p for p in paths if tf.io.gfile.exists(p + ".index")]
  return sorted(set(paths), key=step_of)


class CheckpointCorruptError(errors.UserError):
  """A checkpoint's files exist but cannot be read."""


_READ_ERRORS = (IndexError, tf.errors.DataLossError, tf.errors.OutOfRangeError)


def restore_for_training(checkpoint, variables, model_dir):
  """Restores the newest checkpoint of model_dir into `checkpoint`; its path or None.

  The newest checkpoint whose files exist is restored (not the state file's
  `latest`, so a checkpoint moved away does not make training start over and
  retention delete the older ones).

  Args:
    checkpoint: `make_checkpoint(variables)`.
    variables: {checkpoint name: variable} it tracks.
    model_dir: the model directory.

  Raises:
    CheckpointMismatchError: the checkpoint is of another model (gin config).
    CheckpointCorruptError: the newest checkpoint's files are damaged; says
      which, and how to resume from the previous one (which is kept).
  """
  paths = all_checkpoints(model_dir)
  if not paths:
    return None
  path = paths[-1]
  try:
    check_matches(variables, path)  # Another model: CheckpointMismatchError.
    checkpoint.restore(path).assert_existing_objects_matched()
  except _READ_ERRORS as e:
    earlier = [step_of(p) for p in paths[:-1]]
    fix = (f"To resume from step {earlier[-1]} (kept, with steps {earlier}), move "
           f"{path}.* out of {model_dir} and start again."
           if earlier else "No earlier checkpoint exists; start with a new "
           "--model_dir.")
    raise CheckpointCorruptError(
        f"Checkpoint {path} cannot be read ({type(e).__name__}: "
        f"{str(e).splitlines()[0] if str(e) else ''}); its files are damaged, "
        f"e.g. by an interrupted write or a full disk. {fix}") from e
  return path


def latest_checkpoint(model_dir, required=False):
  path = tf.train.latest_checkpoint(model_dir)
  if path is None and required:
    raise CheckpointNotFoundError(
        f"No checkpoint in {model_dir!r} (expected {CHECKPOINT_NAME}-<step>.index). "
        "Train first with --schedule=train, or pass the --model_dir of a trained "
        "model.")
  return path


def read_variables(checkpoint_path, prefix=""):
  """{variable name: numpy value} of a checkpoint, optionally filtered by prefix."""
  if not tf.io.gfile.exists(checkpoint_path + ".index"):
    raise CheckpointNotFoundError(f"Checkpoint not found: {checkpoint_path!r}")
  reader = tf.train.load_checkpoint(checkpoint_path)
  result = {}
  for key in reader.get_variable_to_shape_map():
    if not key.endswith(_SUFFIX):
      continue
    name = _unescape(key[:-len(_SUFFIX)])
    if name.startswith(prefix):
      result[name] = reader.get_tensor(key)
  return result


def mark_training_done(model_dir):
  model_dir_lib.atomic_write_text(os.path.join(model_dir, TRAIN_DONE), "")


def is_training_done(model_dir):
  return tf.io.gfile.exists(os.path.join(model_dir, TRAIN_DONE))


class CheckpointMismatchError(errors.ConfigError):
  """A checkpoint does not fit the configured model (other architecture/config)."""


def check_matches(wanted, checkpoint_path):
  """CheckpointMismatchError unless the checkpoint holds every variable of
  `wanted` ({checkpoint name: variable}) with its shape."""
  stored = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
  stored = {_unescape(k[:-len(_SUFFIX)]): tuple(s) for k, s in stored.items()
            if k.endswith(_SUFFIX)}
  missing = sorted(n for n in wanted if n not in stored)
  wrong = sorted(n for n, v in wanted.items()
                 if n in stored and tuple(v.shape) != stored[n])
  if missing or wrong:
    details = [f"missing: {missing[:5]}" if missing else "",
               "shape mismatch: " + ", ".join(
                   f"{n} {stored[n]} vs {tuple(wanted[n].shape)}" for n in wrong[:5])
               if wrong else ""]
    raise CheckpointMismatchError(
        f"Checkpoint {checkpoint_path!r} does not match the configured model "
        f"({len(missing)} variables missing, {len(wrong)} with other shapes; "
        f"{'; '.join(d for d in details if d)}). Was it written with another "
        "architecture or gin config? Pass the gin config the model was trained "
        "with (the model_dir's operative_config-<step>.gin).")


def restore_gan(gan, checkpoint_path):
  """Builds `gan` and loads `checkpoint_path` into it (for evaluation / export).

  Raises:
    CheckpointNotFoundError: no such checkpoint.
    CheckpointMismatchError: the checkpoint lacks variables of this model or has
      other shapes, e.g. it was written by another architecture or gin config.
  """
  if not tf.io.gfile.exists(checkpoint_path + ".index"):
    raise CheckpointNotFoundError(f"Checkpoint not found: {checkpoint_path!r}")
  gan.build()
  wanted = gan.variables_to_save()
  try:
    check_matches(wanted, checkpoint_path)
    make_checkpoint(wanted).restore(checkpoint_path).expect_partial()
  except _READ_ERRORS as e:
    raise CheckpointCorruptError(
        f"Checkpoint {checkpoint_path} cannot be read ({type(e).__name__}); its "
        "files are damaged, e.g. by an interrupted write or a full disk. Use "
        "another checkpoint of the model directory.") from e
  return gan
