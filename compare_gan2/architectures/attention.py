"""Self-attention: SAGAN's non-local block (compare_gan's
`arch_ops.non_local_block`) on a blocked, memory-efficient attention."""

import tensorflow as tf

from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store as vs


# Queries per block of the blocked attention (measured best on 2 CPU cores for
# BigGAN's 64x64 attention maps).
ATTENTION_QUERY_BLOCK = 64


def _attention_weights(queries, keys):
  """softmax(queries keys^T) over the keys, in float32 (any input dtype)."""
  return tf.nn.softmax(tf.cast(tf.matmul(queries, keys, transpose_b=True),
                               tf.float32))


def attention(queries, keys, values, query_block=None):
  """softmax(queries keys^T) values: [b, q, d] x [b, k, d] x [b, k, v] -> [b, q, v].

  The softmax runs in float32; the result has the inputs' dtype. With more than
  `query_block` (default ATTENTION_QUERY_BLOCK) queries it is computed block by
  block of queries, and the gradient recomputes each block's weights instead of
  keeping the [b, q, k] matrix ("memory-efficient attention", Rabe & Staats,
  2021): the same values and gradients (to float rounding), with the big matrix
  never in memory at once.
  """
  query_block = query_block or ATTENTION_QUERY_BLOCK
  num_queries = int(queries.shape[1])
  if num_queries <= query_block or num_queries % query_block:
    weights = _attention_weights(queries, keys)
    return tf.matmul(tf.cast(weights, values.dtype), values)
  return _blocked_attention(queries, keys, values, num_queries // query_block)


def _blocked_attention(queries, keys, values, num_blocks):
  """`attention` over `num_blocks` blocks of queries, gradient by recomputation."""
  dtype = values.dtype

  @tf.custom_gradient
  def blocked(queries, keys, values):
    blocks = tf.split(queries, num_blocks, axis=1)
    outputs = tf.concat(
        [tf.matmul(tf.cast(_attention_weights(q, keys), dtype), values)
         for q in blocks], axis=1)

    def grad(d_outputs):
      d_queries, d_keys, d_values = [], [], []
      for q, d_out in zip(blocks, tf.split(d_outputs, num_blocks, axis=1)):
        weights = _attention_weights(q, keys)  # float32, recomputed.
        d_weights = tf.cast(tf.matmul(d_out, values, transpose_b=True), tf.float32)
        # Softmax backward: dL/dlogits = w * (dL/dw - sum_k w dL/dw).
        d_logits = weights * (d_weights - tf.reduce_sum(
            d_weights * weights, axis=-1, keepdims=True))
        d_logits = tf.cast(d_logits, dtype)
        d_queries.append(tf.matmul(d_logits, keys))
        d_keys.append(tf.matmul(d_logits, q, transpose_a=True))
        d_values.append(tf.matmul(tf.cast(weights, dtype), d_out, transpose_a=True))
      return tf.concat(d_queries, axis=1), tf.add_n(d_keys), tf.add_n(d_values)

    return outputs, grad

  return blocked(queries, keys, values)


def non_local_block(x, name, use_sn):
  """SAGAN self-attention block (Zhang et al., 2019, arXiv:1805.08318).

  theta = conv1x1(x, C/8), phi = maxpool2x2(conv1x1(x, C/8)),
  g = maxpool2x2(conv1x1(x, C/2)); attn = softmax(theta phi^T) over the HW/4
  pooled positions; o = conv1x1(attn g, C). Returns x + sigma * o with the
  scalar `sigma` initialised to 0. All convs have no bias and use the gin
  `weights` initializer. `attention` computes attn g (blocked on large maps).
  """
  channels = x.shape[-1]
  if channels is not None and channels < 8:
    raise ValueError(
        f"Attention block {name!r} needs at least 8 input channels (it projects "
        f"to C/8), got {channels}. Increase the width `ch` or remove the block "
        "from `blocks_with_attention`.")
  def flatten_spatial(t):
    return tf.reshape(t, [-1, t.shape[1] * t.shape[2], t.shape[3]])

  with vs.variable_scope(name):
    h, w, num_channels = x.shape.as_list()[1:]
    channels_attn = num_channels // 8
    channels_g = num_channels // 2
    theta = layers.conv1x1(x, channels_attn, name="conv2d_theta",
                           use_sn=use_sn, use_bias=False)
    theta = flatten_spatial(theta)
    phi = layers.conv1x1(x, channels_attn, name="conv2d_phi", use_sn=use_sn,
                         use_bias=False)
    phi = flatten_spatial(tf.nn.max_pool2d(phi, 2, 2, "VALID"))
    g = layers.conv1x1(x, channels_g, name="conv2d_g", use_sn=use_sn,
                       use_bias=False)
    g = flatten_spatial(tf.nn.max_pool2d(g, 2, 2, "VALID"))
    attn_g = tf.reshape(attention(theta, phi, g), [-1, h, w, channels_g])
    sigma = precision.compute_cast(
        vs.get_variable("sigma", [], initializers.zeros()))
    attn_g = layers.conv1x1(attn_g, num_channels, name="conv2d_attn_g",
                            use_sn=use_sn, use_bias=False)
    return x + sigma * attn_g
