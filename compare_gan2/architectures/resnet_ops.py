"""ResNet building blocks (compare_gan's `resnet_ops.py`): resampling, the
pre-activation block, and the generator / discriminator base classes with the
parts their architectures share (input checks, generator output layers,
pooled discriminator logit)."""

import math

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store as vs


def unpool(value):
  """Zero-insertion 2x unpooling (Dosovitskiy et al., 2015).

  Each input value goes to the top-left of a 2x2 block; the other three
  entries are 0. This is compare_gan's upsampling in every ResNet generator
  (docs/compare_gan_quirks.md `unpool`); it is *not* nearest-neighbour upsampling.
  """
  b_shape = value.shape.as_list()
  h, w, c = b_shape[1], b_shape[2], b_shape[3]
  out = value[:, :, None, :, None, :]
  out = tf.pad(out, [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
  return tf.reshape(out, [-1, 2 * h, 2 * w, c])


def nearest_upsample(value):
  """2x nearest-neighbour upsampling (every value fills its 2x2 block)."""
  h, w, c = value.shape.as_list()[1:]
  out = tf.broadcast_to(value[:, :, None, :, None, :],
                        tf.concat([tf.shape(value)[:1], [h, 2, w, 2, c]], 0))
  return tf.reshape(out, [-1, 2 * h, 2 * w, c])


# Kernels of the fused resampling convolutions, per spatial axis of a 3-tap kernel
# w = (w0, w1, w2):
# - 2x upsampling then a 3x3 SAME convolution is a stride-2 transposed convolution
#   (padding 1) at the low resolution with 4 taps. Zero insertion leaves the flipped
#   taps (w2, w1, w0, 0): 1/4 of the direct multiply-adds, the rest fall on zeros.
#   Nearest neighbour gives (w2, w1 + w2, w0 + w1, w0): each output phase is a 2x2
#   convolution of the input.
# - A 3x3 SAME convolution then 2x2 average pooling is one convolution with stride
#   2 (padding 1) and 4 taps (w0, w0 + w1, w1 + w2, w2) / 2.
# Padding 1 on both sides is what "SAME" pads for 4 taps and stride 2 on even sizes
# (a transposed convolution's output is always even), so both are written with "SAME":
# TensorFlow runs SAME/VALID convolutions and their gradients with oneDNN, explicit
# paddings with Eigen kernels 2-3x slower (far more than the unpool kernel's zero tap
# costs).


def _pairwise_sums(kernel, axis):
  """(w0, w0 + w1, w1 + w2, w2) along `axis` of a 3-tap kernel."""
  pad_before = [[0, 0]] * kernel.shape.rank
  pad_after = [[0, 0]] * kernel.shape.rank
  pad_before[axis], pad_after[axis] = [1, 0], [0, 1]
  return tf.pad(kernel, pad_after) + tf.pad(kernel, pad_before)


def _upsample_conv_filters(kernel, method):
  """The transposed-convolution filters [kh, kw, out, in] of upsample + conv."""
  if method == "nearest":
    kernel = _pairwise_sums(_pairwise_sums(kernel, 0), 1)
  else:  # A zero 4th tap: padding 1 on both sides is then "SAME" (see above).
    kernel = tf.pad(kernel, [[1, 0], [1, 0], [0, 0], [0, 0]])
  return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])


def _conv_downsample_filters(kernel):
  """The stride-2 4x4 filters of conv + 2x2 average pooling."""
  return _pairwise_sums(_pairwise_sums(kernel, 0), 1) * 0.25


def _upsample_conv(value, kernel, method):
  """conv3x3_SAME(upsample(value), kernel), as one stride-2 transposed convolution."""
  if tuple(kernel.shape[:2]) != (3, 3):
    raise ValueError(f"A fused upsampling convolution needs a 3x3 kernel, got "
                     f"{kernel.shape}.")
  filters = _upsample_conv_filters(kernel, method)
  shape = tf.shape(value)
  output_shape = tf.stack([shape[0], 2 * value.shape[1], 2 * value.shape[2],
                           kernel.shape[-1]])
  outputs = tf.nn.conv2d_transpose(value, filters, output_shape, strides=2,
                                   padding="SAME")
  outputs.set_shape([value.shape[0], 2 * value.shape[1], 2 * value.shape[2],
                     kernel.shape[-1]])
  return outputs


