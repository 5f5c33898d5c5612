"""The d_classifier evaluation task and the offline classifiers' accuracy check."""

import json

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import metrics
from compare_gan2.evaluation import classifier
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import feature_extractors as fe
from compare_gan2.evaluation import tasks


def test_classifier_accuracy_golden():
  logits = np.array([[2., 1.], [0., 3.], [5., 5.], [1., 0.]])   # 0, 1, 0 (tie), 0
  assert metrics.classifier_accuracy(logits, [0, 1, 1, 1]) == (0.5, 2)
  assert metrics.classifier_accuracy(np.array([3, 3, 3]), [3, 1, 3]) == (
      pytest.approx(2 / 3), 1)
  with pytest.raises(ValueError):
    metrics.classifier_accuracy(logits, [0, 1])


class NearestMeanGAN:
  """A stand-in GAN whose D predictor head is hand-built: it scores the
  negative squared distance to each class's mean train image."""

  def __init__(self, means):
    self.means = tf.constant(means.reshape(len(means), -1), tf.float32)

  def discriminator_heads(self, images):
    flat = tf.reshape(images, [tf.shape(images)[0], -1])
    d2 = tf.reduce_sum((flat[:, None, :] - self.means[None]) ** 2, -1)
    return {"aux_logits": -d2}


def _means(spec):
  images, labels = spec.split_arrays("train")
  return np.stack([images[labels == c].mean(0) / 255.0 for c in range(10)])


def test_task_scores_a_hand_built_predictor_exactly():
  spec = datasets.get_dataset(name="mnist_5k_32", labeled_fraction=0.25)
  means = _means(spec)
  gan = NearestMeanGAN(means)
  readout = evaluator_lib.discriminator_readout(gan, spec, num_test=500,
                                                max_unlabelled=1000,
                                                batch_size=128)
  assert readout.rotation_logits is None
  # Direct formulation with NumPy.
  test_images, test_labels = spec.split_arrays("test")
  flat = test_images.reshape(500, -1) / 255.0
  d2 = ((flat[:, None, :] - means.reshape(10, -1)[None]) ** 2).sum(-1)
  predicted = d2.argmin(1)
  train_images, train_labels = datasets.get_dataset(
      name="mnist_5k_32").split_arrays("train")
  hidden = ~spec.is_labeled(tf.range(4500, dtype=tf.int64)).numpy()
  rows = np.flatnonzero(hidden)[:1000]
  flat_train = train_images[rows].reshape(len(rows), -1) / 255.0
  d2_train = ((flat_train[:, None, :] - means.reshape(10, -1)[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(readout.unlabelled_labels, train_labels[rows])

  ctx = tasks.TaskContext(discriminator=readout)
  task = tasks.DiscriminatorClassifierTask()
  assert task.applies(ctx)
  result = task.run(None, None, ctx)
  assert result["d_predictor_test_accuracy"] == pytest.approx(
      np.mean(predicted == test_labels), abs=1e-12)
  assert result["d_predictor_test_classes"] == len(np.unique(predicted))
  assert result["d_predictor_unlabelled_accuracy"] == pytest.approx(
      np.mean(d2_train.argmin(1) == train_labels[rows]), abs=1e-12)
  assert 0.6 < result["d_predictor_test_accuracy"] < 1.0   # nearest mean on MNIST
  assert "d_rotation_test_accuracy" not in result


def test_rotation_head_readout_is_scored_against_rotation_major_labels():
  readout = tasks.DiscriminatorReadout(
      test_labels=np.zeros(3, np.int64),
      rotation_logits=np.eye(4)[[0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 0]])
  result = tasks.DiscriminatorClassifierTask().run(
      None, None, tasks.TaskContext(discriminator=readout))
  # Rows 0-2 are rotation 0, 3-5 rotation 1, ...: 3 + 2 + 3 + 2 correct of 12.
  assert result == {"d_rotation_test_accuracy": pytest.approx(10 / 12)}


def test_task_does_not_apply_without_heads():
  assert not tasks.DiscriminatorClassifierTask().applies(tasks.TaskContext())

  class NoHeads:
    def discriminator_heads(self, images):
      del images
      return {}
  spec = datasets.get_dataset(name="mnist_5k_32")
  assert evaluator_lib.discriminator_readout(NoHeads(), spec, 10, 10, 8) is None
  assert evaluator_lib.discriminator_readout(object(), spec, 10, 10, 8) is None


def _fake_cached_classifier(directory, dataset_name, accuracy):
  net = classifier.build_classifier_net(dataset_name)
  prefix = tf.train.Checkpoint(net=net).write(str(directory / "classifier"))
  meta = {"version": 1, "dataset": dataset_name, "checkpoint": prefix.split("/")[-1],
          "test_accuracy": accuracy, "feature_scale": 1.0}
  (directory / "classifier.json").write_text(json.dumps(meta))


def test_low_accuracy_classifier_is_refused(tmp_path):
  directory = tmp_path / "mnist_5k_32"
  directory.mkdir()
  _fake_cached_classifier(directory, "mnist_5k_32", 0.42)
  with pytest.raises(fe.FeatureExtractorError, match="0.420.*min_test_accuracy"):
    classifier.DatasetClassifier("mnist_5k_32", cache_dir=str(tmp_path),
                                 auto_train=False)
  clf = classifier.DatasetClassifier("mnist_5k_32", cache_dir=str(tmp_path),
                                     auto_train=False, min_test_accuracy=0.4)
  assert clf.channels == 1 and clf.class_aligned
  out = clf(np.zeros([3, 32, 32, 1], np.float32))
  assert out["pool"].shape == (3, 128) and out["logits"].shape == (3, 10)


def test_embedded_datasets_get_their_classifier():
  assert classifier.has_classifier("mnist_5k_32")
  assert classifier.has_classifier("polygons_64")
  assert not classifier.has_classifier("cifar10")
  assert classifier.classifier_spec("mnist_5k_32") == (32, 10, 1)
  assert classifier.classifier_spec("polygons_128") == (128, 6, 3)
  with pytest.raises(ValueError, match="embedded"):
    classifier.classifier_spec("cifar10")
