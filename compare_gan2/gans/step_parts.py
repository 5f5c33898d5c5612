"""The pieces every GAN's training step is made of.

A step is described once per GAN class, in three parts:

1. `Slice`s: the named groups of images (and labels) D sees, in the order they
   are concatenated into D's batch ("real", "fake", and e.g. "real_rotated").
2. D's outputs per slice: a dict {output name: tensor} (the base D gives
   "probs", "logits", "features"; heads add e.g. "rotation_logits").
3. `LossTerms`: the D or G loss as named, weighted scalar terms; the loss is
   their weighted sum and every term (unweighted) is also a summary, together
   with metrics that do not enter the loss (accuracies).
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Slice:
  """Images [n, H, W, C] and their one-hot labels [n, K] (or None) for D."""
  images: tf.Tensor
  y: tf.Tensor | None = None

  @property
  def size(self) -> int:
    """Static number of examples."""
    return int(self.images.shape[0])


# A step's batch: {"images", "z", "sampled_labels", ...: tensor}.
Features = dict[str, tf.Tensor]
# D's outputs on one batch or slice: {"probs", "logits", "features", ...: tensor}.
Outputs = dict[str, tf.Tensor]


def split_batch(features: Mapping[str, tf.Tensor], labels: tf.Tensor,
                num_parts: int) -> tuple[list[Features], list[tf.Tensor]]:
  """([features dict] * num_parts, [labels] * num_parts): a batch split into
  equal parts along the batch axis (a step's sub-steps, or a sub-step's
  gradient-accumulation micro-batches)."""
  parts: list[Features] = [dict() for _ in range(num_parts)]
  for key, value in features.items():
    for part, chunk in zip(parts, tf.split(value, num_parts)):
      part[key] = chunk
  return parts, tf.split(labels, num_parts)


def concat_slices(slices: Mapping[str, Slice]) -> tuple[tf.Tensor, tf.Tensor | None]:
  """One batch (images, y or None) from an ordered {name: Slice}."""
  images = tf.concat([s.images for s in slices.values()], axis=0)
  ys = [s.y for s in slices.values()]
  if all(y is None for y in ys):
    return images, None
  if any(y is None for y in ys):
    raise ValueError("Either every slice of D's batch has labels or none has: "
                     f"{ {k: s.y is not None for k, s in slices.items()} }")
  return images, tf.concat(ys, axis=0)


def split_outputs(outputs: Mapping[str, tf.Tensor], slices: Mapping[str, Slice]
                  ) -> dict[str, Outputs]:
  """{output: [N, ...]} of a joint D call -> {slice name: {output: [n, ...]}}."""
  sizes = [s.size for s in slices.values()]
  per_slice: dict[str, Outputs] = {name: {} for name in slices}
  for key, value in outputs.items():
    for name, part in zip(slices, tf.split(value, sizes, axis=0)):
      per_slice[name][key] = part
  return per_slice


class LossTerms:
  """A loss as named terms: total = sum of weight * value.

  `summaries(prefix)` returns every term's unweighted value and every metric,
  so the scalars written to TensorBoard are exactly the parts of the loss.
  """

  def __init__(self) -> None:
    self._terms: dict[str, tuple[float | tf.Tensor, tf.Tensor]] = {}
    self._metrics: dict[str, tf.Tensor] = {}
    self._active: dict[str, tf.Tensor] = {}

  def add(self, name: str, value: tf.Tensor | float, weight: float | tf.Tensor = 1.0,
          active: tf.Tensor | None = None) -> None:
    """Adds `weight * value` to the loss as term `name` (unique); `weight` is a
    number or a scalar tensor (e.g. a ramp over training steps).

    `active`: for a term computed on some steps only (lazy regularization), a
    scalar that is 1 on the steps that compute it (`value` is 0 on the others).
    Its summary is then a ratio metric, the mean over the steps that computed
    it, instead of a value that is 0 on the other steps.
    """
    if name in self._terms:
      raise ValueError(f"Loss term {name!r} is already set.")
    if not tf.is_tensor(weight):
      weight = float(weight)
    self._terms[name] = (weight, tf.convert_to_tensor(value, tf.float32))
    if active is not None:
      self._active[name] = tf.cast(active, tf.float32)

  def add_metric(self, name: str, value: tf.Tensor | float) -> None:
    """A scalar summary that is not part of the loss (e.g. an accuracy)."""
    self._metrics[name] = tf.convert_to_tensor(value, tf.float32)

  def add_ratio_metric(self, name: str, total: tf.Tensor | float,
                       count: tf.Tensor | float) -> None:
    """A summary `total / count` averaged over examples, not steps: e.g. an
    accuracy over the labelled examples of a batch that may hold none. Summaries
    carry "<name>@sum" and "<name>@count"; the training loop sums both over
    replicas and steps and reports "<name>" (training/loop.py)."""
    self._metrics[name + "@sum"] = tf.convert_to_tensor(total, tf.float32)
    self._metrics[name + "@count"] = tf.convert_to_tensor(count, tf.float32)

  @property
  def names(self) -> tuple[str, ...]:
    return tuple(self._terms)

  def value(self, name: str) -> tf.Tensor:
    """The unweighted value of term `name`."""
    return self._terms[name][1]

  def weight(self, name: str) -> float | tf.Tensor:
    return self._terms[name][0]

  @property
  def total(self) -> tf.Tensor:
    """sum over terms of weight * value (a constant zero weight is left out)."""
    parts = [w * v for w, v in self._terms.values()
             if tf.is_tensor(w) or w != 0.0]
    return tf.add_n(parts) if parts else tf.constant(0.0)

  def summaries(self) -> dict[str, tf.Tensor]:
    """{name: scalar}: unweighted terms and metrics (a term added with
    `active` as the ratio pair "<name>@sum" / "<name>@count")."""
    result: dict[str, tf.Tensor] = {}
    for name, (_, v) in self._terms.items():
      if name in self._active:
        result[name + "@sum"] = v * self._active[name]
        result[name + "@count"] = self._active[name]
      else:
        result[name] = v
    result.update(self._metrics)
    return result
