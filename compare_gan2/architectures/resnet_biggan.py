"""BigGAN (`resnet_biggan_arch`), compare_gan's re-implementation.

Brock et al., 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" [arXiv:1809.11096]. Resolutions 32, 64, 128, 256, 512.

Differences to the SN-GAN ResNet (resnet_cifar): wider layers; 1x1 shortcut
convs; hierarchical z and a shared class embedding feeding conditional BN;
self-attention blocks; unconditional final BN; tanh output; D without a
shortcut when in == out channels, sum pooling, last block not downsampling,
projection with a glorot_normal class embedding.

Parameter counts (1000 classes, G with conditional_batch_norm, use_bias=False)
and the gin settings they need:
  128x128: D 87,982,370  G 70,433,988   options.z_dim = 120,
           resnet_biggan.Generator.blocks_with_attention = "B4",
           resnet_biggan.Discriminator.blocks_with_attention = "B1"
  256x256: D 98,635,298  G 82,097,604   z_dim 140, G "B5", D "B2"
  512x512: D 98,801,378  G 82,468,068   z_dim 160, G "B4", D "B3"
"""

import gin
import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import attention
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import resnet_ops
from compare_gan2.architectures import variable_store as vs

_ARCH = "resnet_biggan_arch"

# Channel multipliers per resolution; block i maps mult[i] -> mult[i + 1] (G).
_G_MULTIPLIERS = {
    512: [16, 16, 8, 8, 4, 2, 1, 1],
    256: [16, 16, 8, 8, 4, 2, 1],
    128: [16, 16, 8, 4, 2, 1],
    64: [16, 16, 8, 4, 2],
    32: [4, 4, 4, 4],
}
# D block i outputs mult[i] channels; inputs are [colors] + outputs[:-1].
_D_MULTIPLIERS = {
    512: [1, 1, 2, 4, 8, 8, 16, 16],
    256: [1, 2, 4, 8, 8, 16, 16],
    128: [1, 2, 4, 8, 16, 16],
    64: [2, 4, 8, 16, 16],
    32: [2, 2, 2, 2],
}


def _parse_blocks(blocks_with_attention):
  return {b.strip() for b in blocks_with_attention.split(",") if b.strip()}


@gin.configurable("BigGanResNetBlock", module="resnet_biggan")
class BigGanResNetBlock(resnet_ops.ResNetBlock):
  """BigGAN residual block with an optional 1x1 shortcut conv.

  bn1 -> [ln1] -> relu -> conv1 3x3 (G: upsample first) -> bn2 -> [ln2] ->
  relu -> conv2 3x3 (D: avg-pool after); shortcut = 1x1 conv on the raw input
  (G: upsample then conv; D: conv then pool). All convs carry a bias.
  """

  def __init__(self, add_shortcut=True, **kwargs):
    super().__init__(**kwargs)
    self._add_shortcut = add_shortcut

  def apply(self, inputs, z, y, is_training):
    self._check_inputs(inputs)
    with vs.variable_scope(self._name):
      outputs = self._main_path(inputs, z, y, is_training)
      if self._add_shortcut:
        outputs += self._get_conv(inputs, self._in_channels,
                                  self._out_channels, self._scale,
                                  kernel_size=(1, 1), suffix="conv_shortcut")
      return outputs


