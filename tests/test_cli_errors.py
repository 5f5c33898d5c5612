"""Bad input through the command line: one line `<program>: error: ...` naming the
problem and the fix, no traceback, exit status 1, and nothing in the model
directory lost."""

import glob
import os
import shutil
import subprocess
import sys

import pytest
import tf_test_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [f"--gin_bindings={b}" for b in tf_test_utils.TINY_GAN_BINDINGS]


def _run(module, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                        text=True, cwd=ROOT, env=env, timeout=600, check=False)


def _main(*args):
  return _run("compare_gan2.main", *args)


def _assert_one_line_error(result, program, *fragments):
  assert result.returncode == 1, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"{program}: error: "), last
  for fragment in fragments:
    assert fragment in last, last


def _snapshot(model_dir):
  """{relative path: bytes} of every file under model_dir."""
  files = {}
  for path in glob.glob(os.path.join(model_dir, "**"), recursive=True):
    if os.path.isfile(path):
      with open(path, "rb") as f:
        files[os.path.relpath(path, model_dir)] = f.read()
  return files


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """The tiny GAN trained to step 4 through the command line."""
  model_dir = str(tmp_path_factory.mktemp("trained") / "run")
  result = _main(f"--model_dir={model_dir}", *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  return model_dir


def _copy(trained, tmp_path):
  model_dir = str(tmp_path / "run")
  shutil.copytree(trained, model_dir)
  return model_dir


@pytest.mark.parametrize("bindings, fragments", [
    (['dataset.name = "cifar100000"'], ["cifar100000", "polygons_32"]),
    (['options.architecture = "resnet_9000_arch"'],
     ["resnet_9000_arch", "options.architecture", "resnet_biggan_arch"]),
    (['options.architecture = "resnet_cifar_arch"', 'dataset.name = "polygons_128"'],
     ["128x128", "32x32"]),
    (["options.batch_size = 0"], ["options.batch_size", ">= 1", "got 0"]),
    (["options.training_steps = -5"], ["options.training_steps", ">= 0"]),
    (["run_config.keep_checkpoint_max = 0"], ["run_config.keep_checkpoint_max"]),
])
def test_bad_configuration_is_one_line_and_keeps_the_model_dir(
    trained, tmp_path, bindings, fragments):
  model_dir = _copy(trained, tmp_path)
  before = _snapshot(model_dir)
  result = _main(f"--model_dir={model_dir}", *TINY,
                 "--gin_bindings=options.training_steps = 6",
                 *[f"--gin_bindings={b}" for b in bindings])
  _assert_one_line_error(result, "compare-gan2", *fragments)
  assert _snapshot(model_dir) == before


def test_resuming_with_another_configuration_is_a_mismatch_not_damage(
    trained, tmp_path):
  model_dir = _copy(trained, tmp_path)
  before = _snapshot(model_dir)
  result = _main(f"--model_dir={model_dir}", *TINY,
                 "--gin_bindings=options.training_steps = 6",
                 "--gin_bindings=options.z_dim = 16")
  _assert_one_line_error(result, "compare-gan2", "model.ckpt-4",
                         "does not match the configured model", "operative_config")
  assert "damaged" not in result.stderr
  assert _snapshot(model_dir) == before


def test_unknown_schedule(tmp_path):
  result = _main(f"--model_dir={tmp_path / 'run'}", "--schedule=trian", *TINY)
  _assert_one_line_error(result, "compare-gan2", "trian", "continuous_eval")
  assert not os.path.exists(tmp_path / "run")


def test_no_gin_config_is_one_line_and_creates_nothing(tmp_path):
  result = _main(f"--model_dir={tmp_path / 'run'}")
  _assert_one_line_error(result, "compare-gan2", "--gin_config", "batch_size")
  assert not os.path.exists(tmp_path / "run")


def test_unknown_dataset_creates_no_model_dir(tmp_path):
  result = _main(f"--model_dir={tmp_path / 'run'}", *TINY,
                 '--gin_bindings=dataset.name = "mnist_5"')
  _assert_one_line_error(result, "compare-gan2", "mnist_5", "mnist_5k_32")
  assert not os.path.exists(tmp_path / "run")


def test_second_training_on_a_model_dir_is_refused(trained, tmp_path):
  """A running training holds TRAINING.lock: a second one is one line, and the
  first's files stay as they are."""
  model_dir = str(tmp_path / "run")
  shutil.copytree(trained, model_dir)
  sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
  try:
    import json  # pylint: disable=g-import-not-at-top
    import socket  # pylint: disable=g-import-not-at-top
    with open(os.path.join(model_dir, "TRAINING.lock"), "w") as f:
      json.dump({"pid": sleeper.pid, "host": socket.gethostname()}, f)
    before = _snapshot(model_dir)
    result = _main(f"--model_dir={model_dir}", *TINY,
                   "--gin_bindings=options.training_steps = 6")
    _assert_one_line_error(result, "compare-gan2", f"process {sleeper.pid}",
                           "TRAINING.lock")
    assert _snapshot(model_dir) == before
  finally:
    sleeper.kill()
    sleeper.wait()


def test_model_dir_that_is_a_file(tmp_path):
  path = tmp_path / "not_a_dir"
  path.write_text("results")
  result = _main(f"--model_dir={path}", *TINY)
  _assert_one_line_error(result, "compare-gan2", "is a file")
  assert path.read_text() == "results"


def test_damaged_checkpoint_names_it_and_the_previous_one(trained, tmp_path):
  model_dir = _copy(trained, tmp_path)
  data = glob.glob(os.path.join(model_dir, "model.ckpt-4.data-*"))[0]
  with open(data, "r+b") as f:
    f.truncate(os.path.getsize(data) // 2)
  before = _snapshot(model_dir)
  result = _main(f"--model_dir={model_dir}", *TINY,
                 "--gin_bindings=options.training_steps = 6")
  _assert_one_line_error(result, "compare-gan2", "model.ckpt-4", "damaged",
                         "step 2", "move")
  assert _snapshot(model_dir) == before
  # The fix the message gives works: training resumes from step 2.
  os.makedirs(tmp_path / "damaged")
  for path in glob.glob(os.path.join(model_dir, "model.ckpt-4.*")):
    shutil.move(path, tmp_path / "damaged")
  result = _main(f"--model_dir={model_dir}", *TINY,
                 "--gin_bindings=options.training_steps = 6")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Restored" in result.stderr and "model.ckpt-2" in result.stderr
  assert os.path.exists(os.path.join(model_dir, "model.ckpt-6.index"))


def test_export_without_checkpoint(tmp_path):
  os.makedirs(tmp_path / "empty")
  result = _run("compare_gan2.export", f"--model_dir={tmp_path / 'empty'}")
  _assert_one_line_error(result, "python -m compare_gan2.export", "No checkpoint",
                         "--schedule=train")
  assert os.listdir(tmp_path / "empty") == []


def test_export_with_another_configuration(trained, tmp_path):
  model_dir = _copy(trained, tmp_path)
  before = _snapshot(model_dir)
  result = _run("compare_gan2.export", f"--model_dir={model_dir}",
                *TINY, "--gin_bindings=options.z_dim = 16")
  _assert_one_line_error(result, "python -m compare_gan2.export",
                         "does not match the configured model", "operative_config")
  assert _snapshot(model_dir) == before
