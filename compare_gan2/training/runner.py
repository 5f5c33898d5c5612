"""compare_gan's runner: the `options` and `run_config` selectors and the schedules.

`run_with_schedule` builds the dataset and the GAN from gin and runs a schedule.
Schedules are registered in SCHEDULES so later parts (evaluation, export) plug in
without touching the training code.
"""

import dataclasses
import os

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import gans
from compare_gan2.architectures import initializers
from compare_gan2.training import checkpoints
from compare_gan2.training import strategy as strategy_lib
from compare_gan2.training import trainer as trainer_lib


@gin.configurable("options")
def get_options_dict(batch_size=gin.REQUIRED,
                     gan_class=gin.REQUIRED,
                     architecture=gin.REQUIRED,
                     training_steps=gin.REQUIRED,
                     discriminator_normalization=None,
                     lamba=1,
                     disc_iters=1,
                     z_dim=128):
  """compare_gan's `options`. `training_steps` counts generator steps (global_step).

  `lamba` (sic, compare_gan's spelling) is the penalty weight, stored as "lambda".
  `discriminator_normalization` is accepted and ignored, as in compare_gan.
  """
  del discriminator_normalization
  return {
      "batch_size": int(batch_size),
      "gan_class": gans.get_gan_class(gan_class),
      "architecture": architecture,
      "training_steps": int(training_steps),
      "lambda": float(lamba),
      "disc_iters": int(disc_iters),
      "z_dim": int(z_dim),
  }


@dataclasses.dataclass(frozen=True)
class RunConfig:
  tf_random_seed: int = None
  single_core: bool = False
  iterations_per_loop: int = 1000
  save_checkpoints_steps: int = 5000
  keep_checkpoint_max: int = 1000


@gin.configurable("run_config")
def get_run_config(tf_random_seed=None, single_core=False, iterations_per_loop=1000,
                   save_checkpoints_steps=5000, keep_checkpoint_max=1000):
  """compare_gan's `run_config` (TPU RunConfig fields that still mean something)."""
  if iterations_per_loop < 1:
    raise ValueError(f"run_config.iterations_per_loop must be >= 1, got "
                     f"{iterations_per_loop}.")
  return RunConfig(tf_random_seed, single_core, int(iterations_per_loop),
                   int(save_checkpoints_steps or 0), int(keep_checkpoint_max))


def set_random_seeds(seed):
  """Seeds TF, NumPy and the weight initialisers; None keeps runs random."""
  initializers.set_initialization_seed(seed)
  if seed is not None:
    tf.random.set_seed(seed)
    np.random.seed(seed)


def write_operative_config(model_dir, step):
  """Saves gin's operative config as `operative_config-<step>.gin`."""
  path = os.path.join(model_dir, f"operative_config-{step}.gin")
  tmp = path + ".tmp"
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(gin.operative_config_str())
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path


@dataclasses.dataclass
class Context:
  """What every schedule needs: flags, gin results and the built objects."""
  model_dir: str
  options: dict
  run_config: RunConfig
  strategy: tf.distribute.Strategy
  dataset: object
  gan: object
  flags: dict


def build_context(model_dir, use_tpu=None, tpu=None, require_data=True, **flags):
  """Reads gin (`options`, `run_config`, `dataset`) and builds dataset and GAN.

  With `require_data`, a dataset that is not on disk fails here, before any model
  is built; schedules that never read data (export) pass False.
  """
  tf.io.gfile.makedirs(model_dir)
  options = get_options_dict()
  run_config = get_run_config()
  set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(use_tpu, tpu, run_config.single_core)
  dataset = datasets.get_dataset()
  if require_data:
    dataset.check_available()
  with strategy.scope():
    gan = options["gan_class"](dataset=dataset, parameters=options,
                               model_dir=model_dir)
  return Context(model_dir, options, run_config, strategy, dataset, gan, flags)


def schedule_train(ctx, on_checkpoint=None):
  """Trains to options.training_steps, then writes TRAIN_DONE."""
  trainer = trainer_lib.Trainer(ctx.gan, ctx.strategy, ctx.model_dir,
                                ctx.run_config, ctx.options["training_steps"],
                                on_checkpoint=on_checkpoint)
  with ctx.strategy.scope():
    ctx.gan.build()
  write_operative_config(ctx.model_dir, int(ctx.gan.global_step.numpy()))
  step = trainer.train()
  write_operative_config(ctx.model_dir, step)
  checkpoints.mark_training_done(ctx.model_dir)
  logging.info("Training done at step %d; wrote %s.", step, checkpoints.TRAIN_DONE)
  return step


SCHEDULES = {"train": schedule_train}
_SCHEDULES_WITHOUT_DATA = set()


def register_schedule(name, fn, needs_data=True):
  """Adds a schedule `fn(ctx)`; evaluation and export register theirs here."""
  SCHEDULES[name] = fn
  if not needs_data:
    _SCHEDULES_WITHOUT_DATA.add(name)


def run_with_schedule(schedule, model_dir, use_tpu=None, tpu=None, **flags):
  """Builds everything from the parsed gin config and runs `schedule`."""
  if schedule not in SCHEDULES:
    raise ValueError(f"Unknown --schedule={schedule!r}; available: "
                     f"{sorted(SCHEDULES)}.")
  ctx = build_context(model_dir, use_tpu=use_tpu, tpu=tpu,
                      require_data=schedule not in _SCHEDULES_WITHOUT_DATA, **flags)
  return SCHEDULES[schedule](ctx)
