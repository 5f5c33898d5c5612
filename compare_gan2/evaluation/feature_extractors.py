"""Feature extractors: images in [0, 1] -> {"pool": [N, D], "logits": [N, K]}.

Two implementations behind one interface (`FeatureExtractor`):

* `InceptionExtractor(handle)`: the FID Inception network (tensorflow-gan's
  `https://tfhub.dev/tensorflow/tfgan/eval/inception/1`) loaded with
  `tensorflow_hub.load` from a TF-Hub handle or a local directory. Images are
  preprocessed as compare_gan / tfgan's `preprocess_image` did: scaled to
  [0, 255], bilinearly resized to 299x299 (TF1 `resize_bilinear`, no corner
  alignment) and mapped to [-1, 1] by `(x - 128) / 128`. The module is called
  as `module(images) -> {"pool_3": [N, (1, 1,) 2048], "logits": [N, 1008]}`
  (the outputs are flattened); "pool" is `pool_3`, "logits" the 1008 logits.
* `DatasetClassifier(dataset_name)`: a small CNN (tf.Module, no Keras) trained
  on one of the embedded datasets (`polygons_*`: 6 classes, `mnist_5k_32`: 10)
  by `python -m compare_gan2.evaluation.train_classifier --dataset=NAME` and
  cached; "pool" is its 128-d penultimate layer, "logits" its class logits
  (pool features are multiplied by a stored constant that gives the real test
  features unit average variance). Its classes are the dataset's classes
  (`class_aligned = True`), so it also measures the class accuracy of
  conditional samples. A cached classifier whose test accuracy is below
  `polygons_classifier.min_test_accuracy` is refused (its features would make
  the scores meaningless).

`get_feature_extractor(dataset_name)` picks one by gin `eval.feature_extractor`
("auto": the dataset's classifier for the embedded datasets, Inception
otherwise).
"""

import os

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import errors

INCEPTION_TFHUB = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_IMAGE_SIZE = 299


class FeatureExtractorError(errors.UserError, RuntimeError):
  """A feature extractor could not be loaded (message says what to do)."""


class FeatureExtractor:
  """Interface: `extractor(images) -> {"pool": [N, D], "logits": [N, K]}`.

  Attributes:
    name: short identifier (used in logs and score files).
    class_aligned: True if the logits' classes are the dataset's classes
      (then sample class accuracy is meaningful).
    batch_size: images per forward pass.
  """

  name = "abstract"
  class_aligned = False
  batch_size = 64
  channels = 3  # Image channels the network reads; 1-channel images are tiled.

  def _forward(self, images):
    """[B, H, W, C] float32 in [0, 1] (tensor) -> dict of tensors."""
    raise NotImplementedError

  def __call__(self, images):
    """Features of `images` ([N, H, W, C] in [0, 1], NumPy or tensor).

    Returns:
      {"pool": float32 [N, D], "logits": float32 [N, K]} as NumPy arrays.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
      raise ValueError(f"{self.name}: expected [N, H, W, C] images, got shape "
                       f"{images.shape}.")
    if images.shape[-1] == 1 and self.channels == 3:
      images = np.tile(images, [1, 1, 1, 3])
    pools, logits = [], []
    for start in range(0, len(images), self.batch_size):
      out = self._forward(tf.constant(images[start:start + self.batch_size]))
      pools.append(np.asarray(out["pool"], np.float32))
      logits.append(np.asarray(out["logits"], np.float32))
    if not pools:
      raise ValueError(f"{self.name}: no images.")
    return {"pool": np.concatenate(pools), "logits": np.concatenate(logits)}


# --------------------------------------------------------------------------
# Inception (TF-Hub).
# --------------------------------------------------------------------------


def preprocess_for_inception(images):
  """[N, H, W, 3] in [0, 1] -> [N, 299, 299, 3] in [-1, 1] (tfgan's recipe)."""
  images = tf.cast(images, tf.float32) * 255.0
  resized = tf.compat.v1.image.resize_bilinear(
      images, [INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE], align_corners=False)
  return (resized - 128.0) / 128.0


def _load_hub_module(handle):
  try:
    import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise FeatureExtractorError(
        "tensorflow-hub is needed to load the Inception network "
        f"({handle!r}); pip install tensorflow-hub.") from e
  try:
    return hub.load(handle)
  except Exception as e:  # pylint: disable=broad-except
    raise FeatureExtractorError(
        f"Could not load the Inception network from eval.inception_handle = "
        f"{handle!r}: {type(e).__name__}: {e}\n"
        "Without network access, download the module on a machine that has it "
        f"(e.g. {INCEPTION_TFHUB}?tf-hub-format=compressed, then untar it), "
        "copy the directory here and point at it with the gin binding "
        "`eval.inception_handle = \"/path/to/inception\"` (e.g. "
        "--gin_bindings='eval.inception_handle = \"/path/to/inception\"'). "
        "For the embedded polygons_* datasets, use the offline classifier "
        "instead: `eval.feature_extractor = \"polygons\"`.") from e


class InceptionExtractor(FeatureExtractor):
  """The FID Inception network from a TF-Hub handle or local path."""

  name = "inception"

  def __init__(self, handle=INCEPTION_TFHUB, batch_size=64):
    self.handle = handle
    self.batch_size = int(batch_size)
    self._module = _load_hub_module(handle)
    module = self._module

    @tf.function(reduce_retracing=True)
    def forward(images):
      out = module(preprocess_for_inception(images))
      if not isinstance(out, dict) or "pool_3" not in out or "logits" not in out:
        raise FeatureExtractorError(
            f"The module at {handle!r} does not return a dict with 'pool_3' "
            "and 'logits' (the tfgan Inception module's outputs).")
      flat = lambda t: tf.reshape(t, [tf.shape(t)[0], -1])
      return {"pool": flat(out["pool_3"]), "logits": flat(out["logits"])}
    self._forward_fn = forward

  def _forward(self, images):
    return self._forward_fn(images)


# --------------------------------------------------------------------------
# The offline classifiers of the embedded datasets.
# --------------------------------------------------------------------------

# Dataset name prefix -> (number of classes, image channels).
CLASSIFIED_DATASETS = {"polygons_": (6, 3), "mnist_5k_": (10, 1)}
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
  import json  # pylint: disable=g-import-not-at-top
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


class DatasetClassifier(FeatureExtractor):
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
        raise FeatureExtractorError(
            f"No trained classifier for {dataset_name!r} in "
            f"{self.directory!r}. Train it once with:\n  {command}\n(or set "
            "polygons_classifier.auto_train = True).")
      from compare_gan2.evaluation import train_classifier  # pylint: disable=g-import-not-at-top
      logging.info("No cached classifier for %s in %s: training one now (a few "
                   "minutes; same as `%s`).", dataset_name, self.directory,
                   command)
      train_classifier.train(dataset_name, self.directory)
      loaded = load_classifier(self.directory, dataset_name)
    self.net, self.metadata = loaded
    self.channels = self.net.channels
    accuracy = float(self.metadata.get("test_accuracy", 0.0))
    if accuracy < float(min_test_accuracy):
      raise FeatureExtractorError(
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
