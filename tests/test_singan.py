"""ConSinGAN (compare_gan2/singan): schedule, training, resumption, sampling."""

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.singan import images as images_lib
from compare_gan2.singan import runner
from compare_gan2.singan import sample as sample_lib
from compare_gan2.singan import schedule
from compare_gan2.singan import training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_stage_sizes_golden():
  # (H, W) of every stage, computed once with tohinz/ConSinGAN's own
  # adjust_scales2image + create_reals_pyramid arithmetic (imresize's output
  # size is numpy's ceil(shape * scale)) and written here as numbers.
  # skimage's rocket (427 x 640) with the paper's settings...
  assert schedule.stage_sizes(427, 640) == [(25, 38), (31, 47), (41, 61), (60, 89),
                                            (115, 171), (167, 250)]
  # ... with gin_configs/consingan_cpu.gin (long side 128) ...
  assert schedule.stage_sizes(427, 640, 6, 128) == [
      (25, 38), (29, 43), (35, 51), (44, 66), (68, 100), (86, 128)]
  # ... and with harmonization's settings (3 stages, min_size 120).
  assert schedule.stage_sizes(427, 640, 3, min_size=120, geometric=True) == [
      (120, 180), (142, 212), (167, 250)]
  # Harmonization keeps SinGAN's geometric schedule: more stages high up.
  assert schedule.stage_sizes(427, 640, geometric=True) == [
      (25, 38), (37, 55), (54, 80), (79, 117), (115, 171), (167, 250)]
  assert schedule.stage_sizes(188, 250) == [(25, 34), (32, 42), (42, 56), (63, 84),
                                            (126, 167), (188, 250)]
  assert schedule.stage_sizes(300, 400, 8) == [
      (26, 34), (29, 39), (34, 45), (42, 55), (54, 71), (77, 102), (141, 188),
      (188, 250)]
  assert schedule.stage_sizes(300, 400, 8, geometric=True) == [
      (26, 34), (34, 45), (45, 60), (60, 79), (80, 106), (106, 141), (141, 188),
      (188, 250)]
  assert schedule.stage_sizes(512, 512, 8) == [
      (26, 26), (30, 30), (36, 36), (45, 45), (60, 60), (90, 90), (180, 180),
      (250, 250)]
  assert schedule.stage_sizes(100, 333, 3) == [(25, 83), (44, 144), (76, 250)]
  assert schedule.stage_sizes(48, 64, 3) == [(26, 34), (35, 47), (48, 64)]
  assert schedule.stage_sizes(32, 32) == [(25, 25), (26, 26), (27, 27), (28, 28),
                                          (31, 31), (32, 32)]
  assert schedule.stage_sizes(25, 40) == [(25, 40)] * 6
  # The coarsest short side is 21, not min_size 20: float rounding before ceil.
  assert schedule.stage_sizes(40, 48, 4, min_size=20) == [
      (21, 25), (24, 29), (32, 39), (40, 48)]
  assert schedule.stage_sizes(40, 48, 4, min_size=20, geometric=True) == [
      (21, 25), (26, 31), (32, 39), (40, 48)]
  # Two stages: the official formula is 0/0; ours continues e_0 = N.
  assert schedule.stage_sizes(32, 32, 2) == [(25, 25), (32, 32)]


def test_schedule_errors():
  with pytest.raises(errors.ConfigError, match="short side is below"):
    schedule.stage_sizes(20, 200)
  with pytest.raises(errors.ConfigError, match="train_stages must be an integer >= 2"):
    schedule.stage_sizes(100, 100, 1)


def test_learning_rates_of_the_trained_stages():
  o = training.Options()
  assert training.learning_rates(0, o) == {"tail": 5e-4, "stage0": 5e-4,
                                           "head": 5e-4}
  rates = training.learning_rates(1, o)
  assert rates == pytest.approx({"tail": 5e-4, "stage0": 5e-5, "stage1": 5e-4,
                                 "head": 5e-5})
  rates = training.learning_rates(2, o)
  assert rates == pytest.approx({"tail": 5e-4, "stage0": 5e-6, "stage1": 5e-5,
                                 "stage2": 5e-4, "head": 5e-6})
  rates = training.learning_rates(4, o)
  assert rates == pytest.approx({"tail": 5e-4, "stage2": 5e-6, "stage3": 5e-5,
                                 "stage4": 5e-4})  # No head from stage 3 on.
  o = training.Options(lr_scale=0.5, train_depth=2, lr_g=1e-3)
  assert training.learning_rates(1, o) == pytest.approx(
      {"tail": 1e-3, "stage0": 5e-4, "stage1": 1e-3, "head": 5e-4})
  assert training.learning_rates(5, o) == pytest.approx(
      {"tail": 1e-3, "stage4": 5e-4, "stage5": 1e-3})


def _image(h=32, w=32, seed=0):
  """A smooth random picture in [-1, 1]."""
  rng = np.random.default_rng(seed)
  small = rng.uniform(-1, 1, (1, 6, 6, 3)).astype(np.float32)
  return tf.image.resize(small, (h, w), "bicubic")[0].numpy().clip(-1, 1)


TINY = dict(train_stages=3, train_depth=2, niter=4, nfc=8, num_layer=2,
            min_size=20, save_every=2, sample_every=4, seed=3)


def _run(model_dir, stop_at=None, image=None, **overrides):
  options = training.Options(**dict(TINY, **overrides))
  path = os.path.join(os.path.dirname(model_dir), "image.png")
  if not os.path.exists(path):
    runner.write_png(path, (image if image is not None else _image())[None])
  run = runner.Run(model_dir, path, options)
  run.train(stop_at=stop_at)
  return run


def _weights(gan):
  return {v.name: v.numpy() for v in gan.generator.variables +
          gan.discriminator.variables}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """(model directory, final weights, noise amplitudes) of _run() with TINY,
  trained once for the tests that only read it (copy it to write into it)."""
  model_dir = str(tmp_path_factory.mktemp("trained") / "run")
  run = _run(model_dir)
  return model_dir, _weights(run.gan), run.gan.noise_amp.numpy()


