"""Tests for the variable store, initializers and layers (variable_store,
initializers, weight_ops, layers, normalization, attention)."""

import functools
import os
import subprocess
import sys
import textwrap

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import utils
from compare_gan2.architectures import attention
from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.architectures import weight_ops

# 4 images of 2x1 pixels with 3 channels (compare_gan's arch_ops_test input).
BN_INPUT = np.array(
    [[[[5, 7, 2]], [[5, 8, 8]]],
     [[[1, 2, 0]], [[4, 0, 4]]],
     [[[6, 2, 6]], [[5, 0, 5]]],
     [[[2, 4, 2]], [[6, 4, 1]]]], dtype=np.float32)
# compare_gan's golden values (epsilon 1e-3, biased variance).
BN_EXPECTED = np.array(
    [[[[0.4375205, 1.30336881, -0.58830315]],
      [[0.4375205, 1.66291881, 1.76490951]]],
     [[[-1.89592218, -0.49438119, -1.37270737]],
      [[-0.14584017, -1.21348119, 0.19610107]]],
     [[[1.02088118, -0.49438119, 0.98050523]],
      [[0.4375205, -1.21348119, 0.58830321]]],
     [[[-1.31256151, 0.22471881, -0.58830315]],
      [[1.02088118, 0.22471881, -0.98050523]]]], dtype=np.float32)


@pytest.fixture(autouse=True)
def fixed_seed():
  initializers.set_initialization_seed(1234)
  yield




def _mirrored():
  """The shared 2-replica MirroredStrategy (see tf_test_utils)."""
  return tf_test_utils.two_replica_strategy()


def _np(t):
  return np.asarray(t)


# ---------------------------------------------------------------------------
# Batch norm golden values.
# ---------------------------------------------------------------------------


def test_batch_norm_golden_values_eager_and_numpy_reference():
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    out = normalization.batch_norm(BN_INPUT, is_training=True)
  np.testing.assert_allclose(out.numpy()[0, 0, 0], [0.4375205, 1.30336881,
                                                 -0.58830315], rtol=1e-5)
  np.testing.assert_allclose(out.numpy(), BN_EXPECTED, rtol=1e-5, atol=1e-6)
  mean = BN_INPUT.mean(axis=(0, 1, 2))
  var = BN_INPUT.var(axis=(0, 1, 2))  # Biased.
  np.testing.assert_allclose(out.numpy(), (BN_INPUT - mean) / np.sqrt(var + 1e-3),
                             rtol=1e-5, atol=1e-6)
  assert store.names() == ["batch_norm/moving_mean", "batch_norm/moving_variance",
                           "batch_norm/gamma", "batch_norm/beta"]
  assert [v.name for v in store.trainable_variables] == [
      "batch_norm/gamma:0", "batch_norm/beta:0"]


def test_batch_norm_golden_values_tf_function():
  store = variable_store.VariableStore()

  @tf.function
  def f(x):
    with variable_store.using_store(store):
      return normalization.batch_norm(x, is_training=True)

  np.testing.assert_allclose(f(BN_INPUT).numpy(), BN_EXPECTED, rtol=1e-5,
                             atol=1e-6)


def test_batch_norm_golden_values_tf1_graph_and_update_ops():
  with tf.Graph().as_default():
    store = variable_store.VariableStore()
    with variable_store.using_store(store):
      out = normalization.batch_norm(tf.constant(BN_INPUT), is_training=True)
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    names = [v.op.name for v in tf.compat.v1.global_variables()]
    assert names == store.names()
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      np.testing.assert_allclose(sess.run(out), BN_EXPECTED, rtol=1e-5,
                                 atol=1e-6)
      sess.run(update_ops)
      np.testing.assert_allclose(
          sess.run(store["batch_norm/moving_mean"]),
          0.001 * BN_INPUT.mean(axis=(0, 1, 2)), rtol=1e-5)


def test_cross_replica_batch_norm_equals_global_batch():
  strategy = _mirrored()
  store = variable_store.VariableStore()
  with strategy.scope(), variable_store.using_store(store), variable_store.no_state_updates():
    normalization.batch_norm(BN_INPUT, is_training=True)

  def step(x):
    with variable_store.using_store(store):
      return normalization.batch_norm(x, is_training=True)

  shards = strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.constant(BN_INPUT[2 * ctx.replica_id_in_sync_group:
                                       2 * ctx.replica_id_in_sync_group + 2]))
  result = tf.function(lambda s: strategy.run(step, (s,)))(shards)
  out = np.concatenate([_np(t) for t in
                        strategy.experimental_local_results(result)])
  np.testing.assert_allclose(out, BN_EXPECTED, rtol=1e-5, atol=1e-6)
  # Moving mean: one update with the global batch mean (MEAN aggregation).
  np.testing.assert_allclose(
      store["batch_norm/moving_mean"].numpy(),
      0.001 * BN_INPUT.mean(axis=(0, 1, 2)), rtol=1e-5)


def test_local_batch_norm_in_replicas_when_disabled():
  gin.bind_parameter("standardize_batch.use_cross_replica_mean", False)
  strategy = _mirrored()
  store = variable_store.VariableStore()
  with strategy.scope(), variable_store.using_store(store), variable_store.no_state_updates():
    normalization.batch_norm(BN_INPUT, is_training=True)

  def step(x):
    with variable_store.using_store(store):
      return normalization.batch_norm(x, is_training=True)

  shards = strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.constant(BN_INPUT[2 * ctx.replica_id_in_sync_group:
                                       2 * ctx.replica_id_in_sync_group + 2]))
  result = strategy.run(step, (shards,))
  first = _np(strategy.experimental_local_results(result)[0])
  x = BN_INPUT[:2]
  np.testing.assert_allclose(
      first, (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3),
      rtol=1e-5, atol=1e-5)


