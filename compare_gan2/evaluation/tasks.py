"""Evaluation tasks: each metric as a task on a real and a fake `SampleSet`.

A task has a `name`, the result `keys` it produces and `run(real, fake) ->
{key: float}`. Tasks are selected by name with gin `eval.tasks` (see
`TASKS`). Fixes relative to compare_gan (its `eval_gan_lib.evaluate_tfhub_module`
and `runner_lib._run_eval`):

* MS-SSIM and fractal dimension are computed on the FAKE images (compare_gan's
  argument order made them use the real ones).
* KID works (plain NumPy, with its standard error `kid_stderr`).
* Non-finite generated images do not crash evaluation: `run_tasks` records
  NaN for every key of the run and reports the reason (see `NaNInSamples`);
  a task that fails on valid inputs (ValueError, e.g. too few samples)
  records NaN for its keys and the error message.
* Tasks that do not apply (class accuracy / intra-class FID for an
  unconditional model or an extractor whose classes are not the dataset's)
  are skipped and produce no keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import dataclasses
import typing

from absl import logging
import gin
import numpy as np

from compare_gan2 import errors
from compare_gan2 import metrics


@dataclasses.dataclass
class SampleSet:
  """Images and what the feature extractor made of them.

  Attributes:
    images: [M, H, W, C] float32 in [0, 1]: the first M <= N images of the
      set, as many as the image-based tasks need (`images_needed`); the
      evaluator keeps no more, so memory does not grow with N.
    labels: [N] int labels (real: dataset labels; fake: conditioned labels),
      or None.
    pool: [N, D] features (Inception pool_3 / classifier penultimate layer).
    logits: [N, K] classifier logits.
  """
  images: np.ndarray
  labels: np.ndarray | None
  pool: np.ndarray
  logits: np.ndarray


@dataclasses.dataclass
class DiscriminatorReadout:
  """What the evaluated checkpoint's discriminator heads say about real images.

  Attributes:
    test_labels: [N] labels of the eval-split images read.
    test_predictor_logits: [N, K] D's class predictor (S2GAN-CO / S3GAN) on them,
      or None if D has no predictor.
    unlabelled_labels: [M] true labels of train images the GAN saw without a
      label (its `labeled_fraction` hid them), or None.
    unlabelled_predictor_logits: [M, K] the predictor on those, or None.
    rotation_logits: [4N, 4] D's rotation head on the eval images rotated by 0,
      90, 180, 270 degrees (rotation-major), or None.
  """
  test_labels: np.ndarray
  test_predictor_logits: np.ndarray | None = None
  unlabelled_labels: np.ndarray | None = None
  unlabelled_predictor_logits: np.ndarray | None = None
  rotation_logits: np.ndarray | None = None


@dataclasses.dataclass
class OverfittingReadout:
  """The evaluated discriminator's adversarial logits (`discriminator_logits`)
  on unaugmented images.

  Attributes:
    train_real_logits: [M] on the first training reals the GAN trains on (its
      `dataset.train_fraction` subset, if any).
    test_real_logits: [N] on the first held-out reals (the eval split).
    fake_logits: [K] on images of the trained (not EMA) generator in training
      mode, as D sees them during training.
  """
  train_real_logits: np.ndarray
  test_real_logits: np.ndarray
  fake_logits: np.ndarray


@dataclasses.dataclass
class TaskContext:
  """What tasks may need to know besides the samples."""
  conditional: bool = False
  class_aligned: bool = False   # the extractor's logits are the dataset classes
  seed: int = 0
  # The conditioning labels are the dataset's classes (not SINGLE / RANDOM LABEL
  # or cluster ids), so per-class comparisons with real images mean something.
  labels_are_classes: bool = True
  # The discriminator's heads on real images (tasks with reads_discriminator).
  discriminator: DiscriminatorReadout | None = None
  # D's adversarial logits on training reals, held-out reals and fakes (tasks
  # with reads_discriminator_logits).
  overfitting: OverfittingReadout | None = None


# {result key: value} of one task or run.
Scores = dict[str, float]


class Task:
  """A metric: `run(real, fake, ctx)` gives {key: value} for its `keys`."""
  name: typing.ClassVar[str]  # Every task sets its name.
  keys: typing.ClassVar[tuple[str, ...]] = ()
  images_needed = 0  # Images (not only features) this task reads.
  reads_discriminator = False  # Needs TaskContext.discriminator.
  reads_discriminator_logits = False  # Needs TaskContext.overfitting.

  def applies(self, ctx: TaskContext) -> bool:  # pylint: disable=unused-argument
    return True

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    raise NotImplementedError


@gin.configurable("fid_task")
class FIDTask(Task):
  """Frechet distance between real and fake pool features (`fid_score`)."""
  name, keys = "fid", ("fid_score",)

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    return {"fid_score": metrics.frechet_distance_from_activations(
        real.pool, fake.pool)}


@gin.configurable("kid_task")
class KIDTask(Task):
  """Unbiased KID on pool features (`kid_score`, `kid_stderr`)."""
  name, keys = "kid", ("kid_score", "kid_stderr")

  def __init__(self, max_block_size: int = 1024):
    self.max_block_size = max_block_size

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    # Blocks are contiguous: shuffle (seeded) so class-ordered sets are fine.
    value, stderr = metrics.kid(real.pool, fake.pool,
                                max_block_size=self.max_block_size,
                                shuffle_seed=ctx.seed)
    return {"kid_score": value, "kid_stderr": stderr}


@gin.configurable("inception_score_task")
class InceptionScoreTask(Task):
  """IS of the fake logits. num_splits=1 is compare_gan's single split."""
  name, keys = "inception_score", ("inception_score",)

  def __init__(self, num_splits: int = 1):
    self.num_splits = num_splits

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    mean, _ = metrics.inception_score(fake.logits, num_splits=self.num_splits)
    return {"inception_score": mean}