@gin.configurable("upsample", denylist=["value", "kernel"])
def upsample(value, kernel=None, method="unpool"):
  """2x upsampling used by the ResNet generators, optionally followed by a 3x3
  SAME convolution with `kernel` (then computed as one transposed convolution,
  equal to the two steps up to float rounding).

  Args:
    value: [bs, h, w, c] tensor.
    kernel: None, or a [3, 3, c, c_out] kernel to convolve the result with.
    method: "unpool" (compare_gan's zero insertion, default and faithful) or
      "nearest" (nearest neighbour, as in SN-GAN / BigGAN papers). Bind with
      `upsample.method = "nearest"`.
  """
  if method not in ("unpool", "nearest"):
    raise ValueError("upsample.method must be 'unpool' or 'nearest', got "
                     "{!r}.".format(method))
  if kernel is not None:
    return _upsample_conv(value, kernel, method)
  if method == "unpool":
    return unpool(value)
  return nearest_upsample(value)


def downsample(value):
  """2x2 average pooling, stride 2, SAME padding."""
  return tf.nn.avg_pool2d(value, ksize=2, strides=2, padding="SAME")


def conv_downsample(value, kernel):
  """downsample(conv3x3_SAME(value, kernel)) as one 4x4 convolution with stride 2
  (equal up to float rounding; even sizes only)."""
  if value.shape[1] % 2 or value.shape[2] % 2:
    raise ValueError(f"conv_downsample needs even height and width, got "
                     f"{value.shape}.")
  filters = _conv_downsample_filters(kernel)
  return tf.nn.conv2d(value, filters, strides=2, padding="SAME")


@gin.configurable("resampling")
def fused_resampling(fused=True):
  """Whether ResNet blocks compute "up"/"down" convolutions fused (default):
  upsampling + 3x3 conv as a transposed conv, 3x3 conv + pooling as a strided conv,
  a 1x1 conv before upsampling / after pooling. Same variables and results (to
  float rounding) as compare_gan's two steps; `resampling.fused = False` runs them."""
  return bool(fused)


def resampled_conv(inputs, out_channels, kernel_size, scale, use_sn, name):
  """layers.conv2d (stride 1, SAME, bias) named `name`, after 2x upsampling
  (scale "up") or followed by 2x2 average pooling ("down"); fused when
  `resampling.fused` (see `fused_resampling`)."""
  k_h, k_w = kernel_size
  odd = inputs.shape[1] % 2 or inputs.shape[2] % 2  # SAME pooling pads odd sizes.
  if (scale == "none" or not fused_resampling() or (k_h, k_w) not in ((1, 1), (3, 3))
      or (scale == "down" and odd)):
    outputs = upsample(inputs) if scale == "up" else inputs
    outputs = layers.conv2d(outputs, output_dim=out_channels, k_h=k_h,
                            k_w=k_w, d_h=1, d_w=1, use_sn=use_sn, name=name)
    return downsample(outputs) if scale == "down" else outputs
  inputs = precision.compute_cast(tf.convert_to_tensor(inputs))
  with vs.variable_scope(name):
    kernel, bias = layers.conv_kernel_and_bias(
        int(inputs.shape[-1]), out_channels, k_h, k_w, use_sn=use_sn)
    if (k_h, k_w) == (1, 1):  # A 1x1 convolution commutes with resampling.
      if scale == "up":
        outputs = upsample(tf.nn.conv2d(inputs, kernel, 1, "SAME"))
      else:
        outputs = tf.nn.conv2d(downsample(inputs), kernel, 1, "SAME")
    elif scale == "up":
      outputs = upsample(inputs, kernel=kernel)
    else:
      outputs = conv_downsample(inputs, kernel)
    return outputs + bias


def validate_image_inputs(inputs, validate_power2=True):
  """Checks that inputs are rank-4, square and (optionally) a power of 2 wide."""
  shape = inputs.shape
  if shape.rank != 4:
    raise ValueError("Expected images of rank 4, got shape {}.".format(shape))
  if shape[1] is None or shape[2] is None:
    raise ValueError("Image height and width must be known, got {}.".format(
        shape))
  if shape[1] != shape[2]:
    raise ValueError("Input tensor does not have equal width and height: "
                     "{}.".format(shape[1:3]))
  width = int(shape[1])
  if validate_power2 and 2 ** int(round(math.log(width, 2))) != width:
    raise ValueError("Input tensor width is not a power of 2: {}.".format(width))


