"""BigGAN-deep (`resnet_biggan_deep_arch`), compare_gan's re-implementation.

Brock et al., 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis" [arXiv:1809.11096], Appendix B (Tables 7-9), as in compare_gan's
`resnet_biggan_deep.py`. Resolutions 32, 64, 128, 256, 512.

Differences to BigGAN (resnet_biggan):
- Twice as many blocks, alternating "none" and "up" (G) / "down" and "none"
  (D); bottleneck blocks (1x1 conv to max(in, out) // 4 channels, two 3x3
  convs, 1x1 conv to the output width).
- Identity skip connections: G drops the surplus channels (then upsamples);
  D avg-pools and appends conv1x1(shortcut, out - in, "add_channels").
- z is not chunked: every norm receives cond = concat(z, embed_y(y)) as both
  z and y, and cond also feeds `fc_noise`.
- Channel multiplier ch = 128 (BigGAN: 96).
- A self-attention block is applied where the feature map is 64x64: in G after
  the "up" block producing 64x64, in D after the "none" block at 64x64.

Quirk decisions (docs/compare_gan_quirks.md `biggan-deep-d`), both faithful:
- D pools with a **sum** over H, W (compare_gan's docstring says mean; its code
  sums, and so do we).
- `resnet_biggan_deep.Discriminator.blocks_with_attention` is accepted and
  **unused** (attention is always at 64x64), as in compare_gan.

Upsampling is `resnet_ops.upsample` (default compare_gan's zero-insertion
unpool; `upsample.method = "nearest"` for nearest neighbour); downsampling is
2x2 average pooling.

Parameter count (128x128, z_dim 128, 1000 classes, G with
conditional_batch_norm, use_bias False): G 50,244,484, D 34,590,210.

Normalization knobs: G.batch_norm_fn / D.batch_norm_fn in every block (4 norms
per block, scopes `B{i}/conv{1..4}/bn`); G/D.spectral_norm on every conv and
linear except G's `embed_y`; the final G norm is always the unconditional
`batch_norm` ("final_norm"); D.layer_norm is not used (no layer norm in these
blocks, as compare_gan).
"""

import functools

import gin
import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import attention
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import resnet_ops
from compare_gan2.architectures import variable_store as vs

_ARCH = "resnet_biggan_deep_arch"

# Channel multipliers; block i maps mult[i] -> mult[i + 1].
_G_MULTIPLIERS = {
    512: 4 * [16] + 4 * [8] + [4, 4, 2, 2, 1, 1, 1],
    256: 4 * [16] + 4 * [8] + [4, 4, 2, 2, 1],
    128: 4 * [16] + 2 * [8] + [4, 4, 2, 2, 1],
    64: 4 * [16] + 2 * [8] + [4, 4, 2],
    32: 8 * [4],
}
_D_MULTIPLIERS = {
    512: [1, 1, 1, 2, 2, 4, 4] + 4 * [8] + 4 * [16],
    256: [1, 2, 2, 4, 4] + 4 * [8] + 4 * [16],
    128: [1, 2, 2, 4, 4] + 2 * [8] + 4 * [16],
    64: [2, 4, 4] + 2 * [8] + 4 * [16],
    32: 8 * [2],
}
_ATTENTION_RESOLUTION = 64


