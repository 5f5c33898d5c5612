"""ConSinGAN's networks as plain tf.Module code (NHWC).

Following tohinz/ConSinGAN's models.py (`GrowingGenerator`, `Discriminator`):
every convolution is 3x3, stride 1, unpadded ("valid"), `nfc` channels,
followed by LeakyReLU(0.05); weights ~ N(0, 0.02), biases U(+-1/sqrt(fan_in))
(PyTorch's default, which the official init keeps).

Generator (one body block of `num_layer` convolutions per stage, shared head
and tail; stages pass features, not images):
  f  = body_0(pad_{L-1}(resize(head(pad_1(z_0)), H_0 + 2, W_0 + 2)))
  f  = body_k(resize(f, H_k + 2L, W_k + 2L) + amp_k * z_k) + resize(f, H_k, W_k)
  x  = tanh(tail(pad_1(f)))
with resize = bicubic with aligned corners (PyTorch's `interpolate(...,
align_corners=True)`; TensorFlow's ResizeBicubic with align_corners, the same
a = -0.75 kernel), L = num_layer, z_0 [H_0, W_0, 3] and z_k [H_k + 2L,
W_k + 2L, nfc]. A new stage's block starts as a copy of the previous one. The
retarget, harmonization and editing modes use the official padded forward
instead (`_call_padded`), optionally with batch norm.

Discriminator: head, num_layer blocks, a 1-channel tail; all unpadded, so its
patch map is (H - 2(num_layer + 2)) x (W - 2(num_layer + 2)). One D serves
every stage (the official code copies the previous stage's D into the next).
"""

import numpy as np
import tensorflow as tf

LRELU_SLOPE = 0.05


def _initial_conv(rng, in_channels, out_channels, kernel=3):
  """(kernel [k, k, in, out], bias [out]) as the official init draws them."""
  w = rng.normal(0.0, 0.02, size=(kernel, kernel, in_channels, out_channels))
  bound = 1.0 / np.sqrt(in_channels * kernel * kernel)
  b = rng.uniform(-bound, bound, size=(out_channels,))
  return w.astype(np.float32), b.astype(np.float32)


class Conv(tf.Module):
  """A 3x3 valid convolution, optionally batch norm, optionally LeakyReLU;
  its variables are named "<scope>/kernel", "<scope>/bias" (and
  "<scope>/gamma", "<scope>/beta" with batch norm).

  Batch norm (the official --batch_norm, G only) always normalises with the
  batch's statistics over (N, H, W), epsilon 1e-5: the official generator is
  never switched to evaluation mode. gamma ~ N(1, 0.02), beta = 0.
  """

  def __init__(self, rng, in_channels, out_channels, scope, activation=True,
               batch_norm=False, slope=LRELU_SLOPE):
    super().__init__()
    self.slope = slope
    w, b = _initial_conv(rng, in_channels, out_channels)
    self.kernel = tf.Variable(w, name=f"{scope}/kernel")
    self.bias = tf.Variable(b, name=f"{scope}/bias")
    self.activation = activation
    self.gamma = self.beta = None
    if batch_norm:
      self.gamma = tf.Variable(rng.normal(1.0, 0.02, out_channels).astype(
          np.float32), name=f"{scope}/gamma")
      self.beta = tf.Variable(np.zeros(out_channels, np.float32),
                              name=f"{scope}/beta")

  def __call__(self, x):
    y = tf.nn.conv2d(x, self.kernel, 1, "VALID") + self.bias
    if self.gamma is not None:
      mean, variance = tf.nn.moments(y, axes=[0, 1, 2])
      y = tf.nn.batch_normalization(y, mean, variance, self.beta, self.gamma,
                                    1e-5)
    return tf.nn.leaky_relu(y, self.slope) if self.activation else y

  def copy_from(self, other):
    for mine, theirs in zip(self.variables, other.variables):
      mine.assign(theirs)


class Block(tf.Module):
  """`num_layer` Conv + LeakyReLU layers, `nfc` channels."""

  def __init__(self, rng, nfc, num_layer, scope, batch_norm=False,
               slope=LRELU_SLOPE):
    super().__init__()
    self.convs = [Conv(rng, nfc, nfc, f"{scope}/conv{i}", batch_norm=batch_norm,
                       slope=slope) for i in range(num_layer)]

  def __call__(self, x):
    for conv in self.convs:
      x = conv(x)
    return x

  def copy_from(self, other):
    for mine, theirs in zip(self.convs, other.convs):
      mine.copy_from(theirs)