def check_resolution(architecture, resolution, supported):
  """Raises ConfigError if `resolution` is not one of `supported`."""
  if resolution not in supported:
    raise errors.ConfigError(
        "Architecture {} does not support resolution {}x{}; supported "
        "resolutions: {}.".format(
            architecture, resolution, resolution,
            ", ".join("{0}x{0}".format(s) for s in sorted(supported))))


def check_image_shape(architecture, image_shape, supported):
  """A generator's `image_shape` (if set) is square with a supported height."""
  if image_shape is None:
    return
  check_resolution(architecture, image_shape[0], supported)
  if image_shape[1] != image_shape[0]:
    raise ValueError("{} needs square images, got {}.".format(
        architecture, tuple(image_shape)))


class ResNetBlock:
  """Pre-activation ResNet block (SN-GAN, Miyato et al., 2018, Tables 4-6).

  shortcut = conv3x3(x) (with up/down); main = bn1 -> [ln1] -> relu -> conv1
  -> bn2 -> [ln2] -> relu -> conv2; out = main + shortcut. A generator block
  upsamples before conv1, a discriminator block avg-pools after conv2.
  Conv names: `{up|down|same}_{conv_shortcut|conv1|conv2}`, all with bias.
  """

  def __init__(self, name, in_channels, out_channels, scale, is_gen_block,
               layer_norm=False, spectral_norm=False, batch_norm=None):
    if scale not in ("up", "down", "none"):
      raise ValueError("Scale: got {!r}, expected 'up', 'down' or 'none'."
                       .format(scale))
    self._name = name
    self._in_channels = in_channels
    self._out_channels = out_channels
    self._scale = scale
    # G blocks rescale in the first conv, D blocks after the second.
    self._scale1 = scale if is_gen_block else "none"
    self._scale2 = "none" if is_gen_block else scale
    self._layer_norm = layer_norm
    self._spectral_norm = spectral_norm
    self.batch_norm = batch_norm or (lambda inputs, **kwargs: inputs)

  def __call__(self, inputs, z, y, is_training):
    return self.apply(inputs=inputs, z=z, y=y, is_training=is_training)

  def _get_conv(self, inputs, in_channels, out_channels, scale, suffix,
                kernel_size=(3, 3), strides=(1, 1)):
    """Convolution named `{scale}_{suffix}` with optional up/down sampling."""
    if inputs.shape[-1] != in_channels:
      raise ValueError("Unexpected number of input channels: {} != {}.".format(
          inputs.shape[-1], in_channels))
    if scale not in ("up", "down", "none"):
      raise ValueError("Scale: got {!r}, expected 'up', 'down' or 'none'."
                       .format(scale))
    if tuple(strides) != (1, 1):
      raise ValueError(f"ResNet block convolutions have stride 1, got {strides}.")
    return resampled_conv(
        inputs, out_channels, kernel_size, scale, use_sn=self._spectral_norm,
        name="{}_{}".format("same" if scale == "none" else scale, suffix))

  def _check_inputs(self, inputs):
    if inputs.shape[-1] != self._in_channels:
      raise ValueError(
          "Block {}: expected {} input channels, got {}.".format(
              self._name, self._in_channels, inputs.shape[-1]))

  def _main_path(self, inputs, z, y, is_training):
    """Pre-activation residual path: bn1 [ln1] relu conv1 bn2 [ln2] relu conv2."""
    outputs = self.batch_norm(inputs, z=z, y=y, is_training=is_training,
                              name="bn1")
    if self._layer_norm:
      outputs = normalization.layer_norm(outputs, is_training=is_training,
                                         scope="ln1")
    outputs = tf.nn.relu(outputs)
    outputs = self._get_conv(outputs, self._in_channels, self._out_channels,
                             self._scale1, suffix="conv1")
    outputs = self.batch_norm(outputs, z=z, y=y, is_training=is_training,
                              name="bn2")
    if self._layer_norm:
      outputs = normalization.layer_norm(outputs, is_training=is_training,
                                         scope="ln2")
    outputs = tf.nn.relu(outputs)
    return self._get_conv(outputs, self._out_channels, self._out_channels,
                          self._scale2, suffix="conv2")

  def apply(self, inputs, z, y, is_training):
    self._check_inputs(inputs)
    with vs.variable_scope(self._name):
      shortcut = self._get_conv(inputs, self._in_channels, self._out_channels,
                                self._scale, suffix="conv_shortcut")
      return self._main_path(inputs, z, y, is_training) + shortcut


