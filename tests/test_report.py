"""compare_gan2.report on fabricated score files: aggregation, best steps, files."""

import csv
import json
import math
import os
import statistics

import numpy as np
from PIL import Image
import pytest

from compare_gan2 import report


def _write_run(root, name, choices, seed, steps_scores, sample_steps=(),
               sweep_run=True, gin=None, scores_subdir=""):
  run_dir = os.path.join(root, name)
  scores_dir = os.path.join(run_dir, scores_subdir)
  os.makedirs(scores_dir, exist_ok=True)
  if sweep_run:
    with open(os.path.join(run_dir, "sweep_run.json"), "w") as f:
      json.dump({"name": name, "choices": choices, "seed": seed}, f)
  with open(os.path.join(scores_dir, "scores.jsonl"), "w") as f:
    for step, scores in steps_scores:
      f.write(json.dumps({
          "schema_version": 1, "checkpoint_path": f"{run_dir}/model.ckpt-{step}",
          "step": step, "gin": gin or {},
          "scores": dict({f"{k}_mean": v for k, v in scores.items()},
                         **{f"{k}_std": 0.0 for k in scores},
                         fid_score_list="1_2", kid_stderr_mean=0.1)}) + "\n")
  for step in sample_steps:
    os.makedirs(os.path.join(scores_dir, "samples"), exist_ok=True)
    pixels = np.full((8, 8, 3), step % 255, np.uint8)
    Image.fromarray(pixels).save(os.path.join(scores_dir, "samples",
                                              f"step_{step}.png"))
  return run_dir


# FID per (loss, seed) and step; class accuracy rises with steps.
FID = {("hinge", 1): {500: 50.0, 1000: 30.0, 1500: 35.0},
       ("hinge", 2): {500: 54.0, 1000: 34.0, 1500: 33.0},
       ("ns", 1): {500: 40.0, 1000: 45.0, 1500: 60.0},
       ("ns", 2): {500: 44.0, 1000: 41.0, 1500: None}}


@pytest.fixture
def sweep_root(tmp_path):
  root = str(tmp_path / "sweep")
  for (loss, seed), by_step in FID.items():
    scores = [(s, {"fid_score": v, "class_accuracy": s / 2000.0 + seed / 100})
              for s, v in by_step.items()]
    _write_run(root, f"loss-{loss},seed-{seed}", {"loss": loss, "norm": "sn"}, seed,
               scores, sample_steps=(500, 1000, 1500))
  return root


def test_aggregation_and_best_step(sweep_root):
  built = report.build(sweep_root)
  assert built["metrics"] == ["class_accuracy", "fid_score"]
  assert built["columns"] == ["loss"]  # "norm" is the same everywhere.
  groups = {g["name"]: g for g in built["groups"]}
  assert sorted(groups) == ["loss-hinge", "loss-ns"]
  hinge = groups["loss-hinge"]
  assert [r["seed"] for r in hinge["runs"]] == [1, 2]
  mean, std = hinge["table"][1000]["fid_score"]
  assert mean == pytest.approx(32.0)
  assert std == pytest.approx(statistics.stdev([30.0, 34.0]))
  assert hinge["table"][1000]["n"] == 2
  # Best step by mean FID: hinge 1000 (32) beats 1500 (34); ns 500 (42) beats
  # 1000 (43); a NaN score (ns seed 2 at 1500) is left out of the mean.
  assert hinge["best_step"] == 1000
  assert groups["loss-ns"]["best_step"] == 500
  assert groups["loss-ns"]["table"][1500]["fid_score"][0] == pytest.approx(60.0)
  assert math.isnan(groups["loss-ns"]["table"][1500]["fid_score"][1])


def test_best_step_of_a_higher_is_better_metric(sweep_root):
  built = report.build(sweep_root, best_metric="class_accuracy")
  assert built["higher_is_better"]
  assert all(g["best_step"] == 1500 for g in built["groups"])
  with pytest.raises(report.ReportError, match="direction"):
    report.build(_with_metric(sweep_root, "mystery"), best_metric="mystery")
  built = report.build(sweep_root, best_metric="mystery", higher_is_better=True)
  assert {g["name"]: g["best_step"] for g in built["groups"]}["extra"] == 500


def _with_metric(root, metric):
  _write_run(root, "extra,seed-1", {"loss": "x", "norm": "sn"}, 1,
             [(500, {metric: 1.0, "fid_score": 1.0})])
  return root


