"""ResNet generator and discriminator for 32x32 images (`resnet_cifar_arch`).

SN-GAN, Miyato et al., 2018, Table 4 [arXiv:1802.05957]:
G: linear z -> 4x4x256, three "up" blocks of 256 channels, final norm, ReLU,
conv3x3 -> colors, sigmoid. D: four blocks of 128 channels (B1, B2 down),
ReLU, global mean pooling, linear -> 1 (+ optional projection of y).
"""

import gin
import tensorflow as tf

from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import resnet_ops
from compare_gan2.architectures import variable_store as vs

_ARCH = "resnet_cifar_arch"
_SUPPORTED = (32,)


@gin.configurable("Generator", module="resnet_cifar")
class Generator(resnet_ops.ResNetGenerator):
  """ResNet generator, 3 up blocks, 32x32 only."""

  def __init__(self, hierarchical_z=False, embed_z=False, embed_y=False,
               **kwargs):
    """Args:
      hierarchical_z: split z into 4 chunks: chunk 0 feeds fc_noise, chunk i
        feeds block i (and is concatenated to y for that block's norm).
      embed_z: replace z by linear(z, z_dim, "embed_z").
      embed_y: replace y by linear(y, z_dim, "embed_y") (length z_dim).
      **kwargs: `G` arguments (image_shape, batch_norm_fn, spectral_norm).
    """
    super().__init__(**kwargs)
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _SUPPORTED)
    self._hierarchical_z = hierarchical_z
    self._embed_z = embed_z
    self._embed_y = embed_y

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    num_blocks = 3
    z_dim = int(z.shape[1])
    if self._embed_z:
      z = layers.linear(z, z_dim, scope="embed_z", use_sn=self._spectral_norm)
    if self._embed_y and y is not None:
      y = layers.linear(y, z_dim, scope="embed_y", use_sn=self._spectral_norm)
    y_per_block = num_blocks * [y]
    if self._hierarchical_z:
      z_per_block = tf.split(z, num_blocks + 1, axis=1)
      z0, z_per_block = z_per_block[0], z_per_block[1:]
      if y is not None:
        y_per_block = [tf.concat([zi, y], 1) for zi in z_per_block]
    else:
      z0 = z
      z_per_block = num_blocks * [z]

    net = layers.linear(z0, 4 * 4 * 256, scope="fc_noise",
                        use_sn=self._spectral_norm)
    net = tf.reshape(net, [-1, 4, 4, 256])
    for block_idx in range(num_blocks):
      block = self._resnet_block(name="B{}".format(block_idx + 1),
                                 in_channels=256, out_channels=256, scale="up")
      net = block(net, z=z_per_block[block_idx], y=y_per_block[block_idx],
                  is_training=is_training)
    return self._output_images(net, z, y, is_training,
                               use_sn=self._spectral_norm)


@gin.configurable("Discriminator", module="resnet_cifar")
class Discriminator(resnet_ops.ResNetDiscriminator):
  """ResNet discriminator, 4 blocks, 32x32 with 1 or 3 colors."""

  def __init__(self, project_y=False, **kwargs):
    """Args:
      project_y: projection discriminator (Miyato & Koyama, 2018):
        logit += sum((y K) * h), K = `embedding_fc/kernel` [num_classes,
        128] with the gin `weights` initializer (`layers.class_projection`).
      **kwargs: `D` arguments.
    """
    super().__init__(**kwargs)
    self._project_y = project_y

  def apply(self, x, y, is_training):
    colors = self._check_images(x, _ARCH, _SUPPORTED)
    net = x
    for block_idx in range(4):
      block = self._resnet_block(
          name="B{}".format(block_idx + 1),
          in_channels=colors if block_idx == 0 else 128, out_channels=128,
          scale="down" if block_idx <= 1 else "none")
      net = block(net, z=None, y=y, is_training=is_training)
    out_logit, h = self._pooled_logit(net)
    if self._project_y:
      if y is None:
        raise ValueError("You must provide class information y to project.")
      with vs.variable_scope("embedding_fc"):
        out_logit += layers.class_projection(
            h, y, use_sn=self._spectral_norm,
            initializer=initializers.weight_initializer(stddev=0.02))
    return tf.nn.sigmoid(out_logit), out_logit, h