@gin.configurable("BigGanDeepResNetBlock", module="resnet_biggan_deep")
class BigGanDeepResNetBlock:
  """Bottleneck residual block with an identity-preserving skip connection.

  conv1: bn -> relu -> 1x1 to the bottleneck (max(in, out) // 4);
  conv2: bn -> relu -> [upsample] -> 3x3; conv3: bn -> relu -> 3x3;
  conv4: bn -> relu -> [avg-pool] -> 1x1 to out. Scopes `conv{k}/bn`,
  `conv{k}/1x1_conv` or `conv{k}/3x3_conv`, `shortcut/add_channels`.
  """

  def __init__(self, name, in_channels, out_channels, scale,
               spectral_norm=False, batch_norm=None):
    if scale not in ("up", "down", "none"):
      raise ValueError("Scale: got {!r}, expected 'up', 'down' or 'none'."
                       .format(scale))
    self._name = name
    self._in_channels = in_channels
    self._out_channels = out_channels
    self._scale = scale
    self._spectral_norm = spectral_norm
    self.batch_norm = batch_norm or (lambda inputs, **kwargs: inputs)

  def __call__(self, inputs, z, y, is_training):
    return self.apply(inputs=inputs, z=z, y=y, is_training=is_training)

  def _shortcut(self, inputs):
    with vs.variable_scope("shortcut"):
      shortcut = inputs
      num_channels = int(inputs.shape[-1])
      if num_channels > self._out_channels:
        if self._scale != "up":
          raise ValueError("Block {}: dropping channels needs scale 'up'."
                           .format(self._name))
        shortcut = shortcut[:, :, :, :self._out_channels]
      if self._scale == "up":
        shortcut = resnet_ops.upsample(shortcut)
      if self._scale == "down":
        shortcut = resnet_ops.downsample(shortcut)
      if num_channels < self._out_channels:
        if self._scale != "down":
          raise ValueError("Block {}: adding channels needs scale 'down'."
                           .format(self._name))
        added = layers.conv1x1(shortcut, self._out_channels - num_channels,
                               name="add_channels", use_sn=self._spectral_norm)
        shortcut = tf.concat([shortcut, added], axis=-1)
      return shortcut

  def apply(self, inputs, z, y, is_training):
    if int(inputs.shape[-1]) != self._in_channels:
      raise ValueError(
          "Block {}: expected {} input channels, got {}.".format(
              self._name, self._in_channels, inputs.shape[-1]))
    bottleneck = max(self._in_channels, self._out_channels) // 4
    bn = functools.partial(self.batch_norm, z=z, y=y, is_training=is_training)
    conv1x1 = functools.partial(layers.conv1x1, use_sn=self._spectral_norm)
    conv3x3 = functools.partial(layers.conv2d, k_h=3, k_w=3, d_h=1, d_w=1,
                                use_sn=self._spectral_norm)
    with vs.variable_scope(self._name):
      outputs = inputs
      with vs.variable_scope("conv1"):
        outputs = tf.nn.relu(bn(outputs, name="bn"))
        outputs = conv1x1(outputs, bottleneck, name="1x1_conv")
      with vs.variable_scope("conv2"):
        outputs = tf.nn.relu(bn(outputs, name="bn"))
        if self._scale == "up":
          outputs = resnet_ops.upsample(outputs)
        outputs = conv3x3(outputs, bottleneck, name="3x3_conv")
      with vs.variable_scope("conv3"):
        outputs = tf.nn.relu(bn(outputs, name="bn"))
        outputs = conv3x3(outputs, bottleneck, name="3x3_conv")
      with vs.variable_scope("conv4"):
        outputs = tf.nn.relu(bn(outputs, name="bn"))
        if self._scale == "down":
          outputs = resnet_ops.downsample(outputs)
        outputs = conv1x1(outputs, self._out_channels, name="1x1_conv")
      return outputs + self._shortcut(inputs)


@gin.configurable("Generator", module="resnet_biggan_deep")
class Generator(abstract_arch.AbstractGenerator):
  """BigGAN-deep generator for 32, 64, 128, 256 and 512 px."""

  def __init__(self, ch=128, embed_y=True, embed_y_dim=128,
               experimental_fast_conv_to_rgb=False, **kwargs):
    """Args:
      ch: channel multiplier.
      embed_y: class embedding linear(y, embed_y_dim, "embed_y", no bias, no
        spectral norm); cond = concat(z, embedding).
      embed_y_dim: size of the class embedding.
      experimental_fast_conv_to_rgb: final conv to 128 channels sliced to the
        colors (compare_gan's speed option; more parameters).
      **kwargs: `G` arguments.
    """
    super().__init__(**kwargs)
    resnet_ops.check_image_shape(_ARCH, self._image_shape, _G_MULTIPLIERS)
    self._ch = ch
    self._embed_y = embed_y
    self._embed_y_dim = embed_y_dim
    self._experimental_fast_conv_to_rgb = experimental_fast_conv_to_rgb

  def _resnet_block(self, name, in_channels, out_channels, scale):
    if scale not in ("up", "none"):
      raise ValueError("Unknown generator ResNet block scaling: {}.".format(
          scale))
    return BigGanDeepResNetBlock(name=name, in_channels=in_channels,
                                 out_channels=out_channels, scale=scale,
                                 spectral_norm=self._spectral_norm,
                                 batch_norm=self.batch_norm)

  def _get_in_out_channels(self):
    return resnet_ops.generator_block_channels(
        self._ch, _G_MULTIPLIERS[self._image_shape[0]])

  def apply(self, z, y, is_training):
    if self._image_shape is None:
      raise ValueError("{} generator needs image_shape.".format(_ARCH))
    seed_size = 4
    if self._embed_y and y is not None:
      y = layers.linear(y, self._embed_y_dim, scope="embed_y", use_sn=False,
                        use_bias=False)
    if y is not None:
      y = tf.concat([z, y], axis=1)
      z = y
    in_channels, out_channels = self._get_in_out_channels()
    net = layers.linear(z, in_channels[0] * seed_size * seed_size,
                        scope="fc_noise", use_sn=self._spectral_norm)
    net = tf.reshape(net, [-1, seed_size, seed_size, in_channels[0]])
    for block_idx in range(len(in_channels)):
      scale = "none" if block_idx % 2 == 0 else "up"
      block = self._resnet_block(name="B{}".format(block_idx + 1),
                                 in_channels=in_channels[block_idx],
                                 out_channels=out_channels[block_idx],
                                 scale=scale)
      net = block(net, z=z, y=y, is_training=is_training)
      if scale == "up" and int(net.shape[1]) == _ATTENTION_RESOLUTION:
        net = attention.non_local_block(net, "non_local_block",
                                        use_sn=self._spectral_norm)
    # Unconditional final batch norm (ignores G.batch_norm_fn).
    net = normalization.batch_norm(net, is_training=is_training,
                                   name="final_norm")
    net = tf.nn.relu(net)
    colors = self._image_shape[2]
    if self._experimental_fast_conv_to_rgb:
      net = layers.conv2d(net, output_dim=128, k_h=3, k_w=3, d_h=1, d_w=1,
                          name="final_conv", use_sn=self._spectral_norm)
      net = net[:, :, :, :colors]
    else:
      net = layers.conv2d(net, output_dim=colors, k_h=3, k_w=3, d_h=1, d_w=1,
                          name="final_conv", use_sn=self._spectral_norm)
    return (tf.nn.tanh(net) + 1.0) / 2.0