@gin.configurable("precision_recall_task")
class PrecisionRecallTask(Task):
  """Improved precision/recall (+ density/coverage) on pool features."""
  name = "precision_recall"
  keys = ("precision", "recall", "density", "coverage")

  def __init__(self, k: int = 3):
    self.k = k

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    return metrics.precision_recall(real.pool, fake.pool, k=self.k)


@gin.configurable("prd_task")
class PRDTask(Task):
  """PRD (Sajjadi et al.): `prd_f8` (recall-like), `prd_f1_8` (precision-like)."""
  name, keys = "prd", ("prd_f8", "prd_f1_8")

  def __init__(self, num_clusters: int = 20, num_runs: int = 10):
    self.num_clusters, self.num_runs = num_clusters, num_runs

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    n = min(len(real.pool), len(fake.pool))
    precision, recall = metrics.compute_prd_from_embedding(
        fake.pool[:n], real.pool[:n], num_clusters=self.num_clusters,
        num_runs=self.num_runs, seed=ctx.seed)
    f8, f1_8 = metrics.prd_to_max_f_beta_pair(precision, recall, beta=8)
    return {"prd_f8": f8, "prd_f1_8": f1_8}


@gin.configurable("ms_ssim_task")
class MSSSIMTask(Task):
  """MS-SSIM diversity of the FAKE images in [0, 255] (lower = more diverse)."""
  name, keys = "ms_ssim", ("ms_ssim",)

  def __init__(self, num_batches: int = 5, batch_size: int = 64):
    self.num_batches, self.batch_size = num_batches, batch_size
    self.images_needed = num_batches * batch_size

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    return {"ms_ssim": metrics.ms_ssim_diversity(
        fake.images * 255.0, num_batches=self.num_batches,
        batch_size=min(self.batch_size, len(fake.images)), seed=ctx.seed,
        max_val=255.0)}


@gin.configurable("fractal_dimension_task")
class FractalDimensionTask(Task):
  """Fractal dimension of the FAKE images (compare_gan: 100 seeds, 1000 bins).

  Computed on the first `num_points` images (compare_gan: the whole set), so
  that evaluation keeps a bounded number of images.
  """
  name, keys = "fractal_dimension", ("fractal_dimension",)

  def __init__(self, num_fd_seeds: int = 100, n_bins: int = 1000, scale: float = 0.1,
               num_points: int = 1000):
    self.num_fd_seeds, self.n_bins, self.scale = num_fd_seeds, n_bins, scale
    self.images_needed = int(num_points)

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    return {"fractal_dimension": metrics.fractal_dimension(
        fake.images * 255.0, num_fd_seeds=min(self.num_fd_seeds,
                                              len(fake.images)),
        n_bins=self.n_bins, scale=self.scale, seed=ctx.seed)}


@gin.configurable("intra_class_fid_task")
class IntraClassFIDTask(Task):
  """Mean per-class FID (conditional models): `intra_class_fid`."""
  name, keys = "intra_class_fid", ("intra_class_fid",)

  def __init__(self, min_samples_per_class: int = 2):
    self.min_samples_per_class = min_samples_per_class

  def applies(self, ctx: TaskContext) -> bool:
    return ctx.conditional and ctx.labels_are_classes

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    result = metrics.intra_class_fid(
        real.pool, real.labels, fake.pool, fake.labels,
        min_samples_per_class=self.min_samples_per_class)
    return {"intra_class_fid": result.mean}


