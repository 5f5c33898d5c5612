"""Evaluates one checkpoint: sample, extract features, run tasks, aggregate.

`Evaluator(gan, dataset)` holds what is shared between checkpoints (the
feature extractor, the real images and their features, computed once).
`evaluate_checkpoint(path)`:

1. `checkpoints.restore_gan(gan, path)` (raises CheckpointNotFoundError if the
   checkpoint vanished, e.g. deleted by the trainer's retention).
2. Standing statistics: if G has batch-norm accumulators (`.../accu/...`,
   `standardize_batch.use_moving_averages = False`), reset them, set
   `update_accus = 1`, run G in inference mode (EMA weights if the model
   keeps them) on `eval.standing_stats_examples` latents (compare_gan:
   204800 = 3200 batches of 64) and set it back to 0. Spectral-norm `u`
   vectors touched by these calls are restored afterwards.
3. For each of `num_averaging_runs` runs: `num_samples` fresh fake images
   G(eval_z, y) with the EMA generator if `g_use_ema` (labels uniform over the
   classes if conditional; latents and labels stateless from (seed, run,
   batch), so evaluation is reproducible), their features, and every task
   against the real set (the first `num_samples` images of the eval split).
4. `<key>_mean`, `<key>_std` (ddof 0) and `<key>_list` over runs.

Runs whose samples contain NaN/inf record NaN for every key and an error
message ("nan_in_samples") instead of crashing (compare_gan's NaN sentinel
31337 was never written, §7.8).
"""

import dataclasses
import time

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import random_ops
from compare_gan2.evaluation import feature_extractors as fe
from compare_gan2.evaluation import tasks as tasks_lib
from compare_gan2.gans import modular_gan
from compare_gan2.training import checkpoints

# compare_gan's standing statistics: 204800 // 64 = 3200 batches of 64.
STANDING_STATS_EXAMPLES = 204800


@dataclasses.dataclass
class EvalOptions:
  num_samples: int = None
  batch_size: int = 64
  tasks: tuple = tasks_lib.DEFAULT_TASKS
  feature_extractor: str = "auto"
  inception_handle: str = fe.INCEPTION_TFHUB
  standing_stats_examples: int = STANDING_STATS_EXAMPLES
  seed: int = 42
  use_ema: bool = True


@gin.configurable("eval")
def eval_options(num_samples=None,
                 batch_size=64,
                 tasks=tasks_lib.DEFAULT_TASKS,
                 feature_extractor="auto",
                 inception_handle=fe.INCEPTION_TFHUB,
                 standing_stats_examples=STANDING_STATS_EXAMPLES,
                 seed=42,
                 use_ema=True):
  """Gin `eval.*`: evaluation settings.

  Args:
    num_samples: fake (and real) images per run; None = the dataset's
      `eval_test_samples` (10k CIFAR/polygons, 50k ImageNet, ...).
    batch_size: generator / extractor batch.
    tasks: task names (see tasks.TASKS).
    feature_extractor: "auto" (polygons classifier for polygons_* datasets,
      Inception otherwise), "inception" or "polygons".
    inception_handle: TF-Hub handle or local directory of the Inception module.
    standing_stats_examples: latents run through G to fill batch-norm
      accumulators (only if G has them); rounded up to whole batches.
    seed: evaluation seed (latents, labels, randomised metrics).
    use_ema: sample with the EMA generator when the model keeps one.
  """
  return EvalOptions(num_samples, int(batch_size), tuple(tasks),
                     feature_extractor, inception_handle,
                     int(standing_stats_examples), int(seed), bool(use_ema))


@gin.configurable("polygons_classifier")
def polygons_classifier_options(cache_dir=None, auto_train=True):
  """Gin `polygons_classifier.*`: cache dir (None: default) and auto-training."""
  return {"cache_dir": cache_dir, "auto_train": auto_train}


