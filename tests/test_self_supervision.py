"""SSGAN, S3GAN and the self-supervision component: rotations, D's batch layout,
heads, loss terms (D's and G's, cheap and full G step), errors."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.gans import s3gan
from compare_gan2.gans import self_supervision as ss_lib
from compare_gan2.gans import step_parts
from compare_gan2 import builder

SSGAN_BINDINGS = ["options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 8"]
S3GAN_BINDINGS = ["options.gan_class = @S3GAN", "S3GAN.rotated_batch_fraction = 1",
                  "S3GAN.project_y = True", "S3GAN.use_predictor = True"]


def _gan(model_dir, *bindings, build=True):
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + list(bindings))
  gan = builder.build_gan(str(model_dir))
  if build:
    gan.build()
  return gan


def _batch(gan):
  return next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_equals_np_rot90(k):
  images = np.random.default_rng(k).random((3, 5, 5, 2), dtype=np.float32)
  got = ss_lib.rotate_images(images, rotations=(k,)).numpy()
  np.testing.assert_array_equal(got, np.rot90(images, k=k, axes=(1, 2)))


def test_rotations_are_stacked_rotation_major():
  images = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4, 1)
  got = ss_lib.rotate_images(images, rotations=(1, 2, 3)).numpy()
  expected = np.concatenate([np.rot90(images, k=k, axes=(1, 2)) for k in (1, 2, 3)])
  np.testing.assert_array_equal(got, expected)
  np.testing.assert_array_equal(ss_lib.rotation_labels(2), [0, 0, 1, 1, 2, 2, 3, 3])


def test_rotation_cross_entropy_is_compare_gans_formula():
  logits = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
  labels = ss_lib.rotation_labels(2).numpy()
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  expected = -np.mean(np.log(p[np.arange(8), labels] + 1e-10))
  assert float(ss_lib.rotation_cross_entropy(logits, labels)) == pytest.approx(
      expected, rel=1e-5)


def test_ssgan_discriminator_batch_layout(tmp_path):
  """[real(4); rot(real[-2:]) (6); fake(4); rot(fake[-2:]) (6)]; the rotated fakes
  carry the fakes' own sampled labels (compare_gan tiled the real ones)."""
  gan = _gan(tmp_path, *SSGAN_BINDINGS)
  features, labels = _batch(gan)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  fakes = tf.random.uniform([4, 32, 32, 3], seed=1)
  slices = gan.discriminator_slices(parts[0], label_parts[0], fakes)
  assert list(slices) == ["real", "real_rotated", "fake", "fake_rotated"]
  assert [s.size for s in slices.values()] == [4, 6, 4, 6]
  real = parts[0]["images"].numpy()
  expected = np.concatenate([np.rot90(real[-2:], k=k, axes=(1, 2)) for k in (1, 2, 3)])
  np.testing.assert_array_equal(slices["real_rotated"].images, expected)
  expected = np.concatenate([np.rot90(fakes[-2:], k=k, axes=(1, 2)) for k in (1, 2, 3)])
  np.testing.assert_array_equal(slices["fake_rotated"].images, expected)
  sampled = tf.one_hot(parts[0]["sampled_labels"], 6).numpy()
  real_y = tf.one_hot(label_parts[0], 6).numpy()
  assert not np.array_equal(sampled[-2:], real_y[-2:])  # The seed makes them differ.
  np.testing.assert_array_equal(slices["fake_rotated"].y, np.tile(sampled[-2:], [3, 1]))
  np.testing.assert_array_equal(slices["real_rotated"].y, np.tile(real_y[-2:], [3, 1]))
  images, _ = step_parts.concat_slices(slices)
  assert images.shape[0] == 2 * 4 + 2 * 3 * 2


