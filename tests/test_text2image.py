"""The text-to-image GAN (StyleGAN-T's recipe; issue 23): networks, losses,
training, sampling, export, evaluation, on a tiny pair and generator."""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.architectures import variable_store as vs
from compare_gan2.datasets import captioned_polygons as cp
from compare_gan2.text2image import augment
from compare_gan2.text2image import gan as gan_lib
from compare_gan2.text2image import networks

TINY_GAN = [
    "text_to_image_gan.batch_size = 8", "text_to_image_gan.clip_weight = 1.0",
    "t2i_generator.channel_base = 256", "t2i_generator.channel_max = 32",
    "t2i_generator.z_dim = 16", "t2i_discriminator.channels = 16",
    "t2i_discriminator.cmap_dim = 16", "run_config.save_checkpoints_steps = 2",
    "run_config.tf_random_seed = 3"]


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory):
  from compare_gan2.clip import runner as clip_runner  # pylint: disable=g-import-not-at-top
  model_dir = str(tmp_path_factory.mktemp("pair") / "clip")
  gin.clear_config()
  gin_setup.parse(["gin_configs/clip_captioned_polygons_32.gin"], [
      "clip_pretraining.training_steps = 30", "clip_pretraining.batch_size = 32",
      "clip_text_encoder.width = 32", "clip_text_encoder.embed_dim = 24",
      "clip_image_encoder.widths = (8, 16)", "clip_image_encoder.embed_dim = 24"])
  try:
    clip_runner.train(model_dir)
  finally:
    gin.clear_config()
  return model_dir


def _train(model_dir, pair, steps, extra=()):
  from compare_gan2.text2image import runner  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin_setup.parse(["gin_configs/stylegan_t_captioned_polygons_32.gin"],
                  TINY_GAN + [f"text_to_image_gan.clip_dir = '{pair}'",
                              f"text_to_image_gan.training_steps = {steps}"]
                  + list(extra))
  try:
    return runner.train(model_dir)
  finally:
    gin.clear_config()


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, pair_dir):
  """(model_dir, the TextToImageGAN that trained 4 steps there)."""
  model_dir = str(tmp_path_factory.mktemp("t2i") / "run")
  return model_dir, _train(model_dir, pair_dir, 4)


@pytest.fixture(scope="module")
def trained(trained_model):
  return trained_model[0]


def test_generator_truncation_pulls_to_the_caption_mean_style():
  g = networks.TextConditionalGenerator(16, 8, z_dim=8, channel_base=64,
                                        channel_max=16)
  z = tf.random.stateless_normal([4, 8], seed=[1, 2])
  text = tf.tile(tf.random.stateless_normal([1, 8], seed=[3, 4]), [4, 1])
  images = g(z, text)
  assert images.shape == (4, 16, 16, 3)
  assert np.std(images.numpy(), axis=0).mean() > 1e-4      # z matters
  # psi = 0: every z gives the caption's mean style, one image per caption.
  x_avg = g.store.vars["generator/mapping/x_avg"]
  x_avg.assign(tf.random.stateless_normal([8], seed=[5, 5]))
  same = g(z, text, truncation=0.0).numpy()
  np.testing.assert_allclose(same, np.broadcast_to(same[:1], same.shape),
                             atol=1e-5)
  other = g(z, text * -1.0, truncation=0.0).numpy()
  assert np.abs(other - same).max() > 1e-3                # the text matters
  # The mean style follows the mapping's output during training only.
  x_avg.assign(tf.zeros([8]))
  g(z, text)
  assert not np.any(x_avg.numpy())
  g(z, text, update_average=True)
  mapped = g.mapping(z, text)[:, :8].numpy()
  np.testing.assert_allclose(x_avg.numpy(), 0.005 * mapped.mean(0), rtol=1e-4,
                             atol=1e-7)
  with vs.no_state_updates():
    g(z, text, update_average=True)
  np.testing.assert_allclose(x_avg.numpy(), 0.005 * mapped.mean(0), rtol=1e-4,
                             atol=1e-7)


