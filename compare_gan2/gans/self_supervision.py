"""Self-supervised tasks for the discriminator, selected by name in Gin.

`SSGAN.self_supervision` / `S3GAN.self_supervision` name one of SELF_SUPERVISION:

| name           | D's batch gets        | D loss adds       | G loss adds       | GAN terms |
|----------------|-----------------------|-------------------|-------------------|-----------|
| "none"         | nothing               | -                 | -                 | kept      |
| "rotation"     | 3 rotations of the    | beta * CE_rot on  | alpha * CE_rot on | kept      |
| "rotation_gan" | last n reals / fakes  | rotated reals     | rotated fakes     | kept      |
| "rotation_only"| (as above)            | (as above)        | (as above)        | weight 0  |

Rotation is the auxiliary task of Chen et al., "Self-Supervised GANs via
Auxiliary Rotation Loss" (CVPR 2019), as compare_gan's `gans/ssgan.py` and
`gans/s3gan.py` build it: the last n real and n fake images of a batch are
rotated by 90, 180 and 270 degrees, all of them go through one D call, and a
4-way linear head `discriminator_rotation/score_classify` on D's penultimate
features classifies the rotation of the n originals and their 3n rotations
(labels [0]*n + [1]*n + [2]*n + [3]*n):
  CE_rot = -mean_i sum_k onehot(k_i) log(softmax(logits_i) + 1e-10).

A task is a `SelfSupervision` subclass; `register_self_supervision` adds one
under a new name without touching the GAN classes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
import typing

import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import layers
from compare_gan2.gans import step_parts

if typing.TYPE_CHECKING:
  from compare_gan2.architectures import abstract_arch

NUM_ROTATIONS = 4

Slices = dict[str, step_parts.Slice]
Outputs = step_parts.Outputs


def rotate_images(images: tf.Tensor, rotations: Sequence[int] = (0, 1, 2, 3)
                  ) -> tf.Tensor:
  """Each of `rotations` (multiples of 90 degrees, counter-clockwise, as
  np.rot90(k)) applied to all of images [n, H, W, C], stacked rotation-major:
  [rot_a(images); rot_b(images); ...] (compare_gan's `utils.rotate_images`)."""
  images = tf.convert_to_tensor(images)
  if images.shape.rank != 4 or images.shape[1] != images.shape[2]:
    raise ValueError("rotate_images needs square images [n, H, H, C], got shape "
                     f"{images.shape}.")
  rotated = []
  for k in rotations:
    if k not in (0, 1, 2, 3):
      raise ValueError(f"Rotations are multiples of 90 degrees in 0..3, got {k}.")
    rotated.append(tf.image.rot90(images, k=k))
  return tf.concat(rotated, axis=0)


def rotation_labels(num_per_rotation: int) -> tf.Tensor:
  """[0]*n + [1]*n + [2]*n + [3]*n: the rotation of each row of a rotated batch."""
  return tf.constant(np.repeat(np.arange(NUM_ROTATIONS, dtype=np.int32),
                               num_per_rotation))


def rotation_cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
  """compare_gan's CE: -mean(sum(onehot * log(softmax(logits) + 1e-10)))."""
  onehot = tf.one_hot(labels, NUM_ROTATIONS)
  log_p = tf.math.log(tf.nn.softmax(logits) + 1e-10)
  return -tf.reduce_mean(tf.reduce_sum(onehot * log_p, axis=1))


def accuracy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
  """Fraction of rows whose argmax equals the label (a scalar, unlike
  compare_gan's tf.metrics.accuracy tuples)."""
  predicted = tf.argmax(logits, axis=1, output_type=tf.int32)
  return tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32))


class SelfSupervision:
  """No self-supervision; the interface every task implements.

  A task may (1) add slices to D's batch, (2) add heads on D's penultimate
  features (variables in D's store, so D's optimizer trains them), (3) add D
  and G loss terms and metrics. `generator_reads` names the slices its G terms
  read, so the generator step feeds D only what the G loss needs.
  """

  name = "none"
  # Weight of the adversarial (and penalty) terms; 0 for a task on its own.
  adversarial_weight = 1.0
  generator_reads: typing.ClassVar[tuple[str, ...]] = ()
  # Whether `add_slices` uses examples (the GAN then checks how many it may use).
  adds_slices = False

  def __init__(self, weight_d: float = 1.0, weight_g: float = 0.2):
    self.weight_d = float(weight_d)
    self.weight_g = float(weight_g)

  def add_slices(self, slices: Slices, num_examples: int) -> Slices:
    """{name: Slice} D sees, given the GAN's {"real", "fake"} (ordered).

    `num_examples`: how many reals (and fakes) the task uses per replica.
    """
    del num_examples
    return slices

  def heads(self, discriminator: abstract_arch.Network, features: tf.Tensor
            ) -> dict[str, tf.Tensor]:
    """{output name: tensor} of the task's heads on D's features [N, F]."""
    del discriminator, features
    return {}

  def discriminator_terms(self, outputs: Mapping[str, Outputs],
                          losses: step_parts.LossTerms) -> None:
    """Adds the task's D terms to `losses` (outputs: {slice: {output: t}})."""

  def generator_terms(self, outputs: Mapping[str, Outputs],
                      losses: step_parts.LossTerms) -> None:
    """Adds the task's G terms to `losses`."""


