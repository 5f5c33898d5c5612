"""The S2GAN / CLUSTERING pipeline: five stages, each in its own sub-directory of
the model directory, each skipped once its `DONE.json` exists (so an interrupted
pipeline resumes; the training stages also resume from their checkpoints).

| stage | writes | does |
|---|---|---|
| partial_labels | `labels/train-*` (label files), `true_labels.npy` | the training set (first `num_train_images`, or the whole split) with the labels of a `labeled_fraction` of it (dataset.labeled_fraction's subset), -1 elsewhere |
| pretrain | checkpoints (a Trainer model dir) | rotation + linear classifier on the labelled examples (pretraining.py) |
| infer_labels | `hard/train-*`, `soft/train-*`, `features.npy` | the classifier's labels for every training image (hard: the known label where there is one, else the argmax; soft: the logits) and the extractor's features |
| cluster | `labels/train-*` | k-means (scikit-learn) of the L2-normalised features into `num_classes` clusters |
| gan | a GAN model dir | the GAN of the Gin file (`options`, ...) on the labels `s2gan.gan_labels` selects, run with `s2gan.gan_schedule` |

Accuracies against the held-out true labels (linear probe on the unlabelled
training images; clustering with the best one-to-one matching of clusters to
classes) go to each stage's DONE.json and TensorBoard.
"""  # noqa: E501 (a Markdown table)

from __future__ import annotations

from collections.abc import Callable, Mapping
import dataclasses
import json
import os
import time
import typing

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import logs
from compare_gan2 import model_dir as model_dir_lib
from compare_gan2.datasets import label_files
from compare_gan2.s2gan import pretraining
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner
from compare_gan2 import strategy as strategy_lib
from compare_gan2.training import trainer as trainer_lib

if typing.TYPE_CHECKING:
  from compare_gan2.datasets import base as datasets_base

STAGES = ("partial_labels", "pretrain", "infer_labels", "cluster", "gan")
GAN_LABELS = ("inferred", "soft", "clusters")
DONE = "DONE.json"

# A stage's DONE.json: what it did and measured.
Summary = dict[str, typing.Any]


class StageOutputMissingError(errors.UserError, RuntimeError):
  """A stage needs the output of an earlier one that has not run."""


@dataclasses.dataclass(frozen=True)
class Options:
  labeled_fraction: float
  num_train_images: int | None
  gan_labels: str
  gan_schedule: str
  num_label_files: int
  inference_batch_size: int
  cluster_seed: int


@gin.configurable("s2gan")
def get_options(labeled_fraction: float = 0.1, num_train_images: int | None = None,
                gan_labels: str = "inferred", gan_schedule: str = "eval_after_train",
                num_label_files: int = 1, inference_batch_size: int = 256,
                cluster_seed: int = 0) -> Options:
  """The pipeline's settings (gin `s2gan.*`).

  Args:
    labeled_fraction: fraction of the training set whose labels are used
      (0: none, e.g. CLUSTERING). Use this, not dataset.labeled_fraction.
    num_train_images: size of the training set (the first images of the
      train split); None: the whole split of an embedded dataset (mnist_5k_*;
      required for the polygons datasets, whose train split has 2**31 images,
      and for TFDS datasets and image folders).
    gan_labels: labels of the GAN stage: "inferred" (S2GAN), "soft" (S2GAN
      with soft labels: the dataset's soft_labeled_ variant) or "clusters"
      (CLUSTERING, CLUSTERING(SS)).
    gan_schedule: the compare_gan2.main schedule of the GAN stage.
    num_label_files: files per label set (1..64).
    inference_batch_size: batch size of label inference.
    cluster_seed: k-means seed.
  """
  if not 0.0 <= float(labeled_fraction) <= 1.0:
    raise errors.ConfigError(f"s2gan.labeled_fraction must be in [0, 1], got "
                             f"{labeled_fraction!r}.")
  if gan_labels not in GAN_LABELS:
    raise errors.ConfigError(f"s2gan.gan_labels must be one of {GAN_LABELS}, got "
                             f"{gan_labels!r}.")
  if gan_labels != "clusters" and float(labeled_fraction) == 0.0:
    raise errors.ConfigError(
        f"s2gan.gan_labels = {gan_labels!r} infers labels with a classifier "
        "trained on the labelled fraction: set s2gan.labeled_fraction > 0.")
  return Options(float(labeled_fraction), num_train_images, gan_labels, gan_schedule,
                 int(num_label_files), int(inference_batch_size), int(cluster_seed))