def test_spherical_distance_and_ema_decay():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
  cosine = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
  np.testing.assert_allclose(
      gan_lib.spherical_distance(tf.constant(a, tf.float32),
                                 tf.constant(b, tf.float32)).numpy(),
      np.arccos(cosine) ** 2, rtol=1e-4)
  # StyleGAN-T: half-life 10k images per 32 of batch, ramp-up 0.05 x seen.
  assert float(gan_lib.ema_decay(tf.constant(10**6), 32.0, 10000.0, 0.05)) == (
      pytest.approx(0.5 ** (32 / 10000), rel=1e-6))
  assert float(gan_lib.ema_decay(tf.constant(100), 32.0, 10000.0, 0.05)) == (
      pytest.approx(0.5 ** (32 / (0.05 * 3200)), rel=1e-6))
  assert float(gan_lib.ema_decay(tf.constant(0), 32.0, 10000.0, 0.05)) == 0.0


def test_diff_augment_is_seeded_and_blur_fades():
  x = tf.random.stateless_uniform([4, 16, 16, 3], [0, 1], -1, 1)
  a = augment.diff_augment(x, tf.constant([1, 2]))
  np.testing.assert_array_equal(a.numpy(),
                                augment.diff_augment(x, tf.constant([1, 2])))
  assert not np.allclose(a, augment.diff_augment(x, tf.constant([1, 3])))
  # DiffAugment's cutout: a hole of side round(0.2 * 32) = 6, clipped at the
  # border; translation: shifts of at most round(0.125 * 32) = 4.
  ones = tf.ones([64, 32, 32, 1])
  holes = np.sum(augment.cutout(ones, tf.constant([0, 1])).numpy() == 0,
                 axis=(1, 2, 3))
  assert holes.max() == 36 and holes.min() >= 9
  dot = np.zeros([64, 32, 32, 1], np.float32)
  dot[:, 16, 16] = 1.0
  moved = augment.translate(tf.constant(dot), tf.constant([0, 2])).numpy()
  where = np.argwhere(moved[..., 0] == 1.0)
  assert len(where) == 64
  shifts = np.abs(where[:, 1:] - 16)
  assert shifts.max() == 4 and np.any(shifts == 0)
  assert float(augment.blur_sigma(0, 2.0, 100)) == 2.0
  assert float(augment.blur_sigma(50, 2.0, 100)) == 1.0
  assert float(augment.blur_sigma(200, 2.0, 100)) == 0.0
  np.testing.assert_array_equal(augment.blur(x, tf.constant(0.0), 2.0), x)
  blurred = augment.blur(x, tf.constant(1.0), 2.0).numpy()
  assert blurred[:, 4:-4, 4:-4].std() < x.numpy()[:, 4:-4, 4:-4].std()


def test_guidance_gradient_reaches_the_generator_only(trained_model):
  model = trained_model[1]
  tokens = tf.constant(model.dataset.tokenizer.encode(
      [p for p, _, _ in cp.prompts()["seen"][:8]]))
  model._batch_size_per_replica = 8  # pylint: disable=protected-access
  pair_vars = model.clip.variables_to_freeze()
  with tf.GradientTape(persistent=True) as tape:
    text = model.text_embeddings(tokens)
    _, terms = model.generator_loss(tokens, text)
  g_grads = tape.gradient(terms["clip_loss"], model.generator.trainable_variables)
  assert sum(float(tf.reduce_sum(tf.abs(g))) for g in g_grads if g is not None) > 0
  # The guidance term does not involve D; the adversarial term does.
  assert all(g is None for g in tape.gradient(
      terms["clip_loss"], model.discriminator.trainable_variables))
  assert any(g is not None for g in tape.gradient(
      terms["g_adversarial"], model.discriminator.trainable_variables))
  # The conditioning is a constant; the pair is never among the updated
  # variables (gradients pass through it to G's images only).
  assert all(g is None for g in tape.gradient(text, pair_vars))
  updated = {id(v) for v in model.generator.trainable_variables +
             model.discriminator.trainable_variables}
  assert not updated & {id(v) for v in pair_vars}
  del tape


