"""The work behind `python -m compare_gan2.export` (importable, testable)."""

import glob
import os
import re

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.export import hub_export
from compare_gan2.training import checkpoints
from compare_gan2.training import runner


class ExportConfigError(errors.ConfigError):
  """No gin config to configure the exported model with."""


def latest_operative_config(model_dir):
  """The model_dir's operative_config-<step>.gin with the largest step, or None."""
  best, best_step = None, -1
  for path in glob.glob(os.path.join(model_dir, "operative_config-*.gin")):
    match = re.search(r"operative_config-(\d+)\.gin$", path)
    if match and int(match.group(1)) > best_step:
      best, best_step = path, int(match.group(1))
  return best


def export_model_dir(model_dir, checkpoint=None, output=None, gin_configs=(),
                     gin_bindings=()):
  """Exports `checkpoint` (default: latest) of `model_dir`; returns the path.

  Raises:
    checkpoints.CheckpointNotFoundError: no checkpoint (nothing written).
    ExportConfigError: no gin config given and none in model_dir.
    checkpoints.CheckpointMismatchError: checkpoint of another model.
  """
  if not os.path.isdir(model_dir):
    raise checkpoints.CheckpointNotFoundError(
        f"Model directory {model_dir!r} does not exist.")
  path = checkpoint or checkpoints.latest_checkpoint(model_dir, required=True)
  if not os.path.exists(path + ".index"):
    raise checkpoints.CheckpointNotFoundError(f"Checkpoint not found: {path!r} "
                                              "(no .index file).")
  configs = list(gin_configs)
  if not configs:
    operative = latest_operative_config(model_dir)
    if operative is None:
      raise ExportConfigError(
          f"No operative_config-<step>.gin in {model_dir!r} to configure the "
          "model with; pass the training gin config with --gin_config (and "
          "--gin_bindings).")
    configs = [operative]
  gin_setup.parse(configs, gin_bindings)
  runner.set_random_seeds(runner.get_run_config().tf_random_seed)
  gan = runner.build_gan(model_dir)  # Needs no training data.
  return hub_export.export_checkpoint(gan, path, output)