def _copy_of(trained, tmp_path):
  model_dir = str(tmp_path / "run")
  shutil.copytree(trained[0], model_dir)
  return model_dir


def test_only_the_last_train_depth_stages_train(tmp_path, monkeypatch):
  model_dir = str(tmp_path / "run")
  run = _run(model_dir, stop_at=8)  # Stages 0 and 1 done.
  before = _weights(run.gan)
  starts = {}
  start_stage = training.SingleImageGAN.start_stage

  def spy(gan, stage, **kwargs):
    start_stage(gan, stage, **kwargs)
    starts[stage] = _weights(gan)
  monkeypatch.setattr(training.SingleImageGAN, "start_stage", spy)
  run = _run(model_dir)  # Stage 2 (train_depth 2: blocks 1 and 2, tail).
  after = _weights(run.gan)
  changed = {n for n in before if not np.array_equal(before[n], after[n])}
  assert not any(n.startswith("generator/stage0/") for n in changed)
  assert not any(n.startswith("generator/head/") for n in changed)
  for part in ("generator/stage1/", "generator/tail/", "discriminator/"):
    assert any(n.startswith(part) for n in changed), part
  # Block 2 started as a copy of block 1 as trained at the end of stage 1 (the
  # restored checkpoint), then trained.
  assert list(starts) == [2]
  block1 = {n: v for n, v in before.items() if n.startswith("generator/stage1/")}
  assert len(block1) == 4  # Two convolutions: kernel and bias each.
  for name, value in block1.items():
    copy = name.replace("generator/stage1/", "generator/stage2/")
    np.testing.assert_array_equal(starts[2][copy], value, err_msg=copy)
    assert not np.array_equal(after[copy], value), copy
  rates = {name: float(opt.learning_rate.numpy())
           for name, (opt, _, _) in run.gan.optimizers.items()}
  # No decay: the milestone 0.8 * niter = 3.2 comes after the last iteration, 3.
  assert rates == pytest.approx({"stage1": 5e-5, "stage2": 5e-4, "tail": 5e-4,
                                 "discriminator": 5e-4})
  assert os.path.exists(os.path.join(model_dir, "TRAIN_DONE"))
  assert os.path.exists(os.path.join(model_dir, "samples", "stage_2.png"))


def test_new_stage_copies_the_last_block_and_learning_rates_decay():
  gan = training.SingleImageGAN(_image(), training.Options(**dict(TINY, niter=10)))
  gan.start_stage(0)
  gan.train_step(0, tf.constant(0, tf.int64))
  gan.start_stage(1)
  for old, new in zip(gan.generator.body[0].variables,
                      gan.generator.body[1].variables):
    np.testing.assert_array_equal(old.numpy(), new.numpy())
  opt = gan.optimizers["stage1"][0]
  gan.set_learning_rates(7)
  assert float(opt.learning_rate.numpy()) == pytest.approx(5e-4)
  gan.set_learning_rates(8)  # 0.8 * 10
  assert float(opt.learning_rate.numpy()) == pytest.approx(5e-5)


def test_reconstruction_noise_is_fixed_per_seed_and_stage():
  gan = training.SingleImageGAN(_image(), training.Options(**TINY))
  same = training.SingleImageGAN(_image(), training.Options(**TINY))
  other = training.SingleImageGAN(_image(), training.Options(**dict(TINY, seed=4)))
  np.testing.assert_array_equal(gan.fixed_noise(0), gan.reals[0])
  for stage in (1, 2):
    z = gan.fixed_noise(stage).numpy()
    assert z.shape == (1,) + gan.generator.noise_shape(stage, gan.sizes[stage])
    np.testing.assert_array_equal(z, same.fixed_noise(stage))  # Another model.
    assert np.abs(z - other.fixed_noise(stage)).min() > 0  # Another seed.
    assert np.std(z) == pytest.approx(1.0, abs=0.1)
  # Stage 2's noise is not stage 1's (compared where their shapes overlap).
  z1, z2 = gan.fixed_noise(1).numpy(), gan.fixed_noise(2).numpy()
  h, w = min(z1.shape[1], z2.shape[1]), min(z1.shape[2], z2.shape[2])
  assert not np.allclose(z1[:, :h, :w], z2[:, :h, :w])
  # Training does not change it; random noise is another draw.
  gan.start_stage(0)
  gan.start_stage(1)
  z1 = gan.fixed_noise(1).numpy()
  first = gan.reconstruction(2).numpy()
  gan.train_step(1, tf.constant(0, tf.int64))
  np.testing.assert_array_equal(gan.fixed_noise(1), z1)
  assert not np.array_equal(first, gan.reconstruction(2).numpy())  # G learnt.
  assert not np.allclose(gan.random_noise(2, [1, 2])[1], z1)


def test_noise_amplitude_is_a_tenth_of_the_reconstruction_rmse():
  gan = training.SingleImageGAN(_image(), training.Options(**TINY))
  gan.start_stage(0)
  gan.train_step(0, tf.constant(0, tf.int64))
  for stage in (1, 2):
    gan.start_stage(stage)
    # G(z_rec) through stage + 1 stages with stage `stage`'s noise off: its
    # amplitude multiplies z_stage, so set it to 0 here.
    amp = gan.noise_amp.numpy().copy()
    amp[stage:] = 0.0
    noises = [gan.fixed_noise(k) for k in range(stage + 1)]
    rec = gan.generator(noises, gan.sizes[:stage + 1], tf.constant(amp)).numpy()
    rmse = np.sqrt(np.mean((rec.astype(np.float64) - gan.reals[stage].numpy()) ** 2))
    assert float(gan.noise_amp[stage]) == pytest.approx(0.1 * rmse, rel=1e-5)
    assert float(gan.noise_amp[stage]) > 0.001
    gan.train_step(stage, tf.constant(0, tf.int64))


class _QuadraticCritic(tf.Module):
  """D(x)[b, i, j] = sum_c w_c x[b, i, j, c]^2 / 2: dD/dx = w * x."""

  def __init__(self, w):
    super().__init__()
    self.w = tf.constant(w, tf.float32)

  def __call__(self, x):
    return tf.reduce_sum(self.w * tf.square(x), -1, keepdims=True) / 2


