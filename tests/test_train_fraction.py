"""Limited data (dataset.train_fraction / dataset.num_train_examples): a fixed,
class-balanced, nested subset of the train split, the same for every seed, the
eval split untouched; on mnist_5k_32, polygons_32, a TFDS dataset and an image
folder made here, with sharding, resumption, labels, errors, run_info and a GAN."""

import os

import gin
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import random_ops
from compare_gan2.datasets import label_files
from compare_gan2.datasets import mnist_5k
from compare_gan2.datasets import subset


def _ctx(pid, num=2):
  return tf.distribute.InputContext(num_input_pipelines=num, input_pipeline_id=pid)


def _stream(spec, n, start=0, ctx=None):
  """[(index, image, label)] of train_examples(start)[:n]."""
  return list(spec.train_examples(start, ctx).take(n).as_numpy_iterator())


def _one_line(error):
  """Whether the message is one line (gin's "In call to configurable" note,
  which the entry points drop, aside)."""
  return len([l for l in str(error).splitlines()
              if not l.strip().startswith("In call to configurable")]) == 1


def _rounded(fraction, n_c):
  return int(np.floor(fraction * n_c + 0.5))


def _check_resumes(spec, n, starts, ctx=None):
  full = _stream(spec, n, ctx=ctx)
  assert [int(i) for i, _, _ in full] == list(range(n))
  for start in starts:
    resumed = _stream(spec, n - start, start, ctx)
    assert len(resumed) == n - start
    for (i, x, y), (j, x2, y2) in zip(resumed, full[start:]):
      assert i == j
      np.testing.assert_array_equal(x, x2)
      np.testing.assert_array_equal(y, y2)
  return full


# ------------------------------------------------------------------ the rule
def test_rule_per_class_nested_and_counts():
  rng = np.random.default_rng(0)
  keys = np.arange(1000, dtype=np.int64)
  labels = rng.choice(4, size=1000, p=[0.5, 0.3, 0.15, 0.05])
  sizes = np.bincount(labels)
  hashes = subset.order_hash(keys)
  # The hash is random_ops.hash_uniform's (its top 24 bits), and a bijection.
  u = random_ops.hash_uniform(subset.SALT, subset.STREAM, tf.constant(keys)).numpy()
  np.testing.assert_array_equal(u, (hashes >> 8) / 2.0**24)
  assert len(set(hashes.tolist())) == 1000
  previous = set()
  for f in (0.05, 0.1, 0.2, 0.35, 0.5, 1.0):
    chosen = subset.choose("d", keys, labels, fraction=f)
    kept = np.isin(keys, chosen.keys)
    for c in range(4):
      members = keys[labels == c]
      quota = _rounded(f, sizes[c])
      assert (labels[kept] == c).sum() == quota == chosen.classes[c][0]
      # The quota members with the smallest hashes.
      smallest = members[np.argsort(hashes[members])[:quota]]
      assert set(smallest) == set(keys[kept & (labels == c)])
    assert previous <= set(chosen.keys.tolist())
    previous = set(chosen.keys.tolist())
  assert subset.choose("d", keys, labels, fraction=1.0).size == 1000
  # Counts: exactly m, about m * n_c / n per class, nested, and a fraction's
  # subset is the count of its size.
  previous = set()
  for m in (11, 20, 101, 333, 999, 1000):
    chosen = subset.choose("d", keys, labels, count=m)
    assert chosen.size == m and previous <= set(chosen.keys.tolist())
    previous = set(chosen.keys.tolist())
    per_class = np.bincount(labels[np.isin(keys, chosen.keys)], minlength=4)
    assert np.all(np.abs(per_class - m * sizes / 1000) <= 1)
  by_fraction = subset.choose("d", keys, labels, fraction=0.3)
  np.testing.assert_array_equal(
      subset.choose("d", keys, labels, count=by_fraction.size).keys,
      by_fraction.keys)
  # Unlabelled: the smallest hashes overall.
  flat = subset.choose("d", keys, None, fraction=0.25)
  np.testing.assert_array_equal(flat.keys, np.sort(np.argsort(hashes)[:250]))
  assert subset.choose("d", keys, None, count=7).keys.tolist() == sorted(
      np.argsort(hashes)[:7].tolist())


