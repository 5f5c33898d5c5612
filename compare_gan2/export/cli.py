"""The work behind `python -m compare_gan2.export` (importable, testable)."""

import os

from compare_gan2 import gin_setup
from compare_gan2 import logs
from compare_gan2 import run_info
from compare_gan2.export import hub_export
from compare_gan2.training import checkpoints
from compare_gan2 import builder


def export_model_dir(model_dir, checkpoint=None, output=None, gin_configs=(),
                     gin_bindings=()):
  """Exports `checkpoint` (default: latest) of `model_dir`; returns the path.

  Raises:
    checkpoints.CheckpointNotFoundError: no checkpoint (nothing written).
    errors.ConfigError: no gin config given and none recorded in model_dir.
    checkpoints.CheckpointMismatchError: checkpoint of another model.
  """
  if not os.path.isdir(model_dir):
    raise checkpoints.CheckpointNotFoundError(
        f"Model directory {model_dir!r} does not exist.")
  path = checkpoint or checkpoints.latest_checkpoint(model_dir, required=True)
  if not os.path.exists(path + ".index"):
    raise checkpoints.CheckpointNotFoundError(f"Checkpoint not found: {path!r} "
                                              "(no .index file).")
  configs, bindings = run_info.configuration(model_dir, gin_configs,
                                             gin_bindings)
  gin_setup.parse(configs, bindings)
  builder.set_random_seeds(builder.get_run_config().tf_random_seed)
  gan = builder.build_gan(model_dir)  # Needs no training data.
  logs.start()
  return hub_export.export_checkpoint(gan, path, output)