class ClassAccuracyTask(Task):
  """Fraction of conditional samples the classifier assigns to their class."""
  name, keys = "class_accuracy", ("class_accuracy",)

  def applies(self, ctx: TaskContext) -> bool:
    return ctx.conditional and ctx.class_aligned and ctx.labels_are_classes

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    return {"class_accuracy": metrics.sample_class_accuracy(
        fake.logits, fake.labels)}


@gin.configurable("d_classifier_task")
class DiscriminatorClassifierTask(Task):
  """The discriminator as a classifier: the semi-supervised classifier that
  S2GAN-CO / S3GAN train for free (their predictor head), and D's rotation head.

  Keys (those whose head D lacks are left out):
  - `d_predictor_test_accuracy`, `d_predictor_test_classes`: accuracy on the
    eval split and how many classes it predicts (1: collapsed);
  - `d_predictor_unlabelled_accuracy`: accuracy on the training images the GAN
    saw without their label;
  - `d_rotation_test_accuracy`: rotation accuracy on the eval images (0.25 is
    chance).
  The evaluator reads the eval split's first `eval.num_samples` images and at
  most `max_unlabelled_examples` unlabelled training images.
  """
  name = "d_classifier"
  keys = ("d_predictor_test_accuracy", "d_predictor_test_classes",
          "d_predictor_unlabelled_accuracy", "d_rotation_test_accuracy")
  reads_discriminator = True

  def __init__(self, max_unlabelled_examples: int = 10000):
    self.max_unlabelled_examples = int(max_unlabelled_examples)

  def applies(self, ctx: TaskContext) -> bool:
    return ctx.discriminator is not None

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    # Not None: the task `applies`. The unlabelled labels and logits are both
    # set or both None (DiscriminatorReadout).
    d = typing.cast(DiscriminatorReadout, ctx.discriminator)
    result = {}
    if d.test_predictor_logits is not None:
      accuracy, classes = metrics.classifier_accuracy(d.test_predictor_logits,
                                                      d.test_labels)
      result["d_predictor_test_accuracy"] = accuracy
      result["d_predictor_test_classes"] = classes
    if (d.unlabelled_predictor_logits is not None
        and len(typing.cast(np.ndarray, d.unlabelled_labels))):
      result["d_predictor_unlabelled_accuracy"], _ = metrics.classifier_accuracy(
          d.unlabelled_predictor_logits, d.unlabelled_labels)
    if d.rotation_logits is not None:
      n = len(d.rotation_logits) // 4
      result["d_rotation_test_accuracy"], _ = metrics.classifier_accuracy(
          d.rotation_logits, np.repeat(np.arange(4), n))
    return result


@gin.configurable("d_overfitting_task")
class DiscriminatorOverfittingTask(Task):
  """How much D overfits its training reals (Karras et al. 2020, "Training GANs
  with limited data", Figure 1): D's mean logit and sign accuracy on training
  reals, on held-out reals and on fakes, and the training/held-out gap.

  Keys:
  - `d_logit_train_real`, `d_logit_test_real`, `d_logit_fake`: mean logits;
  - `d_accuracy_train_real`, `d_accuracy_test_real`: fraction with logit > 0;
    `d_accuracy_fake`: fraction with logit < 0;
  - `d_logit_gap`: `d_logit_train_real - d_logit_test_real` (grows as D
    memorises its training set); `d_accuracy_gap`: the same for accuracies;
  - `d_rt_train_real`: E[sign D(x)] on unaugmented training reals (ADA's r_t is
    the same on the augmented reals D trains on).
  The evaluator reads `max_examples` images of each set (default: eval.num_samples).
  """
  name = "d_overfitting"
  keys = ("d_logit_train_real", "d_logit_test_real", "d_logit_fake",
          "d_accuracy_train_real", "d_accuracy_test_real", "d_accuracy_fake",
          "d_logit_gap", "d_accuracy_gap", "d_rt_train_real")
  reads_discriminator_logits = True

  def __init__(self, max_examples: int | None = None):
    self.max_examples = errors.check_number(
        "d_overfitting_task.max_examples", max_examples, integer=True,
        minimum=1, hint="None means eval.num_samples")

  def applies(self, ctx: TaskContext) -> bool:
    return ctx.overfitting is not None

  def run(self, real: SampleSet, fake: SampleSet, ctx: TaskContext
          ) -> Mapping[str, float]:
    # Not None: the task `applies`.
    return overfitting_scores(typing.cast(OverfittingReadout, ctx.overfitting))


