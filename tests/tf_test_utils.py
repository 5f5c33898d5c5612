"""Helpers shared by test files (importable because tests/ has no __init__.py)."""

import tensorflow as tf

_STRATEGY = []


def two_replica_strategy():
  """The process-wide MirroredStrategy over the two logical CPUs of conftest.py.

  Several MirroredStrategy objects using collective ops in one process clash on
  collective instance keys (tensorflow#62790: "Shape mismatch in the collective
  instance 100"), so every test uses this one, reducing through one device.
  """
  if not _STRATEGY:
    _STRATEGY.append(tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"],
        cross_device_ops=tf.distribute.ReductionToOneDevice()))
  return _STRATEGY[0]