def test_rotation_terms_use_the_originals_and_their_rotations(tmp_path):
  """CE over [last n of the slice; its 3n rotations] with labels [0]*n..[3]*n."""
  task = ss_lib.Rotation(weight_d=1.0, weight_g=0.2)
  rng = np.random.default_rng(3)
  outputs = {"real": {"rotation_logits": rng.normal(size=(4, 4)).astype(np.float32)},
             "real_rotated": {"rotation_logits": rng.normal(size=(6, 4)).astype(np.float32)}}
  losses = step_parts.LossTerms()
  task.discriminator_terms(outputs, losses)
  logits = np.concatenate([outputs["real"]["rotation_logits"][-2:],
                           outputs["real_rotated"]["rotation_logits"]])
  expected = ss_lib.rotation_cross_entropy(logits, ss_lib.rotation_labels(2))
  assert float(losses.value("rotation_loss_real")) == pytest.approx(float(expected))
  assert losses.weight("rotation_loss_real") == 1.0


@pytest.mark.parametrize("bindings", [SSGAN_BINDINGS, S3GAN_BINDINGS],
                         ids=["SSGAN", "S3GAN"])
def test_generator_step_carries_every_term(tmp_path, bindings):
  """G's loss has the rotation term on the cheap path (D on the fakes and their
  rotations only) and on the full one, with the same value and gradients."""
  results = {}
  for cheap in (True, False):
    gan = _gan(tmp_path / str(cheap), *bindings, "penalty.fn = @no_penalty",
               f"ModularGAN.cheap_generator_step = {cheap}")
    assert gan.uses_cheap_generator_step() == cheap
    features, labels = _batch(gan)
    parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
    seen = []
    original = gan.discriminator_outputs
    def recording(x, y, is_training, original=original, seen=seen):
      seen.append(int(x.shape[0]))
      return original(x, y, is_training)
    gan.discriminator_outputs = recording
    with tf.GradientTape() as tape:
      generated = gan._generate(parts[-1])  # pylint: disable=protected-access
      g_loss, summaries = gan.generator_loss(parts[-1], label_parts[-1], generated)
    grads = tape.gradient(g_loss, gan.generator.trainable_variables)
    _, g_full, _ = gan.create_loss(parts[-1], label_parts[-1], generated,
                                   compute_penalty=False)
    assert float(g_loss) == pytest.approx(float(g_full), rel=1e-5)
    assert {"g_adversarial", "g_rotation_loss_fake",
            "accuracy/rotation_fake"} <= set(summaries)
    expected = (float(summaries["g_adversarial"])
                + 0.2 * float(summaries["g_rotation_loss_fake"]))
    assert float(g_loss) == pytest.approx(expected, rel=1e-5)
    results[cheap] = (float(g_loss), [g.numpy() for g in grads], seen)
  n = 1 if "S3GAN" in bindings[0] else 2
  assert results[True][2] == [4 + 3 * n, 8 + 6 * n]  # generator_loss, then create_loss
  assert results[False][2] == [8 + 6 * n, 8 + 6 * n]
  assert results[True][0] == pytest.approx(results[False][0], rel=1e-5)
  scale = max(np.abs(g).max() for g in results[False][1])
  for fast, full in zip(results[True][1], results[False][1]):
    np.testing.assert_allclose(fast, full, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("bindings, d_terms, g_terms", [
    (SSGAN_BINDINGS, {"d_adversarial", "d_penalty", "d_rotation_loss_real"},
     {"g_adversarial", "g_rotation_loss_fake"}),
    (S3GAN_BINDINGS, {"d_adversarial", "d_penalty", "d_rotation_loss_real",
                      "d_class_loss_real"}, {"g_adversarial", "g_rotation_loss_fake"}),
    (S3GAN_BINDINGS + ['S3GAN.self_supervision = "none"'],
     {"d_adversarial", "d_penalty", "d_class_loss_real"}, {"g_adversarial"}),
    (SSGAN_BINDINGS + ['SSGAN.self_supervision = "rotation_only"'],
     {"d_adversarial", "d_penalty", "d_rotation_loss_real"},
     {"g_adversarial", "g_rotation_loss_fake"}),
], ids=["SSGAN", "S3GAN", "S2GAN-CO", "rotation_only"])
def test_train_step_summaries_are_the_loss_terms(tmp_path, bindings, d_terms, g_terms):
  """A training step reports every term; the step's D and G losses are their
  weighted sums (penalty included in S3GAN, which compare_gan dropped)."""
  gan = _gan(tmp_path, *bindings)
  metrics = gan.train_step(_batch(gan))
  assert d_terms <= set(metrics) and g_terms <= set(metrics)
  rotation_only = "rotation_only" in str(bindings)
  adv = 0.0 if rotation_only else 1.0
  d = adv * (float(metrics["d_adversarial"]) + float(metrics["d_penalty"]))
  d += float(metrics.get("d_rotation_loss_real", 0.0))
  d += float(metrics.get("d_class_loss_real", 0.0))
  assert float(metrics["d_0"]) == pytest.approx(d, rel=1e-5)
  g = adv * float(metrics["g_adversarial"])
  g += 0.2 * float(metrics.get("g_rotation_loss_fake", 0.0))
  assert float(metrics["g"]) == pytest.approx(g, rel=1e-5)


def test_class_loss_counts_labelled_examples_only():
  rng = np.random.default_rng(0)
  labels = np.eye(5, dtype=np.float32)[[0, 3, 1, 2]]
  labels[1] = 0.0  # Unlabelled (label -1 gives a zero one-hot).
  available = s3gan.label_available(labels)
  np.testing.assert_array_equal(available.numpy().ravel(), [1, 0, 1, 1])
  logits = rng.normal(size=(4, 5)).astype(np.float32)
  got = float(s3gan.labelled_cross_entropy(labels, logits, available))
  logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  expected = -np.mean([logp[0, 0], logp[2, 1], logp[3, 2]])
  assert got == pytest.approx(expected, rel=1e-5)
  logits[1] += 100.0  # The unlabelled example does not count.
  assert float(s3gan.labelled_cross_entropy(labels, logits, available)) == (
      pytest.approx(got, rel=1e-5))
  none = np.zeros_like(labels)
  assert float(s3gan.labelled_cross_entropy(none, logits, s3gan.label_available(none))) == 0.0


def test_unlabelled_reals_are_projected_with_the_stop_gradient_prediction(tmp_path):
  gan = _gan(tmp_path, *S3GAN_BINDINGS, "D.spectral_norm = False")
  x = tf.random.uniform([3, 32, 32, 3], seed=2)
  y = tf.constant(np.eye(6, dtype=np.float32)[[1, 4, 0]] * np.float32([[1], [1], [0]]))
  variables = gan.discriminator.trainable_variables
  predictor = [v for v in variables if "predictor_linear/kernel" in v.name][0]
  projection = [v for v in variables if "discriminator_projection/kernel" in v.name][0]
  with tf.GradientTape(persistent=True) as tape:
    out = gan.discriminator_outputs(x, y, is_training=True)
    unlabelled_logit = out["logits"][2]
    base_probs, base_logits, features = gan.discriminator(x, y, is_training=True)
  predicted = np.argmax(out["aux_logits"].numpy(), axis=1)
  y_used = y.numpy().copy()
  y_used[2, predicted[2]] = 1.0  # Labelled rows keep their label.
  expected = base_logits.numpy() + np.sum(
      (y_used @ projection.numpy()) * features.numpy(), axis=1, keepdims=True)
  np.testing.assert_allclose(out["logits"], expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out["probs"], 1 / (1 + np.exp(-expected)), rtol=1e-5)
  # The projection does not train the predictor: stop_gradient on the prediction.
  assert tape.gradient(out["logits"], predictor) is None
  assert np.any(tape.gradient(unlabelled_logit, projection).numpy())
  del base_probs


def test_register_a_new_self_supervised_task(tmp_path):
  """A task registered by name trains without touching the GAN classes."""

  class Flip(ss_lib.SelfSupervision):
    generator_reads = ("fake",)

    def heads(self, discriminator, features):
      with discriminator.in_store("discriminator_flip"):
        from compare_gan2.architectures import layers  # pylint: disable=g-import-not-at-top
        return {"flip_logits": layers.linear(features, 1, scope="score")}

    def discriminator_terms(self, outputs, losses):
      losses.add("flip_real", tf.reduce_mean(outputs["real"]["flip_logits"] ** 2),
                 self.weight_d)

    def generator_terms(self, outputs, losses):
      losses.add("flip_fake", tf.reduce_mean(outputs["fake"]["flip_logits"] ** 2),
                 self.weight_g)

  ss_lib.register_self_supervision("flip_test", Flip)
  try:
    gan = _gan(tmp_path, "options.gan_class = @SSGAN", 'SSGAN.self_supervision = "flip_test"',
               "SSGAN.rotated_batch_size = 8")
    metrics = gan.train_step(_batch(gan))
    assert {"d_flip_real", "g_flip_fake"} <= set(metrics)
    assert any("discriminator_flip/score/kernel" in v.name
               for v in gan.discriminator.trainable_variables)
  finally:
    del ss_lib.SELF_SUPERVISION["flip_test"]


@pytest.mark.parametrize("bindings, message", [
    (["options.gan_class = @S3GAN", "ModularGAN.conditional = False",
      "S3GAN.rotated_batch_fraction = 2"], "ModularGAN.conditional = True"),
    (["options.gan_class = @S3GAN", "S3GAN.use_predictor = True",
      "S3GAN.rotated_batch_fraction = 2"], "project_y"),
    (["options.gan_class = @S3GAN"], "rotated_batch_fraction"),
    (["options.gan_class = @SSGAN"], "rotated_batch_size"),
    (["options.gan_class = @SSGAN", 'SSGAN.self_supervision = "jigsaw"'], "jigsaw"),
    (["options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 8",
      "ModularGAN.deprecated_split_disc_calls = True"], "deprecated_split_disc_calls"),
])
def test_configuration_errors(tmp_path, bindings, message):
  with pytest.raises(errors.ConfigError, match=message):
    _gan(tmp_path, *bindings, build=False)


@pytest.mark.parametrize("bindings, message", [
    (["options.gan_class = @S3GAN", "S3GAN.rotated_batch_fraction = 3"], "divide"),
    (["options.gan_class = @S3GAN", "S3GAN.rotated_batch_fraction = 2"],
     "leaves no image"),
    (["options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 6"], "multiple of 4"),
    (["options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 32"], "more than"),
])
def test_batch_errors(tmp_path, bindings, message):
  gan = _gan(tmp_path, *bindings)
  with pytest.raises(errors.ConfigError, match=message):
    gan.train_step(_batch(gan))


def test_self_supervision_none_needs_no_fraction(tmp_path):
  """compare_gan demanded bs % rotated_batch_fraction == 0 even without rotation."""
  gan = _gan(tmp_path, "options.gan_class = @S3GAN", 'S3GAN.self_supervision = "none"',
             "options.batch_size = 6")
  metrics = gan.train_step(_batch(gan))
  assert "d_rotation_loss_real" not in metrics and np.isfinite(float(metrics["g"]))


def test_ssgan_two_replicas(tmp_path, two_replica_strategy):
  """rotated_batch_size is global: 16 over 2 replicas rotates 2 images each."""
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      "options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 16"])
  with two_replica_strategy.scope():
    gan = builder.build_gan(str(tmp_path), strategy=two_replica_strategy)
    gan.build()
  seen = []
  original = gan.discriminator_outputs
  def recording(x, y, is_training):
    seen.append(int(x.shape[0]))
    return original(x, y, is_training)
  gan.discriminator_outputs = recording
  batch = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
  per_replica = two_replica_strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.nest.map_structure(lambda t: t[:4 * 2], batch))
  two_replica_strategy.run(tf.function(gan.train_step), args=(per_replica,))
  assert set(seen) == {2 * 4 + 6 * 2, 4 + 3 * 2, 4}  # D step, cheap G step, penalty