@gin.configurable("Generator", module="resnet_biggan")
class Generator(abstract_arch.AbstractGenerator):
  """BigGAN generator for 32, 64, 128, 256 and 512 px."""

  def __init__(self, ch=96, blocks_with_attention="B4", hierarchical_z=True,
               embed_z=False, embed_y=True, embed_y_dim=128, embed_bias=False,
               **kwargs):
    """Args:
      ch: channel multiplier.
      blocks_with_attention: comma-separated block names ("B4") each followed
        by a self-attention block (scope `non_local_block`).
      hierarchical_z: split z into num_blocks + 1 chunks: chunk 0 feeds
        fc_noise, block i gets z_i and concat(z_i, y_embedding) as y.
      embed_z: replace z by linear(z, z_dim, "embed_z").
      embed_y: shared class embedding linear(y, embed_y_dim, "embed_y").
      embed_y_dim: size of the class embedding.
      embed_bias: biases in embed_z / embed_y.
      **kwargs: `G` arguments.
    """
    super().__init__(**kwargs)
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _G_MULTIPLIERS)
    self._ch = ch
    self._blocks_with_attention = _parse_blocks(blocks_with_attention)
    self._hierarchical_z = hierarchical_z
    self._embed_z = embed_z
    self._embed_y = embed_y
    self._embed_y_dim = embed_y_dim
    self._embed_bias = embed_bias

  def _resnet_block(self, name, in_channels, out_channels, scale):
    return BigGanResNetBlock(name=name, in_channels=in_channels,
                             out_channels=out_channels, scale=scale,
                             is_gen_block=True,
                             spectral_norm=self._spectral_norm,
                             batch_norm=self.batch_norm)

  def _get_in_out_channels(self):
    return resnet_ops.generator_block_channels(
        self._ch, _G_MULTIPLIERS[self._image_shape[0]])

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    seed_size = 4
    z_dim = int(z.shape[1])
    in_channels, out_channels = self._get_in_out_channels()
    num_blocks = len(in_channels)

    if self._embed_z:
      z = layers.linear(z, z_dim, scope="embed_z", use_sn=False,
                        use_bias=self._embed_bias)
    if self._embed_y and y is not None:
      y = layers.linear(y, self._embed_y_dim, scope="embed_y", use_sn=False,
                        use_bias=self._embed_bias)
    y_per_block = num_blocks * [y]
    if self._hierarchical_z:
      if z_dim % (num_blocks + 1):
        raise ValueError(
            "{} with hierarchical_z at {}px splits z into {} equal chunks; "
            "z_dim={} is not divisible.".format(
                _ARCH, self._image_shape[0], num_blocks + 1, z_dim))
      z_per_block = tf.split(z, num_blocks + 1, axis=1)
      z0, z_per_block = z_per_block[0], z_per_block[1:]
      if y is not None:
        y_per_block = [tf.concat([zi, y], 1) for zi in z_per_block]
    else:
      z0 = z
      z_per_block = num_blocks * [z]

    net = layers.linear(z0, in_channels[0] * seed_size * seed_size,
                        scope="fc_noise", use_sn=self._spectral_norm)
    net = tf.reshape(net, [-1, seed_size, seed_size, in_channels[0]])
    for block_idx in range(num_blocks):
      name = "B{}".format(block_idx + 1)
      block = self._resnet_block(name=name, in_channels=in_channels[block_idx],
                                 out_channels=out_channels[block_idx],
                                 scale="up")
      net = block(net, z=z_per_block[block_idx], y=y_per_block[block_idx],
                  is_training=is_training)
      if name in self._blocks_with_attention:
        net = attention.non_local_block(net, "non_local_block",
                                        use_sn=self._spectral_norm)
    # Unconditional final batch norm (ignores G.batch_norm_fn).
    net = normalization.batch_norm(net, is_training=is_training,
                                   name="final_norm")
    net = tf.nn.relu(net)
    net = layers.conv2d(net, output_dim=self._image_shape[2], k_h=3, k_w=3,
                        d_h=1, d_w=1, name="final_conv",
                        use_sn=self._spectral_norm)
    return (tf.nn.tanh(net) + 1.0) / 2.0


@gin.configurable("Discriminator", module="resnet_biggan")
class Discriminator(abstract_arch.AbstractDiscriminator):
  """BigGAN projection discriminator for 32, 64, 128, 256 and 512 px."""

  def __init__(self, ch=96, blocks_with_attention="B1", project_y=True,
               **kwargs):
    """Args:
      ch: channel multiplier.
      blocks_with_attention: comma-separated block names followed by
        self-attention.
      project_y: projection discriminator (Miyato & Koyama, 2018):
        logit += sum((y K) * h), K = `embedding_fc/kernel` [num_classes, C]
        with glorot_normal init (ignores `weights`).
      **kwargs: `D` arguments.
    """
    super().__init__(**kwargs)
    self._ch = ch
    self._blocks_with_attention = _parse_blocks(blocks_with_attention)
    self._project_y = project_y

  def _resnet_block(self, name, in_channels, out_channels, scale):
    return BigGanResNetBlock(name=name, in_channels=in_channels,
                             out_channels=out_channels, scale=scale,
                             is_gen_block=False,
                             add_shortcut=in_channels != out_channels,
                             layer_norm=self._layer_norm,
                             spectral_norm=self._spectral_norm,
                             batch_norm=self.batch_norm)

  def _get_in_out_channels(self, colors, resolution):
    if colors not in (1, 3):
      raise ValueError("Unsupported color channels: {}".format(colors))
    resnet_ops.check_resolution(_ARCH, resolution, _D_MULTIPLIERS)
    out_channels = [self._ch * c for c in _D_MULTIPLIERS[resolution]]
    in_channels = [colors] + out_channels[:-1]
    return in_channels, out_channels

  def apply(self, x, y, is_training):
    resnet_ops.validate_image_inputs(x)
    in_channels, out_channels = self._get_in_out_channels(
        colors=int(x.shape[-1]), resolution=int(x.shape[1]))
    num_blocks = len(in_channels)
    net = x
    for block_idx in range(num_blocks):
      name = "B{}".format(block_idx + 1)
      is_last_block = block_idx == num_blocks - 1
      block = self._resnet_block(name=name, in_channels=in_channels[block_idx],
                                 out_channels=out_channels[block_idx],
                                 scale="none" if is_last_block else "down")
      net = block(net, z=None, y=y, is_training=is_training)
      if name in self._blocks_with_attention:
        net = attention.non_local_block(net, "non_local_block",
                                        use_sn=self._spectral_norm)
    net = tf.nn.relu(net)
    h = tf.reduce_sum(net, axis=[1, 2])
    out_logit = layers.linear(h, 1, scope="final_fc",
                              use_sn=self._spectral_norm)
    if self._project_y:
      if y is None:
        raise ValueError("You must provide class information y to project.")
      with vs.variable_scope("embedding_fc"):
        out_logit += layers.class_projection(h, y, use_sn=self._spectral_norm)
    return tf.nn.sigmoid(out_logit), out_logit, h