def test_gradient_penalty_equals_a_direct_computation():
  gan = training.SingleImageGAN(_image(), training.Options(**TINY))
  w = np.array([0.5, 2.0, 3.0], np.float32)
  gan.discriminator = _QuadraticCritic(w)
  rng = np.random.default_rng(0)
  real, fake = (rng.uniform(-1, 1, (1, 9, 11, 3)).astype(np.float32)
                for _ in range(2))
  penalty = float(gan.gradient_penalty(real, fake, [5, 6]))
  # One mixing weight ~ U(0, 1) per call (the official torch.rand(1, 1)).
  mix = float(tf.random.stateless_uniform([], [5, 6]))
  x = mix * real.astype(np.float64) + (1 - mix) * fake
  norm = np.sqrt(np.sum((w * x) ** 2, axis=-1))  # Over channels, per pixel.
  assert penalty == pytest.approx(np.mean((norm - 1) ** 2), rel=1e-5)
  assert penalty != pytest.approx(float(gan.gradient_penalty(real, fake, [5, 7])))


def test_one_g_gradient_is_applied_g_steps_times(monkeypatch):
  o = training.Options(**dict(TINY, g_steps=3))
  gan = training.SingleImageGAN(_image(), o)
  gan.start_stage(0)
  noises = gan.random_noise(1, [9, 9])
  monkeypatch.setattr(gan, "random_noise", lambda *args, **kwargs: list(noises))
  parts = {name: variables for name, (_, _, variables) in gan.optimizers.items()
           if name != "discriminator"}
  assert sorted(parts) == ["head", "stage0", "tail"]
  start = {name: [v.numpy() for v in vs] for name, vs in parts.items()}
  gan.train_step(0, tf.constant(0, tf.int64))
  end = {name: [v.numpy() for v in vs] for name, vs in parts.items()}
  # The G loss at G's starting weights and the D the step ended with (D's
  # updates come first), written directly, and its gradient.
  for name, vs in parts.items():
    for v, value in zip(vs, start[name]):
      v.assign(value)
  all_vars = [v for vs in parts.values() for v in vs]
  with tf.GradientTape() as tape:
    fake = gan.generator(noises, gan.sizes[:1], gan.noise_amp)
    rec = gan.generator([gan.reals[0]], gan.sizes[:1], gan.noise_amp)
    loss = (-tf.reduce_mean(gan.discriminator(fake))
            + o.alpha * tf.reduce_mean(tf.square(rec - gan.reals[0])))
  grads = dict(zip([v.ref() for v in all_vars], tape.gradient(loss, all_vars)))
  # TF1 Adam (epsilon hat 1e-8) applied g_steps times with that one gradient.
  for name, vs in parts.items():
    lr = training.learning_rates(0, o)[name]
    for v, w0, w1 in zip(vs, start[name], end[name]):
      g = grads[v.ref()].numpy().astype(np.float64)
      w, m, s = w0.astype(np.float64), 0.0, 0.0
      for t in range(1, o.g_steps + 1):
        m = o.beta1 * m + (1 - o.beta1) * g
        s = o.beta2 * s + (1 - o.beta2) * g * g
        w = w - lr * np.sqrt(1 - o.beta2 ** t) / (1 - o.beta1 ** t) * m / (
            np.sqrt(s) + 1e-8)
      np.testing.assert_allclose(w1 - w0, w - w0, rtol=1e-3, atol=1e-7,
                                 err_msg=v.name)
      assert np.abs(w1 - w0).max() > 2.5 * lr  # Three steps of ~lr each.


def test_resumption_mid_stage_is_exact(tmp_path, trained):
  _, expected, noise_amp = trained  # An uninterrupted run.
  _run(str(tmp_path / "cut" / "run"), stop_at=6)  # Stage 1, iteration 2.
  resumed = _run(str(tmp_path / "cut" / "run"))
  got = _weights(resumed.gan)
  assert expected.keys() == got.keys()
  for name in expected:
    np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
  np.testing.assert_array_equal(resumed.gan.noise_amp.numpy(), noise_amp)


def test_samples_at_another_aspect_ratio(tmp_path):
  model_dir = str(tmp_path / "run")
  _run(model_dir, image=_image(32, 40))
  out = str(tmp_path / "wide.png")
  path, shape = sample_lib.write_samples(model_dir, out, num=3, scale_w=2.0)
  assert path == out and os.path.exists(out)
  assert shape == (32, 80, 3)
  gan, _ = runner.load_model(model_dir)
  a = gan.sample(2, [1, 2], 1.5, 1.0).numpy()
  assert a.shape == (2, 48, 40, 3) and np.abs(a).max() <= 1.0
  np.testing.assert_array_equal(a, gan.sample(2, [1, 2], 1.5, 1.0).numpy())


def test_bad_images_are_one_line_and_write_nothing(tmp_path):
  with pytest.raises(errors.ConfigError, match="no such file"):
    images_lib.load_image(str(tmp_path / "missing.png"))
  (tmp_path / "text.png").write_text("not an image")
  with pytest.raises(errors.ConfigError, match="not an image file"):
    images_lib.load_image(str(tmp_path / "text.png"))
  small = str(tmp_path / "small.png")
  runner.write_png(small, _image(16, 16)[None])
  with pytest.raises(errors.ConfigError, match="below the coarsest stage"):
    runner.Run(str(tmp_path / "run"), small, training.Options(**TINY))
  assert not (tmp_path / "run").exists()


def test_command_line_bad_input_creates_nothing(tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.singan", "--image=/no/such.png",
       f"--model_dir={tmp_path / 'run'}"], capture_output=True, text=True,
      cwd=ROOT, env=env, timeout=300, check=False)
  assert result.returncode == 1, result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("python -m compare_gan2.singan: error: --image=/no/such.png"
                         ": no such file"), last
  assert not (tmp_path / "run").exists()


def test_bundled_photographs():
  pytest.importorskip("skimage")
  image = images_lib.load_image("skimage:rocket")
  assert image.shape[2] == 3 and -1 <= image.min() < image.max() <= 1
  with pytest.raises(errors.ConfigError, match="it has: .*chelsea"):
    images_lib.load_image("skimage:no_such_photo")