def test_moving_averages_inference_and_no_state_updates():
  gin.bind_parameter("standardize_batch.decay", 0.9)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    with variable_store.no_state_updates():
      normalization.standardize_batch(BN_INPUT, is_training=True)
    np.testing.assert_allclose(store["moving_mean"].numpy(), 0.0)
    normalization.standardize_batch(BN_INPUT, is_training=True)
    mean = BN_INPUT.mean((0, 1, 2))
    var = BN_INPUT.var((0, 1, 2))
    np.testing.assert_allclose(store["moving_mean"].numpy(), 0.1 * mean,
                               rtol=1e-5)
    np.testing.assert_allclose(store["moving_variance"].numpy(),
                               0.9 + 0.1 * var, rtol=1e-5)
    out = normalization.standardize_batch(BN_INPUT, is_training=False)
    np.testing.assert_allclose(
        out.numpy(), (BN_INPUT - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 1e-3),
        rtol=1e-5)
  # Inference does not touch the moving statistics.
  np.testing.assert_allclose(store["moving_mean"].numpy(), 0.1 * mean,
                             rtol=1e-5)


def test_standardize_batch_rank2():
  store = variable_store.VariableStore()
  x = np.random.RandomState(0).randn(8, 5).astype(np.float32)
  with variable_store.using_store(store):
    out = normalization.standardize_batch(x, is_training=True)
  np.testing.assert_allclose(out.numpy(),
                             (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3),
                             rtol=1e-4, atol=1e-5)
  assert store["moving_mean"].shape == (5,)


# ---------------------------------------------------------------------------
# Accumulated ("standing") statistics.
# ---------------------------------------------------------------------------


def test_accumulated_moments_during_training():
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    m1, v1 = normalization._accumulated_moments_for_inference(
        tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]), is_training=True)
    m2, v2 = normalization._accumulated_moments_for_inference(
        tf.constant([5.0, 6.0]), tf.constant([7.0, 8.0]), is_training=True)
  np.testing.assert_allclose(m1, [1, 2])
  np.testing.assert_allclose(v1, [3, 4])
  np.testing.assert_allclose(m2, [5, 6])
  np.testing.assert_allclose(v2, [7, 8])
  assert store.names() == ["accu/accu_mean", "accu/accu_variance",
                           "accu/accu_counter", "accu/update_accus"]
  np.testing.assert_allclose(store["accu/accu_mean"].numpy(), [0, 0])
  np.testing.assert_allclose(store["accu/accu_variance"].numpy(), [0, 0])
  np.testing.assert_allclose(store["accu/accu_counter"].numpy(), 0.0,
                             atol=1e-9)
  assert store["accu/update_accus"].dtype == tf.int32


def _check_accumulators_eval(call, store):
  """compare_gan's golden sequence; `call(mean, var)` runs the op."""
  store["accu/update_accus"].assign(1)
  m1, v1 = call([1.0, 2.0], [3.0, 4.0])
  np.testing.assert_allclose(m1, [1, 2], rtol=1e-6)
  np.testing.assert_allclose(v1, [3, 4], rtol=1e-6)
  m2, v2 = call([5.0, 6.0], [7.0, 8.0])
  np.testing.assert_allclose(m2, [3, 4], rtol=1e-6)
  np.testing.assert_allclose(v2, [5, 6], rtol=1e-6)
  np.testing.assert_allclose(store["accu/accu_mean"].numpy(), [6, 8])
  np.testing.assert_allclose(store["accu/accu_variance"].numpy(), [10, 12])
  np.testing.assert_allclose(store["accu/accu_counter"].numpy(), 2.0)
  store["accu/update_accus"].assign(0)
  m3, v3 = call([2.0, 2.0], [3.0, 3.0])
  np.testing.assert_allclose(m3, [3, 4], rtol=1e-6)
  np.testing.assert_allclose(v3, [5, 6], rtol=1e-6)
  np.testing.assert_allclose(store["accu/accu_mean"].numpy(), [6, 8])
  np.testing.assert_allclose(store["accu/accu_counter"].numpy(), 2.0)


@pytest.mark.parametrize("compiled", [False, True])
def test_accumulated_moments_during_eval(compiled):
  store = variable_store.VariableStore()

  def call(mean, var):
    with variable_store.using_store(store):
      return normalization._accumulated_moments_for_inference(
          tf.constant(mean), tf.constant(var), is_training=False)

  with variable_store.using_store(store), variable_store.no_state_updates():
    call([0.0, 0.0], [0.0, 0.0])  # Build.
  _check_accumulators_eval(tf.function(call) if compiled else call, store)


def test_accumulated_moments_during_eval_tf1_graph():
  with tf.Graph().as_default():
    store = variable_store.VariableStore()
    mean_in = tf.compat.v1.placeholder(tf.float32, [2])
    var_in = tf.compat.v1.placeholder(tf.float32, [2])
    with variable_store.using_store(store):
      mean, var = normalization._accumulated_moments_for_inference(mean_in, var_in,
                                                         is_training=False)
    accus = [store["accu/accu_mean"], store["accu/accu_variance"],
             store["accu/accu_counter"]]
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(store["accu/update_accus"].assign(1))
      sess.run([mean, var], {mean_in: [1, 2], var_in: [3, 4]})
      m2, v2 = sess.run([mean, var], {mean_in: [5, 6], var_in: [7, 8]})
      np.testing.assert_allclose(m2, [3, 4], rtol=1e-6)
      np.testing.assert_allclose(v2, [5, 6], rtol=1e-6)
      am, av, ac = sess.run(accus)
      np.testing.assert_allclose(am, [6, 8])
      np.testing.assert_allclose(av, [10, 12])
      np.testing.assert_allclose(ac, 2.0)
      sess.run(store["accu/update_accus"].assign(0))
      m3, _ = sess.run([mean, var], {mean_in: [2, 2], var_in: [3, 3]})
      np.testing.assert_allclose(m3, [3, 4], rtol=1e-6)


