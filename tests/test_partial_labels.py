"""Partial labels (dataset.labeled_fraction), label variants and label files on
the embedded polygons data (the TFDS side is in test_datasets.py)."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2.datasets import label_files
from compare_gan2.metrics import fid


def _labels(ds, n):
  return np.array([int(l) for _, l in ds.take(n).as_numpy_iterator()])


def _context(num, pid):
  return tf.distribute.InputContext(num_input_pipelines=num, input_pipeline_id=pid)


def test_labeled_fraction_is_class_balanced_and_deterministic():
  spec = datasets.get_dataset(name="polygons_32", labeled_fraction=0.1)
  plain = datasets.get_dataset(name="polygons_32")
  n = 6000
  labels = _labels(spec.load("train"), n)
  true = _labels(plain.load("train"), n)
  kept = labels >= 0
  np.testing.assert_array_equal(labels[kept], true[kept])  # Kept labels are true.
  assert set(labels[~kept]) == {-1}
  assert abs(kept.mean() - 0.1) < 0.015  # sd of the mean: 0.004
  for c in range(6):  # ~1000 examples per class, sd 0.0095.
    assert abs(kept[true == c].mean() - 0.1) < 0.04, c
  np.testing.assert_array_equal(_labels(spec.load("train"), n), labels)
  # The decision is a function of the example only: the keys of a hash draw.
  ids = tf.range(n, dtype=tf.int64)
  np.testing.assert_array_equal(spec.is_labeled(ids).numpy(), kept)
  # The eval split keeps every label.
  assert (_labels(spec.load("test"), 200) >= 0).all()


def test_labeled_fraction_is_the_same_under_two_input_pipelines():
  spec = datasets.get_dataset(name="polygons_32", labeled_fraction=0.2)
  one = _labels(spec.load("train"), 400)
  shards = [_labels(spec.load("train", _context(2, pid)), 200) for pid in (0, 1)]
  np.testing.assert_array_equal(one[0::2], shards[0])
  np.testing.assert_array_equal(one[1::2], shards[1])


def test_labeled_fraction_in_the_training_stream_survives_resumption():
  spec = datasets.get_dataset(name="polygons_32", labeled_fraction=0.25)
  full = list(spec.train_examples().take(300).as_numpy_iterator())
  resumed = list(spec.train_examples(start_index=120).take(180).as_numpy_iterator())
  for (i, x, y), (j, x2, y2) in zip(full[120:], resumed):
    assert i == j and y == y2
    np.testing.assert_array_equal(x, x2)
  labels = np.array([y for _, _, y in full])
  assert 0.1 < (labels >= 0).mean() < 0.4 and (labels == -1).any()


def test_labeled_only_keeps_the_labelled_subset():
  spec = datasets.get_dataset(name="labeled_only_polygons_32", labeled_fraction=0.1)
  assert spec.name == "labeled_only_polygons_32"
  examples = list(spec.train_examples().take(64).as_numpy_iterator())
  assert all(y >= 0 for _, _, y in examples)
  assert [i for i, _, _ in examples] == list(range(64))
  resumed = list(spec.train_examples(start_index=40).take(24).as_numpy_iterator())
  for (_, x, y), (_, x2, y2) in zip(examples[40:], resumed):
    assert y == y2
    np.testing.assert_array_equal(x, x2)


def test_single_and_random_class_variants():
  single = datasets.get_dataset(name="single_class_polygons_32")
  assert single.num_classes == 1 and single.name == "single_class_polygons_32"
  assert set(_labels(single.load("train"), 50)) == {0}
  rnd = datasets.get_dataset(name="random_class_polygons_32")
  true = _labels(datasets.get_dataset(name="polygons_32").load("train"), 300)
  labels = _labels(rnd.load("train"), 300)
  np.testing.assert_array_equal(labels, _labels(rnd.load("train"), 300))
  assert set(labels) == set(range(6)) and (labels != true).mean() > 0.7


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="polygons_32", labeled_fraction=0.0), r"\(0, 1\]"),
    (dict(name="polygons_32", labeled_fraction=1.5), r"\(0, 1\]"),
    (dict(name="celeb_a", labeled_fraction=0.1), "no labels"),
    (dict(name="labeled_only_celeb_a"), "Unknown dataset"),
])
def test_label_option_errors(kwargs, message):
  with pytest.raises(errors.ConfigError, match=message):
    datasets.get_dataset(**kwargs)


def test_written_label_files_read_back_in_order(tmp_path):
  """Record k goes to file k mod n, which compare_gan's reader
  (list_files(shuffle=False) + interleave(cycle_length=64)) returns in order."""
  names = ["train/%d" % k for k in range(23)]
  labels = np.arange(23) % 5 - 1
  paths = label_files.write_label_files(str(tmp_path / "train"), names, labels,
                                        num_files=4)
  assert len(paths) == 4
  files = tf.data.Dataset.list_files(str(tmp_path / "train-*"), shuffle=False)
  raw = files.interleave(tf.data.TFRecordDataset, cycle_length=64)
  spec = label_files.label_spec()
  got = [tf.io.parse_single_example(r, spec) for r in raw]
  assert [g["file_name"].numpy().decode() for g in got] == names
  np.testing.assert_array_equal([int(g["label"]) for g in got], labels)
  with pytest.raises(ValueError, match="1..64"):
    label_files.write_label_files(str(tmp_path / "x"), names, labels, num_files=65)


def test_compare_gan_label_files_line_up_with_polygons_images(tmp_path):
  """Files laid out as compare_gan's reader expects (round-robin over 3 files,
  written here by hand) relabel images 0..N-1; the split becomes those images."""
  n = 30
  labels = (np.arange(n) * 7) % 6
  labels[::4] = -1
  writers = [tf.io.TFRecordWriter(str(tmp_path / ("lab-train-%d.rec" % f)))
             for f in range(3)]
  for k in range(n):
    example = tf.train.Example(features=tf.train.Features(feature={
        "file_name": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[b"train/%d" % k])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(
            value=[int(labels[k])]))}))
    writers[k % 3].write(example.SerializeToString())
  for w in writers:
    w.close()
  gin.parse_config("replace_labels.file_pattern = %r" %
                   str(tmp_path / "lab-{split}-*.rec"))
  spec = datasets.get_dataset(name="polygons_32")
  assert spec.split_size("train") == n
  got = list(spec.load("train").as_numpy_iterator())
  assert len(got) == n
  np.testing.assert_array_equal([y for _, y in got], labels)
  images, _ = spec.render("train", np.arange(n))
  np.testing.assert_array_equal(np.stack([x for x, _ in got]), images)
  # The training stream draws from those n images, with their labels.
  stream = list(spec.train_examples().take(40).as_numpy_iterator())
  by_image = {x.tobytes(): y for x, y in got}
  assert all(by_image[x.tobytes()] == y for _, x, y in stream)
  # The eval split has no label files: it keeps its labels.
  assert spec.split_size("test") == 10000
  labelled = datasets.get_dataset(name="labeled_only_polygons_32")
  assert all(y >= 0 for _, _, y in labelled.train_examples().take(30).as_numpy_iterator())


def test_label_files_in_the_wrong_order_are_refused(tmp_path):
  names = ["train/%d" % k for k in (0, 2, 1)]
  label_files.write_label_files(str(tmp_path / "train"), names, [1, 2, 3])
  gin.parse_config("replace_labels.file_pattern = %r" % str(tmp_path / "{split}-*"))
  with pytest.raises(label_files.LabelFileError, match="record 1 is for b'train/2'"):
    datasets.get_dataset(name="polygons_32").load("train")


def test_polygons_label_files_below_minus_one_are_refused(tmp_path):
  names = ["train/%d" % k for k in range(3)]
  label_files.write_label_files(str(tmp_path / "train"), names, [1, -3, 2])
  gin.parse_config("replace_labels.file_pattern = %r" % str(tmp_path / "{split}-*"))
  with pytest.raises(label_files.LabelFileError, match="record 1 has label -3"):
    datasets.get_dataset(name="polygons_32").load("train")


def test_writer_round_trip_through_record_names(tmp_path):
  spec = datasets.get_dataset(name="polygons_32")
  names = spec.record_names("train", num=12)
  label_files.write_label_files(str(tmp_path / "train"), names, np.arange(12) % 6,
                                num_files=5)
  gin.parse_config("replace_labels.file_pattern = %r" % str(tmp_path / "{split}-*"))
  relabelled = datasets.get_dataset(name="polygons_32")
  np.testing.assert_array_equal(_labels(relabelled.load("train"), 12), np.arange(12) % 6)


def test_intra_class_fid_ignores_unlabelled_reals():
  rng = np.random.default_rng(0)
  real, fake = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
  labels = np.repeat([0, 1], 20)
  masked = labels.copy()
  masked[::5] = -1
  result = fid.intra_class_fid(real, masked, fake, labels)
  assert sorted(result.per_class) == [0, 1] and -1 not in result.skipped
  expected = fid.intra_class_fid(real[masked >= 0], masked[masked >= 0], fake, labels)
  assert result.mean == pytest.approx(expected.mean)


def test_fit_label_distribution_draws_for_unlabelled_reals(tmp_path):
  """With fit_label_distribution, G's labels are the real ones where they exist
  and uniform draws where the real label is -1."""
  import tf_test_utils  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      "ModularGAN.fit_label_distribution = True", "dataset.labeled_fraction = 0.3"])
  gan = builder.build_gan(str(tmp_path))
  features, labels = next(iter(gan.input_fn(400)))
  sampled, labels = features["sampled_labels"].numpy(), labels.numpy()
  known = labels >= 0
  assert 0 < known.sum() < 400
  np.testing.assert_array_equal(sampled[known], labels[known])
  assert sampled.min() >= 0 and sampled.max() < 6
  assert len(set(sampled[~known])) == 6


def test_s3gan_soft_labels():
  """use_soft_labels passes float [bs, K] labels through and needs a soft dataset."""
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2.datasets import polygons  # pylint: disable=g-import-not-at-top
  from compare_gan2.gans import s3gan  # pylint: disable=g-import-not-at-top

  class SoftPolygons(polygons.PolygonsDataset):
    soft_labels = True

  gin_setup.parse(bindings=["ModularGAN.conditional = True",
                            'S3GAN.self_supervision = "none"',
                            "S3GAN.use_soft_labels = True"])
  params = {"architecture": "dummy_arch", "batch_size": 4, "z_dim": 8}
  gan = s3gan.S3GAN(dataset=SoftPolygons(32), parameters=params)
  soft = tf.nn.softmax(tf.random.normal([4, 6], seed=1))
  np.testing.assert_array_equal(gan.real_labels(soft), soft)
  with pytest.raises(ValueError, match="float labels"):
    gan.real_labels(tf.constant([1, 2, 3, 4]))
  with pytest.raises(errors.ConfigError, match="soft-labelled dataset"):
    s3gan.S3GAN(dataset=polygons.PolygonsDataset(32), parameters=params)


def test_soft_labeled_polygons_feed_s3gan_soft_labels(tmp_path):
  """soft_labeled_<name> reads float logits from label files (softmax applied)
  and S3GAN.use_soft_labels trains on them."""
  import tf_test_utils  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
  n = 20
  logits = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32) * 3
  spec = datasets.get_dataset(name="polygons_32")
  label_files.write_label_files(str(tmp_path / "soft" / "train"),
                                spec.record_names("train", num=n), logits, num_files=2)
  pattern = str(tmp_path / "soft" / "{split}-*")
  with pytest.raises(label_files.LabelFileError, match="needs soft labels"):
    datasets.get_dataset(name="soft_labeled_polygons_32").load("train")
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      f"replace_labels.file_pattern = {pattern!r}",
      'dataset.name = "soft_labeled_polygons_32"', "options.gan_class = @S3GAN",
      'S3GAN.self_supervision = "none"', "S3GAN.use_soft_labels = True",
      "S3GAN.project_y = True", "S3GAN.use_predictor = True"])
  soft = datasets.get_dataset()
  got = np.stack([y for _, y in soft.load("train").as_numpy_iterator()])
  expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
  gan = builder.build_gan(str(tmp_path / "model"))
  gan.build()
  metrics = gan.train_step(next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps))))
  assert np.isfinite(float(metrics["d_class_loss_real"]))
  assert float(metrics["d_label_frac"]) == 1.0


@pytest.mark.parametrize("bindings, per_class", [
    (['dataset.name = "single_class_polygons_32"'], False),
    (['dataset.name = "random_class_polygons_32"'], False),
    (["dataset.labels_are_classes = False"], False),
    (["dataset.labeled_fraction = 0.1"], True),
])
def test_evaluation_of_label_variants(tmp_path, bindings, per_class):
  """Variants keep the polygons classifier (by base name); per-class metrics
  only when the labels are the dataset's classes."""
  import tf_test_utils  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import evaluator as evaluator_lib  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import classifier  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import tasks  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + bindings)
  evaluator = evaluator_lib.Evaluator(builder.build_gan(str(tmp_path)))
  assert isinstance(evaluator.extractor, classifier.DatasetClassifier)
  ctx = evaluator.task_context
  assert tasks.TASKS["class_accuracy"]().applies(ctx) == per_class
  assert tasks.TASKS["intra_class_fid"]().applies(ctx) == per_class
  assert tasks.TASKS["fid"]().applies(ctx)
