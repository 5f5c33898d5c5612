"""Evaluation layer: feature extractors, tasks, score files, schedules, end to end."""

import csv
import dataclasses
import json
import math
import os
import shutil

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import gin_setup
from compare_gan2 import inference_generator
from compare_gan2 import metrics
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.evaluation import classifier
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import feature_extractors as fe
from compare_gan2.evaluation import schedules
from compare_gan2.evaluation import scores as scores_lib
from compare_gan2.evaluation import tasks as tasks_lib
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner

BASE_BINDINGS = list(tf_test_utils.TINY_GAN_BINDINGS)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory):
  """A polygons_32 classifier trained for a few steps (fast, low accuracy)."""
  cache = tmp_path_factory.mktemp("classifiers")
  classifier.train("polygons_32", str(cache / "polygons_32"), steps=30,
                   batch_size=32, eval_examples=200)
  return str(cache)


def _eval_bindings(cache, num_samples=64, tasks=None):
  # The fixture's classifier is trained for speed, not accuracy.
  out = [f'polygons_classifier.cache_dir = "{cache}"',
         "polygons_classifier.auto_train = False",
         "polygons_classifier.min_test_accuracy = 0.0",
         f"eval.num_samples = {num_samples}",
         "eval.batch_size = 32",
         "continuous_eval.poll_seconds = 0"]
  if tasks is not None:
    out.append(f"eval.tasks = {list(tasks)!r}".replace("'", '"'))
  return out


def _context(model_dir, *extra, **flags):
  gin.clear_config()
  gin_setup.parse(bindings=BASE_BINDINGS + list(extra))
  return builder.build_context(str(model_dir), **flags)


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
  """dummy_arch trained 4 steps: checkpoints 0, 2, 4 and TRAIN_DONE."""
  model_dir = tmp_path_factory.mktemp("trained")
  ctx = _context(model_dir)
  runner.schedule_train(ctx)
  gin.clear_config()
  return model_dir


def _copy(trained_dir, tmp_path):
  dst = tmp_path / "model"
  shutil.copytree(trained_dir, dst)
  # The checkpoint state file holds absolute paths of the original directory.
  state = (dst / "checkpoint").read_text().replace(str(trained_dir), str(dst))
  (dst / "checkpoint").write_text(state)
  return dst


# -------------------------------------------------------- Inception stand-in
class _StandIn(tf.Module):
  """Same signature as tfgan's Inception module: images [N, 299, 299, 3] in
  [-1, 1] -> {"pool_3": [N, 1, 1, 2048], "logits": [N, 1008]}. pool_3 holds the
  per-channel means of its input, logits[:, :3] its min, max and height."""

  @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
  def __call__(self, images):
    n = tf.shape(images)[0]
    means = tf.reduce_mean(images, [1, 2])
    pool = tf.concat([means, tf.zeros([n, 2045])], 1)
    stats = tf.stack([tf.reduce_min(images, [1, 2, 3]),
                      tf.reduce_max(images, [1, 2, 3]),
                      tf.fill([n], tf.cast(tf.shape(images)[1], tf.float32))], 1)
    logits = tf.concat([stats, tf.zeros([n, 1005])], 1)
    return {"pool_3": tf.reshape(pool, [n, 1, 1, 2048]), "logits": logits}


@pytest.fixture(scope="module")
def stand_in_module(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("hub") / "inception")
  tf.saved_model.save(_StandIn(), path)
  return path


def test_inception_stand_in_handle_resize_and_scale(stand_in_module):
  extractor = fe.InceptionExtractor(stand_in_module, batch_size=3)
  images = np.stack([np.full([32, 32, 3], v, np.float32)
                     for v in (0.0, 0.5, 1.0, 0.25)])
  images[3, :, :, 1] = 1.0
  out = extractor(images)
  assert out["pool"].shape == (4, 2048) and out["logits"].shape == (4, 1008)
  expected = (images[:, 0, 0, :] * 255.0 - 128.0) / 128.0
  np.testing.assert_allclose(out["pool"][:, :3], expected, atol=1e-3)
  np.testing.assert_allclose(out["logits"][:, 2], 299.0)
  np.testing.assert_allclose(out["logits"][:2, 0], [-1.0, (127.5 - 128) / 128],
                             atol=1e-5)
  # Grayscale images are tiled to 3 channels.
  gray = extractor(np.full([2, 16, 16, 1], 1.0, np.float32))
  np.testing.assert_allclose(gray["pool"][:, :3], 127.0 / 128.0, atol=1e-5)