def resize_aligned(x, size):
  """Bicubic resize with aligned corners (PyTorch's align_corners=True)."""
  return tf.raw_ops.ResizeBicubic(images=x,
                                  size=tf.convert_to_tensor(size, tf.int32),
                                  align_corners=True, half_pixel_centers=False)


def _pad(x, p):
  return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])


class Generator(tf.Module):
  """The growing generator; `add_stage()` appends a copy of the last block."""

  def __init__(self, seed, nfc=64, num_layer=3, channels=3, batch_norm=False,
               generation=True, slope=LRELU_SLOPE):
    super().__init__(name="generator")
    self._rng = np.random.default_rng(seed)
    self.nfc, self.num_layer = nfc, num_layer
    self.batch_norm, self.generation, self.slope = batch_norm, generation, slope
    self.head = Conv(self._rng, channels, nfc, "generator/head",
                     batch_norm=batch_norm, slope=slope)
    self.body = [Block(self._rng, nfc, num_layer, "generator/stage0", batch_norm,
                       slope)]
    self.tail = Conv(self._rng, nfc, channels, "generator/tail", activation=False)

  @property
  def num_stages(self):
    return len(self.body)

  def add_stage(self):
    """Appends block `num_stages`, initialised from the last block's weights."""
    block = Block(self._rng, self.nfc, self.num_layer,
                  f"generator/stage{len(self.body)}", self.batch_norm, self.slope)
    block.copy_from(self.body[-1])
    self.body.append(block)
    return block

  def noise_shape(self, stage, size):
    """Shape of z_stage for an output of `size` (H, W) at that stage."""
    h, w = size
    if stage == 0:
      return (h, w, self.head.kernel.shape[2])
    if not self.generation:
      return (h, w, self.nfc)
    pad = 2 * self.num_layer
    return (h + pad, w + pad, self.nfc)

  def __call__(self, noises, sizes, noise_amp):
    """Images [B, H_K, W_K, 3] in [-1, 1] from z_0..z_K (K = len(noises) - 1)."""
    if not self.generation:
      return self._call_padded(noises, sizes, noise_amp)
    h0, w0 = sizes[0]
    x = self.head(_pad(noises[0], 1))
    x = _pad(resize_aligned(x, (h0 + 2, w0 + 2)), self.num_layer - 1)
    features = self.body[0](x)
    pad = 2 * self.num_layer
    for k in range(1, len(noises)):
      h, w = sizes[k]
      upsampled = resize_aligned(features, (h, w))
      larger = resize_aligned(features, (h + pad, w + pad))
      features = self.body[k](larger + noise_amp[k] * noises[k]) + upsampled
    return tf.tanh(self.tail(_pad(features, 1)))

  def _call_padded(self, noises, sizes, noise_amp):
    """The official forward of the retarget / harmonization / editing modes:
    zero padding by num_layer before each block, noise z_k [H_k, W_k, nfc]:
      f = body_0(pad_L(head(pad_1(z_0))));
      f = body_k(pad_L(u + amp_k * z_k)) + u,  u = resize(f, H_k, W_k)."""
    pad = self.num_layer
    features = self.body[0](_pad(self.head(_pad(noises[0], 1)), pad))
    for k in range(1, len(noises)):
      upsampled = resize_aligned(features, sizes[k])
      features = self.body[k](_pad(upsampled + noise_amp[k] * noises[k], pad)) \
          + upsampled
    return tf.tanh(self.tail(_pad(features, 1)))


class Discriminator(tf.Module):
  """The patch discriminator: head, `num_layer` blocks, 1-channel tail."""

  def __init__(self, seed, nfc=64, num_layer=3, channels=3, slope=LRELU_SLOPE):
    super().__init__(name="discriminator")
    rng = np.random.default_rng(seed)
    self.head = Conv(rng, channels, nfc, "discriminator/head", slope=slope)
    self.body = Block(rng, nfc, num_layer, "discriminator/body", slope=slope)
    self.tail = Conv(rng, nfc, 1, "discriminator/tail", activation=False)

  def __call__(self, x):
    return self.tail(self.body(self.head(x)))
