"""Weight regularizers added to the G / D losses, selected by gin.

compare_gan has none; BigGAN (Brock et al., 2019, §3.1) trains G with an
orthogonal regularization that omits the diagonal:

    R(W) = beta * || W^T W * (1 - I) ||_F^2 ,  summed over G's kernels,

with W reshaped to [-1, C_out] and beta = 1e-4
(`weight_ops.orthogonal_regularization`).
Enable it with

    G_regularizer.fn = @orthogonal_regularization
    orthogonal_regularization.beta = 1e-4     # the default
    D_regularizer.fn = @orthogonal_regularization   # only if wanted for D too

`generator_regularization(G)` / `discriminator_regularization(D)` return a scalar
(0.0 when no `fn` is configured) that ModularGAN adds to g_loss / d_loss inside
the gradient tapes. `fn` receives whichever of `variables` (the network's
trainable variables) and `network` it accepts, so any function of the weights
can be plugged in.
"""

import gin
import tensorflow as tf

from compare_gan2 import utils
from compare_gan2.architectures import weight_ops

# Re-exported so `@orthogonal_regularization` is registered with this module.
orthogonal_regularization = weight_ops.orthogonal_regularization


def get_regularization(network, fn=None):
  """`fn(variables=network.trainable_variables, network=network)` or 0.0."""
  if fn is None:
    return tf.constant(0.0, tf.float32)
  value = utils.call_with_accepted_args(
      fn, variables=list(network.trainable_variables), network=network)
  value = tf.convert_to_tensor(value, tf.float32)
  if value.shape.rank not in (None, 0):
    raise ValueError("A regularizer must return a scalar, {} returned shape "
                     "{}.".format(getattr(fn, "__name__", fn), value.shape))
  return value


@gin.configurable("G_regularizer", allowlist=["fn"])
def generator_regularization(network, fn=None):
  """Regularization term of G's loss (gin `G_regularizer.fn`; None: 0)."""
  return get_regularization(network, fn)


@gin.configurable("D_regularizer", allowlist=["fn"])
def discriminator_regularization(network, fn=None):
  """Regularization term of D's loss (gin `D_regularizer.fn`; None: 0)."""
  return get_regularization(network, fn)