def test_keys_of_hashes_walks_the_hash_order():
  keys = np.array([0, 5, 2**31 - 1, 2**31, 2**32 - 1], np.int64)
  np.testing.assert_array_equal(subset.keys_of_hashes(subset.order_hash(keys)),
                                keys)
  walked = subset.keys_of_hashes(np.arange(64, dtype=np.uint64))
  np.testing.assert_array_equal(subset.order_hash(walked), np.arange(64))


# ----------------------------------------------------------------- mnist_5k
def _mnist(**kwargs):
  return datasets.get_dataset(name="mnist_5k_32", **kwargs)


def _train_labels_and_images():
  images, labels = _mnist().split_arrays("train")
  return images, labels


def test_mnist_deterministic_seed_free_balanced_nested():
  _, labels = _train_labels_and_images()
  sizes = np.bincount(labels)
  a = _mnist(train_fraction=0.1).train_subset()
  b = _mnist(train_fraction=0.1, seed=12345).train_subset()
  np.testing.assert_array_equal(a.keys, b.keys)       # Two specs, two seeds.
  assert a.size == sum(_rounded(0.1, n) for n in sizes) == 450
  # Against a count of the labels load("train") yields.
  loaded = np.array([y for _, y in _mnist(train_fraction=0.1).load("train")
                     .as_numpy_iterator()])
  np.testing.assert_array_equal(np.bincount(loaded, minlength=10),
                                [_rounded(0.1, n) for n in sizes])
  np.testing.assert_array_equal(loaded, labels[a.keys])
  bigger = _mnist(train_fraction=0.2).train_subset()
  assert set(a.keys) < set(bigger.keys)
  counted = _mnist(num_train_examples=45).train_subset()
  assert counted.size == 45 and set(counted.keys) <= set(a.keys)
  # Equal classes: 4 each, one more for the 5 first (ties: smaller label).
  assert np.bincount(labels[counted.keys]).tolist() == [5] * 5 + [4] * 5


def test_mnist_eval_split_unchanged_and_stream_from_the_subset():
  spec = _mnist(train_fraction=0.1)
  plain = _mnist()
  for (x, y), (x2, y2) in zip(spec.load("test").as_numpy_iterator(),
                              plain.load("test").as_numpy_iterator()):
    assert y == y2
    np.testing.assert_array_equal(x, x2)
  assert sum(1 for _ in spec.load("test")) == 500
  images, _ = _train_labels_and_images()
  keys = spec.train_subset().keys
  allowed = {images[k].tobytes(): k for k in keys}
  full = _check_resumes(spec, 905, (449, 451, 903))
  seen = [allowed[(x[..., 0] * 255).round().astype(np.uint8)[..., None].tobytes()]
          for _, x, _ in full]
  assert sorted(seen[:450]) == sorted(keys) == sorted(seen[450:900])
  assert seen[:450] != seen[450:900]
  # Two input pipelines split the subset: their first epochs are it, once.
  shares = []
  for pid in (0, 1):
    ex = _stream(spec, 225, ctx=_ctx(pid))
    shares.append([allowed[(x[..., 0] * 255).round().astype(np.uint8)[..., None]
                           .tobytes()] for _, x, _ in ex])
  assert sorted(shares[0] + shares[1]) == sorted(keys)
  _check_resumes(spec, 300, (224, 226), ctx=_ctx(1))


def test_mnist_with_labeled_fraction_and_label_files(tmp_path):
  """labeled_fraction applies inside the subset; label files change the labels
  (here all of them) but not the subset, chosen by the digits' own classes."""
  spec = _mnist(train_fraction=0.1, labeled_fraction=0.5)
  keys = spec.train_subset().keys
  _, labels = _train_labels_and_images()
  got = np.array([y for _, y in spec.load("train").as_numpy_iterator()])
  hidden = ~spec.is_labeled(tf.constant(keys)).numpy()
  np.testing.assert_array_equal(got, np.where(hidden, -1, labels[keys]))
  only = datasets.get_dataset(name="labeled_only_mnist_5k_32",
                              train_fraction=0.1, labeled_fraction=0.5)
  assert sorted(only._train_keys(None).tolist()) == sorted(  # pylint: disable=protected-access
      keys[~hidden].tolist())
  names = _mnist().record_names("train", num=3000)
  label_files.write_label_files(str(tmp_path / "lf" / "train"), names,
                                np.zeros(3000, np.int64))
  relabelled = _mnist(train_fraction=0.1).with_label_files(
      str(tmp_path / "lf" / "{split}-*"))
  relabelled.check_label_files()
  expected = subset.choose("m", np.arange(3000), labels[:3000], fraction=0.1)
  np.testing.assert_array_equal(relabelled.train_subset().keys, expected.keys)
  assert {int(y) for _, _, y in _stream(relabelled, 50)} == {0}