@gin.configurable("Discriminator", module="resnet_biggan_deep")
class Discriminator(abstract_arch.AbstractDiscriminator):
  """BigGAN-deep projection discriminator for 32, 64, 128, 256 and 512 px."""

  def __init__(self, ch=128, blocks_with_attention="B1", project_y=True,
               **kwargs):
    """Args:
      ch: channel multiplier.
      blocks_with_attention: accepted and unused (compare_gan quirk `biggan-deep-d`):
        attention is always applied at 64x64.
      project_y: projection discriminator: logit += sum((y K) * h),
        K = `embedding_fc/kernel` [num_classes, C] with glorot_normal init.
      **kwargs: `D` arguments.
    """
    super().__init__(**kwargs)
    self._ch = ch
    self._blocks_with_attention = blocks_with_attention  # Unused (quirk `biggan-deep-d`).
    self._project_y = project_y

  def _resnet_block(self, name, in_channels, out_channels, scale):
    if scale not in ("down", "none"):
      raise ValueError("Unknown discriminator ResNet block scaling: {}."
                       .format(scale))
    return BigGanDeepResNetBlock(name=name, in_channels=in_channels,
                                 out_channels=out_channels, scale=scale,
                                 spectral_norm=self._spectral_norm,
                                 batch_norm=self.batch_norm)

  def _get_in_out_channels(self, colors, resolution):
    if colors not in (1, 3):
      raise ValueError("Unsupported color channels: {}".format(colors))
    resnet_ops.check_resolution(_ARCH, resolution, _D_MULTIPLIERS)
    multipliers = _D_MULTIPLIERS[resolution]
    in_channels = [self._ch * c for c in multipliers[:-1]]
    out_channels = [self._ch * c for c in multipliers[1:]]
    return in_channels, out_channels

  def apply(self, x, y, is_training):
    if x.shape.rank == 4:
      resnet_ops.check_resolution(_ARCH, x.shape[1], _D_MULTIPLIERS)
    resnet_ops.validate_image_inputs(x)
    in_channels, out_channels = self._get_in_out_channels(
        colors=int(x.shape[-1]), resolution=int(x.shape[1]))
    net = layers.conv2d(x, output_dim=in_channels[0], k_h=3, k_w=3, d_h=1,
                        d_w=1, name="initial_conv", use_sn=self._spectral_norm)
    for block_idx in range(len(in_channels)):
      scale = "down" if block_idx % 2 == 0 else "none"
      block = self._resnet_block(name="B{}".format(block_idx + 1),
                                 in_channels=in_channels[block_idx],
                                 out_channels=out_channels[block_idx],
                                 scale=scale)
      net = block(net, z=None, y=y, is_training=is_training)
      if scale == "none" and int(net.shape[1]) == _ATTENTION_RESOLUTION:
        net = attention.non_local_block(net, "non_local_block",
                                        use_sn=self._spectral_norm)
    net = tf.nn.relu(net)
    h = tf.reduce_sum(net, axis=[1, 2])  # Sum, not mean (quirk `biggan-deep-d`).
    out_logit = layers.linear(h, 1, scope="final_fc",
                              use_sn=self._spectral_norm)
    if self._project_y:
      if y is None:
        raise ValueError("You must provide class information y to project.")
      with vs.variable_scope("embedding_fc"):
        out_logit += layers.class_projection(h, y, use_sn=self._spectral_norm)
    return tf.nn.sigmoid(out_logit), out_logit, h
