"""Building things from the Gin configuration: the one place they are built.

compare_gan's `options` and `run_config` selectors (compare_gan/runner_lib.py),
the random seeds, the dataset and GAN of the parsed gin config (`build_gan`),
and the `Context` a schedule runs in (`build_context`), with the command-line
flags a schedule receives (`ScheduleFlags`). Used by every entry point: main,
export, sample, s2gan, describe, benchmark and import_checkpoint.
"""

import contextlib
import dataclasses

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import gans
from compare_gan2.architectures import initializers
from compare_gan2 import strategy as strategy_lib


def _check_at_least(name, value, minimum):
  """Raises ConfigError unless `value` is an integer >= minimum."""
  errors.check_number(name, value, integer=True, minimum=minimum,
                      optional=False, hint="fix the gin binding")


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
  _check_at_least("options.batch_size", batch_size, 1)
  _check_at_least("options.training_steps", training_steps, 0)
  _check_at_least("options.disc_iters", disc_iters, 1)
  _check_at_least("options.z_dim", z_dim, 1)
  errors.check_number("options.lamba", lamba, minimum=0, optional=False,
                      hint="lamba is the penalty weight")
  return {
      "batch_size": int(batch_size),
      "gan_class": gans.get_gan_class(gan_class),
      "architecture": architecture,
      "training_steps": int(training_steps),
      "lambda": float(lamba),
      "disc_iters": int(disc_iters),
      "z_dim": int(z_dim),
  }


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class RunConfig:
  tf_random_seed: int | None = None
  single_core: bool = False
  iterations_per_loop: int = 1000
  save_checkpoints_steps: int = 5000
  keep_checkpoint_max: int = 1000
  precision: str = "float32"
  jit_compile: bool = False
  gradient_accumulation_steps: int = 1
  log_every_seconds: float = 60.0


@gin.configurable("run_config")
def get_run_config(tf_random_seed=None, single_core=False, iterations_per_loop=1000,
                   save_checkpoints_steps=5000, keep_checkpoint_max=1000,
                   precision="float32", jit_compile=False,
                   gradient_accumulation_steps=1, log_every_seconds=60.0):
  """compare_gan's `run_config` (TPU RunConfig fields that still mean something)
  and our speed settings (docs/distributed_training.md):

  precision: "float32", "mixed_bfloat16" (TPU; CPUs with bf16 units) or
    "mixed_float16" (GPU; with loss scaling).
  jit_compile: compile each replica's training step with XLA.
  gradient_accumulation_steps: k micro-batches per optimizer step; the batch of
    `options.batch_size` is computed k/replicas examples at a time.
  log_every_seconds: a progress line (and TensorBoard scalars) at least this
    often, even when `iterations_per_loop` steps take longer (one process
    only; 0 turns it off: one line per `iterations_per_loop`).
  """
  _check_at_least("run_config.iterations_per_loop", iterations_per_loop, 1)
  _check_at_least("run_config.save_checkpoints_steps", save_checkpoints_steps or 0, 0)
  _check_at_least("run_config.keep_checkpoint_max", keep_checkpoint_max, 1)
  _check_at_least("run_config.gradient_accumulation_steps",
                  gradient_accumulation_steps, 1)
  if tf_random_seed is not None:
    _check_at_least("run_config.tf_random_seed", tf_random_seed, 0)
  if precision not in PRECISIONS:
    raise errors.ConfigError(f"run_config.precision must be one of {PRECISIONS}, "
                             f"got {precision!r}.")
  errors.check_number("run_config.log_every_seconds", log_every_seconds,
                      minimum=0, optional=False)
  return RunConfig(tf_random_seed, single_core, int(iterations_per_loop),
                   int(save_checkpoints_steps or 0), int(keep_checkpoint_max),
                   precision, bool(jit_compile), int(gradient_accumulation_steps),
                   float(log_every_seconds))


def set_random_seeds(seed):
  """Seeds TF, NumPy and the weight initialisers; None keeps runs random."""
  initializers.set_initialization_seed(seed)
  if seed is not None:
    tf.random.set_seed(seed)
    np.random.seed(seed)