def test_evaluation_reads_the_hidden_labels_of_the_subset():
  """The D readout's unlabelled training images are the subset's examples whose
  label labeled_fraction hides, with their true labels."""
  from compare_gan2.evaluation import evaluator  # pylint: disable=g-import-not-at-top
  spec = _mnist(train_fraction=0.1, labeled_fraction=0.5)
  keys = spec.train_subset().keys
  images, labels = _train_labels_and_images()
  hidden = keys[~spec.is_labeled(tf.constant(keys)).numpy()]
  batches, got = evaluator._unlabelled_train_images(spec, 1000, 64)  # pylint: disable=protected-access
  np.testing.assert_array_equal(got, labels[hidden])
  np.testing.assert_allclose(np.concatenate(batches)[..., 0],
                             images[hidden][..., 0] / 255.0, atol=1e-6)


# ------------------------------------------------------------------ polygons
def test_polygons_count_balanced_stream_and_shards():
  spec = datasets.get_dataset(name="polygons_32", num_train_examples=62)
  again = datasets.get_dataset(name="polygons_32", num_train_examples=62)
  keys = spec.train_subset().keys
  np.testing.assert_array_equal(keys, again.train_subset().keys)
  labels = np.array([y for _, y in spec.load("train").as_numpy_iterator()])
  assert np.bincount(labels).tolist() == [11, 11, 10, 10, 10, 10]
  # Each class's members are its images with the smallest hashes among ids
  # below the largest chosen hash (a walk of the hash order).
  hashes = subset.order_hash(keys)
  walked = subset.keys_of_hashes(np.arange(int(hashes.max()) + 1, dtype=np.uint64))
  walked = walked[walked < 2**31]
  shapes = spec.train_shapes(walked)
  for c in range(6):
    assert set(walked[shapes == c][:np.bincount(labels)[c]]) == set(
        keys[labels == c])
  assert set(datasets.get_dataset(name="polygons_32", num_train_examples=30)
             .train_subset().keys) < set(keys)
  images = {x.tobytes(): k for (x, _), k in zip(
      spec.load("train").as_numpy_iterator(), keys)}
  full = _check_resumes(spec, 124, (1, 63))
  seen = [images[x.tobytes()] for _, x, _ in full]
  assert sorted(seen[:62]) == sorted(keys) == sorted(seen[62:124])
  shares = [[images[x.tobytes()] for _, x, _ in _stream(spec, 31, ctx=_ctx(pid))]
            for pid in (0, 1)]
  assert sorted(shares[0] + shares[1]) == sorted(keys)
  # The eval split is untouched.
  plain = datasets.get_dataset(name="polygons_32")
  for (x, y), (x2, y2) in zip(spec.load("test").take(32).as_numpy_iterator(),
                              plain.load("test").take(32).as_numpy_iterator()):
    assert y == y2
    np.testing.assert_array_equal(x, x2)


def test_polygons_fraction_with_label_files(tmp_path):
  """Label files make the split finite (their first N images): a fraction
  then works, stratified by the images' shapes, not by the files' labels."""
  plain = datasets.get_dataset(name="polygons_32")
  n = 300
  label_files.write_label_files(str(tmp_path / "lf" / "train"),
                                plain.record_names("train", num=n),
                                np.arange(n) % 2)
  spec = datasets.get_dataset(name="polygons_32", train_fraction=0.25)
  spec.with_label_files(str(tmp_path / "lf" / "{split}-*"))
  shapes = plain.train_shapes(np.arange(n))
  chosen = spec.train_subset()
  assert np.bincount(shapes[chosen.keys], minlength=6).tolist() == [
      _rounded(0.25, s) for s in np.bincount(shapes, minlength=6)]
  assert chosen.keys.max() < n
  got = [int(y) for _, _, y in _stream(spec, 40)]
  assert set(got) <= {0, 1}
  assert sorted(spec.train_subset().keys % 2) == sorted(
      y for _, y in spec.load("train").as_numpy_iterator())


