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
from tf_test_utils import assert_one_line_error as _assert_one_line_error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [f"--gin_bindings={b}" for b in tf_test_utils.TINY_GAN_BINDINGS]


def _run(module, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                        text=True, cwd=ROOT, env=env, timeout=600, check=False)


def _main(*args):
  return _run("compare_gan2.main", *args)


LOG = "compare_gan2.log"


def _snapshot(model_dir):
  """{relative path: bytes} of every file under model_dir."""
  files = {}
  for path in glob.glob(os.path.join(model_dir, "**"), recursive=True):
    if os.path.isfile(path):
      with open(path, "rb") as f:
        files[os.path.relpath(path, model_dir)] = f.read()
  return files


def _assert_kept(before, after):
  """Every file as it was, except the log, which may only have grown: a
  failed command run on the directory appends its lines."""
  assert after[LOG].startswith(before[LOG])
  assert {k: v for k, v in after.items() if k != LOG} == {
      k: v for k, v in before.items() if k != LOG}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """The tiny GAN trained to step 4 through the command line."""
  model_dir = str(tmp_path_factory.mktemp("trained") / "run")
  result = _main(f"--model_dir={model_dir}", *TINY)
  assert result.returncode == 0, result.stderr[-3000:]
  return model_dir


def test_the_log_file_of_a_training(trained):
  """compare_gan2.log in the model directory: the operative config's path, a
  compile line, then progress lines with D and G losses."""
  with open(os.path.join(trained, "compare_gan2.log")) as f:
    text = f.read()
  assert "Operative config: " + os.path.join(trained, "operative_config-0.gin") \
      in text
  assert "Compiling the training step" in text
  assert "first loop, compilation included" in text
  assert "step 4/4 (100.0%) | D loss " in text and "| G loss " in text
  assert "ETA" in text


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
  _assert_kept(before, _snapshot(model_dir))


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
  _assert_kept(before, _snapshot(model_dir))
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
  _assert_kept(before, _snapshot(model_dir))


def _main_with_fault(fault, *args):
  """`compare-gan2 args` with `fault` (Python run first) injected."""
  code = "\n".join(["import sys", fault, "from compare_gan2 import main",
                    "sys.argv[0] = 'compare-gan2'", "main.run()"])
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                        text=True, cwd=ROOT, env=env, timeout=600, check=False)


_DISK_FULL_AT_SAVE = """
import errno, os
import tensorflow as tf
def _full(self, checkpoint_number=None, **kwargs):
  # What a full disk leaves (measured, issue 28): the shard directory, the
  # truncated index of the new checkpoint, the state file not updated.
  prefix = os.path.join(self.directory, f"model.ckpt-{checkpoint_number}")
  os.makedirs(prefix + "_temp")
  with open(prefix + "_temp/part-00000-of-00001.data-00000-of-00001", "wb") as f:
    f.write(b"x" * 100)
  for suffix in (".index", ".data-00000-of-00001"):
    with open(prefix + suffix, "wb") as f:
      f.write(b"partial")
  raise OSError(errno.ENOSPC, "No space left on device", prefix + ".index")
tf.train.CheckpointManager.save = _full
"""

_READ_ONLY_SAMPLES = """
import errno
from compare_gan2 import model_dir
def _read_only(path, data):
  raise OSError(errno.EROFS, "Read-only file system", path)
model_dir.atomic_write_bytes = _read_only
"""


def test_full_disk_is_one_line_and_keeps_the_checkpoint(trained, tmp_path):
  """The failed save of step 6 leaves its temp directory and a truncated
  index: both are removed, the line names model.ckpt-4 (what the `checkpoint`
  file points to), and it is what the same command resumes from."""
  model_dir = _copy(trained, tmp_path)
  longer = "--gin_bindings=options.training_steps = 6"
  result = _main_with_fault(_DISK_FULL_AT_SAVE, f"--model_dir={model_dir}",
                            *TINY, longer)
  _assert_one_line_error(result, "compare-gan2", "The disk is full",
                         "No space left on device", "model.ckpt-4 (step 4)",
                         "run the same command again")
  assert f"Kept: {os.path.join(model_dir, 'model.ckpt-4')} (step 4)" in \
      result.stderr
  assert not os.path.exists(os.path.join(model_dir, "TRAINING.lock"))
  assert os.path.exists(os.path.join(model_dir, "model.ckpt-4.index"))
  assert not [n for n in os.listdir(model_dir) if "ckpt-6" in n or ".tmp" in n]
  with open(os.path.join(model_dir, "checkpoint")) as f:
    assert 'model_checkpoint_path: "model.ckpt-4"' in f.read()
  # What the same command resumes from (restore_for_training restores the
  # newest of these; a resume through the command line is
  # test_damaged_checkpoint_names_it_and_the_previous_one's last step).
  from compare_gan2.training import checkpoints  # pylint: disable=g-import-not-at-top
  assert checkpoints.all_checkpoints(model_dir)[-1] == os.path.join(
      model_dir, "model.ckpt-4")