@dataclasses.dataclass(frozen=True)
class ScheduleFlags:
  """The command-line flags a schedule receives (compare_gan2/main.py)."""
  schedule: str = "train"
  score_filename: str = "scores.csv"
  num_eval_averaging_runs: int = 3
  eval_every_steps: int = 0
  checkpoint: str | None = None
  export_output: str | None = None
  gin_config: tuple[str, ...] = ()
  gin_bindings: tuple[str, ...] = ()

  def __post_init__(self):
    # Lists from absl's multi-string flags become tuples (the class is frozen).
    object.__setattr__(self, "gin_config", tuple(self.gin_config))
    object.__setattr__(self, "gin_bindings", tuple(self.gin_bindings))


@dataclasses.dataclass
class Context:
  """What every schedule needs: flags, gin results and the built objects."""
  model_dir: str
  options: dict
  run_config: RunConfig
  strategy: tf.distribute.Strategy
  dataset: datasets.ImageDatasetSpec
  gan: gans.ModularGAN
  flags: ScheduleFlags


def validate_model_dir(model_dir):
  """ConfigError if `model_dir` is empty or a file (nothing is created)."""
  if not model_dir:
    raise errors.ConfigError("--model_dir is empty; give the directory for "
                             "checkpoints, summaries and scores.")
  if tf.io.gfile.exists(model_dir) and not tf.io.gfile.isdir(model_dir):
    raise errors.ConfigError(
        f"--model_dir={model_dir!r} is a file, not a directory. Give a "
        "directory (it is created if missing).")


def read_options():
  """`get_options_dict()`, with a ConfigError naming what a config must set
  when the required `options` bindings are missing (e.g. no --gin_config)."""
  try:
    return get_options_dict()
  except RuntimeError as e:
    if "Required bindings for `options`" not in str(e):
      raise
    missing = str(e).split("config:")[-1].strip()
    raise errors.ConfigError(
        f"The gin config sets no options {missing}: pass a gin file with "
        "--gin_config (e.g. --gin_config=gin_configs/biggan_polygons32.gin) or "
        "bind them with --gin_bindings.") from None


def check_model_dir(model_dir):
  """Creates `model_dir` if needed; ConfigError if it cannot be a directory."""
  validate_model_dir(model_dir)
  try:
    tf.io.gfile.makedirs(model_dir)
  except tf.errors.OpError as e:
    raise errors.ConfigError(f"Cannot create --model_dir={model_dir!r}: "
                             f"{e.message}") from e


def build_gan(model_dir=None, strategy=None, options=None, dataset=None):
  """The dataset and GAN of the parsed gin config: the one place they are built.

  Reads `options` (unless given), gin `dataset` (unless a spec is given: the
  S2GAN pipeline passes the one with its label files), and the GAN class's own
  bindings;
  the GAN is constructed under `strategy.scope()` when a strategy is given.
  Nothing is read from disk (a dataset's image shape and classes are known
  without its files).
  """
  options = options or read_options()
  dataset = dataset or datasets.get_dataset()
  scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
  with scope:
    return options["gan_class"](dataset=dataset, parameters=options,
                                model_dir=model_dir)


def build_context(model_dir, use_tpu=None, tpu=None, require_data=True,
                  dataset=None, **flags):
  """Reads gin (`options`, `run_config`, `dataset`) and builds dataset and GAN.

  `flags` are the fields of `ScheduleFlags` (an unknown one is a TypeError);
  `dataset` replaces gin's `dataset` (see `build_gan`).

  With `require_data`, a dataset that is not on disk fails here, before any model
  is built; schedules that never read data (export) pass False. The model
  directory is created only once the configuration has been checked, so a bad
  configuration leaves nothing behind.
  """
  flags = ScheduleFlags(**flags)
  validate_model_dir(model_dir)
  options = read_options()
  run_config = get_run_config()
  set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(use_tpu, tpu, run_config.single_core)
  options = dict(options, precision=run_config.precision,
                 gradient_accumulation_steps=run_config.gradient_accumulation_steps)
  gan = build_gan(model_dir, strategy, options, dataset)
  if require_data:
    gan.dataset.check_available()
    check_label_files = getattr(gan.dataset, "check_label_files", None)
    if check_label_files is not None:
      check_label_files()  # Labels out of range: refused before any write.
  check_model_dir(model_dir)
  return Context(model_dir, options, run_config, strategy, gan.dataset, gan, flags)


