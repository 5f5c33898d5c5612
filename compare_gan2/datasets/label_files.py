"""Label files: TFRecords of `{file_name: bytes, label: int64}` that replace a
dataset's labels (gin `replace_labels.file_pattern`, compare_gan's format).

Record k of a split's label files describes record k of the unshuffled split;
`file_name` must equal the record's name (its TFDS `file_name` or `id` feature,
or "<split>/<position>" for datasets without one, e.g. mnist and polygons) and is
checked while reading. `label` is a class id, -1 for "unlabelled", or for
soft-labelled datasets float [num_classes] logits.

Reading is compare_gan's (`datasets.py` `_replace_labels`):
`tf.data.Dataset.list_files(pattern, shuffle=False)` (sorted names) then
`interleave(TFRecordDataset, cycle_length=64)` (one record from each open file in
turn), so multi-file label sets written for compare_gan line up unchanged.
`write_label_files` writes that layout: record k goes to file k mod n (n <= 64),
so the round-robin read returns records 0, 1, 2, ... again.
"""

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors

# compare_gan's --data_reading_num_threads: files read in turn by interleave.
CYCLE_LENGTH = 64


class LabelFileError(errors.UserError, ValueError):
  """Label files are missing or do not line up with the dataset."""


@gin.configurable("replace_labels", allowlist=["file_pattern"])
def replace_labels_file_pattern(file_pattern=None):
  """gin `replace_labels.file_pattern`: label files, "{split}" = split name."""
  return file_pattern


def pattern_for_split(split, required, file_pattern=None):
  """The label-file pattern of `split`, or None (no pattern, or an optional
  split without files: the eval split keeps its own labels then).

  `file_pattern`: the dataset spec's own pattern (its `label_file_pattern`; ""
  means none); None falls back to gin `replace_labels.file_pattern`.
  """
  if file_pattern is None:
    file_pattern = replace_labels_file_pattern()
  if not file_pattern:
    return None
  pattern = file_pattern.format(split=split)
  if not required and not tf.io.gfile.glob(pattern):
    return None
  return pattern


def unnamed_record_name(split, position):
  """The name of record `position` of `split` in a dataset without names."""
  return "%s/%d" % (split, position)


def label_spec(num_soft_classes=None):
  """tf.io feature spec of a label record (soft: float [num_soft_classes])."""
  label = (tf.io.FixedLenFeature([], tf.int64) if num_soft_classes is None else
           tf.io.FixedLenFeature([num_soft_classes], tf.float32))
  return {"file_name": tf.io.FixedLenFeature([], tf.string), "label": label}


def read_label_records(file_pattern, num_soft_classes=None, cycle_length=CYCLE_LENGTH):
  """Parsed `{file_name, label}` records of `file_pattern`, in compare_gan's order."""
  if not tf.io.gfile.glob(file_pattern):
    raise LabelFileError(
        f"replace_labels.file_pattern {file_pattern!r} matches no files. Write "
        "label files with compare_gan2.datasets.label_files.write_label_files "
        "(or point the pattern at compare_gan label files; '{split}' is "
        "replaced by the split name).")
  files = tf.data.Dataset.list_files(file_pattern, shuffle=False)
  records = files.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length,
                             block_length=1)
  spec = label_spec(num_soft_classes)
  return records.map(lambda r: tf.io.parse_single_example(r, spec))


def read_labels(file_pattern, expected_names=None, num_soft_classes=None):
  """(names [N] bytes, labels) of label files, as numpy: labels [N] int64, or
  [N, num_soft_classes] float32 logits.

  With `expected_names` (a callable k -> name), record k must be named so.
  """
  names, labels = [], []
  for batch in read_label_records(file_pattern, num_soft_classes).batch(65536):
    names.append(batch["file_name"].numpy())
    labels.append(batch["label"].numpy())
  names = np.concatenate(names) if names else np.zeros([0], object)
  labels = np.concatenate(labels) if labels else np.zeros([0], np.int64)
  if expected_names is not None:
    for k, name in enumerate(names):
      expected = expected_names(k).encode()
      if name != expected:
        raise LabelFileError(
            f"Label files {file_pattern!r}: record {k} is for {name!r}, expected "
            f"{expected!r}. Label files must list the split's records in order "
            "(write them with write_label_files).")
  return names, labels


def check_hard_labels(labels, num_classes, file_pattern, max_records=None):
  """Raises LabelFileError unless `labels` [N] are 1..max_records class ids in
  [-1, num_classes) (-1: unlabelled); the message names the first bad record."""
  labels = np.asarray(labels)
  if not len(labels) or (max_records is not None and len(labels) > max_records):
    bound = "" if max_records is None else f" (at most {max_records})"
    raise LabelFileError(f"Label files {file_pattern!r}: need 1+ records{bound}, "
                         f"got {len(labels)}.")
  bad = np.flatnonzero((labels < -1) | (labels >= num_classes))
  if len(bad):
    raise LabelFileError(
        f"Label files {file_pattern!r}: record {bad[0]} has label "
        f"{labels[bad[0]]}; labels must be in [-1, {num_classes}) (-1 = "
        f"unlabelled). {len(bad)} record(s) are out of range.")