def test_inception_selected_by_gin(stand_in_module):
  gin_setup.parse(bindings=[f'eval.inception_handle = "{stand_in_module}"',
                            'eval.feature_extractor = "auto"'])
  extractor = evaluator_lib.get_feature_extractor("cifar10")
  assert isinstance(extractor, fe.InceptionExtractor)
  assert extractor.handle == stand_in_module


def test_inception_bad_handle_error_names_handle(tmp_path):
  bad = str(tmp_path / "no_such_module")
  with pytest.raises(fe.FeatureExtractorError) as e:
    fe.InceptionExtractor(bad)
  assert bad in str(e.value)
  assert "eval.inception_handle" in str(e.value)


# ----------------------------------------------------------- the classifier
def test_classifier_cache_reuse_and_missing(classifier_cache, tmp_path,
                                            monkeypatch):
  def no_training(*args, **kwargs):
    raise AssertionError("must not retrain when cached")
  monkeypatch.setattr(classifier, "train", no_training)
  clf = classifier.DatasetClassifier("polygons_32", cache_dir=classifier_cache,
                                     auto_train=False, min_test_accuracy=0.0)
  assert clf.metadata["dataset"] == "polygons_32"
  out = clf(np.random.default_rng(0).uniform(size=[5, 32, 32, 3]))
  assert out["pool"].shape == (5, 128) and out["logits"].shape == (5, 6)
  with pytest.raises(fe.FeatureExtractorError, match="train_classifier"):
    classifier.DatasetClassifier("polygons_32", cache_dir=str(tmp_path),
                                 auto_train=False)


def test_classifier_auto_trains_on_first_use(tmp_path, monkeypatch):
  calls = []
  real_train = classifier.train

  def quick(dataset_name, output_dir, **kwargs):
    calls.append(output_dir)
    return real_train(dataset_name, output_dir, steps=2, batch_size=8,
                      eval_examples=16)
  monkeypatch.setattr(classifier, "train", quick)
  clf = classifier.DatasetClassifier("polygons_32", cache_dir=str(tmp_path),
                                     min_test_accuracy=0.0)
  assert calls == [str(tmp_path / "polygons_32")]
  assert clf.metadata["steps"] == 2


def test_cache_dir_from_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("COMPARE_GAN2_CACHE", str(tmp_path))
  assert classifier.classifier_dir("polygons_64") == str(
      tmp_path / "classifiers" / "polygons_64")


# -------------------------------------------------------------------- tasks
def _sets(n=80, d=16, seed=0, shift=0.0):
  rng = np.random.default_rng(seed)
  real = tasks_lib.SampleSet(
      images=rng.uniform(size=[n, 16, 16, 3]).astype(np.float32),
      labels=np.arange(n) % 4, pool=rng.normal(size=[n, d]),
      logits=rng.normal(size=[n, 4]))
  fake = tasks_lib.SampleSet(
      images=rng.uniform(size=[n, 16, 16, 3]).astype(np.float32) ** 2,
      labels=np.arange(n) % 4, pool=rng.normal(size=[n, d]) + shift,
      logits=rng.normal(size=[n, 4]))
  return real, fake