def test_captioned_polygons_count():
  """captioned_polygons_* (captions as labels) balance the subset by shape."""
  spec = datasets.get_dataset(name="captioned_polygons_32", num_train_examples=12)
  keys = spec.train_subset().keys
  assert np.bincount(spec.train_shapes(keys)).tolist() == [2] * 6
  full = _check_resumes(spec, 26, (13,))
  images = {x.tobytes() for x, _ in spec.load("train").as_numpy_iterator()}
  assert len(images) == 12 and {x.tobytes() for _, x, _ in full} == images
  assert full[0][2].shape == (spec.caption_length,)


# ---------------------------------------------------------------------- TFDS
TFDS_TRAIN = 90
TFDS_LABELS = np.array([0] * 45 + [1] * 30 + [2] * 15)[
    np.random.default_rng(1).permutation(90)]


def _write_cifar10(data_dir):
  """A prepared TFDS cifar10 of 90 train / 10 test images; pixel (0, 0, 0) of
  image i is i (its identity); classes of 45, 30 and 15 images."""
  builder = tfds.builder("cifar10", data_dir=data_dir)
  tf.io.gfile.makedirs(builder.data_dir)
  infos = []
  for split, n in (("train", TFDS_TRAIN), ("test", 10)):
    template = tfds.core.ShardedFileTemplate(
        data_dir=builder.data_dir, dataset_name=builder.name, split=split,
        filetype_suffix="tfrecord")
    with tf.io.TFRecordWriter(os.fspath(template.sharded_filepath(
        shard_index=0, num_shards=1))) as writer:
      for i in range(n):
        image = np.full((32, 32, 3), 200, np.uint8)
        image[0, 0, 0] = i
        label = int(TFDS_LABELS[i]) if split == "train" else i % 10
        writer.write(builder.info.features.serialize_example(
            {"id": f"{split}_{i}", "image": image, "label": label}))
    infos.append(tfds.core.SplitInfo(name=split, shard_lengths=[n], num_bytes=0,
                                     filename_template=template))
  builder.info.set_splits(tfds.core.SplitDict(infos))
  builder.info.write_to_directory(builder.data_dir)


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
  d = str(tmp_path_factory.mktemp("tfds"))
  _write_cifar10(d)
  return d


@pytest.fixture(autouse=True)
def _reset_data_options():
  yield
  datasets.set_tfds_data_dir(None)
  datasets.set_shuffle_buffer_size(None)
  gin.clear_config()


def _ids(examples):
  return [int(round(x[0, 0, 0] * 255)) for x in examples]