def test_disk_full_names_the_checkpoint_of_the_state_file(tmp_path):
  """When the remains of the failed save could not be removed, the line still
  names the checkpoint the `checkpoint` file points to (what resumes), not
  the newer truncated index."""
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  for name in ("model.ckpt-10.index", "model.ckpt-10.data-00000-of-00001",
               "model.ckpt-20.index"):
    (tmp_path / name).write_bytes(b"x")
  (tmp_path / "model.ckpt-20_temp").mkdir()
  (tmp_path / "checkpoint").write_text(
      'model_checkpoint_path: "model.ckpt-10"\n'
      'all_model_checkpoint_paths: "/elsewhere/run/model.ckpt-10"\n')
  full = OSError(28, "No space left on device")
  message = errors.fault_message(errors.environment_fault(full), full,
                                 str(tmp_path))
  assert f"Kept: {tmp_path / 'model.ckpt-10'} (step 10)" in message
  assert "ckpt-20" not in message
  (tmp_path / "checkpoint").unlink()
  message = errors.fault_message(errors.environment_fault(full), full,
                                 str(tmp_path))
  assert "Nothing was kept" in message


def test_read_only_model_dir_is_one_line(tmp_path):
  model_dir = str(tmp_path / "run")
  result = _main_with_fault(_READ_ONLY_SAMPLES, f"--model_dir={model_dir}",
                            *TINY)
  _assert_one_line_error(result, "compare-gan2", "cannot be written",
                         "Read-only file system")
  assert not os.path.exists(os.path.join(model_dir, "TRAINING.lock"))


def test_lost_worker_and_other_faults_are_recognised():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  lost = tf.errors.UnavailableError(None, None, "Socket closed\nmore context")
  assert errors.environment_fault(lost).startswith("a worker was lost")
  message = errors.fault_message(errors.environment_fault(lost), lost)
  assert "Socket closed" in message and "more context" not in message
  assert errors.environment_fault(PermissionError(13, "Permission denied"))
  assert errors.environment_fault(ValueError("a bug")) is None
  assert errors.environment_fault(KeyError("x")) is None


def test_one_line_drops_object_reprs_and_gin_context():
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  error = ValueError("cannot identify image file <_io.BytesIO object at "
                     "0x7f3a2b1c0d90>\n  In call to configurable 'dataset' (<fn>)")
  assert errors.one_line(error) == "cannot identify image file"


# Numeric flags (issue 28, item 9): zero, negative or absurd values are one
# line at flag-reading time, before anything is written.


def test_sample_num_zero_is_one_line_and_writes_nothing(tmp_path):
  out = tmp_path / "grid.png"
  result = _run("compare_gan2.sample", f"--model_dir={tmp_path / 'run'}",
                f"--out={out}", "--num", "0")
  _assert_one_line_error(result, "python -m compare_gan2.sample",
                         "--num must be an integer in [1, 4096], got 0.")
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("module, program, flag", [
    ("compare_gan2.main", "compare-gan2", "--eval_every_steps=-1"),
    ("compare_gan2.main", "compare-gan2", "--num_eval_averaging_runs=0"),
    ("compare_gan2.s2gan", "compare-gan2-s2gan", "--data_shuffle_buffer_size=0"),
])
def test_main_numeric_flags_are_checked_first(tmp_path, module, program, flag):
  result = _run(module, f"--model_dir={tmp_path / 'run'}", *TINY,
                "--schedule=continuous_eval", flag)
  name, value = flag.split("=")
  _assert_one_line_error(result, program, name, f"got {value}")
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("module, args, fragment", [
    ("compare_gan2.sweep", ["experiments/none", "--max_parallel", "0"],
     "--max_parallel must be an integer in [1, 1024], got 0."),
    ("compare_gan2.report", [".", "--top_k", "-2"],
     "--top_k must be an integer >= 1, got -2."),
])
def test_argparse_numeric_arguments_are_checked_first(tmp_path, module, args,
                                                      fragment):
  result = _run(module, *[a.replace("ROOT", str(tmp_path)) for a in args],
                "--root" if module.endswith("sweep") else "--out",
                str(tmp_path / "out"))
  assert result.returncode == 2, result.stderr
  assert "Traceback" not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"python -m {module}: error: {fragment}"), last
  assert os.listdir(tmp_path) == []


