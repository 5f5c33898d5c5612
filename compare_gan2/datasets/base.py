"""ImageDatasetSpec: the dataset interface the trainer and the metrics use.

A spec describes one image dataset (name, image shape, number of classes, eval size,
seed) and builds its `tf.data` pipelines:

- `load(split, input_context=None)`: the finite, unshuffled split, as
  `(image float32 [H, W, C] in [0, 1], label int32 [])`. The eval split gets the eval
  transform, the train split the train transform (random transforms are stateless,
  seeded by `(seed + input_pipeline_id, position in the split)`).
- `train_examples(start_index=0, input_context=None)`: the infinite, shuffled training
  stream as `(index int64, image, label)`. `index` counts the examples of this pipeline
  from 0, and `train_examples(k)` yields exactly the elements of `train_examples(0)`
  from index k on (kill-and-resume relies on it). Random transforms are seeded by
  `(seed + input_pipeline_id, index)`.

With a `tf.distribute.InputContext` every input pipeline reads its own shard and uses
the seed `seed + input_pipeline_id` (compare_gan's per-host seed).

Limited data (`train_fraction` / `num_train_examples`, see ImageDatasetSpec and
subset.py): the train split of both pipelines is a fixed, class-balanced subset;
the eval split is untouched.

`RecordDatasetSpec` implements both pipelines for datasets read from record files
(TFDS): shuffling is a stateless block permutation (`shuffle_buffer_size` records per
block, seeded by `(seed, epoch, block)`) so it does not depend on TF's global seed, and
resuming skips only records inside the current epoch, before decoding.

Options shared by all datasets (gin `data_options`, or the setters below, which the
main module calls with its flag values and which take precedence over gin):
`tfds_data_dir` (compare_gan's `--tfds_data_dir`) and `shuffle_buffer_size`
(`--data_shuffle_buffer_size`, default 10000).
"""

from __future__ import annotations

from collections.abc import Callable
import copy
import typing

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops
from compare_gan2.datasets import subset as subset_lib

if typing.TYPE_CHECKING:
  from compare_gan2.text import tokenizer as tokenizer_lib

TRAIN = "train"
EVAL = "eval"

DEFAULT_SHUFFLE_BUFFER_SIZE = 10000

# The setters' values, which take precedence over gin `data_options`.
_OVERRIDES: dict[str, typing.Any] = {}


class DatasetNotAvailableError(errors.UserError, ValueError):
  """The dataset's files are not present locally (and are never downloaded)."""


@gin.configurable("data_options")
def _gin_data_options(tfds_data_dir: str | None = None,
                      shuffle_buffer_size: int = DEFAULT_SHUFFLE_BUFFER_SIZE
                      ) -> dict[str, typing.Any]:
  return {"tfds_data_dir": tfds_data_dir,
          "shuffle_buffer_size": shuffle_buffer_size}


def _option(key: str) -> typing.Any:
  if _OVERRIDES.get(key) is not None:
    return _OVERRIDES[key]
  return _gin_data_options()[key]


def set_tfds_data_dir(path: str | None) -> None:
  """Sets the TFDS data directory (the `--tfds_data_dir` flag); None unsets it."""
  _OVERRIDES["tfds_data_dir"] = path


def get_tfds_data_dir() -> str | None:
  """The TFDS data directory, or None for TFDS's default (~/tensorflow_datasets)."""
  return _option("tfds_data_dir")


def set_shuffle_buffer_size(size: int | None) -> None:
  """Sets the shuffle buffer (`--data_shuffle_buffer_size`); None unsets it."""
  if size is not None and int(size) < 1:
    raise ValueError("shuffle_buffer_size must be >= 1, got %r" % (size,))
  _OVERRIDES["shuffle_buffer_size"] = None if size is None else int(size)


def get_shuffle_buffer_size() -> int:
  return int(_option("shuffle_buffer_size"))


def pipeline_info(input_context: tf.distribute.InputContext | None
                  ) -> tuple[int, int]:
  """(num_input_pipelines, input_pipeline_id) of an optional InputContext."""
  if input_context is None:
    return 1, 0
  return int(input_context.num_input_pipelines), int(input_context.input_pipeline_id)


def example_seed(seed: int | tf.Tensor, index: int | tf.Tensor,
                 *salt: int | tf.Tensor) -> tf.Tensor:
  """A [2] int64 stateless seed for one example: (seed, index) folded with `salt`."""
  return random_ops.derive_seed((seed, index), *salt, dtype=tf.int64)


