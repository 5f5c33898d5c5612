"""SN-DCGAN generator and discriminator (`sndcgan_arch`).

The standard CNN of Miyato et al., 2018, "Spectral Normalization for
Generative Adversarial Networks" (Table 3) [arXiv:1802.05957], as in
compare_gan's `sndcgan.py`.

G: linear z -> ceil(H/8) * ceil(W/8) * 512 ("g_fc1") -> G.batch_norm_fn on the
rank-2 tensor ("g_bn1") -> ReLU -> reshape -> 4x4/2 deconvs to 256, 128, 64
channels ("g_dc2".."g_dc4"), each followed by norm ("g_bn2".."g_bn4") and ReLU
-> 3x3/1 deconv to the colors ("g_dc5") -> (tanh + 1) / 2.
D: rescales the input to [-1, 1] (x * 2 - 1, the paper's range), then convs
"d_conv1".."d_conv7" (3x3/1 64, 4x4/2 128, 3x3/1 128, 4x4/2 256, 3x3/1 256,
4x4/2 512, 3x3/1 512), each followed by lrelu(0.1) -> linear(flatten, 1,
"d_fc1"). Features: the flattened last feature map.

Sizes use ceil(size / 2): any height and width >= 8 works (compare_gan's architectures_test
test resolutions are 28x28x1, 32x32x1/3, 64x64x3, 128x128x3).

Normalization knobs (faithful to compare_gan, quirks kept):
- G.batch_norm_fn is used; G.spectral_norm is ignored.
- D **ignores** D.batch_norm_fn and D.layer_norm (the paper's D has no
  normalization besides spectral norm); D.spectral_norm applies to every D
  weight. compare_gan's sndcgan_celebahq128 config sets D.spectral_norm=True.
- y is ignored except through a conditional G.batch_norm_fn.
"""

import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers
from compare_gan2.architectures import dcgan

_ARCH = "sndcgan_arch"
MIN_SIZE = 8


class Generator(abstract_arch.AbstractGenerator):
  """SN-DCGAN generator: linear seed, 3 strided 4x4 deconvs, 3x3 deconv."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    if self._image_shape is not None:
      dcgan.check_image_size(_ARCH, *self._image_shape[:2], min_size=MIN_SIZE)

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    size = dcgan.conv_out_size_same
    s_h, s_w, colors = self._image_shape
    s_h2, s_w2 = size(s_h, 2), size(s_w, 2)
    s_h4, s_w4 = size(s_h2, 2), size(s_w2, 2)
    s_h8, s_w8 = size(s_h4, 2), size(s_w4, 2)

    net = layers.linear(z, s_h8 * s_w8 * 512, scope="g_fc1")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn1")
    net = tf.nn.relu(net)
    net = tf.reshape(net, [-1, s_h8, s_w8, 512])
    net = dcgan.deconv(net, (s_h4, s_w4, 256), 4, 4, 2, 2, name="g_dc2")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn2")
    net = tf.nn.relu(net)
    net = dcgan.deconv(net, (s_h2, s_w2, 128), 4, 4, 2, 2, name="g_dc3")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn3")
    net = tf.nn.relu(net)
    net = dcgan.deconv(net, (s_h, s_w, 64), 4, 4, 2, 2, name="g_dc4")
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="g_bn4")
    net = tf.nn.relu(net)
    net = dcgan.deconv(net, (s_h, s_w, colors), 3, 3, 1, 1, name="g_dc5")
    return (tf.tanh(net) + 1.0) / 2.0


class Discriminator(abstract_arch.AbstractDiscriminator):
  """SN-DCGAN discriminator: 7 convs with lrelu(0.1), no normalization."""

  def apply(self, x, y, is_training):
    del is_training, y  # No batch norm, no projection (compare_gan).
    if x.shape.rank != 4:
      raise ValueError("Expected images of rank 4, got shape {}.".format(
          x.shape))
    dcgan.check_image_size(_ARCH, x.shape[1], x.shape[2], min_size=MIN_SIZE)
    use_sn = self._spectral_norm
    # Images are in [0, 1] in compare_gan; the SN-GAN authors used [-1, 1].
    net = x * 2.0 - 1.0
    conv_specs = [(64, 3, 1), (128, 4, 2), (128, 3, 1), (256, 4, 2),
                  (256, 3, 1), (512, 4, 2), (512, 3, 1)]
    for i, (channels, kernel, stride) in enumerate(conv_specs):
      net = layers.conv2d(net, channels, kernel, kernel, stride, stride,
                          name="d_conv{}".format(i + 1), use_sn=use_sn)
      net = layers.lrelu(net, leak=0.1)
    net = dcgan.flatten(net)
    out_logit = layers.linear(net, 1, scope="d_fc1", use_sn=use_sn)
    return tf.nn.sigmoid(out_logit), out_logit, net
