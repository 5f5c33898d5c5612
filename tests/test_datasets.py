"""Dataset registry, gin binding, and offline TFDS loading on self-made data."""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from compare_gan2 import datasets
from compare_gan2.datasets import base
from compare_gan2.datasets import label_files
from compare_gan2.datasets import tfds_datasets


def write_tfds_dataset(tfds_name, data_dir, splits, example_fn):
  """Writes a tiny prepared TFDS dataset (real builder, our records), offline.

  Args:
    tfds_name: e.g. "cifar10" or "lsun/bedroom".
    data_dir: the TFDS data dir to write into.
    splits: {split name: number of examples}.
    example_fn: (split, i) -> example dict matching the builder's features.
  """
  builder = tfds.builder(tfds_name, data_dir=data_dir)
  tf.io.gfile.makedirs(builder.data_dir)
  infos = []
  for split, n in splits.items():
    template = tfds.core.ShardedFileTemplate(
        data_dir=builder.data_dir, dataset_name=builder.name, split=split,
        filetype_suffix="tfrecord")
    path = template.sharded_filepath(shard_index=0, num_shards=1)
    with tf.io.TFRecordWriter(os.fspath(path)) as writer:
      for i in range(n):
        writer.write(builder.info.features.serialize_example(example_fn(split, i)))
    infos.append(tfds.core.SplitInfo(name=split, shard_lengths=[n], num_bytes=0,
                                     filename_template=template))
  builder.info.set_splits(tfds.core.SplitDict(infos))
  builder.info.write_to_directory(builder.data_dir)


def _gradient_image(h, w, c, offset):
  """Deterministic uint8 image whose pixel (i, j) encodes its position."""
  i = np.arange(h)[:, None, None]
  j = np.arange(w)[None, :, None]
  k = np.arange(c)[None, None, :]
  return ((i + 2 * j + 50 * k + offset) % 256).astype(np.uint8)


@pytest.fixture(autouse=True)
def _reset_data_options():
  datasets.set_tfds_data_dir(None)
  datasets.set_shuffle_buffer_size(None)
  yield
  datasets.set_tfds_data_dir(None)
  datasets.set_shuffle_buffer_size(None)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  d = str(tmp_path_factory.mktemp("tfds"))
  write_tfds_dataset(
      "mnist", d, {"train": 20, "test": 6},
      lambda s, i: {"image": _gradient_image(28, 28, 1, i),
                    "label": i % 10})
  write_tfds_dataset(
      "cifar10", d, {"train": 37, "test": 5},
      lambda s, i: {"id": "%s_%d" % (s, i),
                    "image": _gradient_image(32, 32, 3, i),
                    "label": i % 10})
  celeb_features = tfds.builder("celeb_a", data_dir=d).info.features

  def celeb_example(split, i):
    return {"image": _gradient_image(218, 178, 3, i),
            "landmarks": {k: 1 for k in celeb_features["landmarks"].keys()},
            "attributes": {k: False for k in celeb_features["attributes"].keys()},
            "identity": {"Identity_No": i}}
  write_tfds_dataset("celeb_a", d, {"train": 4, "validation": 2, "test": 3},
                     celeb_example)
  write_tfds_dataset(
      "lsun/bedroom", d, {"train": 100},
      lambda s, i: {"id": "%d" % i, "image": _gradient_image(150, 200, 3, i)})
  sizes = [(300, 400), (450, 420), (200, 150), (500, 600)]
  write_tfds_dataset(
      "imagenet2012", d, {"train": 4, "validation": 2},
      lambda s, i: {"file_name": "%s_%d.JPEG" % (s, i),
                    "image": _gradient_image(*sizes[i], 3, i),
                    "label": 10 * i})
  return d


