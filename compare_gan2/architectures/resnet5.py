"""ResNet with 5 blocks (`resnet5_arch`; "ResNet19" in the GAN-Landscape paper).

Gulrajani et al., 2017, "Improved Training of Wasserstein GANs" (the 64x64
ResNet of their code, here up to 128x128), as in compare_gan's `resnet5.py`
Used by compare_gan's resnet_lsun-bedroom128 config.

G(ch=64, channels=(8, 8, 4, 4, 2, 1)): linear z -> 4x4x(ch*channels[0])
("fc_noise", never spectrally normalized); blocks B1..B5 map
ch*channels[i] -> ch*channels[i+1], scaling "up" for the first
log2(H/4) blocks and "none" after; final norm (G.batch_norm_fn, "final_norm")
-> ReLU -> conv3x3 ("final_conv", never spectrally normalized) -> sigmoid.
Resolutions: 4, 8, 16, 32, 64, 128 (log2(H/4) in [0, 5]).

D(ch=64, channels=(1, 2, 4, 4, 8, 8)): B0 colors -> ch (down), then B1..B5 all
"down" -> ReLU -> mean over H, W (the features) -> linear
("disc_final_fc", spectral norm if D.spectral_norm). Colors 1 or 3.

Normalization knobs (faithful): G.batch_norm_fn in every block and final_norm;
G.spectral_norm only inside the blocks; D.batch_norm_fn, D.layer_norm and
D.spectral_norm in every block, D.spectral_norm also on the final linear.

Deviation: `ch` and `channels` are gin-configurable here
(`resnet5.Generator.ch`, ...; compare_gan's class was not decorated); the
defaults are compare_gan's.
"""

import math

import gin
import tensorflow as tf

from compare_gan2.architectures import layers
from compare_gan2.architectures import resnet_ops

_ARCH = "resnet5_arch"
_SUPPORTED = (4, 8, 16, 32, 64, 128)


@gin.configurable("Generator", module="resnet5")
class Generator(resnet_ops.ResNetGenerator):
  """ResNet5 generator: 5 blocks, up to 128x128."""

  def __init__(self, ch=64, channels=(8, 8, 4, 4, 2, 1), **kwargs):
    """Args:
      ch: channel multiplier.
      channels: 6 multipliers; block i maps ch*channels[i] -> ch*channels[i+1].
      **kwargs: `G` arguments.
    """
    super().__init__(**kwargs)
    if len(channels) != 6:
      raise ValueError("resnet5 needs 6 channel multipliers, got {}.".format(
          channels))
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _SUPPORTED)
    self._ch = ch
    self._channels = tuple(channels)

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    seed_size = 4
    up_layers = int(round(math.log2(self._image_shape[0] / seed_size)))
    seed_channels = self._ch * self._channels[0]
    net = layers.linear(z, seed_channels * seed_size * seed_size,
                        scope="fc_noise")
    net = tf.reshape(net, [-1, seed_size, seed_size, seed_channels])
    for block_idx in range(5):
      block = self._resnet_block(
          name="B{}".format(block_idx + 1),
          in_channels=self._ch * self._channels[block_idx],
          out_channels=self._ch * self._channels[block_idx + 1],
          scale="up" if block_idx < up_layers else "none")
      net = block(net, z=z, y=y, is_training=is_training)
    return self._output_images(net, z, y, is_training)


@gin.configurable("Discriminator", module="resnet5")
class Discriminator(resnet_ops.ResNetDiscriminator):
  """ResNet5 discriminator: B0 + 5 down blocks, mean pooling, 1 or 3 colors."""

  def __init__(self, ch=64, channels=(1, 2, 4, 4, 8, 8), **kwargs):
    """Args:
      ch: channel multiplier.
      channels: 6 multipliers; B0 maps colors -> ch, block i maps
        ch*channels[i] -> ch*channels[i+1].
      **kwargs: `D` arguments.
    """
    super().__init__(**kwargs)
    if len(channels) != 6:
      raise ValueError("resnet5 needs 6 channel multipliers, got {}.".format(
          channels))
    self._ch = ch
    self._channels = tuple(channels)

  def apply(self, x, y, is_training):
    colors = self._check_images(x, _ARCH, _SUPPORTED)
    block = self._resnet_block(name="B0", in_channels=colors,
                               out_channels=self._ch * self._channels[0],
                               scale="down")
    net = block(x, z=None, y=y, is_training=is_training)
    for block_idx in range(5):
      block = self._resnet_block(
          name="B{}".format(block_idx + 1),
          in_channels=self._ch * self._channels[block_idx],
          out_channels=self._ch * self._channels[block_idx + 1],
          scale="down")
      net = block(net, z=None, y=y, is_training=is_training)
    out_logit, pre_logits = self._pooled_logit(net)
    return tf.nn.sigmoid(out_logit), out_logit, pre_logits
