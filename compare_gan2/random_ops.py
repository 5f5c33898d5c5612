"""Stateless random draws with TF1-style names, so compare_gan configs resolve.

compare_gan configs write `z.distribution_fn = @tf.random.normal`. `gin.tf` (which
registered TF's own functions) cannot be imported on TF >= 2.16, and stateful TF
random ops would make kill-and-resume non-reproducible anyway. These functions take
the same arguments as `tf.random.*` plus an optional `seed` of shape [2]: with it they
are stateless (`tf.random.stateless_*`), without it they fall back to `tf.random.*`.
`gin_setup` registers them under the names `tf.random.normal`, `tf.random.uniform`,
`tf.random.truncated_normal` (and the TF1 aliases `tf.random_normal`, ...).
"""

import tensorflow as tf


def normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32, seed=None, name=None):
  """N(mean, stddev^2) samples."""
  if seed is None:
    return tf.random.normal(shape, mean, stddev, dtype, name=name)
  return tf.random.stateless_normal(shape, seed, mean, stddev, dtype, name=name)


def uniform(shape, minval=0.0, maxval=None, dtype=tf.float32, seed=None, name=None):
  """U[minval, maxval) samples (maxval defaults to 1 for floats)."""
  if maxval is None:
    maxval = 1.0
  if seed is None:
    return tf.random.uniform(shape, minval, maxval, dtype, name=name)
  return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype, name=name)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=tf.float32, seed=None,
                     name=None):
  """N(mean, stddev^2) samples re-drawn outside two standard deviations."""
  if seed is None:
    return tf.random.truncated_normal(shape, mean, stddev, dtype, name=name)
  return tf.random.stateless_truncated_normal(shape, seed, mean, stddev, dtype,
                                              name=name)


def derive_seed(base, *values, dtype=tf.int32):
  """The package's one way to derive a stateless seed: `[2]` seed of `dtype`.

  `base` is a `[2]` seed or a pair of integers (any size: the arithmetic is
  int64, so e.g. a large `eval.seed` cannot overflow); every further integer is
  folded in with `tf.random.experimental.stateless_fold_in`, so different
  `values` give independent streams.
  """
  seed = tf.cast(tf.stack([tf.cast(b, tf.int64) for b in base])
                 if isinstance(base, (tuple, list)) else base, tf.int64)
  for value in values:
    seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(value, tf.int64))
  return tf.cast(seed, dtype)



# ---------------------------------------------------------------- counter hash
# Vectorised, platform-independent integer hashing (murmur3's finaliser): the
# random numbers of an example are a pure function of (seed, stream, index).


def xor32(a, b):
  return tf.bitwise.bitwise_xor(a, b)


def fmix32(x):
  """murmur3's 32-bit finaliser (a bijective avalanche hash) on uint32 tensors."""
  x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
  x = x * tf.constant(0x85EBCA6B, tf.uint32)
  x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(13, tf.uint32)))
  x = x * tf.constant(0xC2B2AE35, tf.uint32)
  x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
  return x


def _u32(x):
  """Low 32 bits of an integer tensor as uint32."""
  x = tf.cast(x, tf.int64)
  return tf.cast(tf.bitwise.bitwise_and(x, 0xFFFFFFFF), tf.uint32)


def hash_keys(seed, stream, index):
  """uint32 keys of (seed, stream, index), elementwise over int64 `index`."""
  index = tf.cast(index, tf.int64)
  h = fmix32(xor32(_u32(seed), tf.constant(0x9E3779B9, tf.uint32)))
  h = fmix32(xor32(h, _u32(tf.cast(stream, tf.int64) * 0x632BE5AB)))
  h = fmix32(h + _u32(tf.bitwise.right_shift(index, 32)))
  return fmix32(xor32(h, _u32(index)))


def hash_uniform(seed, stream, index):
  """float32 in [0, 1) of (seed, stream, index), elementwise over `index`."""
  mantissa = tf.bitwise.right_shift(hash_keys(seed, stream, index),
                                    tf.constant(8, tf.uint32))
  return tf.cast(mantissa, tf.float32) * (1.0 / (1 << 24))
