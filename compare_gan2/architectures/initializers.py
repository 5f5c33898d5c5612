"""Stateless, seedable weight initializers.

Every initializer is a callable `init(shape, dtype=tf.float32, name=None)`.
Random initializers draw from TF's stateless RNG with the seed

    (global initialization seed, crc32(full variable name))

so a variable's initial value depends only on the run seed and its name, not
on creation order, device or distribution strategy (every replica computes the
same value). The global seed is set with `set_initialization_seed` (the trainer
passes `run_config.tf_random_seed`).

Semantics follow the TF1 initializers that compare_gan used:
- `normal(stddev)`:    tf.initializers.random_normal(stddev=stddev).
- `truncated(stddev)`: tf.initializers.truncated_normal (re-drawn beyond 2 std).
- `orthogonal(gain)`:  tf.initializers.orthogonal (Saxe et al., 2014): the
  kernel is viewed as a 2-D matrix [prod(shape[:-1]), shape[-1]], filled with
  Q from the QR decomposition of a Gaussian matrix, with Q's column signs fixed
  by sign(diag(R)).
- `glorot_normal()`:   tf.initializers.glorot_normal (Glorot & Bengio, 2010):
  truncated normal with stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796...,
  the divisor correcting for the variance lost by truncation at 2 std.
- `constant(value)`, `zeros()`, `ones()`.

`weight_initializer` (gin "weights") picks the kernel initializer of the layers.
"""

import os
import threading
import zlib

import gin
import numpy as np
import tensorflow as tf

from compare_gan2.architectures import names

# Names accepted by the gin `weights.initializer` (compare_gan's `gans/consts.py`).
NORMAL_INIT = "normal"
TRUNCATED_INIT = "truncated"
ORTHOGONAL_INIT = "orthogonal"
INITIALIZER_NAMES = (NORMAL_INIT, TRUNCATED_INIT, ORTHOGONAL_INIT)

_lock = threading.Lock()
_seed = None

# Standard deviation of a unit normal truncated at +-2 std (TF1 constant).
_TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def set_initialization_seed(seed=None):
  """Sets the global initialization seed; None picks a random seed (once)."""
  global _seed
  with _lock:
    if seed is None:
      seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    _seed = int(seed)
  return _seed


def get_initialization_seed():
  """Returns the global initialization seed, picking a random one if unset."""
  with _lock:
    current = _seed
  if current is None:
    return set_initialization_seed(None)
  return current


def stateless_seed(name):
  """The [2] int64 stateless seed for the variable called `name`."""
  if not name:
    raise ValueError("Random initializers need the full variable name for the "
                     "stateless seed; got name={!r}.".format(name))
  name_hash = zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF
  return tf.constant([get_initialization_seed(), name_hash], dtype=tf.int64)


def _fans(shape):
  """TF1 VarianceScaling fans: convolution kernels use the receptive field."""
  shape = [int(d) for d in shape]
  if not shape:
    return 1, 1
  if len(shape) == 1:
    return shape[0], shape[0]
  if len(shape) == 2:
    return shape[0], shape[1]
  receptive_field = int(np.prod(shape[:-2]))
  return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
  """Base class: `init(shape, dtype=tf.float32, name=None) -> Tensor`."""

  def __call__(self, shape, dtype=tf.float32, name=None):
    raise NotImplementedError

  def __repr__(self):
    args = ", ".join("{}={!r}".format(k, v) for k, v in sorted(vars(self).items()))
    return "{}({})".format(type(self).__name__, args)


class Normal(Initializer):
  """N(0, stddev^2)."""

  def __init__(self, stddev=1.0):
    self.stddev = stddev

  def __call__(self, shape, dtype=tf.float32, name=None):
    return self.stddev * tf.random.stateless_normal(
        shape, seed=stateless_seed(name), dtype=dtype)


class TruncatedNormal(Initializer):
  """N(0, stddev^2) truncated at two standard deviations."""

  def __init__(self, stddev=1.0):
    self.stddev = stddev

  def __call__(self, shape, dtype=tf.float32, name=None):
    return self.stddev * tf.random.stateless_truncated_normal(
        shape, seed=stateless_seed(name), dtype=dtype)


class Orthogonal(Initializer):
  """(Semi-)orthogonal matrix on the kernel reshaped to [-1, shape[-1]]."""

  def __init__(self, gain=1.0):
    self.gain = gain

  def __call__(self, shape, dtype=tf.float32, name=None):
    shape = [int(d) for d in shape]
    if len(shape) < 2:
      raise ValueError("The orthogonal initializer needs a shape of rank >= 2, "
                       "got {} for {}.".format(shape, name))
    num_rows = int(np.prod(shape[:-1]))
    num_cols = shape[-1]
    flat_shape = (max(num_rows, num_cols), min(num_rows, num_cols))
    a = tf.random.stateless_normal(flat_shape, seed=stateless_seed(name),
                                   dtype=dtype)
    q, r = tf.linalg.qr(a, full_matrices=False)
    q *= tf.sign(tf.linalg.diag_part(r))
    if num_rows < num_cols:
      q = tf.transpose(q)
    return self.gain * tf.reshape(q, shape)


class GlorotNormal(Initializer):
  """TF1 glorot_normal: truncated normal, variance 2 / (fan_in + fan_out)."""

  def __call__(self, shape, dtype=tf.float32, name=None):
    fan_in, fan_out = _fans(shape)
    stddev = np.sqrt(2.0 / max(1.0, fan_in + fan_out)) / _TRUNCATED_NORMAL_STDDEV
    return stddev * tf.random.stateless_truncated_normal(
        shape, seed=stateless_seed(name), dtype=dtype)


class Constant(Initializer):
  """Every entry equals `value`."""

  def __init__(self, value=0.0):
    self.value = value

  def __call__(self, shape, dtype=tf.float32, name=None):
    return tf.fill([int(d) for d in shape], tf.cast(self.value, dtype))


def normal(stddev=1.0):
  return Normal(stddev)


def truncated(stddev=1.0):
  return TruncatedNormal(stddev)


def orthogonal(gain=1.0):
  return Orthogonal(gain)


def glorot_normal():
  return GlorotNormal()


def constant(value=0.0):
  return Constant(value)


def zeros():
  return Constant(0.0)


def ones():
  return Constant(1.0)


@gin.configurable("weights", module=names.OPS_GIN_MODULE)
def weight_initializer(initializer=NORMAL_INIT, stddev=0.02):
  """Returns the weight initializer called `initializer`.

  Quirk kept from compare_gan (docs/compare_gan_quirks.md `weights-stddev`):
  `layers.linear`, `conv2d` and `deconv2d` pass `stddev=0.02` explicitly, so a
  `weights.stddev` binding does not affect them.

  Args:
    initializer: "normal", "truncated" (normal
      truncated at 2 std) or "orthogonal" (gain 1; ignores stddev).
    stddev: standard deviation for "normal" and "truncated".
  """
  if initializer == NORMAL_INIT:
    return normal(stddev)
  if initializer == TRUNCATED_INIT:
    return truncated(stddev)
  if initializer == ORTHOGONAL_INIT:
    return orthogonal()
  raise ValueError("Unknown weight initializer {!r}; known: {}.".format(
      initializer, INITIALIZER_NAMES))
