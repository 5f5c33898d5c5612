"""Evaluates one checkpoint: sample, extract features, run tasks, aggregate.

`Evaluator(gan, dataset)` holds what is shared between checkpoints (the
feature extractor, the real images and their features, computed once).
`evaluate_checkpoint(path)`:

1. `checkpoints.restore_gan(gan, path)` (raises CheckpointNotFoundError if the
   checkpoint vanished, e.g. deleted by the trainer's retention).
2. The generator that is measured (`inference_generator.InferenceGenerator`,
   the same one the Hub export writes): the EMA weights if the model keeps
   them, spectral norm converged on those weights, and batch norm with the
   moving averages, or with standing statistics if G keeps accumulators
   (`standardize_batch.use_moving_averages = False`): per-layer batch moments
   averaged over `eval.standing_stats_examples` evaluation latents
   (compare_gan: 204800 = 3200 batches of 64). The GAN's own variables are
   not changed.
3. For each of `num_averaging_runs` runs: `num_samples` fresh fake images
   G(eval_z, y) (labels uniform over the classes if conditional; latents and
   labels stateless from (seed, run, batch), so evaluation is reproducible),
   their features, and every task against the real set (the first
   `num_samples` images of the eval split). Images are streamed: only the
   features, labels and the first few images that image-based tasks need
   (MS-SSIM, fractal dimension) are kept, so memory does not grow with the
   sample count times the resolution.
4. `<key>_mean`, `<key>_std` (ddof 0) and `<key>_list` over runs.

Runs whose samples contain NaN/inf record NaN for every key and an error
message ("nan_in_samples") instead of crashing (compare_gan's NaN sentinel
31337 was never written: its `NanFoundError` was not the ValueError
`runner_lib._run_eval` caught).
"""

import copy
import dataclasses
import time

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import inference_generator
from compare_gan2.evaluation import classifier
from compare_gan2.evaluation import feature_extractors as fe
from compare_gan2.evaluation import tasks as tasks_lib
from compare_gan2.training import checkpoints
from compare_gan2.training import progress

# compare_gan's standing statistics: 204800 // 64 = 3200 batches of 64.
STANDING_STATS_EXAMPLES = 204800


@dataclasses.dataclass
class EvalOptions:
  num_samples: int | None = None
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
    feature_extractor: "auto" (the dataset's own classifier for the
      embedded polygons_* and mnist_5k_32 datasets, Inception otherwise),
      "inception" or "classifier" ("polygons" is another name for it).
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
def polygons_classifier_options(cache_dir=None, auto_train=True,
                                min_test_accuracy=classifier.MIN_TEST_ACCURACY):
  """Gin `polygons_classifier.*` (every embedded dataset's classifier, the
  name is compare_gan2's first): cache dir (None: default), auto-training,
  and the test accuracy below which a cached classifier is refused."""
  return {"cache_dir": cache_dir, "auto_train": auto_train,
          "min_test_accuracy": float(min_test_accuracy)}


def get_feature_extractor(dataset_name, options=None):
  options = options or eval_options()
  kind = options.feature_extractor
  if kind == "auto":
    kind = ("classifier" if classifier.has_classifier(dataset_name)
            else "inception")
  if kind in ("classifier", "polygons"):
    return classifier.DatasetClassifier(dataset_name,
                                       **polygons_classifier_options())
  if kind == "inception":
    return fe.InceptionExtractor(options.inception_handle,
                                 batch_size=options.batch_size)
  raise ValueError(f"Unknown eval.feature_extractor {kind!r}; use 'auto', "
                   "'inception' or 'classifier'.")


def discriminator_readout(gan, dataset, num_test, max_unlabelled, batch_size):
  """The `tasks.DiscriminatorReadout` of the GAN's current D, or None if D has
  no classification head (`discriminator_heads`).

  Reads the first `num_test` eval-split images (and their rotations, if D has a
  rotation head) and up to `max_unlabelled` train images whose label the GAN's
  dataset hides (`labeled_fraction`), with their true labels.
  """
  if not hasattr(gan, "discriminator_heads"):
    return None
  heads = tf.function(gan.discriminator_heads, reduce_retracing=True)
  probe = heads(tf.zeros((1,) + tuple(dataset.image_shape), tf.float32))
  if not probe:
    return None

  def run(batches, key):
    out = [heads(tf.constant(x))[key].numpy() for x in batches]
    return np.concatenate(out) if out else None

  test = list(dataset.load(dataset.eval_split).take(num_test).batch(batch_size)
              .as_numpy_iterator())
  images = [x for x, _ in test]
  labels = np.concatenate([y for _, y in test])
  if labels.ndim > 1:
    labels = labels.argmax(axis=1)
  readout = tasks_lib.DiscriminatorReadout(test_labels=labels)
  if "aux_logits" in probe:
    readout.test_predictor_logits = run(images, "aux_logits")
    hidden = _unlabelled_train_images(dataset, max_unlabelled, batch_size)
    if hidden is not None:
      readout.unlabelled_labels = hidden[1]
      readout.unlabelled_predictor_logits = run(hidden[0], "aux_logits")
  if "rotation_logits" in probe:
    rotated = [np.rot90(np.concatenate(images), k, axes=(1, 2)) for k in range(4)]
    rotated = np.concatenate(rotated)
    readout.rotation_logits = run(
        [rotated[i:i + batch_size] for i in range(0, len(rotated), batch_size)],
        "rotation_logits")
  return readout


