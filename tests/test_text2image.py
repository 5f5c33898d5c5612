"""The text-to-image GAN (StyleGAN-T's recipe; issue 23): networks, losses,
training, sampling, export, evaluation, on a tiny pair and generator."""

import os
import re
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils
from tf_test_utils import assert_one_line_error as _assert_one_line_error

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


# ------------------------------------------------------------------ the math
# Each test feeds known values through the package's function and compares
# with a direct NumPy formulation of StyleGAN-T's (autonomousvision/stylegan-t)
# definition written here.


def _run_in_store(fn, scope="t"):
  """(fn()'s result, the store holding the variables it created)."""
  store = vs.VariableStore(scope)
  with vs.using_store(store), vs.variable_scope(scope):
    return fn(), store


def _assign_random(store, rng, **ranges):
  """Sets every variable whose name ends with a key of `ranges` to uniform
  values in that (low, high) range; returns {name: value}."""
  values = {}
  for name, var in store.vars.items():
    for suffix, (low, high) in ranges.items():
      if name.endswith(suffix):
        values[name] = rng.uniform(low, high, var.shape).astype(np.float32)
        var.assign(values[name])
  return values


def _np_conv_same(x, weight):
  """'SAME' correlation of x [N, H, W, C] with per-sample weights
  [N, k, k, C, O] (k odd), zero padding."""
  k = weight.shape[1]
  p = k // 2
  n, h, w, _ = x.shape
  padded = np.pad(x, [(0, 0), (p, p), (p, p), (0, 0)])
  out = np.zeros([n, h, w, weight.shape[-1]])
  for i in range(k):
    for j in range(k):
      out += np.einsum("nhwc,nco->nhwo", padded[:, i:i + h, j:j + w],
                       weight[:, i, j])
  return out


def _np_modulated_conv(x, weight, styles, demodulate=True):
  """StyleGAN2/StyleGAN-T modulated_conv2d, fused form: per-sample weights
  w_n = weight * styles_n (input channels), demodulated by
  rsqrt(sum_{k, k, c} w_n^2 + 1e-8) per output channel, then the conv."""
  w = weight[None] * styles[:, None, None, :, None]         # [N, k, k, C, O]
  if demodulate:
    w = w / np.sqrt(np.sum(w ** 2, axis=(1, 2, 3), keepdims=True) + 1e-8)
  return _np_conv_same(x, w)