def test_training_updates_g_and_d_but_never_the_pair(pair_dir, trained_model):
  from compare_gan2.clip import model as clip_model  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
  model_dir, model = trained_model
  assert int(model.global_step.numpy()) == 4
  fresh = clip_model.TextImageModel.load(pair_dir)
  for used, stored in zip(model.clip.variables_to_freeze(),
                          fresh.variables_to_freeze()):
    np.testing.assert_array_equal(used.numpy(), stored.numpy(), err_msg=used.name)
  step0, _ = loader.load_model(model_dir, os.path.join(model_dir,
                                                       "model.ckpt-0"))
  for net in ("generator", "discriminator"):
    before = getattr(step0, net).trainable_variables
    after = getattr(model, net).trainable_variables
    assert any(not np.array_equal(b.numpy(), a.numpy())
               for b, a in zip(before, after)), net


@pytest.mark.slow  # Two more trainings (~40 s).
def test_training_resumes_to_the_same_weights(pair_dir, trained, tmp_path):
  from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
  resumed = str(tmp_path / "resumed")
  _train(resumed, pair_dir, 2)
  _train(resumed, pair_dir, 4)
  a, _ = loader.load_model(trained)
  b, path = loader.load_model(resumed)
  assert path.endswith("-4")
  wanted = a.variables_to_save()
  for name, var in b.variables_to_save().items():
    np.testing.assert_allclose(var.numpy(), wanted[name].numpy(), atol=1e-4,
                               err_msg=name)