def test_files_tables_and_plots(sweep_root, tmp_path):
  out = str(tmp_path / "out")
  assert report.main([sweep_root, "--out", out, "--title", "Landscape"]) == 0
  md = open(os.path.join(out, "report.md")).read()
  assert md.startswith("# Landscape")
  assert "| loss-hinge | hinge | 1000 | 2 | " in md
  assert f"32.000 ± {statistics.stdev([30.0, 34.0]):.3f}" in md
  assert "| loss-hinge | hinge | 1000 (best) | 2 |" in md
  with open(os.path.join(out, "best_steps.csv")) as f:
    best = list(csv.DictReader(f))
  assert [(r["run"], r["step"], r["seeds"]) for r in best] == [
      ("loss-hinge", "1000", "2"), ("loss-ns", "500", "2")]
  assert float(best[0]["fid_score_mean"]) == pytest.approx(32.0)
  with open(os.path.join(out, "scores_by_step.csv")) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 6 and rows[0]["loss"] == "hinge"
  for metric in ("fid_score", "class_accuracy"):
    with Image.open(os.path.join(out, "plots", f"{metric}.png")) as image:
      assert image.size[0] > 300
  samples = sorted(os.listdir(os.path.join(out, "samples")))
  assert samples == ["loss-hinge,seed-1.png", "loss-hinge,seed-2.png",
                     "loss-ns,seed-1.png", "loss-ns,seed-2.png"]


def test_sample_grid_at_or_before_the_best_step(sweep_root):
  run_dir = os.path.join(sweep_root, "loss-ns,seed-1")
  assert report.sample_grid(run_dir, 1200)[0] == 1000
  assert report.sample_grid(run_dir, 100)[0] == 500  # None before: the first.
  assert report.sample_grid(run_dir, None)[0] == 1500
  # Grids in subdirectories (an S2GAN run's gan/samples) are found: from the
  # sweep root, the newest step (ties: the last path).
  assert report.sample_grid(os.path.dirname(run_dir), None) == (
      1500, os.path.join(sweep_root, "loss-ns,seed-2", "samples", "step_1500.png"))
  os.makedirs(os.path.join(sweep_root, "empty"))
  assert report.sample_grid(os.path.join(sweep_root, "empty")) is None


def test_runs_without_sweep_files_group_by_gin(tmp_path):
  root = str(tmp_path)
  for lr in ("0.1", "0.2"):
    for seed in (1, 2):
      gin = {"ModularGAN.g_lr": lr, "options.batch_size": "8",
             "run_config.tf_random_seed": str(seed)}
      # The S2GAN pipeline keeps its GAN (and scores) in gan/.
      _write_run(root, f"lr{lr}_s{seed}", None, None,
                 [(100, {"fid_score": float(seed) + float(lr)})],
                 sweep_run=False, gin=gin, scores_subdir="gan")
  built = report.build(root)
  assert built["columns"] == ["ModularGAN.g_lr"]
  assert [len(g["runs"]) for g in built["groups"]] == [2, 2]
  assert sorted(r["seed"] for r in built["groups"][0]["runs"]) == [1, 2]
  assert built["groups"][0]["table"][100]["fid_score"][0] == pytest.approx(1.6)


def test_errors(tmp_path):
  with pytest.raises(report.ReportError, match="No scores.jsonl"):
    report.build(str(tmp_path))
  with pytest.raises(report.ReportError, match="not a directory"):
    report.build(str(tmp_path / "missing"))
  _write_run(str(tmp_path), "a", {"x": "1"}, 1, [(1, {"fid_score": 1.0})])
  with pytest.raises(report.ReportError, match="in no score file"):
    report.build(str(tmp_path), metrics=["is_score"])
  with pytest.raises(report.ReportError, match="--best_metric 'recall'"):
    report.build(str(tmp_path), best_metric="recall")
  with open(os.path.join(tmp_path, "a", "scores.jsonl"), "a") as f:
    f.write(json.dumps({"schema_version": 99, "step": 2, "scores": {}}) + "\n")
  with pytest.raises(report.ReportError, match="schema_version 99"):
    report.build(str(tmp_path))
  assert report.main([str(tmp_path / "missing")]) == 2


def test_schema_version_0_lines_are_read(tmp_path):
  os.makedirs(tmp_path / "r")
  (tmp_path / "r" / "scores.jsonl").write_text(json.dumps(
      {"checkpoint_path": "x", "step": 7, "scores": {"fid_score_mean": None,
                                                     "kid_score_mean": 2.0},
       "errors": {}, "gin": {}}) + "\n")
  (record,) = report.read_scores(str(tmp_path / "r" / "scores.jsonl"))
  assert record["step"] == 7 and record["scores"]["kid_score"] == 2.0
  assert math.isnan(record["scores"]["fid_score"])


# ------------------------------------------------------------- readable plots
@pytest.fixture
def many_root(tmp_path):
  """Six configurations (lr-0 best ... lr-5 worst by FID), two seeds each; the
  seeds of a configuration disagree a lot, so mean ± std leaves the valid range
  (FID below 0, class accuracy above 1)."""
  root = str(tmp_path / "many")
  for config in range(6):
    for seed in (1, 2):
      fid = {1: 1.0, 2: 21.0}[seed] + 5.0 * config
      accuracy = {1: 0.99, 2: 0.4}[seed]
      _write_run(root, f"lr-{config},seed-{seed}", {"lr": str(config)}, seed,
                 [(100, {"fid_score": fid + 3.0, "class_accuracy": accuracy}),
                  (200, {"fid_score": fid, "class_accuracy": accuracy})])
  return root


