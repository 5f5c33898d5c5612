"""Shared test set-up: quiet TensorFlow, a clean gin config per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import gin  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs so MirroredStrategy tests can run a 2-replica code path.
_cpus = tf.config.list_physical_devices("CPU")
try:
  tf.config.set_logical_device_configuration(
      _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:
  pass  # Already initialised.


@pytest.fixture(autouse=True)
def clean_gin():
  """Every test starts and ends with an empty gin config."""
  gin.clear_config()
  yield
  gin.clear_config()



@pytest.fixture
def two_replica_strategy():
  """The shared 2-replica MirroredStrategy (see tf_test_utils)."""
  import tf_test_utils  # pylint: disable=g-import-not-at-top
  return tf_test_utils.two_replica_strategy()
