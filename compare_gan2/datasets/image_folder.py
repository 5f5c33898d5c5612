"""`dataset.name = "image_folder"`: your own images, from a folder.

  dataset.name = "image_folder"
  image_folder.path = "/data/my_images"
  image_folder.resolution = 64

Layouts (PNG, JPEG, BMP, GIF, WebP; any size, RGB or not):
- `path/*.png`: unlabelled;
- `path/<class>/*.png`: labelled by sub-folder (classes = sorted folder names);
- either of them inside `path/train/` and `path/test/`: those are the splits.
Without split folders, an image goes to the eval split iff
crc32(its path relative to `path`) % 100 < `image_folder.eval_percent` (10), so
adding images never moves others between splits.

The folder is turned into a TFDS dataset once, by a TFDS builder
(`tfds.core.GeneratorBasedBuilder`, like the builders TFDS ships), in
`<image_folder.prepared_dir>/<folder name>_<fingerprint>` (default prepared_dir:
`<TFDS data dir>/image_folders`), the fingerprint hashing the file list, sizes
and mtimes, so a changed folder is prepared anew. Preparation checks every image and fails
naming the files it cannot read. Training then reads the prepared records like
every other TFDS dataset: deterministic order, stateless block shuffle,
kill-and-resume (base.RecordDatasetSpec). Images are centre-cropped to a square
and resized to `resolution` (bilinear, TF1 semantics) when read, as compare_gan's
CelebA / CelebA-HQ transforms. Label variants and `dataset.labeled_fraction`
work as for the other labelled datasets.

Captions (text-to-image GANs): `image_folder.captions = "captions.tsv"`, a UTF-8
file of one line per image, `<path relative to image_folder.path><TAB><caption>`.
Every image needs exactly one caption (the error lists the images without one
and the lines naming no image). The labels are then the captions' token ids
(int32 [image_folder.caption_length], text/tokenizer.py) over a vocabulary of
every word of the file (most frequent first, ties alphabetical); class
sub-folders are ignored.
"""

import io
import os
import zlib

from etils import epath
import gin
import numpy as np
from PIL import Image
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2 import errors
from compare_gan2.datasets import base
from compare_gan2.datasets import tfds_datasets
from compare_gan2.datasets.base import DatasetNotAvailableError
from compare_gan2.datasets.base import EVAL
from compare_gan2.datasets.base import TRAIN
from compare_gan2.text import tokenizer as tokenizer_lib

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SPLIT_DIRS = {TRAIN: "train", EVAL: "test"}
_TFDS_SPLITS = {TRAIN: "train", EVAL: "test"}
# Formats stored as they are; others (and non-RGB images) are stored as PNG.
_KEPT_FORMATS = ("PNG", "JPEG")


@gin.configurable("image_folder")
def image_folder_options(path=None, resolution=None, eval_percent=10,
                         prepared_dir=None, captions=None, caption_length=16):
  """Gin `image_folder.*`: the folder, the square resolution images are resized
  to, the share of images in the eval split (folders without train/ and test/),
  the directory under which prepared TFDS datasets go, and an optional captions
  file with the captions' token length (see the module docstring)."""
  if not path:
    raise errors.ConfigError(
        'dataset.name = "image_folder" needs gin image_folder.path = "<folder '
        'of images>" (and image_folder.resolution).')
  if resolution is None or isinstance(resolution, bool) or int(resolution) < 1:
    raise errors.ConfigError(
        "image_folder.resolution must be a positive integer (the square size "
        f"images are resized to, e.g. 64), got {resolution!r}.")
  if not 0 < float(eval_percent) < 100:
    raise errors.ConfigError(f"image_folder.eval_percent must be in (0, 100), got "
                             f"{eval_percent!r}.")
  if captions and not os.path.isfile(os.path.expanduser(captions)):
    raise errors.ConfigError(f"image_folder.captions = {captions!r}: no such "
                             "file (one line per image: path<TAB>caption).")
  return (os.path.abspath(os.path.expanduser(path)), int(resolution),
          float(eval_percent), prepared_dir,
          os.path.abspath(os.path.expanduser(captions)) if captions else None,
          int(caption_length))


def read_captions(captions_file, layout):
  """{relative path: caption} of every image of `layout`, from the file.

  Raises DatasetNotAvailableError naming malformed lines, images without a
  caption and captions of no image."""
  captions, bad = {}, []
  with open(captions_file, encoding="utf-8") as f:
    for number, line in enumerate(f, start=1):
      line = line.rstrip("\n")
      if not line.strip():
        continue
      rel, tab, text = line.partition("\t")
      if not tab or not text.strip() or rel in captions:
        bad.append(f"line {number}")
        continue
      captions[os.path.normpath(rel)] = text.strip()
  images = {os.path.normpath(rel) for files in layout["splits"].values()
            for rel, _ in files}
  missing = sorted(images - set(captions))
  unknown = sorted(set(captions) - images)
  problems = []
  if bad:
    problems.append(f"malformed or repeated lines (want path<TAB>caption): "
                    f"{', '.join(bad[:5])}")
  if missing:
    problems.append(f"{len(missing)} image(s) without a caption: "
                    f"{', '.join(missing[:5])}")
  if unknown:
    problems.append(f"{len(unknown)} caption(s) of no image: "
                    f"{', '.join(unknown[:5])}")
  if problems:
    raise DatasetNotAvailableError(
        f"Captions file {captions_file}: {'; '.join(problems)}.")
  return captions


