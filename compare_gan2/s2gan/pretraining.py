"""S2GAN's pre-training: rotation self-supervision plus a linear classifier on the
labelled fraction, trained jointly (S4L-Rotation; Zhai et al., 2019, used by the
fewer-labels paper's S2GAN).

Each step reads B images of the whole training set and, as S4L does, a
separate batch of L labelled images (`labelled_batch_size`; 0: the labelled
images of the B instead). The B images are rotated by 0, 90, 180 and 270
degrees, and so are the L labelled ones with `rotate_labelled` (S4L applies the
supervised loss to all four rotations); one extractor call sees them all:

  L = weight_rotation_loss * CE(R h(rot_k x), k)              (the 4B rotations)
      + weight_class_loss * mean over labelled x (and their rotations with
        rotate_labelled) of CE(C h(x), y)

with linear heads R (`rotation_head`, 4-way) and C (`class_head`) on the
extractor's features h. The model has ModularGAN's training interface, so the
package's Trainer trains it (checkpoints, resumption, progress, summaries).
"""

from __future__ import annotations

from collections.abc import Callable
import typing

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2.architectures import layers
from compare_gan2.architectures import variable_store
from compare_gan2.gans import s3gan
from compare_gan2.gans import self_supervision
from compare_gan2.s2gan import extractor as extractor_lib

if typing.TYPE_CHECKING:
  from compare_gan2 import datasets