def test_batch_norm_with_accumulators_uses_standing_statistics():
  gin.bind_parameter("standardize_batch.use_moving_averages", False)
  store = variable_store.VariableStore()
  x1, x2 = BN_INPUT[:2], BN_INPUT[2:]
  with variable_store.using_store(store):
    normalization.batch_norm(x1, is_training=True)
    assert "batch_norm/accu/accu_mean" in store
    assert "batch_norm/moving_mean" not in store
    store["batch_norm/accu/update_accus"].assign(1)
    normalization.batch_norm(x1, is_training=False)
    normalization.batch_norm(x2, is_training=False)
    store["batch_norm/accu/update_accus"].assign(0)
    out = normalization.batch_norm(BN_INPUT, is_training=False)
  mean = (x1.mean((0, 1, 2)) + x2.mean((0, 1, 2))) / 2
  var = (x1.var((0, 1, 2)) + x2.var((0, 1, 2))) / 2
  np.testing.assert_allclose(out.numpy(), (BN_INPUT - mean) / np.sqrt(var + 1e-3),
                             rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------
# Spectral norm.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("singular_value,shape,u_shape", [
    ("left", [3, 3, 4, 6], [36, 1]),
    ("right", [3, 3, 4, 6], [1, 6]),
    ("auto", [3, 3, 4, 6], [1, 6]),   # 36 rows > 6 cols -> right.
    ("auto", [4, 10], [4, 1]),        # 4 rows <= 10 cols -> left.
])
def test_spectral_norm_converges_to_svd(singular_value, shape, u_shape):
  gin.bind_parameter("spectral_norm.singular_value", singular_value)
  store = variable_store.VariableStore()
  w_np = np.random.RandomState(3).randn(*shape).astype(np.float32)
  w = tf.Variable(w_np)
  for _ in range(60):
    with variable_store.using_store(store):
      w_sn = weight_ops.spectral_norm(w, name="layer/kernel")
  assert store.names() == ["layer/kernel/u_var"]
  assert store["layer/kernel/u_var"].shape.as_list() == u_shape
  assert not store["layer/kernel/u_var"].trainable
  sigma = np.linalg.svd(w_np.reshape(-1, shape[-1]), compute_uv=False)[0]
  np.testing.assert_allclose(w_sn.numpy(), w_np / sigma, rtol=1e-4, atol=1e-5)
  assert w_sn.shape.as_list() == shape


def test_spectral_norm_gradient_stops_at_u_v():
  """d sum(W / sigma) / dW with u, v constants: 1 / sigma - sum(W) u v^T / sigma^2
  (Miyato et al.'s implementation); differentiating through the power iteration
  gives another gradient after one iteration from a random u."""
  store = variable_store.VariableStore()
  w_np = np.random.RandomState(0).randn(5, 3).astype(np.float32)
  w = tf.Variable(w_np)
  with variable_store.using_store(store), variable_store.no_state_updates():
    weight_ops.spectral_norm(w, name="k")  # Creates u_var ([5, 1], "left").
  u0 = store["k/u_var"].numpy().astype(np.float64)
  with tf.GradientTape() as tape, variable_store.using_store(store):
    loss = tf.reduce_sum(weight_ops.spectral_norm(w, name="k"))
  grad = tape.gradient(loss, w).numpy()
  w64 = w_np.astype(np.float64)
  v = w64.T @ u0
  v /= np.linalg.norm(v)
  u = w64 @ v
  u /= np.linalg.norm(u)
  sigma = (u.T @ w64 @ v).item()
  expected = 1.0 / sigma - w64.sum() / sigma**2 * (u @ v.T)
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)

  # The gradient through u and v (no stop_gradient) differs: the test can fail.
  wt = tf.constant(w64)
  with tf.GradientTape() as tape:
    tape.watch(wt)
    vt = tf.math.l2_normalize(tf.transpose(wt) @ tf.constant(u0), epsilon=1e-12)
    ut = tf.math.l2_normalize(wt @ vt, epsilon=1e-12)
    full = tf.reduce_sum(wt / (tf.transpose(ut) @ wt @ vt))
  assert np.abs(tape.gradient(full, wt).numpy() - expected).max() > 1e-2


def test_spectral_norm_no_state_updates_and_ema_override_share_u_var():
  store = variable_store.VariableStore()
  x = tf.ones([2, 5])
  with variable_store.using_store(store):
    with variable_store.no_state_updates():
      layers.linear(x, 3, scope="fc", use_sn=True)
    u0 = store["fc/kernel/u_var"].numpy().copy()
    with variable_store.no_state_updates():
      layers.linear(x, 3, scope="fc", use_sn=True)
    np.testing.assert_array_equal(store["fc/kernel/u_var"].numpy(), u0)
    ema_kernel = tf.Variable(store["fc/kernel"].numpy() * 2.0)
    with store.override({"fc/kernel": ema_kernel}):
      out = layers.linear(x, 3, scope="fc", use_sn=True)
    # The EMA weight used the raw weight's u_var (updated) and made no new var.
    assert store.names() == ["fc/kernel", "fc/kernel/u_var", "fc/bias"]
    assert not np.allclose(store["fc/kernel/u_var"].numpy(), u0)
  w = ema_kernel.numpy()
  u = store["fc/kernel/u_var"].numpy()
  v = w.T @ u0
  v /= np.linalg.norm(v)
  u_new = w @ v
  u_new /= np.linalg.norm(u_new)
  np.testing.assert_allclose(u, u_new, rtol=1e-4, atol=1e-6)
  sigma = (u_new.T @ w @ v).item()
  np.testing.assert_allclose(out.numpy(), x.numpy() @ (w / sigma), rtol=1e-4)


def test_spectral_norm_requires_name_for_tensors():
  with variable_store.using_store(variable_store.VariableStore()):
    with pytest.raises(ValueError, match="name"):
      weight_ops.spectral_norm(tf.ones([3, 3]))