def test_all_tasks_on_synthetic_data():
  real, fake = _sets()
  tasks = tasks_lib.make_tasks(sorted(tasks_lib.TASKS))
  ctx = tasks_lib.TaskContext(conditional=True, class_aligned=True, seed=1)
  scores, errors = tasks_lib.run_tasks(tasks, real, fake, ctx)
  assert not errors
  # Every sample-based task (d_classifier and d_overfitting read the
  # discriminator, not samples).
  expected_keys = {k for t in tasks if not (t.reads_discriminator or
                                            t.reads_discriminator_logits)
                   for k in t.keys}
  assert set(scores) == expected_keys
  assert scores["fid_score"] == pytest.approx(
      metrics.frechet_distance_from_activations(real.pool, fake.pool))
  assert scores["class_accuracy"] == pytest.approx(
      metrics.sample_class_accuracy(fake.logits, fake.labels))
  assert math.isfinite(scores["kid_score"]) and math.isfinite(
      scores["kid_stderr"]) is False  # One block of 80: stderr undefined.


def test_ms_ssim_and_fractal_dimension_use_fake_images():
  real, fake = _sets()
  ctx = tasks_lib.TaskContext(seed=3)
  ms = tasks_lib.MSSSIMTask(num_batches=2, batch_size=16).run(real, fake, ctx)
  assert ms["ms_ssim"] == pytest.approx(metrics.ms_ssim_diversity(
      fake.images * 255.0, num_batches=2, batch_size=16, seed=3))
  assert ms["ms_ssim"] != pytest.approx(metrics.ms_ssim_diversity(
      real.images * 255.0, num_batches=2, batch_size=16, seed=3))
  fd = tasks_lib.FractalDimensionTask(num_fd_seeds=20).run(real, fake, ctx)
  assert fd["fractal_dimension"] == pytest.approx(metrics.fractal_dimension(
      fake.images * 255.0, num_fd_seeds=20, seed=3))


def test_fid_and_kid_grow_with_distribution_shift():
  ctx = tasks_lib.TaskContext()
  tasks = tasks_lib.make_tasks(["fid", "kid", "precision_recall"])
  near, _ = tasks_lib.run_tasks(tasks, *_sets(n=200, shift=0.1), ctx)
  far, _ = tasks_lib.run_tasks(tasks, *_sets(n=200, shift=2.0), ctx)
  assert far["fid_score"] > near["fid_score"]
  assert far["kid_score"] > near["kid_score"]
  assert far["precision"] < near["precision"]


def test_conditional_tasks_skipped_when_not_applicable():
  real, fake = _sets()
  tasks = tasks_lib.make_tasks(["class_accuracy", "intra_class_fid", "fid"])
  scores, _ = tasks_lib.run_tasks(tasks, real, fake,
                                  tasks_lib.TaskContext(conditional=False))
  assert set(scores) == {"fid_score"}
  scores, _ = tasks_lib.run_tasks(
      tasks, real, fake, tasks_lib.TaskContext(conditional=True,
                                               class_aligned=False))
  assert set(scores) == {"fid_score", "intra_class_fid"}


def test_failing_task_records_nan_and_error():
  real, fake = _sets(n=3)
  scores, errors = tasks_lib.run_tasks(
      tasks_lib.make_tasks(["precision_recall", "fid"]), real, fake,
      tasks_lib.TaskContext())
  assert math.isnan(scores["precision"]) and "precision_recall" in errors
  assert math.isfinite(scores["fid_score"])


def test_unknown_task_name():
  with pytest.raises(ValueError, match="available"):
    tasks_lib.make_tasks(["fid", "nope"])


def test_aggregate():
  result = tasks_lib.aggregate([{"a": 1.0}, {"a": 3.0}])
  assert result == {"a_mean": 2.0, "a_std": 1.0, "a_list": "1_3"}