def test_check_number():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  check = errors.check_number
  # None passes unless the value is not optional.
  assert check("--n", None, minimum=1) is None
  with pytest.raises(errors.ConfigError,
                     match=r"^--n must be an integer >= 1, got None\.$"):
    check("--n", None, integer=True, minimum=1, optional=False)
  # Closed bounds: the ends pass; the message is the interval.
  assert check("--n", 3, minimum=1, maximum=3) == 3
  assert check("--n", 1, minimum=1, maximum=3) == 1
  with pytest.raises(errors.ConfigError,
                     match=r"^--n must be a number in \[1, 3\], got 4\.$"):
    check("--n", 4, minimum=1, maximum=3)
  # Open bounds: the ends are refused.
  assert check("--lr", 1e-9, above=0.0) == 1e-9
  with pytest.raises(errors.ConfigError,
                     match=r"^--lr must be a number > 0, got 0\.0\.$"):
    check("--lr", 0.0, above=0.0)
  with pytest.raises(errors.ConfigError,
                     match=r"^--b must be a number in \[0, 1\), got 1\.0\.$"):
    check("--b", 1.0, minimum=0, below=1)
  with pytest.raises(errors.ConfigError,
                     match=r"^--g must be a number in \(0, 1\], got 0\.$"):
    check("--g", 0, above=0, maximum=1)
  with pytest.raises(errors.ConfigError,
                     match=r"^--x must be a number < 0\.5, got 0\.5\.$"):
    check("--x", 0.5, below=0.5)
  with pytest.raises(errors.ConfigError,
                     match=r"^--x must be a number <= -1, got 0\.$"):
    check("--x", 0, maximum=-1)
  assert check("--x", 0.25, minimum=0, below=0.5) == 0.25
  # Integers: integral floats pass and come back as int; the type is kept
  # otherwise.
  assert check("--n", 4.0, integer=True, minimum=1) == 4
  assert type(check("--n", 4.0, integer=True, minimum=1)) is int
  assert type(check("--n", 4, minimum=1)) is int
  assert type(check("--x", 4.0, minimum=1)) is float
  assert type(check("--n", np.int64(4), integer=True)) is int
  with pytest.raises(errors.ConfigError,
                     match=r"^--n must be an integer >= 1, got 2\.5\.$"):
    check("--n", 2.5, integer=True, minimum=1)
  with pytest.raises(errors.ConfigError,
                     match=r"^--n must be an integer in \[1, 256\], got 0; "
                     r"one batch\.$"):
    check("--n", 0, integer=True, minimum=1, maximum=256, hint="one batch")
  # Bools are not numbers, nor are strings; NaN and infinities are refused.
  for bad in (True, False, np.bool_(True), "3", [3]):
    with pytest.raises(errors.ConfigError, match="must be"):
      check("--n", bad, integer=True)
    with pytest.raises(errors.ConfigError, match="must be a finite number"):
      check("--x", bad)
  with pytest.raises(errors.ConfigError, match=r"^--n must be an integer, got True\.$"):
    check("--n", True, integer=True)
  for bad in (float("nan"), float("inf"), -float("inf"), np.float32("nan")):
    with pytest.raises(errors.ConfigError, match=f"got {bad}"):
      check("--lr", bad, above=0.0)
    with pytest.raises(errors.ConfigError, match="must be a finite number"):
      check("--lr", bad)
    with pytest.raises(errors.ConfigError, match="must be an integer"):
      check("--lr", bad, integer=True)
  # Large integers are compared exactly and printed whole.
  with pytest.raises(errors.ConfigError, match="got 1267650600228229401496703205376"):
    check("--seed", 2**100, minimum=0, maximum=2**63 - 1)
  assert check("--seed", 2**63 - 1, integer=True, minimum=0,
               maximum=2**63 - 1) == 2**63 - 1
  # Two lower (or upper) bounds are a mistake of the caller.
  with pytest.raises(TypeError):
    check("--n", 1, minimum=0, above=0)
  with pytest.raises(TypeError):
    check("--n", 1, maximum=2, below=2)


