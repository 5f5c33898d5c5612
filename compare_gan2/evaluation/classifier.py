"""The offline classifiers of the embedded datasets: network, training, cache,
and the `DatasetClassifier` feature extractor.

A small CNN (`ClassifierNet`, a tf.Module, no Keras) trained on one of the
embedded datasets (`polygons_*`: 6 classes, `mnist_5k_32`: 10) by `train`
(`python -m compare_gan2.evaluation.train_classifier --dataset=NAME`) and
cached in `classifier_dir(NAME)` as `classifier.json` (metadata, test accuracy,
feature scale) and a tf.train.Checkpoint. As a feature extractor "pool" is its
128-d penultimate layer times the stored feature scale, "logits" its class
logits; its classes are the dataset's (`class_aligned = True`).
"""

import json
import os
import time

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import model_dir as model_dir_lib
from compare_gan2 import optimizers
from compare_gan2.evaluation import feature_extractors as fe

# Dataset name prefix -> (number of classes, image channels).
CLASSIFIED_DATASETS = {"polygons_": (6, 3), "mnist_5k_": (10, 1),
                       "captioned_polygons_shapes_": (6, 3)}
_CLASSIFIER_VERSION = 1
# Below this test accuracy a cached classifier is refused (gin
# polygons_classifier.min_test_accuracy).
MIN_TEST_ACCURACY = 0.9


def has_classifier(dataset_name):
  """Whether `dataset_name` has an offline classifier (an embedded dataset)."""
  return any(dataset_name.startswith(p) for p in CLASSIFIED_DATASETS)


def classifier_spec(dataset_name):
  """(resolution, num_classes, channels) of `dataset_name`'s classifier."""
  for prefix, (num_classes, channels) in CLASSIFIED_DATASETS.items():
    if dataset_name.startswith(prefix):
      return int(dataset_name[len(prefix):]), num_classes, channels
  raise ValueError(f"There is an offline classifier only for the embedded "
                   f"datasets ({', '.join(p + '*' for p in CLASSIFIED_DATASETS)}"
                   f"), not for {dataset_name!r}.")


def default_cache_dir():
  """`$COMPARE_GAN2_CACHE/classifiers`, else `~/.cache/compare_gan2/classifiers`."""
  root = os.environ.get("COMPARE_GAN2_CACHE") or os.path.join(
      os.path.expanduser("~"), ".cache", "compare_gan2")
  return os.path.join(root, "classifiers")


def classifier_dir(dataset_name, cache_dir=None):
  return os.path.join(cache_dir or default_cache_dir(), dataset_name)


class ClassifierNet(tf.Module):
  """Small CNN: [strided 32-ch convs down to 32 px] -> 5 convs -> GAP -> 128 -> K.

  3x3 convolutions with ReLU: 32 (s1), 64 (s2), 64 (s1), 128 (s2), 128 (s2),
  then global average and max pooling (concatenated, 256), a 128-unit ReLU layer
  (the "pool" features) and the K-way logits. Inputs larger than 32 px first
  pass through stride-2 32-channel convolutions until they are 32 px.
  """

  def __init__(self, resolution, num_classes=6, seed=0, channels=3):
    super().__init__(name="polygons_classifier")
    if resolution < 32 or resolution & (resolution - 1):
      raise ValueError(f"ClassifierNet: resolution must be a power of 2 >= 32, "
                       f"got {resolution}.")
    self.resolution = resolution
    self.channels = int(channels)
    rng = np.random.default_rng(seed)
    self.convs = []
    specs = []
    r = resolution
    while r > 32:
      specs.append((32, 2))
      r //= 2
    specs += [(32, 1), (64, 2), (64, 1), (128, 2), (128, 2)]
    for i, (out, stride) in enumerate(specs):
      std = np.sqrt(2.0 / (9 * channels))
      kernel = tf.Variable(rng.normal(0, std, [3, 3, channels, out]).astype(
          np.float32), name=f"conv{i}/kernel")
      bias = tf.Variable(np.zeros([out], np.float32), name=f"conv{i}/bias")
      self.convs.append((kernel, bias, stride))
      channels = out
    self.fc_w = tf.Variable(rng.normal(0, np.sqrt(2.0 / (2 * channels)),
                                       [2 * channels, 128]).astype(np.float32),
                            name="fc/kernel")
    self.fc_b = tf.Variable(np.zeros([128], np.float32), name="fc/bias")
    self.out_w = tf.Variable(rng.normal(0, np.sqrt(1.0 / 128),
                                        [128, num_classes]).astype(np.float32),
                             name="logits/kernel")
    self.out_b = tf.Variable(np.zeros([num_classes], np.float32),
                             name="logits/bias")

  def __call__(self, images):
    """images [N, R, R, C] in [0, 1] -> {"pool": [N, 128], "logits": [N, K]}."""
    net = tf.cast(images, tf.float32) * 2.0 - 1.0
    for kernel, bias, stride in self.convs:
      net = tf.nn.relu(tf.nn.conv2d(net, kernel, stride, "SAME") + bias)
    net = tf.concat([tf.reduce_mean(net, [1, 2]), tf.reduce_max(net, [1, 2])], 1)
    pool = tf.nn.relu(tf.matmul(net, self.fc_w) + self.fc_b)
    logits = tf.matmul(pool, self.out_w) + self.out_b
    return {"pool": pool, "logits": logits}