def _integer_labels(labels):
  """Dataset labels as integers (soft labels: their argmax)."""
  if labels.dtype.is_floating and labels.shape.rank == 2:
    return tf.argmax(labels, axis=1, output_type=tf.int32)
  return labels


def overfitting_readout(gan, dataset, num_examples, options):
  """The `tasks.OverfittingReadout` of the GAN's current D: its logits on the
  first `num_examples` training reals (the GAN's `train_fraction` subset, if
  any) and eval-split reals, unaugmented, and on `num_examples` images of the
  trained generator (not EMA, batch norm in training mode, no state updates:
  the fakes D trains against) at the evaluation latents of salt SEED_D_FAKES.
  """
  logits = tf.function(gan.discriminator_logits, reduce_retracing=True)

  def reals(split):
    ds = dataset.load(split).take(num_examples).batch(options.batch_size)
    return np.concatenate([logits(x, _integer_labels(y)).numpy() for x, y in ds])

  @tf.function(reduce_retracing=True)
  def fake_logits(z, labels):
    images = gan.generate(z, labels, use_ema=False, is_training=True)
    return gan.discriminator_logits(images, labels)

  fakes = [fake_logits(z, y).numpy() for z, y in inference_generator.latent_batches(
      gan, options, inference_generator.SEED_D_FAKES, 0, num_examples)]
  return tasks_lib.OverfittingReadout(
      train_real_logits=reals(dataset.train_split),
      test_real_logits=reals(dataset.eval_split),
      fake_logits=np.concatenate(fakes))


def _unlabelled_train_images(dataset, max_examples, batch_size):
  """([image batches], true labels [M]) of the first train images whose label
  `dataset.labeled_fraction` hides, or None without a labeled_fraction."""
  if dataset.labeled_fraction is None or dataset.soft_labels or max_examples < 1:
    return None
  plain = copy.copy(dataset)
  plain.labeled_fraction = None  # The true labels.
  ds = plain.load(plain.train_split).enumerate()
  subset = dataset.train_subset()
  if subset is not None:  # load() yields the subset's examples in key order.
    keys = tf.constant(subset.keys, tf.int64)
    ds = ds.map(lambda position, example: (tf.gather(keys, position), example))
  ds = ds.filter(lambda key, example: tf.logical_not(dataset.is_labeled(key)))
  ds = ds.map(lambda key, example: example).take(max_examples).batch(batch_size)
  batches = list(ds.as_numpy_iterator())
  if not batches:
    return None
  return [x for x, _ in batches], np.concatenate([y for _, y in batches])


