"""The two encoders of the offline CLIP, as plain `abstract_arch.Network`s.

- `TextTransformer` (CLIP's text encoder, Radford et al. 2021, section 2.4, at
  small width): token + learned position embeddings, `num_layers` pre-LN
  blocks of causal multi-head self-attention and a 4x GELU MLP, a final layer
  norm; the features at the <eos> token, linearly projected to `embed_dim`.
- `ImageEncoder`: a small residual CNN, images in [0, 1] -> a stem, then one
  stage per entry of `widths` (stride-2 3x3 convolution and a residual 3x3
  convolution, ReLU); global average pool, linear projection to `embed_dim`.
  It also returns the stem's and every stage's feature map: a text-to-image
  GAN's discriminator puts its heads on them (StyleGAN-T's DINO hooks: the
  patch embedding and blocks 2, 5, 8, 11).
"""

import math

import gin
import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import variable_store as vs
from compare_gan2.text import tokenizer as tokenizer_lib


def _layer_norm(x, name, epsilon=1e-5):
  """Layer norm over the last axis with a learned scale and offset."""
  with vs.variable_scope(name):
    channels = int(x.shape[-1])
    gamma = vs.get_variable("gamma", [channels], initializers.ones())
    beta = vs.get_variable("beta", [channels], initializers.zeros())
    mean, variance = tf.nn.moments(x, [-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon) * gamma + beta


def _dense(x, units, name, stddev, use_bias=True):
  """x [..., C] @ kernel [C, units] (+ bias)."""
  with vs.variable_scope(name):
    kernel = vs.get_variable("kernel", [int(x.shape[-1]), units],
                             initializers.normal(stddev))
    y = tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]])
    if use_bias:
      y += vs.get_variable("bias", [units], initializers.zeros())
    return y


@gin.configurable("clip_text_encoder", denylist=["vocab_size", "length", "name"])
class TextTransformer(abstract_arch.Network):
  """tokens int32 [N, L] -> text embeddings [N, embed_dim] (see module doc)."""

  def __init__(self, vocab_size, length, width=64, num_layers=2, num_heads=4,
               embed_dim=64, name="text_encoder"):
    super().__init__(name=name, batch_norm_fn=None, spectral_norm=False)
    if width % num_heads:
      raise ValueError(f"clip_text_encoder.width ({width}) must be divisible by "
                       f"num_heads ({num_heads}).")
    self.vocab_size, self.length = int(vocab_size), int(length)
    self.width, self.num_layers = int(width), int(num_layers)
    self.num_heads, self.embed_dim = int(num_heads), int(embed_dim)

  def _attention(self, x, name):
    n, length, width = -1, self.length, self.width
    head = width // self.num_heads
    with vs.variable_scope(name):
      qkv = _dense(x, 3 * width, "qkv", width ** -0.5)
      qkv = tf.reshape(qkv, [n, length, 3, self.num_heads, head])
      q, k, v = (tf.transpose(qkv[:, :, i], [0, 2, 1, 3]) for i in range(3))
      logits = tf.matmul(q, k, transpose_b=True) / math.sqrt(head)
      causal = tf.linalg.band_part(tf.ones([length, length]), -1, 0)
      logits += (1.0 - causal) * -1e9
      out = tf.matmul(tf.nn.softmax(logits, axis=-1), v)      # [N, H, L, d]
      out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [n, length, width])
      return _dense(out, width, "out", (2 * self.num_layers * width) ** -0.5)

  def __call__(self, tokens):
    tokens = tf.convert_to_tensor(tokens, tf.int32)
    with self.in_store():
      embedding = vs.get_variable("token_embedding",
                                  [self.vocab_size, self.width],
                                  initializers.normal(0.02))
      position = vs.get_variable("position_embedding",
                                 [self.length, self.width],
                                 initializers.normal(0.01))
      x = tf.gather(embedding, tokens) + position
      for i in range(self.num_layers):
        with vs.variable_scope(f"block{i}"):
          x += self._attention(_layer_norm(x, "ln1"), "attention")
          h = _dense(_layer_norm(x, "ln2"), 4 * self.width, "fc", self.width ** -0.5)
          x += _dense(tf.nn.gelu(h), self.width, "proj",
                      (2 * self.num_layers * 4 * self.width) ** -0.5)
      x = _layer_norm(x, "ln_final")
      eos = tf.argmax(tf.cast(tf.equal(tokens, tokenizer_lib.EOS), tf.int32),
                      axis=1, output_type=tf.int32)
      pooled = tf.gather(x, eos, batch_dims=1)
      return _dense(pooled, self.embed_dim, "projection", self.width ** -0.5,
                    use_bias=False)


@gin.configurable("clip_image_encoder", denylist=["name"])
class ImageEncoder(abstract_arch.Network):
  """images [N, H, W, C] in [0, 1] -> {"embedding": [N, embed_dim],
  "features": [the stem's map and every stage's]} (see module doc)."""

  def __init__(self, widths=(32, 64, 128), embed_dim=64, name="image_encoder"):
    super().__init__(name=name, batch_norm_fn=None, spectral_norm=False)
    self.widths = tuple(int(w) for w in widths)
    self.embed_dim = int(embed_dim)

  @staticmethod
  def _conv(x, channels, stride, name):
    fan_in = int(x.shape[-1]) * 9
    return layers.conv2d(x, channels, 3, 3, stride, stride,
                         stddev=(2.0 / fan_in) ** 0.5, name=name)

  def __call__(self, images):
    with self.in_store():
      x = tf.convert_to_tensor(images, tf.float32) * 2.0 - 1.0
      x = tf.nn.relu(self._conv(x, self.widths[0], 1, "stem"))
      features = [x]
      for i, width in enumerate(self.widths):
        with vs.variable_scope(f"stage{i}"):
          x = tf.nn.relu(self._conv(x, width, 2, "down"))
          x = x + tf.nn.relu(self._conv(x, width, 1, "residual"))
          features.append(x)
      pooled = tf.reduce_mean(x, axis=[1, 2])
      with vs.variable_scope("projection"):
        embedding = _dense(pooled, self.embed_dim, "dense",
                           self.widths[-1] ** -0.5, use_bias=False)
      return {"embedding": embedding, "features": features}
