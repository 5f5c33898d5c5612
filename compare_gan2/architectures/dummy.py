"""`dummy_arch`: a tiny fully-connected G and D for fast tests (compare_gan's dummy).

G: z (and y) -> linear -> batch_norm_fn -> linear -> sigmoid images.
D: flatten -> linear(16) -> lrelu (features) -> linear(1) [+ projection of y].
Not a model for real use; it exists so trainer tests run in seconds.
"""

import gin
import numpy as np
import tensorflow as tf

from compare_gan2.architectures import abstract_arch
from compare_gan2.architectures import layers


@gin.configurable("Generator", module="dummy")
class Generator(abstract_arch.AbstractGenerator):
  """z -> hidden(16) -> images, optionally conditioned by concatenating y."""

  def apply(self, z, y, is_training):
    h, w, c = self.image_shape
    net = z if y is None else tf.concat([z, y], axis=1)
    net = layers.linear(net, 16, scope="fc1", use_sn=self._spectral_norm)
    net = self.batch_norm(net, z=z, y=y, is_training=is_training, name="bn1")
    net = tf.nn.relu(net)
    net = layers.linear(net, h * w * c, scope="fc2", use_sn=self._spectral_norm)
    return tf.sigmoid(tf.reshape(net, [-1, h, w, c]))


@gin.configurable("Discriminator", module="dummy")
class Discriminator(abstract_arch.AbstractDiscriminator):
  """Flattened image -> 16 features -> logit (+ <embed(y), features>)."""

  def apply(self, x, y, is_training):
    net = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])  # Static width.
    net = layers.linear(net, 16, scope="fc1", use_sn=self._spectral_norm)
    features = layers.lrelu(net)
    logit = layers.linear(features, 1, scope="fc2", use_sn=self._spectral_norm)
    if y is not None:
      embedding = layers.linear(y, 16, scope="embed_y", use_bias=False,
                                use_sn=self._spectral_norm)
      logit += tf.reduce_sum(embedding * features, axis=1, keepdims=True)
    return tf.sigmoid(logit), logit, features
