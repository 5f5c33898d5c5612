"""SSGAN: ModularGAN plus a self-supervised task for D (compare_gan's `gans/ssgan.py`).

Chen et al., "Self-Supervised GANs via Auxiliary Rotation Loss" (CVPR 2019).
With the default "rotation_gan", D's batch is
[real (bs); rotations of the last n reals (3n); fake (bs); rotations of the
last n fakes (3n)] in one call, n = (rotated_batch_size / replicas) / 4, and

  L_D = L_adv^D + lambda * penalty + weight_rotation_loss_d * CE_rot(reals)
  L_G = L_adv^G + weight_rotation_loss_g * CE_rot(fakes)

(see compare_gan2/gans/self_supervision.py). Differences from compare_gan: the
rotated fakes of a conditional SSGAN carry the fakes' sampled labels
(compare_gan tiled the real labels, docs/compare_gan_quirks.md
`ssgan-rotated-fake-labels`); "none" needs no `rotated_batch_size`; an unknown
`self_supervision` name is an error instead of a plain GAN
(`ssgan-unknown-task`).
"""

from __future__ import annotations

from collections.abc import Mapping
import typing

from absl import logging
import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import variable_store
from compare_gan2.gans import modular_gan
from compare_gan2.gans import self_supervision as ss_lib
from compare_gan2.gans import step_parts

if typing.TYPE_CHECKING:
  from compare_gan2 import datasets

Features = step_parts.Features
Outputs = step_parts.Outputs


def num_replicas() -> int:
  """Replicas in sync of the current replica context (1 outside strategies)."""
  ctx = tf.distribute.get_replica_context()
  return 1 if ctx is None else int(ctx.num_replicas_in_sync)


class SelfSupervisedGAN(modular_gan.ModularGAN):
  """ModularGAN whose step includes a `SelfSupervision` task (`self.task`)."""

  def __init__(self, dataset: datasets.ImageDatasetSpec,
               parameters: Mapping[str, typing.Any], model_dir: str | None = None,
               task: ss_lib.SelfSupervision | None = None, **kwargs: typing.Any):
    self.task = task or ss_lib.SelfSupervision()
    super().__init__(dataset, parameters, model_dir=model_dir, **kwargs)
    if self._deprecated_split_disc_calls:
      raise errors.ConfigError(
          f"{type(self).__name__} makes one D call per step; unset "
          "ModularGAN.deprecated_split_disc_calls.")
    rotating = self.data_efficient.augmentation_rotations()
    if rotating and self.task.adds_slices:
      logging.warning(
          "ADA's transforms %s rotate or flip D's images before the %r task "
          "rotates them, which makes its rotation labels ambiguous for augmented "
          "images; consider ada.transforms without them (docs/data_efficient.md).",
          rotating, self.task.name)

  def num_self_supervised_examples(self, batch_size: int) -> int:
    """Reals (and fakes) per replica the task uses, given the per-replica batch."""
    raise NotImplementedError

  @property
  def adversarial_weight(self) -> float:
    return self.task.adversarial_weight

  def discriminator_slices(self, features: Features, labels: tf.Tensor,
                           generated: tf.Tensor, seed: tf.Tensor | None = None
                           ) -> modular_gan.Slices:
    # The task rotates the images as D sees them (after any augmentation).
    slices = super().discriminator_slices(features, labels, generated, seed)
    if not self.task.adds_slices:
      return slices
    n = self.num_self_supervised_examples(slices["real"].size)
    return self.task.add_slices(slices, n)

  def discriminator_outputs(self, x: tf.Tensor, y: tf.Tensor | None,
                            is_training: bool) -> Outputs:
    outputs = super().discriminator_outputs(x, y, is_training)
    outputs.update(self.task.heads(self.discriminator, outputs["features"]))
    return outputs

  def discriminator_loss_terms(self, outputs: Mapping[str, Outputs],
                               slices: Mapping[str, step_parts.Slice],
                               is_training: bool = True,
                               seed: tf.Tensor | None = None,
                               compute_penalty: bool = True
                               ) -> step_parts.LossTerms:
    losses = super().discriminator_loss_terms(outputs, slices, is_training, seed,
                                              compute_penalty)
    self.task.discriminator_terms(outputs, losses)
    return losses

  def generator_loss_terms(self, outputs: Mapping[str, Outputs]
                           ) -> step_parts.LossTerms:
    losses = super().generator_loss_terms(outputs)
    self.task.generator_terms(outputs, losses)
    return losses

  def generator_reads(self) -> tuple[str, ...]:
    reads = list(super().generator_reads())
    return tuple(reads + [s for s in self.task.generator_reads if s not in reads])

  # Heads whose outputs `discriminator_heads` returns.
  READOUT_HEADS = ("aux_logits", "rotation_logits")

  def discriminator_heads(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
    """{head: logits} of D's classification heads on unlabelled real `images`
    (inference mode, no state updates): "rotation_logits" [N, 4] with rotation,
    "aux_logits" [N, K] with S3GAN's predictor (evaluation's d_classifier task)."""
    y = None
    if self.conditional:
      y = tf.zeros([tf.shape(images)[0], self.num_classes], tf.float32)
    with variable_store.no_state_updates():
      outputs = self.discriminator_outputs(images, y, is_training=False)
    return {k: outputs[k] for k in self.READOUT_HEADS if k in outputs}


@gin.configurable(denylist=["dataset", "parameters", "model_dir", "kwargs"])
class SSGAN(SelfSupervisedGAN):
  """compare_gan's SSGAN: `self_supervision` in "rotation_gan" (default),
  "rotation_only", "none" (or any registered task name)."""

  def __init__(self, dataset: datasets.ImageDatasetSpec,
               parameters: Mapping[str, typing.Any], model_dir: str | None = None,
               self_supervision: str = "rotation_gan",
               rotated_batch_size: int | None = None,
               weight_rotation_loss_d: float = 1.0,
               weight_rotation_loss_g: float = 0.2, **kwargs: typing.Any):
    task = ss_lib.get_self_supervision(self_supervision, weight_rotation_loss_d,
                                       weight_rotation_loss_g)
    if self_supervision != "none" and rotated_batch_size is None:
      raise errors.ConfigError(
          f"SSGAN.self_supervision = {self_supervision!r} needs "
          "SSGAN.rotated_batch_size (rotated images per global batch, a "
          "multiple of 4 x replicas).")
    self._rotated_batch_size = rotated_batch_size
    super().__init__(dataset, parameters, model_dir=model_dir, task=task,
                     **kwargs)

  def num_self_supervised_examples(self, batch_size: int) -> int:
    replicas = num_replicas()
    # Set: the task adds slices (the constructor checked it).
    per_replica = int(typing.cast(int, self._rotated_batch_size)) // replicas
    if per_replica % ss_lib.NUM_ROTATIONS or per_replica == 0:
      raise errors.ConfigError(
          f"SSGAN.rotated_batch_size = {self._rotated_batch_size} over {replicas} "
          f"replica(s) gives {per_replica} per replica, which must be a positive "
          f"multiple of {ss_lib.NUM_ROTATIONS}.")
    n = per_replica // ss_lib.NUM_ROTATIONS
    if n > batch_size:
      raise errors.ConfigError(
          f"SSGAN.rotated_batch_size = {self._rotated_batch_size} rotates {n} "
          f"images per replica, more than the per-replica batch {batch_size}.")
    return n