def build_classifier_net(dataset_name, seed=0):
  """An untrained ClassifierNet shaped for `dataset_name`."""
  resolution, num_classes, channels = classifier_spec(dataset_name)
  return ClassifierNet(resolution, num_classes, seed=seed, channels=channels)


def load_classifier(directory, dataset_name):
  """(ClassifierNet, metadata dict) restored from `directory`, or None if absent."""
  meta_path = os.path.join(directory, "classifier.json")
  if not tf.io.gfile.exists(meta_path):
    return None
  with tf.io.gfile.GFile(meta_path) as f:
    meta = json.load(f)
  if meta.get("version") != _CLASSIFIER_VERSION or meta.get(
      "dataset") != dataset_name:
    logging.warning("Ignoring classifier in %s (version/dataset mismatch: %s).",
                    directory, meta)
    return None
  net = build_classifier_net(dataset_name)
  tf.train.Checkpoint(net=net).read(
      os.path.join(directory, meta["checkpoint"])).assert_existing_objects_matched()
  if "feature_scale" not in meta:
    meta["feature_scale"] = feature_scale(net, dataset_name)
  return net, meta


def feature_scale(net, dataset_name, num_examples=2000):
  """1 / RMS per-dimension std of the pool features on the test split.

  The classifier's ReLU features have an arbitrary scale; multiplying them by
  this constant gives real features unit average variance (like Inception
  pool_3's O(1) values), which keeps FID/KID in a readable range and KID's
  polynomial kernel well conditioned. It is a fixed property of the trained
  classifier (stored in classifier.json), so scores stay comparable.
  """
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  dataset = datasets.DATASETS[dataset_name]()  # pylint: disable=redefined-outer-name
  pools = [net(x)["pool"].numpy() for x, _ in
           dataset.load(dataset.eval_split).take(num_examples).batch(500)]
  std = np.sqrt(np.mean(np.var(np.concatenate(pools), axis=0)))
  return float(1.0 / max(std, 1e-12))


def evaluate_accuracy(net, dataset, num_examples=None, batch_size=500):
  """Top-1 accuracy of `net` on the first `num_examples` of the test split."""
  forward = tf.function(net.__call__, reduce_retracing=True)
  ds = dataset.load(dataset.eval_split)
  if num_examples:
    ds = ds.take(num_examples)
  correct = total = 0
  for images, labels in ds.batch(batch_size):
    pred = tf.argmax(forward(images)["logits"], axis=1, output_type=tf.int32)
    correct += int(tf.reduce_sum(tf.cast(pred == labels, tf.int32)))
    total += int(labels.shape[0])
  return correct / max(total, 1)


