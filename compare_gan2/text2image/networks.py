"""The text-to-image GAN's networks: StyleGAN-T (Sauer et al., ICML 2023;
autonomousvision/stylegan-t networks/generator.py, discriminator.py) at small
scale, as plain `abstract_arch.Network`s.

Generator (`TextConditionalGenerator`), as StyleGAN-T:
- mapping: x = MLP(normalize_2nd_moment(z)) (`mapping_layers` fully connected
  layers of width z_dim, leaky ReLU 0.2 between them, learning-rate multiplier
  0.01); the style is w = [x, t] with t the L2-normalised text embedding:
  the text enters the style next to z (it replaces the class embedding);
- truncation towards the caption's mean style: x' = x_avg + psi (x - x_avg),
  x_avg the moving average of x during training (decay 0.995); the text part is
  never truncated, so [x_avg, t] is the mean style of caption t;
- synthesis: blocks from 8x8 to the resolution (channels
  min(channel_base / res, channel_max)); each block: a modulated 3x3
  convolution after 2x bilinear upsampling (except the first, which starts
  from a learned 8x8 constant), then `num_res_blocks` x [a modulated 3x3
  convolution, a residual one: GroupNorm(32) -> modulated conv -> leaky ReLU
  -> layer scale gamma (init 1e-5), out = (gamma y + x) sqrt(2)]; every block
  adds its modulated 1x1 ToRGB to the upsampled image ("skip" architecture);
  styles by StyleGAN-T's StyleSplit (s = m1 * m2 + m3 from one affine layer).
Not reproduced: the Fourier-feature input (a learned constant instead), the
per-pixel noise inputs (their strength starts at 0), fp16 and conv clamping.

Discriminator (`ProjectedDiscriminator`): heads on the maps of the frozen image
encoder (StyleGAN-T: a frozen DINO ViT-S, tokens of blocks 2, 5, 8, 11 and the
patch embedding). Each head: a spectrally normalised 1x1 convolution, a
residual spectrally normalised 3x3 block ((f(x) + x) / sqrt(2); StyleGAN-T's
9-tap 1-D convolution over tokens), each with local batch norm (statistics
over groups of `virtual_batch` samples) and leaky ReLU 0.2; a 1x1 convolution
to `cmap_dim`; projection on the text: logit = sum_c out_c cmap_c /
sqrt(cmap_dim), cmap an affine map of the (normalised) text embedding.
Returns the logits of every position, head by head: the losses average each
head, then the heads, so every head weighs the same as DINO's equally sized
hooks do in StyleGAN-T (our maps differ in size). Heads are `channels` wide
(StyleGAN-T keeps the ViT's 384).
"""

import math

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import initializers
from compare_gan2.architectures import variable_store as vs
from compare_gan2.architectures import weight_ops

SQRT2 = math.sqrt(2.0)
SQRT_HALF = math.sqrt(0.5)


def _check_sizes(configurable, minimum=1, **sizes):
  """ConfigError unless every size is an integer >= minimum."""
  for key, value in sizes.items():
    errors.check_number(f"{configurable}.{key}", value, integer=True,
                        minimum=minimum, optional=False)


def normalize_2nd_moment(x, epsilon=1e-8):
  return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), -1, keepdims=True) +
                           epsilon)


def fully_connected(x, units, name, lr_multiplier=1.0, bias_init=0.0,
                    activation=None):
  """StyleGAN's equalised-learning-rate dense layer: parameters ~ N(0, 1) /
  lr_multiplier, used times lr_multiplier / sqrt(fan_in) (weights) and
  lr_multiplier (biases); leaky ReLU 0.2 with gain sqrt(2) if asked."""
  fan_in = int(x.shape[-1])
  with vs.variable_scope(name):
    kernel = vs.get_variable("kernel", [fan_in, units],
                             initializers.normal(1.0 / lr_multiplier))
    bias = vs.get_variable("bias", [units],
                           initializers.constant(bias_init / lr_multiplier))
    y = (tf.matmul(x, kernel) * (lr_multiplier / math.sqrt(fan_in)) +
         bias * lr_multiplier)
    if activation == "lrelu":
      y = tf.nn.leaky_relu(y, 0.2) * SQRT2
    return y


def modulated_conv(x, styles, channels, kernel, demodulate=True, stddev=1.0):
  """StyleGAN2's modulated convolution (not fused): x [N, H, W, C] times the
  styles [N, C], convolved with `kernel` (created here, ~N(0, 1)), demodulated
  by rsqrt(sum_{k, c} (weight[k, c, o] styles[c])^2 + 1e-8)."""
  in_channels = int(x.shape[-1])
  weight = vs.get_variable("weight", [kernel, kernel, in_channels, channels],
                           initializers.normal(stddev))
  y = tf.nn.conv2d(x * styles[:, None, None, :], weight, 1, "SAME")
  if demodulate:
    energy = tf.reduce_sum(tf.square(weight), axis=[0, 1])          # [C, O]
    y *= tf.math.rsqrt(tf.matmul(tf.square(styles), energy) + 1e-8)[:, None,
                                                                    None, :]
  return y


