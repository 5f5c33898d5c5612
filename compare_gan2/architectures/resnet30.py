"""ResNet with 30 blocks (`resnet30_arch`), 128x128 only.

Gulrajani et al., 2017, "Improved Training of Wasserstein GANs" (their 64x64
deep ResNet, here at 128x128), as in compare_gan's `resnet30.py`.

G (ch=64): linear z -> 4x4x(8*ch) ("fc_noise", no spectral norm); six
superblocks s = 0..5, each of 5 "none" blocks `B_{s}_{i}` at the current width,
followed (for s < 5) by an "up" block `B_{s}_up` halving the channels
(8ch -> 4ch -> ... -> ch/4); no final batch norm; conv3x3 ("final_conv", no
spectral norm) -> sigmoid.
D (ch=64): conv3x3 ("color_conv", no spectral norm) -> ch/4 channels; six
superblocks of 5 "none" blocks plus (s < 5) a "down" block doubling the
channels, named `B_{s}_up` (sic, compare_gan's name, kept for checkpoint
compatibility) -> reshape to 4*4*8*ch (no ReLU, no pooling; the features)
-> linear ("disc_final_fc", spectral norm if D.spectral_norm).

Quirk decision (docs/compare_gan_quirks.md): compare_gan halves the generator's channels
with `/=`, which yields float channel counts under Python 3. Fixed here with
integer division; the structure is the intended one (512, 256, ..., 16).

Normalization knobs (faithful): G.batch_norm_fn / D.batch_norm_fn,
D.layer_norm and G/D.spectral_norm inside every block.

Deviation: the width `ch` is gin-configurable (`resnet30.Generator.ch`,
`resnet30.Discriminator.ch`, default compare_gan's 64; must be a multiple of
4 so that all widths are integers).
"""

import gin
import tensorflow as tf

from compare_gan2.architectures import layers
from compare_gan2.architectures import resnet_ops

_ARCH = "resnet30_arch"
_SUPPORTED = (128,)


@gin.configurable("Generator", module="resnet30")
class Generator(resnet_ops.ResNetGenerator):
  """ResNet30 generator: 6 superblocks of 5 blocks (+ 5 up blocks), 128x128."""

  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    if ch % 4:
      raise ValueError("resnet30 generator: ch must be a multiple of 4, "
                       "got {}.".format(ch))
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _SUPPORTED)
    self._ch = ch

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    if z.shape.rank != 2:
      raise ValueError("Expected shape [batch_size, z_dim], got {}.".format(
          z.shape))
    ch = self._ch
    net = layers.linear(z, 4 * 4 * 8 * ch, scope="fc_noise")
    net = tf.reshape(net, [-1, 4, 4, 8 * ch])
    in_channels, out_channels = 8 * ch, 4 * ch
    for superblock in range(6):
      for i in range(5):
        block = self._resnet_block(name="B_{}_{}".format(superblock, i),
                                   in_channels=in_channels,
                                   out_channels=in_channels, scale="none")
        net = block(net, z=z, y=y, is_training=is_training)
      if superblock < 5:  # Upscale 5 times: 4 -> 128.
        block = self._resnet_block(name="B_{}_up".format(superblock),
                                   in_channels=in_channels,
                                   out_channels=out_channels, scale="up")
        net = block(net, z=z, y=y, is_training=is_training)
      in_channels //= 2  # compare_gan: `/=` (float channels; docs/compare_gan_quirks.md).
      out_channels //= 2
    return self._output_images(net, z, y, is_training, final_norm=False)


@gin.configurable("Discriminator", module="resnet30")
class Discriminator(resnet_ops.ResNetDiscriminator):
  """ResNet30 discriminator: 6 superblocks of 5 blocks (+ 5 down blocks)."""

  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    if ch % 4:
      raise ValueError("resnet30 discriminator: ch must be a multiple of 4, "
                       "got {}.".format(ch))
    self._ch = ch

  def apply(self, x, y, is_training):
    self._check_images(x, _ARCH, _SUPPORTED)
    ch = self._ch
    net = layers.conv2d(x, output_dim=ch // 4, k_h=3, k_w=3, d_h=1, d_w=1,
                        name="color_conv")
    in_channels, out_channels = ch // 4, ch // 2
    for superblock in range(6):
      for i in range(5):
        block = self._resnet_block(name="B_{}_{}".format(superblock, i),
                                   in_channels=in_channels,
                                   out_channels=in_channels, scale="none")
        net = block(net, z=None, y=y, is_training=is_training)
      if superblock < 5:  # Downscale 5 times: 128 -> 4.
        block = self._resnet_block(name="B_{}_up".format(superblock),
                                   in_channels=in_channels,
                                   out_channels=out_channels, scale="down")
        net = block(net, z=None, y=y, is_training=is_training)
      in_channels *= 2
      out_channels *= 2
    net = tf.reshape(net, [-1, 4 * 4 * 8 * ch])
    out_logit = layers.linear(net, 1, scope="disc_final_fc",
                              use_sn=self._spectral_norm)
    return tf.nn.sigmoid(out_logit), out_logit, net