def test_hub_module_loads_and_answers_any_size(tmp_path):
  hub = pytest.importorskip("tensorflow_hub")
  from compare_gan2.singan import export as export_lib  # pylint: disable=g-import-not-at-top
  model_dir = str(tmp_path / "run")
  _run(model_dir, stop_at=4)
  with pytest.raises(errors.ConfigError, match="finish the training first"):
    export_lib.export(model_dir)
  _run(model_dir)
  path = export_lib.export(model_dir)
  assert path == os.path.join(model_dir, "tfhub", "12")
  module = hub.load(path)
  images = module(num=tf.constant(2), scale_h=tf.constant(1.0),
                  scale_w=tf.constant(1.5), seed=tf.constant([4, 5])).numpy()
  assert images.shape == (2, 32, 48, 3) and np.abs(images).max() <= 1.0
  gan, _ = runner.load_model(model_dir)
  np.testing.assert_allclose(images, gan.sample(2, [4, 5], 1.0, 1.5).numpy(),
                             atol=1e-5)
  served = module.signatures["serving_default"](
      num=tf.constant(1), scale_h=tf.constant(2.0), scale_w=tf.constant(1.0),
      seed=tf.constant([0, 0]))
  assert list(served.values())[0].shape == (1, 64, 32, 3)


def test_diversity_and_patch_fid_equal_direct_formulations():
  from compare_gan2.metrics import single_image  # pylint: disable=g-import-not-at-top
  from compare_gan2.metrics import fid  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(1)
  image = rng.uniform(-1, 1, (12, 14, 3))
  samples = np.stack([image, -image, 0.5 * image])
  per_pixel = np.array([[[np.std(samples[:, i, j, c]) for c in range(3)]
                         for j in range(14)] for i in range(12)])
  assert single_image.diversity(samples, image) == pytest.approx(
      per_pixel.mean() / image.std())
  assert single_image.diversity(np.stack([image, image]), image) == 0.0
  direct = np.array([image[i:i + 7, j:j + 7].reshape(-1)
                     for i in range(0, 6, 2) for j in range(0, 8, 2)])
  np.testing.assert_array_equal(single_image.patches(image, 7, 2), direct)
  assert single_image.patch_fid(samples[:1], image) == pytest.approx(0, abs=1e-4)
  shifted = single_image.patch_fid(samples[2:], image, stride=2)
  assert shifted == pytest.approx(fid.frechet_distance_from_activations(
      direct, single_image.patches(samples[2], 7, 2)))
  assert shifted > 0.01


def test_evaluate_writes_scores(tmp_path, trained):
  from compare_gan2.singan import evaluate as evaluate_lib  # pylint: disable=g-import-not-at-top
  model_dir = _copy_of(trained, tmp_path)
  scores = evaluate_lib.evaluate(model_dir, num=4, batch=3)
  assert set(scores) == {"checkpoint", "num_samples", "diversity", "patch_fid",
                         "diversity_wide", "patch_fid_wide"}
  assert scores["diversity"] > 0 and scores["patch_fid"] > 0
  import json  # pylint: disable=g-import-not-at-top
  with open(os.path.join(model_dir, "scores.json")) as f:
    assert json.load(f) == scores


@pytest.mark.parametrize("mode", ["harmonization", "editing"])
def test_harmonization_and_editing(tmp_path, mode, trained):
  from compare_gan2.singan import harmonize  # pylint: disable=g-import-not-at-top
  model_dir = trained[0]  # Read only.
  image = _image()
  naive = image.copy()
  naive[8:16, 8:16] = [1.0, -1.0, -1.0]  # A red square pasted in.
  mask = -np.ones_like(image)
  mask[8:16, 8:16] = 1.0
  runner.write_png(str(tmp_path / "naive.png"), naive[None])
  runner.write_png(str(tmp_path / "mask.png"), mask[None])
  out = harmonize.run(model_dir, str(tmp_path / "naive.png"),
                      str(tmp_path / "out.png"), str(tmp_path / "mask.png"),
                      fine_tune=2, mode=mode)
  result = images_lib.load_image(out)
  assert result.shape == (32, 32, 3)
  if mode == "harmonization":  # Editing's dilation (20 px) covers this image.
    # Far from the dilated mask the output is the naive image (up to rounding).
    np.testing.assert_allclose(result[28:, 28:], images_lib.load_image(
        str(tmp_path / "naive.png"))[28:, 28:], atol=2 / 255)
  assert np.abs(result[10:14, 10:14] - naive[10:14, 10:14]).max() > 0.05
  soft = harmonize.soft_mask(np.pad(np.ones((2, 2)), 10), radius=3)
  assert soft.max() == 1.0 and soft.min() == 0.0 and soft[11, 11] == 1.0


def test_learning_rates_decay_from_80_percent_of_the_iterations():
  gan = training.SingleImageGAN(_image(), training.Options(**TINY))
  gan.start_stage(0)
  # The official MultiStepLR(milestones=[0.8 * niter]) under its PyTorch 1.1.0
  # (bisect_right): decayed at every iteration >= 0.8 * niter.
  for iteration, niter, lr in [(3, 4, 5e-4), (3, 5, 5e-4), (4, 5, 5e-5),
                               (5, 7, 5e-4), (6, 7, 5e-5), (1599, 2000, 5e-4),
                               (1600, 2000, 5e-5), (1999, 2000, 5e-5)]:
    gan.set_learning_rates(iteration, niter=niter)
    for name, (opt, _, _) in gan.optimizers.items():
      assert float(opt.learning_rate.numpy()) == pytest.approx(lr), (
          name, iteration, niter)


