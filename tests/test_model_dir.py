"""compare_gan2/model_dir.py: names of a run's files and atomic writes."""

import os

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