class SampleProgress:
  """Logs `what: done/total (x%) | images/s | ETA` at most every `seconds`
  (and when done)."""

  def __init__(self, what, total, seconds=30.0, clock=time.time):
    self.what, self.total, self.seconds, self._clock = what, int(total), seconds, clock
    self._start = self._last = clock()

  def update(self, done):
    """Logs a line if due; returns it (or None)."""
    now = self._clock()
    if done < self.total and now - self._last < self.seconds:
      return None
    self._last = now
    rate = done / max(now - self._start, 1e-9)
    eta = (self.total - done) / rate if rate > 0 else float("inf")
    line = (f"{self.what}: {done}/{self.total} ({100.0 * done / max(self.total, 1):.0f}%)"
            f" | {rate:.1f} images/s | ETA {progress.format_duration(eta)}")
    logging.info("%s", line)
    return line


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
    self.images_kept = tasks_lib.images_needed(self.tasks)
    self._extractor = extractor
    self._real = None
    n = self.options.num_samples or self.dataset.eval_test_samples or 10000
    self.num_samples = int(n)
    self.generator = inference_generator.InferenceGenerator(gan)

  @property
  def extractor(self):
    if self._extractor is None:
      self._extractor = get_feature_extractor(self.dataset.base_name, self.options)
      logging.info("Evaluation features: %s (eval.feature_extractor = %r).",
                   self._extractor.name, self.options.feature_extractor)
    return self._extractor

  @property
  def task_context(self):
    return tasks_lib.TaskContext(
        conditional=bool(self.gan.conditional),
        class_aligned=bool(self.extractor.class_aligned),
        seed=self.options.seed,
        labels_are_classes=bool(self.dataset.labels_are_classes))

  def _sample_set(self, batches, what, images_kept):
    """A SampleSet from (images, labels) batches: features of every image, the
    first `images_kept` images only (memory stays bounded: the feature arrays
    are filled in place)."""
    kept, labels = [], []
    features = {}
    num_kept = num_bad = total = 0
    progress = SampleProgress(what, self.num_samples)
    for images, batch_labels in batches:
      images = np.asarray(images, np.float32)
      start, total = total, total + len(images)
      progress.update(total)
      bad = ~np.isfinite(images.reshape(len(images), -1)).all(axis=1)
      num_bad += int(bad.sum())
      if batch_labels is not None:
        labels.append(np.asarray(batch_labels))
      if num_bad:
        continue  # The run is lost; count the rest, skip their features.
      if num_kept < images_kept:
        kept.append(images[:images_kept - num_kept])
        num_kept += len(kept[-1])
      for key, value in self.extractor(images).items():
        if key not in features:
          features[key] = np.empty((self.num_samples,) + value.shape[1:],
                                   np.float32)
        features[key][start:total] = value
    if num_bad:
      raise tasks_lib.NaNInSamples(
          f"{num_bad} of {total} {what} contain NaN/inf.")
    shape = (0,) + tuple(self.dataset.image_shape)
    return tasks_lib.SampleSet(
        np.concatenate(kept) if kept else np.zeros(shape, np.float32),
        np.concatenate(labels).astype(np.int64) if labels else None,
        features["pool"][:total], features["logits"][:total])

  # ---------------------------------------------------------------- real set
  def real_samples(self):
    """The first num_samples eval-split images: features and labels (cached)."""
    if self._real is None:
      start = time.time()
      ds = self.dataset.load(self.dataset.eval_split).take(self.num_samples)

      def batches():
        for x, y in ds.batch(self.options.batch_size):
          y = y.numpy()
          yield x.numpy(), (y.argmax(axis=1) if y.ndim > 1 else y)  # Soft labels.

      # Image-based tasks (MS-SSIM, fractal dimension) read fake images only.
      self._real = self._sample_set(batches(), "real images", images_kept=0)
      num_real = len(self._real.pool)
      if num_real < self.num_samples:
        logging.warning("The eval split of %s has only %d examples; using %d "
                        "samples instead of %d.", self.dataset.name,
                        num_real, num_real, self.num_samples)
        self.num_samples = num_real
      logging.info("Real set: %d images of %s, features in %.1fs.",
                   num_real, self.dataset.name, time.time() - start)
    return self._real

  # ---------------------------------------------------------------- sampling
  def standing_statistics_batches(self):
    return inference_generator.standing_statistics_batches(self.gan,
                                                           self.options)

  def prepare_generator(self):
    """Loads the GAN's current weights into `self.generator` (see
    `load_inference_generator`); the GAN's own variables are not changed."""
    mapping = self.gan.generator_variable_mapping(
        inference_generator.use_ema(self.gan, self.options))
    values = {name: mapping.get(name, var).numpy()
              for name, var in self.gan.generator.store.vars.items()}
    return inference_generator.load_inference_generator(
        self.generator, values, self.options)

  def sample_batches(self, run):
    """Yields (images [B, H, W, C] in [0, 1], labels [B] or None) of run `run`."""
    for z, y in inference_generator.latent_batches(
        self.gan, self.options, inference_generator.SEED_Z, run,
        self.num_samples):
      yield (self.generator(z, y).numpy(),
             None if y is None else y.numpy().astype(np.int64))

  def sample(self, run):
    """All images and labels of run `run` at once (small sets and tests)."""
    images, labels = zip(*self.sample_batches(run))
    return (np.concatenate(images),
            None if labels[0] is None else np.concatenate(labels))

  def fake_samples(self, run):
    """The SampleSet of run `run` (raises NaNInSamples)."""
    return self._sample_set(self.sample_batches(run), "generated images",
                            self.images_kept)

  # -------------------------------------------------------------- evaluation
  def evaluate_loaded(self):
    """Evaluates the weights currently in `gan`; returns (scores, errors)."""
    real = self.real_samples()
    tctx = self.task_context
    d_tasks = tasks_lib.reads_discriminator(self.tasks)
    if d_tasks:
      tctx.discriminator = discriminator_readout(
          self.gan, self.dataset, self.num_samples,
          max(t.max_unlabelled_examples for t in d_tasks),
          self.options.batch_size)
    logit_tasks = tasks_lib.reads_discriminator_logits(self.tasks)
    if logit_tasks:
      tctx.overfitting = overfitting_readout(
          self.gan, self.dataset,
          min(t.max_examples or self.num_samples for t in logit_tasks),
          self.options)
    self.prepare_generator()
    runs, errors = [], {}
    for run in range(self.num_averaging_runs):
      start = time.time()
      try:
        fake = self.fake_samples(run)
      except tasks_lib.NaNInSamples as e:
        logging.warning("Evaluation run %d: %s Recording NaN scores.", run, e)
        errors[f"run{run}"] = f"nan_in_samples: {e}"
        runs.append(tasks_lib.nan_scores(self.tasks, tctx))
        continue
      scores, run_errors = tasks_lib.run_tasks(self.tasks, real, fake, tctx)
      errors.update({f"run{run}/{k}": v for k, v in run_errors.items()})
      runs.append(scores)
      logging.info("Evaluation run %d/%d (%d samples) in %.1fs: %s", run + 1,
                   self.num_averaging_runs, len(fake.pool), time.time() - start,
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
