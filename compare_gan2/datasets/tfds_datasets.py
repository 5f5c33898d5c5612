"""compare_gan's TFDS datasets, with compare_gan's names and preprocessing.

Nothing is ever downloaded: each dataset opens `tfds.builder(name,
data_dir=<tfds data dir>)`, checks that the prepared files are there and raises
`DatasetNotAvailableError` (what to download, where to put it) otherwise. The data
dir is the `--tfds_data_dir` flag (the main module calls `set_tfds_data_dir`), or gin
`data_options.tfds_data_dir`, or TFDS's default (~/tensorflow_datasets).

| name | TFDS | shape | classes | train / eval split | preprocessing |
|---|---|---|---|---|---|
| mnist, fashion-mnist | mnist, fashion_mnist | 28x28x1 | 10 | train / test | /255 |
| cifar10 | cifar10 | 32x32x3 | 10 | train / test | /255 |
| celeb_a | celeb_a | 64x64x3 | - | train / test | centre crop 160, bilinear 64 |
| lsun-bedroom | lsun/bedroom | 128x128x3 | - | train[:99%] / train[99%:] | centre crop 128 |
| imagenet_{64,128,256,512} | imagenet2012 | RxRx3 | 1000 | train / validation | train/eval transform |
| celeb_a_hq_128 | celeb_a_hq/128 or a folder | 128x128x3 | - | 90% / 10% | centre square, 128 |

Resizes use TF1 `resize_images` semantics (bilinear, half_pixel_centers=False) like
compare_gan. ImageNet crops (`train_imagenet_transform.crop_method`, default
"distorted"; `eval_imagenet_transform.crop_method`, default "middle"): "distorted"
(stateless sample_distorted_bounding_box, aspect 1, area [0.5, 1]), "random" (random
square of side min(H, W)), "middle" (central square), "none"; then bilinear resize.

Label replacement (gin `replace_labels.file_pattern`, every TFDS dataset): see
label_files.py. `file_pattern.format(split=<TFDS split>)` names TFRecords of
`{file_name, label}` read in compare_gan's order; record k must describe record k
of the split as `tfds.builder(...).as_dataset(split, shuffle_files=False,
read_config=tfds.ReadConfig(interleave_cycle_length=1))` yields it (this module
reads that way when labels are replaced; `record_names` lists the names to
write); a mismatching `file_name` fails the pipeline. Soft-labelled datasets
read float [num_classes] logits and apply softmax.

Label variants, `labeled_fraction` and limited data (`train_fraction`,
`num_train_examples`): see base.ImageDatasetSpec. The training subset is chosen
from the records' own "label" feature, read once without decoding images
(`_subset_population`), and the train split is filtered by key.
"""  # noqa: E501 (a Markdown table)

import glob
import os

import gin
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2.datasets import base
from compare_gan2.datasets import label_files
from compare_gan2.datasets.base import DatasetNotAvailableError
from compare_gan2.datasets.base import EVAL
from compare_gan2.datasets.base import TRAIN
from compare_gan2.datasets.base import set_tfds_data_dir  # noqa: F401 (re-export)

_OFFLINE_HINT = ('For a dataset that needs no files use dataset.name = "polygons_32" '
                 '(or polygons_64 / polygons_128 / polygons_256).')


def _resize(image, size):
  """compare_gan's tf.image.resize_images (TF1 bilinear, no half-pixel centres)."""
  return tf.compat.v1.image.resize(image, size,
                                   method=tf.image.ResizeMethod.BILINEAR,
                                   align_corners=False)


def centre_crop_and_resize(image, size):
  """The central square of `image` [H, W, C], resized to [size, size] (bilinear,
  TF1 semantics): compare_gan's CelebA-HQ-style transform."""
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  image = tf.image.resize_with_crop_or_pad(image, side, side)
  return _resize(image, [size, size])