def test_fine_tuning_keeps_the_noise_amplitude_and_trains_the_last_stage(
    monkeypatch, trained):
  from compare_gan2.singan import harmonize  # pylint: disable=g-import-not-at-top
  gan, _ = runner.load_model(trained[0])
  amp = gan.noise_amp.numpy().copy()
  before = _weights(gan)
  naive_first = tf.constant(_image(*gan.sizes[0], seed=5)[None])
  inputs = []
  first_input = harmonize.first_input

  def spy(*args):
    inputs.append(first_input(*args).numpy())
    return inputs[-1]
  monkeypatch.setattr(harmonize, "first_input", spy)
  harmonize.fine_tune_last_stage(gan, naive_first, 5, noise=0.1, seed=7)
  # The trained amplitudes are kept (the official fine-tuning loads them).
  assert amp[1] > 0 and amp[2] > 0
  np.testing.assert_array_equal(gan.noise_amp.numpy(), amp)
  # Stage 2's parts train, at its rates x gamma from iteration 4 = 0.8 * 5 on.
  rates = {name: float(opt.learning_rate.numpy())
           for name, (opt, _, _) in gan.optimizers.items()}
  assert rates == pytest.approx({"stage1": 5e-6, "stage2": 5e-5, "tail": 5e-5,
                                 "discriminator": 5e-5})
  after = _weights(gan)
  changed = {n for n in before if not np.array_equal(before[n], after[n])}
  for part in ("generator/stage1/", "generator/stage2/", "generator/tail/",
               "discriminator/"):
    assert any(n.startswith(part) for n in changed), part
  assert not any(n.startswith(("generator/stage0/", "generator/head/"))
                 for n in changed)
  # Editing's noise is redrawn every iteration, reproducibly.
  assert len(inputs) == 5
  for iteration, x in enumerate(inputs):
    np.testing.assert_array_equal(x, first_input(naive_first, iteration, 0.1, 7))
    assert np.std((x - naive_first.numpy()) / 0.1) == pytest.approx(1, abs=0.25)
  assert np.abs(inputs[0] - inputs[1]).mean() > 0.05
  assert first_input(naive_first, 3, 0.0, 7) is naive_first  # Harmonization.


class _StandInInception(tf.Module):
  """tfgan Inception's call signature ([N, 299, 299, 3] in [-1, 1] ->
  {"pool_3", "logits"}) around conv -> max pool -> conv -> max pool."""

  def __init__(self, branches=1):
    super().__init__()
    rng = np.random.default_rng(0)
    self.kernels = [tf.Variable(rng.normal(0, 0.5, (3, 3, 3, 4)).astype(
        np.float32)) for _ in range(branches)]
    self.kernel2 = tf.Variable(rng.normal(0, 0.5, (3, 3, 4, 8)).astype(
        np.float32))

  def first_pool(self, images, kernel):
    return tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(images, kernel, 2,
                                                    "VALID")), 3, 2, "VALID")

  @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3])])
  def __call__(self, images):
    pooled = sum(self.first_pool(images, k) for k in self.kernels)
    deeper = tf.nn.max_pool2d(tf.nn.conv2d(pooled, self.kernel2, 1, "SAME"),
                              3, 2, "VALID")
    n = tf.shape(images)[0]
    return {"pool_3": tf.reshape(tf.pad(tf.reduce_mean(deeper, [1, 2]),
                                        [[0, 0], [0, 2040]]), [n, 1, 1, 2048]),
            "logits": tf.zeros([n, 1008])}


def test_sifid_on_the_first_pooling_maps_of_eval_inception_handle(tmp_path,
                                                                 trained):
  from compare_gan2.evaluation import feature_extractors as fe  # pylint: disable=g-import-not-at-top
  from compare_gan2.metrics import fid  # pylint: disable=g-import-not-at-top
  from compare_gan2.metrics import single_image  # pylint: disable=g-import-not-at-top
  from compare_gan2.singan import evaluate as evaluate_lib  # pylint: disable=g-import-not-at-top
  inception = _StandInInception()
  handle = str(tmp_path / "inception")
  tf.saved_model.save(inception, handle)
  maps = fe.InceptionFirstPoolMaps(handle, batch_size=2)
  images = np.random.default_rng(1).uniform(0, 1, (3, 20, 24, 3)).astype(
      np.float32)
  direct = inception.first_pool(fe.preprocess_for_inception(images),
                                inception.kernels[0]).numpy()
  assert direct.shape == (3, 74, 74, 4)
  np.testing.assert_allclose(maps(images), direct, atol=1e-5)

  model_dir = _copy_of(trained, tmp_path)
  scores = evaluate_lib.evaluate(model_dir, num=3, inception_handle=handle)
  gan, _ = runner.load_model(model_dir)
  image = (gan.reals[-1][0].numpy() + 1) / 2
  samples = (gan.sample(3, [0, 0]).numpy() + 1) / 2
  real = maps(image[None])[0].reshape(-1, 4)
  expected = np.mean([fid.frechet_distance_from_activations(
      real, f.reshape(-1, 4)) for f in maps(samples)])
  assert scores["sifid"] == pytest.approx(expected, rel=1e-6)
  assert single_image.sifid(maps(image[None])[0], maps(image[None])) == (
      pytest.approx(0, abs=1e-6))
  # The command reads the handle from gin `eval.inception_handle`.
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.singan.evaluate",
       f"--model_dir={model_dir}", "--num=3", "--sifid",
       f"--gin_bindings=eval.inception_handle = '{handle}'"],
      capture_output=True, text=True, cwd=ROOT,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  with open(os.path.join(model_dir, "scores.json")) as f:
    assert json.load(f)["sifid"] == pytest.approx(expected, rel=1e-4)


def test_sifid_refuses_a_network_without_one_first_pooling_layer(tmp_path):
  from compare_gan2.evaluation import feature_extractors as fe  # pylint: disable=g-import-not-at-top
  handle = str(tmp_path / "two_branches")
  tf.saved_model.save(_StandInInception(branches=2), handle)
  with pytest.raises(fe.FeatureExtractorError, match="found 2"):
    fe.InceptionFirstPoolMaps(handle)
  with pytest.raises(fe.FeatureExtractorError, match="eval.inception_handle"):
    fe.InceptionFirstPoolMaps(str(tmp_path / "missing"))


