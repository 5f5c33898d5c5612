"""ResNet for 48x48 images (`resnet_stl_arch`), SN-GAN Table 5 (STL-10).

Miyato et al., 2018 [arXiv:1802.05957], as in compare_gan's `resnet_stl.py`.

G (ch=64): linear z -> 6x6x(8*ch) ("fc_noise", no spectral norm); three "up"
blocks B1..B3 with channels (8->4, 4->2, 2->1)*ch; final norm -> ReLU ->
conv3x3 ("final_conv", no spectral norm) -> sigmoid. 48x48 only.
D (ch=64): B0 colors -> ch (down); B1..B3 (1->2, 2->4, 4->8)*ch down; B4
(8->16)*ch "none"; ReLU -> mean over H, W (the features) -> linear
("disc_final_fc", spectral norm if D.spectral_norm). 48x48, 1 or 3 colors
(no power-of-2 check, as compare_gan).

Quirk decision (docs/compare_gan_quirks.md): compare_gan passes `scope="final_norm"` to the
generator's final normalization, which `call_with_accepted_args` drops, so the
final norm lives in the norm function's default scope `generator/batch_norm/...`
instead of `generator/final_norm/...`. Kept (faithful) so variable names match
compare_gan checkpoints: the final norm is called without a name.

Normalization knobs (faithful): G.batch_norm_fn in every block and the final
norm; G.spectral_norm only inside the blocks; D.batch_norm_fn, D.layer_norm and
D.spectral_norm in every block, D.spectral_norm also on the final linear.

Deviation: the width `ch` is gin-configurable (`resnet_stl.Generator.ch`,
`resnet_stl.Discriminator.ch`, default compare_gan's 64).
"""

import gin
import tensorflow as tf

from compare_gan2.architectures import layers
from compare_gan2.architectures import resnet_ops

_ARCH = "resnet_stl_arch"
_SUPPORTED = (48,)


@gin.configurable("Generator", module="resnet_stl")
class Generator(resnet_ops.ResNetGenerator):
  """ResNet generator, 3 up blocks from 6x6, 48x48 only."""

  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _SUPPORTED)
    self._ch = ch

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    ch = self._ch
    multipliers = [(8, 4), (4, 2), (2, 1)]
    net = layers.linear(z, 6 * 6 * 8 * ch, scope="fc_noise")
    net = tf.reshape(net, [-1, 6, 6, 8 * ch])
    for block_idx, (m_in, m_out) in enumerate(multipliers):
      block = self._resnet_block(name="B{}".format(block_idx + 1),
                                 in_channels=ch * m_in,
                                 out_channels=ch * m_out, scale="up")
      net = block(net, z=z, y=y, is_training=is_training)
    # No norm name: the norm's default scope, as compare_gan (see module doc).
    return self._output_images(net, z, y, is_training, norm_name=None)


@gin.configurable("Discriminator", module="resnet_stl")
class Discriminator(resnet_ops.ResNetDiscriminator):
  """ResNet discriminator, 5 blocks, 48x48 with 1 or 3 colors."""

  def __init__(self, ch=64, **kwargs):
    super().__init__(**kwargs)
    self._ch = ch

  def apply(self, x, y, is_training):
    colors = self._check_images(x, _ARCH, _SUPPORTED, validate_power2=False)
    ch = self._ch
    block = self._resnet_block(name="B0", in_channels=colors, out_channels=ch,
                               scale="down")
    net = block(x, z=None, y=y, is_training=is_training)
    multipliers = [(1, 2), (2, 4), (4, 8), (8, 16)]
    for block_idx, (m_in, m_out) in enumerate(multipliers):
      block = self._resnet_block(name="B{}".format(block_idx + 1),
                                 in_channels=ch * m_in,
                                 out_channels=ch * m_out,
                                 scale="down" if block_idx < 3 else "none")
      net = block(net, z=None, y=y, is_training=is_training)
    out_logit, pre_logits = self._pooled_logit(net)
    return tf.nn.sigmoid(out_logit), out_logit, pre_logits