class Rotation(SelfSupervision):
  """Rotation prediction on real and fake images (see the module docstring)."""

  name = "rotation"
  generator_reads = ("fake", "fake_rotated")
  adds_slices = True

  def add_slices(self, slices: Slices, num_examples: int) -> Slices:
    n = int(num_examples)
    result: Slices = {}
    for name, part in slices.items():
      result[name] = part
      if name in ("real", "fake"):
        if not 0 < n <= part.size:
          raise ValueError(f"Rotation needs 0 < n <= batch size ({part.size}) "
                           f"examples to rotate, got n = {n}.")
        images = rotate_images(part.images[-n:], rotations=(1, 2, 3))
        y = None if part.y is None else tf.tile(part.y[-n:], [3, 1])
        result[name + "_rotated"] = step_parts.Slice(images, y)
    return result

  def heads(self, discriminator: abstract_arch.Network, features: tf.Tensor
            ) -> dict[str, tf.Tensor]:
    flat = tf.reshape(features, [-1, int(np.prod(features.shape[1:]))])
    with discriminator.in_store("discriminator_rotation"):
      logits = layers.linear(flat, NUM_ROTATIONS, scope="score_classify",
                             use_sn=discriminator.spectral_norm)
    return {"rotation_logits": logits}

  def _loss(self, outputs: Mapping[str, Outputs], source: str
            ) -> tuple[tf.Tensor, tf.Tensor]:
    """CE and accuracy on the last n `source` images and their rotations."""
    rotated = outputs[source + "_rotated"]["rotation_logits"]
    n = int(rotated.shape[0]) // (NUM_ROTATIONS - 1)
    logits = tf.concat([outputs[source]["rotation_logits"][-n:], rotated], 0)
    labels = rotation_labels(n)
    return rotation_cross_entropy(logits, labels), accuracy(logits, labels)

  def discriminator_terms(self, outputs: Mapping[str, Outputs],
                          losses: step_parts.LossTerms) -> None:
    loss, acc = self._loss(outputs, "real")
    losses.add("rotation_loss_real", loss, self.weight_d)
    losses.add_metric("accuracy/rotation_real", acc)

  def generator_terms(self, outputs: Mapping[str, Outputs],
                      losses: step_parts.LossTerms) -> None:
    loss, acc = self._loss(outputs, "fake")
    losses.add("rotation_loss_fake", loss, self.weight_g)
    losses.add_metric("accuracy/rotation_fake", acc)


class RotationOnly(Rotation):
  """Rotation terms only: the GAN and penalty terms get weight 0."""
  name = "rotation_only"
  adversarial_weight = 0.0


SELF_SUPERVISION: dict[str, type[SelfSupervision]] = {
    "none": SelfSupervision,
    "rotation": Rotation,
    "rotation_gan": Rotation,   # SSGAN's name for the same task.
    "rotation_only": RotationOnly,
}


def register_self_supervision(name: str, cls: type[SelfSupervision]) -> None:
  """Makes `cls` (a SelfSupervision subclass) selectable as `name`."""
  if not (isinstance(cls, type) and issubclass(cls, SelfSupervision)):
    raise TypeError(f"{cls!r} is not a SelfSupervision subclass.")
  SELF_SUPERVISION[name] = cls


def get_self_supervision(name: str, weight_d: float, weight_g: float,
                         allowed: Collection[str] | None = None) -> SelfSupervision:
  """The task called `name`, with D weight `weight_d` and G weight `weight_g`.

  `allowed`: the names a GAN class accepts (None: any registered name).
  """
  names = sorted(SELF_SUPERVISION if allowed is None else allowed)
  if name not in SELF_SUPERVISION or (allowed is not None and name not in allowed):
    raise errors.ConfigError(f"Unknown self_supervision {name!r}; choose one of "
                             f"{names}.")
  return SELF_SUPERVISION[name](weight_d=weight_d, weight_g=weight_g)