# -------------------------------------------------------------- score files
def test_score_files_contents_scopes_and_resume(tmp_path):
  (tmp_path / "operative_config-0.gin").write_text(
      "options.batch_size = 4\nG/weights.initializer = 'orthogonal'\n"
      "D/weights.initializer = 'normal'\n")
  files = scores_lib.ScoreFiles(str(tmp_path), "my_scores.csv")
  files.add("/m/model.ckpt-5", 5, {"fid_score_mean": 1.5, "x_list": "1_2"})
  files.add("/m/model.ckpt-10", 10, {"fid_score_mean": float("nan"),
                                     "kid_score_mean": 0.25},
            errors={"run0": "nan_in_samples"})
  assert sorted(os.listdir(tmp_path)) == ["my_scores.csv",
                                          "operative_config-0.gin",
                                          "scores.jsonl"]
  with open(tmp_path / "my_scores.csv") as f:
    rows = list(csv.DictReader(f))
    header = rows[0].keys()
  assert list(header)[:2] == ["checkpoint_path", "step"]
  assert [r["step"] for r in rows] == ["5", "10"]
  assert rows[0]["fid_score_mean"] == "1.5" and rows[0]["kid_score_mean"] == ""
  assert rows[1]["fid_score_mean"] == "nan"
  assert rows[1]["eval_errors"] == "run0: nan_in_samples"
  assert rows[0]["G/weights.initializer"] == "'orthogonal'"
  assert rows[0]["D/weights.initializer"] == "'normal'"
  assert rows[0]["options.batch_size"] == "4"
  lines = (tmp_path / "scores.jsonl").read_text().splitlines()
  records = [json.loads(l) for l in lines]
  assert records[1]["scores"]["fid_score_mean"] is None
  assert records[1]["gin"]["G/weights.initializer"] == "'orthogonal'"
  assert scores_lib.ScoreFiles(str(tmp_path), "my_scores.csv"
                               ).evaluated_steps() == {5, 10}


# --------------------------------------------------------------- schedules
class _StubEvaluator:
  def __init__(self, delete=None):
    self.evaluated, self.delete = [], delete

  def evaluate_checkpoint(self, path):
    if self.delete and checkpoints.step_of(path) == self.delete:
      for name in os.listdir(os.path.dirname(path)):
        if name.startswith(os.path.basename(path) + "."):
          os.remove(os.path.join(os.path.dirname(path), name))
      checkpoints.restore_gan(None, path)  # Raises CheckpointNotFoundError.
    self.evaluated.append(checkpoints.step_of(path))
    return {"fid_score_mean": float(checkpoints.step_of(path))}, {}


def _steps_in_scores(model_dir):
  return [r["step"] for r in scores_lib.ScoreFiles(str(model_dir))
          .read_records()]


