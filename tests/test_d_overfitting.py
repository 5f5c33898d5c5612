"""Evaluation's d_overfitting task: D's logits on training reals, held-out reals
and fakes (Karras et al. 2020, Figure 1), against direct calls of D."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import builder
from compare_gan2 import gin_setup
from compare_gan2 import inference_generator
from compare_gan2.architectures import variable_store
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import tasks as tasks_lib

NUM = 12


def test_scores_golden():
  readout = tasks_lib.OverfittingReadout(
      train_real_logits=np.array([2.0, 1.0, -1.0, 3.0]),
      test_real_logits=np.array([1.0, -2.0, -1.0, 0.5]),
      fake_logits=np.array([-1.0, -3.0, 2.0]))
  scores = tasks_lib.overfitting_scores(readout)
  expected = {
      "d_logit_train_real": 1.25, "d_logit_test_real": -0.375,
      "d_logit_fake": -2.0 / 3.0, "d_accuracy_train_real": 0.75,
      "d_accuracy_test_real": 0.5, "d_accuracy_fake": 2.0 / 3.0,
      "d_logit_gap": 1.625, "d_accuracy_gap": 0.25, "d_rt_train_real": 0.5}
  assert set(scores) == set(expected) == set(tasks_lib.DiscriminatorOverfittingTask.keys)
  for key, value in expected.items():
    assert scores[key] == pytest.approx(value), key


def test_empty_set_and_bad_size_are_refused():
  readout = tasks_lib.OverfittingReadout(np.ones(3), np.zeros(0), np.ones(2))
  with pytest.raises(ValueError, match="0 held-out reals"):
    tasks_lib.overfitting_scores(readout)
  for bad in (0, 2.5, True, float("nan")):
    with pytest.raises(ValueError, match=(
        r"^d_overfitting_task.max_examples must be an integer >= 1, got "
        r".*; None means eval.num_samples\.")):
      tasks_lib.DiscriminatorOverfittingTask(max_examples=bad)
  assert tasks_lib.DiscriminatorOverfittingTask().max_examples is None
  assert tasks_lib.DiscriminatorOverfittingTask(max_examples=8.0).max_examples == 8


class _StandInExtractor:
  """Features without a classifier: the task under test reads D, not them."""
  name, class_aligned = "stand-in", False

  def __call__(self, images):
    flat = images.reshape(len(images), -1)[:, :8]
    return {"pool": flat, "logits": flat[:, :6]}


def _direct_logits(gan, images, labels):
  with variable_store.no_state_updates():
    _, logits, _ = gan.discriminator(images, tf.one_hot(labels, gan.num_classes),
                                     is_training=False)
  return tf.reshape(logits, [-1]).numpy()


def test_readout_is_d_on_training_subset_held_out_and_training_mode_fakes(tmp_path):
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      "dataset.num_train_examples = 60", f"eval.num_samples = {NUM}",
      "eval.batch_size = 8", "eval.tasks = ['d_overfitting']"])
  ctx = builder.build_context(str(tmp_path / "model"))
  gan, dataset = ctx.gan, ctx.dataset
  gan.build()
  before = {v.name: v.numpy() for v in gan.generator.variables +
            gan.discriminator.variables}
  evaluator = evaluator_lib.Evaluator(gan, num_averaging_runs=1,
                                      extractor=_StandInExtractor())
  scores, errors = evaluator.evaluate_loaded()
  assert not errors

  def reals(split):
    (x, y), = dataset.load(split).take(NUM).batch(NUM)
    return _direct_logits(gan, x, y)

  # Fakes in eval.batch_size batches (8 + 4): G's batch norm in training mode
  # normalises with each batch's moments, as in training.
  fake_logits, moved = [], []
  for batch, size in enumerate((8, NUM - 8)):
    z, labels = inference_generator.evaluation_latents(
        gan, evaluator.options.seed, inference_generator.SEED_D_FAKES, 0, batch, size)
    y = tf.one_hot(labels, gan.num_classes)
    with variable_store.no_state_updates():
      fakes = gan.generator(z, y, is_training=True)
      moved.append(np.abs(fakes - gan.generator(z, y, is_training=False)).max())
    fake_logits.append(_direct_logits(gan, fakes, labels))
  direct = tasks_lib.OverfittingReadout(
      train_real_logits=reals(dataset.train_split),
      test_real_logits=reals(dataset.eval_split),
      fake_logits=np.concatenate(fake_logits))
  # G uses batch norm: its training-mode fakes differ from inference ones.
  assert min(moved) > 1e-3
  readout = evaluator_lib.overfitting_readout(gan, dataset, NUM, evaluator.options)
  for field in ("train_real_logits", "test_real_logits", "fake_logits"):
    np.testing.assert_allclose(getattr(readout, field), getattr(direct, field),
                               rtol=1e-5, atol=1e-5, err_msg=field)
  # The training subset (60 images) and the eval split are different images.
  assert not np.allclose(direct.train_real_logits, direct.test_real_logits)
  expected = tasks_lib.overfitting_scores(direct)
  for key, value in expected.items():
    assert scores[key + "_mean"] == pytest.approx(value, abs=1e-5), key
  for v in gan.generator.variables + gan.discriminator.variables:
    np.testing.assert_array_equal(v.numpy(), before[v.name], err_msg=v.name)
  gin.clear_config()