def style_split(w, channels, name):
  """StyleGAN-T's StyleSplit: one affine layer to 3C, s = m1 * m2 + m3."""
  m = fully_connected(w, 3 * channels, name, bias_init=1.0)
  m1, m2, m3 = tf.split(m, 3, axis=-1)
  return m1 * m2 + m3


def group_norm(x, groups, name, epsilon=1e-5):
  """GroupNorm (Wu and He, 2018) with a learned per-channel scale and offset."""
  channels = int(x.shape[-1])
  groups = min(groups, channels)
  with vs.variable_scope(name):
    shape = tf.shape(x)
    g = tf.reshape(x, [shape[0], shape[1], shape[2], groups, channels // groups])
    mean, variance = tf.nn.moments(g, [1, 2, 4], keepdims=True)
    g = (g - mean) * tf.math.rsqrt(variance + epsilon)
    x = tf.reshape(g, shape)
    return (x * vs.get_variable("gamma", [channels], initializers.ones()) +
            vs.get_variable("beta", [channels], initializers.zeros()))


def upsample2x(x):
  """Bilinear 2x upsampling (half-pixel centres): the [1, 3, 3, 1] filter."""
  size = tf.shape(x)[1:3] * 2
  return tf.image.resize(x, size, method="bilinear")


@gin.configurable("t2i_generator", denylist=["resolution", "text_dim", "name"])
class TextConditionalGenerator(abstract_arch.Network):
  """(z [N, z_dim], text [N, T]) -> images [N, R, R, 3] in about [-1, 1]."""

  def __init__(self, resolution, text_dim, z_dim=64, mapping_layers=2,
               channel_base=4096, channel_max=128, num_res_blocks=1,
               lr_multiplier=0.01, average_decay=0.995, name="generator"):
    super().__init__(name=name, batch_norm_fn=None, spectral_norm=False)
    _check_sizes("t2i_generator", z_dim=z_dim, mapping_layers=mapping_layers,
                 channel_base=channel_base, channel_max=channel_max)
    _check_sizes("t2i_generator", 0, num_res_blocks=num_res_blocks)
    errors.check_number("t2i_generator.lr_multiplier", lr_multiplier, above=0,
                        optional=False)
    errors.check_number("t2i_generator.average_decay", average_decay,
                        minimum=0, maximum=1, optional=False)
    log2 = int(round(math.log2(resolution)))
    if 2 ** log2 != resolution or resolution < 8:
      raise ValueError(f"t2i_generator: resolution {resolution} must be a "
                       "power of 2, at least 8.")
    self.resolution, self.text_dim = int(resolution), int(text_dim)
    self.z_dim, self.mapping_layers = int(z_dim), int(mapping_layers)
    self.block_resolutions = [2 ** i for i in range(3, log2 + 1)]
    self.channels = {r: min(int(channel_base) // r, int(channel_max))
                     for r in self.block_resolutions}
    self.num_res_blocks = int(num_res_blocks)
    self.lr_multiplier = float(lr_multiplier)
    self.average_decay = float(average_decay)
    self.w_dim = self.z_dim + self.text_dim

  def _x_avg(self):
    return vs.get_variable("mapping/x_avg", [self.z_dim], initializers.zeros(),
                           trainable=False,
                           aggregation=tf.VariableAggregation.MEAN)

  def mapping(self, z, text, truncation=1.0, update_average=False):
    """w = [truncated MLP(z), normalised text] [N, z_dim + T]."""
    with self.in_store():
      with vs.variable_scope("mapping"):
        x = normalize_2nd_moment(tf.convert_to_tensor(z, tf.float32))
        for i in range(self.mapping_layers):
          last = i == self.mapping_layers - 1
          x = fully_connected(x, self.z_dim, f"fc{i}", self.lr_multiplier,
                              activation=None if last else "lrelu")
      x_avg = self._x_avg()
      if update_average and vs.state_updates_enabled():
        x_avg.assign(self.average_decay * x_avg +
                     (1.0 - self.average_decay) * tf.reduce_mean(x, 0))
      x = x_avg + truncation * (x - x_avg)
      return tf.concat([x, tf.math.l2_normalize(text, -1)], axis=-1)

  def _layer(self, x, w, channels, name, residual=False, gain=1.0):
    """A SynthesisLayer; leaky ReLU gain sqrt(2) x `gain` (StyleGAN-T calls
    the block's layers after conv0 with gain sqrt(0.5): 1 in all)."""
    with vs.variable_scope(name):
      if residual:
        x = group_norm(x, 32, "norm")
      styles = style_split(w, int(x.shape[-1]), "affine")
      y = modulated_conv(x, styles, channels, 3)
      y += vs.get_variable("bias", [channels], initializers.zeros())
      y = tf.nn.leaky_relu(y, 0.2) * (SQRT2 * gain)
      if residual:
        gamma = vs.get_variable("gamma", [channels], initializers.constant(1e-5))
        y = (gamma * y + x) * SQRT2
      return y

  def _to_rgb(self, x, w):
    with vs.variable_scope("torgb"):
      channels = int(x.shape[-1])
      styles = style_split(w, channels, "affine") / math.sqrt(channels)
      y = modulated_conv(x, styles, 3, 1, demodulate=False, stddev=0.1)
      return y + vs.get_variable("bias", [3], initializers.zeros())

  def synthesis(self, w):
    with self.in_store():
      with vs.variable_scope("synthesis"):
        x = image = None
        for res in self.block_resolutions:
          channels = self.channels[res]
          with vs.variable_scope(f"b{res}"):
            if x is None:
              const = vs.get_variable("const", [8, 8, channels],
                                      initializers.normal(1.0))
              x = tf.tile(const[None], [tf.shape(w)[0], 1, 1, 1])
            else:
              x = self._layer(upsample2x(x), w, channels, "conv0")
            for i in range(self.num_res_blocks):
              x = self._layer(x, w, channels, f"conv{2 * i + 1}", gain=SQRT_HALF)
              x = self._layer(x, w, channels, f"conv{2 * i + 2}", residual=True,
                              gain=SQRT_HALF)
            rgb = self._to_rgb(x, w)
            image = rgb if image is None else upsample2x(image) + rgb
        return image

  def __call__(self, z, text, truncation=1.0, update_average=False):
    return self.synthesis(self.mapping(z, text, truncation, update_average))


def local_batch_norm(x, virtual_batch, name, epsilon=1e-5):
  """StyleGAN-T's BatchNormLocal: per-channel statistics over groups of
  `virtual_batch` samples and all positions, learned scale and offset; the
  same in training and inference (no running statistics)."""
  channels = int(x.shape[-1])
  n = x.shape[0]
  if n is not None and n % -(-n // virtual_batch):
    raise errors.ConfigError(
        f"A batch of {n} (per replica) does not split into {-(-n // virtual_batch)}"
        f" equal groups of at most t2i_discriminator.virtual_batch = "
        f"{virtual_batch} (StyleGAN-T's BatchNormLocal); choose "
        "text_to_image_gan.batch_size so that each replica's batch does (e.g. "
        "a multiple of the virtual batch).")
  with vs.variable_scope(name):
    shape = tf.shape(x)
    groups = (shape[0] + virtual_batch - 1) // virtual_batch   # ceil(N / vb)
    g = tf.reshape(x, [groups, -1, shape[1], shape[2], channels])
    mean, variance = tf.nn.moments(g, [1, 2, 3], keepdims=True)
    x = tf.reshape((g - mean) * tf.math.rsqrt(variance + epsilon), shape)
    return (x * vs.get_variable("gamma", [channels], initializers.ones()) +
            vs.get_variable("beta", [channels], initializers.zeros()))


@gin.configurable("t2i_discriminator", denylist=["text_dim", "name"])
class ProjectedDiscriminator(abstract_arch.Network):
  """(feature maps of a frozen encoder, text [N, T]) -> [per head: logits
  [N, P_head]]."""

  def __init__(self, text_dim, channels=64, cmap_dim=64, virtual_batch=8,
               name="discriminator"):
    super().__init__(name=name, batch_norm_fn=None, spectral_norm=True)
    _check_sizes("t2i_discriminator", channels=channels, cmap_dim=cmap_dim,
                 virtual_batch=virtual_batch)
    self.text_dim, self.channels = int(text_dim), int(channels)
    self.cmap_dim, self.virtual_batch = int(cmap_dim), int(virtual_batch)

  def _block(self, x, channels, kernel, name):
    with vs.variable_scope(name):
      fan_in = int(x.shape[-1]) * kernel * kernel
      weight = vs.get_variable("kernel", [kernel, kernel, int(x.shape[-1]),
                                          channels],
                               initializers.normal(fan_in ** -0.5))
      weight = weight_ops.spectral_norm(weight, name=vs.full_name("kernel"))
      y = tf.nn.conv2d(x, weight, 1, "SAME")
      y += vs.get_variable("bias", [channels], initializers.zeros())
      return y

  def _head(self, maps, text):
    h = self._block(maps, self.channels, 1, "in")
    h = tf.nn.leaky_relu(local_batch_norm(h, self.virtual_batch, "in_bn"), 0.2)
    r = self._block(h, self.channels, 3, "res")
    r = tf.nn.leaky_relu(local_batch_norm(r, self.virtual_batch, "res_bn"), 0.2)
    h = (r + h) / SQRT2
    out = self._block(h, self.cmap_dim, 1, "out")
    cmap = fully_connected(text, self.cmap_dim, "cmapper")
    logit = tf.reduce_sum(out * cmap[:, None, None, :], -1) / math.sqrt(
        self.cmap_dim)
    return tf.reshape(logit, [tf.shape(maps)[0], -1])

  def __call__(self, features, text):
    with self.in_store():
      logits = []
      for i, maps in enumerate(features):
        with vs.variable_scope(f"head{i}"):
          logits.append(self._head(maps, text))
      return logits