def test_prompt_grid_rows_are_prompts(trained, tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import sample  # pylint: disable=g-import-not-at-top
  model, _ = loader.load_model(trained)
  prompts = ["a red triangle on a white background", "a blue square"]
  out = str(tmp_path / "grid.png")
  images = sample.write_grid(model, prompts, out, columns=3, truncation=0.5)
  assert images.shape == (6, 32, 32, 3)
  assert Image.open(out).size == (3 * 32, 2 * 32)
  # Column j has the same z in every row; psi = 0 collapses a row.
  flat = model.prompt_grid(prompts, columns=3, truncation=0.0)
  np.testing.assert_allclose(flat[0], flat[2], atol=1e-5)
  assert not np.allclose(flat[0], flat[3])
  assert sample.read_prompts(["x"], None) == ["x"]
  with pytest.raises(errors.ConfigError, match="no such file"):
    sample.read_prompts([], str(tmp_path / "missing.txt"))


def test_export_loads_with_hub_and_answers_a_string_prompt(trained, tmp_path):
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import export  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
  out = export.export(trained, str(tmp_path / "hub"))
  module = hub.load(out)
  prompts = ["A red Triangle, on a white background!", "zebra blue hexagon"]
  z = tf.random.stateless_normal([2, int(module.z_dim.numpy())], seed=[5, 6])
  images = module(tf.constant(prompts), z, tf.constant(0.7))
  assert images.shape == (2, 32, 32, 3)
  assert float(tf.reduce_min(images)) >= -1 and float(tf.reduce_max(images)) <= 1
  model, _ = loader.load_model(trained)
  np.testing.assert_array_equal(module.tokenize(tf.constant(prompts)).numpy(),
                                model.dataset.tokenizer.encode(prompts))
  text = model.embed_prompts(prompts)
  np.testing.assert_allclose(images.numpy(),
                             model.generate(z, text, 0.7).numpy() * 2 - 1,
                             atol=1e-4)
  np.testing.assert_allclose(module.embed(tf.constant(prompts)).numpy(),
                             text.numpy(), atol=1e-5)
  # The example notebook runs on this module.
  import json  # pylint: disable=g-import-not-at-top
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  with open("docs/notebooks/text2image_interpolation.ipynb") as f:
    cells = [c for c in json.load(f)["cells"] if c["cell_type"] == "code"]
  code = "\n".join("".join(c["source"]) for c in cells)
  code = code.replace('"runs/t2i_polygons32/hub_module"', repr(out))
  namespace = {}
  exec(compile(code, "text2image_interpolation.ipynb", "exec"), namespace)  # pylint: disable=exec-used
  assert namespace["grid"].shape == (7 * 32, 4 * 32, 3)


@pytest.mark.slow  # A classifier and 280 samples scored (~40 s).
def test_evaluation_scores_seen_and_held_out(trained, pair_dir, tmp_path):
  from compare_gan2.evaluation import classifier  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import evaluate  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  with pytest.raises(errors.ConfigError, match="trained against"):
    evaluate.evaluate(trained, pair_dir, num=10)
  evaluator_dir = str(tmp_path / "evaluator")   # (a copy stands in for a
  shutil.copytree(pair_dir, evaluator_dir)       # second seed's pair)
  cache = tmp_path / "classifiers"
  classifier.train("captioned_polygons_shapes_32",
                   str(cache / "captioned_polygons_shapes_32"), steps=20,
                   batch_size=32, eval_examples=200)
  scores = evaluate.evaluate(
      trained, evaluator_dir, num=120, curve=(1.0, 0.0), curve_num=40, gin_bindings=[
          f'polygons_classifier.cache_dir = "{cache}"',
          "polygons_classifier.min_test_accuracy = 0.0"])
  samples = scores["samples"]
  assert samples["seen"]["num"] + samples["held_out"]["num"] == 120
  assert samples["held_out"]["num"] > 0
  for key in ("fid", "clip_score", "clip_score_mismatched", "vertex_accuracy",
              "fill_accuracy"):
    assert np.isfinite(samples["all"][key]), key
  # Real images: fills from pixel statistics are right.
  assert scores["real"]["seen"]["fill_accuracy"] > 0.97
  assert [p["truncation"] for p in scores["truncation_curve"]] == [1.0, 0.0]
  assert os.path.exists(os.path.join(trained, "truncation_curve.png"))
  assert os.path.exists(os.path.join(trained, "t2i_scores.json"))


def test_bad_configurations_are_one_clear_error(pair_dir):
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  with pytest.raises(errors.ConfigError, match="trains on captions"):
    gan_lib.TextToImageGAN(dataset=datasets.get_dataset("polygons_32"),
                           clip_dir=pair_dir)
  with pytest.raises(errors.ConfigError, match="not a pre-trained"):
    gan_lib.TextToImageGAN(dataset=datasets.get_dataset("captioned_polygons_32"),
                           clip_dir="/no/such/pair")
  with pytest.raises(ValueError, match="power of 2"):
    networks.TextConditionalGenerator(24, 8)


def test_an_external_text_encoder_conditions_the_generator(pair_dir, tmp_path):
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  handle = str(tmp_path / "external")

  class StandIn(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, strings):
      lengths = tf.cast(tf.strings.length(strings), tf.float32)
      return tf.stack([lengths, tf.sqrt(lengths + 1.0), tf.ones_like(lengths)], 1)
  tf.saved_model.save(StandIn(), handle)
  gin.clear_config()
  gin_setup.parse([], TINY_GAN)
  try:
    model = gan_lib.TextToImageGAN(
        dataset=datasets.get_dataset("captioned_polygons_32"),
        clip_dir=pair_dir, text_encoder=handle)
  finally:
    gin.clear_config()
  assert model.text_encoder.embed_dim == 3 and model.generator.text_dim == 3
  model.build()
  images, captions, _ = model.dataset.render("train", range(8))
  tokens = tf.constant(model.dataset.tokenizer.encode(captions))
  lengths = np.array([len(" ".join(c.replace(",", " ").split())) for c in captions],
                     np.float32)
  raw = np.stack([lengths, np.sqrt(lengths + 1), np.ones_like(lengths)], 1)
  np.testing.assert_allclose(model.text_embeddings(tokens).numpy(),
                             raw / np.linalg.norm(raw, axis=1, keepdims=True),
                             rtol=1e-5)
  metrics = tf.function(model.train_step)((tf.constant(images), tokens))
  assert np.isfinite(float(metrics["g"])) and int(model.global_step.numpy()) == 1


@pytest.mark.parametrize("config,resolution,channels,blocks", [
    ("stylegan_t_captioned_polygons_32.gin", 32, {8: 128, 16: 128, 32: 64}, 1),
    ("stylegan_t_lite_captioned_polygons_64.gin", 64,
     {8: 512, 16: 512, 32: 512, 64: 512}, 2)])
def test_shipped_configs_parse_to_their_sizes(config, resolution, channels, blocks):
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    gin_setup.parse([f"gin_configs/{config}",
                     f"gin_configs/clip_captioned_polygons_{resolution}.gin"])
    assert datasets.get_dataset().image_shape == (resolution, resolution, 3)
    g = networks.TextConditionalGenerator(resolution, 64)
    assert g.channels == channels and g.num_res_blocks == blocks
    assert gin.query_parameter("text_to_image_gan.beta2") == 0.99
  finally:
    gin.clear_config()
