"""What a run leaves for experiments: run_info.json, versioned scores.jsonl and
the evaluation scalars in TensorBoard's `eval` run."""

import glob
import json
import os
import subprocess
import sys

import gin
import pytest
import tensorflow as tf

import compare_gan2
from compare_gan2 import report
from compare_gan2 import run_info
from compare_gan2 import sweep
from compare_gan2.evaluation import eval_summaries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_scalars(log_dir):
  """{tag: {step: value}} of the event files in log_dir."""
  out = {}
  for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        number = (tf.make_ndarray(value.tensor) if value.HasField("tensor")
                  else value.simple_value)
        out.setdefault(value.tag, {})[event.step] = float(number)
  return out


class _Ctx:
  def __init__(self, model_dir):
    self.model_dir = model_dir


def test_eval_scalars_written_per_metric_and_step(tmp_path):
  ctx = _Ctx(str(tmp_path))
  eval_summaries.write_eval_scalars(ctx, 500, "ckpt-500", {
      "fid_score_mean": 12.5, "fid_score_std": 1.0, "fid_score_list": "12_13",
      "class_accuracy_mean": 0.25, "kid_score_mean": float("nan")})
  eval_summaries.write_eval_scalars(ctx, 1000, "ckpt-1000",
                                    {"fid_score_mean": 8.0})
  scalars = read_scalars(str(tmp_path / "eval"))
  assert scalars == {"fid_score": {500: 12.5, 1000: 8.0},
                     "class_accuracy": {500: 0.25}}


def test_main_wires_the_eval_scalars():
  from compare_gan2 import main  # pylint: disable=g-import-not-at-top
  for name in ("continuous_eval", "eval_after_train"):
    schedule = main.build_schedules()[name]
    assert eval_summaries.write_eval_scalars in schedule.fn.keywords[
        "after_evaluation"]


def test_run_info_collect_and_rewrite(tmp_path):
  gin.clear_config()
  gin.parse_config("options.batch_size = 4\nrun_config.tf_random_seed = 3")
  try:
    info = run_info.collect("train", 3, None, ["a.gin"], ["x.y = 1"])
  finally:
    gin.clear_config()
  assert info["schema_version"] == 1 and info["seed"] == 3
  assert info["tensorflow"] == tf.__version__
  assert info["package"]["version"] == compare_gan2.__version__
  assert info["gin"]["options.batch_size"] == "4"
  assert info["gin_config"] == ["a.gin"] and info["gin_bindings"] == ["x.y = 1"]
  assert info["device"]["cpu"] and info["device"]["logical_devices"]
  head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"],
                        capture_output=True, text=True, check=False)
  if head.returncode == 0:  # A git checkout (CI: a fresh clone).
    assert info["package"]["git_commit"] == head.stdout.strip()
  run_info.write(str(tmp_path), info)
  run_info.write(str(tmp_path), dict(info, start_time="later"))
  again = run_info.read(str(tmp_path))
  assert again["start_time"] == "later"
  assert again["previous_starts"] == [info["start_time"]]
  assert run_info.read(str(tmp_path / "none")) is None


def test_git_commit_outside_a_checkout(tmp_path):
  assert run_info.git_commit(str(tmp_path)) == (None, None)


@pytest.fixture(scope="module")
def swept_run(tmp_path_factory):
  """One real run of a one-run sweep: compare_gan2.main, eval_after_train."""
  tmp = tmp_path_factory.mktemp("sweep")
  spec_dir = tmp / "spec"
  spec_dir.mkdir()
  (spec_dir / "sweep.json").write_text(json.dumps({
      "gin_config": [os.path.join(ROOT, "experiments/gan_landscape/base.gin")],
      "bindings": ["options.training_steps = 4", "options.batch_size = 4",
                   "eval.num_samples = 64", "run_config.save_checkpoints_steps = 2",
                   "run_config.iterations_per_loop = 2"],
      "flags": {"schedule": "eval_after_train", "eval_every_steps": 2,
                "num_eval_averaging_runs": 1},
      "axes": [{"binding": "loss.fn", "values": ["@hinge"]}],
      "seeds": [5]}))
  root = str(tmp / "root")
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.sweep", str(spec_dir), "--root", root],
      capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
  assert result.returncode == 0, result.stdout + result.stderr
  return root, os.path.join(root, "seed-5")


def test_run_writes_run_info(swept_run):
  _, model_dir = swept_run
  info = run_info.read(model_dir)
  assert info["schedule"] == "eval_after_train" and info["seed"] == 5
  assert "loss.fn = @hinge" in info["gin_bindings"]
  assert info["gin"]["loss.fn"] == "@hinge"
  assert info["gin"]["run_config.tf_random_seed"] == "5"
  assert info["device"]["num_replicas"] == 1


def test_run_writes_versioned_scores_and_eval_scalars(swept_run):
  _, model_dir = swept_run
  with open(os.path.join(model_dir, "scores.jsonl")) as f:
    records = [json.loads(l) for l in f]
  assert [r["step"] for r in records] == [2, 4]
  assert all(r["schema_version"] == 1 for r in records)
  scalars = read_scalars(os.path.join(model_dir, "eval"))
  for record in records:
    fid = record["scores"]["fid_score_mean"]
    assert scalars["fid_score"][record["step"]] == pytest.approx(fid, rel=1e-6)
  assert set(scalars["precision"]) == {2, 4}


def test_report_of_a_real_sweep(swept_run):
  root, _ = swept_run
  built = report.write_report(root)
  (group,) = built["groups"]
  assert group["name"] == "seed-5" and sorted(group["table"]) == [2, 4]
  assert os.path.exists(os.path.join(root, "report", "samples", "seed-5.png"))