def _np_group_norm(x, groups, gamma, beta, eps=1e-5):
  n, h, w, c = x.shape
  g = x.reshape(n, h, w, groups, c // groups)
  mean = g.mean(axis=(1, 2, 4), keepdims=True)
  var = g.var(axis=(1, 2, 4), keepdims=True)
  return ((g - mean) / np.sqrt(var + eps)).reshape(x.shape) * gamma + beta


def _np_fc(x, kernel, bias, lr_multiplier=1.0):
  return (x @ kernel * (lr_multiplier / np.sqrt(x.shape[-1])) +
          bias * lr_multiplier)


def _lrelu(x):
  return np.where(x >= 0, x, 0.2 * x)


@pytest.mark.parametrize("kernel,demodulate", [(3, True), (1, True), (3, False)])
def test_modulated_conv_equals_the_fused_numpy_formulation(kernel, demodulate):
  rng = np.random.default_rng(kernel + 2 * demodulate)
  x = rng.normal(size=(3, 5, 6, 4)).astype(np.float32)
  styles = rng.uniform(-2, 2, size=(3, 4)).astype(np.float32)
  out, store = _run_in_store(lambda: networks.modulated_conv(
      tf.constant(x), tf.constant(styles), 7, kernel, demodulate=demodulate))
  weight = store.vars["t/weight"].numpy()
  np.testing.assert_allclose(
      out.numpy(), _np_modulated_conv(x, weight, styles, demodulate),
      rtol=1e-4, atol=1e-4)
  if demodulate:  # Scale-free in the styles of each sample (the point of it).
    scaled, _ = _run_in_store(lambda: networks.modulated_conv(
        tf.constant(x), tf.constant(styles * 5.0), 7, kernel))
    np.testing.assert_allclose(scaled.numpy(), out.numpy(), rtol=1e-4, atol=1e-4)


def test_residual_layer_is_layer_scaled_and_skips_the_normalised_input():
  """StyleGAN-T's SynthesisLayer(residual=True): x' = GroupNorm(32)(x),
  y = lrelu(modconv(x', StyleSplit(w)) + b) * sqrt(2) * gain,
  out = (gamma * y + x') * sqrt(2)."""
  rng = np.random.default_rng(1)
  channels, w_dim = 64, 10           # 32 groups of 2 channels
  x = rng.normal(2.0, 3.0, size=(2, 4, 4, channels)).astype(np.float32)
  w = rng.normal(size=(2, w_dim)).astype(np.float32)
  g = networks.TextConditionalGenerator(8, 4, z_dim=6)
  layer = lambda: g._layer(  # pylint: disable=protected-access
      tf.constant(x), tf.constant(w), channels, "conv2", residual=True,
      gain=networks.SQRT_HALF)
  _, store = _run_in_store(layer)
  # Layer scale, norm and bias away from their initial values (gamma starts
  # at 1e-5, which would hide the convolution).
  _assign_random(store, rng, **{"conv2/gamma": (0.5, 1.5),
                                 "norm/gamma": (0.5, 1.5),
                                 "norm/beta": (-1, 1), "conv2/bias": (-1, 1)})
  with vs.using_store(store), vs.variable_scope("t"):
    out = layer().numpy()
  p = {name[len("t/conv2/"):]: var.numpy() for name, var in store.vars.items()}
  assert set(p) == {"norm/gamma", "norm/beta", "affine/kernel", "affine/bias",
                    "weight", "bias", "gamma"}
  xn = _np_group_norm(x, 32, p["norm/gamma"], p["norm/beta"])
  m1, m2, m3 = np.split(_np_fc(w, p["affine/kernel"], p["affine/bias"]), 3, -1)
  y = _np_modulated_conv(xn, p["weight"], m1 * m2 + m3) + p["bias"]
  y = _lrelu(y) * np.sqrt(2) * np.sqrt(0.5)
  np.testing.assert_allclose(out, (p["gamma"] * y + xn) * np.sqrt(2),
                             rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [4, 12, 16])
def test_local_batch_norm_normalises_groups_of_the_batch(n):
  """StyleGAN-T's BatchNormLocal: ceil(N / 8) groups of consecutive samples
  (N=12: two of 6, not 8 + 4), per-channel statistics over a group's samples
  and positions, biased variance, eps 1e-5, learned scale and offset."""
  rng = np.random.default_rng(n)
  x = rng.normal(0.0, 1.0, size=(n, 3, 5, 6)) * rng.uniform(0.5, 3, size=(n, 1, 1, 1))
  x = (x + rng.uniform(-2, 2, size=(n, 1, 1, 6))).astype(np.float32)
  fn = lambda: networks.local_batch_norm(tf.constant(x), 8, "bn")
  _, store = _run_in_store(fn)
  v = _assign_random(store, rng, gamma=(0.5, 2.0), beta=(-1.0, 1.0))
  with vs.using_store(store), vs.variable_scope("t"):
    out = fn().numpy()
  groups = -(-n // 8)
  g = x.astype(np.float64).reshape(groups, n // groups, 3, 5, 6)
  mean = g.mean(axis=(1, 2, 3), keepdims=True)
  var = g.var(axis=(1, 2, 3), keepdims=True)             # biased (ddof 0)
  expected = ((g - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)
  expected = expected * v["t/bn/gamma"] + v["t/bn/beta"]
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
  # A batch that does not split into equal groups (9: 5 + 4) is refused.
  with pytest.raises(errors.ConfigError, match="virtual_batch"):
    _run_in_store(lambda: networks.local_batch_norm(tf.zeros([9, 2, 2, 3]), 8,
                                                    "bn"))


def test_truncation_pulls_towards_the_captions_mean_style():
  """StyleGAN-T's MappingNetwork: x = MLP(normalize_2nd_moment(z)) (linear
  last layer, lr multiplier 0.01), x' = x_avg + psi (x - x_avg), w = [x', t]
  with t the normalised text (never truncated); x_avg <- lerp(mean x, x_avg,
  0.995) while training."""
  rng = np.random.default_rng(3)
  g = networks.TextConditionalGenerator(16, 5, z_dim=8, channel_base=64,
                                        channel_max=16)
  z = rng.normal(size=(4, 8)).astype(np.float32)
  text = rng.normal(size=(4, 5)).astype(np.float32)
  g(z, text)
  x_avg_var = g.store.vars["generator/mapping/x_avg"]
  x_avg = rng.normal(size=8).astype(np.float32)
  x_avg_var.assign(x_avg)
  p = {n[len("generator/mapping/"):]: v.numpy() for n, v in g.store.vars.items()
       if n.startswith("generator/mapping/fc")}
  h = z / np.sqrt(np.mean(z ** 2, axis=1, keepdims=True) + 1e-8)
  h = _lrelu(_np_fc(h, p["fc0/kernel"], p["fc0/bias"], 0.01)) * np.sqrt(2)
  x = _np_fc(h, p["fc1/kernel"], p["fc1/bias"], 0.01)
  t = text / np.linalg.norm(text, axis=1, keepdims=True)
  for psi in (1.0, 0.7, 0.0):
    w = g.mapping(z, text, truncation=psi).numpy()
    np.testing.assert_allclose(w[:, :8], x_avg + psi * (x - x_avg), rtol=1e-4,
                               atol=1e-5, err_msg=f"psi={psi}")
    np.testing.assert_allclose(w[:, 8:], t, rtol=1e-5, atol=1e-6)
  # psi = 0: every z gives the caption's mean style: one image per caption,
  # another caption another image.
  same_text = np.tile(text[:1], [4, 1])
  images = g(z, same_text, truncation=0.0).numpy()
  np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape),
                             atol=1e-5)
  assert np.abs(g(z, -same_text, truncation=0.0).numpy() - images).max() > 1e-3
  assert np.std(g(z, same_text).numpy(), axis=0).mean() > 1e-4   # z matters
  # The mean follows the mapping's output when asked (training), else not.
  g(z, text)
  with vs.no_state_updates():
    g(z, text, update_average=True)
  np.testing.assert_array_equal(x_avg_var.numpy(), x_avg)
  g(z, text, update_average=True)
  np.testing.assert_allclose(x_avg_var.numpy(),
                             0.995 * x_avg + 0.005 * x.mean(axis=0), rtol=1e-4,
                             atol=1e-6)


class _StubGenerator:
  """Stands in for G in the loss code: a constant image of value `value`."""

  def __init__(self, z_dim, shape, value):
    self.z_dim, self.shape, self.value = z_dim, shape, value

  def __call__(self, z, text, truncation=1.0, update_average=False):
    del truncation, update_average
    return tf.fill([int(z.shape[0])] + list(self.shape), self.value)


def test_hinge_losses_signs_and_per_head_averaging(trained_model, monkeypatch):
  """D: mean_h mean relu(1 - D_h(real)) + mean_h mean relu(1 + D_h(fake));
  G: -mean_h mean D_h(fake) + clip_weight * mean arccos(<e_I, e_T>)^2, on
  known logits of two heads of unequal size (1 and 9 positions) fed through
  TextToImageGAN's loss code; each head weighs the same."""
  model = trained_model[1]
  n, fake_value = 8, 0.25
  rng = np.random.default_rng(5)
  real = [rng.uniform(-3, 3, (n, 1)), rng.uniform(-3, 3, (n, 9))]
  fake = [rng.uniform(-3, 3, (n, 1)), rng.uniform(-3, 3, (n, 9))]

  def stub_discriminator(features, text):
    del text  # Real images reach D as -1 (zeros in [0, 1]), fakes as 0.25.
    is_fake = float(features[0, 0, 0, 0]) == fake_value
    return [tf.constant(l, tf.float32) for l in (fake if is_fake else real)]

  monkeypatch.setattr(model, "generator", _StubGenerator(
      model.generator.z_dim, (32, 32, 3), fake_value))
  monkeypatch.setattr(model, "discriminator", stub_discriminator)
  monkeypatch.setattr(model, "features", lambda x, seed=None, seen=None: x)
  monkeypatch.setattr(model, "_batch_size_per_replica", n, raising=False)
  tokens = tf.constant(model.dataset.tokenizer.encode(
      [p for p, _, _ in cp.prompts()["seen"][:n]]))
  text = model.text_embeddings(tokens)

  head_mean = lambda f, logits: np.mean([np.mean(f(l)) for l in logits])
  d_real = head_mean(lambda l: np.maximum(0, 1 - l), real)
  d_fake = head_mean(lambda l: np.maximum(0, 1 + l), fake)
  d_loss, d_terms = model.discriminator_loss(tf.zeros([n, 32, 32, 3]), text)
  assert float(d_terms["d_loss_real"]) == pytest.approx(d_real, rel=1e-5)
  assert float(d_terms["d_loss_fake"]) == pytest.approx(d_fake, rel=1e-5)
  assert float(d_loss) == pytest.approx(d_real + d_fake, rel=1e-5)
  assert float(d_terms["d_real_logits"]) == pytest.approx(
      head_mean(np.asarray, real), rel=1e-4, abs=1e-6)

  e_image = model.clip.encode_image(tf.fill([n, 32, 32, 3],
                                            (fake_value + 1) / 2)).numpy()
  e_text = model.clip.encode_text(tokens).numpy()
  cosine = np.sum(e_image * e_text, 1) / (np.linalg.norm(e_image, axis=1) *
                                           np.linalg.norm(e_text, axis=1))
  guidance = np.mean(np.arccos(cosine) ** 2)
  g_adversarial = head_mean(np.negative, fake)
  g_loss, g_terms = model.generator_loss(tokens, text)
  assert float(g_terms["g_adversarial"]) == pytest.approx(g_adversarial,
                                                          rel=1e-5)
  assert float(g_terms["clip_loss"]) == pytest.approx(guidance, rel=1e-3)
  assert float(g_loss) == pytest.approx(
      g_adversarial + model.clip_weight * guidance, rel=1e-3)
  # Pooling every position of the heads together would weigh the 9-position
  # head 9 times the other; the values above tell the two apart.
  pooled = np.mean(np.maximum(0, 1 + np.concatenate(fake, axis=1)))
  assert abs(pooled - d_fake) > 0.05
  # A confident D (real logits >= 1, fake <= -1) has a zero hinge loss.
  real = [np.full((n, 1), 1.5), np.full((n, 9), 1.0)]
  fake = [np.full((n, 1), -1.0), np.full((n, 9), -2.0)]
  assert float(model.discriminator_loss(tf.zeros([n, 32, 32, 3]), text)[0]) == 0


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
  # DiffAugment's colour ops with the seed's draws b, s, c per sample:
  # x + b (brightness), the deviation from the pixel's channel mean times s
  # (saturation), the deviation from the image mean times c (contrast).
  seed = tf.constant([1, 2])
  b, s, c = (augment._uniform(seed, i, 4, low, high).numpy()  # pylint: disable=protected-access
             for i, (low, high) in enumerate(((-0.5, 0.5), (0.0, 2.0),
                                              (0.5, 1.5)), 1))
  y = x.numpy() + b
  y = (y - y.mean(3, keepdims=True)) * s + y.mean(3, keepdims=True)
  y = (y - y.mean((1, 2, 3), keepdims=True)) * c + y.mean((1, 2, 3),
                                                          keepdims=True)
  np.testing.assert_allclose(
      augment.diff_augment(x, seed, translation=0.0, cutout_ratio=0.0), y,
      atol=1e-5)
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
  # StyleGAN-T's blur: taps 2^(-(t / sigma)^2), |t| <= floor(3 sigma),
  # normalised, separable, zero padding (upfirdn2d.filter2d).
  sigma = 1.3
  taps = np.arange(-3, 4)
  f = 2.0 ** -np.square(taps / sigma)
  f /= f.sum()
  xp = np.pad(x.numpy(), [(0, 0), (3, 3), (3, 3), (0, 0)])
  rows = sum(f[i] * xp[:, :, i:i + 16] for i in range(7))
  expected = sum(f[i] * rows[:, i:i + 16] for i in range(7))
  np.testing.assert_allclose(augment.blur(x, tf.constant(sigma), 2.0).numpy(),
                             expected, atol=1e-5)


def test_guidance_gradient_reaches_the_generator_not_the_conditioning(
    trained_model):
  model = trained_model[1]
  tokens = tf.constant(model.dataset.tokenizer.encode(
      [p for p, _, _ in cp.prompts()["seen"][:8]]))
  model._batch_size_per_replica = 8  # pylint: disable=protected-access
  with tf.GradientTape(persistent=True) as tape:
    text = model.text_embeddings(tokens)
    _, terms = model.generator_loss(tokens, text)
  # The guidance term reaches G's weights through the pair's image encoder.
  g_grads = tape.gradient(terms["clip_loss"], model.generator.trainable_variables)
  assert sum(float(tf.reduce_sum(tf.abs(g))) for g in g_grads if g is not None) > 0
  # The conditioning is a constant: no gradient into the pair's text side.
  assert all(g is None for g in tape.gradient(
      text, model.clip.variables_to_freeze()))
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
  # Row i is prompt i; column j has the same z (seed [0, 0], row j) in every
  # row.
  z = tf.random.stateless_normal([3, model.generator.z_dim], seed=[0, 0])
  text = model.embed_prompts(prompts)
  for row, column in ((0, 0), (1, 2)):
    np.testing.assert_allclose(
        images[row * 3 + column],
        model.generate(z[column:column + 1], text[row:row + 1], 0.5)[0],
        atol=1e-4)
  # psi = 0 collapses a row.
  flat = model.prompt_grid(prompts, columns=3, truncation=0.0)
  np.testing.assert_allclose(flat[0], flat[2], atol=1e-5)
  assert not np.allclose(flat[0], flat[3])
  assert sample.read_prompts(["x"], None) == ["x"]
  with pytest.raises(errors.ConfigError, match="no such file"):
    sample.read_prompts([], str(tmp_path / "missing.txt"))


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
  from compare_gan2.text2image import export  # pylint: disable=g-import-not-at-top
  return export.export(trained, str(tmp_path_factory.mktemp("t2i_hub") / "hub"))


def test_export_loads_with_hub_and_answers_a_string_prompt(trained, exported):
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
  out = exported
  module = hub.load(out)
  prompts = ["A red Triangle, on a white background!", "zebra blue hexagon"]
  z = tf.random.stateless_normal([2, int(module.z_dim.numpy())], seed=[5, 6])
  images = module(tf.constant(prompts), z, tf.constant(0.7))
  assert images.shape == (2, 32, 32, 3)
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


def _saved_model_cli(*args):
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  done = subprocess.run([cli, *args], capture_output=True, text=True,
                        timeout=300,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert done.returncode == 0, done.stderr[-3000:]
  return done.stdout


def test_export_serving_signatures_through_saved_model_cli(exported, tmp_path):
  """serving_default, embed and generate_from_embedding with their dtypes and
  shapes; `saved_model_cli run` with string prompts writes what the module
  returns when called."""
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  module = hub.load(exported)
  z_dim = int(module.z_dim.numpy())
  text_dim = int(module.embed(tf.constant(["a red triangle"])).shape[-1])
  shown = _saved_model_cli("show", "--dir", exported, "--all")
  blocks = {}
  for block in shown.split("signature_def['")[1:]:
    blocks[block.split("']")[0]] = block
  assert {"serving_default", "embed", "generate_from_embedding"} <= set(blocks)

  def has(key, direction, name, dtype, shape):
    part = blocks[key].split("output(s):")[0 if direction == "in" else 1]
    entry = part.split(f"['{name}'] tensor_info:")[1]
    assert f"dtype: {dtype}" in entry.split("name:")[0], (key, name)
    assert f"shape: {shape}" in entry.split("name:")[0], (key, name)
  has("serving_default", "in", "prompts", "DT_STRING", "(-1)")
  has("serving_default", "in", "z", "DT_FLOAT", f"(-1, {z_dim})")
  has("serving_default", "in", "truncation", "DT_FLOAT", "()")
  has("serving_default", "out", "images", "DT_FLOAT", "(-1, 32, 32, 3)")
  has("embed", "in", "prompts", "DT_STRING", "(-1)")
  has("embed", "out", "embeddings", "DT_FLOAT", f"(-1, {text_dim})")
  has("generate_from_embedding", "in", "embeddings", "DT_FLOAT",
      f"(-1, {text_dim})")
  has("generate_from_embedding", "out", "images", "DT_FLOAT",
      "(-1, 32, 32, 3)")

  z = tf.random.stateless_normal([2, z_dim], seed=[3, 4]).numpy()
  np.save(tmp_path / "z.npy", z)
  prompts = ["a red triangle on a white background", "a small blue hexagon"]
  _saved_model_cli(
      "run", "--dir", exported, "--tag_set", "serve", "--signature_def",
      "serving_default", "--inputs", f"z={tmp_path / 'z.npy'}",
      "--input_exprs", f"prompts={prompts!r};truncation=0.7",
      "--outdir", str(tmp_path / "out"))
  written = np.load(tmp_path / "out" / "images.npy")
  called = module(tf.constant(prompts), tf.constant(z), tf.constant(0.7))
  np.testing.assert_allclose(written, called.numpy(), atol=1e-5)
  # The in-process signatures equal the methods of their names.
  text = module.signatures["embed"](prompts=tf.constant(prompts))["embeddings"]
  np.testing.assert_allclose(text, module.embed(tf.constant(prompts)), atol=1e-6)
  from_text = module.signatures["generate_from_embedding"](
      embeddings=text, z=tf.constant(z), truncation=tf.constant(0.7))["images"]
  np.testing.assert_allclose(from_text, called, atol=1e-5)


def test_export_keras_layer_and_empty_prompts(exported):
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  module = hub.load(exported)
  z_dim = int(module.z_dim.numpy())
  layer = hub.KerasLayer(exported, signature="serving_default",
                         signature_outputs_as_dict=True)
  prompts = tf_keras.Input([], dtype=tf.string, name="prompts")
  z = tf_keras.Input([z_dim], name="z")
  images = layer({"prompts": prompts, "z": z,
                  "truncation": tf.constant(0.5)})["images"]
  keras_model = tf_keras.Model([prompts, z], images)
  some_z = tf.random.stateless_normal([2, z_dim], seed=[7, 8])
  words = tf.constant(["a green pentagon", "a purple octagon on black"])
  np.testing.assert_allclose(keras_model([words, some_z]).numpy(),
                             module(words, some_z, tf.constant(0.5)).numpy(),
                             atol=1e-5)
  for bad in (["a red triangle", ""], ["   "], ["?!"]):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="has no word.*give every prompt"):
      module(tf.constant(bad), tf.zeros([len(bad), z_dim]), tf.constant(1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="has no word"):
      module.signatures["embed"](prompts=tf.constant(bad))


@pytest.mark.slow  # A classifier and 280 samples scored (~40 s).
def test_evaluation_scores_seen_and_held_out(trained, pair_dir, tmp_path):
  from compare_gan2.evaluation import classifier  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import evaluate  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  with pytest.raises(errors.ConfigError, match="trained against"):
    evaluate.evaluate(trained, pair_dir, num=100)
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


# ------------------------------------------------ the commands: bad input
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(module, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-m", module, *args],
                        capture_output=True, text=True, cwd=ROOT, env=env,
                        timeout=600, check=False)


def _files(model_dir):
  return sorted(os.path.relpath(os.path.join(d, f), model_dir)
                for d, _, files in os.walk(model_dir) for f in files)


SAMPLE = "compare_gan2.text2image.sample"
EVALUATE = "compare_gan2.text2image.evaluate"


@pytest.mark.parametrize("module,args,fragment", [
    (SAMPLE, ["--prompt="], "--prompt #1 is empty"),
    (SAMPLE, ["--prompt=a red square", "--prompt=   "],
     "--prompt #2 ('   ') is blank"),
    (SAMPLE, ["--prompt=?!"], "--prompt #1 ('?!') has no words"),
    (SAMPLE, ["--columns=0"], "--columns must be an integer in [1, 256], got 0"),
    (SAMPLE, ["--columns=-2"], "--columns must be"),
    (SAMPLE, ["--columns=100000"], "--columns must be"),
    (SAMPLE, ["--truncation=-0.5"], "--truncation must be a number in [0, 1]"),
    (SAMPLE, ["--truncation=1.5"], "--truncation must be"),
    (SAMPLE, ["--truncation=nan"], "--truncation must be"),
    (SAMPLE, ["--seed=-1"], "--seed must be an integer in [0, 2147483647]"),
    (EVALUATE, ["--num=0"], "--num must be an integer in [100, 10000], got 0"),
    (EVALUATE, ["--num=-5"], "--num must be"),
    (EVALUATE, ["--num=1000000"], "--num must be"),
    (EVALUATE, ["--curve_num=1"], "--curve_num must be an integer >= 2"),
    (EVALUATE, ["--truncation=-1"], "--truncation must be"),
    (EVALUATE, ["--curve=1.0,-0.2"], "--curve must be a number in [0, 1]"),
    (EVALUATE, ["--curve=1.0,x"], "--curve must be comma-separated numbers"),
    (EVALUATE, ["--seed=-3"], "--seed must be"),
])
def test_bad_prompts_and_numbers_are_refused_in_one_line(trained, tmp_path,
                                                         module, args, fragment):
  """Before the model is loaded (so the model directory is left as it was)."""
  before = _files(trained)
  out = str(tmp_path / "grid.png")
  common = ([f"--out={out}"] if module == SAMPLE else
            [f"--evaluator_dir={tmp_path}"])
  result = _command(module, f"--model_dir={trained}", *common, *args)
  _assert_one_line_error(result, f"python -m {module}", fragment)
  assert _files(trained) == before
  assert not os.path.exists(out)


def test_eval_num_bound_is_the_test_split():
  from compare_gan2.datasets import polygons  # pylint: disable=g-import-not-at-top
  from compare_gan2.text2image import checks  # pylint: disable=g-import-not-at-top
  assert checks.MAX_EVAL_NUM == polygons.TEST_SIZE
  assert cp.CaptionedPolygonsDataset.eval_test_samples == polygons.TEST_SIZE


def test_sample_warns_of_words_outside_the_vocabulary(trained, tmp_path):
  """Console and the model directory's log: the unknown words, what they
  became, the words past the caption length; known prompts: no warning."""
  out = str(tmp_path / "grid.png")
  long_prompt = ("a large red triangle on a white background in the centre "
                 "with three sides and more words")
  result = _command(SAMPLE, f"--model_dir={trained}", f"--out={out}",
                    "--prompt=a purple dodecahedron flying over zebras",
                    "--prompt=A Red triangle, on a white background!",
                    f"--prompt={long_prompt}", "--columns=2")
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.exists(out)
  unknown = ("Prompt 1 'a purple dodecahedron flying over zebras': 4 word(s) "
             "not in the vocabulary of captioned_polygons_32 (34 words) are "
             "mapped to <unk>: dodecahedron, flying, over, zebras. The model "
             "reads 'a purple <unk> <unk> <unk> <unk>'.")
  dropped = ("Prompt 3 '" + long_prompt + "': 1 word(s) not in the "
             "vocabulary of captioned_polygons_32 (34 words) are mapped to "
             "<unk>: and; 2 word(s) past the caption length (15 words) are "
             "dropped: more, words. The model reads 'a large red triangle on a "
             "white background in the centre with three sides <unk>'.")
  with open(os.path.join(trained, "compare_gan2.log"), encoding="utf-8") as f:
    log = f.read()
  for text in (result.stderr, log):
    warnings = [l for l in text.splitlines() if "Prompt " in l]
    assert len(warnings) == 2, text[-3000:]
    # Warning level: absl's console "W1207 ...", the log file's "... W ...".
    assert all(re.match(r"(W\d{4} |\S+ \S+ W )", w) for w in warnings), warnings
    assert warnings[0].endswith(unknown) and warnings[1].endswith(dropped)


def test_numbers_of_the_gan_are_refused_before_training(pair_dir, tmp_path):
  model_dir = str(tmp_path / "run")
  result = _command(
      "compare_gan2.text2image", f"--model_dir={model_dir}",
      "--gin_config=gin_configs/stylegan_t_captioned_polygons_32.gin",
      f"--gin_bindings=text_to_image_gan.clip_dir = '{pair_dir}'",
      "--gin_bindings=text_to_image_gan.batch_size = 0")
  _assert_one_line_error(result, "python -m compare_gan2.text2image",
                         "text_to_image_gan.batch_size must be an integer >= 1")
  assert not os.path.exists(model_dir)
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  dataset = datasets.get_dataset("captioned_polygons_32")
  for setting, fragment in [
      ({"g_lr": -0.002}, "text_to_image_gan.g_lr must be a number > 0"),
      ({"beta2": 1.0}, "text_to_image_gan.beta2 must be a number in [0, 1)"),
      ({"clip_weight": -1.0}, "clip_weight must be a number >= 0"),
      ({"training_steps": -1}, "training_steps must be an integer >= 0"),
      ({"training_steps": True}, "training_steps must be an integer >= 0, got True"),
      ({"d_lr": float("inf")}, "text_to_image_gan.d_lr must be a number > 0, got inf")]:
    with pytest.raises(errors.ConfigError, match=re.escape(fragment)):
      gan_lib.TextToImageGAN(dataset=dataset, clip_dir=pair_dir, **setting)
  with pytest.raises(errors.ConfigError, match="t2i_generator.z_dim must be"):
    networks.TextConditionalGenerator(32, 8, z_dim=0)
  with pytest.raises(errors.ConfigError, match="virtual_batch must be"):
    networks.ProjectedDiscriminator(8, virtual_batch=0)