def get_feature_extractor(dataset_name, options=None):
  options = options or eval_options()
  kind = options.feature_extractor
  if kind == "auto":
    kind = "polygons" if dataset_name.startswith("polygons_") else "inception"
  if kind == "polygons":
    return fe.PolygonsClassifier(dataset_name, **polygons_classifier_options())
  if kind == "inception":
    return fe.InceptionExtractor(options.inception_handle,
                                 batch_size=options.batch_size)
  raise ValueError(f"Unknown eval.feature_extractor {kind!r}; use 'auto', "
                   "'inception' or 'polygons'.")


# Salts so the streams of latents, labels and standing-statistics latents differ.
_SEED_Z, _SEED_Y, _SEED_STANDING = 101, 102, 103


def _accumulator_variables(generator):
  """{name: variable} of G's batch-norm accumulators (empty if none)."""
  return {v.name.split(":")[0]: v for v in generator.variables
          if "/accu/" in v.name}


class Evaluator:
  """Evaluates checkpoints of one GAN against one dataset's eval split."""

  def __init__(self, gan, dataset=None, options=None, extractor=None,
               num_averaging_runs=3):
    self.gan = gan
    self.dataset = dataset or gan.dataset
    self.options = options or eval_options()
    self.num_averaging_runs = int(num_averaging_runs)
    if self.num_averaging_runs < 1:
      raise ValueError("num_eval_averaging_runs must be >= 1.")
    self.tasks = tasks_lib.make_tasks(self.options.tasks)
    self._extractor = extractor
    self._real = None
    n = self.options.num_samples or self.dataset.eval_test_samples or 10000
    self.num_samples = int(n)
    self._generate_fn = None

  @property
  def extractor(self):
    if self._extractor is None:
      self._extractor = get_feature_extractor(self.dataset.name, self.options)
    return self._extractor

  @property
  def task_context(self):
    return tasks_lib.TaskContext(
        conditional=bool(self.gan.conditional),
        class_aligned=bool(self.extractor.class_aligned),
        seed=self.options.seed)

  # ---------------------------------------------------------------- real set
  def real_samples(self):
    """The first num_samples eval-split images with features (cached)."""
    if self._real is None:
      start = time.time()
      ds = self.dataset.load(self.dataset.eval_split).take(self.num_samples)
      images, labels = [], []
      for x, y in ds.batch(500):
        images.append(x.numpy())
        labels.append(y.numpy())
      images = np.concatenate(images).astype(np.float32)
      labels = np.concatenate(labels)
      if labels.ndim > 1:  # Soft labels.
        labels = labels.argmax(axis=1)
      if len(images) < self.num_samples:
        logging.warning("The eval split of %s has only %d examples; using %d "
                        "samples instead of %d.", self.dataset.name,
                        len(images), len(images), self.num_samples)
        self.num_samples = len(images)
      tasks_lib.check_finite(images, "real images")
      features = self.extractor(images)
      self._real = tasks_lib.SampleSet(images, labels.astype(np.int64),
                                       features["pool"], features["logits"])
      logging.info("Real set: %d images of %s, features in %.1fs.",
                   len(images), self.dataset.name, time.time() - start)
    return self._real

  # ---------------------------------------------------------------- sampling
  def _latents(self, salt, run, batch, size):
    seed = random_ops.derive_seed((self.options.seed, salt), run, batch)
    z = modular_gan.eval_z_generator([size, self.gan.z_dim], name="eval_z",
                                     seed=seed)
    labels = None
    if self.gan.conditional:
      labels = tf.random.stateless_uniform(
          [size], random_ops.derive_seed(seed, _SEED_Y), 0, self.gan.num_classes,
          dtype=tf.int32)
    return z, labels

  def _use_ema(self):
    return self.options.use_ema and self.gan.g_use_ema

  def sample(self, run):
    """(images [N, H, W, C] in [0, 1], labels [N] or None) of run `run`."""
    if self._generate_fn is None:
      gan, use_ema = self.gan, self._use_ema()
      self._generate_fn = tf.function(
          lambda z, y: gan.generate(z, y, use_ema=use_ema, is_training=False),
          reduce_retracing=True)
    bs = self.options.batch_size
    images, labels = [], []
    for b, start in enumerate(range(0, self.num_samples, bs)):
      size = min(bs, self.num_samples - start)
      z, y = self._latents(_SEED_Z, run, b, size)
      images.append(self._generate_fn(z, y).numpy())
      if y is not None:
        labels.append(y.numpy())
    return (np.concatenate(images).astype(np.float32),
            np.concatenate(labels).astype(np.int64) if labels else None)

  def fill_standing_statistics(self):
    """Fills G's batch-norm accumulators as compare_gan did; False if none."""
    generator = self.gan.generator
    accus = _accumulator_variables(generator)
    if not accus or self.options.standing_stats_examples <= 0:
      return False
    start = time.time()
    # Power-iteration vectors are updated by every G call; keep them as saved.
    u_vars = [v for v in generator.variables if "u_var" in v.name]
    saved_u = [v.numpy() for v in u_vars]
    for name, var in accus.items():
      if name.endswith("accu_counter"):
        var.assign(tf.fill(var.shape, tf.constant(1e-12, var.dtype)))
      else:
        var.assign(tf.zeros(var.shape, var.dtype))
    flags = [v for n, v in accus.items() if n.endswith("update_accus")]
    for flag in flags:
      flag.assign(1)
    gan, use_ema = self.gan, self._use_ema()

    @tf.function(reduce_retracing=True)
    def run_g(z, labels):
      y = None if labels is None else tf.one_hot(labels, gan.num_classes)
      with generator.store.override(gan.generator_variable_mapping(use_ema)):
        return generator(z, y, is_training=False)

    bs = self.options.batch_size
    num_batches = -(-self.options.standing_stats_examples // bs)
    try:
      for b in range(num_batches):
        run_g(*self._latents(_SEED_STANDING, 0, b, bs))
    finally:
      for flag in flags:
        flag.assign(0)
      for var, value in zip(u_vars, saved_u):
        var.assign(value)
    logging.info("Filled standing statistics of %d accumulators with %d "
                 "batches of %d in %.1fs.", len(flags), num_batches, bs,
                 time.time() - start)
    return True

  # -------------------------------------------------------------- evaluation
  def evaluate_loaded(self):
    """Evaluates the weights currently in `gan`; returns (scores, errors)."""
    real = self.real_samples()
    tctx = self.task_context
    self.fill_standing_statistics()
    runs, errors = [], {}
    for run in range(self.num_averaging_runs):
      start = time.time()
      images, labels = self.sample(run)
      try:
        tasks_lib.check_finite(images)
      except tasks_lib.NaNInSamples as e:
        logging.warning("Evaluation run %d: %s Recording NaN scores.", run, e)
        errors[f"run{run}"] = f"nan_in_samples: {e}"
        runs.append(tasks_lib.nan_scores(self.tasks, tctx))
        continue
      features = self.extractor(images)
      fake = tasks_lib.SampleSet(images, labels, features["pool"],
                                 features["logits"])
      scores, run_errors = tasks_lib.run_tasks(self.tasks, real, fake, tctx)
      errors.update({f"run{run}/{k}": v for k, v in run_errors.items()})
      runs.append(scores)
      logging.info("Evaluation run %d/%d (%d samples) in %.1fs: %s", run + 1,
                   self.num_averaging_runs, len(images), time.time() - start,
                   {k: round(v, 4) for k, v in scores.items()})
    return tasks_lib.aggregate(runs), errors

  def evaluate_checkpoint(self, checkpoint_path):
    """Restores `checkpoint_path` into the GAN and evaluates it.

    Returns:
      (scores dict, errors dict).
    Raises:
      checkpoints.CheckpointNotFoundError: the checkpoint does not exist
        (anymore).
    """
    checkpoints.restore_gan(self.gan, checkpoint_path)
    return self.evaluate_loaded()
