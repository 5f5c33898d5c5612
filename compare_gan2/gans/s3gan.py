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
scalars, and G is not re-run inside the loss.
"""

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import arch_ops
from compare_gan2.architectures import initializers
from compare_gan2.gans import self_supervision as ss_lib
from compare_gan2.gans import ssgan


def label_available(y):
  """[N, 1] float: 1 where the one-hot (or soft) label is not all zero."""
  return tf.cast(tf.reduce_sum(y, axis=1, keepdims=True) > 0.5, tf.float32)


def labelled_cross_entropy(labels, logits, available):
  """Softmax CE averaged over the rows with `available` = 1 (0 if none):
  tf.compat.v1.losses.softmax_cross_entropy's SUM_BY_NONZERO_WEIGHTS."""
  available = tf.reshape(available, [-1])
  ce = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
  return tf.math.divide_no_nan(tf.reduce_sum(ce * available),
                               tf.reduce_sum(available))


@gin.configurable(denylist=["dataset", "parameters", "model_dir", "kwargs"])
class S3GAN(ssgan.SelfSupervisedGAN):
  """compare_gan's S3GAN (see the module docstring)."""

  def __init__(self, dataset, parameters, model_dir=None,
               self_supervision="rotation", rotated_batch_fraction=None,
               weight_rotation_loss_d=1.0, weight_rotation_loss_g=0.2,
               project_y=False, use_predictor=False, use_soft_pred=False,
               weight_class_loss=1.0, use_soft_labels=False, **kwargs):
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
    super().__init__(dataset, parameters, model_dir=model_dir, task=task,
                     **kwargs)
    if not self.conditional:
      raise errors.ConfigError("S3GAN needs labels: set ModularGAN.conditional = "
                               "True (unlabelled reals carry label -1).")
    if use_soft_labels and not dataset.soft_labels:
      raise errors.ConfigError(
          f"S3GAN.use_soft_labels = True needs a soft-labelled dataset "
          f"(float [num_classes] labels), but {dataset.name!r} has integer labels.")

  def num_self_supervised_examples(self, batch_size):
    fraction = int(self._rotated_batch_fraction)
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

  def real_labels(self, labels):
    if self._use_soft_labels:
      if not (labels.dtype.is_floating and labels.shape.rank == 2
              and labels.shape[1] == self.num_classes):
        raise ValueError(f"S3GAN.use_soft_labels needs float labels "
                         f"[bs, {self.num_classes}], got {labels.dtype.name} "
                         f"{labels.shape}.")
      return tf.cast(labels, tf.float32)
    return self._one_hot(labels)

  def discriminator_outputs(self, x, y, is_training):
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
        aux_logits = arch_ops.linear(features, self.num_classes,
                                     scope="predictor_linear", use_sn=use_sn)
      outputs["aux_logits"] = aux_logits
      if self._use_soft_pred:
        predicted = tf.nn.softmax(aux_logits)
      else:
        predicted = tf.one_hot(tf.argmax(aux_logits, axis=1), self.num_classes)
      y = tf.stop_gradient((1.0 - available) * predicted + available * y)
    with self.discriminator.in_store("discriminator_projection"):
      kernel = arch_ops.get_variable(
          "kernel", [self.num_classes, int(features.shape[1])],
          initializers.glorot_normal())
      if use_sn:
        kernel = arch_ops.spectral_norm(kernel,
                                        name=arch_ops.full_name("kernel"))
    logits = outputs["logits"] + tf.reduce_sum(
        tf.matmul(y, kernel) * features, axis=1, keepdims=True)
    outputs["logits"] = logits
    outputs["probs"] = tf.nn.sigmoid(logits)
    return outputs

  def discriminator_loss_terms(self, outputs, slices, is_training=True,
                               seed=None, compute_penalty=True):
    losses = super().discriminator_loss_terms(outputs, slices, is_training, seed,
                                              compute_penalty)
    real = outputs["real"]
    losses.add_metric("label_frac", tf.reduce_mean(real["label_available"]))
    if self._use_predictor:
      losses.add("class_loss_real",
                 labelled_cross_entropy(slices["real"].y, real["aux_logits"],
                                        real["label_available"]),
                 self._weight_class_loss)
      losses.add_metric("accuracy/predictor_real", _labelled_accuracy(
          slices["real"].y, real["aux_logits"], real["label_available"]))
    return losses


def _labelled_accuracy(labels, logits, available):
  available = tf.reshape(available, [-1])
  hit = tf.cast(tf.equal(tf.argmax(labels, 1), tf.argmax(logits, 1)), tf.float32)
  return tf.math.divide_no_nan(tf.reduce_sum(hit * available),
                               tf.reduce_sum(available))