def test_check():
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  errors.check(True, "unused")
  with pytest.raises(errors.ConfigError, match="^augment.method must be one of"):
    errors.check(False, "augment.method must be one of ('none',), got 'x'.")


@pytest.mark.parametrize("flag, value", [
    ("eval_every_steps", -5), ("num_eval_averaging_runs", 0),
    ("num_eval_averaging_runs", 1000), ("data_shuffle_buffer_size", 0),
    ("data_shuffle_buffer_size", -1)])
def test_main_flag_ranges(flag, value):
  from absl.testing import flagsaver  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  from compare_gan2 import main  # pylint: disable=g-import-not-at-top
  main.check_flags()  # The defaults pass.
  with flagsaver.flagsaver(**{flag: value}):
    with pytest.raises(errors.ConfigError, match=f"--{flag} must be .*got {value}"):
      main.check_flags()


def test_sample_flag_ranges():
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  from compare_gan2 import sample  # pylint: disable=g-import-not-at-top
  sample.check_flags({"num": 64, "columns": 8, "truncation": None, "seed": None})
  sample.check_flags({"num": 1, "columns": 1, "truncation": 2.0, "seed": 0})
  for name, value in [("num", -1), ("num", 10**6), ("columns", 0),
                      ("columns", 10**6), ("truncation", 0.0),
                      ("truncation", -0.5), ("truncation", 3.0),
                      ("truncation", float("nan")), ("seed", -1),
                      ("seed", 2**64)]:
    with pytest.raises(errors.ConfigError, match=f"--{name} must be"):
      sample.check_flags({name: value})


@pytest.mark.parametrize("args, fragment", [
    (["--steps", "0"], "--steps must be an integer >= 1, got 0."),
    (["--batch_size", "-4"], "--batch_size must be an integer in [1, 65536]"),
    (["--batch_size", "10000000"],
     "--batch_size must be an integer in [1, 65536], got 10000000."),
    (["--learning_rate", "0"], "--learning_rate must be a number in (0, 1], got 0.0."),
    (["--learning_rate", "nan"], "--learning_rate must be a number in (0, 1], got nan."),
])
def test_train_classifier_argument_ranges(tmp_path, capsys, args, fragment):
  from compare_gan2.evaluation import train_classifier  # pylint: disable=g-import-not-at-top
  with pytest.raises(SystemExit) as exit_info:
    train_classifier.main(["--output", str(tmp_path / "out"), *args])
  assert exit_info.value.code == 2
  assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
      "python -m compare_gan2.evaluation.train_classifier: error: " + fragment)
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("flag", ["--steps=0", "--warmup_steps=-1"])
def test_benchmark_step_flags(monkeypatch, capsys, flag):
  """benchmark.main with its own flags (compare_gan2.main's are in FLAGS)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from compare_gan2 import benchmark  # pylint: disable=g-import-not-at-top
  values = flags.FlagValues()
  benchmark.define_flags(values)
  values(["benchmark", "--gin_config=gin_configs/benchmark_biggan32.gin", flag])
  monkeypatch.setattr(benchmark, "FLAGS", values)
  monkeypatch.setattr(benchmark, "run_benchmark", None)  # Never reached.
  with pytest.raises(SystemExit) as exit_info:
    benchmark.main(["benchmark"])
  assert exit_info.value.code == 1
  name, value = flag.split("=")
  assert capsys.readouterr().err.strip() == (
      f"python -m compare_gan2.benchmark: error: {name} must be an integer >= "
      f"{int(value) + 1}, got {value}.")


# Issue 28, item 11.


def test_stale_temp_files_are_removed_when_training_starts(trained, tmp_path):
  """Leftovers of interrupted atomic writes: the training (holding the lock)
  removes its own at once and others once they are old; a young temporary
  file of scores.jsonl may be a running evaluation's write and stays."""
  model_dir = _copy(trained, tmp_path)
  hour = 3600

  def temp(name, age):
    path = os.path.join(model_dir, name)
    with open(path, "w") as f:
      f.write("partial")
    os.utime(path, (os.path.getmtime(path) - age,) * 2)
    return path
  gone = [temp(".scores.jsonl.tmp-0123abcd", hour + 60),
          temp(".scores.csv.tmp-0123abcd", hour + 60),
          temp(".run_info.json.tmp-4567abcd", 1),
          temp(".operative_config-4.gin.tmp-89abcdef", 1),
          temp("samples/.step_4.png.tmp-01234567", 1)]
  kept = [temp(".scores.jsonl.tmp-fedcba98", 1),
          temp("notes.tmp-0123abcd", hour + 60)]
  result = _main(f"--model_dir={model_dir}", *TINY)  # Done: nothing to train.
  assert result.returncode == 0, result.stderr[-3000:]
  assert [p for p in gone if os.path.exists(p)] == []
  assert all(os.path.exists(p) for p in kept)
  with open(os.path.join(model_dir, LOG)) as f:
    assert f"Removed {gone[0]}, left by an interrupted write." in f.read()


