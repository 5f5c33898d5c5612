"""The command line: user errors exit non-zero with a message naming the fix."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-m", "compare_gan2.main", *args],
                        capture_output=True, text=True, cwd=ROOT, env=env,
                        timeout=300, check=False)


def test_misspelt_binding_in_file_fails_before_work(tmp_path):
  config = tmp_path / "typo.gin"
  config.write_text(open(os.path.join(ROOT, "gin_configs/biggan_polygons32.gin"))
                    .read() + "\nModularGAN.g_lrr = 0.1\n")
  result = _run_cli(f"--model_dir={tmp_path / 'run'}", f"--gin_config={config}")
  assert result.returncode != 0
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("compare-gan2: error: Gin binding `ModularGAN.g_lrr = "
                         "0.1` (")
  assert "typo.gin, line " in last
  assert "--list_configurables ModularGAN" in last
  assert not os.path.exists(tmp_path / "run")


def test_dataset_not_available_offline(tmp_path):
  result = _run_cli(
      f"--model_dir={tmp_path / 'run'}",
      "--gin_config=gin_configs/resnet_cifar10.gin",
      f"--tfds_data_dir={tmp_path / 'no_data'}")
  assert result.returncode != 0
  assert "cifar10" in result.stderr and "--tfds_data_dir" in result.stderr


@pytest.mark.parametrize("flag", ["--helpshort"])
def test_help(flag):
  result = _run_cli(flag)
  assert "--model_dir" in result.stdout + result.stderr