def test_a_32px_image_with_two_stages_trains_in_seconds(tmp_path):
  import time  # pylint: disable=g-import-not-at-top
  start = time.time()
  run = _run(str(tmp_path / "run"), train_stages=2, niter=3, save_every=3,
             sample_every=3)
  assert run.gan.sizes == ((20, 20), (32, 32))
  assert run.gan.generator.num_stages == 2
  assert os.path.exists(str(tmp_path / "run" / "TRAIN_DONE"))
  assert time.time() - start < 120  # Seconds on an idle machine; loose bound.


def test_augmented_inputs_are_deterministic_per_iteration():
  from compare_gan2.singan import augment  # pylint: disable=g-import-not-at-top
  image = _image(40, 48)
  for make in (augment.harmonization_input, augment.editing_input):
    a = make(image, 0, 1, 5)
    assert a.shape == image.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, make(image, 0, 1, 5))
    assert not np.array_equal(a, make(image, 0, 1, 6))
    assert not np.array_equal(a, image)
  # Over many draws, harmonization cuts a hole (9 in 10) and keeps the range.
  draws = [augment.harmonization_input(image, 0, 0, i) for i in range(20)]
  assert all(-1 <= d.min() and d.max() <= 1 for d in draws)
  assert sum(not np.allclose(d, image) for d in draws) >= 15


def test_harmonization_augmentation_frequencies_match_the_official_pipeline():
  from compare_gan2.singan import augment  # pylint: disable=g-import-not-at-top
  n = 20000
  colours, cutouts = {}, 0
  for i in range(n):
    colour, cutout = augment.harmonization_choice(0, i % 3, i)
    colours[colour] = colours.get(colour, 0) + 1
    cutouts += cutout
  # tohinz/ConSinGAN's Augment under albumentations 0.4.3: OneOf(p=0.25) whose
  # children are weighted by their p: three OneOfs (p 0.5) and the HSV shift
  # (p 0.1), so 0.5 / 1.6 = 0.3125 and 0.1 / 1.6 = 0.0625; the noise OneOf's
  # children have p 0.2, 0.5, 0.5 (of 1.2); the others two children of p 0.5.
  # Then Cutout(p=0.9).
  group = 0.25 * 0.3125
  expected = {None: 0.75, "multiplicative_noise": group * 0.2 / 1.2,
              "iaa_gaussian_noise": group * 0.5 / 1.2,
              "gaussian_noise": group * 0.5 / 1.2, "invert": group / 2,
              "sepia": group / 2, "channel_drop": group / 2,
              "channel_shuffle": group / 2, "hsv_shift": 0.25 * 0.0625}
  assert sum(expected.values()) == pytest.approx(1.0)
  assert set(colours) == set(expected)
  for name, p in list(expected.items()) + [("cutout", 0.9)]:
    seen = (cutouts if name == "cutout" else colours[name]) / n
    assert abs(seen - p) < 4 * math.sqrt(p * (1 - p) / n), (name, seen, p)


def test_each_harmonization_transform_does_what_its_name_says():
  from compare_gan2.singan import augment  # pylint: disable=g-import-not-at-top
  image = _image(30, 36)
  found = {}
  for i in range(3000):
    colour, cutout = augment.harmonization_choice(1, 0, i)
    if not cutout and colour not in found:
      found[colour] = augment.harmonization_input(image, 1, 0, i)
  assert len(found) == 9
  np.testing.assert_array_equal(found[None], image)
  np.testing.assert_allclose(found["invert"], -image, atol=1e-6)  # 255 - x.
  dropped = [c for c in range(3) if np.all(found["channel_drop"][..., c] == -1)]
  assert len(dropped) == 1
  kept = [c for c in range(3) if c not in dropped]
  np.testing.assert_allclose(found["channel_drop"][..., kept], image[..., kept],
                             atol=1e-6)
  perm = [[c for c in range(3) if np.allclose(found["channel_shuffle"][..., k],
                                              image[..., c], atol=1e-6)]
          for k in range(3)]
  assert sorted(p[0] for p in perm) == [0, 1, 2]
  # albumentations 0.4.3 clips these to [0, 1] of the official [0, 255]
  # float image: (almost) black.
  for name in ("multiplicative_noise", "gaussian_noise", "sepia", "hsv_shift"):
    assert found[name].max() <= -1 + 2 / 255 + 1e-6, name
  # imgaug's noise: integers of 255, one noise value for the three channels.
  iaa = (found["iaa_gaussian_noise"] + 1) * 127.5
  np.testing.assert_allclose(iaa, np.round(iaa), atol=1e-3)
  noise = iaa - np.trunc((image.astype(np.float64) + 1) * 127.5)
  inside = (iaa > 0.5).all(-1) & (iaa < 254.5).all(-1)  # Unclipped pixels.
  np.testing.assert_allclose(noise[inside][:, 0], noise[inside][:, 2], atol=1e-3)
  assert 1.5 < noise[inside].std() < 13