def train(dataset_name, output_dir, steps=3000, batch_size=64,
          learning_rate=2e-3, seed=0, log_every=250, eval_examples=None,
          print_fn=None):
  """Trains a ClassifierNet on `dataset_name` and saves it to `output_dir`.

  Returns:
    The metadata dict written to `output_dir/classifier.json`.
  """
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  say = print_fn or (lambda msg: logging.info("%s", msg))
  # Default dataset seed: the classifier does not depend on gin's dataset.seed.
  dataset = datasets.DATASETS[dataset_name]()
  tf.random.set_seed(seed)
  net = build_classifier_net(dataset_name, seed=seed)
  variables = list(net.trainable_variables)
  lr_var = tf.Variable(learning_rate, dtype=tf.float32, trainable=False)
  optimizer = optimizers.AdamOptimizer(lr_var, name="classifier_adam")
  optimizer.build(variables)

  @tf.function
  def train_step(images, labels, lr):
    lr_var.assign(lr)
    with tf.GradientTape() as tape:
      logits = net(images)["logits"]
      loss = tf.reduce_mean(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    optimizer.apply(tape.gradient(loss, variables), variables)
    acc = tf.reduce_mean(tf.cast(
        tf.argmax(logits, 1, output_type=tf.int32) == labels, tf.float32))
    return loss, acc

  ds = dataset.train_examples(start_index=0).map(
      lambda i, x, y: (x, tf.cast(y, tf.int32))).batch(batch_size).prefetch(4)
  start = time.time()
  losses, accs = [], []
  for step, (images, labels) in enumerate(ds.take(steps), start=1):
    # Cosine decay to 5% of the initial rate.
    frac = (step - 1) / max(steps - 1, 1)
    lr = learning_rate * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
    loss, acc = train_step(images, labels, tf.constant(lr, tf.float32))
    losses.append(float(loss))
    accs.append(float(acc))
    if step % log_every == 0 or step == steps:
      say(f"[{dataset_name} classifier] step {step}/{steps}  "
          f"loss {np.mean(losses):.4f}  train acc {np.mean(accs):.4f}  "
          f"{time.time() - start:.0f}s")
      losses, accs = [], []
  train_seconds = time.time() - start
  accuracy = evaluate_accuracy(net, dataset, eval_examples)
  say(f"[{dataset_name} classifier] test accuracy {accuracy:.4f} "
      f"(trained {steps} steps in {train_seconds:.0f}s)")
  tf.io.gfile.makedirs(output_dir)
  prefix = tf.train.Checkpoint(net=net).write(
      os.path.join(output_dir, "classifier"))
  meta = {
      "version": _CLASSIFIER_VERSION,
      "dataset": dataset_name,
      "checkpoint": os.path.basename(prefix),
      "steps": int(steps),
      "batch_size": int(batch_size),
      "test_accuracy": float(accuracy),
      "test_examples": int(eval_examples or dataset.eval_test_samples),
      "train_seconds": round(train_seconds, 1),
      "feature_scale": feature_scale(net, dataset_name, eval_examples or 2000),
  }
  model_dir_lib.atomic_write_json(os.path.join(output_dir, "classifier.json"),
                                  meta)
  say(f"[{dataset_name} classifier] saved to {output_dir}")
  return meta


class DatasetClassifier(fe.FeatureExtractor):
  """The cached classifier of an embedded dataset as a feature extractor.

  If no trained classifier is cached and `auto_train` is True, trains one now
  (a few minutes on 2 CPU cores; logged) and caches it; otherwise raises an
  error that names the command to run. A classifier whose recorded test
  accuracy is below `min_test_accuracy` raises an error that says how to
  retrain it (or to lower the bound).
  """

  name = "dataset_classifier"
  class_aligned = True

  def __init__(self, dataset_name, cache_dir=None, auto_train=True,
               batch_size=256, min_test_accuracy=MIN_TEST_ACCURACY):
    self.dataset_name = dataset_name
    self.directory = classifier_dir(dataset_name, cache_dir)
    self.batch_size = int(batch_size)
    self.name = f"{dataset_name}_classifier"
    loaded = load_classifier(self.directory, dataset_name)
    command = ("python -m compare_gan2.evaluation.train_classifier "
               f"--dataset={dataset_name} --output={self.directory}")
    if loaded is None:
      if not auto_train:
        raise fe.FeatureExtractorError(
            f"No trained classifier for {dataset_name!r} in "
            f"{self.directory!r}. Train it once with:\n  {command}\n(or set "
            "polygons_classifier.auto_train = True).")
      logging.info("No cached classifier for %s in %s: training one now (a few "
                   "minutes; same as `%s`).", dataset_name, self.directory,
                   command)
      train(dataset_name, self.directory)
      loaded = load_classifier(self.directory, dataset_name)
    self.net, self.metadata = loaded
    self.channels = self.net.channels
    accuracy = float(self.metadata.get("test_accuracy", 0.0))
    if accuracy < float(min_test_accuracy):
      raise fe.FeatureExtractorError(
          f"The cached {dataset_name} classifier in {self.directory} has test "
          f"accuracy {accuracy:.3f}, below polygons_classifier.min_test_accuracy"
          f" = {min_test_accuracy}: scores on its features would not mean much. "
          f"Retrain it (more steps) with:\n  {command} --steps=6000\nor lower "
          "the bound with --gin_bindings='polygons_classifier.min_test_accuracy"
          " = 0.5'.")
    logging.info("Feature extractor: the %s classifier in %s (test accuracy "
                 "%.4f).", dataset_name, self.directory, accuracy)
    scale = float(self.metadata.get("feature_scale", 1.0))
    net = self.net

    @tf.function(reduce_retracing=True)
    def forward(images):
      out = net(images)
      return {"pool": out["pool"] * scale, "logits": out["logits"]}
    self._forward_fn = forward

  def _forward(self, images):
    return self._forward_fn(images)