def unnamed_label_table(dataset, split, required, cache, max_records=None):
  """Labels of `split` from label files, for a dataset whose records have no
  names (record k is "<split>/<k>": polygons, mnist_5k), or None.

  Returns int64 [N] class ids or, for a soft-labelled dataset, float32 [N, K]
  logits; `cache` (a dict) keeps them per file pattern. Without a pattern a
  soft-labelled dataset raises (it needs label files); `required` says whether
  the split must have files when the pattern is set.
  """
  pattern = pattern_for_split(split, required=required or dataset.soft_labels,
                              file_pattern=dataset.label_file_pattern)
  if pattern is None:
    if dataset.soft_labels:
      raise LabelFileError(
          f"Dataset {dataset.name!r} needs soft labels: set gin "
          "replace_labels.file_pattern to label files of float "
          f"[{dataset.num_classes}] logits.")
    return None
  if pattern not in cache:
    soft = dataset.num_classes if dataset.soft_labels else None
    _, labels = read_labels(pattern, lambda k: unnamed_record_name(split, k),
                            num_soft_classes=soft)
    if soft:
      if not len(labels) or (max_records is not None and len(labels) > max_records):
        raise LabelFileError(f"Label files {pattern!r} for {dataset.name}: need "
                             f"1..{max_records} records, got {len(labels)}.")
    else:
      check_hard_labels(labels, dataset.num_classes, pattern, max_records)
    cache[pattern] = labels
  return cache[pattern]


class UnnamedRecordLabels:
  """Label files for a dataset spec whose records have no names (polygons,
  mnist_5k): record k of a split is "<split>/<k>" and label files cover the
  split's first N records (the split is then those N). Mixed into an
  ImageDatasetSpec that sets `self._tables = {}`; `_label_record_limit(kind)`
  may bound N."""

  def _split_name(self, kind):
    return self.train_split if kind == "train" else self.eval_split

  def _label_record_limit(self, kind):  # pylint: disable=unused-argument
    return None

  def _label_table(self, kind):
    """Labels of split `kind` from label files (int64 [N], or float logits
    [N, K] for soft labels), or None (see `unnamed_label_table`)."""
    return unnamed_label_table(self, self._split_name(kind), kind == "train",
                               self._tables, self._label_record_limit(kind))

  def _check_label_files(self):
    """Reads (and caches) the label tables of the train split and of the eval
    split if it has files: LabelFileError for missing train files or labels
    out of range (ImageDatasetSpec.check_label_files). A missing eval table is the
    evaluation's concern (training never reads it)."""
    self._label_table("train")
    if pattern_for_split(self._split_name("eval"), required=False,
                         file_pattern=self.label_file_pattern):
      self._label_table("eval")

  def record_names(self, split, num=None):
    """The names label files give records 0..num-1 of `split` ("train/7")."""
    kind = self.resolve_split(split)
    num = self.split_size(kind) if num is None else int(num)
    name = self._split_name(kind)
    return np.array([unnamed_record_name(name, k).encode() for k in range(num)],
                    dtype=object)


def label_file_paths(path_prefix, num_files):
  """`<prefix>-00000-of-0000n.tfrecord`, ...: sorted order = file order."""
  return ["%s-%05d-of-%05d.tfrecord" % (path_prefix, i, num_files)
          for i in range(num_files)]


def _example(name, label):
  feature = {"file_name": tf.train.Feature(
      bytes_list=tf.train.BytesList(value=[name]))}
  label = np.asarray(label)
  if label.ndim == 0:
    feature["label"] = tf.train.Feature(
        int64_list=tf.train.Int64List(value=[int(label)]))
  else:
    feature["label"] = tf.train.Feature(
        float_list=tf.train.FloatList(value=label.astype(np.float32).tolist()))
  return tf.train.Example(features=tf.train.Features(feature=feature))


def write_label_files(path_prefix, names, labels, num_files=1):
  """Writes label files that compare_gan's (and our) reader return in order.

  Args:
    path_prefix: e.g. "labels/train"; read back with "labels/train-*" (or
      "labels/{split}-*" in gin).
    names: [N] record names (str or bytes), in the split's order.
    labels: [N] ints (-1 = unlabelled) or [N, K] float logits.
    num_files: 1..64 files; record k goes to file k mod num_files.

  Returns:
    The paths written.
  """
  names = [n.encode() if isinstance(n, str) else bytes(n) for n in names]
  labels = np.asarray(labels)
  if len(names) != len(labels):
    raise ValueError(f"{len(names)} names but {len(labels)} labels.")
  if labels.ndim == 1 and not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"Hard labels must be integers, got {labels.dtype}.")
  if not 1 <= num_files <= CYCLE_LENGTH:
    raise ValueError(f"num_files must be in 1..{CYCLE_LENGTH} (the reader "
                     f"interleaves {CYCLE_LENGTH} files), got {num_files}.")
  paths = label_file_paths(path_prefix, num_files)
  directory = path_prefix.rsplit("/", 1)[0] if "/" in path_prefix else "."
  tf.io.gfile.makedirs(directory)
  writers = [tf.io.TFRecordWriter(p) for p in paths]
  try:
    for k, (name, label) in enumerate(zip(names, labels)):
      writers[k % num_files].write(_example(name, label).SerializeToString())
  finally:
    for writer in writers:
      writer.close()
  return paths