def test_continuous_eval_resume_never_twice(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  # Training not done: evaluate what is there, then give up after the timeout.
  ctx = _context(model_dir, "continuous_eval.timeout_seconds = 0",
                 eval_every_steps=0)
  first = _StubEvaluator()
  (model_dir / checkpoints.TRAIN_DONE).unlink()
  schedules.continuous_eval(ctx, sleep_fn=lambda s: None, evaluator=first)
  assert first.evaluated == [0, 2, 4]
  checkpoints.mark_training_done(str(model_dir))
  second = _StubEvaluator()
  schedules.continuous_eval(ctx, sleep_fn=lambda s: None, evaluator=second)
  assert second.evaluated == []
  assert _steps_in_scores(model_dir) == [0, 2, 4]


class _Crash(BaseException):
  """A kill between two writes (not an Exception: nothing may catch it)."""


def test_crash_between_score_writes_then_restart(trained_dir, tmp_path,
                                                 monkeypatch):
  model_dir = _copy(trained_dir, tmp_path)
  ctx = _context(model_dir, eval_every_steps=0)
  real_write_csv = scores_lib.ScoreFiles._write_csv

  def crash_at_step_2(self, records):
    if records[-1]["step"] == 2:
      raise _Crash()
    real_write_csv(self, records)
  monkeypatch.setattr(scores_lib.ScoreFiles, "_write_csv", crash_at_step_2)
  first = _StubEvaluator()
  with pytest.raises(_Crash):
    schedules.continuous_eval(ctx, sleep_fn=lambda s: None, evaluator=first)
  assert first.evaluated == [0, 2]
  files = scores_lib.ScoreFiles(str(model_dir))
  assert [r["step"] for r in files.read_csv_rows()] == ["0"]  # CSV behind.
  assert files.evaluated_steps() == {0, 2}  # scores.jsonl holds step 2.
  monkeypatch.undo()
  second = _StubEvaluator()  # The restart.
  schedules.continuous_eval(ctx, sleep_fn=lambda s: None, evaluator=second)
  assert second.evaluated == [4]  # Step 2 is not evaluated twice...
  rows = files.read_csv_rows()
  assert [r["step"] for r in rows] == ["0", "2", "4"]  # ...and the CSV repaired.
  assert rows[1]["fid_score_mean"] == "2.0"
  assert _steps_in_scores(model_dir) == [0, 2, 4]
  assert not [n for n in os.listdir(model_dir) if ".tmp" in n]


def test_csv_rows_without_json_record_are_kept_then_replaced(tmp_path):
  (tmp_path / "scores.csv").write_text(
      "checkpoint_path,step,fid_score_mean\n/m/model.ckpt-5,5,9.0\n")
  files = scores_lib.ScoreFiles(str(tmp_path))
  assert files.evaluated_steps() == set()  # Evaluated again: no JSON record.
  files.add("/m/model.ckpt-10", 10, {"fid_score_mean": 1.0}, gin_settings={})
  assert [r["step"] for r in files.read_csv_rows()] == ["5", "10"]
  files.add("/m/model.ckpt-5", 5, {"fid_score_mean": 2.0}, gin_settings={})
  rows = files.read_csv_rows()
  assert [(r["step"], r["fid_score_mean"]) for r in rows] == [("10", "1.0"),
                                                              ("5", "2.0")]


def test_continuous_eval_waits_for_checkpoints_then_train_done(trained_dir,
                                                               tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  (model_dir / checkpoints.TRAIN_DONE).unlink()
  ctx = _context(model_dir, eval_every_steps=2)
  stub = _StubEvaluator()
  sleeps = []

  def sleep(seconds):
    sleeps.append(seconds)
    if len(sleeps) == 3:
      checkpoints.mark_training_done(str(model_dir))
  schedules.continuous_eval(ctx, sleep_fn=sleep, evaluator=stub)
  assert stub.evaluated == [2, 4]     # step 0 skipped with eval_every_steps > 0
  assert len(sleeps) == 3             # polled until TRAIN_DONE appeared


def test_continuous_eval_skips_deleted_checkpoint(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  ctx = _context(model_dir, eval_every_steps=0)
  stub = _StubEvaluator(delete=2)
  schedules.continuous_eval(ctx, sleep_fn=lambda s: None, evaluator=stub)
  assert stub.evaluated == [0, 4]
  assert _steps_in_scores(model_dir) == [0, 4]


def test_eval_every_steps_filter():
  assert [s for s in range(0, 13) if schedules.wanted_step(s, 5, 12)] == [
      5, 10, 12]
  assert [s for s in range(0, 3) if schedules.wanted_step(s, 0)] == [0, 1, 2]


def test_actions_run_after_each_evaluation(trained_dir, tmp_path):
  model_dir = _copy(trained_dir, tmp_path)
  ctx = _context(model_dir, eval_every_steps=4)
  seen = []
  actions = (lambda c, step, path, s: seen.append((step, path)),
             lambda *a: 1 / 0)  # A failing action is only logged.
  schedules.continuous_eval(ctx, sleep_fn=lambda s: None,
                            evaluator=_StubEvaluator(), after_evaluation=actions)
  assert seen == [(4, str(model_dir / "model.ckpt-4"))]


# ------------------------------------------------------------ end to end
def test_eval_after_train_and_continuous_eval_end_to_end(classifier_cache,
                                                         tmp_path):
  model_dir = tmp_path / "e2e"
  extra = _eval_bindings(classifier_cache, num_samples=64, tasks=[
      "fid", "kid", "inception_score", "precision_recall", "prd", "ms_ssim",
      "fractal_dimension", "intra_class_fid", "class_accuracy"]) + [
          "ms_ssim_task.batch_size = 16", "fractal_dimension_task.num_fd_seeds = 20",
          "prd_task.num_runs = 2", "prd_task.num_clusters = 5"]
  ctx = _context(model_dir, *extra, eval_every_steps=0,
                 num_eval_averaging_runs=2, score_filename="scores.csv")
  records = schedules.eval_after_train(ctx)
  assert [r["step"] for r in records] == [0, 2, 4]
  with open(model_dir / "scores.csv") as f:
    rows = list(csv.DictReader(f))
  assert [r["step"] for r in rows] == ["0", "2", "4"]
  for key in ("fid_score", "kid_score", "kid_stderr", "inception_score",
              "precision", "recall", "prd_f8", "prd_f1_8", "ms_ssim",
              "fractal_dimension", "intra_class_fid", "class_accuracy"):
    for suffix in ("_mean", "_std", "_list"):
      assert key + suffix in rows[0], key + suffix
    assert len(rows[0][key + "_list"].split("_")) == 2
    assert math.isfinite(float(rows[0][key + "_mean"])) or key == "kid_stderr"
  assert rows[0]["options.architecture"] == "'dummy_arch'"
  assert rows[0]["eval_errors"] == ""
  # Deterministic: the same checkpoint evaluates to the same numbers.
  ev = evaluator_lib.Evaluator(ctx.gan, num_averaging_runs=2)
  again, _ = ev.evaluate_checkpoint(str(model_dir / "model.ckpt-2"))
  assert again["fid_score_mean"] == pytest.approx(
      float(rows[1]["fid_score_mean"]), rel=1e-4)
  # continuous_eval on the finished run: nothing left to do, then a new
  # eval_every_steps setting on a fresh score file evaluates again.
  assert schedules.continuous_eval(ctx, sleep_fn=lambda s: None) == []
  os.remove(model_dir / "scores.jsonl")
  ctx.flags = dataclasses.replace(ctx.flags, score_filename="other.csv",
                                  eval_every_steps=4)
  records = schedules.continuous_eval(ctx, sleep_fn=lambda s: None)
  assert [r["step"] for r in records] == [4]


def test_nan_samples_recorded_not_crash(classifier_cache, tmp_path,
                                        monkeypatch):
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 32,
                                           ["fid", "class_accuracy"]))
  ctx.gan.build()
  ev = evaluator_lib.Evaluator(ctx.gan, num_averaging_runs=2)
  original = ev.sample_batches

  def sample_batches(run):
    for images, labels in original(run):
      if run == 1:
        images[3, 0, 0, 0] = np.nan
      yield images, labels
  monkeypatch.setattr(ev, "sample_batches", sample_batches)
  scores, errors = ev.evaluate_loaded()
  assert math.isfinite(float(scores["fid_score_list"].split("_")[0]))
  assert math.isnan(scores["fid_score_mean"])
  assert scores["class_accuracy_list"].split("_")[1] == "nan"
  assert "nan_in_samples" in errors["run1"]
  assert "1 of 32 generated images" in errors["run1"]


def _direct_batch_moments(gan, batches):
  """Per-layer batch moments of G in training mode, averaged: a direct
  formulation with an outer recording hook (no InferenceGenerator)."""
  sums = {}
  for z, labels in batches:
    calls = []
    def record(name, mean, variance):
      calls.append((name, mean.numpy(), variance.numpy()))
    with variable_store.no_state_updates(), normalization.batch_stats_hook(record):
      gan.generator(z, tf.one_hot(labels, gan.num_classes), is_training=True)
    for name, mean, variance in calls:
      sums.setdefault(name, []).append((mean, variance))
  return {k: (np.mean([m for m, _ in v], 0), np.mean([s for _, s in v], 0))
          for k, v in sums.items()}


def test_standing_statistics_are_averaged_batch_moments(classifier_cache, tmp_path):
  """With accumulators (compare_gan's standing statistics), G is sampled with
  the per-layer batch moments averaged over the standing-statistics latents;
  the GAN's own variables are untouched."""
  ctx = _context(tmp_path, "standardize_batch.use_moving_averages = False",
                 *_eval_bindings(classifier_cache, 32, ["fid"]),
                 "eval.standing_stats_examples = 96")
  ctx.gan.build()
  ev = evaluator_lib.Evaluator(ctx.gan, num_averaging_runs=1)
  before = {v.name: v.numpy() for v in ctx.gan.generator.variables}
  generator = ev.prepare_generator()
  assert generator.statistics
  expected = _direct_batch_moments(ctx.gan, list(ev.standing_statistics_batches()))
  assert len(list(ev.standing_statistics_batches())) == 3  # 96 / 32 batches
  assert set(generator.statistics) == set(expected)
  for key, (mean, variance) in generator.statistics.items():
    np.testing.assert_allclose(mean, expected[key][0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(variance, expected[key][1], rtol=1e-4, atol=1e-6)
  for v in ctx.gan.generator.variables:
    np.testing.assert_array_equal(v.numpy(), before[v.name])
  images, _ = ev.sample(0)
  assert images.shape == (32, 32, 32, 3) and np.isfinite(images).all()
  # Sampling normalizes with exactly these statistics (hence batch-independent).
  one = ev.generator(*inference_generator.evaluation_latents(ctx.gan, 42, 101, 0, 0, 1))
  np.testing.assert_allclose(one.numpy()[0], images[0], atol=1e-5)


def test_moving_averages_without_accumulators(classifier_cache, tmp_path):
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 32, ["fid"]))
  ctx.gan.build()
  ev = evaluator_lib.Evaluator(ctx.gan)
  assert ev.prepare_generator().statistics is None
  z, labels = inference_generator.evaluation_latents(ctx.gan, 42, 101, 0, 0, 4)
  with variable_store.no_state_updates():
    direct = ctx.gan.generator(z, tf.one_hot(labels, 6), is_training=False)
  np.testing.assert_allclose(ev.generator(z, labels).numpy(), direct.numpy(),
                             atol=1e-5)


def test_spectral_norm_at_evaluation_is_the_ema_kernels_largest_singular_value(
    classifier_cache, tmp_path):
  """The EMA generator is sampled with u converged on the EMA kernels: sigma
  equals the SVD's largest singular value, not the raw weights' estimate."""
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 32, ["fid"]),
                 "G.spectral_norm = True", "ModularGAN.g_use_ema = True")
  gan = ctx.gan
  gan.build()
  rng = np.random.default_rng(0)
  for name, shadow in gan.ema.shadows.items():  # EMA weights unlike the raw ones
    shadow.assign(shadow.numpy() + rng.normal(0, 0.05, shadow.shape).astype(np.float32))
  u_names = [n for n in gan.generator.store.vars if n.endswith("/u_var")]
  assert u_names
  training_u = {n: gan.generator.store[n].numpy() for n in u_names}
  generator = evaluator_lib.Evaluator(gan).prepare_generator()
  for u_name in u_names:
    kernel_name = u_name[:-len("/u_var")]
    w = gan.ema.shadows[kernel_name].numpy()
    w = w.reshape(-1, w.shape[-1])
    u = generator.values[u_name]
    if u.shape == (w.shape[0], 1):
      v = w.T @ u
      v /= np.linalg.norm(v)
      sigma = (u.T @ w @ v).item()
    else:
      v = u @ w.T
      v /= np.linalg.norm(v)
      sigma = (v @ w @ u.T).item()
    top = np.linalg.svd(w, compute_uv=False)[0]
    assert sigma == pytest.approx(top, rel=1e-3), kernel_name
    # Training's u is left as it was.
    np.testing.assert_array_equal(training_u[u_name], gan.generator.store[u_name].numpy())


