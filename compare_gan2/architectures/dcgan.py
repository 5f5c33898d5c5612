"""DCGAN generator and discriminator (`dcgan_arch`).

Radford et al., 2016, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks" [arXiv:1511.06434], as in
compare_gan's `dcgan.py`.

G (gf_dim = 64): linear z -> 8*64 * ceil(H/16) * ceil(W/16) ("g_fc1") ->
reshape -> G.batch_norm_fn ("g_bn1") -> ReLU -> three 5x5/2 deconvs to 256, 128,
64 channels ("g_dc1".."g_dc3"), each followed by norm ("g_bn2".."g_bn4") and
ReLU -> 5x5/2 deconv to the colors ("g_dc4") -> 0.5 * tanh + 0.5.
D (df_dim = 64): 5x5/2 convs "d_conv1".."d_conv4" with 64, 128, 256, 512
channels, lrelu(0.2); D.batch_norm_fn ("d_bn1".."d_bn3") after convs 2-4 ->
linear(flatten, 1, "d_fc4"). Features: the last (rank-4) feature map.

Spatial sizes use ceil(size / 2), so any size works (e.g. 28x28 for MNIST;
compare_gan's architectures_test resolutions are 28x28x1, 32x32x1/3, 64x64x3 and
128x128x3). Images must be at least 16x16 (`MIN_SIZE`).

Normalization knobs (faithful to compare_gan):
- G.batch_norm_fn and D.batch_norm_fn are used (conditional norms receive y).
- G.spectral_norm is ignored (the generator never uses spectral norm);
  D.spectral_norm applies to every D conv and the final linear layer.
- D.layer_norm is ignored (compare_gan uses layer norm only in ResNet blocks).
- y is ignored except through a conditional batch_norm_fn.
"""

import math

import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers

_ARCH = "dcgan_arch"
MIN_SIZE = 16


def conv_out_size_same(size, stride):
  """Output size of a SAME convolution with `stride`: ceil(size / stride)."""
  return int(math.ceil(float(size) / float(stride)))


def check_image_size(architecture, height, width, min_size=MIN_SIZE,
                     multiple_of=1):
  """Raises ValueError if (height, width) is too small or not a multiple."""
  for size in (height, width):
    if size is None or size < min_size or size % multiple_of:
      raise ValueError(
          "Architecture {} does not support resolution {}x{}; supported "
          "resolutions: any height and width >= {}{} (e.g. 28x28, 32x32, "
          "64x64, 128x128).".format(
              architecture, height, width, min_size,
              " that are multiples of {}".format(multiple_of)
              if multiple_of > 1 else ""))


def deconv(inputs, output_hwc, k_h, k_w, d_h, d_w, name):
  """`layers.deconv2d` to [batch, *output_hwc] keeping a static shape."""
  output_hwc = [int(d) for d in output_hwc]
  outputs = layers.deconv2d(inputs, [tf.shape(inputs)[0]] + output_hwc, k_h,
                            k_w, d_h, d_w, name=name)
  return tf.ensure_shape(outputs, [None] + output_hwc)


def flatten(net):
  """[bs, ...] -> [bs, prod(...)] keeping the static feature size."""
  return tf.reshape(net, [-1, int(math.prod(net.shape.as_list()[1:]))])


class Generator(abstract_arch.AbstractGenerator):
  """DCGAN generator: linear seed + 4 strided 5x5 deconvolutions, tanh output."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    if self._image_shape is not None:
      check_image_size(_ARCH, *self._image_shape[:2])

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    gf_dim = 64
    s_h, s_w, colors = self._image_shape
    s_h2, s_w2 = conv_out_size_same(s_h, 2), conv_out_size_same(s_w, 2)
    s_h4, s_w4 = conv_out_size_same(s_h2, 2), conv_out_size_same(s_w2, 2)
    s_h8, s_w8 = conv_out_size_same(s_h4, 2), conv_out_size_same(s_w4, 2)
    s_h16, s_w16 = conv_out_size_same(s_h8, 2), conv_out_size_same(s_w8, 2)
    net = layers.linear(z, gf_dim * 8 * s_h16 * s_w16, scope="g_fc1")
    net = tf.reshape(net, [-1, s_h16, s_w16, gf_dim * 8])
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn1")
    net = tf.nn.relu(net)
    net = deconv(net, (s_h8, s_w8, gf_dim * 4), 5, 5, 2, 2,
                       name="g_dc1")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn2")
    net = tf.nn.relu(net)
    net = deconv(net, (s_h4, s_w4, gf_dim * 2), 5, 5, 2, 2,
                       name="g_dc2")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn3")
    net = tf.nn.relu(net)
    net = deconv(net, (s_h2, s_w2, gf_dim), 5, 5, 2, 2,
                       name="g_dc3")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn4")
    net = tf.nn.relu(net)
    net = deconv(net, (s_h, s_w, colors), 5, 5, 2, 2,
                       name="g_dc4")
    return 0.5 * tf.nn.tanh(net) + 0.5


class Discriminator(abstract_arch.AbstractDiscriminator):
  """DCGAN discriminator: 4 strided 5x5 convs with lrelu(0.2), linear logit."""

  def apply(self, x, y, is_training):
    if x.shape.rank != 4:
      raise ValueError("Expected images of rank 4, got shape {}.".format(
          x.shape))
    check_image_size(_ARCH, x.shape[1], x.shape[2])
    df_dim = 64
    use_sn = self._spectral_norm
    net = layers.lrelu(layers.conv2d(x, df_dim, 5, 5, 2, 2, name="d_conv1",
                                     use_sn=use_sn))
    net = layers.conv2d(net, df_dim * 2, 5, 5, 2, 2, name="d_conv2",
                        use_sn=use_sn)
    net = self.batch_norm(net, y=y, is_training=is_training, name="d_bn1")
    net = layers.lrelu(net)
    net = layers.conv2d(net, df_dim * 4, 5, 5, 2, 2, name="d_conv3",
                        use_sn=use_sn)
    net = self.batch_norm(net, y=y, is_training=is_training, name="d_bn2")
    net = layers.lrelu(net)
    net = layers.conv2d(net, df_dim * 8, 5, 5, 2, 2, name="d_conv4",
                        use_sn=use_sn)
    net = self.batch_norm(net, y=y, is_training=is_training, name="d_bn3")
    net = layers.lrelu(net)
    out_logit = layers.linear(flatten(net), 1, scope="d_fc4", use_sn=use_sn)
    return tf.nn.sigmoid(out_logit), out_logit, net