@gin.configurable("s2gan_pretraining", denylist=["dataset"])
class RotationPretraining:
  """The feature extractor, its heads and their training step."""

  def __init__(self, dataset: datasets.ImageDatasetSpec, batch_size: int = 64,
               labelled_batch_size: int = 32, training_steps: int = 3000,
               learning_rate: float = 1e-3,
               optimizer_fn: Callable[..., optimizers.Optimizer] = optimizers.AdamOptimizer,
               weight_rotation_loss: float = 1.0, weight_class_loss: float = 1.0,
               rotate_labelled: bool = True,
               extractor_fn: Callable[[], extractor_lib.ResNetExtractor] = (
                   extractor_lib.ResNetExtractor),
               labelled_dataset: datasets.ImageDatasetSpec | None = None):
    """Args:
      dataset: the training set (labels -1 where unknown).
      labelled_dataset: its labelled examples only (the labeled_only_ variant
        of `dataset`), or None (no labels: no labelled batch).
    """
    if not dataset.num_classes:
      raise errors.ConfigError(
          f"S2GAN's pre-training trains a classifier on the labelled images, but "
          f"{dataset.name!r} has no labels. Choose a labelled dataset.")
    self._dataset = dataset
    self._labelled_dataset = labelled_dataset
    self._batch_size = int(batch_size)
    # Without labelled examples (CLUSTERING) there is no labelled batch.
    self.labelled_batch_size = (int(labelled_batch_size)
                                if labelled_dataset is not None else 0)
    self.training_steps = int(training_steps)
    self._learning_rate = float(learning_rate)
    self.weight_rotation_loss = float(weight_rotation_loss)
    self.weight_class_loss = float(weight_class_loss)
    self.rotate_labelled = bool(rotate_labelled)
    self.extractor = extractor_fn()
    self.optimizer = optimizer_fn(self._learning_rate, name="pretraining_opt")
    self.global_step: tf.Variable = None  # Created by `build`.

  # ----------------------------------------------------- training interface
  @property
  def dataset(self) -> datasets.ImageDatasetSpec:
    return self._dataset

  @property
  def batch_size(self) -> int:
    return self._batch_size

  num_sub_steps = 1

  @property
  def learning_rates(self) -> dict[str, float]:
    return {"learning_rate": self._learning_rate}

  def input_fn(self, batch_size: int, start_index: int = 0,
               input_context: tf.distribute.InputContext | None = None
               ) -> tf.data.Dataset:
    """((images, labels), (labelled images, labels)) batches of one step."""
    ds = self._dataset.train_examples(start_index=start_index,
                                      input_context=input_context)
    ds = ds.map(lambda index, image, label: (image, label)).batch(
        batch_size, drop_remainder=True)
    if self.labelled_batch_size:
      per_replica = self.labelled_batch_size * batch_size // self._batch_size
      steps = start_index // batch_size
      # Set: labelled_batch_size is 0 without a labelled dataset.
      labelled_dataset = typing.cast("datasets.ImageDatasetSpec", self._labelled_dataset)
      labelled = labelled_dataset.train_examples(
          start_index=steps * per_replica, input_context=input_context)
      labelled = labelled.map(lambda index, image, label: (image, label)).batch(
          per_replica, drop_remainder=True)
      ds = tf.data.Dataset.zip((ds, labelled))
    else:
      ds = ds.map(lambda images, labels: ((images, labels), (images[:0], labels[:0])))
    return ds.prefetch(tf.data.AUTOTUNE)

  def heads(self, features: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(rotation logits [N, 4], class logits [N, K]) of features [N, F]."""
    with self.extractor.in_store("rotation_head"):
      rotation = layers.linear(features, self_supervision.NUM_ROTATIONS,
                               scope="linear")
    with self.extractor.in_store("class_head"):
      classes = layers.linear(features, self._dataset.num_classes,
                              scope="linear")
    return rotation, classes

  def predict(self, images: tf.Tensor, is_training: bool = False
              ) -> dict[str, tf.Tensor]:
    """{"features", "rotation_logits", "class_logits"} of images (no rotation)."""
    features = self.extractor(images, is_training=is_training)
    rotation, classes = self.heads(features)
    return {"features": features, "rotation_logits": rotation,
            "class_logits": classes}

  def build(self) -> None:
    if self.global_step is not None:
      return
    self.global_step = tf.Variable(
        0, dtype=tf.int64, trainable=False, name="global_step",
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    shape = [2] + list(self._dataset.image_shape)
    with variable_store.no_state_updates():
      self.predict(tf.zeros(shape), is_training=True)
    self.optimizer.build(self.extractor.trainable_variables)

  def variables_to_save(self) -> dict[str, tf.Variable]:
    result = {"global_step": self.global_step}
    result.update({v.name.split(":")[0]: v for v in self.extractor.variables})
    result.update(self.optimizer.variables_to_save())
    return result

  def losses(self, batch: tuple[tf.Tensor, tf.Tensor],
             labelled_batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
    """{"loss", "rotation_loss", "class_loss", "accuracy/..."} of one step.

    batch: (images [B, ...], labels [B], -1 = unlabelled); labelled_batch:
    (images [L, ...], labels [L]) of labelled examples (L may be 0).
    """
    images, labels = batch
    extra_images, extra_labels = labelled_batch
    if self.rotate_labelled and int(extra_images.shape[0]):
      extra_images = self_supervision.rotate_images(extra_images, (0, 1, 2, 3))
      extra_labels = tf.tile(extra_labels, [self_supervision.NUM_ROTATIONS])
    n = int(images.shape[0])
    rotated = self_supervision.rotate_images(images, (0, 1, 2, 3))
    rotation_labels = self_supervision.rotation_labels(n)
    features = self.extractor(tf.concat([rotated, extra_images], 0),
                              is_training=True)
    rotation_logits, class_logits = self.heads(features)
    rotation_logits = rotation_logits[:4 * n]
    class_logits = tf.concat([class_logits[:n], class_logits[4 * n:]], 0)
    labels = tf.concat([labels, extra_labels], 0)
    rotation_loss = self_supervision.rotation_cross_entropy(rotation_logits,
                                                            rotation_labels)
    onehot = tf.one_hot(labels, self._dataset.num_classes)  # -1: zero row.
    available = s3gan.label_available(onehot)
    class_loss = s3gan.labelled_cross_entropy(onehot, class_logits, available)
    predicted = tf.argmax(class_logits, axis=1, output_type=tf.int32)
    hits = tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32)
    labelled = tf.reshape(available, [-1])
    return {
        "loss": (self.weight_rotation_loss * rotation_loss
                 + self.weight_class_loss * class_loss),
        "rotation_loss": rotation_loss,
        "class_loss": class_loss,
        "accuracy/rotation": self_supervision.accuracy(rotation_logits,
                                                       rotation_labels),
        "accuracy/class_labelled": tf.math.divide_no_nan(
            tf.reduce_sum(hits * labelled), tf.reduce_sum(labelled)),
        "label_frac": tf.reduce_mean(labelled[:n]),
    }

  def train_step(self, inputs: tuple[tuple[tf.Tensor, tf.Tensor],
                                     tuple[tf.Tensor, tf.Tensor]]
                 ) -> dict[str, tf.Tensor]:
    batch, labelled_batch = inputs
    with tf.GradientTape() as tape:
      metrics = self.losses(batch, labelled_batch)
    variables = self.extractor.trainable_variables
    self.optimizer.apply(tape.gradient(metrics["loss"], variables), variables)
    self.global_step.assign_add(1)
    return metrics

  def summary_images(self) -> tuple[dict[str, np.ndarray], None]:
    return {}, None

  def real_summary_images(self, num: int = 16) -> np.ndarray:
    """The first training images and their three rotations."""
    _, images, _ = next(iter(self._dataset.train_examples().batch(num)))
    return self_supervision.rotate_images(images[:num // 4 or 1]).numpy()


def build(dataset: datasets.ImageDatasetSpec,
          labelled_dataset: datasets.ImageDatasetSpec | None = None
          ) -> RotationPretraining:
  """The gin-configured pre-training model on `dataset`."""
  return RotationPretraining(dataset=dataset, labelled_dataset=labelled_dataset)


