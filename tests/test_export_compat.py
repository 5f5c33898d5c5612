"""Compatibility of exported modules with the classic TF-Hub BigGAN notebook.

Marked `compat` (excluded from `make test`; run with `make test-compat`): runs
tests/compat/hub_module_flow.py -- hub.Module(path), get_input_info_dict(), one
placeholder per input, sess.run in batches of 8 with a smaller last batch,
truncated-normal z and one-hot y, plus compare_gan's gen/disc tag sets -- with
the Python 3.11 / tensorflow 2.15 / tensorflow_hub 0.15 interpreter of the
compat environment (`make compat-env`, default .venv-compat; override with
$COMPARE_GAN2_COMPAT_PYTHON), and compares its outputs with the module loaded in
the current TensorFlow.
"""

import os
import subprocess

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import export_test_utils as etu
from compare_gan2.export import hub_export

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPAT_PYTHON = os.environ.get("COMPARE_GAN2_COMPAT_PYTHON",
                               os.path.join(REPO, ".venv-compat", "bin", "python"))
FLOW = os.path.join(REPO, "tests", "compat", "hub_module_flow.py")

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def compat_python():
  if not os.path.exists(COMPAT_PYTHON):
    pytest.skip(f"compat environment missing ({COMPAT_PYTHON}): run `make "
                "compat-env` (Python 3.11, tensorflow 2.15, tensorflow_hub 0.15) "
                "or set COMPARE_GAN2_COMPAT_PYTHON.")
  return COMPAT_PYTHON


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp("compat_biggan"))
  try:
    ctx, ckpt = etu.train(model_dir, etu.BIGGAN_BINDINGS)
    return hub_export.export_checkpoint(ctx, ckpt)
  finally:
    gin.clear_config()


def test_classic_notebook_flow(compat_python, module_dir, tmp_path):
  out = str(tmp_path / "flow.npz")
  result = subprocess.run(
      [compat_python, FLOW, module_dir, out, "--num_samples", "10",
       "--truncation", "0.4"], capture_output=True, text=True, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES=""))
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
  assert "tensorflow 2.15" in result.stdout and "tensorflow_hub 0.15" in result.stdout
  assert "python 3.11" in result.stdout
  flow = dict(np.load(out))
  assert flow["default"].shape == (10, 32, 32, 3)
  assert flow["prediction"].shape == (10, 1)

  # Same numbers as the module loaded with today's TensorFlow / tensorflow_hub.
  sig = hub.load(module_dir).signatures["default"]
  current = sig(z=tf.constant(flow["z"]), y=tf.constant(flow["y"]),
                truncation=tf.constant(0.4))["default"].numpy()
  np.testing.assert_allclose(flow["default"], current, atol=1e-4)
  def run_variant(tags, feeds, output):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
      meta = tf.compat.v1.saved_model.load(session, tags, module_dir)
      sig_def = meta.signature_def["default"]
      return session.run(sig_def.outputs[output].name,
                         {sig_def.inputs[k].name: v for k, v in feeds.items()})

  labels = flow["labels"].astype(np.int32)
  generated = run_variant(["gen", "bsNone"], {"z": flow["z"], "labels": labels},
                          "generated")
  np.testing.assert_allclose(flow["generated"], generated, atol=1e-4)
  prediction = run_variant(["disc", "bsNone"],
                           {"images": flow["generated"], "labels": labels},
                           "prediction")
  np.testing.assert_allclose(flow["prediction"], prediction, atol=1e-5)