# ---------------------------------------------------------------------------
# Initializers.
# ---------------------------------------------------------------------------


def test_initializers_deterministic_per_seed_and_name():
  init = initializers.normal(0.02)
  a = init([50, 40], name="generator/fc/kernel").numpy()
  b = init([50, 40], name="generator/fc/kernel").numpy()
  c = init([50, 40], name="generator/fc2/kernel").numpy()
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  initializers.set_initialization_seed(99)
  d = init([50, 40], name="generator/fc/kernel").numpy()
  assert not np.allclose(a, d)
  initializers.set_initialization_seed(1234)
  np.testing.assert_array_equal(
      a, init([50, 40], name="generator/fc/kernel").numpy())
  assert abs(a.std() - 0.02) < 0.002 and abs(a.mean()) < 0.002


def test_random_seed_when_none():
  s1 = initializers.set_initialization_seed(None)
  assert initializers.get_initialization_seed() == s1
  a = initializers.normal(1.0)([100], name="x").numpy()
  s2 = initializers.set_initialization_seed(None)
  assert s1 != s2 and 0 <= min(s1, s2) and max(s1, s2) < 2**31
  # The drawn seed is the one the initializers use.
  assert not np.allclose(initializers.normal(1.0)([100], name="x").numpy(), a)
  initializers.set_initialization_seed(s1)
  np.testing.assert_array_equal(initializers.normal(1.0)([100], name="x").numpy(), a)


def test_weights_independent_of_creation_order():
  s1, s2 = variable_store.VariableStore(), variable_store.VariableStore()
  x = tf.ones([1, 4])
  with variable_store.using_store(s1):
    layers.linear(x, 3, scope="a")
    layers.linear(x, 3, scope="b")
  with variable_store.using_store(s2):
    layers.linear(x, 3, scope="b")
    layers.linear(x, 3, scope="a")
  np.testing.assert_array_equal(s1["a/kernel"].numpy(), s2["a/kernel"].numpy())


def test_truncated_and_glorot_normal():
  t = initializers.truncated(0.5)([200, 100], name="t").numpy()
  assert np.abs(t).max() <= 1.0 + 1e-6
  shape = [3, 3, 64, 32]
  g = initializers.glorot_normal()(shape, name="g").numpy()
  fan_in, fan_out = 9 * 64, 9 * 32
  stddev = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
  assert np.abs(g).max() <= 2 * stddev + 1e-6
  np.testing.assert_allclose(g.std(), stddev * 0.87962566103423978, rtol=0.05)


@pytest.mark.parametrize("shape", [[3, 3, 16, 32], [64, 64], [4, 8]])
def test_orthogonal(shape):
  w = initializers.orthogonal()(shape, name="o").numpy().reshape(-1, shape[-1])
  gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
  np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_constant_initializers():
  np.testing.assert_allclose(initializers.constant(1e-12)([], name="c"), 1e-12)
  assert initializers.zeros()([2], dtype=tf.int32).dtype == tf.int32


def test_weights_gin_selector_and_stddev_quirk():
  gin.bind_parameter("weights.initializer", "orthogonal")
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    layers.linear(tf.ones([1, 20]), 10, scope="fc")
  w = store["fc/kernel"].numpy()
  np.testing.assert_allclose(w.T @ w, np.eye(10), atol=1e-5)
  gin.clear_config()
  # Quirk `weights-stddev` (docs/compare_gan_quirks.md): weights.stddev does not reach linear/conv2d/deconv2d.
  gin.bind_parameter("weights.stddev", 5.0)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    layers.conv2d(tf.ones([1, 4, 4, 8]), 64, 3, 3, 1, 1, name="c")
  assert store["c/kernel"].numpy().std() < 0.03
  assert initializers.weight_initializer().stddev == 5.0
  with pytest.raises(ValueError, match="Unknown weight initializer"):
    initializers.weight_initializer("uniform")


# ---------------------------------------------------------------------------
# Store.
# ---------------------------------------------------------------------------


def test_store_reuse_shape_check_and_override():
  store = variable_store.VariableStore()
  with variable_store.using_store(store), variable_store.variable_scope("net"):
    a = variable_store.get_variable("w", [2], initializers.ones())
    assert variable_store.get_variable("w", [2], initializers.zeros()) is a
    with pytest.raises(ValueError, match="shape"):
      variable_store.get_variable("w", [3], initializers.ones())
    shadow = tf.Variable([5.0, 5.0])
    with store.override({"net/w": shadow}):
      assert variable_store.get_variable("w", [2], initializers.ones()) is shadow
    assert variable_store.get_variable("w", [2], initializers.ones()) is a
  assert a.name == "net/w:0"
  assert list(store.variables) == [a]
  assert store.trainable_variables == (a,)
  with pytest.raises(RuntimeError, match="VariableStore"):
    variable_store.get_variable("x", [1], initializers.ones())


def test_store_checkpoint_roundtrip(tmp_path):
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    layers.linear(tf.ones([1, 3]), 2, scope="fc", use_sn=True)
  path = tf.train.Checkpoint(store=store).save(str(tmp_path / "ckpt"))
  names = [n for n, _ in tf.train.list_variables(path)]
  assert sum(n.startswith("store/vars/") for n in names) == 3
  store2 = variable_store.VariableStore()
  with variable_store.using_store(store2):
    layers.linear(tf.ones([1, 3]), 2, scope="fc", use_sn=True)
  store2["fc/bias"].assign([7.0, 7.0])
  tf.train.Checkpoint(store=store2).restore(path)
  np.testing.assert_array_equal(store2["fc/bias"].numpy(), [0, 0])


def test_variable_creation_inside_replica_raises():
  strategy = _mirrored()
  store = variable_store.VariableStore()

  def step():
    with variable_store.using_store(store):
      return layers.linear(tf.ones([1, 3]), 2, scope="fc")

  with pytest.raises(RuntimeError, match="cross-replica"):
    strategy.run(step)


