"""S3GAN and the co-training family (compare_gan's `gans/s3gan.py`).

Lucic, Tschannen, Ritter et al., "High-Fidelity Image Generation With Fewer
Labels" (ICML 2019). A conditional GAN whose real images may be unlabelled
(label -1, a zero one-hot). On D's penultimate features h(x):

- `use_predictor`: a linear classifier `discriminator_predictor/predictor_linear`
  C h(x) + c, trained on the labelled reals only:
  L_class = mean over labelled reals of softmax-CE(C h(x) + c, y).
- `project_y`: a projection `discriminator_projection/kernel` E [K, dim h],
  logit += <y~ E, h(x)>, where y~ is the label where there is one and
  otherwise D's own prediction, stop_gradient(onehot(argmax)) (softmax with
  `use_soft_pred`).
- `self_supervision`: "rotation" adds the rotation task on the last
  n = (bs / rotated_batch_fraction) / 4 reals and fakes (self_supervision.py).

  L_D = L_adv^D + lambda * penalty + weight_rotation_loss_d * CE_rot(reals)
        + weight_class_loss * L_class
  L_G = L_adv^G + weight_rotation_loss_g * CE_rot(fakes)

S2GAN-CO is `self_supervision="none", project_y=True, use_predictor=True`;
S3GAN adds `self_supervision="rotation"` (gin_configs/). Differences from
compare_gan (docs/compare_gan_quirks.md `s3gan-*`): "none" needs no
`rotated_batch_fraction`, `penalty.fn` is applied when set, accuracies are
scalars (the predictor's over the labelled reals of a summary period), and G
is not re-run inside the loss.

Co-training options (ours; each off by default, which is compare_gan's
behaviour). With hard predictions an untrained predictor puts every unlabelled
real into one class from step 0, D learns that pairing and the predictor can
lock in (experiments/results/co_training_mnist measures each option on
mnist_5k_32):
- `predictor_accuracy_threshold` tau: unlabelled reals are not projected
  (y~ = 0) until an exponential moving average (decay
  `predictor_accuracy_decay`) of the predictor's accuracy on labelled reals
  has reached tau once; a latch `discriminator_predictor/ready` then switches
  the projection on for good (curriculum / confidence gating of pseudo-labels,
  as in pseudo-labelling, Lee 2013).
- `projection_ramp_steps` T: the predicted label of an unlabelled real enters
  the projection scaled by min(1, t / T) (t: D steps), a linear ramp-up of the
  unsupervised part as in temporal ensembling (Laine & Aila, ICLR 2017).
- `class_loss_ramp_steps` T: `weight_class_loss` ramps up as min(1, t / T).
- `labelled_batch_size` m: every D step also sees m labelled reals from the
  dataset's labelled subset (its `labeled_only` variant, the same
  `labeled_fraction` and seed), used for the class loss only, as S4L / the
  S2GAN pre-training train their classifier on a separate labelled batch
  (Zhai et al., ICCV 2019).
"""

from __future__ import annotations

from collections.abc import Mapping
import typing

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.gans import step_parts
from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import variable_store
from compare_gan2.gans import self_supervision as ss_lib
from compare_gan2.gans import ssgan

if typing.TYPE_CHECKING:
  from compare_gan2 import datasets
  from compare_gan2.gans import modular_gan

Features = step_parts.Features
Outputs = step_parts.Outputs


def label_available(y: tf.Tensor) -> tf.Tensor:
  """[N, 1] float: 1 where the one-hot (or soft) label is not all zero."""
  return tf.cast(tf.reduce_sum(y, axis=1, keepdims=True) > 0.5, tf.float32)


def labelled_cross_entropy(labels: tf.Tensor, logits: tf.Tensor, available: tf.Tensor
                           ) -> tf.Tensor:
  """Softmax CE averaged over the rows with `available` = 1 (0 if none):
  tf.compat.v1.losses.softmax_cross_entropy's SUM_BY_NONZERO_WEIGHTS."""
  available = tf.reshape(available, [-1])
  ce = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
  return tf.math.divide_no_nan(tf.reduce_sum(ce * available),
                               tf.reduce_sum(available))