def stages_for(options: Options) -> tuple[str, ...]:
  """The stages a method runs: clustering only for gan_labels="clusters"."""
  return tuple(s for s in STAGES
               if s != "cluster" or options.gan_labels == "clusters")


# ------------------------------------------------------------------ helpers
def stage_dir(model_dir: str, stage: str) -> str:
  return os.path.join(model_dir, stage)


def is_done(model_dir: str, stage: str) -> bool:
  return tf.io.gfile.exists(os.path.join(stage_dir(model_dir, stage), DONE))


def read_done(model_dir: str, stage: str) -> Summary:
  with tf.io.gfile.GFile(os.path.join(stage_dir(model_dir, stage), DONE)) as f:
    return json.load(f)


def _mark_done(model_dir: str, stage: str, summary: Summary) -> None:
  model_dir_lib.atomic_write_json(
      os.path.join(stage_dir(model_dir, stage), DONE), summary)


def _require(model_dir: str, stage: str, needed_by: str) -> None:
  if not is_done(model_dir, stage):
    raise StageOutputMissingError(
        f"Stage {needed_by!r} needs the output of stage {stage!r}, which is not "
        f"complete in {model_dir} (no {stage}/{DONE}). Run the pipeline without "
        f"--stage, or with --stage={stage} first.")


def label_pattern(model_dir: str, stage: str, subdir: str = "labels") -> str:
  return os.path.join(stage_dir(model_dir, stage), subdir, "{split}-*")


def _write_labels(model_dir: str, stage: str, subdir: str, names: np.ndarray,
                  labels: np.ndarray, options: Options) -> list[str]:
  prefix = os.path.join(stage_dir(model_dir, stage), subdir, "train")
  return label_files.write_label_files(prefix, names, labels,
                                       num_files=options.num_label_files)


def labelled_dataset_spec(file_pattern: str | None = None, name: str | None = None
                          ) -> datasets.ImageDatasetSpec:
  """The gin-configured dataset, reading label files `file_pattern` (if any)."""
  try:
    bound = gin.query_parameter("dataset.labeled_fraction")
  except ValueError:
    bound = None
  if bound is not None:
    raise errors.ConfigError(
        "The S2GAN pipeline selects the labelled fraction itself: set "
        "s2gan.labeled_fraction instead of dataset.labeled_fraction.")
  spec = datasets.get_dataset(name=name) if name else datasets.get_dataset()
  if spec.has_train_subset():  # Label files name the whole split's records.
    raise errors.ConfigError(
        "The S2GAN pipeline chooses its training images itself: set "
        "s2gan.num_train_images instead of dataset.train_fraction / "
        "dataset.num_train_examples.")
  return spec.with_label_files(file_pattern)


def _num_train_images(spec: datasets.ImageDatasetSpec, options: Options) -> int:
  if options.num_train_images:
    return int(options.num_train_images)
  # Only the embedded datasets (polygons_*, mnist_5k_*) know their split size
  # without reading it; the type checker found the AttributeError this raised.
  split_size = getattr(spec, "split_size", None)
  if split_size is None:
    raise errors.ConfigError(
        f"s2gan.num_train_images is not set and {spec.name}'s train split size is "
        "not known without reading it: set s2gan.num_train_images (e.g. 50000, the "
        "first images of the train split).")
  size = split_size("train")
  if size >= 2**31:
    raise errors.ConfigError(
        f"{spec.name}'s train split has {size} images: set s2gan.num_train_images "
        "(e.g. 50000) to choose the training set.")
  return size


