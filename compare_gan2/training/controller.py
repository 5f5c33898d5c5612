"""The controller: inner loops up to `max_steps`, actions in between (Orbit's
`Controller.train`)."""

from absl import logging

from compare_gan2 import errors


class NonFiniteLossError(errors.UserError, RuntimeError):
  """A loss became NaN or infinite (the message says what to try)."""


class Controller:
  """Runs `loop(n)` for loops of at most `steps_per_loop` steps, cut so that
  every `boundaries` step is a loop end, and then the due `actions`.

  A non-finite metric raises NonFiniteLossError before any action runs, so no
  checkpoint is written after it.
  """

  def __init__(self, loop, global_step, max_steps, steps_per_loop, boundaries,
               actions, describe_last_checkpoint=lambda: ""):
    self._loop = loop
    self._global_step = global_step
    self._max_steps = int(max_steps)
    self._steps_per_loop = int(steps_per_loop)
    self._boundaries = boundaries
    self._actions = list(actions)
    self._describe_last_checkpoint = describe_last_checkpoint

  def step(self):
    return int(self._global_step.numpy())

  def loop_length(self, step):
    return max(1, min(self._steps_per_loop, self._boundaries.steps_to_next(step),
                      self._max_steps - step))

  def train(self):
    """Trains to max_steps; returns the final step."""
    step = self.step()
    while step < self._max_steps:
      metrics, bad_step = self._loop(self.loop_length(step))
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
