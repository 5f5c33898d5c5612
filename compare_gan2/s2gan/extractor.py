"""The feature extractor of S2GAN's pre-training: a pre-activation ResNet
(He et al., "Identity Mappings in Deep Residual Networks", 2016) built from the
package's layers (layers.conv2d, normalization.standardize_batch) in its own
VariableStore.

Presets (gin `ResNetExtractor.preset`):
- "small": a 3x3 stride-2 stem, then 3 stages of widths 32, 64, 128 with one
  basic block each (32-64 px; the polygons configs: ~13M multiply-adds per
  32 px image, so CPU pre-training takes minutes).
- "resnet50": ResNet-50 (stem 7x7 stride 2 + max pool, bottleneck stages of
  3, 4, 6, 3 blocks, widths 64..512, 2048 features; ImageNet 128 as in the paper).
Or give `widths`, `blocks` and `bottleneck` directly.
"""

import gin
import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.architectures import initializers

PRESETS = {
    "small": dict(widths=(32, 64, 128), blocks=(1, 1, 1), bottleneck=False,
                  stem_stride=2, stem_pool=False),
    "resnet50": dict(widths=(64, 128, 256, 512), blocks=(3, 4, 6, 3),
                     bottleneck=True, stem_stride=2, stem_pool=True),
}


def _bn(x, is_training, name):
  """Batch norm with moving averages and a learned scale and offset."""
  with variable_store.variable_scope(name):
    x = normalization.standardize_batch(x, is_training=is_training,
                                        decay=0.99, epsilon=1e-5,
                                        use_moving_averages=True)
    channels = int(x.shape[-1])
    gamma = variable_store.get_variable("gamma", [channels],
                                        initializers.ones())
    beta = variable_store.get_variable("beta", [channels], initializers.zeros())
    return x * gamma + beta


def _conv(x, channels, kernel, stride, name):
  fan_in = int(x.shape[-1]) * kernel * kernel
  return layers.conv2d(x, channels, kernel, kernel, stride, stride,
                       stddev=(2.0 / fan_in) ** 0.5, name=name, use_bias=False)


@gin.configurable(denylist=["name"])
class ResNetExtractor(abstract_arch.Network):
  """images [N, H, W, C] in [0, 1] -> features [N, F] (global average pool)."""

  def __init__(self, preset="small", widths=None, blocks=None, bottleneck=None,
               stem_stride=None, stem_pool=None, name="extractor"):
    super().__init__(name=name, batch_norm_fn=None, spectral_norm=False)
    if preset not in PRESETS:
      raise ValueError(f"Unknown ResNetExtractor.preset {preset!r}; known: "
                       f"{sorted(PRESETS)}.")
    config = dict(PRESETS[preset])
    for key, value in (("widths", widths), ("blocks", blocks),
                       ("bottleneck", bottleneck), ("stem_stride", stem_stride),
                       ("stem_pool", stem_pool)):
      if value is not None:
        config[key] = value
    if len(config["widths"]) != len(config["blocks"]):
      raise ValueError("ResNetExtractor: widths and blocks need one entry per "
                       f"stage, got {config['widths']} and {config['blocks']}.")
    self.widths = tuple(int(w) for w in config["widths"])
    self.blocks = tuple(int(b) for b in config["blocks"])
    self.bottleneck = bool(config["bottleneck"])
    self.stem_stride = int(config["stem_stride"])
    self.stem_pool = bool(config["stem_pool"])

  @property
  def feature_dim(self):
    return self.widths[-1] * (4 if self.bottleneck else 1)

  def _block(self, x, width, stride, is_training, name):
    out_channels = width * 4 if self.bottleneck else width
    with variable_store.variable_scope(name):
      pre = tf.nn.relu(_bn(x, is_training, "bn0"))
      shortcut = x
      if stride != 1 or int(x.shape[-1]) != out_channels:
        shortcut = _conv(pre, out_channels, 1, stride, "shortcut")
      if self.bottleneck:
        h = _conv(pre, width, 1, 1, "conv1")
        h = _conv(tf.nn.relu(_bn(h, is_training, "bn1")), width, 3, stride, "conv2")
        h = _conv(tf.nn.relu(_bn(h, is_training, "bn2")), out_channels, 1, 1,
                  "conv3")
      else:
        h = _conv(pre, width, 3, stride, "conv1")
        h = _conv(tf.nn.relu(_bn(h, is_training, "bn1")), width, 3, 1, "conv2")
      return h + shortcut

  def __call__(self, images, is_training):
    with self.in_store():
      x = tf.convert_to_tensor(images, tf.float32) * 2.0 - 1.0
      kernel = 7 if self.stem_pool else 3
      x = _conv(x, self.widths[0], kernel, self.stem_stride, "stem")
      if self.stem_pool:
        x = tf.nn.max_pool2d(x, 3, 2, "SAME")
      for stage, (width, count) in enumerate(zip(self.widths, self.blocks)):
        for block in range(count):
          stride = 2 if stage > 0 and block == 0 else 1
          x = self._block(x, width, stride, is_training, f"stage{stage}/block{block}")
      x = tf.nn.relu(_bn(x, is_training, "final_bn"))
      return tf.reduce_mean(x, axis=[1, 2])
