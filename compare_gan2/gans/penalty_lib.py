"""Discriminator penalties (compare_gan's `gans/penalty_lib.py`) and the gin
"penalty" dispatcher. The GAN adds `lambda * penalty` to the D loss.

`get_penalty_loss(**kwargs)` calls the selected penalty with the keyword
arguments it accepts out of:

  discriminator: callable `(x, y, is_training) -> (prob, logit, features)`
    that also exposes `.trainable_variables`.
  x: real images [bs, H, W, C] in [0, 1].
  x_fake: generated images, same shape.
  y: one-hot (or soft) labels [bs, num_classes], or None.
  is_training: Python bool.
  seed: [2] integer tensor for the stateless randomness. Each penalty folds in
    its own constant, so two penalties never share a random stream. The same
    seed gives the same penalty; different seeds give different noise.

Formulas (exactly compare_gan's):
  slopes(x~) = sqrt(1e-4 + sum_{h,w,c} (d logit / d x~)^2)   per example
  wgangp_penalty = mean((slopes(x + alpha (x_fake - x)) - 1)^2),
                   alpha ~ U[0, 1) of shape [bs, 1, 1, 1]; D sees the real y.
  dragan_penalty = mean((slopes(clip(x + std(x) (U[0,1) - 0.5), 0, 1)) - 1)^2),
                   std over all elements of x, U of x's shape.
  l2_penalty     = mean over D's "/kernel" variables of tf.nn.l2_loss(W).

tfgan.losses.wasserstein_gradient_penalty is not used: it draws alpha with a
stateful op, takes gradients with tf.gradients (graph mode only), puts the
epsilon 1e-10 (not 1e-4) inside the square root and divides by the target
squared -- not compare_gan's formula.

Gradients are taken with tf.GradientTape, which works eagerly, in tf.function,
in a replica context and in a tf.compat.v1 graph. The input gradient is taken
inside the caller's tape(s), so gradients of the penalty w.r.t. D's variables
(second order) are available to the trainer.
"""

import zlib

import gin
import tensorflow as tf

from compare_gan2 import random_ops
from compare_gan2 import utils


def _derive_seed(seed, name):
  """The penalty's own [2] int32 seed: `seed` with crc32(name) folded in."""
  if seed is None:
    raise ValueError(
        "%s draws random numbers statelessly and needs `seed` (a [2] integer "
        "tensor); the trainer passes it to penalty.fn." % name.split("/")[0])
  seed = tf.convert_to_tensor(seed)
  if seed.shape.rank is not None and seed.shape.as_list() != [2]:
    raise ValueError("`seed` must have shape [2], got %s." % seed.shape)
  constant = zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF
  return random_ops.derive_seed(seed, constant)


def _slope_penalty(discriminator, x_hat, y, is_training):
  """mean((sqrt(1e-4 + ||d logit / d x_hat||^2) - 1)^2) over the batch."""
  with tf.GradientTape() as tape:
    tape.watch(x_hat)
    logits = discriminator(x_hat, y=y, is_training=is_training)[1]
  # As compare_gan's tf.gradients(logits, [x_hat]): the gradient of
  # sum(logits) (with batch-coupled layers, e.g. BN in D, that includes the
  # cross-example terms, exactly as in compare_gan).
  gradients = tape.gradient(logits, x_hat)
  axes = list(range(1, x_hat.shape.rank))
  slopes = tf.sqrt(0.0001 + tf.reduce_sum(tf.square(gradients), axis=axes))
  return tf.reduce_mean(tf.square(slopes - 1.0))


@gin.configurable(allowlist=[])
def no_penalty():
  """No penalty: 0."""
  return tf.constant(0.0)


@gin.configurable(allowlist=[])
def dragan_penalty(discriminator, x, y=None, is_training=True, seed=None):
  """DRAGAN penalty (Kodali et al., 2017) around noisy real points."""
  with tf.name_scope("dragan_penalty"):
    x = tf.convert_to_tensor(x)
    noise_seed = _derive_seed(seed, "dragan_penalty/noise")
    _, var = tf.nn.moments(x, axes=list(range(x.shape.rank)))
    std = tf.sqrt(var)
    noise = tf.random.stateless_uniform(tf.shape(x), seed=noise_seed,
                                        dtype=x.dtype)
    x_noisy = tf.clip_by_value(x + std * (noise - 0.5), 0.0, 1.0)
    return _slope_penalty(discriminator, x_noisy, y, is_training)


@gin.configurable(allowlist=[])
def wgangp_penalty(discriminator, x, x_fake, y=None, is_training=True,
                   seed=None):
  """WGAN-GP penalty (Gulrajani et al., 2017) on real/fake interpolates."""
  with tf.name_scope("wgangp_penalty"):
    x = tf.convert_to_tensor(x)
    x_fake = tf.convert_to_tensor(x_fake, dtype=x.dtype)
    alpha_seed = _derive_seed(seed, "wgangp_penalty/alpha")
    alpha_shape = tf.concat(
        [tf.shape(x)[:1], tf.ones([x.shape.rank - 1], tf.int32)], axis=0)
    alpha = tf.random.stateless_uniform(alpha_shape, seed=alpha_seed,
                                        dtype=x.dtype, name="alpha")
    interpolates = x + alpha * (x_fake - x)
    return _slope_penalty(discriminator, interpolates, y, is_training)


def _is_kernel(variable):
  name = variable.name
  if name.endswith(":0"):
    name = name[:-2]
  return name.endswith("/kernel")


@gin.configurable(allowlist=[])
def l2_penalty(discriminator):
  """Mean over D's kernels (names ending in "/kernel") of tf.nn.l2_loss(W).

  compare_gan also checks the number of kernels against a per-architecture
  table; here the kernels come from `discriminator.trainable_variables`.
  """
  if not hasattr(discriminator, "trainable_variables"):
    raise TypeError(
        "l2_penalty needs the discriminator object (with .trainable_variables) "
        "as `discriminator`; got %r." % (discriminator,))
  with tf.name_scope("l2_penalty"):
    kernels = [v for v in discriminator.trainable_variables if _is_kernel(v)]
    if not kernels:
      raise ValueError(
          "l2_penalty: the discriminator has no trainable variable whose name "
          "ends in '/kernel' (variables: %s)."
          % [v.name for v in discriminator.trainable_variables])
    return tf.reduce_mean(tf.stack([tf.nn.l2_loss(w) for w in kernels]),
                          name="l2_penalty")


@gin.configurable("penalty", allowlist=["fn"])
def get_penalty_loss(fn=no_penalty, **kwargs):
  """Returns `fn(**accepted kwargs)`; select with `penalty.fn = @wgangp_penalty`."""
  return utils.call_with_accepted_args(fn, **kwargs)