def test_tfds_subset(tfds_dir, tmp_path):
  datasets.set_tfds_data_dir(tfds_dir)
  datasets.set_shuffle_buffer_size(8)
  spec = datasets.get_dataset(name="cifar10", train_fraction=0.2, seed=4)
  spec.check_label_files()  # Chooses the subset (builder.build_context).
  keys = spec.train_subset().keys
  np.testing.assert_array_equal(
      keys, datasets.get_dataset(name="cifar10", train_fraction=0.2,
                                 seed=99).train_subset().keys)
  assert np.bincount(TFDS_LABELS[keys]).tolist() == [9, 6, 3]
  np.testing.assert_array_equal(keys, subset.choose("c", np.arange(90),
                                                    TFDS_LABELS, 0.2).keys)
  assert set(keys) < set(datasets.get_dataset(
      name="cifar10", train_fraction=0.5).train_subset().keys)
  loaded = list(spec.load("train").as_numpy_iterator())
  assert _ids(x for x, _ in loaded) == keys.tolist()
  assert [int(y) for _, y in loaded] == TFDS_LABELS[keys].tolist()
  plain = datasets.get_dataset(name="cifar10")
  assert _ids(x for x, _ in spec.load("test").as_numpy_iterator()) == _ids(
      x for x, _ in plain.load("test").as_numpy_iterator()) == list(range(10))
  assert spec._epoch_size(None) == 18  # pylint: disable=protected-access
  full = _check_resumes(spec, 40, (8, 19))
  seen = _ids(x for _, x, _ in full)
  assert sorted(seen[:18]) == sorted(keys) == sorted(seen[18:36])
  assert seen[:18] != seen[18:36]
  shares = [_ids(x for _, x, _ in _stream(spec, 9, ctx=_ctx(pid)))
            for pid in (0, 1)]
  assert sorted(shares[0] + shares[1]) == sorted(keys)
  assert sorted(shares[0]) == keys[0::2].tolist()
  _check_resumes(spec, 20, (10,), ctx=_ctx(1))
  # labeled_only inside the subset: the filtered stream (unknown epoch size).
  only = datasets.get_dataset(name="labeled_only_cifar10", train_fraction=0.2,
                              labeled_fraction=0.5)
  labelled = keys[only.is_labeled(tf.constant(keys)).numpy()]
  got = _ids(x for _, x, _ in _check_resumes(only, 2 * len(labelled), (3,)))
  assert sorted(got[:len(labelled)]) == sorted(labelled)
  # Label files replace the labels, not the subset.
  names = [f"train_{i}".encode() for i in range(TFDS_TRAIN)]
  label_files.write_label_files(str(tmp_path / "lf" / "train"), names,
                                np.full(TFDS_TRAIN, -1))
  gin.parse_config(f"replace_labels.file_pattern = "
                   f"{str(tmp_path / 'lf' / '{split}-*')!r}")
  relabelled = datasets.get_dataset(name="cifar10", num_train_examples=18)
  np.testing.assert_array_equal(relabelled.train_subset().keys, keys)
  assert {int(y) for _, y in relabelled.load("train").as_numpy_iterator()} == {-1}


# -------------------------------------------------------------- image folder
def _write_folder(root):
  """train/ and test/ with classes a, b, c of 12, 8, 4 train images; image i
  of the train split is a uniform grey of level 10 * i (its identity)."""
  level = 0
  for cls, n in (("a", 12), ("b", 8), ("c", 4)):
    for split, count in (("train", n), ("test", 2)):
      os.makedirs(os.path.join(root, split, cls), exist_ok=True)
      for i in range(count):
        value = level if split == "train" else 255
        Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(
            os.path.join(root, split, cls, f"{i:02d}.png"))
        level += 10 if split == "train" else 0


def test_image_folder_subset(tmp_path):
  _write_folder(str(tmp_path / "imgs"))
  gin.parse_config("\n".join([
      'dataset.name = "image_folder"', f'image_folder.path = "{tmp_path / "imgs"}"',
      "image_folder.resolution = 8",
      f'image_folder.prepared_dir = "{tmp_path / "prepared"}"',
      "dataset.train_fraction = 0.5"]))
  spec = datasets.get_dataset()
  spec.check_label_files()
  chosen = spec.train_subset()
  assert chosen.classes == {0: (6, 12), 1: (4, 8), 2: (2, 4)}
  gin.parse_config("dataset.seed = 77")
  np.testing.assert_array_equal(datasets.get_dataset().train_subset().keys,
                                chosen.keys)
  levels = lambda xs: sorted(int(round(x[0, 0, 0] * 255)) for x in xs)  # noqa: E731
  loaded = list(spec.load("train").as_numpy_iterator())
  assert np.bincount([y for _, y in loaded]).tolist() == [6, 4, 2]
  full = _check_resumes(spec, 30, (1, 11, 12, 13))
  assert levels(x for _, x, _ in full[:12]) == levels(x for x, _ in loaded)
  assert levels(x for _, x, _ in full[12:24]) == levels(x for x, _ in loaded)
  assert len(list(spec.load("test"))) == 6


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    (dict(train_fraction=0.1, num_train_examples=10), "not both"),
    (dict(train_fraction=0.0), r"\(0, 1\]"),
    (dict(train_fraction=1.5), r"\(0, 1\]"),
    (dict(train_fraction=-0.1), r"\(0, 1\]"),
    (dict(train_fraction="half"), r"\(0, 1\]"),
    (dict(num_train_examples=0), ">= 1"),
    (dict(num_train_examples=2.5), ">= 1"),
    (dict(num_train_examples=True), ">= 1"),
])
def test_bad_options(kwargs, message):
  with pytest.raises(errors.ConfigError, match=message) as e:
    _mnist(**kwargs)
  assert _one_line(e.value)


