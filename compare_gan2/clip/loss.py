"""CLIP's contrastive loss (Radford et al., 2021, Figure 3).

For a batch of N matching (image, text) pairs with embeddings I, T [N, E]:
  logits = exp(t) * normalize(I) @ normalize(T)^T        [N, N]
  loss = (CE(logits, arange(N)) + CE(logits^T, arange(N))) / 2
with t the learned log temperature (initialised to log(1 / 0.07), exp(t)
clipped at 100 as CLIP does).
"""

import math

import tensorflow as tf

INITIAL_LOG_SCALE = math.log(1 / 0.07)
MAX_SCALE = 100.0


def normalize(x):
  return tf.math.l2_normalize(x, axis=-1, epsilon=1e-12)


def similarity_logits(image_embeddings, text_embeddings, log_scale):
  """exp(log_scale) (clipped at 100) x cosine similarities [N_images, N_texts]."""
  scale = tf.minimum(tf.exp(log_scale), MAX_SCALE)
  return scale * tf.matmul(normalize(image_embeddings),
                           normalize(text_embeddings), transpose_b=True)


def contrastive_loss(image_embeddings, text_embeddings, log_scale):
  """(loss, logits): CLIP's symmetric cross-entropy (module doc)."""
  logits = similarity_logits(image_embeddings, text_embeddings, log_scale)
  labels = tf.range(tf.shape(logits)[0])
  ce = tf.nn.sparse_softmax_cross_entropy_with_logits
  loss = 0.5 * (tf.reduce_mean(ce(labels=labels, logits=logits)) +
                tf.reduce_mean(ce(labels=labels, logits=tf.transpose(logits))))
  return loss, logits