@gin.configurable(denylist=["dataset", "parameters", "model_dir", "kwargs"])
class S3GAN(ssgan.SelfSupervisedGAN):
  """compare_gan's S3GAN (see the module docstring)."""

  def __init__(self, dataset: datasets.ImageDatasetSpec,
               parameters: Mapping[str, typing.Any], model_dir: str | None = None,
               self_supervision: str = "rotation",
               rotated_batch_fraction: int | None = None,
               weight_rotation_loss_d: float = 1.0,
               weight_rotation_loss_g: float = 0.2,
               project_y: bool = False, use_predictor: bool = False,
               use_soft_pred: bool = False, weight_class_loss: float = 1.0,
               use_soft_labels: bool = False,
               predictor_accuracy_threshold: float | None = None,
               predictor_accuracy_decay: float = 0.99,
               projection_ramp_steps: int = 0, class_loss_ramp_steps: int = 0,
               labelled_batch_size: int = 0, **kwargs: typing.Any):
    task = ss_lib.get_self_supervision(self_supervision, weight_rotation_loss_d,
                                       weight_rotation_loss_g)
    if self_supervision != "none" and rotated_batch_fraction is None:
      raise errors.ConfigError(
          f"S3GAN.self_supervision = {self_supervision!r} needs "
          "S3GAN.rotated_batch_fraction (rotate batch_size / fraction images).")
    if use_predictor and not project_y:
      raise errors.ConfigError("S3GAN.use_predictor = True needs "
                               "S3GAN.project_y = True (the predictor feeds the "
                               "projection).")
    self._rotated_batch_fraction = rotated_batch_fraction
    self._project_y = project_y
    self._use_predictor = use_predictor
    self._use_soft_pred = use_soft_pred
    self._weight_class_loss = float(weight_class_loss)
    self._use_soft_labels = use_soft_labels
    self._predictor_accuracy_threshold = (
        None if predictor_accuracy_threshold is None
        else float(predictor_accuracy_threshold))
    self._predictor_accuracy_decay = float(predictor_accuracy_decay)
    self._projection_ramp_steps = int(projection_ramp_steps)
    self._class_loss_ramp_steps = int(class_loss_ramp_steps)
    self._labelled_batch_size = int(labelled_batch_size)
    _check_co_training_options(self, use_predictor)
    super().__init__(dataset, parameters, model_dir=model_dir, task=task,
                     **kwargs)
    if not self.conditional:
      raise errors.ConfigError("S3GAN needs labels: set ModularGAN.conditional = "
                               "True (unlabelled reals carry label -1).")
    if use_soft_labels and not dataset.soft_labels:
      raise errors.ConfigError(
          f"S3GAN.use_soft_labels = True needs a soft-labelled dataset "
          f"(float [num_classes] labels), but {dataset.name!r} has integer labels.")
    self._labelled_dataset: datasets.ImageDatasetSpec | None = None
    if self._labelled_batch_size:
      if self.batch_size % self._labelled_batch_size and (
          self._labelled_batch_size % self.batch_size):
        raise errors.ConfigError(
            f"S3GAN.labelled_batch_size = {self._labelled_batch_size} and "
            f"options.batch_size = {self.batch_size}: one must divide the other "
            "(both are split over the replicas in the same proportion).")
      self._labelled_dataset = dataset.labelled_subset()

  # ------------------------------------------------------------------ inputs
  def _labelled_per_batch(self, batch_size: int) -> int:
    """Labelled reals per input batch of `batch_size` (one replica's step)."""
    per_sub_step = batch_size // self.num_sub_steps
    count = self._labelled_batch_size * per_sub_step
    if count % self.batch_size:
      raise errors.ConfigError(
          f"S3GAN.labelled_batch_size = {self._labelled_batch_size} does not "
          f"split over the replicas like options.batch_size = {self.batch_size}.")
    return count // self.batch_size * self.num_sub_steps

  def input_fn(self, batch_size: int, start_index: int = 0,
               input_context: tf.distribute.InputContext | None = None
               ) -> tf.data.Dataset:
    """The GAN's batches; with `labelled_batch_size`, each also carries
    "labelled_images" / "labelled_labels" from the labelled subset, resumed at
    the same step."""
    ds = super().input_fn(batch_size, start_index, input_context)
    if not self._labelled_batch_size:
      return ds
    per_batch = self._labelled_per_batch(batch_size)
    start = start_index // batch_size * per_batch
    # Set with labelled_batch_size (the constructor).
    labelled_dataset = typing.cast("datasets.ImageDatasetSpec", self._labelled_dataset)
    labelled = labelled_dataset.train_examples(
        start_index=start, input_context=input_context)
    labelled = labelled.map(lambda index, image, label: (image, label))
    labelled = labelled.batch(per_batch, drop_remainder=True)

    def merge(batch: tuple[Features, tf.Tensor], extra: tuple[tf.Tensor, tf.Tensor]
              ) -> tuple[Features, tf.Tensor]:
      features, labels = batch
      features = dict(features)
      features["labelled_images"], features["labelled_labels"] = extra
      return features, labels
    return tf.data.Dataset.zip((ds, labelled)).map(merge).prefetch(
        tf.data.AUTOTUNE)

  def discriminator_slices(self, features: Features, labels: tf.Tensor,
                           generated: tf.Tensor, seed: tf.Tensor | None = None
                           ) -> modular_gan.Slices:
    slices = super().discriminator_slices(features, labels, generated, seed)
    if "labelled_images" in features:
      slices.update(self.data_efficient.augment_slices({
          "labelled": step_parts.Slice(
              features["labelled_images"],
              self.real_labels(features["labelled_labels"]))}, seed))
    return slices

  # -------------------------------------------------------- co-training state
  def _ramp(self, steps: int) -> tf.Tensor:
    """min(1, D steps / steps) as a float32 scalar (1 before build)."""
    if not steps or self.global_step_disc is None:
      return tf.constant(1.0)
    t = tf.cast(self.global_step_disc, tf.float32)
    return tf.minimum(1.0, t / float(steps))

  def _predictor_state(self) -> tuple[tf.Variable, tf.Variable]:
    """(accuracy EMA, ready latch) variables of the threshold gate."""
    with self.discriminator.in_store("discriminator_predictor"):
      zeros = initializers.constant(0.0)
      mean = tf.VariableAggregation.MEAN
      ema = variable_store.get_variable("accuracy_ema", [], zeros,
                                        trainable=False, aggregation=mean)
      ready = variable_store.get_variable("ready", [], zeros, trainable=False,
                                          aggregation=mean)
    return ema, ready

  def _unlabelled_projection_scale(self) -> tf.Tensor:
    """How much of D's own prediction enters the projection of unlabelled
    reals: the threshold gate times the projection ramp."""
    scale = self._ramp(self._projection_ramp_steps)
    if self._predictor_accuracy_threshold is not None:
      _, ready = self._predictor_state()
      scale *= tf.cast(ready > 0.5, tf.float32)
    return scale

  def _update_predictor_state(self, hits: tf.Tensor, count: tf.Tensor,
                              losses: step_parts.LossTerms) -> None:
    """Moves the accuracy EMA towards this batch's accuracy on labelled reals
    (if it has any) and sets the latch once the EMA reaches the threshold."""
    ema, ready = self._predictor_state()
    old_ema = ema.read_value()
    # The latch reads the synchronised EMA, so every replica agrees.
    now_ready = tf.maximum(
        ready.read_value(),
        tf.cast(old_ema >= self._predictor_accuracy_threshold, tf.float32))
    decay = self._predictor_accuracy_decay
    batch_accuracy = tf.math.divide_no_nan(hits, count)
    new_ema = tf.where(count > 0, decay * old_ema + (1 - decay) * batch_accuracy,
                       old_ema)
    if variable_store.state_updates_enabled():
      ema.assign(new_ema)
      ready.assign(now_ready)
    losses.add_metric("accuracy/predictor_ema", new_ema)
    losses.add_metric("predictor_ready", now_ready)

  def num_self_supervised_examples(self, batch_size: int) -> int:
    # Set: the task adds slices (the constructor checked it).
    fraction = int(typing.cast(int, self._rotated_batch_fraction))
    if fraction < 1 or batch_size % fraction:
      raise errors.ConfigError(
          f"S3GAN.rotated_batch_fraction = {fraction} must divide the "
          f"per-replica batch {batch_size}.")
    n = batch_size // fraction // ss_lib.NUM_ROTATIONS
    if n < 1:
      raise errors.ConfigError(
          f"S3GAN.rotated_batch_fraction = {fraction} leaves no image to rotate "
          f"in a per-replica batch of {batch_size} (needs batch / fraction >= "
          f"{ss_lib.NUM_ROTATIONS}).")
    return n

  def real_labels(self, labels: tf.Tensor) -> tf.Tensor | None:
    if self._use_soft_labels:
      if not (labels.dtype.is_floating and labels.shape.rank == 2
              and labels.shape[1] == self.num_classes):
        raise ValueError(f"S3GAN.use_soft_labels needs float labels "
                         f"[bs, {self.num_classes}], got {labels.dtype.name} "
                         f"{labels.shape}.")
      return tf.cast(labels, tf.float32)
    return self._one_hot(labels)

  def discriminator_outputs(self, x: tf.Tensor, y: tf.Tensor | None,
                            is_training: bool) -> Outputs:
    outputs = super().discriminator_outputs(x, y, is_training)
    features = outputs["features"]
    if features.shape.rank != 2:
      raise ValueError("S3GAN's heads need D's penultimate features as [N, dim]; "
                       f"this architecture gives {features.shape}.")
    available = label_available(y)
    outputs["label_available"] = available
    if not self._project_y:
      return outputs
    use_sn = self.discriminator.spectral_norm
    if self._use_predictor:
      with self.discriminator.in_store("discriminator_predictor"):
        aux_logits = layers.linear(features, self.num_classes,
                                   scope="predictor_linear", use_sn=use_sn)
      outputs["aux_logits"] = aux_logits
      if self._use_soft_pred:
        predicted = tf.nn.softmax(aux_logits)
      else:
        predicted = tf.one_hot(tf.argmax(aux_logits, axis=1), self.num_classes)
      predicted *= self._unlabelled_projection_scale()
      y = tf.stop_gradient((1.0 - available) * predicted + available * y)
    with self.discriminator.in_store("discriminator_projection"):
      logits = outputs["logits"] + layers.class_projection(features, y, use_sn)
    outputs["logits"] = logits
    outputs["probs"] = tf.nn.sigmoid(logits)
    return outputs

  def discriminator_loss_terms(self, outputs: Mapping[str, Outputs],
                               slices: Mapping[str, step_parts.Slice],
                               is_training: bool = True,
                               seed: tf.Tensor | None = None,
                               compute_penalty: bool = True
                               ) -> step_parts.LossTerms:
    losses = super().discriminator_loss_terms(outputs, slices, is_training, seed,
                                              compute_penalty)
    real = outputs["real"]
    losses.add_metric("label_frac", tf.reduce_mean(real["label_available"]))
    if self._use_predictor:
      labels, logits, available = _class_loss_inputs(outputs, slices)
      losses.add("class_loss_real",
                 labelled_cross_entropy(labels, logits, available),
                 self._weight_class_loss * self._ramp(self._class_loss_ramp_steps))
      hits, count = labelled_hits(labels, logits, available)
      losses.add_ratio_metric("accuracy/predictor_real", hits, count)
      if self._predictor_accuracy_threshold is not None:
        self._update_predictor_state(hits, count, losses)
    return losses