@pytest.mark.parametrize("name, kwargs, message", [
    ("mnist_5k_32", dict(num_train_examples=4501),
     r"num_train_examples = 4501 is larger than the train split of mnist_5k_32 "
     r"\(4500 examples\)"),
    ("mnist_5k_32", dict(train_fraction=0.001),
     r"keeps no example of 10 of the 10 classes .* train_fraction >= 0.00111112\.$"),
    ("mnist_5k_32", dict(num_train_examples=5),
     r"keeps no example of 5 of the 10 classes .*num_train_examples >= 10"),
    ("polygons_32", dict(num_train_examples=4),
     r"no example of 2 of the 6 classes.*>= 6"),
    ("polygons_32", dict(train_fraction=0.1),
     "2147483648 generated images.*num_train_examples"),
    ("polygons_32", dict(num_train_examples=2**31 + 1), "larger than"),
])
def test_subsets_that_cannot_be(name, kwargs, message):
  with pytest.raises(errors.ConfigError, match=message) as e:
    datasets.get_dataset(name=name, **kwargs).check_label_files()
  assert _one_line(e.value)


def test_empty_class_error_names_the_fraction_that_works():
  keys = np.arange(110)
  labels = np.array([0] * 100 + [1] * 10)
  with pytest.raises(errors.ConfigError, match=r"1 of the 2 classes of d \(class 1;.*>= 0.05\.$"):
    subset.choose("d", keys, labels, fraction=0.04)
  assert subset.choose("d", keys, labels, fraction=0.05).classes == {
      0: (5, 100), 1: (1, 10)}
  # Priorities (r + 1/2) / n_c: 0.005, ..., 0.045 of class 0, then 0.05.
  with pytest.raises(errors.ConfigError, match=r"1 of the 2 classes of d \(class 1\): use num_train_examples >= 6\.$"):
    subset.choose("d", keys, labels, count=5)
  assert subset.choose("d", keys, labels, count=6).classes == {0: (5, 100),
                                                               1: (1, 10)}


def test_s2gan_pipeline_refuses_a_training_subset():
  from compare_gan2.s2gan import pipeline  # pylint: disable=g-import-not-at-top
  gin.parse_config('dataset.name = "mnist_5k_32"\ndataset.train_fraction = 0.5')
  with pytest.raises(errors.ConfigError, match="s2gan.num_train_images"):
    pipeline.labelled_dataset_spec()


# ------------------------------------------------------- GAN and run_info
def test_gan_trains_on_the_subset_and_run_info_records_it(tmp_path):
  import tf_test_utils  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2 import run_info  # pylint: disable=g-import-not-at-top
  from compare_gan2.training import runner  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      'dataset.name = "mnist_5k_32"', "dataset.train_fraction = 0.1",
      "options.training_steps = 2"])
  ctx = builder.build_context(str(tmp_path))
  assert ctx.dataset.train_subset().size == 450
  assert runner.schedule_train(ctx) == 2
  recorded = run_info.read(str(tmp_path))["dataset"]["train_subset"]
  assert recorded == {"train_fraction": 0.1, "num_train_examples": None,
                      "train_split_size": 4500, "train_subset_size": 450,
                      "stratified": True}
  gin.clear_config()
  assert run_info.describe_dataset(_mnist())["train_subset"] is None
  # A subset that cannot be is refused before the model directory exists.
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      'dataset.name = "mnist_5k_32"', "dataset.num_train_examples = 99999"])
  with pytest.raises(errors.ConfigError, match="larger than"):
    builder.build_context(str(tmp_path / "never"))
  assert not os.path.exists(tmp_path / "never")
  assert mnist_5k.NUM_CLASSES == 10