def test_top_singular_vector_right_and_left():
  rng = np.random.default_rng(1)
  w = rng.normal(size=(3, 3, 4, 5))
  top = np.linalg.svd(w.reshape(-1, 5), compute_uv=False)[0]
  for u0 in (rng.normal(size=(36, 1)), rng.normal(size=(1, 5))):
    u, sigma = inference_generator.top_singular_vector(w, u0)
    assert u.shape == u0.shape and sigma == pytest.approx(top, rel=1e-6)
    # A fixed point of spectral norm's power iteration.
    flat = w.reshape(-1, 5)
    if u.shape == (36, 1):
      v = flat.T @ u / np.linalg.norm(flat.T @ u)
      again = flat @ v / np.linalg.norm(flat @ v)
    else:
      v = u @ flat.T / np.linalg.norm(u @ flat.T)
      again = v @ flat / np.linalg.norm(v @ flat)
    np.testing.assert_allclose(again, u, atol=1e-5)
  with pytest.raises(ValueError, match="does not fit"):
    inference_generator.top_singular_vector(w, np.ones((5, 1)))


def test_evaluation_keeps_a_bounded_image_sample(classifier_cache, tmp_path):
  """Features of every sample, images only as many as image tasks need."""
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 96, ["fid"]))
  ctx.gan.build()
  ev = evaluator_lib.Evaluator(ctx.gan, num_averaging_runs=1)
  ev.prepare_generator()
  fake = ev.fake_samples(0)
  assert ev.images_kept == 0 and fake.images.shape[0] == 0
  assert fake.pool.shape[0] == 96 and fake.labels.shape == (96,)
  assert ev.real_samples().pool.shape[0] == 96
  with gin.unlock_config():
    gin.bind_parameter("ms_ssim_task.num_batches", 1)
    gin.bind_parameter("ms_ssim_task.batch_size", 40)
  ev = evaluator_lib.Evaluator(ctx.gan, num_averaging_runs=1,
                               options=evaluator_lib.eval_options(
                                   tasks=["fid", "ms_ssim"]))
  ev.prepare_generator()
  fake = ev.fake_samples(0)
  assert ev.images_kept == 40 and fake.images.shape == (40, 32, 32, 3)
  images, _ = ev.sample(0)
  np.testing.assert_array_equal(fake.images, images[:40])
  scores, errors = ev.evaluate_loaded()
  assert not errors and 0 <= scores["ms_ssim_mean"] <= 1