def _check_co_training_options(gan: S3GAN, use_predictor: bool) -> None:
  """The co-training options need the predictor and sensible values."""
  # pylint: disable=protected-access
  used = {"predictor_accuracy_threshold": gan._predictor_accuracy_threshold,
          "projection_ramp_steps": gan._projection_ramp_steps or None,
          "class_loss_ramp_steps": gan._class_loss_ramp_steps or None,
          "labelled_batch_size": gan._labelled_batch_size or None}
  used = {k: v for k, v in used.items() if v is not None}
  if used and not use_predictor:
    raise errors.ConfigError(
        f"S3GAN.{', S3GAN.'.join(used)} act on D's predictor: set "
        "S3GAN.use_predictor = True (and project_y = True).")
  tau = gan._predictor_accuracy_threshold
  if tau is not None and not 0.0 <= tau <= 1.0:
    raise errors.ConfigError(
        f"S3GAN.predictor_accuracy_threshold must be in [0, 1], got {tau}.")
  if not 0.0 <= gan._predictor_accuracy_decay < 1.0:
    raise errors.ConfigError("S3GAN.predictor_accuracy_decay must be in [0, 1), "
                             f"got {gan._predictor_accuracy_decay}.")
  for name in ("projection_ramp_steps", "class_loss_ramp_steps",
               "labelled_batch_size"):
    if getattr(gan, "_" + name) < 0:
      raise errors.ConfigError(f"S3GAN.{name} must be >= 0.")


def _class_loss_inputs(outputs: Mapping[str, Outputs],
                       slices: Mapping[str, step_parts.Slice]
                       ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """(one-hot labels, predictor logits, availability [N, 1]) of the reals the
  class loss reads: the batch's labelled reals and the "labelled" slice."""
  names = [n for n in ("real", "labelled") if n in slices]
  labels = tf.concat([slices[n].y for n in names], 0)
  logits = tf.concat([outputs[n]["aux_logits"] for n in names], 0)
  available = tf.concat([outputs[n]["label_available"] for n in names], 0)
  return labels, logits, available


def labelled_hits(labels: tf.Tensor, logits: tf.Tensor, available: tf.Tensor
                  ) -> tuple[tf.Tensor, tf.Tensor]:
  """(correct predictions, labelled rows) among the rows with `available` = 1."""
  available = tf.reshape(available, [-1])
  hit = tf.cast(tf.equal(tf.argmax(labels, 1), tf.argmax(logits, 1)), tf.float32)
  return tf.reduce_sum(hit * available), tf.reduce_sum(available)