def _summary(model_dir: str, stage: str, values: Mapping[str, float]) -> None:
  writer = tf.summary.create_file_writer(stage_dir(model_dir, stage))
  with writer.as_default():
    for name, value in values.items():
      tf.summary.scalar(name, value, step=0)
  writer.flush()


def _check_classes(labels: np.ndarray, num_classes: int, fraction: float
                   ) -> np.ndarray:
  counts = np.bincount(labels[labels >= 0], minlength=num_classes)
  missing = [c for c in range(num_classes) if counts[c] == 0]
  if missing:
    raise errors.ConfigError(
        f"s2gan.labeled_fraction = {fraction} of {len(labels)} training images "
        f"leaves classes {missing} without a labelled example (labelled per "
        f"class: {counts.tolist()}). Raise s2gan.labeled_fraction or "
        "s2gan.num_train_images.")
  return counts


# ------------------------------------------------------------------- stages
def run_partial_labels(model_dir: str, options: Options) -> Summary:
  """Stage 1: the training set and its partial labels as label files."""
  plain = labelled_dataset_spec()
  if not plain.num_classes or plain.soft_labels:
    raise errors.ConfigError(
        f"The S2GAN pipeline needs a dataset with class labels, got {plain.name!r}.")
  n = _num_train_images(plain, options)
  logging.info("[partial_labels] reading the labels of %d training images", n)
  true = np.concatenate([y for _, y in plain.load("train").take(n).batch(4096)
                         .as_numpy_iterator()]).astype(np.int64)
  if len(true) < n:
    raise errors.ConfigError(f"s2gan.num_train_images = {n}, but the train split "
                             f"of {plain.name} has {len(true)} images.")
  if options.labeled_fraction > 0:
    masked = datasets.get_dataset(name=plain.name,
                                  labeled_fraction=options.labeled_fraction)
    keep = masked.is_labeled(tf.range(n, dtype=tf.int64)).numpy()
    partial = np.where(keep, true, -1)
    counts = _check_classes(partial, plain.num_classes, options.labeled_fraction)
  else:
    partial = np.full_like(true, -1)
    counts = np.zeros(plain.num_classes, np.int64)
  names = typing.cast("datasets_base.NamedRecords", plain).record_names("train", num=n)
  directory = stage_dir(model_dir, "partial_labels")
  tf.io.gfile.makedirs(directory)
  np.save(os.path.join(directory, "true_labels.npy"), true)
  _write_labels(model_dir, "partial_labels", "labels", names, partial, options)
  summary = {"num_images": int(n), "num_labelled": int((partial >= 0).sum()),
             "labelled_per_class": counts.tolist(),
             "labeled_fraction": options.labeled_fraction}
  logging.info("[partial_labels] %d of %d images labelled", summary["num_labelled"], n)
  _mark_done(model_dir, "partial_labels", summary)
  return summary


def run_pretrain(model_dir: str, options: Options) -> Summary:
  """Stage 2: trains the extractor and its heads with the package's Trainer."""
  del options
  _require(model_dir, "partial_labels", "pretrain")
  pattern = label_pattern(model_dir, "partial_labels")
  spec = labelled_dataset_spec(pattern)
  labelled = None
  if read_done(model_dir, "partial_labels")["num_labelled"]:
    labelled = datasets.get_dataset(
        name="labeled_only_" + spec.name).with_label_files(pattern)
  run_config = builder.get_run_config()
  builder.set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(None, None, run_config.single_core)
  with strategy.scope():
    model = pretraining.build(spec, labelled)
  directory = stage_dir(model_dir, "pretrain")
  trainer = trainer_lib.Trainer(model, strategy, directory, run_config,
                                model.training_steps)
  step = trainer.train()
  checkpoints.mark_training_done(directory)
  summary = {"steps": int(step)}
  _mark_done(model_dir, "pretrain", summary)
  return summary


