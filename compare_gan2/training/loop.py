"""The inner loop: N training steps in one `tf.function` call (Orbit's
`StandardTrainer.train`, compare_gan's TPU `iterations_per_loop`).

`StepLoop(model, strategy, iterator)(n)` runs `model.train_step` n times under
`strategy.run`, stops at the first non-finite metric and returns the last step's
metrics (mean over replicas) and that step's `global_step` (or -1). With
`jit_compile` each replica's step is compiled with XLA.
"""

import tensorflow as tf


class StepLoop:
  """Runs steps; knows nothing about files, summaries or schedules."""

  def __init__(self, model, strategy, iterator, jit_compile=False):
    self._model = model
    self._strategy = strategy
    self._iterator = iterator
    self._step_fn = (tf.function(model.train_step, jit_compile=True)
                     if jit_compile else model.train_step)
    self._loop = tf.function(self._run)

  def _one_step(self):
    strategy = self._strategy
    per_replica = strategy.run(self._step_fn, args=(next(self._iterator),))
    metrics = {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
               for k, v in per_replica.items()}
    finite = tf.reduce_all(tf.math.is_finite(tf.stack(list(metrics.values()))))
    return metrics, finite

  def _run(self, num_steps):
    bad_step = tf.constant(-1, tf.int64)
    for _ in tf.range(num_steps - 1):
      _, finite = self._one_step()
      if not finite:
        bad_step = self._model.global_step.read_value()
        break
    metrics, finite = self._one_step()  # The last step also yields the metrics.
    if bad_step < 0 and not finite:
      bad_step = self._model.global_step.read_value()
    return metrics, bad_step

  def __call__(self, num_steps):
    """(metrics of the last step, global_step of the first non-finite step or -1)."""
    metrics, bad_step = self._loop(tf.constant(int(num_steps)))
    return metrics, int(bad_step)
