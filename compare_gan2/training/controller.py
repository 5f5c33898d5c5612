"""The controller: inner loops up to `max_steps`, actions in between (Orbit's
`Controller.train`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
import time
import typing

from absl import logging

from compare_gan2 import errors

if typing.TYPE_CHECKING:
  from compare_gan2.training import actions as actions_lib
  from compare_gan2.training import loop as loop_lib
  import tensorflow as tf


class NonFiniteLossError(errors.UserError, RuntimeError):
  """A loss became NaN or infinite (the message says what to try)."""


FIRST_LOOP_MAX_STEPS = 10


class Controller:
  """Runs `loop(n)` for loops of at most `steps_per_loop` steps, cut so that
  every `boundaries` step is a loop end, and then the due `actions`.

  A non-finite metric raises NonFiniteLossError before any action runs, so no
  checkpoint is written after it.

  With `max_loop_seconds`, loops are also cut so that each lasts about that
  long at the speed of the previous loop, and the first loop (which compiles the
  step) runs at most FIRST_LOOP_MAX_STEPS steps, so progress is reported on a
  time basis even with long `steps_per_loop`.
  Loop lengths never change what is trained, only how often actions run. Only
  for one process: the workers of a multi-worker job must run equal loops.
  """

  def __init__(self, loop: Callable[[int], tuple[loop_lib.Metrics, int]],
               global_step: tf.Variable, max_steps: int, steps_per_loop: int,
               boundaries: actions_lib.EveryNSteps,
               actions: Iterable[actions_lib.Action],
               describe_last_checkpoint: Callable[[], str] = lambda: "",
               max_loop_seconds: float | None = None,
               clock: Callable[[], float] = time.monotonic):
    self._loop = loop
    self._global_step = global_step
    self._max_steps = int(max_steps)
    self._steps_per_loop = int(steps_per_loop)
    self._boundaries = boundaries
    self._actions = list(actions)
    self._describe_last_checkpoint = describe_last_checkpoint
    self._max_loop_seconds = max_loop_seconds
    self._clock = clock
    self._seconds_per_step: float | None = None

  def step(self) -> int:
    return int(self._global_step.numpy())

  def loop_length(self, step: int) -> int:
    length = min(self._steps_per_loop, self._boundaries.steps_to_next(step),
                 self._max_steps - step)
    if self._max_loop_seconds:
      length = min(length, int(self._max_loop_seconds / self._seconds_per_step)
                   if self._seconds_per_step else FIRST_LOOP_MAX_STEPS)
    return max(1, length)

  def train(self) -> int:
    """Trains to max_steps; returns the final step."""
    step = self.step()
    first = True
    while step < self._max_steps:
      length = self.loop_length(step)
      if first:
        logging.info("Compiling the training step; the first loop (%d steps) "
                     "includes it.", length)
      start = self._clock()
      metrics, bad_step = self._loop(length)
      self._seconds_per_step = (self._clock() - start) / length
      first = False
      if bad_step >= 0:
        raise NonFiniteLossError(
            f"Non-finite loss at step {bad_step} "
            f"({ {k: float(v) for k, v in metrics.items()} }). Training stopped; "
            f"{self._describe_last_checkpoint()} Lower the learning rates or check the data.")
      step = self.step()
      for action in self._actions:
        if action.due(step):
          action(step, metrics)
    logging.info("Controller: reached step %d.", step)
    return step