_READ_ONLY_DIR = """
import builtins, errno, os
_DIR = os.path.abspath({model_dir!r}) + os.sep
_os_open, _open = os.open, builtins.open
def _refuse(path):
  if os.path.abspath(os.fsdecode(path)).startswith(_DIR):
    raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
def _os_open_ro(path, flags, *args, **kwargs):
  if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
    _refuse(path)
  return _os_open(path, flags, *args, **kwargs)
def _open_ro(file, mode="r", *args, **kwargs):
  if not isinstance(file, int) and any(c in mode for c in "wax+"):
    _refuse(file)
  return _open(file, mode, *args, **kwargs)
os.open, builtins.open = _os_open_ro, _open_ro
"""


def test_evaluation_into_a_read_only_model_dir_fails_before_any_work(
    trained, tmp_path):
  model_dir = _copy(trained, tmp_path)
  before = _snapshot(model_dir)
  result = _main_with_fault(_READ_ONLY_DIR.format(model_dir=model_dir),
                            f"--model_dir={model_dir}", *TINY,
                            "--schedule=continuous_eval")
  _assert_one_line_error(result, "compare-gan2", f"Cannot write to {model_dir}",
                         "Read-only file system", "scores.jsonl", "writable")
  assert "Evaluating" not in result.stderr
  assert _snapshot(model_dir) == before


def test_label_files_out_of_range_are_refused_before_the_model_dir_changes(
    tmp_path):
  from compare_gan2.datasets import label_files  # pylint: disable=g-import-not-at-top
  names = [f"train/{k}".encode() for k in range(8)]
  label_files.write_label_files(str(tmp_path / "labels_train"), names,
                                [0, 1, 2, 99, 0, 1, 2, -1])
  model_dir = tmp_path / "run"
  result = _main(f"--model_dir={model_dir}", *TINY,
                 "--gin_bindings=replace_labels.file_pattern = "
                 f"'{tmp_path}/labels_{{split}}*'")
  _assert_one_line_error(result, "compare-gan2", "labels_train*", "record 3",
                         "label 99", "[-1, ")
  assert not os.path.exists(model_dir)


def test_syntax_error_in_a_binding_names_the_binding(tmp_path):
  result = _main(f"--model_dir={tmp_path / 'run'}",
                 "--gin_config=gin_configs/biggan_polygons32.gin",
                 "--gin_bindings=options.training_steps = 4",
                 "--gin_bindings=options.batch_size = (4")
  _assert_one_line_error(result, "compare-gan2",
                         "Gin binding `options.batch_size = (4` (--gin_bindings) "
                         "cannot be parsed")
  assert "biggan_polygons32.gin" not in result.stderr.strip().splitlines()[-1]
  assert not os.path.exists(tmp_path / "run")