def caption_vocabulary(captions):
  """Every word of the captions, most frequent first, ties alphabetical."""
  counts = {}
  for text in captions.values():
    for word in tokenizer_lib.split_words(text):
      counts[word] = counts.get(word, 0) + 1
  return sorted(counts, key=lambda w: (-counts[w], w))


def _images_in(folder):
  return sorted(f for f in os.listdir(folder) if f.lower().endswith(EXTENSIONS)
                and os.path.isfile(os.path.join(folder, f)))


def _subfolders(folder):
  return sorted(d for d in os.listdir(folder) if not d.startswith(".")
                and os.path.isdir(os.path.join(folder, d)))


def _scan_split(folder, root):
  """([(relative path, class name or None)], labelled) of one split folder."""
  images, classes = _images_in(folder), [
      d for d in _subfolders(folder) if _images_in(os.path.join(folder, d))]
  if images and classes:
    raise DatasetNotAvailableError(
        f"Image folder {folder!r} has images both directly in it ({images[0]}, "
        f"...) and in sub-folders ({classes[0]}/, ...). Put all images in "
        "class sub-folders (labelled) or none (unlabelled).")
  if images:
    return [(os.path.relpath(os.path.join(folder, f), root), None)
            for f in images], False
  files = [(os.path.relpath(os.path.join(folder, c, f), root), c)
           for c in classes for f in _images_in(os.path.join(folder, c))]
  return files, True


def scan(path, eval_percent=10):
  """The folder's layout: {"splits": {TRAIN: [(relpath, class)], EVAL: [...]},
  "classes": [names] or None}. DatasetNotAvailableError if the folder is
  missing, empty or mixes layouts."""
  if not os.path.isdir(path):
    raise DatasetNotAvailableError(
        f"Image folder {path!r} does not exist (gin image_folder.path). Give a "
        "folder of images, or of class sub-folders of images.")
  split_dirs = {k: os.path.join(path, d) for k, d in SPLIT_DIRS.items()}
  if all(os.path.isdir(d) for d in split_dirs.values()):
    scanned = {k: _scan_split(d, path) for k, d in split_dirs.items()}
    if scanned[TRAIN][1] != scanned[EVAL][1] and scanned[EVAL][0]:
      raise DatasetNotAvailableError(
          f"Image folder {path!r}: train/ and test/ must both use class "
          "sub-folders or both hold the images directly.")
    splits = {k: v[0] for k, v in scanned.items()}
    labelled = scanned[TRAIN][1]
  else:
    files, labelled = _scan_split(path, path)
    splits = {TRAIN: [], EVAL: []}
    for item in files:
      crc = zlib.crc32(item[0].replace(os.sep, "/").encode()) % 100
      splits[EVAL if crc < eval_percent else TRAIN].append(item)
  for kind, files in splits.items():
    if not files:
      raise DatasetNotAvailableError(
          f"Image folder {path!r} has no images for the {kind} split (files "
          f"ending in {', '.join(EXTENSIONS)}; train/ and test/ sub-folders, or "
          "images split by image_folder.eval_percent). Add images.")
  classes = sorted({c for files in splits.values() for _, c in files}) \
      if labelled else None
  return {"splits": splits, "classes": classes}


def describe_layout(path, layout):
  """One line on what a scanned folder holds, e.g. "Image folder /data/x: 1200
  images in 3 classes (a, b, c); 1080 for training, 120 for evaluation"."""
  train, test = (len(layout["splits"][k]) for k in (TRAIN, EVAL))
  classes = layout["classes"]
  if classes:
    names = ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")
    what = f"in {len(classes)} classes ({names})"
  else:
    what = "without classes (unlabelled)"
  return (f"Image folder {path}: {train + test} images {what}; {train} for "
          f"training, {test} for evaluation.")


def fingerprint(path, layout, captions=None):
  """crc32 of the file list with sizes and mtimes, and the captions (hex)."""
  crc = 0
  for rel, text in sorted((captions or {}).items()):
    crc = zlib.crc32(f"caption|{rel}|{text}\n".encode(), crc)
  for kind in (TRAIN, EVAL):
    for rel, label in layout["splits"][kind]:
      stat = os.stat(os.path.join(path, rel))
      crc = zlib.crc32(f"{kind}|{rel}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n"
                       .encode(), crc)
  return f"{crc:08x}"