def generator_block_channels(ch, multipliers):
  """(in_channels, out_channels) per block of a generator whose block i maps
  ch * multipliers[i] -> ch * multipliers[i + 1] channels (BigGAN, BigGAN-deep)."""
  in_channels = [ch * m for m in multipliers[:-1]]
  out_channels = [ch * m for m in multipliers[1:]]
  return in_channels, out_channels


class ResNetGenerator(abstract_arch.AbstractGenerator):
  """Base class of ResNet generators (blocks scale "up" or "none")."""

  def _output_images(self, net, z, y, is_training, final_norm=True,
                     norm_name="final_norm", use_sn=False):
    """The images from the last block's output: [final norm (G.batch_norm_fn)
    -> ReLU ->] conv3x3 "final_conv" to the colours -> sigmoid, as compare_gan's
    resnet5, resnet_cifar, resnet_stl and (without the norm) resnet30.

    Args:
      net: [bs, H, W, C] output of the last block.
      z, y, is_training: the norm's inputs.
      final_norm: apply the norm and ReLU.
      norm_name: the norm's scope; None keeps the norm function's default
        scope (resnet_stl, see its module docstring).
      use_sn: spectral norm on the final convolution.
    """
    if final_norm:
      scope = {} if norm_name is None else {"name": norm_name}
      net = self.batch_norm(net, z=z, y=y, is_training=is_training, **scope)
      net = tf.nn.relu(net)
    net = layers.conv2d(net, output_dim=self._image_shape[2], k_h=3, k_w=3,
                        d_h=1, d_w=1, name="final_conv", use_sn=use_sn)
    return tf.nn.sigmoid(net)

  def _resnet_block(self, name, in_channels, out_channels, scale):
    if scale not in ("up", "none"):
      raise ValueError("Unknown generator ResNet block scaling: {}.".format(
          scale))
    return ResNetBlock(name=name, in_channels=in_channels,
                       out_channels=out_channels, scale=scale,
                       is_gen_block=True, spectral_norm=self._spectral_norm,
                       batch_norm=self.batch_norm)


class ResNetDiscriminator(abstract_arch.AbstractDiscriminator):
  """Base class of ResNet discriminators (blocks scale "down" or "none")."""

  def _check_images(self, x, architecture, supported, validate_power2=True):
    """Checks D's input images (rank 4, square, a supported resolution, 1 or 3
    colours) and returns their number of colours."""
    if x.shape.rank == 4:
      check_resolution(architecture, x.shape[1], supported)
    validate_image_inputs(x, validate_power2=validate_power2)
    colors = int(x.shape[-1])
    if colors not in (1, 3):
      raise ValueError("Number of color channels not supported: {}".format(
          colors))
    return colors

  def _pooled_logit(self, net):
    """ReLU -> mean over H, W (the features h) -> linear "disc_final_fc"
    (spectral norm if D.spectral_norm). Returns (logit [bs, 1], h)."""
    h = tf.reduce_mean(tf.nn.relu(net), axis=[1, 2])
    out_logit = layers.linear(h, 1, scope="disc_final_fc",
                              use_sn=self._spectral_norm)
    return out_logit, h

  def _resnet_block(self, name, in_channels, out_channels, scale):
    if scale not in ("down", "none"):
      raise ValueError("Unknown discriminator ResNet block scaling: {}."
                       .format(scale))
    return ResNetBlock(name=name, in_channels=in_channels,
                       out_channels=out_channels, scale=scale,
                       is_gen_block=False, layer_norm=self._layer_norm,
                       spectral_norm=self._spectral_norm,
                       batch_norm=self.batch_norm)
