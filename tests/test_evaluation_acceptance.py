"""Acceptance (slow): train the demo config briefly, evaluate an early and a later
checkpoint with the polygons classifier, and check that the later one scores better.

Uses the cached polygons_32 classifier (`$COMPARE_GAN2_CACHE` or
~/.cache/compare_gan2); trains it first (~5 min) if it is missing.
Run with: pytest -m slow tests/test_evaluation_acceptance.py
"""

import csv
import os

import pytest

from compare_gan2 import gin_setup
from compare_gan2.evaluation import schedules
from compare_gan2 import builder

DEMO = os.path.join(os.path.dirname(__file__), os.pardir, "gin_configs",
                    "biggan_polygons32.gin")
EARLY, LATE = 1000, 15000  # The demo trains 15000 steps (~10 min on 2 cores).


@pytest.mark.slow
def test_later_checkpoint_scores_better(tmp_path):
  bindings = [
      f"options.training_steps = {LATE}",
      "run_config.save_checkpoints_steps = 1000",
      "run_config.keep_checkpoint_max = 20",  # Keep step EARLY until it is evaluated.
      "eval.num_samples = 2000",
      'eval.tasks = ["fid", "kid", "precision_recall", "class_accuracy"]',
  ]
  config_files = [DEMO]
  gin_setup.parse(config_files, bindings)
  ctx = builder.build_context(str(tmp_path), eval_every_steps=EARLY,
                             num_eval_averaging_runs=1,
                             score_filename="scores.csv")
  records = schedules.eval_after_train(ctx)
  assert [r["step"] for r in records] == list(range(EARLY, LATE + 1, EARLY))
  with open(tmp_path / "scores.csv") as f:
    rows = {int(r["step"]): r for r in csv.DictReader(f)}
  early, late = rows[EARLY], rows[LATE]
  value = lambda row, key: float(row[key + "_mean"])
  print({k: (value(early, k), value(late, k)) for k in (
      "fid_score", "kid_score", "precision", "recall", "class_accuracy")})
  assert value(late, "fid_score") < value(early, "fid_score")
  assert value(late, "kid_score") < value(early, "kid_score")
  assert value(late, "class_accuracy") > value(early, "class_accuracy")
  assert (value(late, "precision") + value(late, "recall") >
          value(early, "precision") + value(early, "recall"))