# ---------------------------------------------------------------------------
# Normalization layers and other ops.
# ---------------------------------------------------------------------------


def test_conditional_batch_norm_gamma_offset():
  x = np.random.RandomState(0).randn(4, 3, 3, 5).astype(np.float32)
  y = np.eye(4, dtype=np.float32)[:, :3][[0, 1, 2, 0]]
  x_hat = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3)
  for offset in (None, 0.0):
    gin.clear_config()
    if offset is not None:
      gin.bind_parameter("conditional_batch_norm.gamma_offset", offset)
    store = variable_store.VariableStore()
    with variable_store.using_store(store):
      out = normalization.conditional_batch_norm(x, y=tf.constant(y), is_training=True,
                                       use_sn=False, name="bn")
    assert [v.name for v in store.trainable_variables] == [
        "bn/condition/gamma/kernel:0", "bn/condition/beta/kernel:0"]
    gamma = y @ store["bn/condition/gamma/kernel"].numpy()
    beta = y @ store["bn/condition/beta/kernel"].numpy()
    expected_gamma = gamma + (1.0 if offset is None else 0.0)
    np.testing.assert_allclose(
        out.numpy(), x_hat * expected_gamma[:, None, None, :] +
        beta[:, None, None, :], rtol=1e-4, atol=1e-5)
  with variable_store.using_store(variable_store.VariableStore()):
    with pytest.raises(ValueError, match="provide y"):
      normalization.conditional_batch_norm(x, y=None, is_training=True, use_sn=False)


def test_conditional_batch_norm_use_bias_and_sn():
  gin.bind_parameter("conditional_batch_norm.use_bias", True)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    normalization.conditional_batch_norm(tf.ones([2, 4]), y=tf.ones([2, 3]),
                               is_training=True, use_sn=True, name="bn")
  assert store.names() == [
      "bn/moving_mean", "bn/moving_variance",
      "bn/condition/gamma/kernel", "bn/condition/gamma/kernel/u_var",
      "bn/condition/gamma/bias",
      "bn/condition/beta/kernel", "bn/condition/beta/kernel/u_var",
      "bn/condition/beta/bias"]


def test_self_modulated_batch_norm():
  gin.bind_parameter("self_modulated_batch_norm.num_hidden", 7)
  rng = np.random.RandomState(4)
  x = rng.randn(3, 4, 4, 6).astype(np.float32)
  z = rng.randn(3, 10).astype(np.float32)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    out = normalization.self_modulated_batch_norm(x, z=z, is_training=True,
                                                  use_sn=False, name="bn")
  assert [(v.name, v.shape.as_list()) for v in store.trainable_variables] == [
      ("bn/sbn/hidden/kernel:0", [10, 7]), ("bn/sbn/hidden/bias:0", [7]),
      ("bn/sbn/gamma/kernel:0", [7, 6]), ("bn/sbn/gamma/bias:0", [6]),
      ("bn/sbn/beta/kernel:0", [7, 6]), ("bn/sbn/beta/bias:0", [6])]
  np.testing.assert_array_equal(store["bn/sbn/gamma/bias"].numpy(), 1.0)
  # Biases away from their initial values so every term shows.
  for name in ("hidden", "gamma", "beta"):
    bias = store[f"bn/sbn/{name}/bias"]
    bias.assign(bias.numpy() + rng.uniform(-0.5, 0.5, bias.shape).astype(np.float32))
  with variable_store.using_store(store):
    out = normalization.self_modulated_batch_norm(x, z=z, is_training=True,
                                                  use_sn=False, name="bn")
  p = {n: store[f"bn/sbn/{n}"].numpy() for n in (
      "hidden/kernel", "hidden/bias", "gamma/kernel", "gamma/bias", "beta/kernel",
      "beta/bias")}
  h = np.maximum(z @ p["hidden/kernel"] + p["hidden/bias"], 0.0)
  gamma = h @ p["gamma/kernel"] + p["gamma/bias"]
  beta = h @ p["beta/kernel"] + p["beta/bias"]
  x_hat = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3)
  np.testing.assert_allclose(
      out.numpy(), x_hat * gamma[:, None, None, :] + beta[:, None, None, :],
      rtol=1e-4, atol=1e-5)


def test_layer_norm_matches_numpy():
  x = np.random.RandomState(1).randn(3, 4, 4, 5).astype(np.float32)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    out = normalization.layer_norm(x, is_training=True, scope="ln1")
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  var = x.var(axis=(1, 2, 3), keepdims=True)
  np.testing.assert_allclose(out.numpy(), (x - mean) / np.sqrt(var + 1e-12),
                             rtol=1e-4, atol=1e-5)
  assert store.names() == ["ln1/beta", "ln1/gamma"]


def test_non_local_block_variables_and_identity_at_init():
  x = tf.random.stateless_normal([2, 8, 8, 16], seed=[1, 2])
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    out = attention.non_local_block(x, "non_local_block", use_sn=True)
  np.testing.assert_allclose(out.numpy(), x.numpy())  # sigma == 0.
  assert [(v.name, v.shape.as_list()) for v in store.trainable_variables] == [
      ("non_local_block/conv2d_theta/kernel:0", [1, 1, 16, 2]),
      ("non_local_block/conv2d_phi/kernel:0", [1, 1, 16, 2]),
      ("non_local_block/conv2d_g/kernel:0", [1, 1, 16, 8]),
      ("non_local_block/sigma:0", []),
      ("non_local_block/conv2d_attn_g/kernel:0", [1, 1, 8, 16])]
  store["non_local_block/sigma"].assign(1.0)
  with variable_store.using_store(store):
    out = attention.non_local_block(x, "non_local_block", use_sn=True)
  assert not np.allclose(out.numpy(), x.numpy())