def load_pretrained(model_dir: str, spec: datasets.ImageDatasetSpec
                    ) -> pretraining.RotationPretraining:
  """The pre-trained model of `model_dir` (newest pretrain checkpoint)."""
  _require(model_dir, "pretrain", "infer_labels")
  model = pretraining.build(spec)
  path = checkpoints.latest_checkpoint(stage_dir(model_dir, "pretrain"),
                                       required=True)
  return checkpoints.restore_gan(model, path)


def run_infer_labels(model_dir: str, options: Options) -> Summary:
  """Stage 3: labels (hard and soft) and features of every training image."""
  _require(model_dir, "partial_labels", "infer_labels")
  pattern = label_pattern(model_dir, "partial_labels")
  spec = labelled_dataset_spec(pattern)
  model = load_pretrained(model_dir, spec)
  names, partial = label_files.read_labels(pattern.format(split="train"))
  predict = tf.function(lambda x: model.predict(x, is_training=False))
  feature_parts: list[np.ndarray] = []
  logit_parts: list[np.ndarray] = []
  start, done = time.time(), 0
  for images, _ in spec.load("train").batch(options.inference_batch_size):
    out = predict(images)
    feature_parts.append(out["features"].numpy().astype(np.float16))
    logit_parts.append(out["class_logits"].numpy())
    done += len(images)
    if len(feature_parts) % 50 == 0:
      logging.info("[infer_labels] %d/%d images, %.0f images/s", done, len(names),
                   done / (time.time() - start))
  features, logits = np.concatenate(feature_parts), np.concatenate(logit_parts)
  predicted = logits.argmax(axis=1)
  hard = np.where(partial >= 0, partial, predicted)
  true = np.load(os.path.join(stage_dir(model_dir, "partial_labels"),
                              "true_labels.npy"))
  unlabelled = partial < 0
  summary = {
      "num_images": int(len(hard)),
      "linear_probe_accuracy_unlabelled": float(
          np.mean(predicted[unlabelled] == true[unlabelled])) if unlabelled.any()
      else None,
      "linear_probe_accuracy_all": float(np.mean(predicted == true)),
      "inferred_label_accuracy": float(np.mean(hard == true)),
      "images_per_second": round(len(hard) / (time.time() - start), 1),
  }
  directory = stage_dir(model_dir, "infer_labels")
  tf.io.gfile.makedirs(directory)
  np.save(os.path.join(directory, "features.npy"), features)
  _write_labels(model_dir, "infer_labels", "hard", names, hard, options)
  _write_labels(model_dir, "infer_labels", "soft", names, logits, options)
  _summary(model_dir, "infer_labels",
           {k: v for k, v in summary.items() if "accuracy" in k and v is not None})
  logging.info("[infer_labels] %s", summary)
  _mark_done(model_dir, "infer_labels", summary)
  return summary


def cluster_accuracy(clusters: np.ndarray, labels: np.ndarray, num_classes: int
                     ) -> float:
  """Accuracy of the best one-to-one matching of clusters to classes (Hungarian)."""
  from scipy import optimize  # pylint: disable=g-import-not-at-top
  size = max(num_classes, int(clusters.max()) + 1)
  counts = np.zeros([size, size], np.int64)
  np.add.at(counts, (clusters, labels), 1)
  rows, cols = optimize.linear_sum_assignment(-counts)
  return float(counts[rows, cols].sum() / len(labels))


def kmeans(features: np.ndarray, num_clusters: int, seed: int) -> np.ndarray:
  """Cluster ids of the L2-normalised features (scikit-learn k-means)."""
  try:
    from sklearn import cluster  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise errors.ConfigError(
        "The cluster stage needs scikit-learn (a dependency of compare_gan2): "
        "pip install scikit-learn.") from e
  x = features.astype(np.float32)
  x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
  if len(x) > 200000:
    algorithm = cluster.MiniBatchKMeans(num_clusters, random_state=seed,
                                        batch_size=4096, n_init=3)
  else:
    algorithm = cluster.KMeans(num_clusters, random_state=seed, n_init=10)
  return algorithm.fit_predict(x).astype(np.int64)