def permuted_epochs(keys: np.ndarray | tf.Tensor, start_index: int, seed: int,
                    salt: int) -> tf.data.Dataset:
  """(index, key) pairs from `start_index` on: epoch e is a stateless
  permutation of `keys` (int64 [n], n >= 1) seeded by (seed, e, salt); index i
  is element i mod n of epoch i // n, so resuming at any index is exact and
  cheap."""
  keys = tf.constant(keys, tf.int64)
  size = int(keys.shape[0])

  def epoch_keys(epoch: tf.Tensor) -> tf.data.Dataset:
    perm = tf.random.experimental.stateless_shuffle(
        tf.range(size, dtype=tf.int64), seed=example_seed(seed, epoch, salt))
    return tf.data.Dataset.from_tensor_slices(tf.gather(keys, perm))

  first_epoch, skip = divmod(int(start_index), size)
  stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_keys)
  return tf.data.Dataset.zip((tf.data.Dataset.range(start_index, 2**62),
                              stream.skip(skip)))


# Label variants every labelled dataset has (compare_gan had them for ImageNet).
LABEL_VARIANTS = ("single_class", "random_class", "labeled_only", "soft_labeled")
_SALT_LABELED = 0x1ABE1ED  # hash stream of the labeled_fraction subset
_SALT_RANDOM_LABEL = 0x1ABE1