def overfitting_scores(readout: OverfittingReadout) -> dict[str, float]:
  """`DiscriminatorOverfittingTask`'s keys from an `OverfittingReadout`."""
  train = np.asarray(readout.train_real_logits, np.float64)
  test = np.asarray(readout.test_real_logits, np.float64)
  fake = np.asarray(readout.fake_logits, np.float64)
  if not (len(train) and len(test) and len(fake)):
    raise ValueError(
        f"d_overfitting needs D's logits on every set; got {len(train)} "
        f"training reals, {len(test)} held-out reals, {len(fake)} fakes.")
  result = {
      "d_logit_train_real": train.mean(), "d_logit_test_real": test.mean(),
      "d_logit_fake": fake.mean(),
      "d_accuracy_train_real": (train > 0).mean(),
      "d_accuracy_test_real": (test > 0).mean(),
      "d_accuracy_fake": (fake < 0).mean(),
      "d_rt_train_real": np.sign(train).mean(),
  }
  result["d_logit_gap"] = result["d_logit_train_real"] - result["d_logit_test_real"]
  result["d_accuracy_gap"] = (result["d_accuracy_train_real"] -
                              result["d_accuracy_test_real"])
  return result


TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (
        FIDTask, KIDTask, InceptionScoreTask, PrecisionRecallTask, PRDTask,
        MSSSIMTask, FractalDimensionTask, IntraClassFIDTask, ClassAccuracyTask,
        DiscriminatorClassifierTask, DiscriminatorOverfittingTask)
}
DEFAULT_TASKS = ("fid", "kid", "inception_score", "precision_recall",
                 "class_accuracy", "intra_class_fid")


def images_needed(tasks: Iterable[Task]) -> int:
  """How many images (not only features) of each set the tasks read."""
  return max([t.images_needed for t in tasks], default=0)


def make_tasks(names: Sequence[str]) -> list[Task]:
  """Task instances for `names` (gin-configurable constructors)."""
  unknown = [n for n in names if n not in TASKS]
  if unknown:
    raise ValueError(f"Unknown evaluation task(s) {unknown} in eval.tasks; "
                     f"available: {sorted(TASKS)}.")
  return [TASKS[n]() for n in names]


# N818 (no Error suffix) ignored: the evaluator raises and catches this name.
class NaNInSamples(ValueError):  # noqa: N818
  """Generated images contain NaN or inf (raised by the evaluator's streaming)."""


def run_tasks(tasks: Iterable[Task], real: SampleSet, fake: SampleSet,
              ctx: TaskContext) -> tuple[Scores, dict[str, str]]:
  """Runs every applicable task; returns (scores, errors).

  scores: {key: float}; a failed task gives NaN for its keys.
  errors: {task name: message} for failed tasks.
  """
  scores: Scores = {}
  errors: dict[str, str] = {}
  for task in tasks:
    if not task.applies(ctx):
      continue
    try:
      result = task.run(real, fake, ctx)
      scores.update({k: float(v) for k, v in result.items()})
    except ValueError as e:  # Metric input errors; NaNs in features.
      logging.warning("Evaluation task %s failed: %s", task.name, e)
      errors[task.name] = str(e)
      scores.update({k: float("nan") for k in task.keys})
  return scores, errors


def nan_scores(tasks: Iterable[Task], ctx: TaskContext) -> Scores:
  """NaN for every key of every applicable task (a run whose samples are NaN)."""
  return {k: float("nan") for t in tasks if t.applies(ctx) for k in t.keys}


def reads_discriminator(tasks: Iterable[Task]) -> list[Task]:
  """The tasks that need the discriminator's readout (or [])."""
  return [t for t in tasks if t.reads_discriminator]


def reads_discriminator_logits(tasks: Iterable[Task]) -> list[Task]:
  """The tasks that need `TaskContext.overfitting` (or [])."""
  return [t for t in tasks if t.reads_discriminator_logits]


def aggregate(runs: Sequence[Mapping[str, float]]) -> dict[str, float | str]:
  """[{key: float}] per run -> {key_mean, key_std (ddof 0), key_list}."""
  result: dict[str, float | str] = {}
  keys = sorted({k for run in runs for k in run})
  for key in keys:
    values = [run.get(key, float("nan")) for run in runs]
    result[f"{key}_mean"] = float(np.mean(values))
    result[f"{key}_std"] = float(np.std(values))
    result[f"{key}_list"] = "_".join(f"{v:.6g}" for v in values)
  return result