def run_cluster(model_dir: str, options: Options) -> Summary:
  """Stage 4: k-means cluster ids as labels (CLUSTERING)."""
  _require(model_dir, "infer_labels", "cluster")
  spec = labelled_dataset_spec()
  num_classes = typing.cast(int, spec.num_classes)  # Labelled: stage 1 checked.
  features = np.load(os.path.join(stage_dir(model_dir, "infer_labels"),
                                  "features.npy"))
  start = time.time()
  clusters = kmeans(features, num_classes, options.cluster_seed)
  true = np.load(os.path.join(stage_dir(model_dir, "partial_labels"),
                              "true_labels.npy"))
  names, _ = label_files.read_labels(
      label_pattern(model_dir, "partial_labels").format(split="train"))
  summary = {"num_clusters": int(num_classes),
             "clustering_accuracy": cluster_accuracy(clusters, true,
                                                     num_classes),
             "cluster_sizes": np.bincount(clusters).tolist(),
             "seconds": round(time.time() - start, 1)}
  _write_labels(model_dir, "cluster", "labels", names, clusters, options)
  _summary(model_dir, "cluster", {"clustering_accuracy":
                                  summary["clustering_accuracy"]})
  logging.info("[cluster] %s", summary)
  _mark_done(model_dir, "cluster", summary)
  return summary


def gan_labels_pattern(model_dir: str, options: Options) -> str:
  if options.gan_labels == "clusters":
    _require(model_dir, "cluster", "gan")
    return label_pattern(model_dir, "cluster")
  _require(model_dir, "infer_labels", "gan")
  subdir = "soft" if options.gan_labels == "soft" else "hard"
  return label_pattern(model_dir, "infer_labels", subdir)


def run_gan(model_dir: str, options: Options,
            schedules: Mapping[str, runner.Schedule],
            schedule_flags: Mapping[str, typing.Any] | None = None) -> Summary:
  """Stage 5: the Gin file's GAN on the selected labels."""
  pattern = gan_labels_pattern(model_dir, options)
  overrides: dict[str, typing.Any] = {}
  if options.gan_labels == "soft":
    overrides["name"] = "soft_labeled_" + labelled_dataset_spec().name
  if options.gan_labels == "clusters":  # Cluster ids are not the classes.
    overrides["labels_are_classes"] = False
  spec = datasets.get_dataset(**overrides).with_label_files(pattern)
  directory = stage_dir(model_dir, "gan")
  runner.run_with_schedule(schedules, options.gan_schedule, directory,
                           dataset=spec, **(schedule_flags or {}))
  summary = {"labels": options.gan_labels, "schedule": options.gan_schedule}
  _mark_done(model_dir, "gan", summary)
  return summary


RUNNERS: dict[str, Callable[[str, Options], Summary]] = {
    "partial_labels": run_partial_labels, "pretrain": run_pretrain,
    "infer_labels": run_infer_labels, "cluster": run_cluster}


def run(model_dir: str, schedules: Mapping[str, runner.Schedule],
        stage: str | None = None, **schedule_flags: typing.Any) -> dict[str, Summary]:
  """Runs the pipeline's stages (or only `stage`), skipping completed ones.

  `schedules` are compare_gan2.main's (the GAN stage runs one of them with
  `schedule_flags`). Returns {stage: its DONE summary}.
  """
  builder.check_model_dir(model_dir)
  options = get_options()
  logs.start()
  wanted = stages_for(options)
  if stage is not None:
    if stage not in STAGES:
      raise errors.ConfigError(f"Unknown --stage={stage!r}; stages: {STAGES}.")
    wanted = (stage,)
  results = {}
  for name in wanted:
    if is_done(model_dir, name):
      logging.info("[s2gan] stage %s is complete; skipping it.", name)
      results[name] = read_done(model_dir, name)
      continue
    logging.info("[s2gan] stage %s", name)
    start = time.time()
    if name == "gan":
      results[name] = run_gan(model_dir, options, schedules, schedule_flags)
    else:
      results[name] = RUNNERS[name](model_dir, options)
    logging.info("[s2gan] stage %s done in %.1f min", name,
                 (time.time() - start) / 60)
  return results
