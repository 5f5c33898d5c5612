"""S3GAN's co-training options (each off by default) and the ratio metrics."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.gans import s3gan
from compare_gan2.gans import step_parts
from compare_gan2.training import loop

K = 10
_PARAMS = {"architecture": "dummy_arch", "batch_size": 8, "z_dim": 8}


def _gan(*bindings, labeled_fraction=0.5):
  gin_setup.parse(bindings=["ModularGAN.conditional = True",
                            'S3GAN.self_supervision = "none"',
                            "S3GAN.project_y = True",
                            "S3GAN.use_predictor = True"] + list(bindings))
  dataset = datasets.get_dataset(name="mnist_5k_32",
                                 labeled_fraction=labeled_fraction)
  gan = s3gan.S3GAN(dataset=dataset, parameters=dict(_PARAMS))
  gan.build()
  return gan


def _images(n=6, seed=0):
  return tf.random.stateless_uniform([n, 32, 32, 1], [seed, 1])


def _unlabelled_y(n):
  return tf.zeros([n, K])


def _projection_free_logits(gan, x):
  """D's logits without the projection term (the dummy D's own logit)."""
  return gan.discriminator(x, None, is_training=False)[1]


def _hard_projection_logits(gan, x, out):
  """D's logits with the predicted class projected: base + <onehot(argmax) E, h>
  (spectral norm is off for the dummy D)."""
  predicted = np.eye(K)[np.argmax(out["aux_logits"], 1)]
  kernel = gan.discriminator.store.vars["discriminator_projection/kernel"].numpy()
  return _projection_free_logits(gan, x).numpy() + np.sum(
      (predicted @ kernel) * out["features"].numpy(), 1, keepdims=True)


def test_defaults_are_compare_gans_hard_projection():
  gan = _gan()
  x = _images()
  out = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  np.testing.assert_allclose(out["logits"], _hard_projection_logits(gan, x, out),
                             rtol=1e-5, atol=1e-5)
  assert "discriminator_predictor/ready" not in gan.discriminator.store.vars


def test_threshold_gate_projects_unlabelled_reals_only_once_ready():
  gan = _gan("S3GAN.predictor_accuracy_threshold = 0.6")
  x = _images()
  base = _projection_free_logits(gan, x)
  gated = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  np.testing.assert_allclose(gated["logits"], base, rtol=1e-6, atol=1e-6)
  # A labelled real is still projected with its label (on top of the dummy D's
  # own logit for y).
  y = tf.one_hot([3] * 6, K)
  labelled = gan.discriminator_outputs(x, y, is_training=False)
  kernel = gan.discriminator.store.vars["discriminator_projection/kernel"].numpy()
  np.testing.assert_allclose(
      labelled["logits"],
      gan.discriminator(x, y, is_training=False)[1].numpy() +
      np.sum(kernel[3] * labelled["features"].numpy(), 1, keepdims=True),
      rtol=1e-5, atol=1e-5)
  gan.discriminator.store.vars["discriminator_predictor/ready"].assign(1.0)
  opened = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  np.testing.assert_allclose(opened["logits"], _hard_projection_logits(gan, x, opened),
                             rtol=1e-5, atol=1e-5)
  assert np.abs(opened["logits"] - base).max() > 1e-4


def test_threshold_latch_follows_the_accuracy_ema():
  gan = _gan("S3GAN.predictor_accuracy_threshold = 0.5",
             "S3GAN.predictor_accuracy_decay = 0.5")
  ema = gan.discriminator.store.vars["discriminator_predictor/accuracy_ema"]
  ready = gan.discriminator.store.vars["discriminator_predictor/ready"]

  def update(hits, count):
    losses = step_parts.LossTerms()
    gan._update_predictor_state(tf.constant(hits), tf.constant(count), losses)  # pylint: disable=protected-access
    return losses.summaries()

  update(4.0, 4.0)            # batch accuracy 1: ema 0.5; the latch read 0.
  assert float(ema) == pytest.approx(0.5) and float(ready) == 0.0
  update(0.0, 0.0)            # no labelled real: the ema keeps its value ...
  assert float(ema) == pytest.approx(0.5)
  assert float(ready) == 1.0  # ... and the latch sees 0.5 >= 0.5.
  summaries = update(0.0, 4.0)  # accuracy 0: ema 0.25, the latch stays on.
  assert float(ema) == pytest.approx(0.25) and float(ready) == 1.0
  assert float(summaries["accuracy/predictor_ema"]) == pytest.approx(0.25)


def test_projection_ramp_scales_the_predicted_label():
  gan = _gan("S3GAN.projection_ramp_steps = 100")
  x = _images()
  base = _projection_free_logits(gan, x)
  at_zero = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  np.testing.assert_allclose(at_zero["logits"], base, rtol=1e-6, atol=1e-6)
  gan.global_step_disc.assign(25)
  quarter = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  gan.global_step_disc.assign(400)
  full = gan.discriminator_outputs(x, _unlabelled_y(6), is_training=False)
  np.testing.assert_allclose(quarter["logits"] - base,
                             0.25 * (full["logits"] - base), rtol=1e-4, atol=1e-6)


def test_class_loss_ramp_weights_the_class_loss():
  gan = _gan("S3GAN.class_loss_ramp_steps = 200", "S3GAN.weight_class_loss = 2.0")
  features = {"images": _images(8), "z": tf.zeros([8, 8]),
              "sampled_labels": tf.zeros([8], tf.int32)}
  labels = tf.constant([0, 1, 2, 3, -1, -1, -1, -1])
  slices = gan.discriminator_slices(features, labels, _images(8, seed=5))
  for step, weight in ((0, 0.0), (50, 0.5), (200, 2.0), (1000, 2.0)):
    gan.global_step_disc.assign(step)
    losses = gan.discriminator_loss_terms(gan.run_discriminator(slices), slices,
                                          compute_penalty=False)
    assert float(losses.weight("class_loss_real")) == pytest.approx(weight)


def test_labelled_batch_feeds_the_class_loss_and_resumes():
  gan = _gan("S3GAN.labelled_batch_size = 4", labeled_fraction=0.1)
  batch = 2 * 8   # one replica's step: disc_iters 1 + the G sub-step
  first = list(gan.input_fn(batch, start_index=0).take(3))
  features, labels = first[0]
  assert features["labelled_images"].shape == (8, 32, 32, 1)
  assert np.all(features["labelled_labels"].numpy() >= 0)
  resumed = next(iter(gan.input_fn(batch, start_index=2 * batch)))
  np.testing.assert_array_equal(resumed[0]["labelled_images"],
                                first[2][0]["labelled_images"])
  np.testing.assert_array_equal(resumed[0]["images"], first[2][0]["images"])
  # The class loss is the CE over the batch's labelled reals and the labelled
  # slice together.
  part = {k: v[:8] if k != "labelled_images" and k != "labelled_labels" else v[:4]
          for k, v in features.items()}
  real_labels = tf.constant([-1] * 8)
  slices = gan.discriminator_slices(part, real_labels, _images(8, seed=2))
  assert slices["labelled"].size == 4
  outputs = gan.run_discriminator(slices)
  losses = gan.discriminator_loss_terms(outputs, slices, compute_penalty=False)
  expected = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(
      labels=tf.one_hot(part["labelled_labels"], K),
      logits=outputs["labelled"]["aux_logits"]))
  np.testing.assert_allclose(losses.value("class_loss_real"), expected, rtol=1e-5)
  summaries = losses.summaries()
  assert float(summaries["accuracy/predictor_real@count"]) == 4.0


def test_labelled_batch_trains():
  gan = _gan("S3GAN.labelled_batch_size = 4", labeled_fraction=0.1)
  inputs = next(iter(gan.input_fn(16)))
  metrics = gan.train_step(inputs)
  assert int(gan.global_step_disc) == 1
  assert np.isfinite(float(metrics["d_class_loss_real"]))


@pytest.mark.parametrize("binding, message", [
    ("S3GAN.predictor_accuracy_threshold = 1.5", "in \\[0, 1\\]"),
    ("S3GAN.predictor_accuracy_decay = 1.0", "decay"),
    ("S3GAN.projection_ramp_steps = -1", ">= 0"),
    ("S3GAN.labelled_batch_size = 3", "divide"),
])
def test_option_errors(binding, message):
  with pytest.raises(errors.ConfigError, match=message):
    _gan(binding)


def test_options_need_the_predictor():
  gin_setup.parse(bindings=["ModularGAN.conditional = True",
                            'S3GAN.self_supervision = "none"',
                            "S3GAN.class_loss_ramp_steps = 10"])
  with pytest.raises(errors.ConfigError, match="use_predictor"):
    s3gan.S3GAN(dataset=datasets.get_dataset(name="mnist_5k_32"),
                parameters=dict(_PARAMS))


# ------------------------------------------------------------ ratio metrics
class _CountingModel:
  """A model whose step t reports t hits out of (t % 2) * 4 labelled examples."""

  def __init__(self):
    self.global_step = tf.Variable(0, dtype=tf.int64)

  def train_step(self, inputs):
    t = tf.cast(inputs, tf.float32)
    count = 4.0 * tf.math.floormod(t, 2.0)
    self.global_step.assign_add(1)
    losses = step_parts.LossTerms()
    losses.add("loss", t)
    losses.add_ratio_metric("accuracy/x", tf.minimum(t, count), count)
    return losses.summaries()


def test_step_loop_reports_ratio_metrics_over_examples():
  model = _CountingModel()
  iterator = iter(tf.data.Dataset.range(1, 100))
  step_loop = loop.StepLoop(model, tf.distribute.get_strategy(), iterator)
  metrics, bad = step_loop(4)        # steps 1..4: counts 4, 0, 4, 0; hits 1, 0, 3, 0
  assert bad == -1
  assert float(metrics["loss"]) == 4.0          # the last step's value
  assert float(metrics["accuracy/x"]) == pytest.approx(4 / 8)
  assert "accuracy/x@sum" not in metrics
  metrics, _ = step_loop(1)          # step 5: 4 of 4
  assert float(metrics["accuracy/x"]) == 1.0
  metrics, _ = step_loop(1)          # step 6: no labelled example
  assert np.isnan(float(metrics["accuracy/x"]))
