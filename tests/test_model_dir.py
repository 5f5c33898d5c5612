"""compare_gan2/model_dir.py: names of a run's files and atomic writes."""

import os
import time

import pytest

from compare_gan2 import model_dir as model_dir_lib


def test_names_of_a_model_directory():
  assert model_dir_lib.operative_config_path("/m", 40) == \
      "/m/operative_config-40.gin"
  assert model_dir_lib.sample_grid_path("/m", 20) == "/m/samples/step_20.png"
  assert model_dir_lib.export_path("/m", 7) == "/m/tfhub/7"


def test_latest_operative_config(tmp_path):
  assert model_dir_lib.latest_operative_config(str(tmp_path)) is None
  for step in (0, 10, 200):
    (tmp_path / f"operative_config-{step}.gin").write_text("")
  (tmp_path / ".operative_config-300.gin.tmp-1234").write_text("")  # half-written
  assert model_dir_lib.operative_config_steps(str(tmp_path)) == [0, 10, 200]
  assert model_dir_lib.latest_operative_config(str(tmp_path)).endswith(
      "operative_config-200.gin")
  assert model_dir_lib.latest_operative_config(
      str(tmp_path), max_step=199).endswith("operative_config-10.gin")
  assert model_dir_lib.latest_operative_config(str(tmp_path), max_step=-1) is None


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
  path = str(tmp_path / "a.json")
  model_dir_lib.atomic_write_json(path, {"b": 1, "a": [1, 2]})
  model_dir_lib.atomic_write_json(path, {"c": 3})
  assert model_dir_lib.read_json(path) == {"c": 3}
  assert os.listdir(tmp_path) == ["a.json"]


class _DiskFull:
  """A file object whose write fails half-way, as on a full disk."""

  def __init__(self, real):
    self._real = real

  def write(self, data):
    self._real.write(data[:len(data) // 2])
    raise OSError(28, "No space left on device")

  def __getattr__(self, name):
    return getattr(self._real, name)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return self._real.__exit__(*exc)


def test_a_write_failing_midway_keeps_the_previous_file(tmp_path, monkeypatch):
  path = tmp_path / "step_20.png"
  model_dir_lib.atomic_write_bytes(str(path), b"old complete content")
  real_open = open
  monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: _DiskFull(
      real_open(p, mode, *a, **k)) if "w" in mode else real_open(p, mode, *a, **k))
  with pytest.raises(OSError, match="No space left"):
    model_dir_lib.atomic_write_bytes(str(path), b"new content " * 100)
  monkeypatch.undo()
  assert path.read_bytes() == b"old complete content"
  assert os.listdir(tmp_path) == ["step_20.png"]  # The temporary is gone.


def test_a_write_failing_midway_leaves_no_file(tmp_path, monkeypatch):
  path = tmp_path / "samples" / "step_20.png"
  path.parent.mkdir()
  real_open = open
  monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: _DiskFull(
      real_open(p, mode, *a, **k)) if "w" in mode else real_open(p, mode, *a, **k))
  with pytest.raises(OSError):
    model_dir_lib.atomic_write_bytes(str(path), b"x" * 1000)
  monkeypatch.undo()
  assert os.listdir(path.parent) == []


def test_model_dir_module_needs_no_tensorflow():
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  code = ("import sys; import compare_gan2.model_dir; "
          "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
  subprocess.run([sys.executable, "-c", code], check=True)


def test_remove_failed_save_keeps_complete_checkpoints(tmp_path):
  for name in ("model.ckpt-10.index", "model.ckpt-10.data-00000-of-00001",
               "model.ckpt-20.index", "model.ckpt-20.data-00000-of-00001",
               "model.ckpt-200.index"):
    (tmp_path / name).write_bytes(b"x")
  (tmp_path / "model.ckpt-20_temp").mkdir()
  (tmp_path / "model.ckpt-20_temp" / "part-00000-of-00001.index").write_bytes(b"")
  (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-10"\n'
                                       'all_model_checkpoint_paths: "model.ckpt-10"\n')
  model_dir_lib.remove_failed_save(str(tmp_path), 20)
  assert sorted(os.listdir(tmp_path)) == [
      "checkpoint", "model.ckpt-10.data-00000-of-00001", "model.ckpt-10.index",
      "model.ckpt-200.index"]
  # A step the state file lists is complete: only a temp directory goes.
  (tmp_path / "model.ckpt-10_temp").mkdir()
  model_dir_lib.remove_failed_save(str(tmp_path), 10)
  assert "model.ckpt-10.index" in os.listdir(tmp_path)
  assert "model.ckpt-10_temp" not in os.listdir(tmp_path)


def _temp(path, age=0.0):
  """An atomic write's temporary file at `path`, last modified `age` s ago."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write("partial")
  mtime = time.time() - age
  os.utime(path, (mtime, mtime))
  return path


def test_remove_stale_temp_files(tmp_path):
  """Old temporary files go; young ones only if the caller alone writes their
  target (the training under its lock); other names are never touched."""
  d = str(tmp_path)
  hour = model_dir_lib.STALE_TEMP_SECONDS
  old_scores = _temp(f"{d}/.scores.jsonl.tmp-0123abcd", age=hour + 1)
  live_scores = _temp(f"{d}/.scores.jsonl.tmp-4567abcd", age=5)
  live_run_info = _temp(f"{d}/.run_info.json.tmp-89abcdef", age=5)
  live_grid = _temp(f"{d}/samples/.step_4.png.tmp-01234567", age=5)
  live_grid_png = _temp(f"{d}/samples/.grid.png.tmp-01234567", age=5)
  others = [_temp(f"{d}/{name}", age=hour + 1) for name in (
      ".scores.jsonl.tmp-xyz", "scores.jsonl", "notes.tmp-0123abcd",
      ".model.ckpt-4.index.tmp")]
  # An evaluation (no lock): old temporary files only.
  assert model_dir_lib.remove_stale_temp_files(d) == [old_scores]
  # A training holding the lock: also the young ones of its own files.
  assert sorted(model_dir_lib.remove_stale_temp_files(
      d, owned=model_dir_lib.written_by_training)) == sorted(
          [live_run_info, live_grid])
  for path in [live_scores, live_grid_png] + others:
    assert os.path.exists(path), path


def test_written_by_training():
  for name in ("run_info.json", "TRAIN_DONE", "operative_config-40.gin",
               "samples/step_4.png"):
    assert model_dir_lib.written_by_training(name), name
  for name in ("scores.jsonl", "scores.csv", "my_scores.csv", "grid.png",
               "samples/grid.png", "eval/run_info.json", "compare_gan2.log"):
    assert not model_dir_lib.written_by_training(name), name


def test_check_writable(tmp_path, monkeypatch):
  model_dir_lib.check_writable(str(tmp_path))
  assert os.listdir(tmp_path) == []
  import errno  # pylint: disable=g-import-not-at-top
  real_open = os.open

  def read_only(path, flags, *args):
    if flags & os.O_CREAT:
      raise OSError(errno.EROFS, "Read-only file system", path)
    return real_open(path, flags, *args)
  monkeypatch.setattr(os, "open", read_only)
  with pytest.raises(OSError, match="Read-only"):
    model_dir_lib.check_writable(str(tmp_path))