def test_registry_names():
  expected = {"mnist", "fashion-mnist", "cifar10", "celeb_a", "lsun-bedroom",
              "imagenet_64", "imagenet_128", "imagenet_256", "imagenet_512",
              "imagenet_512_hq400", "soft_labeled_imagenet_128",
              "single_class_imagenet_128", "random_class_imagenet_128",
              "labeled_only_imagenet_128", "celeb_a_hq_128", "polygons_32",
              "polygons_64", "polygons_128", "polygons_256"}
  assert expected <= set(datasets.dataset_names())
  for name in expected:
    spec = datasets.get_dataset(name=name, seed=3)
    assert spec.name == name
    assert spec.seed == 3
    assert len(spec.image_shape) == 3
    assert spec.eval_test_samples > 0
  assert datasets.get_dataset(name="cifar10").image_shape == (32, 32, 3)
  assert datasets.get_dataset(name="celeb_a").num_classes is None
  assert datasets.get_dataset(name="single_class_imagenet_128").num_classes == 1
  assert datasets.get_dataset(name="imagenet_256").image_shape == (256, 256, 3)
  assert datasets.get_dataset(name="lsun-bedroom").eval_test_samples == 30000


def test_unknown_name():
  with pytest.raises(ValueError, match="polygons_32") as e:
    datasets.get_dataset(name="no_such_dataset")
  assert "cifar10" in str(e.value) and "no_such_dataset" in str(e.value)


def test_gin_binding():
  gin.parse_config("dataset.name = 'polygons_64'\ndataset.seed = 11")
  spec = datasets.get_dataset()
  assert spec.name == "polygons_64" and spec.seed == 11
  assert spec.image_shape == (64, 64, 3)


def test_missing_data_error(tmp_path):
  datasets.set_tfds_data_dir(str(tmp_path))
  spec = datasets.get_dataset(name="cifar10")
  with pytest.raises(datasets.DatasetNotAvailableError):
    spec.check_available()
  with pytest.raises(datasets.DatasetNotAvailableError) as e:
    spec.load("test")
  msg = str(e.value)
  assert isinstance(e.value, ValueError)
  for part in ("'cifar10'", "3.0.2", str(tmp_path), "tfds build cifar10",
               "--tfds_data_dir", "polygons_32"):
    assert part in msg, (part, msg)
  spec = datasets.get_dataset(name="imagenet_128")
  with pytest.raises(datasets.DatasetNotAvailableError, match="ILSVRC2012"):
    spec.train_examples()
  with pytest.raises(datasets.DatasetNotAvailableError, match="celeb_a_hq_128"):
    datasets.get_dataset(name="celeb_a_hq_128").load("train")


def _tfds_image(data_dir, tfds_name, split, k):
  """Record k of a split as TFDS itself decodes it (some datasets store JPEG)."""
  ds = tfds.builder(tfds_name, data_dir=data_dir).as_dataset(
      split=split, shuffle_files=False)
  return next(iter(ds.skip(k)))["image"].numpy()


def _first(ds, n):
  return list(ds.take(n).as_numpy_iterator())


