"""Actions the controller runs between inner loops (Orbit's `actions`).

An action is a callable `action(step, metrics)` with a `due(step)` rule; the
controller calls every due action after each loop, in order. Actions that write
files take the writing decision from `training/workers.py` when built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import os
import typing

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import model_dir as model_dir_lib
from compare_gan2.training import checkpoints
from compare_gan2.training import progress
from compare_gan2.training import summaries

# {metric name: scalar} of the last step of a loop (training/loop.py).
Metrics = Mapping[str, typing.Any]


class Action(typing.Protocol):
  """What the controller runs between loops."""

  def due(self, step: int) -> bool:
    """Whether the action runs after the loop that ended at `step`."""

  def __call__(self, step: int, metrics: Metrics) -> object:
    """Runs the action; the result is not used by the controller."""


class SampleGridSource(typing.Protocol):
  """What WriteSampleGrids needs of a model (a trainer.TrainableModel has it)."""

  def summary_images(self) -> tuple[dict[str, np.ndarray], np.ndarray | None]: ...


class EveryNSteps:
  """Due on exact multiples of `every` and at `last_step` (every 0: only then)."""

  def __init__(self, every: int | None, last_step: int):
    self.every, self.last_step = int(every or 0), int(last_step)

  def __call__(self, step: int) -> bool:
    return step == self.last_step or bool(self.every and step % self.every == 0)

  def steps_to_next(self, step: int) -> int:
    """Steps from `step` to the next step this rule is due at."""
    every = self.every or self.last_step
    return min((step // every + 1) * every, self.last_step) - step


class WriteScalars:
  """The step's metrics ("loss/<name>", names with "/" as they are) and the
  learning rates ("lr/<name>") to the default summary writer, every loop."""

  def __init__(self, learning_rates: Mapping[str, float]):
    self._learning_rates = dict(learning_rates)

  def due(self, step: int) -> bool:
    del step
    return True

  def __call__(self, step: int, metrics: Metrics) -> None:
    for name, value in metrics.items():
      if not np.isfinite(float(value)):
        continue  # A ratio metric whose loop saw no example (a loss is finite here).
      tf.summary.scalar(name if "/" in name else f"loss/{name}", value, step=step)
    for name, value in self._learning_rates.items():
      tf.summary.scalar(f"lr/{name}", value, step=step)


class LogProgress:
  """A progress line (step, D and G losses, steps/s, images/s, ETA) every loop."""

  def __init__(self, max_steps: int, images_per_step: int, start_step: int):
    self._reporter = progress.ProgressReporter(max_steps, images_per_step,
                                               start_step)

  def due(self, step: int) -> bool:
    del step
    return True

  def __call__(self, step: int, metrics: Metrics) -> dict[str, typing.Any]:
    return self._reporter.report(step, metrics)


class SaveCheckpoint:
  """`manager.save(step)` when due; every worker saves (see workers.py)."""

  def __init__(self, manager: tf.train.CheckpointManager,
               due: Callable[[int], bool]):
    self._manager, self.due = manager, due
    self.last_path: str | None = None

  def __call__(self, step: int, metrics: Metrics) -> str | None:
    del metrics
    self.last_path = checkpoints.save(self._manager, step)
    logging.info("Saved %s.", self.last_path)
    return self.last_path


class WriteSampleGrids:
  """The GAN's sample grids to TensorBoard and `samples/step_<step>.png`.

  `model.summary_images()` returns ({grid name: images}, sample sheet or None).
  """

  def __init__(self, model: SampleGridSource, model_dir: str,
               due: Callable[[int], bool]):
    self._model, self._model_dir, self.due = model, model_dir, due

  def __call__(self, step: int, metrics: Metrics) -> None:
    del metrics
    grids, sheet = self._model.summary_images()
    for name, value in grids.items():
      summaries.write_image_grid(name, value, step)
    if sheet is not None:
      path = model_dir_lib.sample_grid_path(self._model_dir, step)
      model_dir_lib.makedirs(os.path.dirname(path))
      summaries.save_png(sheet, path)


class CallAfterCheckpoint:
  """`fn(step, checkpoint_path)` after each save (evaluation or export hooks)."""

  def __init__(self, fn: Callable[[int, str | None], object],
               save_action: SaveCheckpoint):
    self._fn, self._save = fn, save_action
    self.due = save_action.due

  def __call__(self, step: int, metrics: Metrics) -> object:
    del metrics
    return self._fn(step, self._save.last_path)