def test_large_evaluation_seed(classifier_cache, tmp_path):
  """eval.seed >= 2148 overflowed int32 in the latent seed; now any seed works."""
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 32, ["fid"]),
                 "eval.seed = 123456789")
  ctx.gan.build()

  def sample(seed):
    with gin.unlock_config():
      gin.bind_parameter("eval.seed", seed)
    ev = evaluator_lib.Evaluator(ctx.gan)
    ev.prepare_generator()
    return ev.sample(0)

  images, labels = sample(123456789)
  assert images.shape[0] == 32 and labels.shape == (32,)
  # Reproducible, and the seed's every bit counts: neighbouring seeds and one
  # 2^32 away (what a 32-bit wrap would merge) give other samples.
  again, again_labels = sample(123456789)
  np.testing.assert_array_equal(images, again)
  np.testing.assert_array_equal(labels, again_labels)
  for other in (123456790, 123456789 + 2**32):
    assert np.abs(sample(other)[0] - images).max() > 1e-3, other


def test_sample_sizes_follow_dataset(classifier_cache, tmp_path):
  ctx = _context(tmp_path, *_eval_bindings(classifier_cache, 32, ["fid"])[:2])
  assert evaluator_lib.Evaluator(ctx.gan).num_samples == 10000


@pytest.mark.slow
def test_classifier_full_training_accuracy(tmp_path):
  meta = classifier.train("polygons_32", str(tmp_path / "polygons_32"))
  assert meta["test_accuracy"] > 0.95
  clf = classifier.DatasetClassifier("polygons_32", cache_dir=str(tmp_path),
                                     auto_train=False)
  assert clf.metadata["test_accuracy"] == meta["test_accuracy"]


@pytest.mark.parametrize("keep, every, lost", [
    (10, 1000, [1000, 2000, 3000, 4000, 5000]),  # 0..15000 saved, 6000.. kept.
    (20, 1000, []),
    (10, 5000, [5000]),
    (16, 0, []),
    (10, 0, [0, 1000, 2000, 3000, 4000, 5000]),  # every=0 wants step 0 too.
])
def test_steps_deleted_before_evaluation(keep, every, lost):
  from types import SimpleNamespace  # pylint: disable=g-import-not-at-top
  ctx = SimpleNamespace(
      flags=builder.ScheduleFlags(eval_every_steps=every), options={"training_steps": 15000},
      run_config=builder.RunConfig(save_checkpoints_steps=1000,
                                  keep_checkpoint_max=keep))
  assert schedules.steps_deleted_before_evaluation(ctx) == lost