def transform_imagenet_image(image, target_image_shape, crop_method, seed):
  """compare_gan's `_transform_imagnet_image`: crop, then bilinear resize.

  Args:
    image: [H, W, 3] image, float32 in [0, 1].
    target_image_shape: (H', W', 3).
    crop_method: "distorted", "random", "middle" or "none".
    seed: [2] int stateless seed (used by "distorted" and "random").
  """
  if crop_method not in ("none", "random", "middle", "distorted"):
    raise ValueError("Unsupported crop method: %r (use distorted, random, middle "
                     "or none)" % (crop_method,))
  shape = tf.shape(image)
  h, w = shape[0], shape[1]
  size = tf.minimum(h, w)
  if crop_method == "distorted":
    bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, bounding_boxes=bbox, seed=seed, min_object_covered=0.1,
        aspect_ratio_range=[1.0, 1.0], area_range=[0.5, 1.0],
        use_image_if_no_bounding_boxes=True)
    image = tf.slice(image, begin, crop_size)
  elif crop_method == "random":
    u = tf.random.stateless_uniform([2], seed=seed)
    begin = tf.cast(tf.cast(tf.stack([h - size, w - size]), tf.float32) * u, tf.int32)
    image = tf.slice(image, tf.concat([begin, [0]], 0), tf.stack([size, size, 3]))
  elif crop_method == "middle":
    begin = tf.stack([(h - size) // 2, (w - size) // 2, 0])
    image = tf.slice(image, begin, tf.stack([size, size, 3]))
  image = _resize(image, [target_image_shape[0], target_image_shape[1]])
  image = tf.clip_by_value(image, 0.0, 1.0)
  image.set_shape(target_image_shape)
  return image


@gin.configurable("train_imagenet_transform", allowlist=["crop_method"])
def train_imagenet_transform(image, target_image_shape, seed,
                             crop_method="distorted"):
  return transform_imagenet_image(image, target_image_shape, crop_method, seed)


@gin.configurable("eval_imagenet_transform", allowlist=["crop_method"])
def eval_imagenet_transform(image, target_image_shape, seed, crop_method="middle"):
  return transform_imagenet_image(image, target_image_shape, crop_method, seed)


def _manual_hint(tfds_name, data_dir):
  if tfds_name.startswith("imagenet2012"):
    return ("ImageNet needs a manual download: put ILSVRC2012_img_train.tar and "
            "ILSVRC2012_img_val.tar (from image-net.org) in a manual dir and run "
            "`tfds build imagenet2012 --data_dir=DIR --manual_dir=MANUAL_DIR`. ")
  if tfds_name.startswith("celeb_a_hq"):
    return ("CelebA-HQ needs a manual download (see the TFDS celeb_a_hq "
            "instructions): run `tfds build %s --data_dir=DIR --manual_dir="
            "MANUAL_DIR`. " % tfds_name)
  return ("On a machine with internet access run `tfds build %s --data_dir=DIR` "
          "(or python -c \"import tensorflow_datasets as tfds; tfds.builder('%s', "
          "data_dir='DIR').download_and_prepare()\"). " % (tfds_name, tfds_name))


def open_tfds_builder(dataset_name, tfds_name, data_dir=None, splits=()):
  """tfds.builder(tfds_name, data_dir) if its prepared files exist, else raises.

  Never downloads. Raises DatasetNotAvailableError naming the dataset, the TFDS
  name/version, the directory searched and what to do.
  """
  if data_dir is None:
    data_dir = base.get_tfds_data_dir()
  try:
    builder = tfds.builder(tfds_name, data_dir=data_dir)
  except Exception as e:  # pylint: disable=broad-except
    raise DatasetNotAvailableError(
        "Dataset %r: cannot open TFDS dataset %r in data dir %r: %s. %s" %
        (dataset_name, tfds_name, data_dir, e, _OFFLINE_HINT)) from e
  version = str(builder.version)
  root = builder.data_dir_root if hasattr(builder, "data_dir_root") else data_dir
  if not builder.is_prepared():
    versions_dir = os.path.dirname(builder.data_dir)
    found = sorted(os.listdir(versions_dir)) if os.path.isdir(versions_dir) else []
    found_msg = (" Found other versions there: %s (this TFDS %s needs %s)." %
                 (found, tfds.__version__, version)) if found else ""
    raise DatasetNotAvailableError(
        "Dataset %r needs the TFDS dataset %r version %s, which is not prepared in "
        "the TFDS data dir %r (looked for %s). Nothing is downloaded.%s\n"
        "To get it: %sThen copy DIR/%s/%s to %s and pass --tfds_data_dir=%s "
        "(or gin data_options.tfds_data_dir).\n%s" %
        (dataset_name, tfds_name, version, root,
         os.path.join(builder.data_dir, "dataset_info.json"), found_msg,
         _manual_hint(tfds_name, root), tfds_name, version,
         os.path.join(str(root), tfds_name, version), root, _OFFLINE_HINT))
  for split in splits:
    try:
      # Reading it raises if the split is missing.
      builder.info.splits[split].num_examples  # noqa: B018  # pylint: disable=pointless-statement
    except Exception as e:  # pylint: disable=broad-except
      raise DatasetNotAvailableError(
          "Dataset %r: the prepared TFDS dataset %r %s in %r has no split %r "
          "(splits: %s)." % (dataset_name, tfds_name, version, builder.data_dir,
                             split, list(builder.info.splits.keys()))) from e
  return builder


class TFDSDataset(base.RecordDatasetSpec):
  """A dataset read from a prepared TFDS dataset (encoded images, decoded lazily)."""

  tfds_name: str | None = None
  image_feature = "image"

  def __init__(self, seed=547):
    super().__init__(seed=seed)
    self._builder = None

  def tfds_split(self, kind):
    return self.train_split if kind == TRAIN else self.eval_split

  @property
  def builder(self):
    if self._builder is None:
      self._builder = open_tfds_builder(self.name, self.tfds_name,
                                        splits=(self.train_split, self.eval_split))
    return self._builder

  def check_available(self):
    """Raises DatasetNotAvailableError unless the data is prepared locally."""
    return self.builder

  def _check_label_files(self):
    """Reads both splits' label files, if any: LabelFileError for missing
    files or a label out of range (record names are checked while the
    pipeline reads, see `_replace_labels`)."""
    for kind in (base.TRAIN, base.EVAL):  # The eval split's only if it has some.
      pattern = label_files.pattern_for_split(
          self.tfds_split(kind), required=(kind == base.TRAIN),
          file_pattern=self.label_file_pattern)
      if pattern is None:
        continue
      _, labels = label_files.read_labels(
          pattern, num_soft_classes=self._num_soft_classes())
      if not self.soft_labels:
        label_files.check_hard_labels(labels, self.num_classes, pattern)

  def _num_records(self, kind):
    return int(self.builder.info.splits[self.tfds_split(kind)].num_examples)

  def _label_pattern(self, kind):
    """The label-file pattern of split `kind`, or None."""
    pattern = label_files.pattern_for_split(
        self.tfds_split(kind), required=(kind == TRAIN or self.soft_labels),
        file_pattern=self.label_file_pattern)
    if self.soft_labels and not pattern:
      raise label_files.LabelFileError(
          f"Dataset {self.name!r} needs soft labels: set gin "
          "replace_labels.file_pattern to label files of float "
          f"[{self.num_classes}] logits.")
    return pattern

  def _raw_records(self, kind, pattern, decoders=None):
    """The split's TFDS records in the order `_records` reads them (with label
    files one file at a time, the order label files follow); images not
    decoded."""
    read_config = tfds.ReadConfig(
        interleave_cycle_length=1 if pattern else tfds.ReadConfig().
        interleave_cycle_length)
    return self.builder.as_dataset(
        split=self.tfds_split(kind), shuffle_files=False,
        read_config=read_config,
        decoders=decoders or {self.image_feature: tfds.decode.SkipDecoding()})

  def _records(self, kind):
    pattern = self._label_pattern(kind)
    ds = self._raw_records(kind, pattern)
    if pattern:
      ds = self._replace_labels(self.tfds_split(kind), ds, pattern)
    return ds

  def _own_class_labels(self):
    """Whether the records have the dataset's own class labels: a ClassLabel
    "label" feature of 2+ classes (an image folder without classes has one)."""
    builder = self.builder
    if builder is None:  # celeb_a_hq_128 read from a folder: unlabelled.
      return False
    features = builder.info.features
    return ("label" in features and
            isinstance(features["label"], tfds.features.ClassLabel) and
            features["label"].num_classes > 1)

  def _subset_population(self):
    """The train split's keys (those the train filter keeps) and own labels,
    in one pass over the records that decodes no image: the "label" feature
    only (tfds PartialDecoding), or every record if a train filter reads the
    image bytes. Label files only bound the split (records past their end are
    never read); their labels are not the classes (see ImageDatasetSpec)."""
    n = self._num_records(TRAIN)
    pattern = self._label_pattern(TRAIN)
    if pattern:
      _, replaced = label_files.read_labels(
          pattern, num_soft_classes=self._num_soft_classes())
      n = min(n, len(replaced))
    labelled = self._own_class_labels()
    if self._train_filter is None and not labelled:
      return np.arange(n, dtype=np.int64), None  # Nothing to read.
    if self._train_filter is None:  # Batched, no per-record map: ~2 s / 50k.
      ds = self._raw_records(TRAIN, pattern, decoders=tfds.decode.PartialDecoding(
          {"label": True})).take(n)
      labels = [b["label"] for b in ds.batch(65536).as_numpy_iterator()]
      labels = np.concatenate(labels) if labels else np.zeros([0], np.int64)
      return np.arange(len(labels), dtype=np.int64), labels.astype(np.int64)
    ds = self._raw_records(TRAIN, pattern).take(n).enumerate()
    ds = ds.filter(lambda key, record: self._train_filter(record))
    ds = ds.map(lambda key, record: (key, record["label"] if labelled else
                                     tf.zeros([], tf.int64)))
    keys, labels = [], []
    for k, y in ds.batch(65536).prefetch(2).as_numpy_iterator():
      keys.append(k)
      labels.append(y)
    keys = np.concatenate(keys) if keys else np.zeros([0], np.int64)
    labels = np.concatenate(labels) if labels else np.zeros([0], np.int64)
    return keys.astype(np.int64), (labels.astype(np.int64) if labelled else None)

  def _num_soft_classes(self):
    return self.num_classes if self.soft_labels else None

  def _name_feature(self):
    """The TFDS feature naming a record ("file_name" or "id"), or None."""
    for key in ("file_name", "id"):
      if key in self.builder.info.features:
        return key
    return None

  def record_names(self, split, num=None):
    """[N] bytes: the names label files must give the split's records, in order
    (the first `num` only, if given)."""
    kind = self.resolve_split(split)
    tfds_split = self.tfds_split(kind)
    key = self._name_feature()
    ds = self.builder.as_dataset(
        split=tfds_split, shuffle_files=False,
        read_config=tfds.ReadConfig(interleave_cycle_length=1),
        decoders={self.image_feature: tfds.decode.SkipDecoding()})
    n = self._num_records(kind) if num is None else min(int(num),
                                                           self._num_records(kind))
    if key is None:
      return np.array([label_files.unnamed_record_name(tfds_split, k).encode()
                       for k in range(n)], dtype=object)
    names = [batch.numpy() for batch in ds.take(n).map(lambda r: r[key]).batch(65536)]
    return np.concatenate(names) if names else np.zeros([0], object)

  def _replace_labels(self, split, ds, pattern):
    """compare_gan's `_replace_labels`: zip the split with its label files."""
    labels = label_files.read_label_records(pattern, self._num_soft_classes())
    key = self._name_feature()

    @tf.autograph.experimental.do_not_convert
    def swap(position, record, new):
      name = (record[key] if key is not None else tf.strings.join(
          [split + "/", tf.strings.as_string(position)]))
      checks = [tf.debugging.assert_equal(
          name, new["file_name"],
          message="replace_labels: file_name mismatch (label files must follow "
          "the unshuffled TFDS order)")]
      if not self.soft_labels:
        checks.append(tf.debugging.assert_greater_equal(
            new["label"], tf.constant(-1, tf.int64),
            message=f"replace_labels: a label in {pattern} is below -1 "
            "(labels must be in [-1, num_classes), -1 = unlabelled)"))
        checks.append(tf.debugging.assert_less(
            new["label"], tf.constant(self.num_classes, tf.int64),
            message=f"replace_labels: a label in {pattern} is >= "
            f"{self.num_classes} (the number of classes)"))
      with tf.control_dependencies(checks):
        record = dict(record)
        record["label"] = tf.identity(new["label"])
      return record
    return tf.data.Dataset.zip((ds.enumerate(), labels)).map(
        lambda keyed, new: swap(keyed[0], keyed[1], new))

  def _decode(self, record):
    return self.builder.info.features[self.image_feature].decode_example(
        record[self.image_feature])

  def _label(self, record, seed):
    del seed
    if self.num_classes is None:
      return tf.constant(0, tf.int32)
    if self.soft_labels:
      return tf.nn.softmax(tf.cast(record["label"], tf.float32))
    return tf.cast(record["label"], tf.int32)

  def _transform(self, image, kind, seed):
    del kind, seed
    return tf.cast(image, tf.float32) / 255.0

  def _parse(self, record, kind, seed):
    image = self._transform(self._decode(record), kind, seed)
    return image, self._label(record, seed)


class MnistDataset(TFDSDataset):
  name = "mnist"
  tfds_name = "mnist"
  image_shape = (28, 28, 1)
  num_classes = 10
  eval_test_samples = 10000


class FashionMnistDataset(MnistDataset):
  name = "fashion-mnist"
  tfds_name = "fashion_mnist"


class Cifar10Dataset(TFDSDataset):
  name = "cifar10"
  tfds_name = "cifar10"
  image_shape = (32, 32, 3)
  num_classes = 10
  eval_test_samples = 10000


class CelebaDataset(TFDSDataset):
  """CelebA: centre crop 160x160, bilinear resize to 64x64, unlabelled."""
  name = "celeb_a"
  tfds_name = "celeb_a"
  image_shape = (64, 64, 3)
  eval_test_samples = 10000

  def _transform(self, image, kind, seed):
    image = tf.image.resize_with_crop_or_pad(image, 160, 160)
    image = _resize(image, [64, 64])
    image.set_shape(self.image_shape)
    return tf.clip_by_value(tf.cast(image, tf.float32) / 255.0, 0.0, 1.0)


class LsunBedroomDataset(TFDSDataset):
  """LSUN bedroom: 99% / 1% of TFDS train; centre crop 128x128 (no resize)."""
  name = "lsun-bedroom"
  tfds_name = "lsun/bedroom"
  image_shape = (128, 128, 3)
  eval_test_samples = 30000
  train_split = "train[:99%]"
  eval_split = "train[99%:]"

  def _transform(self, image, kind, seed):
    image = tf.image.resize_with_crop_or_pad(image, 128, 128)
    image.set_shape(self.image_shape)
    return tf.cast(image, tf.float32) / 255.0


class ImagenetDataset(TFDSDataset):
  """ImageNet at `resolution`; train/eval transforms are gin-configurable."""
  tfds_name = "imagenet2012"
  num_classes = 1000
  eval_test_samples = 50000
  train_split = "train"
  eval_split = "validation"

  def __init__(self, resolution, seed=547, name=None):
    super().__init__(seed=seed)
    self.resolution = resolution
    self.name = name or "imagenet_%d" % resolution
    self.image_shape = (resolution, resolution, 3)

  def _transform(self, image, kind, seed):
    image = tf.image.convert_image_dtype(image, tf.float32)
    fn = train_imagenet_transform if kind == TRAIN else eval_imagenet_transform
    return fn(image, target_image_shape=self.image_shape, seed=seed)


class SizeFilteredImagenetDataset(ImagenetDataset):
  """ImageNet whose train split keeps images with min(H, W) >= threshold."""

  def __init__(self, resolution, threshold, seed=547, name=None):
    super().__init__(resolution, seed=seed,
                     name=name or "imagenet_%d_hq%d" % (resolution, threshold))
    self.threshold = threshold

    def keep(record):
      encoded = record[self.image_feature]
      shape = tf.cond(
          tf.io.is_jpeg(encoded),
          lambda: tf.image.extract_jpeg_shape(encoded),
          lambda: tf.shape(tf.io.decode_image(encoded, channels=3,
                                              expand_animations=False)))
      return tf.minimum(shape[0], shape[1]) >= threshold
    self._train_filter = keep


@gin.configurable("celeb_a_hq", allowlist=["image_dir"])
def celeb_a_hq_image_dir(image_dir=None):
  """gin `celeb_a_hq.image_dir`: folder of CelebA-HQ images (see CelebaHQDataset)."""
  return image_dir


class CelebaHQDataset(TFDSDataset):
  """celeb_a_hq_128 (compare_gan referenced it without defining it).

  Reads, in this order of preference:
  1. a prepared TFDS `celeb_a_hq/128` in the TFDS data dir (manual download; TFDS
     has only a train split: train[:90%] trains, train[90%:] evaluates), or
  2. an image folder: gin `celeb_a_hq.image_dir`, default
     `<tfds data dir>/celeb_a_hq_128`, holding either `train/` and `test/`
     subfolders or the images directly (sorted by name: first 90% train, rest
     test). PNG/JPEG files of any size; they are centre-cropped to a square and
     resized to 128x128 (bilinear).
  Unlabelled (label 0).
  """
  name = "celeb_a_hq_128"
  tfds_name = "celeb_a_hq/128"
  image_shape = (128, 128, 3)
  eval_test_samples = 3000
  train_split = "train[:90%]"
  eval_split = "train[90%:]"
  _EXTENSIONS = (".png", ".jpg", ".jpeg")

  def __init__(self, seed=547):
    super().__init__(seed=seed)
    self._files = None

  def _folder(self):
    folder = celeb_a_hq_image_dir()
    if folder is None:
      root = base.get_tfds_data_dir() or os.path.join(
          os.path.expanduser("~"), "tensorflow_datasets")
      folder = os.path.join(root, "celeb_a_hq_128")
    return folder

  def _list_images(self, folder):
    return sorted(f for f in glob.glob(os.path.join(folder, "*"))
                  if f.lower().endswith(self._EXTENSIONS))

  def _folder_files(self):
    """{TRAIN: [...], EVAL: [...]} from the image folder, or None if absent."""
    folder = self._folder()
    train_dir, test_dir = (os.path.join(folder, "train"),
                           os.path.join(folder, "test"))
    if os.path.isdir(train_dir) and os.path.isdir(test_dir):
      files = {TRAIN: self._list_images(train_dir),
               EVAL: self._list_images(test_dir)}
    else:
      images = self._list_images(folder)
      cut = (len(images) * 9 + 9) // 10
      files = {TRAIN: images[:cut], EVAL: images[cut:]}
    return files if files[TRAIN] and files[EVAL] else None

  def check_available(self):
    if self._builder is not None or self._files is not None:
      return
    try:
      self._builder = open_tfds_builder(self.name, self.tfds_name,
                                        splits=(self.train_split,
                                                self.eval_split))
      return
    except DatasetNotAvailableError as e:
      tfds_error = e
    self._files = self._folder_files()
    if self._files is None:
      raise DatasetNotAvailableError(
          "Dataset 'celeb_a_hq_128' needs CelebA-HQ prepared by hand (it cannot "
          "be downloaded automatically). Either (a) prepare the TFDS dataset "
          "celeb_a_hq/128 (`tfds build celeb_a_hq/128 --data_dir=DIR "
          "--manual_dir=MANUAL_DIR` after the manual download described by TFDS) "
          "and pass --tfds_data_dir=DIR, or (b) put the CelebA-HQ images "
          "(PNG/JPEG) into the folder %r (directly, or in train/ and test/ "
          "subfolders) or set gin celeb_a_hq.image_dir. TFDS said: %s" %
          (self._folder(), tfds_error))

  @property
  def builder(self):
    self.check_available()
    return self._builder

  def _num_records(self, kind):
    self.check_available()
    if self._files is not None:
      return len(self._files[kind])
    return super()._num_records(kind)

  def _records(self, kind):
    self.check_available()
    if self._files is None:
      return super()._records(kind)
    files = tf.data.Dataset.from_tensor_slices(self._files[kind])
    return files.map(lambda f: {"image": tf.io.read_file(f), "file_name": f})

  def _decode(self, record):
    if self._files is None:
      return super()._decode(record)
    return tf.io.decode_image(record["image"], channels=3, expand_animations=False)

  def _transform(self, image, kind, seed):
    image = centre_crop_and_resize(image, 128)
    image.set_shape(self.image_shape)
    return tf.clip_by_value(tf.cast(image, tf.float32) / 255.0, 0.0, 1.0)