def test_cutout_holes_share_a_size_centred_and_clipped_at_the_border():
  from compare_gan2.singan import augment  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  counts, truncated, colours = {1: 0, 2: 0}, 0, set()
  for _ in range(2000):
    boxes, colour, (size_h, size_w) = augment.cutout_holes(rng, 40, 50)
    counts[len(boxes)] += 1
    colours.update(int(c) for c in colour)
    low, high = (30, 60) if len(boxes) == 1 else (15, 30)
    assert low <= size_h <= high and low <= size_w <= high
    for top, bottom, left, right in boxes:
      assert 0 <= top <= bottom <= 40 and 0 <= left <= right <= 50
      # albumentations 0.4.3: [centre - size // 2, centre + size // 2), clipped.
      if 0 < top and bottom < 40:
        assert bottom - top == 2 * (size_h // 2)
      if 0 < left and right < 50:
        assert right - left == 2 * (size_w // 2)
      truncated += top == 0 and 0 < bottom - top < 2 * (size_h // 2)
  assert abs(counts[1] - 1000) < 4 * math.sqrt(500)
  assert truncated > 100  # Clipped at the border, not moved inside.
  assert min(colours) == 0 and max(colours) == 256


def test_shuffle_grid_tiles_move_back_or_forward_on_both_axes():
  from compare_gan2.singan import augment  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  counts, signs = {}, set()
  for _ in range(2000):
    tiles = augment.shuffle_tiles(rng, 40, 60)
    counts[len(tiles)] = counts.get(len(tiles), 0) + 1
    for x, y, w, h, x_new, y_new in tiles:
      assert 0 <= x_new and x_new + w <= 40 and 0 <= y_new and y_new + h <= 60
      assert 0 <= w <= int(40 * 0.5) and 0 <= h <= int(60 * 0.5)
      dx, dy = x_new - x, y_new - y
      assert dx * dy >= 0, (dx, dy)  # One sign for both axes.
      signs.add((np.sign(dx), np.sign(dy)))
  assert {(1, 1), (-1, -1)} <= signs
  assert sorted(counts) == [1, 2, 3, 4, 5]
  assert all(abs(c - 400) < 4 * math.sqrt(320) for c in counts.values())
  # editing_input copies the tiles from the original image, then adds noise.
  image = _image(40, 60)
  edited = augment.editing_input(image, 2, 1, 3, noise=0.0)
  expected = image.copy()
  for x, y, w, h, x_new, y_new in augment.shuffle_tiles(
      augment._rng(2, 1, 3), 40, 60):  # pylint: disable=protected-access
    expected[x_new:x_new + w, y_new:y_new + h] = image[x:x + w, y:y + h]
  np.testing.assert_array_equal(edited, expected)


def test_generator_batch_norm_uses_batch_statistics():
  from compare_gan2.singan import networks  # pylint: disable=g-import-not-at-top
  conv = networks.Conv(np.random.default_rng(0), 3, 8, "x", activation=False,
                       batch_norm=True)
  y = conv(tf.random.stateless_normal([1, 12, 12, 3], [1, 2]) * 3 + 1).numpy()
  np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), conv.beta.numpy(), atol=1e-4)
  np.testing.assert_allclose(y.std(axis=(0, 1, 2)), np.abs(conv.gamma.numpy()),
                             rtol=1e-3)


def test_batch_norm_models_sample_one_image_at_a_time():
  from compare_gan2.singan import export as export_lib  # pylint: disable=g-import-not-at-top
  gan = training.SingleImageGAN(_image(), training.Options(
      **dict(TINY, train_mode="editing", batch_norm=True)))
  for stage in range(3):
    gan.start_stage(stage)
  images = gan.sample(3, [1, 2]).numpy()
  noises = gan.random_noise(3, [1, 2], batch=3)
  for i in range(3):  # Image i is G of its noise alone (its own statistics).
    alone = gan.generator([z[i:i + 1] for z in noises], gan.sizes,
                          gan.noise_amp).numpy()
    np.testing.assert_allclose(images[i], alone[0], atol=1e-5)
  # A batch through G at once would share batch statistics: other images.
  together = gan.generator(noises, gan.sizes, gan.noise_amp).numpy()
  assert np.abs(together - images).max() > 1e-2
  # The Hub module does the same.
  module = export_lib.ConSinGANModule(gan)
  served = module(num=tf.constant(3), scale_h=tf.constant(1.0),
                  scale_w=tf.constant(1.0), seed=tf.constant([1, 2])).numpy()
  np.testing.assert_allclose(served, images, atol=1e-5)


@pytest.mark.parametrize("mode", ["harmonization", "editing"])
def test_harmonization_and_editing_training_modes(tmp_path, mode):
  from compare_gan2.singan import harmonize  # pylint: disable=g-import-not-at-top
  model_dir = str(tmp_path / "run")
  run = _run(model_dir, image=_image(40, 40), train_mode=mode, batch_norm=True,
             lrelu_slope=0.3, niter=2, save_every=2, sample_every=2)
  gan = run.gan
  if mode == "harmonization":  # SinGAN's geometric schedule.
    assert gan.sizes == tuple(schedule.stage_sizes(40, 40, 3, 250, 20,
                                                   geometric=True))
  assert gan.generator.noise_shape(1, gan.sizes[1]) == gan.sizes[1] + (8,)
  assert gan.generator.num_stages == 3
  assert any("gamma" in v.name for v in gan.generator.variables)
  runner.write_png(str(tmp_path / "naive.png"), _image(40, 40, seed=5)[None])
  out = harmonize.run(model_dir, str(tmp_path / "naive.png"),
                      str(tmp_path / "out.png"), fine_tune=1, mode=mode)
  assert images_lib.load_image(out).shape == (40, 40, 3)


def test_retarget_mode(tmp_path):
  from compare_gan2.singan import networks  # pylint: disable=g-import-not-at-top
  run = _run(str(tmp_path / "run"), image=_image(40, 48), train_mode="retarget",
             train_stages=4, niter=2, save_every=2, sample_every=2)
  gan = run.gan
  assert os.path.exists(str(tmp_path / "run" / "TRAIN_DONE"))
  # ConSinGAN's schedule, as generation (harmonization's geometric one has
  # (26, 31) at stage 1); golden sizes from the official arithmetic.
  assert gan.sizes == ((21, 25), (24, 29), (32, 39), (40, 48))
  # Noise of each stage's own size (generation's is 2 * num_layer larger), a
  # fresh Gaussian z_0 in training, the coarsest image as z_rec's.
  assert gan.fixed_noise(2).shape == (1, 32, 39, 8)
  assert gan.first_input(1, 0) is None
  np.testing.assert_array_equal(gan.fixed_noise(0), gan.reals[0])
  assert all(float(gan.noise_amp[k]) > 0 for k in (1, 2, 3))
  # The official forward of this mode (models.py's GrowingGenerator when
  # train_mode is neither generation nor animation), written directly.
  def pad(x, p):
    return tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
  g, noises = gan.generator, gan.random_noise(4, [3, 4])
  features = g.body[0](pad(g.head(pad(noises[0], 1)), 2))
  for k in range(1, 4):
    upsampled = networks.resize_aligned(features, gan.sizes[k])
    features = g.body[k](pad(upsampled + gan.noise_amp[k] * noises[k], 2)) + \
        upsampled
  np.testing.assert_allclose(g(noises, gan.sizes, gan.noise_amp),
                             tf.tanh(g.tail(pad(features, 1))), atol=1e-5)
  assert gan.sample(2, [0, 1], 1.0, 2.0).shape == (2, 40, 96, 3)


@pytest.mark.parametrize("config, mode", [
    ("consingan_paper.gin", "generation"), ("consingan_cpu.gin", "generation"),
    ("consingan_retarget.gin", "retarget"),
    ("consingan_harmonization.gin", "harmonization"),
    ("consingan_editing.gin", "editing")])
def test_shipped_gin_files(config, mode):
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  try:
    gin_setup.parse([os.path.join(ROOT, "gin_configs", config)])
    options = training.consingan_options()
  finally:
    gin.clear_config()
  assert options.train_mode == mode
  if mode == "retarget":  # The official defaults otherwise.
    assert options == training.Options(train_mode="retarget")


def test_bad_options_and_flags_are_config_errors(tmp_path):
  from compare_gan2.singan import harmonize  # pylint: disable=g-import-not-at-top
  for bad in [dict(seed=-1), dict(seed=2_000_001), dict(lr_g=0.0),
              dict(lr_d=-1e-4), dict(beta1=1.0), dict(gamma=0.0),
              dict(noise_amp=-0.1), dict(lambda_grad=float("nan")),
              dict(min_size=10), dict(min_size=300), dict(niter=0),
              dict(train_stages=1), dict(train_mode="animation")]:
    name = list(bad)[0]
    with pytest.raises(errors.ConfigError, match=f"consingan.{name} must be"):
      training.consingan_options(**bad)
  model_dir, out = str(tmp_path / "none"), str(tmp_path / "out.png")
  for kwargs, message in [
      (dict(num=0), r"--num must be an integer in \[1, 256\]"),
      (dict(num=257), "--num must be an integer in"),
      (dict(num=True), "--num must be an integer in"),
      (dict(columns=0), "--columns must be an integer >= 1"),
      (dict(scale_w=0.0), "--scale_w must be a number > 0"),
      (dict(scale_h=-1.0), "--scale_h must be a number > 0"),
      (dict(scale_h=float("nan")), "--scale_h must be a number > 0, got nan"),
      (dict(seed=2**31), r"--seed must be an integer in \[-2147483648, "
       r"2147483647\], got 2147483648; a 32-bit seed\.")]:
    with pytest.raises(errors.ConfigError, match=message):
      sample_lib.write_samples(model_dir, out, **kwargs)
  from compare_gan2.singan import evaluate as evaluate_lib  # pylint: disable=g-import-not-at-top
  for num in (1, 1001):
    with pytest.raises(errors.ConfigError, match=r"--num must be an integer in "
                       r"\[2, 1000\], got \d+; diversity compares samples\."):
      evaluate_lib.evaluate(model_dir, num=num)
  with pytest.raises(errors.ConfigError, match="--fine_tune must be an integer >= 0"):
    harmonize.run(model_dir, out, out, fine_tune=-1)
  with pytest.raises(errors.ConfigError, match="--seed must be an integer in"):
    harmonize.run(model_dir, out, out, seed=-2**31 - 1)
  assert not os.path.exists(model_dir) and not os.path.exists(out)


def test_command_line_bad_numbers_are_one_line(tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  model_dir, out = str(tmp_path / "run"), str(tmp_path / "out.png")
  commands = {
      "sample": ["--num=0", f"--out={out}"],
      "harmonize": [f"--naive={out}", f"--out={out}", "--fine_tune=-1"]}
  processes = {name: subprocess.Popen(
      [sys.executable, "-m", f"compare_gan2.singan.{name}",
       f"--model_dir={model_dir}"] + flags, cwd=ROOT, env=env,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, flags in commands.items()}
  expected = {"sample": "--num must be an integer in [1, 256], got 0.",
              "harmonize": "--fine_tune must be an integer >= 0, got -1."}
  for name, process in processes.items():
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last == (f"python -m compare_gan2.singan.{name}: error: "
                    f"{expected[name]}"), last
  assert not os.path.exists(out)


def _cli_train(image, model_dir, bindings):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.Popen(
      [sys.executable, "-m", "compare_gan2.singan", f"--image={image}",
       f"--model_dir={model_dir}"] + [f"--gin_bindings={b}" for b in bindings],
      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
      text=True)


@pytest.mark.slow
def test_kill_9_mid_stage_then_resume_equals_uninterrupted(tmp_path):
  import signal  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  image = str(tmp_path / "image.png")
  runner.write_png(image, _image()[None])
  bindings = ["consingan.train_stages = 3", "consingan.niter = 40",
              "consingan.nfc = 8", "consingan.num_layer = 2",
              "consingan.min_size = 20", "consingan.save_every = 5",
              "consingan.sample_every = 40", "consingan.seed = 3"]
  full = str(tmp_path / "full")
  assert _cli_train(image, full, bindings).wait(timeout=600) == 0
  cut = str(tmp_path / "cut")
  process = _cli_train(image, cut, bindings)
  checkpoints_dir = os.path.join(cut, "checkpoints")
  deadline = time.time() + 600
  while time.time() < deadline:  # Kill once stage 1 has a checkpoint mid-stage.
    latest = tf.train.latest_checkpoint(checkpoints_dir) if os.path.isdir(
        checkpoints_dir) else None
    if latest and 45 <= int(latest.rsplit("-", 1)[1]) < 80:
      break
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert not os.path.exists(os.path.join(cut, "TRAIN_DONE"))
  assert _cli_train(image, cut, bindings).wait(timeout=600) == 0  # Resume.
  expected = tf.train.load_checkpoint(tf.train.latest_checkpoint(
      os.path.join(full, "checkpoints")))
  got = tf.train.load_checkpoint(tf.train.latest_checkpoint(checkpoints_dir))
  names = [n for n in expected.get_variable_to_shape_map()
           if n.startswith(("generator/", "discriminator/", "noise_amp"))]
  assert len(names) > 20
  for name in names:
    np.testing.assert_array_equal(got.get_tensor(name), expected.get_tensor(name),
                                  err_msg=name)
