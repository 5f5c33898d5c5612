"""Mixed precision: the dtype layers compute in (variables stay float32).

The training step enters `mixed_precision(dtype)`; each network's `__call__`
enters `network_precision()`, so only the networks' layers compute in `dtype`
(heads outside the networks, sampling and export stay float32). Layers cast
their inputs and variables with `compute_cast`.
"""

import contextlib
import threading

import tensorflow as tf

_local = threading.local()
_lock = threading.Lock()

_mixed_precision = {"depth": 0, "dtype": tf.float32}


@contextlib.contextmanager
def mixed_precision(dtype):
  """Networks called while active compute in `dtype` (process-wide, so replica
  threads see it; the training step enters it, sampling and export do not).

  Variables, spectral-norm power iterations, batch-norm statistics, attention
  softmax and every network output stay float32.
  """
  dtype = tf.as_dtype(dtype)
  with _lock:
    if _mixed_precision["depth"] and _mixed_precision["dtype"] != dtype:
      raise ValueError(f"mixed_precision({dtype.name}) inside "
                       f"mixed_precision({_mixed_precision['dtype'].name}).")
    _mixed_precision["depth"] += 1
    _mixed_precision["dtype"] = dtype
  try:
    yield
  finally:
    with _lock:
      _mixed_precision["depth"] -= 1
      if not _mixed_precision["depth"]:
        _mixed_precision["dtype"] = tf.float32


@contextlib.contextmanager
def network_precision():
  """Entered by a network's __call__: its layers compute in the mixed-precision
  dtype (thread-local, so heads outside the network stay float32)."""
  dtype = _mixed_precision["dtype"] if _mixed_precision["depth"] else tf.float32
  stack = _compute_dtypes()
  stack.append(dtype)
  try:
    yield dtype
  finally:
    stack.pop()


def compute_dtype():
  """The dtype layers compute in here (float32 unless in a mixed network)."""
  stack = _compute_dtypes()
  return stack[-1] if stack else tf.float32


def compute_cast(value):
  """`value` in the compute dtype (floating tensors and variables only)."""
  dtype = compute_dtype()
  if dtype == tf.float32 or not value.dtype.is_floating or value.dtype == dtype:
    return value
  return tf.cast(value, dtype)


def _compute_dtypes():
  """This thread's stack of compute dtypes (one per entered network)."""
  if not hasattr(_local, "compute_dtypes"):
    _local.compute_dtypes = []
  return _local.compute_dtypes