class ImageDatasetSpec:
  """Describes an image dataset and builds its tf.data pipelines (see module doc).

  Labels of the train split can be changed for the fewer-labels experiments
  (Lucic et al., 2019), for every labelled dataset:
  - `labeled_fraction` f: example `key` keeps its label iff
    U(seed, key) < f (U: random_ops.hash_uniform); every other example gets
    -1. `key` identifies the example in the unshuffled split (its position,
    or the image id of polygons), so the subset does not depend on sharding,
    shuffling or resumption; the decision ignores the label, so every class
    keeps the fraction f of its examples (up to sampling noise).
  - `label_variant` "single_class" (every label 0, one class: SINGLE LABEL),
    "random_class" (a uniform label drawn per visit, as compare_gan: RANDOM
    LABEL), "labeled_only" (the train split keeps labelled examples only) or
    "soft_labeled" (float [num_classes] labels: softmax of the logits in the
    label files of gin `replace_labels.file_pattern`, which it requires).

  Limited data (gin `dataset.train_fraction` f or `dataset.num_train_examples`
  m, at most one; subset.py): the train split of `load` and `train_examples`
  is a subset chosen once, the same for every seed; the eval split is
  untouched. Stratified (class-balanced): each example's hash is
  hash_uniform(fixed salt, key) (ties broken by the full 32-bit hash, so
  there are none), `key` its position in the unshuffled split or its image
  id (polygons); class c with n_c training examples keeps its floor(f * n_c +
  1/2) examples with the smallest hashes (f * n_c rounded half up), so every
  class keeps the fraction f and the subset of 0.1 lies inside the one of 0.2.
  m keeps the m examples of smallest (hash rank in class + 1/2) / n_c (per
  class about m * n_c / n, exactly m in all; nested too). Unlabelled datasets
  are one class. The classes are the dataset's OWN labels, before label
  variants, labeled_fraction and label files: the data a run may see must not
  depend on the labels attached to it, so runs that compare label sources
  (label files, S2GAN's inferred labels, labeled_fraction) at one fraction see
  the same images (label files also mark examples -1). Label files still set
  how many records the split has (polygons, mnist_5k: their first N).
  polygons_* without label files (2**31 generated images, classes equally
  likely) take `num_train_examples` only: class c keeps floor(m / 6) (+1 for
  the first m mod 6 classes) of its images with the smallest hashes; their
  shapes, hence the subset, are functions of dataset.seed like the images.
  A class left without examples, a count above the split size or an empty
  subset is a ConfigError naming what would work.
  """

  # Every dataset sets its name and image shape (H, W, C): declared, not set here.
  name: str
  image_shape: tuple[int, int, int]
  num_classes: int | None = None        # None if unlabelled
  eval_test_samples: int | None = None  # examples of the eval split the metrics use
  train_split = "train"
  eval_split = "test"
  # Soft-labelled datasets yield float32 [num_classes] labels instead of int32 [].
  soft_labels = False
  labeled_fraction: float | None = None
  label_variant: str | None = None
  # False when the labels are not the dataset's classes (e.g. cluster ids).
  _labels_are_classes = True
  # Label files replacing the labels ("{split}" = split name; "" = none); None
  # defers to gin `replace_labels.file_pattern` (see `with_label_files`).
  label_file_pattern: str | None = None
  # Limited data (see the class doc): at most one of them.
  train_fraction: float | None = None
  num_train_examples: int | None = None
  _train_subset: subset_lib.TrainSubset | None = None  # Chosen once used.

  def __init__(self, seed: int = 547):
    self.seed = int(seed)

  @property
  def base_name(self) -> str:
    """The dataset's name without a label variant ("polygons_32")."""
    return getattr(self, "_base_name", self.name)

  @property
  def labels_are_classes(self) -> bool:
    """Whether the labels are the dataset's classes: not SINGLE LABEL, RANDOM
    LABEL or labels marked otherwise (`dataset.labels_are_classes = False`,
    e.g. k-means cluster ids)."""
    return (self._labels_are_classes and
            self.label_variant not in ("single_class", "random_class"))

  def set_labels(self, labeled_fraction: float | None = None,
                 label_variant: str | None = None,
                 labels_are_classes: bool = True) -> ImageDatasetSpec:
    """Applies `labeled_fraction` and a `label_variant` (see the class doc)."""
    self._labels_are_classes = bool(labels_are_classes)
    if labeled_fraction is not None or label_variant is not None:
      if not self.num_classes:
        raise errors.ConfigError(
            f"Dataset {self.name!r} has no labels, so it has no labeled_fraction "
            "or label variant. Choose a labelled dataset.")
      if self.soft_labels:
        raise errors.ConfigError(
            f"Dataset {self.name!r} has soft labels; labeled_fraction and label "
            "variants apply to hard labels only.")
    if labeled_fraction is not None:
      fraction = float(labeled_fraction)
      if not 0.0 < fraction <= 1.0:
        raise errors.ConfigError(
            f"dataset.labeled_fraction must be in (0, 1], got {labeled_fraction!r}.")
      self.labeled_fraction = fraction
    if label_variant is not None:
      if label_variant not in LABEL_VARIANTS:
        raise errors.ConfigError(f"Unknown label variant {label_variant!r}; "
                                 f"known: {LABEL_VARIANTS}.")
      if label_variant == "soft_labeled" and labeled_fraction is not None:
        raise errors.ConfigError(
            "soft_labeled datasets take their labels from label files; "
            "dataset.labeled_fraction does not apply.")
      self.label_variant = label_variant
      self._base_name = self.name
      self.name = f"{label_variant}_{self.name}"
      if label_variant == "single_class":
        self.num_classes = 1
      if label_variant == "soft_labeled":
        self.soft_labels = True
    return self

  def with_label_files(self, file_pattern: str | None) -> ImageDatasetSpec:
    """Reads labels from `file_pattern` ("" or None: the dataset's own labels),
    whatever gin `replace_labels.file_pattern` says; returns self."""
    self.label_file_pattern = file_pattern or ""
    self._train_subset = None  # Label files may change the split's records.
    return self

  def set_train_subset(self, fraction: float | None = None,
                       count: int | None = None) -> ImageDatasetSpec:
    """Trains on a subset: `fraction` f of the train split, or `count`
    examples (see the class doc); both None: the whole split. Returns self.
    ConfigError for both set, f outside (0, 1] or a count < 1; the subset
    itself is chosen when first used (or by `check_label_files`)."""
    fraction, count = subset_lib.check_option(fraction, count)
    self.train_fraction, self.num_train_examples = fraction, count
    self._train_subset = None
    return self

  def has_train_subset(self) -> bool:
    return self.train_fraction is not None or self.num_train_examples is not None

  def train_subset(self) -> subset_lib.TrainSubset | None:
    """The subset.TrainSubset the train split is limited to, or None (no
    option). Chosen once per spec (reading the train labels once)."""
    if not self.has_train_subset():
      return None
    if self._train_subset is None:
      self._train_subset = self._choose_train_subset()
    return self._train_subset

  def _choose_train_subset(self) -> subset_lib.TrainSubset:
    keys, labels = self._subset_population()
    return subset_lib.choose(self.name, keys, labels, self.train_fraction,
                             self.num_train_examples)

  def _subset_population(self) -> tuple[np.ndarray, np.ndarray | None]:
    """(keys int64 [n], own class labels [n] or None) of the train split."""
    raise errors.ConfigError(
        f"Dataset {self.name!r} does not support dataset.train_fraction / "
        "num_train_examples.")

  def train_subset_info(self) -> dict[str, typing.Any] | None:
    """run_info.json's record of the limited-data option (None without one):
    the fraction or count and the number of training examples it keeps."""
    subset = self.train_subset()
    return None if subset is None else subset.info()

  def labelled_subset(self) -> ImageDatasetSpec:
    """A copy of this spec whose train split is its labelled examples only (the
    "labeled_only" variant with the same seed and labeled_fraction), e.g. for a
    separate labelled batch per step (S3GAN.labelled_batch_size)."""
    if self.label_variant is not None or self.soft_labels or not self.num_classes:
      raise errors.ConfigError(
          f"Dataset {self.name!r} has no labelled subset: it needs hard class "
          "labels and no label variant.")
    subset = copy.copy(self)
    return subset.set_labels(label_variant="labeled_only",
                             labels_are_classes=self._labels_are_classes)

  def is_labeled(self, key: tf.Tensor) -> tf.Tensor:
    """bool tensor: whether examples `key` (int64, any shape) keep their label."""
    if self.labeled_fraction is None:
      return tf.ones_like(key, tf.bool)
    u = random_ops.hash_uniform(self.seed, _SALT_LABELED, key)
    return u < self.labeled_fraction

  def keeps_train_example(self, key: tf.Tensor, raw_label: tf.Tensor | None = None
                          ) -> tf.Tensor:
    """bool: whether a "labeled_only" train split keeps example `key`."""
    keep = self.is_labeled(tf.cast(key, tf.int64))
    if raw_label is not None:
      keep = tf.logical_and(keep, tf.cast(raw_label, tf.int64) >= 0)
    return keep

  def final_label(self, label: tf.Tensor, key: tf.Tensor, split_kind: str,
                  seed: tf.Tensor) -> tf.Tensor:
    """The label after the variant and (train split) labeled_fraction."""
    if self.soft_labels:
      return label
    if self.label_variant == "single_class":
      label = tf.zeros([], tf.int32)
    elif self.label_variant == "random_class":
      label = tf.random.stateless_uniform(
          [], seed=random_ops.derive_seed(seed, _SALT_RANDOM_LABEL, dtype=tf.int64),
          minval=0, maxval=self.num_classes, dtype=tf.int32)
    if self.labeled_fraction is not None and split_kind == TRAIN:
      label = tf.where(self.is_labeled(tf.cast(key, tf.int64)), label,
                       tf.constant(-1, label.dtype))
    return label

  def __repr__(self) -> str:
    return "%s(name=%r, image_shape=%r, num_classes=%r, seed=%r)" % (
        type(self).__name__, self.name, self.image_shape, self.num_classes, self.seed)

  def resolve_split(self, split: str) -> str:
    """Maps a split name to TRAIN or EVAL.

    Accepts "train", "test", "eval", "validation" and the spec's own
    `train_split` / `eval_split` strings (e.g. "train[:99%]").
    """
    if split in (TRAIN, self.train_split):
      return TRAIN
    if split in (EVAL, "test", "validation", self.eval_split):
      return EVAL
    raise ValueError("Dataset %r has no split %r; use 'train' or 'test' (the eval "
                     "split, %r)." % (self.name, split, self.eval_split))

  def check_available(self) -> None:
    """Raises DatasetNotAvailableError if the data is not available locally."""

  def check_label_files(self) -> None:
    """Reads the label files replacing this dataset's labels (gin
    `replace_labels.file_pattern`, `with_label_files`), if any, and raises
    `label_files.LabelFileError` if they are missing or do not fit (a label
    out of range, ...); `builder.build_context` calls it, so a bad file is
    refused before training writes anything. With a limited-data option it
    then chooses the training subset (ConfigError if it cannot be chosen)."""
    self._check_label_files()
    self.train_subset()

  def _check_label_files(self) -> None:
    """The label-file check of `check_label_files` (none by default)."""

  def load(self, split: str,
           input_context: tf.distribute.InputContext | None = None
           ) -> tf.data.Dataset:
    raise NotImplementedError

  def train_examples(self, start_index: int = 0,
                     input_context: tf.distribute.InputContext | None = None
                     ) -> tf.data.Dataset:
    raise NotImplementedError

  def train_batches(self, batch_size: int, start_index: int = 0,
                    input_context: tf.distribute.InputContext | None = None
                    ) -> tf.data.Dataset:
    """(images, labels) batches of `train_examples(start_index)`: whole
    batches, prefetched (a Trainer model's input_fn)."""
    ds = self.train_examples(start_index=start_index,
                             input_context=input_context)
    ds = ds.map(lambda index, image, label: (image, label))
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

  def _check_element(self, image: tf.Tensor, label: tf.Tensor
                     ) -> tuple[tf.Tensor, tf.Tensor]:
    image = tf.ensure_shape(tf.cast(image, tf.float32), self.image_shape)
    if self.soft_labels:
      label = tf.ensure_shape(tf.cast(label, tf.float32), [self.num_classes])
    else:
      label = tf.ensure_shape(tf.cast(label, tf.int32), [])
    return image, label


