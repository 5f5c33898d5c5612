"""SSGAN / S3GAN export like BigGAN; their {disc, bsNone} variant also returns the
rotation and predictor logits (compare_gan exported the base D only)."""

import gin
import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

import export_test_utils as etu
from compare_gan2.architectures import variable_store
from compare_gan2.export import hub_export
from compare_gan2.training import checkpoints

_SMALL = [b for b in etu.UNCOND_BINDINGS if not b.startswith("ModularGAN.conditional")
          and not b.startswith("G.batch_norm_fn")]
S3GAN_BINDINGS = _SMALL + [
    "options.gan_class = @S3GAN", "ModularGAN.conditional = True",
    "G.batch_norm_fn = @conditional_batch_norm", "dataset.labeled_fraction = 0.5",
    "S3GAN.rotated_batch_fraction = 1", "S3GAN.project_y = True",
    "S3GAN.use_predictor = True", "D.spectral_norm = True"]
SSGAN_BINDINGS = _SMALL + ["options.gan_class = @SSGAN", "ModularGAN.conditional = False",
                           "G.batch_norm_fn = @batch_norm",
                           "SSGAN.rotated_batch_size = 4"]


def _export(tmp_path_factory, name, bindings):
  model_dir = str(tmp_path_factory.mktemp(name))
  try:
    ctx, ckpt = etu.train(model_dir, bindings)
    module = hub_export.schedule_export(ctx)
  finally:
    gin.clear_config()
  return model_dir, ckpt, module


def _load_disc(module):
  graph = tf.Graph()
  session = tf.compat.v1.Session(graph=graph)
  with graph.as_default():
    meta_graph = tf.compat.v1.saved_model.load(session, ["disc", "bsNone"], module)
  sig = meta_graph.signature_def["default"]
  inputs = {k: graph.get_tensor_by_name(v.name) for k, v in sig.inputs.items()}
  outputs = {k: graph.get_tensor_by_name(v.name) for k, v in sig.outputs.items()}
  return session, inputs, outputs


def _restored(model_dir, bindings, ckpt):
  gan = etu.context(model_dir, bindings).gan
  checkpoints.restore_gan(gan, ckpt)
  return gan


def _reference(gan, images, y):
  """In-process D with heads: raw weights, converged (SVD) spectral norm."""
  overrides = etu.svd_spectral_vectors(gan.discriminator.store)
  with variable_store.no_state_updates(), gan.discriminator.store.override(overrides):
    return gan.discriminator_outputs(tf.constant(images),
                                     None if y is None else tf.constant(y),
                                     is_training=False)


def test_s3gan_discriminator_heads(tmp_path_factory):
  model_dir, ckpt, module = _export(tmp_path_factory, "s3gan", S3GAN_BINDINGS)
  images = np.random.default_rng(0).random((5, 32, 32, 3), dtype=np.float32)
  labels = np.array([0, 3, -1, 5, -1], np.int32)  # -1: unlabelled, D predicts.
  session, inputs, outputs = _load_disc(module)
  with session:
    assert sorted(inputs) == ["images", "labels"]
    assert sorted(outputs) == ["prediction", "predictor_logits", "rotation_logits"]
    got = session.run(outputs, {inputs["images"]: images, inputs["labels"]: labels})
  gin.clear_config()
  y = np.eye(6, dtype=np.float32)[np.maximum(labels, 0)] * (labels >= 0)[:, None]
  gan = _restored(model_dir, S3GAN_BINDINGS, ckpt)
  ref = _reference(gan, images, y)
  # The generator exports like BigGAN's (default signature and {gen, bsNone}):
  # the in-process G (raw weights: no EMA here) with the module's statistics.
  sig = hub.load(module).signatures["default"]
  z = etu.truncnorm(np.random.default_rng(1), [3, 8])
  y_gen = np.eye(6, dtype=np.float32)[[0, 1, 2]]
  out = sig(z=tf.constant(z), y=tf.constant(y_gen),
            truncation=tf.constant(1.0))["default"].numpy()
  want = etu.reference_generator(gan, z, y_gen, etu.module_statistics(module),
                                 row=9)  # Truncation 1.0 of the 10-point grid.
  gin.clear_config()
  np.testing.assert_allclose(out, want * 2.0 - 1.0, atol=2e-5)
  assert got["rotation_logits"].shape == (5, 4)
  assert got["predictor_logits"].shape == (5, 6)
  np.testing.assert_allclose(got["prediction"], ref["probs"], rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(got["rotation_logits"], ref["rotation_logits"],
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(got["predictor_logits"], ref["aux_logits"],
                             rtol=1e-4, atol=1e-5)


def test_ssgan_discriminator_heads(tmp_path_factory):
  model_dir, ckpt, module = _export(tmp_path_factory, "ssgan", SSGAN_BINDINGS)
  images = np.random.default_rng(2).random((3, 32, 32, 3), dtype=np.float32)
  session, inputs, outputs = _load_disc(module)
  with session:
    assert list(inputs) == ["images"]
    assert sorted(outputs) == ["prediction", "rotation_logits"]
    got = session.run(outputs, {inputs["images"]: images})
  gin.clear_config()
  ref = _reference(_restored(model_dir, SSGAN_BINDINGS, ckpt), images, None)
  gin.clear_config()
  np.testing.assert_allclose(got["rotation_logits"], ref["rotation_logits"],
                             rtol=1e-4, atol=1e-5)
  # compare_gan's fixed-batch disc variants keep their one output.
  graph = tf.Graph()
  with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
    meta = tf.compat.v1.saved_model.load(session, ["disc", "bs8"], module)
    assert list(meta.signature_def["default"].outputs) == ["prediction"]

