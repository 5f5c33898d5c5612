"""`python -m compare_gan2.sample`: samples of a checkpoint as a PNG grid."""

import os
import subprocess
import sys

import gin
import numpy as np
from PIL import Image
import pytest

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2 import sample
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CONFIG = os.path.join(ROOT, "gin_configs", "biggan_polygons32.gin")
_BINDINGS = ["options.training_steps = 2", "options.batch_size = 4",
             "run_config.save_checkpoints_steps = 2",
             "standardize_batch.use_moving_averages = False",
             "eval.standing_stats_examples = 64"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
  """A conditional BigGAN trained 2 steps (G with standing statistics)."""
  directory = str(tmp_path_factory.mktemp("sample") / "run")
  gin.clear_config()
  gin_setup.parse([_CONFIG], _BINDINGS)
  runner.schedule_train(builder.build_context(directory))
  gin.clear_config()
  return directory


def _evaluator_images(model_dir, num):
  gin.clear_config()
  gin_setup.parse([_CONFIG], _BINDINGS)
  gan = builder.build_gan(model_dir)
  checkpoints.restore_gan(gan, checkpoints.latest_checkpoint(model_dir))
  evaluator = evaluator_lib.Evaluator(gan, num_averaging_runs=1)
  evaluator.num_samples = num
  evaluator.prepare_generator()
  return evaluator.sample(0)


def test_samples_equal_the_evaluated_generators(model_dir, tmp_path):
  out = str(tmp_path / "grid.png")
  # The operative config holds what training used; evaluation bindings (here
  # the standing statistics' size) are given as on the evaluation command line.
  path, checkpoint = sample.sample_model_dir(
      model_dir, out, gin_bindings=["eval.standing_stats_examples = 64"], num=16,
      columns=8)
  assert path == out and checkpoint.endswith("model.ckpt-2")
  images, labels = _evaluator_images(model_dir, 16)
  grid = np.asarray(Image.open(out))
  assert grid.shape == (2 * 34 + 2, 8 * 34 + 2, 3)
  expected = (np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8)
  for i in range(16):
    r, c = divmod(i, 8)
    np.testing.assert_array_equal(
        grid[2 + r * 34:2 + r * 34 + 32, 2 + c * 34:2 + c * 34 + 32], expected[i])
  gin.clear_config()
  gin_setup.parse([_CONFIG], _BINDINGS)
  gan = builder.build_gan(model_dir)
  checkpoints.restore_gan(gan, checkpoint)
  same, same_labels = sample.sample_images(gan, num=16, columns=8, seed=42)
  np.testing.assert_allclose(same, images, atol=1e-6)
  np.testing.assert_array_equal(same_labels, labels)


def test_classes_truncation_and_interpolation(model_dir):
  gin.clear_config()
  gin_setup.parse([_CONFIG], _BINDINGS)
  gan = builder.build_gan(model_dir)
  checkpoints.restore_gan(gan, checkpoints.latest_checkpoint(model_dir))
  images, labels = sample.sample_images(gan, columns=4, classes=[2, 5])
  assert images.shape == (8, 32, 32, 3)
  np.testing.assert_array_equal(labels, [2, 2, 2, 2, 5, 5, 5, 5])
  z, _ = sample.latents(gan, 6, seed=1, truncation=0.5)
  unit, _ = sample.latents(gan, 6, seed=1, truncation=1.0)
  # One truncated-normal draw (|z| < 2, so some beyond 1) scaled by truncation.
  np.testing.assert_allclose(z.numpy(), 0.5 * unit.numpy(), rtol=1e-6)
  assert 1.0 < np.abs(unit.numpy()).max() <= 2.0
  untruncated, _ = sample.latents(gan, 6, seed=1)
  assert not np.allclose(untruncated.numpy(), unit.numpy())
  line = sample.interpolated(z, rows=1, columns=5).numpy()
  np.testing.assert_allclose(line[0], z[0], atol=1e-6)
  np.testing.assert_allclose(line[-1], z[1], atol=1e-6)
  np.testing.assert_allclose(line[2], (z[0] + z[1]) / 2, atol=1e-6)
  _, row_labels = sample.sample_images(gan, num=8, columns=4, interpolate=True)
  assert len(set(row_labels[:4])) == 1 and len(set(row_labels[4:])) == 1
  with pytest.raises(errors.UserError, match="in \\[0, 6\\)"):
    sample.parse_classes("1,9", 6)
  with pytest.raises(errors.UserError, match="truncation"):
    sample.latents(gan, 2, seed=1, truncation=0.0)


@pytest.mark.slow  # Three fresh processes (~30 s each on an idle machine).
def test_command_line(model_dir, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  out = str(tmp_path / "cli.png")
  done = subprocess.run(
      [sys.executable, "-m", "compare_gan2.sample", f"--model_dir={model_dir}",
       f"--out={out}", "--classes=0,1,2", "--columns=4", "--truncation=0.7",
       "--gin_bindings=eval.standing_stats_examples = 64"],
      capture_output=True, text=True, timeout=600, env=env)
  assert done.returncode == 0, done.stderr[-2000:]
  in_process = str(tmp_path / "in_process.png")
  gin.clear_config()
  sample.sample_model_dir(
      model_dir, in_process, gin_bindings=["eval.standing_stats_examples = 64"],
      classes="0,1,2", columns=4, truncation=0.7)
  gin.clear_config()
  grid = np.asarray(Image.open(out)).astype(np.int32)
  assert grid.shape == (3 * 34 + 2, 4 * 34 + 2, 3)
  # The same grid as the function (8-bit rounding of float noise: at most 1).
  assert np.abs(grid - np.asarray(Image.open(in_process))).max() <= 1
  bad = subprocess.run(
      [sys.executable, "-m", "compare_gan2.sample", f"--model_dir={tmp_path}/none",
       f"--out={tmp_path}/x.png"], capture_output=True, text=True, timeout=600,
      env=env)
  assert bad.returncode == 1
  assert bad.stderr.strip().splitlines()[-1].startswith(
      "python -m compare_gan2.sample: error: ")
  assert not os.path.exists(f"{tmp_path}/x.png")
  helped = subprocess.run([sys.executable, "-m", "compare_gan2.sample", "--help"],
                          capture_output=True, text=True, timeout=600, env=env)
  assert helped.returncode == 0 and "--truncation" in helped.stdout
