"""The fused resampling convolutions equal compare_gan's two-step formulation
(upsample then conv; conv then average pool), values and gradients."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import gin_setup
from compare_gan2.architectures import arch_ops
from compare_gan2.architectures import resnet_ops


def _direct(x, w, scale, method):
  if scale == "up":
    up = resnet_ops.unpool(x) if method == "unpool" else resnet_ops.nearest_upsample(x)
    return tf.nn.conv2d(up, w, 1, "SAME")
  return resnet_ops.downsample(tf.nn.conv2d(x, w, 1, "SAME"))


def _fused(x, w, scale, method):
  if scale == "up":
    if w.shape[0] == 1:
      return resnet_ops.upsample(tf.nn.conv2d(x, w, 1, "SAME"), method=method)
    return resnet_ops.upsample(x, kernel=w, method=method)
  if w.shape[0] == 1:
    return tf.nn.conv2d(resnet_ops.downsample(x), w, 1, "SAME")
  return resnet_ops.conv_downsample(x, w)


def _value_and_grads(fn, x, w):
  with tf.GradientTape() as tape:
    tape.watch([x, w])
    y = fn(x, w)
    loss = tf.reduce_sum(y * tf.cos(y))  # Non-uniform output gradients.
  return (y,) + tuple(tape.gradient(loss, [x, w]))


@pytest.mark.parametrize("scale,method,k", [
    ("up", "unpool", 3), ("up", "nearest", 3), ("up", "unpool", 1),
    ("up", "nearest", 1), ("down", None, 3), ("down", None, 1)])
def test_fused_resampling_equals_two_steps(scale, method, k):
  rng = np.random.default_rng(0)
  x = tf.constant(rng.normal(size=(3, 8, 6, 5)), tf.float32)  # Not square.
  w = tf.constant(rng.normal(size=(k, k, 5, 7)), tf.float32)
  direct = _value_and_grads(lambda a, b: _direct(a, b, scale, method), x, w)
  fused = _value_and_grads(lambda a, b: _fused(a, b, scale, method), x, w)
  for name, d, f in zip(("value", "d/dx", "d/dkernel"), direct, fused):
    assert d.shape == f.shape
    scale_ = float(tf.reduce_max(tf.abs(d)))
    np.testing.assert_allclose(f.numpy(), d.numpy(), rtol=0, atol=1e-5 * scale_,
                               err_msg=name)


def _biggan(fused, method):
  gin.clear_config()
  gin_setup.parse(bindings=[
      f"resampling.fused = {fused}", f'upsample.method = "{method}"',
      "resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8",
      'resnet_biggan.Generator.blocks_with_attention = "B2"',
      'resnet_biggan.Discriminator.blocks_with_attention = "B1"',
      "G.batch_norm_fn = @conditional_batch_norm", "G.spectral_norm = True",
      "D.spectral_norm = True"])
  from compare_gan2.architectures import resnet_biggan  # pylint: disable=g-import-not-at-top
  arch_ops.set_initialization_seed(3)
  return (resnet_biggan.Generator(image_shape=(32, 32, 3)),
          resnet_biggan.Discriminator())


@pytest.mark.parametrize("method", ["unpool", "nearest"])
def test_biggan_fused_equals_compare_gan_formulation(method):
  rng = np.random.default_rng(1)
  z = tf.constant(rng.normal(size=(4, 20)), tf.float32)
  y = tf.one_hot([0, 1, 2, 3], 4)
  results = []
  for fused in (False, True):
    gen, disc = _biggan(fused, method)
    with arch_ops.no_state_updates():
      gen(z, y, is_training=True)  # Creates the variables.
      disc(tf.zeros([4, 32, 32, 3]), y, is_training=True)
    with tf.GradientTape() as tape:
      with arch_ops.no_state_updates():
        images = gen(z, y, is_training=True)
        _, logits, _ = disc(images, y, is_training=True)
      loss = tf.reduce_mean(logits)
    variables = gen.trainable_variables + disc.trainable_variables
    grads = tape.gradient(loss, variables)
    results.append((images, logits, {v.name: g for v, g in zip(variables, grads)}))
  (img_d, log_d, g_d), (img_f, log_f, g_f) = results
  np.testing.assert_allclose(img_f.numpy(), img_d.numpy(), atol=2e-5)
  np.testing.assert_allclose(log_f.numpy(), log_d.numpy(), rtol=1e-4,
                             atol=1e-4 * float(tf.reduce_max(tf.abs(log_d))))
  assert g_d.keys() == g_f.keys()
  for name in g_d:
    scale = float(tf.reduce_max(tf.abs(g_d[name]))) + 1e-30
    np.testing.assert_allclose(g_f[name].numpy(), g_d[name].numpy(), rtol=0,
                               atol=1e-3 * scale + 1e-6, err_msg=name)