def read_image(path):
  """The image as stored: its bytes if PNG/JPEG RGB, else an RGB uint8 array.

  Raises DatasetNotAvailableError naming the file if it cannot be decoded.
  """
  try:
    with open(path, "rb") as f:
      data = f.read()
    with Image.open(io.BytesIO(data)) as image:
      image.load()
      if image.format in _KEPT_FORMATS and image.mode == "RGB":
        return data
      return np.asarray(image.convert("RGB"))
  except Image.UnidentifiedImageError as e:
    raise DatasetNotAvailableError(
        f"Cannot read image {path!r}: not an image file Pillow can decode. "
        "Remove or replace the file.") from e
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise DatasetNotAvailableError(
        f"Cannot read image {path!r} ({e}). Remove or replace the file.") from e


class ImageFolderBuilder(tfds.core.GeneratorBasedBuilder):
  """A TFDS builder of one image folder (see the module docstring)."""

  VERSION = tfds.core.Version("1.1.0")  # 1.1.0: the "caption" feature.
  # This file; TFDS would find it with importlib_resources, which not every
  # TFDS install has.
  code_path = epath.Path(__file__)

  def __init__(self, folder, layout, captions=None, **kwargs):
    self._folder, self._layout, self._captions = folder, layout, captions
    super().__init__(**kwargs)

  def _info(self):
    classes = self._layout["classes"]
    return tfds.core.DatasetInfo(
        builder=self,
        description=f"Images of {self._folder}",
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(names=classes or ["none"]),
            "file_name": tfds.features.Text(),
            "caption": tfds.features.Text(),
        }))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {_TFDS_SPLITS[k]: self._generate_examples(k) for k in (TRAIN, EVAL)}

  def _generate_examples(self, kind):
    unreadable = []
    for rel, label in self._layout["splits"][kind]:
      try:
        image = read_image(os.path.join(self._folder, rel))
      except DatasetNotAvailableError as e:
        reason = ("not an image file Pillow can decode"
                  if isinstance(e.__cause__, Image.UnidentifiedImageError)
                  else e.__cause__)
        unreadable.append(f"{rel} ({reason})")
        continue
      caption = (self._captions or {}).get(os.path.normpath(rel), "")
      yield rel, {"image": image, "label": label or "none", "file_name": rel,
                  "caption": caption}
    if unreadable:
      raise DatasetNotAvailableError(
          f"Image folder {self._folder!r}: {len(unreadable)} file(s) cannot be "
          f"read as images: {'; '.join(unreadable[:5])}"
          f"{' ...' if len(unreadable) > 5 else ''}. Remove or replace them.")


def _default_prepared_root():
  return os.path.join(base.get_tfds_data_dir() or os.path.join(
      os.path.expanduser("~"), "tensorflow_datasets"), "image_folders")


class ImageFolderDataset(tfds_datasets.TFDSDataset):
  """`image_folder`: the gin-configured folder (see the module docstring)."""

  name = "image_folder"
  train_split = "train"
  eval_split = "test"

  caption_length = None

  def __init__(self, seed=547):
    super().__init__(seed=seed)
    (self.folder, resolution, eval_percent, prepared_dir, captions_file,
     caption_length) = image_folder_options()
    self.image_shape = (resolution, resolution, 3)
    self.layout = scan(self.folder, eval_percent)
    self.num_classes = (len(self.layout["classes"]) if self.layout["classes"]
                        else None)
    self.captions = None
    if captions_file:
      self.captions = read_captions(captions_file, self.layout)
      self.tokenizer = tokenizer_lib.Tokenizer(
          caption_vocabulary(self.captions), caption_length)
      self.caption_length = self.tokenizer.length
      self.num_classes = None
      self._table = self.tokenizer.tf_table()  # Eager: pipelines capture it.
    self.eval_test_samples = len(self.layout["splits"][EVAL])
    tf.get_logger().info("%s", describe_layout(self.folder, self.layout))
    self.prepared_dir = os.path.join(
        prepared_dir or _default_prepared_root(), "%s_%s" % (
            os.path.basename(self.folder.rstrip(os.sep)) or "images",
            fingerprint(self.folder, self.layout, self.captions)))

  @property
  def builder(self):
    if self._builder is None:
      with tfds.core.registered.skip_registration():
        builder = ImageFolderBuilder(self.folder, self.layout, self.captions,
                                     data_dir=self.prepared_dir)
      if not builder.is_prepared():
        tf.get_logger().info("Preparing image folder %s as a TFDS dataset in %s.",
                             self.folder, builder.data_dir)
        builder.download_and_prepare()
      self._builder = builder
    return self._builder

  def _decode(self, record):
    return self.builder.info.features["image"].decode_example(record["image"])

  def _transform(self, image, kind, seed):
    del kind, seed
    size = self.image_shape[0]
    image = tfds_datasets.centre_crop_and_resize(image, size)
    image.set_shape(self.image_shape)
    return tf.clip_by_value(tf.cast(image, tf.float32) / 255.0, 0.0, 1.0)

  def _label(self, record, seed):
    if self.captions is None:
      return super()._label(record, seed)
    return self.tokenizer.tf_encode(record["caption"][None], self._table)[0]

  def _check_element(self, image, label):
    if self.captions is None:
      return super()._check_element(image, label)
    image = tf.ensure_shape(tf.cast(image, tf.float32), self.image_shape)
    return image, tf.ensure_shape(tf.cast(label, tf.int32),
                                  [self.caption_length])
