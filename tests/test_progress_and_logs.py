"""Logs a person can follow: progress lines, time-based loops, the log file."""

import logging as std_logging
import os

from absl import logging
import pytest

from compare_gan2 import logs
from compare_gan2.training import actions as actions_lib
from compare_gan2.training import controller as controller_lib
from compare_gan2.training import progress


class _Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def _lines(caplog):
  return [r.getMessage() for r in caplog.records]


@pytest.fixture
def absl_info():
  """absl at INFO for the test (another test may have lowered it)."""
  before = logging.get_verbosity()
  logging.set_verbosity(logging.INFO)
  yield
  logging.set_verbosity(before)


def test_progress_line_losses_and_first_loop(caplog, absl_info):
  del absl_info
  clock = _Clock()
  reporter = progress.ProgressReporter(100, images_per_step=8, clock=clock)
  caplog.set_level(std_logging.INFO)
  clock.now = 30.0  # Compilation and 10 steps.
  first = reporter.report(10, {"d_0": 1.0, "d_1": 1.5, "g": 0.5, "x/y": 3.0,
                               "d_penalty": 9.0})
  assert first["steps_per_sec"] is None and first["first_loop_sec"] == 30.0
  clock.now = 40.0
  second = reporter.report(30, {"d_0": 1.0, "g": 2.0})
  assert second["steps_per_sec"] == 2.0 and second["images_per_sec"] == 16.0
  assert second["eta_sec"] == 35.0
  lines = _lines(caplog)
  assert lines[0] == ("step 10/100 (10.0%) | D loss 1.25 | G loss 0.5 | first "
                      "loop, compilation included: 0m30s")
  assert lines[1] == ("step 30/100 (30.0%) | D loss 1 | G loss 2 | 2.00 steps/s "
                      "| 16.0 images/s | ETA 0m35s")


class _Loop:
  """A fake inner loop: each step takes one second of `clock`."""

  def __init__(self, step, clock):
    self.step, self.clock, self.lengths = step, clock, []

  def __call__(self, n):
    self.lengths.append(n)
    self.clock.now += n
    self.step.value += n
    return {"d_0": 1.0, "g": 1.0}, -1


class _Step:
  def __init__(self):
    self.value = 0

  def numpy(self):
    return self.value


def _controller(max_loop_seconds):
  clock, step = _Clock(), _Step()
  loop = _Loop(step, clock)
  controller = controller_lib.Controller(
      loop, step, max_steps=130, steps_per_loop=100,
      boundaries=actions_lib.EveryNSteps(0, 130), actions=[],
      max_loop_seconds=max_loop_seconds, clock=clock)
  return controller, loop


def test_loops_are_cut_to_the_time_budget_after_the_first():
  controller, loop = _controller(max_loop_seconds=25)
  assert controller.train() == 130
  # A short first loop (it compiles); then 1 s/step -> 25-step loops.
  assert loop.lengths == [10, 25, 25, 25, 25, 20]


def test_no_time_budget_keeps_iterations_per_loop():
  controller, loop = _controller(max_loop_seconds=None)
  controller.train()
  assert loop.lengths == [100, 30]


def test_log_file_waits_for_the_start_and_never_creates_the_dir(tmp_path):
  model_dir = tmp_path / "run"
  handler = logs.setup(str(model_dir))
  try:
    logging.info("checking the configuration")
    model_dir.mkdir()
    logging.info("taking the lock")
    assert not os.listdir(model_dir)  # Not started: nothing written.
    logs.start()
    logs.start()  # A no-op: already started.
    logging.info("training")
    text = (model_dir / "compare_gan2.log").read_text()
    lines = ["checking the configuration", "taking the lock", "training"]
    assert [text.index(line) for line in lines] == sorted(
        text.index(line) for line in lines)
    assert text.count("Log file: ") == 1
  finally:
    logging.get_absl_logger().removeHandler(handler)
    handler.close()


def test_a_started_log_never_creates_the_model_dir(tmp_path):
  handler = logs.setup(str(tmp_path / "run"))
  try:
    logs.start()
    logging.info("a line")
    assert not (tmp_path / "run").exists()
  finally:
    logging.get_absl_logger().removeHandler(handler)
    handler.close()


def test_an_unwritable_log_file_is_one_line_then_the_console(tmp_path, capsys):
  """A model directory that cannot take the log (read-only for sample or
  export) costs one stderr line, not a logging traceback per record."""
  model_dir = tmp_path / "run"
  (model_dir / "compare_gan2.log").mkdir(parents=True)  # open() fails, as root too.
  handler = logs.setup(str(model_dir))
  try:
    logs.start()
    logging.info("first")
    logging.info("second")
    logs.start()
    logging.info("third")
    err = capsys.readouterr().err
    assert err.count("cannot write the log file") == 1
    assert "Logging error" not in err and "Traceback" not in err
  finally:
    logging.get_absl_logger().removeHandler(handler)
    handler.close()


def test_log_file_only_on_the_chief(tmp_path, monkeypatch):
  monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a", "b"]}, '
                     '"task": {"type": "worker", "index": 1}}')
  assert logs.setup(str(tmp_path)) is None
  assert not os.listdir(tmp_path)


def test_deprecation_warnings_hidden():
  logs.quiet_tensorflow()
  logger = std_logging.getLogger("tensorflow")
  record = logger.makeRecord("tensorflow", std_logging.WARNING, "deprecation.py",
                             1, "From x: calling y is deprecated", (), None)
  assert not logger.filter(record)
  record = logger.makeRecord("tensorflow", std_logging.WARNING, "ops.py", 1,
                             "something else", (), None)
  assert logger.filter(record)


def test_evaluation_progress_is_time_based_with_an_eta():
  from compare_gan2.evaluation import evaluator  # pylint: disable=g-import-not-at-top
  clock = _Clock()
  bar = evaluator.SampleProgress("generated images", 1000, seconds=30, clock=clock)
  clock.now = 10.0
  assert bar.update(100) is None  # Not due yet.
  clock.now = 40.0
  assert bar.update(400) == ("generated images: 400/1000 (40%) | 10.0 images/s "
                             "| ETA 1m00s")
  clock.now = 45.0
  assert bar.update(1000).startswith("generated images: 1000/1000 (100%)")