def test_non_local_block_matches_numpy():
  """x + sigma * conv_o(softmax(theta phi^T) g), phi and g max-pooled 2x2."""
  x = np.random.RandomState(7).randn(2, 8, 8, 16).astype(np.float32)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    attention.non_local_block(tf.constant(x), "nl", use_sn=False)
  store["nl/sigma"].assign(0.7)
  with variable_store.using_store(store):
    out = attention.non_local_block(tf.constant(x), "nl", use_sn=False).numpy()
  w = {n: store[f"nl/conv2d_{n}/kernel"].numpy()[0, 0].astype(np.float64)
       for n in ("theta", "phi", "g", "attn_g")}

  def pool(t):  # 2x2 max pooling, stride 2, then positions flattened.
    n, h, wd, c = t.shape
    return t.reshape(n, h // 2, 2, wd // 2, 2, c).max((2, 4)).reshape(n, -1, c)

  theta = (x @ w["theta"]).reshape(2, 64, 2)
  phi, g = pool(x @ w["phi"]), pool(x @ w["g"])
  logits = theta @ phi.transpose(0, 2, 1)
  attn = np.exp(logits - logits.max(-1, keepdims=True))
  attn /= attn.sum(-1, keepdims=True)
  o = (attn @ g).reshape(2, 8, 8, 8) @ w["attn_g"]
  np.testing.assert_allclose(out, x + 0.7 * o, rtol=1e-4, atol=1e-5)


def _same_padding(size, stride, kernel):
  """(output size, padding before) of TensorFlow's SAME padding."""
  out = -(-size // stride)
  return out, max((out - 1) * stride + kernel - size, 0) // 2


def _numpy_conv2d(x, w, stride):
  """SAME convolution written as loops over the kernel taps."""
  n, h, wd, _ = x.shape
  kh, kw, _, c_out = w.shape
  oh, top = _same_padding(h, stride, kh)
  ow, left = _same_padding(wd, stride, kw)
  out = np.zeros((n, oh, ow, c_out))
  for i in range(oh):
    for j in range(ow):
      for a in range(kh):
        for b in range(kw):
          r, c = i * stride + a - top, j * stride + b - left
          if 0 <= r < h and 0 <= c < wd:
            out[:, i, j] += x[:, r, c] @ w[a, b]
  return out


def _numpy_deconv2d(x, w, out_hw, stride):
  """SAME transposed convolution: every input pixel scatters kernel * value to
  the output pixels whose SAME convolution reads it; w is [kh, kw, C_out, C_in]."""
  n, h, wd, _ = x.shape
  kh, kw, c_out, _ = w.shape
  _, top = _same_padding(out_hw[0], stride, kh)
  _, left = _same_padding(out_hw[1], stride, kw)
  out = np.zeros((n,) + tuple(out_hw) + (c_out,))
  for i in range(h):
    for j in range(wd):
      for a in range(kh):
        for b in range(kw):
          r, c = i * stride + a - top, j * stride + b - left
          if 0 <= r < out_hw[0] and 0 <= c < out_hw[1]:
            out[:, r, c] += x[:, i, j] @ w[a, b].T
  return out


def test_linear_conv_deconv_match_numpy_and_lrelu():
  rng = np.random.RandomState(5)
  x2 = rng.randn(2, 3).astype(np.float32)
  x4 = rng.randn(2, 7, 8, 3).astype(np.float32)  # Odd height: uneven padding.
  x_small = rng.randn(2, 4, 4, 3).astype(np.float32)
  store = variable_store.VariableStore()
  with variable_store.using_store(store):  # Build; then non-zero biases.
    layers.linear(x2, 4, scope="l")
    layers.conv2d(x4, 5, 4, 4, 2, 2, name="c")
    layers.deconv2d(x_small, [2, 8, 8, 7], 5, 5, 2, 2, name="d")
  for name in ("l/bias", "c/bias", "d/bias"):
    store[name].assign(rng.randn(*store[name].shape).astype(np.float32))
  with variable_store.using_store(store):
    linear = layers.linear(x2, 4, scope="l").numpy()
    conv = layers.conv2d(x4, 5, 4, 4, 2, 2, name="c").numpy()
    conv1x1 = layers.conv1x1(x4, 6, name="c1", use_bias=False).numpy()
    deconv = layers.deconv2d(x_small, [2, 8, 8, 7], 5, 5, 2, 2, name="d").numpy()
  v = {name: store[name].numpy().astype(np.float64) for name in store.names()}
  np.testing.assert_allclose(linear, x2 @ v["l/kernel"] + v["l/bias"], rtol=1e-5,
                             atol=1e-6)
  assert conv.shape == (2, 4, 4, 5)
  np.testing.assert_allclose(conv, _numpy_conv2d(x4, v["c/kernel"], 2) + v["c/bias"],
                             rtol=1e-4, atol=1e-5)
  assert "c1/bias" not in store
  np.testing.assert_allclose(conv1x1, x4 @ v["c1/kernel"][0, 0], rtol=1e-4, atol=1e-5)
  assert store["d/kernel"].shape == (5, 5, 7, 3)
  np.testing.assert_allclose(
      deconv, _numpy_deconv2d(x_small, v["d/kernel"], (8, 8), 2) + v["d/bias"],
      rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(layers.lrelu(tf.constant([-1.0, 2.0])), [-0.2, 2.0])


def test_orthogonal_regularization():
  w1 = tf.Variable(np.random.RandomState(0).randn(3, 3, 2, 4).astype(np.float32),
                   name="a/kernel")
  w2 = tf.Variable(np.ones([4], np.float32), name="a/bias")
  reg = weight_ops.orthogonal_regularization([w1, w2], beta=0.5)
  w = w1.numpy().reshape(-1, 4)
  gram = w.T @ w
  expected = 0.5 * np.sum((gram * (1 - np.eye(4))) ** 2)
  np.testing.assert_allclose(reg.numpy(), expected, rtol=1e-5)
  q = initializers.orthogonal()([6, 4], name="q")
  assert float(weight_ops.orthogonal_regularization(
      [tf.Variable(q, name="q/kernel")])) < 1e-9


# ---------------------------------------------------------------------------
# Every op in every execution context.
# ---------------------------------------------------------------------------

_X4 = np.random.RandomState(7).randn(4, 8, 8, 16).astype(np.float32)
_Y = np.eye(4, dtype=np.float32)[[0, 1, 2, 3]]
_Z = np.random.RandomState(8).randn(4, 6).astype(np.float32)

OP_CASES = {
    "linear_sn": lambda x, y, z: layers.linear(tf.reshape(x, [4, -1]), 5,
                                            scope="fc", use_sn=True),
    "conv2d_sn": lambda x, y, z: layers.conv2d(x, 8, 3, 3, 1, 1, name="c",
                                            use_sn=True),
    "conv1x1": lambda x, y, z: layers.conv1x1(x, 8, name="c1"),
    "deconv2d_sn": lambda x, y, z: layers.deconv2d(x, [4, 16, 16, 4], 4, 4, 2, 2,
                                                use_sn=True),
    "batch_norm_train": lambda x, y, z: normalization.batch_norm(x, is_training=True),
    "batch_norm_eval": lambda x, y, z: normalization.batch_norm(x, is_training=False),
    "cbn": lambda x, y, z: normalization.conditional_batch_norm(
        x, y=y, is_training=True, use_sn=True, name="cbn"),
    "sbn": lambda x, y, z: normalization.self_modulated_batch_norm(
        x, z=z, is_training=True, use_sn=True, name="sbn"),
    "layer_norm": lambda x, y, z: normalization.layer_norm(x, True, "ln"),
    "non_local": lambda x, y, z: attention.non_local_block(
        x, "nl", use_sn=True) + variable_store.get_variable("nl/sigma", [],
                                                 initializers.zeros(),
                                                 full=True) * 0.0,
    "spectral_norm_auto": lambda x, y, z: weight_ops.spectral_norm(
        variable_store.get_variable("w", [3, 3, 16, 4], initializers.normal(1.0)),
        singular_value="auto", name="w"),
    "lrelu": lambda x, y, z: layers.lrelu(x),
}


def _reference(op):
  store = variable_store.VariableStore()
  with variable_store.using_store(store):
    return op(tf.constant(_X4), tf.constant(_Y), tf.constant(_Z)).numpy()


@pytest.mark.parametrize("context", ["function", "tf1_graph", "mirrored"])
@pytest.mark.parametrize("op_name", sorted(OP_CASES))
def test_op_in_context(op_name, context):
  """Same stateless init + same inputs => same output as eager, everywhere."""
  op = OP_CASES[op_name]
  expected = _reference(op)
  store = variable_store.VariableStore()
  if context == "function":
    fn = tf.function(lambda x, y, z: _in_store(store, op, x, y, z))
    out = fn(tf.constant(_X4), tf.constant(_Y), tf.constant(_Z)).numpy()
  elif context == "tf1_graph":
    with tf.Graph().as_default():
      t = _in_store(store, op, tf.constant(_X4), tf.constant(_Y),
                    tf.constant(_Z))
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        out = sess.run(t)
  else:
    strategy = _mirrored()
    args = (tf.constant(_X4), tf.constant(_Y), tf.constant(_Z))
    with strategy.scope(), variable_store.no_state_updates():
      _in_store(store, op, *args)
    # Every replica sees the full batch, so cross-replica BN == local BN.
    result = tf.function(lambda *a: strategy.run(
        functools.partial(_in_store, store, op), a))(*args)
    outs = [_np(t) for t in strategy.experimental_local_results(result)]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    out = outs[0]
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def _in_store(store, op, x, y, z):
  with variable_store.using_store(store):
    return op(x, y, z)


def test_spectral_norm_u_update_in_mirrored_replicas():
  strategy = _mirrored()
  store = variable_store.VariableStore()
  x = tf.ones([2, 5])
  with strategy.scope(), variable_store.no_state_updates(), variable_store.using_store(store):
    layers.linear(x, 3, scope="fc", use_sn=True)
  u0 = store["fc/kernel/u_var"].numpy().copy()
  tf.function(lambda: strategy.run(
      lambda: _in_store(store, lambda *a: layers.linear(x, 3, scope="fc",
                                                     use_sn=True),
                        None, None, None)))()
  values = [_np(v) for v in store["fc/kernel/u_var"].values]
  # One power iteration from u0 ("left": u [5, 1]), the same on both replicas.
  w = store["fc/kernel"].values[0].numpy().astype(np.float64)
  v = w.T @ u0
  u = w @ (v / np.linalg.norm(v))
  np.testing.assert_allclose(values[0], u / np.linalg.norm(u), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(values[0], values[1])


_SUBPROCESS_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    from compare_gan2.architectures import layers, normalization
    from compare_gan2.architectures import variable_store
    x = np.array(%r, np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    store = variable_store.VariableStore()
    with strategy.scope(), variable_store.using_store(store), variable_store.no_state_updates():
      normalization.batch_norm(x, is_training=True)
      layers.linear(tf.ones([2, 5]), 3, scope="fc", use_sn=True)
    def step(xs):
      with variable_store.using_store(store):
        return (normalization.batch_norm(xs, is_training=True),
                layers.linear(tf.ones([2, 5]), 3, scope="fc", use_sn=True))
    shards = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(x[2 * ctx.replica_id_in_sync_group:][:2]))
    out = tf.function(lambda s: strategy.run(step, (s,)))(shards)
    bn = np.concatenate([t.numpy() for t in
                         strategy.experimental_local_results(out[0])])
    np.save("%s", bn)
    u = [v.numpy() for v in store["fc/kernel/u_var"].values]
    assert np.allclose(u[0], u[1])
""")


def test_default_mirrored_strategy_subprocess(tmp_path):
  """Cross-replica BN with the default (collective all-reduce) strategy."""
  out_file = str(tmp_path / "bn.npy")
  script = _SUBPROCESS_SCRIPT % (BN_INPUT.tolist(), out_file)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
  result = subprocess.run([sys.executable, "-c", script], env=env,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  np.testing.assert_allclose(np.load(out_file), BN_EXPECTED, rtol=1e-5,
                             atol=1e-6)


# ---------------------------------------------------------------------------
# utils.
# ---------------------------------------------------------------------------


def test_call_with_accepted_args():
  @gin.configurable("fn_under_test")
  def fn(inputs, y, name="n"):
    return inputs, y, name

  assert utils.call_with_accepted_args(fn, inputs=1, y=2, z=3) == (1, 2, "n")
  part = functools.partial(fn, y=5)
  assert utils.call_with_accepted_args(part, inputs=1, z=3) == (1, 5, "n")
  assert utils.call_with_accepted_args(
      lambda a, **kw: (a, kw), a=1, b=2) == (1, {"b": 2})


def test_parameter_overview():
  vs = [tf.Variable(tf.zeros([3, 4]), name="a/kernel"),
        tf.Variable(tf.zeros([4]), name="a/bias")]
  table = utils.get_parameter_overview(vs, limit=None)
  assert "a/kernel" in table and "[3, 4]" in table and "Total: 16" in table
  assert utils.count_parameters(vs) == 16
  assert "1 more rows" in utils.get_parameter_overview(vs, limit=1)


def _replica_moments(strategy, x, **kwargs):
  """cross_replica_moments of `x` split in halves over 2 replicas: per replica
  (mean, variance) as numpy."""
  def step(shard):
    return normalization.cross_replica_moments(shard, [0, 1, 2], **kwargs)
  shards = strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.constant(x[2 * ctx.replica_id_in_sync_group:
                                2 * ctx.replica_id_in_sync_group + 2]))
  mean, variance = tf.function(lambda s: strategy.run(step, (s,)))(shards)
  return [(_np(m), _np(v)) for m, v in zip(
      strategy.experimental_local_results(mean),
      strategy.experimental_local_results(variance))]


@pytest.mark.parametrize("parallel", [True, False])
def test_cross_replica_moments_groups(parallel):
  """compare_gan's tpu_ops.cross_replica_moments on 2 logical devices: the whole
  batch for group_size None/2, each replica's own half for group_size 1."""
  strategy = _mirrored()
  x = BN_INPUT + 3.0  # A mean far from 0 tests E[x^2] - E[x]^2.
  for group_size in (None, 2):
    for mean, variance in _replica_moments(strategy, x, parallel=parallel,
                                           group_size=group_size):
      np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-5)
      np.testing.assert_allclose(variance, x.var(axis=(0, 1, 2)), rtol=1e-4,
                                 atol=1e-5)
  for replica, (mean, variance) in enumerate(
      _replica_moments(strategy, x, parallel=parallel, group_size=1)):
    half = x[2 * replica:2 * replica + 2]
    np.testing.assert_allclose(mean, half.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(variance, half.var(axis=(0, 1, 2)), rtol=1e-4,
                               atol=1e-5)


def test_cross_replica_moments_is_gin_configurable_and_checks_group_size():
  strategy = _mirrored()
  gin.bind_parameter("cross_replica_moments.group_size", 1)
  store = variable_store.VariableStore()
  with strategy.scope(), variable_store.using_store(store), variable_store.no_state_updates():
    normalization.batch_norm(BN_INPUT, is_training=True)

  def step(shard):
    with variable_store.using_store(store), variable_store.no_state_updates():
      return normalization.batch_norm(shard, is_training=True)
  shards = strategy.experimental_distribute_values_from_function(
      lambda ctx: tf.constant(BN_INPUT[2 * ctx.replica_id_in_sync_group:
                                       2 * ctx.replica_id_in_sync_group + 2]))
  out = strategy.experimental_local_results(
      tf.function(lambda s: strategy.run(step, (s,)))(shards))
  half = BN_INPUT[:2]
  want = (half - half.mean(axis=(0, 1, 2))) / np.sqrt(half.var(axis=(0, 1, 2)) + 1e-3)
  np.testing.assert_allclose(_np(out[0]), want, rtol=1e-4, atol=1e-4)
  gin.bind_parameter("cross_replica_moments.group_size", 3)
  with pytest.raises(Exception, match="must divide the 2 replicas"):
    _replica_moments(strategy, BN_INPUT)  # Raised while tracing (StagingError).


# The layer configurables keep compare_gan's gin module `arch_ops` (its gin files
# and our operative configs name them `arch_ops.<name>` or just `<name>`).
_ARCH_OPS_GIN_BINDINGS = {
    "weights": "stddev = 0.05",
    "spectral_norm": "singular_value = 'auto'",
    "standardize_batch": "decay = 0.9",
    "cross_replica_moments": "parallel = False",
    "no_batch_norm": None,
    "batch_norm": None,
    "self_modulated_batch_norm": "num_hidden = 8",
    "conditional_batch_norm": "gamma_offset = 0.0",
    "orthogonal_regularization": "beta = 0.5",
}


@pytest.mark.parametrize("prefix", ["", "arch_ops.",
                                    "compare_gan2.architectures.arch_ops."])
def test_layer_gin_names_are_compare_gans(prefix):
  for name, binding in _ARCH_OPS_GIN_BINDINGS.items():
    if binding:
      gin.parse_config(f"{prefix}{name}.{binding}")
    else:
      gin.parse_config(f"x = @{prefix}{name}")
  assert gin.query_parameter("arch_ops.spectral_norm.singular_value") == "auto"
