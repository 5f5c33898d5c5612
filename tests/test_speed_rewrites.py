"""Each speed rewrite equals the direct formulation, values and gradients: the fused
resampling convolutions (compare_gan's upsample then conv; conv then average pool)
and the blocked attention (first and second order, as WGAN-GP needs)."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import gin_setup
from compare_gan2.architectures import attention
from compare_gan2.architectures import initializers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
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


@pytest.mark.parametrize("scale,method", [("up", "unpool"), ("up", "nearest"),
                                          ("down", None)])
def test_fused_resampling_convolutions_pad_same(scale, method):
  """Explicit paddings send Conv2DBackpropInput/-Filter to Eigen kernels 2-3x slower
  than oneDNN's; the fused convolutions and their gradients must say "SAME"."""
  x = tf.TensorSpec([2, 8, 6, 5], tf.float32)
  w = tf.TensorSpec([3, 3, 5, 7], tf.float32)
  step = tf.function(lambda a, b: _value_and_grads(
      lambda c, d: _fused(c, d, scale, method), a, b))
  graph = step.get_concrete_function(x, w).graph
  convs = [op for op in graph.get_operations() if op.type.startswith("Conv2D")]
  assert len(convs) == 3  # The convolution and its two gradients.
  assert {op.get_attr("padding") for op in convs} == {b"SAME"}


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
  initializers.set_initialization_seed(3)
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
    with variable_store.no_state_updates():
      gen(z, y, is_training=True)  # Creates the variables.
      disc(tf.zeros([4, 32, 32, 3]), y, is_training=True)
    with tf.GradientTape() as tape:
      with variable_store.no_state_updates():
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


def _attention_inputs(dtype=tf.float32):
  rng = np.random.default_rng(2)
  return [tf.constant(rng.normal(size=shape), dtype)
          for shape in ([3, 256, 4], [3, 64, 4], [3, 64, 6])]


def test_blocked_attention_equals_direct_values_and_gradients():
  q, k, v = _attention_inputs()
  d_out = tf.constant(np.random.default_rng(3).normal(size=[3, 256, 6]), tf.float32)
  results = []
  for block in (256, 32):  # One block (the direct formula) and 8 blocks.
    with tf.GradientTape(persistent=True) as outer:
      outer.watch([q, k, v])
      with tf.GradientTape() as inner:
        inner.watch([q, k, v])
        out = attention.attention(q, k, v, query_block=block)
        loss = tf.reduce_sum(out * d_out)
      grads = inner.gradient(loss, [q, k, v])
      penalty = sum(tf.reduce_sum(tf.square(g)) for g in grads)
    second = outer.gradient(penalty, [q, k, v])
    results.append([out] + grads + second)
  names = ["value", "dq", "dk", "dv", "d2q", "d2k", "d2v"]
  for name, direct, blocked in zip(names, *results):
    scale = float(tf.reduce_max(tf.abs(direct)))
    assert scale > 0, name
    np.testing.assert_allclose(blocked.numpy(), direct.numpy(), rtol=0,
                               atol=1e-5 * scale, err_msg=name)


@pytest.mark.bf16
def test_blocked_attention_in_bfloat16_keeps_the_dtype():
  q, k, v = _attention_inputs(tf.bfloat16)
  with tf.GradientTape() as tape:
    tape.watch([q, k, v])
    out = attention.attention(q, k, v, query_block=32)
    loss = tf.reduce_sum(tf.cast(out, tf.float32))
  grads = tape.gradient(loss, [q, k, v])
  assert out.dtype == tf.bfloat16 and all(g.dtype == tf.bfloat16 for g in grads)
  direct = attention.attention(*_attention_inputs(), query_block=256)
  np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), direct.numpy(),
                             atol=0.05)


@pytest.mark.parametrize("shape", [(6, 4, 4, 5), (12, 7)])
def test_fused_batch_norm_equals_separate_ops(shape):
  """Training-mode standardize_batch (one FusedBatchNormV3) equals the separate
  moments and normalization (the path taken with a batch_stats_hook), values,
  first and second-order gradients, and moving-average updates."""
  rng = np.random.default_rng(4)
  x = tf.constant(rng.normal(size=shape) * 3 + 1, tf.float32)
  out_grad = tf.constant(rng.normal(size=shape), tf.float32)
  results = []
  for fused in (True, False):
    store = variable_store.VariableStore("bn")
    hook = normalization.batch_stats_hook(lambda *unused: None) if not fused else None
    with variable_store.using_store(store), variable_store.root_scope("bn"):
      with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
          inner.watch(x)
          if hook is None:
            y = normalization.standardize_batch(x, is_training=True, decay=0.5)
          else:
            with hook:
              y = normalization.standardize_batch(x, is_training=True, decay=0.5)
          loss = tf.reduce_sum(y * out_grad)
        grad = inner.gradient(loss, x)
        penalty = tf.reduce_sum(tf.square(grad))
      second = outer.gradient(penalty, x)
    moving = [store[n].numpy() for n in sorted(store.names())]
    results.append([y.numpy(), grad.numpy(), second.numpy()] + moving)
  for i, (f, d) in enumerate(zip(*results)):
    np.testing.assert_allclose(f, d, rtol=1e-4, atol=1e-4 * np.max(np.abs(d)),
                               err_msg=str(i))