class RecordDatasetSpec(ImageDatasetSpec):
  """A dataset read from finite, ordered record files (e.g. TFDS).

  Subclasses implement:
    `_records(split_kind)`: the unshuffled split (TRAIN or EVAL) as a dataset of
      raw (undecoded) records, e.g. TFDS dicts with encoded images.
    `_parse(record, split_kind, seed)`: record -> (image, label); `seed` is a [2]
      int64 stateless seed for the example's random transform / label.
  and may implement:
    `_train_filter(record)`: bool; the train split keeps the records where it holds.
    `_num_records(split_kind)`: the unfiltered size of the split, or None.
  """

  def _records(self, split_kind: str) -> tf.data.Dataset:
    raise NotImplementedError

  def _parse(self, record: typing.Any, split_kind: str, seed: tf.Tensor
             ) -> tuple[tf.Tensor, tf.Tensor]:
    raise NotImplementedError

  # A method `_train_filter(record) -> bool tensor` in subclasses that filter.
  _train_filter: Callable[[typing.Any], tf.Tensor] | None = None

  def _num_records(self, split_kind: str) -> int | None:
    return None

  def _raw_label(self, record: typing.Any) -> tf.Tensor | None:
    """The record's label before parsing (for the labeled_only filter), or None."""
    return record.get("label") if isinstance(record, dict) else None

  def _has_train_filter(self) -> bool:
    return self._train_filter is not None or self.label_variant == "labeled_only"

  def _sharded_records(self, split_kind: str,
                       input_context: tf.distribute.InputContext | None
                       ) -> tf.data.Dataset:
    """(key, record) pairs of this pipeline's shard; key = position in the split.

    With a training subset the train split is filtered by a bool table of the
    subset's keys (the records are read, not decoded) before it is sharded,
    so pipeline p of P reads subset keys p, p + P, ... (in key order).
    """
    num, pid = pipeline_info(input_context)
    ds = self._records(split_kind).enumerate()
    subset = self.train_subset() if split_kind == TRAIN else None
    if subset is not None:
      last = int(subset.keys[-1])       # No record after it is read.
      keep = tf.constant(subset.mask(last + 1))
      ds = ds.take(last + 1).filter(lambda key, record: tf.gather(keep, key))
    if num > 1:
      ds = ds.shard(num, pid)
    # The subset is chosen among the records the train filter keeps.
    if (split_kind == TRAIN and self._train_filter is not None and
        subset is None):
      ds = ds.filter(lambda key, record: self._train_filter(record))
    if split_kind == TRAIN and self.label_variant == "labeled_only":
      ds = ds.filter(lambda key, record: self.keeps_train_example(
          key, self._raw_label(record)))
    return ds

  def _parse_keyed(self, key: tf.Tensor, record: typing.Any, kind: str,
                   seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    image, label = self._parse(record, kind, seed)
    return self._check_element(image, self.final_label(label, key, kind, seed))

  def load(self, split: str,
           input_context: tf.distribute.InputContext | None = None
           ) -> tf.data.Dataset:
    kind = self.resolve_split(split)
    _, pid = pipeline_info(input_context)
    seed = self.seed + pid
    ds = self._sharded_records(kind, input_context).enumerate()

    @tf.autograph.experimental.do_not_convert
    def parse(position: tf.Tensor, keyed: tuple[tf.Tensor, typing.Any]
              ) -> tuple[tf.Tensor, tf.Tensor]:
      key, record = keyed
      return self._parse_keyed(key, record, kind, example_seed(seed, position))
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def _epoch_size(self, input_context: tf.distribute.InputContext | None
                  ) -> int | None:
    """Records per epoch of this pipeline, or None if unknown (train filter)."""
    num, pid = pipeline_info(input_context)
    subset = self.train_subset()
    if subset is not None:
      if self.label_variant == "labeled_only":
        return None
      return len(range(pid, subset.size, num))
    if self._has_train_filter():
      return None
    n = self._num_records(TRAIN)
    if n is None:
      return None
    return len(range(pid, n, num))

  def train_examples(self, start_index: int = 0,
                     input_context: tf.distribute.InputContext | None = None
                     ) -> tf.data.Dataset:
    start_index = int(start_index)
    if start_index < 0:
      raise ValueError("start_index must be >= 0, got %d" % start_index)
    _, pid = pipeline_info(input_context)
    seed = self.seed + pid
    block = get_shuffle_buffer_size()
    records = self._sharded_records(TRAIN, input_context)

    def permuted_blocks(epoch: tf.Tensor, blocks: tf.data.Dataset) -> tf.data.Dataset:
      @tf.autograph.experimental.do_not_convert
      def permute(block_index: tf.Tensor, batch: typing.Any) -> typing.Any:
        s = example_seed(seed, epoch, block_index, 0x5EED)
        n = tf.shape(tf.nest.flatten(batch)[0])[0]
        perm = tf.random.experimental.stateless_shuffle(tf.range(n), seed=s)
        return tf.nest.map_structure(lambda t: tf.gather(t, perm), batch)
      return blocks.map(permute).unbatch()

    def shuffled_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
      return permuted_blocks(epoch, records.batch(block).enumerate())

    epoch_size = self._epoch_size(input_context)
    if epoch_size == 0 and self.has_train_subset():
      raise DatasetNotAvailableError(
          f"{self.name}: this input pipeline's share of the training subset is "
          "empty (more input pipelines than training examples).")
    if epoch_size is not None and epoch_size > 0:
      # Jump to the epoch, skip whole blocks before they are permuted (their
      # records are only read), then the rest of the block.
      first_epoch, skip = divmod(start_index, epoch_size)
      skip_blocks, skip_in_block = divmod(skip, block)
      first = permuted_blocks(
          tf.constant(first_epoch, tf.int64),
          records.batch(block).enumerate().skip(skip_blocks)).skip(skip_in_block)
      later = tf.data.Dataset.range(first_epoch + 1, 2**62).flat_map(shuffled_epoch)
      stream = first.concatenate(later)
    else:
      # Unknown epoch size (train filter): skip through the stream (reads, but
      # does not decode, the skipped records).
      stream = tf.data.Dataset.range(0, 2**62).flat_map(shuffled_epoch)
      stream = stream.skip(start_index)
    indices = tf.data.Dataset.range(start_index, 2**62)
    ds = tf.data.Dataset.zip((indices, stream))

    @tf.autograph.experimental.do_not_convert
    def parse(index: tf.Tensor, keyed: tuple[tf.Tensor, typing.Any]
              ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
      key, record = keyed
      image, label = self._parse_keyed(key, record, TRAIN,
                                       example_seed(seed, index))
      return index, image, label
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


class NamedRecords(typing.Protocol):
  """A dataset whose records label files name (label_files.py): the TFDS
  datasets and image_folder, polygons_*, mnist_5k_*."""

  def record_names(self, split: str, num: int | None = None) -> np.ndarray:
    """[N] bytes: the names of the split's records in order (the first `num`)."""


class CaptionedDatasetSpec(typing.Protocol):
  """A captioned dataset (captioned_polygons_*, image_folder with
  `image_folder.captions`) as the text-to-image models read it: an
  ImageDatasetSpec whose labels are caption ids, int32 [caption_length] in
  `tokenizer`'s vocabulary."""

  @property
  def name(self) -> str: ...

  @property
  def image_shape(self) -> tuple[int, int, int]: ...

  @property
  def eval_test_samples(self) -> int | None: ...

  @property
  def caption_length(self) -> int: ...

  @property
  def tokenizer(self) -> tokenizer_lib.Tokenizer: ...

  def train_examples(self, start_index: int = 0,
                     input_context: tf.distribute.InputContext | None = None
                     ) -> tf.data.Dataset: ...

  def train_batches(self, batch_size: int, start_index: int = 0,
                    input_context: tf.distribute.InputContext | None = None
                    ) -> tf.data.Dataset: ...
