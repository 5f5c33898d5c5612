"""One training per model directory (training/run_lock.py)."""

import json
import os
import socket
import subprocess
import sys

import gin
import pytest
import tf_test_utils

from compare_gan2 import gin_setup
from compare_gan2.training import checkpoints
from compare_gan2.training import run_lock
from compare_gan2 import builder
from compare_gan2.training import runner


def _write_lock(model_dir, pid, host=None):
  os.makedirs(model_dir, exist_ok=True)
  with open(os.path.join(model_dir, run_lock.LOCK_FILENAME), "w") as f:
    json.dump({"pid": pid, "host": host or socket.gethostname(),
               "start_time": "2026-12-04T10:00:00"}, f)


def _files(model_dir):
  result = {}
  for name in sorted(os.listdir(model_dir)):
    path = os.path.join(model_dir, name)
    if os.path.isfile(path):
      with open(path, "rb") as f:
        result[name] = f.read()
  return result


def _train(model_dir, steps=4):
  gin.clear_config()
  gin_setup.parse([], list(tf_test_utils.TINY_GAN_BINDINGS) +
                  [f"options.training_steps = {steps}"])
  return runner.schedule_train(builder.build_context(model_dir))


@pytest.fixture
def live_process():
  process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
  yield process
  process.kill()
  process.wait()


def test_second_training_is_refused_and_changes_nothing(tmp_path, live_process):
  model_dir = str(tmp_path / "run")
  assert _train(model_dir, steps=2) == 2
  assert not os.path.exists(os.path.join(model_dir, run_lock.LOCK_FILENAME))
  _write_lock(model_dir, live_process.pid)   # "another training" is running
  before = _files(model_dir)
  with pytest.raises(run_lock.ModelDirLockedError,
                     match=f"process {live_process.pid} on {socket.gethostname()}"):
    _train(model_dir, steps=4)
  assert _files(model_dir) == before
  assert checkpoints.step_of(checkpoints.latest_checkpoint(model_dir)) == 2


def test_a_lock_on_another_host_is_respected(tmp_path):
  _write_lock(str(tmp_path), 1, host="another-host.example")
  with pytest.raises(run_lock.ModelDirLockedError, match="another-host.example"):
    with run_lock.training_lock(str(tmp_path)):
      pass


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  model_dir = str(tmp_path / "run")
  _write_lock(model_dir, dead.pid)
  assert _train(model_dir, steps=2) == 2
  assert not os.path.exists(os.path.join(model_dir, run_lock.LOCK_FILENAME))


def test_lock_is_held_while_active_and_released_on_errors(tmp_path):
  with pytest.raises(ValueError):
    with run_lock.training_lock(str(tmp_path)):
      held = run_lock.read_lock(str(tmp_path))
      assert held["pid"] == os.getpid()
      with pytest.raises(run_lock.ModelDirLockedError):
        # The same process counts as running: a second lock is refused.
        with run_lock.training_lock(str(tmp_path)):
          pass
      raise ValueError("training failed")
  assert run_lock.read_lock(str(tmp_path)) is None


def _race_for_a_stale_lock(model_dir, monkeypatch):
  """Two takers that both judged the same stale lock stale (a barrier holds
  each until the other has) take it over at once; [(outcome, detail)] each."""
  import threading  # pylint: disable=g-import-not-at-top
  barrier = threading.Barrier(2, timeout=10)
  judged = threading.local()
  real_is_stale = run_lock._is_stale  # pylint: disable=protected-access

  def is_stale_then_wait(holder):
    stale = real_is_stale(holder)
    if stale and not getattr(judged, "done", False):
      judged.done = True
      barrier.wait()  # Both have read the stale lock before either acts.
    return stale

  monkeypatch.setattr(run_lock, "_is_stale", is_stale_then_wait)
  outcomes, inside = [], []
  gate = threading.Barrier(2, timeout=10)

  def taker():
    try:
      with run_lock.training_lock(model_dir):
        inside.append(run_lock.read_lock(model_dir))
        try:
          gate.wait(timeout=0.5)  # Holds the lock while the other one tries.
        except threading.BrokenBarrierError:
          pass
      outcomes.append(("trained", None))
    except run_lock.ModelDirLockedError as e:
      outcomes.append(("refused", str(e)))
      gate.abort()

  threads = [threading.Thread(target=taker) for _ in range(2)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(30)
  return outcomes, inside


def test_two_takers_of_a_stale_lock_exactly_one_wins(tmp_path, monkeypatch):
  """Two restarts find the same stale TRAINING.lock at once: exactly one
  trains, the other gets the "is being trained by process" error."""
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  for attempt in range(5):
    model_dir = str(tmp_path / f"run{attempt}")
    _write_lock(model_dir, dead.pid)
    outcomes, inside = _race_for_a_stale_lock(model_dir, monkeypatch)
    assert sorted(o for o, _ in outcomes) == ["refused", "trained"], outcomes
    refusal = dict(outcomes)["refused"]
    assert f"is being trained by process {os.getpid()}" in refusal, refusal
    assert len(inside) == 1 and inside[0]["pid"] == os.getpid()
    assert os.listdir(model_dir) == []  # Lock released, no takeover file left.


def test_the_lock_file_appears_whole_or_not_at_all(tmp_path, monkeypatch):
  """A racing reader must never find the lock without its record (it reported
  "process ? on ?"), and a write that fails (full disk) must leave no lock, which
  nobody could take over: no pid, never stale."""
  path = str(tmp_path / run_lock.LOCK_FILENAME)
  seen = []
  real_link = os.link

  def link(src, dst):
    seen.append(os.path.exists(dst))
    real_link(src, dst)
    with open(dst) as f:
      seen.append(json.load(f))
  monkeypatch.setattr(os, "link", link)
  record = {"pid": 7, "host": "h", "start_time": "t"}
  assert run_lock._create(path, record)  # pylint: disable=protected-access
  assert seen == [False, record]
  assert not run_lock._create(path, {"pid": 8})  # pylint: disable=protected-access
  assert os.listdir(tmp_path) == [run_lock.LOCK_FILENAME]
  os.remove(path)

  def full_disk(*unused_args, **unused_kwargs):
    raise OSError(28, "No space left on device")
  monkeypatch.setattr(run_lock.json, "dump", full_disk)
  with pytest.raises(OSError, match="No space"):
    run_lock._create(path, record)  # pylint: disable=protected-access
  assert os.listdir(tmp_path) == []
