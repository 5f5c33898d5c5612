"""The inner loop: N training steps in one `tf.function` call (Orbit's
`StandardTrainer.train`, compare_gan's TPU `iterations_per_loop`).

`StepLoop(model, strategy, iterator)(n)` runs `model.train_step` n times under
`strategy.run`, stops at the first non-finite metric and returns the last step's
metrics (mean over replicas) and that step's `global_step` (or -1). With
`jit_compile` each replica's step is compiled with XLA.

Ratio metrics (`step_parts.LossTerms.add_ratio_metric`) arrive as a pair
"<name>@sum" / "<name>@count" (e.g. correct predictions and labelled examples):
both are summed over the replicas and over all n steps, and the loop returns
"<name>" = sum / count (NaN when the loop saw no example), so an accuracy over
labelled examples is not biased by steps that had none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import typing

import tensorflow as tf

SUM_SUFFIX = "@sum"
COUNT_SUFFIX = "@count"

# {metric name: scalar tensor}.
Metrics = dict[str, tf.Tensor]


def ratio_names(metrics: Iterable[str]) -> list[str]:
  """The names "<name>" of the ratio metrics among `metrics`' keys."""
  return sorted(k[:-len(SUM_SUFFIX)] for k in metrics if k.endswith(SUM_SUFFIX))


class SteppedModel(typing.Protocol):
  """What the loop needs of a model (a trainer.TrainableModel has it)."""

  @property
  def global_step(self) -> tf.Variable: ...

  def train_step(self, inputs: typing.Any) -> dict[str, tf.Tensor]: ...


class StepLoop:
  """Runs steps; knows nothing about files, summaries or schedules."""

  def __init__(self, model: SteppedModel, strategy: tf.distribute.Strategy,
               iterator: Iterator[typing.Any], jit_compile: bool = False):
    self._model = model
    self._strategy = strategy
    self._iterator = iterator
    self._step_fn = (tf.function(model.train_step, jit_compile=True)
                     if jit_compile else model.train_step)
    self._loop = tf.function(self._run)

  def _one_step(self) -> tuple[Metrics, tf.Tensor]:
    strategy = self._strategy
    per_replica = strategy.run(self._step_fn, args=(next(self._iterator),))
    metrics: Metrics = {}
    for k, v in per_replica.items():
      op = (tf.distribute.ReduceOp.SUM if k.endswith((SUM_SUFFIX, COUNT_SUFFIX))
            else tf.distribute.ReduceOp.MEAN)
      metrics[k] = strategy.reduce(op, v, axis=None)
    finite = tf.reduce_all(tf.math.is_finite(tf.stack(list(metrics.values()))))
    return metrics, finite

  @staticmethod
  def _totals(metrics: Metrics) -> Metrics:
    return {k: v for k, v in metrics.items()
            if k.endswith((SUM_SUFFIX, COUNT_SUFFIX))}

  def _run(self, num_steps: tf.Tensor) -> tuple[Metrics, tf.Tensor]:
    metrics, finite = self._one_step()
    bad_step = tf.constant(-1, tf.int64)
    if not finite:
      bad_step = self._model.global_step.read_value()
    totals = self._totals(metrics)
    for _ in tf.range(num_steps - 1):
      if bad_step >= 0:
        break
      metrics, finite = self._one_step()
      totals = {k: totals[k] + v for k, v in self._totals(metrics).items()}
      if not finite:
        bad_step = self._model.global_step.read_value()
    return self._with_ratios(metrics, totals), bad_step

  @staticmethod
  def _with_ratios(metrics: Metrics, totals: Metrics) -> Metrics:
    """The last step's metrics, with each @sum/@count pair replaced by the
    ratio of its totals over the loop."""
    result = {k: v for k, v in metrics.items()
              if not k.endswith((SUM_SUFFIX, COUNT_SUFFIX))}
    for name in ratio_names(metrics):
      total = totals[name + SUM_SUFFIX]
      count = totals[name + COUNT_SUFFIX]
      result[name] = tf.where(count > 0, total / tf.maximum(count, 1e-12),
                              float("nan"))
    return result

  def __call__(self, num_steps: int) -> tuple[Metrics, int]:
    """(metrics of the last step, global_step of the first non-finite step or -1)."""
    metrics, bad_step = self._loop(tf.constant(int(num_steps)))
    return metrics, int(bad_step)