def test_mnist_and_cifar(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  mnist = datasets.get_dataset(name="mnist")
  examples = _first(mnist.load("test"), 10)
  assert len(examples) == 6
  image, label = examples[3]
  assert image.dtype == np.float32 and image.shape == (28, 28, 1)
  np.testing.assert_allclose(image, _gradient_image(28, 28, 1, 3) / 255.0, atol=1e-6)
  assert label.dtype == np.int32 and label == 3

  gin.parse_config("data_options.tfds_data_dir = %r" % data_dir)
  datasets.set_tfds_data_dir(None)  # gin alone is enough
  cifar = datasets.get_dataset(name="cifar10")
  train = _first(cifar.load("train"), 100)
  assert len(train) == 37
  assert [int(l) for _, l in train[:12]] == [i % 10 for i in range(12)]
  # Record k, scaled to [0, 1] (TFDS stores cifar10 as lossless PNG).
  for k in (0, 17, 36):
    np.testing.assert_allclose(train[k][0], _gradient_image(32, 32, 3, k) / 255.0,
                               atol=1e-6)


def test_celeb_a_crop_resize(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  spec = datasets.get_dataset(name="celeb_a")
  (image, label), = _first(spec.load("test"), 1)
  assert image.shape == (64, 64, 3) and image.dtype == np.float32
  assert label == 0
  # TFDS stores celeb_a as JPEG: compare with TFDS's own decoding.
  raw = _tfds_image(data_dir, "celeb_a", "test", 0)
  assert raw.shape == (218, 178, 3)
  raw = raw[29:189, 9:169]   # centre 160x160
  expected = tf.compat.v1.image.resize(raw, [64, 64]).numpy() / 255.0
  np.testing.assert_allclose(image, expected, atol=1e-5)


def test_lsun_split_and_crop(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  spec = datasets.get_dataset(name="lsun-bedroom")
  train = _first(spec.load("train"), 1000)
  test = _first(spec.load("test"), 1000)
  assert len(train) == 99 and len(test) == 1
  image, label = test[0]
  assert image.shape == (128, 128, 3) and label == 0
  raw = _tfds_image(data_dir, "lsun/bedroom", "train", 99)[11:139, 36:164]
  np.testing.assert_allclose(image, raw / 255.0, atol=1e-6)


def test_imagenet_transforms(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  spec = datasets.get_dataset(name="imagenet_64")
  ev = _first(spec.load("validation"), 10)
  assert len(ev) == 2
  image, label = ev[0]
  assert image.shape == (64, 64, 3) and label == 0 and ev[1][1] == 10
  raw = _tfds_image(data_dir, "imagenet2012", "validation", 0)
  assert raw.shape == (300, 400, 3)
  raw = raw[:, 50:350] / 255.0       # middle crop
  expected = tf.compat.v1.image.resize(raw.astype(np.float32), [64, 64]).numpy()
  np.testing.assert_allclose(image, expected, atol=1e-5)

  # Train: distorted crops, reproducible per example seed.
  a = _first(spec.load("train"), 4)
  b = _first(spec.load("train"), 4)
  for (ia, la), (ib, lb) in zip(a, b):
    np.testing.assert_array_equal(ia, ib)
    assert ia.shape == (64, 64, 3)
  assert [int(l) for _, l in a] == [0, 10, 20, 30]

  gin.parse_config("train_imagenet_transform.crop_method = 'none'")
  (image, _), = _first(spec.load("train"), 1)
  expected = tf.compat.v1.image.resize(
      (_tfds_image(data_dir, "imagenet2012", "train", 0) / 255.0).astype(
          np.float32),
      [64, 64]).numpy()
  np.testing.assert_allclose(image, expected, atol=1e-5)
  # The default (distorted) crop is not the whole image resized.
  assert np.abs(a[0][0] - expected).max() > 0.05
  gin.parse_config("train_imagenet_transform.crop_method = 'bogus'")
  with pytest.raises(ValueError, match="Unsupported crop method"):
    spec.load("train")


def test_imagenet_variants(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  hq = datasets.get_dataset(name="imagenet_512_hq400")
  kept = _first(hq.load("train"), 10)
  assert [int(l) for _, l in kept] == [10, 30]     # min side >= 400
  # Filtered train stream (unknown epoch size): resume skips through the stream.
  datasets.set_shuffle_buffer_size(2)
  full = [(int(i), int(l)) for i, _, l in _first(hq.train_examples(), 7)]
  assert [i for i, _ in full] == list(range(7))
  assert sorted(l for _, l in full[:2]) == [10, 30]
  assert [(int(i), int(l)) for i, _, l in
          _first(hq.train_examples(start_index=3), 4)] == full[3:]
  assert _first(datasets.get_dataset(name="single_class_imagenet_128")
                .load("train"), 4)[3][1] == 0
  rnd = datasets.get_dataset(name="random_class_imagenet_128")
  labels = [int(l) for _, l in _first(rnd.load("train"), 4)]
  assert labels == [int(l) for _, l in _first(rnd.load("train"), 4)]
  assert all(0 <= l < 1000 for l in labels) and labels != [0, 10, 20, 30]


def _write_label_file(path, names, labels, soft=False):
  with tf.io.TFRecordWriter(path) as w:
    for name, label in zip(names, labels):
      feat = {"file_name": tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[name.encode()]))}
      if soft:
        feat["label"] = tf.train.Feature(float_list=tf.train.FloatList(value=label))
      else:
        feat["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
      w.write(tf.train.Example(
          features=tf.train.Features(feature=feat)).SerializeToString())


def test_replace_labels(data_dir, tmp_path):
  datasets.set_tfds_data_dir(data_dir)
  names = ["train_%d.JPEG" % i for i in range(4)]
  _write_label_file(str(tmp_path / "hard-train.tfrecord"), names, [5, -1, 7, -1])
  gin.parse_config("replace_labels.file_pattern = %r" %
                   str(tmp_path / "hard-{split}.tfrecord"))
  spec = datasets.get_dataset(name="labeled_only_imagenet_128")
  spec.check_label_files()
  assert [int(l) for _, l in _first(spec.load("train"), 10)] == [5, 7]
  first = next(iter(spec.train_examples()))
  assert int(first[2]) in (5, 7)

  logits = np.zeros([4, 1000], np.float32)
  logits[np.arange(4), [1, 2, 3, 4]] = 20.0
  _write_label_file(str(tmp_path / "soft-train.tfrecord"), names, logits, soft=True)
  gin.parse_config("replace_labels.file_pattern = %r" %
                   str(tmp_path / "soft-{split}.tfrecord"))
  soft = datasets.get_dataset(name="soft_labeled_imagenet_128")
  got = _first(soft.load("train"), 4)
  assert got[2][1].shape == (1000,) and got[2][1].dtype == np.float32
  assert np.argmax(got[2][1]) == 3 and abs(got[2][1].sum() - 1) < 1e-4

  _write_label_file(str(tmp_path / "bad-train.tfrecord"), names[::-1], [1] * 4)
  gin.parse_config("replace_labels.file_pattern = %r" %
                   str(tmp_path / "bad-{split}.tfrecord"))
  with pytest.raises(tf.errors.InvalidArgumentError, match="file_name mismatch"):
    _first(datasets.get_dataset(name="imagenet_128").load("train"), 4)

  for bad, message in ((-2, "below -1"), (1000, ">= 1000")):
    _write_label_file(str(tmp_path / "range-train.tfrecord"), names, [1, bad, 2, 3])
    gin.parse_config("replace_labels.file_pattern = %r" %
                     str(tmp_path / "range-{split}.tfrecord"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      _first(datasets.get_dataset(name="imagenet_128").load("train"), 4)
    # Found before any pipeline runs (builder.build_context: before training
    # writes anything).
    with pytest.raises(label_files.LabelFileError,
                       match=rf"record 1 has label {bad}; labels must be in "
                       r"\[-1, 1000\)"):
      datasets.get_dataset(name="imagenet_128").check_label_files()


def test_tfds_train_examples_resume_and_shards(data_dir):
  datasets.set_tfds_data_dir(data_dir)
  datasets.set_shuffle_buffer_size(8)
  spec = datasets.get_dataset(name="cifar10", seed=5)
  full = _first(spec.train_examples(), 100)          # ~2.7 epochs of 37
  assert [int(i) for i, _, _ in full] == list(range(100))
  order = [int(round(im[0, 0, 0] * 255)) for _, im, _ in full]   # = record id
  assert sorted(order[:37]) == list(range(37))       # an epoch is a permutation
  assert order[:37] != list(range(37)) and order[:37] != order[37:74]
  for start in (1, 8, 36, 37, 50):
    resumed = _first(spec.train_examples(start_index=start), 20)
    for (i, im, l), (j, im2, l2) in zip(resumed, full[start:start + 20]):
      assert i == j and l == l2
      np.testing.assert_array_equal(im, im2)
  # A seed change changes the order.
  other = _first(datasets.get_dataset(name="cifar10", seed=6).train_examples(), 37)
  assert [int(round(im[0, 0, 0] * 255)) for _, im, _ in other] != order[:37]
  # Two input pipelines read disjoint shards.
  seen = []
  for pid in range(2):
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pid)
    ex = _first(spec.train_examples(input_context=ctx), 19 - pid)
    seen.append({int(round(im[0, 0, 0] * 255)) for _, im, _ in ex})
    ev = _first(spec.load("test", input_context=ctx), 10)
    assert len(ev) == (3 if pid == 0 else 2)
  assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == 37


def test_celeb_a_hq_image_folder(tmp_path):
  folder = tmp_path / "celeb_a_hq_128"
  folder.mkdir()
  for i in range(10):
    Image.fromarray(_gradient_image(256, 200, 3, i)).save(folder / ("%02d.png" % i))
  datasets.set_tfds_data_dir(str(tmp_path))
  spec = datasets.get_dataset(name="celeb_a_hq_128")
  train = _first(spec.load("train"), 100)
  test = _first(spec.load("test"), 100)
  assert len(train) == 9 and len(test) == 1
  image, label = test[0]
  assert image.shape == (128, 128, 3) and label == 0
  raw = _gradient_image(256, 200, 3, 9)[28:228]
  expected = tf.compat.v1.image.resize(raw, [128, 128]).numpy() / 255.0
  np.testing.assert_allclose(image, expected, atol=1e-5)


def test_base_options():
  assert base.get_shuffle_buffer_size() == 10000
  gin.parse_config("data_options.shuffle_buffer_size = 64")
  assert base.get_shuffle_buffer_size() == 64
  datasets.set_shuffle_buffer_size(16)
  assert base.get_shuffle_buffer_size() == 16
  assert tfds_datasets.set_tfds_data_dir is datasets.set_tfds_data_dir


def test_tfds_labeled_fraction_and_variants(data_dir):
  """labeled_fraction marks the same records under 1 and 2 input pipelines; the
  label variants exist for every labelled TFDS dataset."""
  datasets.set_tfds_data_dir(data_dir)
  spec = datasets.get_dataset(name="cifar10", labeled_fraction=0.5)
  one = [int(l) for _, l in _first(spec.load("train"), 37)]
  assert 5 < sum(l >= 0 for l in one) < 32 and -1 in one
  assert all(l in (-1, k % 10) for k, l in enumerate(one))
  for pid in (0, 1):
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pid)
    shard = [int(l) for _, l in _first(spec.load("train", ctx), 37)]
    assert shard == one[pid::2]
  only = datasets.get_dataset(name="labeled_only_cifar10", labeled_fraction=0.5)
  kept = [int(l) for _, _, l in _first(only.train_examples(), 60)]
  assert all(l >= 0 for l in kept)
  assert {k % 10 for k, l in enumerate(one) if l >= 0} >= set(kept)
  assert set(int(l) for _, l in _first(
      datasets.get_dataset(name="single_class_mnist").load("train"), 20)) == {0}


def test_compare_gan_layout_label_files_for_tfds(data_dir, tmp_path):
  """Two label files in compare_gan's round-robin layout relabel ImageNet; mnist
  (no file_name feature) uses "<split>/<position>" names."""
  datasets.set_tfds_data_dir(data_dir)
  names = ["train_%d.JPEG" % i for i in range(4)]
  _write_label_file(str(tmp_path / "cg-train-00000-of-00002"), names[0::2], [5, 7])
  _write_label_file(str(tmp_path / "cg-train-00001-of-00002"), names[1::2], [6, -1])
  gin.parse_config("replace_labels.file_pattern = %r" % str(tmp_path / "cg-{split}-*"))
  spec = datasets.get_dataset(name="imagenet_128")
  assert [int(l) for _, l in _first(spec.load("train"), 4)] == [5, 6, 7, -1]
  # The eval split has no label files here: it keeps its labels.
  assert [int(l) for _, l in _first(spec.load("test"), 2)] == [0, 10]
  np.testing.assert_array_equal(spec.record_names("train"),
                                [n.encode() for n in names])

  mnist = datasets.get_dataset(name="mnist")
  mnist_names = mnist.record_names("train")
  assert list(mnist_names[:2]) == [b"train/0", b"train/1"]
  label_files.write_label_files(str(tmp_path / "mn" / "train"), mnist_names,
                                np.arange(20) % 3, num_files=3)
  gin.parse_config("replace_labels.file_pattern = %r" % str(tmp_path / "mn" / "{split}-*"))
  assert [int(l) for _, l in _first(datasets.get_dataset(name="mnist").load("train"), 20)
          ] == list(np.arange(20) % 3)
