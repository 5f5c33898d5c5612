"""ModularGAN: compare_gan's configurable GAN (losses, penalties, architectures by gin).

The estimator-style split of compare_gan is kept:
- `input_fn` turns dataset examples into `(features, labels)` batches; per-example
  randomness (z, sampled labels) is drawn here, statelessly from
  `(dataset.seed, example index)`, so a resumed run sees exactly the same inputs.
- `train_step` is the body of compare_gan's `model_fn` for one training step: the
  batch of `disc_iters + 1` sub-steps is split, D is updated on each of the first
  `disc_iters` parts, then G on the last part (compare_gan's "unrolled" TPU graph,
  used here on every device). It runs in a replica context of any tf.distribute
  strategy; the trainer owns the loop, checkpoints and summaries.
"""

import functools

import gin
import tensorflow as tf

from compare_gan2 import optimizers
from compare_gan2 import random_ops
from compare_gan2 import utils
from compare_gan2.architectures import arch_ops
from compare_gan2.architectures import get_architecture
from compare_gan2.gans import loss_lib
from compare_gan2.gans import penalty_lib
from compare_gan2.gans import regularizers

# Constants folded into stateless seeds so different draws never share a stream.
_SEED_Z, _SEED_LABELS, _SEED_PENALTY = 1, 2, 3


@gin.configurable("z", denylist=["shape", "name", "seed"])
def z_generator(shape, distribution_fn=random_ops.uniform, minval=-1.0, maxval=1.0,
                stddev=1.0, name=None, seed=None):
  """Latent noise; compare_gan's default is U[-1, 1] (BigGAN configs use N(0, 1)).

  `distribution_fn` receives whichever of shape/minval/maxval/stddev/name/seed it
  accepts; with `seed` ([2] int32) the draw is stateless.
  """
  return utils.call_with_accepted_args(
      distribution_fn, shape=shape, minval=minval, maxval=maxval, stddev=stddev,
      name=name, seed=seed)


@gin.configurable("eval_z", denylist=["shape", "name", "seed"])
def eval_z_generator(shape, distribution_fn=random_ops.uniform, minval=-1.0,
                     maxval=1.0, stddev=1.0, name=None, seed=None):
  """Latent noise used by evaluation (compare_gan's separate `eval_z` selector)."""
  return utils.call_with_accepted_args(
      distribution_fn, shape=shape, minval=minval, maxval=maxval, stddev=stddev,
      name=name, seed=seed)


def _name(var):
  return var.name.split(":")[0]


