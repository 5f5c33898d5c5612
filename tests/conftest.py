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


# oneDNN ISA limits without bfloat16 kernels. `make test-variants` runs the suite with
# ONEDNN_MAX_CPU_ISA=AVX2 to get an AVX2 machine's float rounding, but TensorFlow chooses
# oneDNN's bfloat16 kernels from the CPU's real features (`IsBF16SupportedByOneDNNOnThisCPU`
# in tensorflow/core/util/util.cc: AVX512F or AVX_NE_CONVERT), and oneDNN limited to
# these ISAs then crashes the process (measured on an AVX-512 AMD EPYC: a segfault in
# the bfloat16 BatchMatMul under AVX, AVX2 and AVX2_VNNI; AVX512_CORE runs it). A real
# AVX2 CPU gets TensorFlow's Eigen bfloat16 kernels instead, so only the emulation skips
# the tests marked `bf16`.
_ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI")


def pytest_collection_modifyitems(config, items):
  del config  # Unused.
  isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
  if isa not in _ISAS_WITHOUT_BF16:
    return
  skip = pytest.mark.skip(reason=f"ONEDNN_MAX_CPU_ISA={isa} emulates a CPU without "
                          "bfloat16 kernels; TensorFlow would still pick oneDNN's.")
  for item in items:
    if item.get_closest_marker("bf16"):
      item.add_marker(skip)

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
