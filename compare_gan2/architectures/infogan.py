"""InfoGAN generator and discriminator (`infogan_arch`).

Chen et al., 2016, "InfoGAN" [arXiv:1606.03657], as in compare_gan's
`infogan.py`.

G: linear z -> 1024 ("g_fc1") -> batch_norm ("g_bn1") -> lrelu -> linear ->
128 * (H/4) * (W/4) ("g_fc2") -> batch_norm ("g_bn2") -> lrelu -> reshape ->
4x4/2 deconv to 64 ("g_dc3") -> batch_norm ("g_bn3") -> lrelu -> 4x4/2 deconv
to the colors ("g_dc4") -> sigmoid.
D: 4x4/2 conv 64 ("d_conv1") -> lrelu -> 4x4/2 conv 128 ("d_conv2") ->
D.batch_norm_fn ("d_bn2") -> lrelu -> flatten -> linear 1024 ("d_fc3") ->
D.batch_norm_fn ("d_bn3") -> lrelu (the features) -> linear 1 ("d_fc4").

Height and width must be multiples of 4 (>= 8): compare_gan's architectures_test
resolutions are 28x28x1, 32x32x1/3, 64x64x3 and 128x128x3.

Normalization knobs (faithful to compare_gan, quirks kept):
- G **always** uses the unconditional `normalization.batch_norm` and ignores
  G.batch_norm_fn and G.spectral_norm; G ignores y (unconditional only).
- D uses D.batch_norm_fn and D.spectral_norm (all convs and linears); it
  ignores D.layer_norm.
"""

import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import dcgan

_ARCH = "infogan_arch"


class Generator(abstract_arch.AbstractGenerator):
  """InfoGAN generator (always plain batch norm, sigmoid output)."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    if self._image_shape is not None:
      dcgan.check_image_size(_ARCH, *self._image_shape[:2], min_size=8,
                             multiple_of=4)

  def apply(self, z, y, is_training):
    del y
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    h, w, c = self._image_shape
    net = layers.linear(z, 1024, scope="g_fc1")
    net = layers.lrelu(normalization.batch_norm(net, is_training=is_training,
                                                name="g_bn1"))
    net = layers.linear(net, 128 * (h // 4) * (w // 4), scope="g_fc2")
    net = layers.lrelu(normalization.batch_norm(net, is_training=is_training,
                                                name="g_bn2"))
    net = tf.reshape(net, [-1, h // 4, w // 4, 128])
    net = dcgan.deconv(net, (h // 2, w // 2, 64), 4, 4, 2, 2, name="g_dc3")
    net = layers.lrelu(normalization.batch_norm(net, is_training=is_training,
                                                name="g_bn3"))
    net = dcgan.deconv(net, (h, w, c), 4, 4, 2, 2, name="g_dc4")
    return tf.nn.sigmoid(net)


class Discriminator(abstract_arch.AbstractDiscriminator):
  """InfoGAN discriminator: 2 strided convs, a 1024-unit layer, a logit."""

  def apply(self, x, y, is_training):
    if x.shape.rank != 4:
      raise ValueError("Expected images of rank 4, got shape {}.".format(
          x.shape))
    dcgan.check_image_size(_ARCH, x.shape[1], x.shape[2], min_size=8,
                           multiple_of=4)
    use_sn = self._spectral_norm
    net = layers.lrelu(layers.conv2d(x, 64, 4, 4, 2, 2, name="d_conv1",
                                     use_sn=use_sn))
    net = layers.conv2d(net, 128, 4, 4, 2, 2, name="d_conv2", use_sn=use_sn)
    net = self.batch_norm(net, y=y, is_training=is_training, name="d_bn2")
    net = layers.lrelu(net)
    net = dcgan.flatten(net)
    net = layers.linear(net, 1024, scope="d_fc3", use_sn=use_sn)
    net = self.batch_norm(net, y=y, is_training=is_training, name="d_bn3")
    net = layers.lrelu(net)
    out_logit = layers.linear(net, 1, scope="d_fc4", use_sn=use_sn)
    return tf.nn.sigmoid(out_logit), out_logit, net