class GeneratorEMA(tf.Module):
  """Exponential moving average of G's trainable weights (BigGAN's EMA generator).

  shadow <- decay * shadow + (1 - decay) * w with decay = ema_decay * [gen_step >=
  ema_start_step], so before the start step the shadow equals the weights
  (compare_gan's formulation, no num_updates). Shadows are checkpointed as
  `<var>/ExponentialMovingAverage`.
  """

  def __init__(self, decay, start_step):
    super().__init__(name="generator_ema")
    self.decay, self.start_step = decay, start_step
    self.shadows = {}

  def build(self, variables):
    for var in variables:
      key = _name(var)
      if key not in self.shadows:
        self.shadows[key] = tf.Variable(
            var.read_value(), trainable=False,
            name=key + "/ExponentialMovingAverage",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def update(self, variables, gen_step):
    on = tf.cast(gen_step >= self.start_step, tf.float32)
    decay = self.decay * on
    for var in variables:
      shadow = self.shadows[_name(var)]
      shadow.assign(decay * shadow + (1.0 - decay) * var)

  def variables_to_save(self):
    return {k + "/ExponentialMovingAverage": v for k, v in self.shadows.items()}


@gin.configurable(denylist=["dataset", "parameters", "model_dir"])
class ModularGAN:
  """GAN assembled from an architecture, a loss and a penalty (compare_gan's `gans/modular_gan.py`)."""

  def __init__(self,
               dataset,
               parameters,
               model_dir=None,
               deprecated_split_disc_calls=False,
               experimental_joint_gen_for_disc=False,
               experimental_force_graph_unroll=False,
               g_use_ema=False,
               ema_decay=0.9999,
               ema_start_step=40000,
               g_optimizer_fn=optimizers.AdamOptimizer,
               d_optimizer_fn=None,
               g_lr=0.0002,
               d_lr=None,
               conditional=False,
               fit_label_distribution=False):
    del experimental_force_graph_unroll  # Every device runs the unrolled step.
    self._dataset = dataset
    self._parameters = dict(parameters)
    self._model_dir = model_dir
    self._deprecated_split_disc_calls = deprecated_split_disc_calls
    self._experimental_joint_gen_for_disc = experimental_joint_gen_for_disc
    self._g_use_ema = g_use_ema
    self._ema_decay = ema_decay
    self._ema_start_step = ema_start_step
    self._g_lr = g_lr
    self._d_lr = g_lr if d_lr is None else d_lr
    self._conditional = conditional
    self._fit_label_distribution = fit_label_distribution
    if conditional and not dataset.num_classes:
      raise ValueError(
          f"ModularGAN.conditional=True needs a labelled dataset, but "
          f"{dataset.name!r} has no classes. Set ModularGAN.conditional = False "
          "or choose a labelled dataset.")
    self.z_dim = int(self._parameters.get("z_dim", 128))
    self.disc_iters = int(self._parameters.get("disc_iters", 1))
    self.penalty_weight = float(self._parameters.get("lambda", 1.0))
    gen_cls, disc_cls = get_architecture(self._parameters["architecture"])
    self.generator = gen_cls(image_shape=tuple(dataset.image_shape))
    self.discriminator = disc_cls()
    self.g_optimizer = g_optimizer_fn(self._g_lr, name="g_opt")
    self.d_optimizer = (d_optimizer_fn or g_optimizer_fn)(self._d_lr, name="d_opt")
    self.ema = GeneratorEMA(ema_decay, ema_start_step) if g_use_ema else None
    self.global_step = None
    self.global_step_disc = None

  # ---------------------------------------------------------------- properties
  @property
  def dataset(self):
    return self._dataset

  @property
  def conditional(self):
    return self._conditional

  @property
  def num_classes(self):
    return self._dataset.num_classes

  @property
  def num_sub_steps(self):
    """Sub-steps per training step: disc_iters D updates and one G update."""
    return self.disc_iters + 1

  @property
  def batch_size(self):
    """Global batch of one sub-step (`options.batch_size`)."""
    return int(self._parameters["batch_size"])

  @property
  def learning_rates(self):
    return {"g_lr": self._g_lr, "d_lr": self._d_lr}

  @property
  def g_use_ema(self):
    return self._g_use_ema

  # ----------------------------------------------------------------- input_fn
  def _preprocess(self, index, image, label):
    """Adds z (and sampled labels) drawn statelessly from (dataset.seed, index)."""
    seed = (self._dataset.seed, index)
    features = {
        "images": image,
        "z": z_generator([self.z_dim], name="z",
                         seed=random_ops.derive_seed(seed, _SEED_Z)),
    }
    soft = label.dtype.is_floating  # Soft labels: float [num_classes] vectors.
    if self._conditional:
      if self._fit_label_distribution:
        features["sampled_labels"] = tf.cast(
            tf.argmax(label, output_type=tf.int32) if soft else label, tf.int32)
      else:
        features["sampled_labels"] = tf.random.stateless_uniform(
            [], random_ops.derive_seed(seed, _SEED_LABELS), 0, self.num_classes,
            dtype=tf.int32)
    return features, (tf.cast(label, tf.float32) if soft else tf.cast(label, tf.int32))

  def input_fn(self, batch_size, start_index=0, input_context=None):
    """Batches of `batch_size` examples (all sub-steps of one step on one replica).

    Args:
      batch_size: per-replica examples per training step, i.e. the per-replica
        sub-step batch times `num_sub_steps`.
      start_index: examples this pipeline consumed before (resume position).
      input_context: tf.distribute.InputContext for sharding, or None.
    """
    ds = self._dataset.train_examples(start_index=start_index,
                                      input_context=input_context)
    ds = ds.map(self._preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)

  # ------------------------------------------------------------------ building
  def _one_hot(self, labels):
    """One-hot labels, or None when unconditional; label -1 gives a zero vector.

    Soft labels (float [bs, num_classes], e.g. soft_labeled_imagenet_128) pass
    through unchanged.
    """
    if not self._conditional or labels is None:
      return None
    if labels.dtype.is_floating and labels.shape.rank == 2:
      return labels
    return tf.one_hot(labels, self.num_classes, dtype=tf.float32)

  def build(self):
    """Creates every variable eagerly; call once under `strategy.scope()`."""
    if self.global_step is not None:
      return
    counter = functools.partial(
        tf.Variable, 0, dtype=tf.int64, trainable=False,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.global_step = counter(name="global_step")
    self.global_step_disc = counter(name="global_step_disc")
    height, width, colors = self._dataset.image_shape
    z = tf.zeros([2, self.z_dim])
    y = self._one_hot(tf.zeros([2], tf.int32))
    with arch_ops.no_state_updates():
      images = self.generator(z, y, is_training=True)
      self.discriminator(tf.zeros([2, height, width, colors]), y, is_training=True)
      self.build_extra_variables(images, y)
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)
    if self.ema is not None:
      self.ema.build(self.generator.trainable_variables)

  def build_extra_variables(self, images, y):
    """Hook for subclasses with extra heads (SSGAN/S3GAN) to create variables."""
    del images, y

  def variables_to_save(self):
    """{checkpoint name: variable}: everything a resumed run needs."""
    result = {"global_step": self.global_step,
              "global_step_disc": self.global_step_disc}
    for net in (self.generator, self.discriminator):
      result.update({_name(v): v for v in net.variables})
    result.update(self.g_optimizer.variables_to_save())
    result.update(self.d_optimizer.variables_to_save())
    if self.ema is not None:
      result.update(self.ema.variables_to_save())
    return result

  # ------------------------------------------------------------------- losses
  def discriminator_fn(self, x, y, is_training):
    """D as the losses see it; SSGAN/S3GAN override this to add heads."""
    return self.discriminator(x, y, is_training=is_training)

  def _discriminator_for_penalty(self):
    """`discriminator_fn` plus D's `trainable_variables` (l2_penalty reads them)."""
    fn = functools.partial(self.discriminator_fn)
    fn.trainable_variables = self.discriminator.trainable_variables
    return fn

  def create_loss(self, features, labels, generated, is_training=True,
                  compute_penalty=True, seed=None):
    """compare_gan's `create_loss`: GAN loss (+ lambda * penalty on D).

    Returns:
      (d_loss, g_loss, dict of scalar summaries).
    """
    images = features["images"]
    y = self._one_hot(labels)
    sampled_y = self._one_hot(features.get("sampled_labels"))
    if self._deprecated_split_disc_calls:
      d_real, d_real_logits, _ = self.discriminator_fn(images, y, is_training)
      d_fake, d_fake_logits, _ = self.discriminator_fn(generated, sampled_y,
                                                       is_training)
    else:
      all_images = tf.concat([images, generated], axis=0)
      all_y = None if y is None else tf.concat([y, sampled_y], axis=0)
      d_all, d_all_logits, _ = self.discriminator_fn(all_images, all_y, is_training)
      d_real, d_fake = tf.split(d_all, 2)
      d_real_logits, d_fake_logits = tf.split(d_all_logits, 2)
    d_loss, d_loss_real, d_loss_fake, g_loss = loss_lib.get_losses(
        d_real=d_real, d_fake=d_fake, d_real_logits=d_real_logits,
        d_fake_logits=d_fake_logits)
    summaries = {"d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake}
    if compute_penalty:
      penalty = penalty_lib.get_penalty_loss(
          x=images, x_fake=generated, y=y, is_training=is_training,
          discriminator=self._discriminator_for_penalty(), seed=seed)
      penalty = tf.convert_to_tensor(penalty, tf.float32)
      d_loss += self.penalty_weight * penalty
      summaries["penalty"] = penalty
    return d_loss, g_loss, summaries

  # ------------------------------------------------------------ training step
  def _split(self, features, labels):
    """Splits a step's batch into num_sub_steps equal parts."""
    parts = [dict() for _ in range(self.num_sub_steps)]
    for key, value in features.items():
      for part, chunk in zip(parts, tf.split(value, self.num_sub_steps)):
        part[key] = chunk
    return parts, tf.split(labels, self.num_sub_steps)

  def _generate(self, features, is_training=True):
    return self.generator(features["z"], self._one_hot(features.get("sampled_labels")),
                          is_training=is_training)

  def _step_seed(self, counter):
    replica = tf.distribute.get_replica_context()
    replica_id = 0 if replica is None else replica.replica_id_in_sync_group
    return random_ops.derive_seed((_SEED_PENALTY, 0), counter, replica_id)

  def _train_discriminator(self, features, labels, generated):
    generated = tf.stop_gradient(generated)
    seed = self._step_seed(self.global_step_disc)
    with tf.GradientTape() as tape:
      d_loss, _, summaries = self.create_loss(features, labels, generated,
                                              is_training=True, seed=seed)
      d_loss += regularizers.discriminator_regularization(self.discriminator)
    self.d_optimizer.minimize(tape, d_loss, self.discriminator.trainable_variables)
    self.global_step_disc.assign_add(1)
    return d_loss, summaries

  def _d_sees_examples_independently(self):
    """True if D's output on one example does not depend on the others in its call.

    Batch norm in D couples the examples of a call; layer norm and spectral
    norm do not.
    """
    return self.discriminator.batch_norm_fn in (None, arch_ops.no_batch_norm)

  def generator_loss(self, features, labels, generated):
    """G's loss: compare_gan's `create_loss` g_loss, computed more cheaply when exact.

    compare_gan runs D on reals and fakes in the generator step, but the
    built-in losses' g_loss reads D(fakes) only, so when D treats examples
    independently and makes one call per step (no
    `deprecated_split_disc_calls`), D is run on the fakes alone: the same
    g_loss, the same spectral-norm power iteration, half the D work of the
    generator step.
    """
    if (self._d_sees_examples_independently()
        and not self._deprecated_split_disc_calls
        and loss_lib.generator_loss_reads_fakes_only()):
      sampled_y = self._one_hot(features.get("sampled_labels"))
      d_fake, d_fake_logits, _ = self.discriminator_fn(generated, sampled_y,
                                                       is_training=True)
      return loss_lib.generator_loss_from_fakes(d_fake, d_fake_logits)
    _, g_loss, _ = self.create_loss(features, labels, generated,
                                    is_training=True, compute_penalty=False)
    return g_loss

  def _train_generator(self, features, labels):
    with tf.GradientTape() as tape:
      generated = self._generate(features)
      g_loss = self.generator_loss(features, labels, generated)
      g_loss += regularizers.generator_regularization(self.generator)
    self.g_optimizer.minimize(tape, g_loss, self.generator.trainable_variables)
    self.global_step.assign_add(1)
    if self.ema is not None:
      self.ema.update(self.generator.trainable_variables, self.global_step)
    return g_loss

  def train_step(self, inputs):
    """One training step (disc_iters D updates, one G update) in a replica context.

    Returns:
      dict of scalar tensors: `d_{i}` per D sub-step, `g`, and loss terms.
    """
    features, labels = inputs
    parts, label_parts = self._split(features, labels)
    d_parts = parts[:self.disc_iters]
    if self._experimental_joint_gen_for_disc:
      joint = {k: tf.concat([p[k] for p in d_parts], 0) for k in d_parts[0]}
      generated_parts = tf.split(self._generate(joint), self.disc_iters)
    else:
      generated_parts = [None] * self.disc_iters
    metrics = {}
    for i in range(self.disc_iters):
      generated = generated_parts[i]
      if generated is None:
        generated = self._generate(d_parts[i])
      d_loss, summaries = self._train_discriminator(d_parts[i], label_parts[i],
                                                    generated)
      metrics[f"d_{i}"] = d_loss
      if i == 0:
        metrics.update(summaries)
    metrics["g"] = self._train_generator(parts[-1], label_parts[-1])
    return metrics

  # ------------------------------------------------------------------ sampling
  def fixed_summary_z(self, num):
    """The same `num` latents every time (for comparable sample grids)."""
    return z_generator([num, self.z_dim], name="summary_z",
                       seed=tf.constant([7, 11], tf.int32))

  def generator_variable_mapping(self, use_ema=True):
    """{raw variable name: shadow} when sampling with the EMA generator, else {}."""
    if use_ema and self.ema is not None:
      return dict(self.ema.shadows)
    return {}

  def generate(self, z, labels=None, use_ema=True, is_training=False):
    """Samples G(z, y) in [0, 1] without changing any state.

    With `use_ema` and `g_use_ema`, the EMA weights are used. `is_training=True`
    uses batch statistics in batch norm (what training-time summaries show).
    """
    y = self._one_hot(labels)
    with arch_ops.no_state_updates():
      with self.generator.store.override(self.generator_variable_mapping(use_ema)):
        return self.generator(z, y, is_training=is_training)
