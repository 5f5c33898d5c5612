"""The schedules' runner: training as a schedule, and running one schedule.

`run_with_schedule` builds the context (compare_gan2/builder.py) and runs one
schedule from the table of `Schedule`s the entry point wires
(compare_gan2/main.py); `schedule_train` is the training schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import contextlib
import dataclasses
import typing

from absl import logging
import gin

from compare_gan2 import builder
from compare_gan2 import errors
from compare_gan2 import logs
from compare_gan2 import model_dir as model_dir_lib
from compare_gan2 import run_info
from compare_gan2.training import checkpoints
from compare_gan2.training import run_lock
from compare_gan2.training import trainer as trainer_lib
from compare_gan2.training import workers

if typing.TYPE_CHECKING:
  from compare_gan2 import datasets


def write_operative_config(model_dir: str, step: int) -> str:
  """Saves gin's operative config as `operative_config-<step>.gin`."""
  return model_dir_lib.atomic_write_text(
      model_dir_lib.operative_config_path(model_dir, step),
      gin.operative_config_str())


def schedule_train(ctx: builder.Context,
                   on_checkpoint: Callable[[int, str | None], object] | None = None
                   ) -> int:
  """Trains to options.training_steps, then writes TRAIN_DONE."""
  trainer = trainer_lib.Trainer(ctx.gan, ctx.strategy, ctx.model_dir,
                                ctx.run_config, ctx.options["training_steps"],
                                on_checkpoint=on_checkpoint)
  chief = workers.is_chief(ctx.strategy)
  # One training per model directory (the chief holds the lock for the job).
  lock: typing.ContextManager[object] = (
      run_lock.training_lock(ctx.model_dir) if chief
      else contextlib.nullcontext())
  with lock:
    logs.start()
    if chief:  # Holding the lock: the training's own leftovers go at once.
      for path in model_dir_lib.remove_stale_temp_files(
          ctx.model_dir, owned=model_dir_lib.written_by_training):
        logging.info("Removed %s, left by an interrupted write.", path)
    start = trainer.restore()
    if chief:  # The checkpoint (if any) matched the configuration: record the run.
      logging.info("Operative config: %s",
                   write_operative_config(ctx.model_dir, start))
      flags = ctx.flags
      run_info.write(ctx.model_dir, run_info.collect(
          flags.schedule, ctx.run_config.tf_random_seed, ctx.strategy,
          flags.gin_config, flags.gin_bindings, ctx.dataset))
    step = trainer.train()
    if chief:
      write_operative_config(ctx.model_dir, step)
      checkpoints.mark_training_done(ctx.model_dir)
      logging.info("Training done at step %d; wrote %s.", step,
                   checkpoints.TRAIN_DONE)
  return step


@dataclasses.dataclass(frozen=True)
class Schedule:
  """A `--schedule`: `fn(ctx)`, and whether it reads the training data."""
  fn: Callable[[builder.Context], object]
  needs_data: bool = True


def get_schedule(schedules: Mapping[str, Schedule], name: str) -> Schedule:
  """`schedules[name]`, or a ConfigError listing the available schedules."""
  if name not in schedules:
    raise errors.ConfigError(f"Unknown --schedule={name!r}; available: "
                             f"{', '.join(sorted(schedules))}.")
  return schedules[name]


def run_with_schedule(schedules: Mapping[str, Schedule], schedule: str,
                      model_dir: str, use_tpu: bool | None = None,
                      tpu: str | None = None,
                      dataset: datasets.ImageDatasetSpec | None = None,
                      **flags: typing.Any) -> object:
  """Builds everything from the parsed gin config and runs `schedules[schedule]`.

  `flags`: the fields of builder.ScheduleFlags; `dataset`: see builder.build_gan.
  """
  chosen = get_schedule(schedules, schedule)
  ctx = builder.build_context(model_dir, use_tpu=use_tpu, tpu=tpu,
                              require_data=chosen.needs_data, dataset=dataset,
                              schedule=schedule, **flags)
  return chosen.fn(ctx)