def _close(fig):
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  pyplot.close(fig)


def test_top_k_keeps_the_best_k_configurations(many_root):
  built = report.build(many_root)
  assert len(built["groups"]) == 6
  assert [g["name"] for g in report.ranked_groups(built)] == [
      f"lr-{i}" for i in range(6)]
  assert [g["name"] for g in report.plotted_groups(built, 3)] == [
      "lr-0", "lr-1", "lr-2"]
  assert len(report.plotted_groups(built)) == 6
  assert len(report.plotted_groups(built, 10)) == 6
  series = report.metric_series(built, "class_accuracy", top_k=2)
  assert [s["name"] for s in series] == ["lr-0", "lr-1"]
  fig = report.metric_figure(built, "fid_score", top_k=3)
  try:
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "lr-0", "lr-1", "lr-2"]
    assert len(ax.get_lines()) == 3
    assert "best 3 of 6 configurations by fid_score" in ax.get_title()
  finally:
    _close(fig)
  # Higher is better: the ranking turns around.
  built = report.build(many_root, best_metric="class_accuracy")
  lr4 = built["groups"][4]
  lr4["table"][lr4["best_step"]]["class_accuracy"] = (0.9, 0.0)
  assert report.plotted_groups(built, 1)[0]["name"] == "lr-4"
  with pytest.raises(report.ReportError, match="--top_k"):
    report.plotted_groups(built, 0)


def test_bands_are_clipped_to_the_valid_range(many_root):
  built = report.build(many_root)
  fid = report.metric_series(built, "fid_score")[0]  # lr-0: seeds 1 and 21.
  assert fid["mean"][1] == pytest.approx(11.0)
  assert fid["mean"][1] - statistics.stdev([1.0, 21.0]) < 0
  assert fid["lower"][1] == 0.0
  assert fid["upper"][1] == pytest.approx(11.0 + statistics.stdev([1.0, 21.0]))
  for line in report.metric_series(built, "class_accuracy"):
    assert line["mean"][0] + statistics.stdev([0.99, 0.4]) > 1
    assert line["upper"] == [1.0, 1.0]
    assert line["lower"] == pytest.approx([0.695 - statistics.stdev([0.99, 0.4])] * 2)
  # What the figure draws: the band polygons stay in [0, 1].
  fig = report.metric_figure(built, "class_accuracy")
  try:
    ys = np.concatenate([p.vertices[:, 1] for c in fig.axes[0].collections
                         for p in c.get_paths()])
    assert ys.size and ys.min() >= 0.0 and ys.max() <= 1.0
  finally:
    _close(fig)
  assert report.clipped_band([0.5, 2.0], [1.0, math.nan], (0.0, 1.0)) == (
      [0.0, 1.0], [1.0, 1.0])
  assert report.clipped_band([-1.0], [0.5], (0.0, None)) == ([0.0], [0.0])
  assert report.clipped_band([5.0], [1.0]) == ([4.0], [6.0])
  assert report.VALID_RANGE["kid_score"] == (0.0, None)
  assert report.VALID_RANGE["precision"] == report.VALID_RANGE["recall"] == (0.0, 1.0)


def test_title_and_direction_on_the_axes(many_root):
  built = report.build(many_root)
  assert report.metric_label(built, "fid_score") == "FID (lower is better)"
  assert report.metric_label(built, "class_accuracy") == (
      "class_accuracy (higher is better)")
  assert report.metric_label(built, "fractal_dimension") == "fractal_dimension"
  fig = report.metric_figure(built, "fid_score", title="Learning rates")
  try:
    assert fig._suptitle.get_text() == "Learning rates"  # pylint: disable=protected-access
    assert fig.axes[0].get_ylabel() == "FID (lower is better)"
    assert fig.axes[0].get_xlabel() == "step"
  finally:
    _close(fig)
  # A metric of unknown direction: the direction given for --best_metric.
  built = report.build(_with_metric(many_root, "mystery"), best_metric="mystery",
                       higher_is_better=False)
  assert report.metric_label(built, "mystery") == "mystery (lower is better)"


def test_main_top_k_and_title(many_root, tmp_path):
  out = str(tmp_path / "out")
  assert report.main([many_root, "--out", out, "--title", "LR sweep",
                      "--top_k", "2"]) == 0
  md = open(os.path.join(out, "report.md")).read()
  assert md.startswith("# LR sweep")
  assert "The plots show the best 2 of 6 configurations by `fid_score`" in md
  assert md.count("| lr-5 |") == 3  # The tables keep every configuration.
  assert sorted(os.listdir(os.path.join(out, "plots"))) == [
      "class_accuracy.png", "fid_score.png"]
  with pytest.raises(SystemExit):
    report.main([many_root, "--top_k", "0"])
