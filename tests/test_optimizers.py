"""TF1-semantics optimizers: exact update rules, and identical under 2 replicas."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import optimizers


def _numpy_adam(w, grads, lr, b1, b2, eps):
  m = v = 0.0
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
  return w


def _run(opt, strategy, steps, loss_scale_by_replica=False):
  with strategy.scope():
    w = tf.Variable([1.0, -2.0, 0.5], name="w")
    opt.build([w])

  @tf.function
  def step():
    def fn():
      rid = tf.distribute.get_replica_context().replica_id_in_sync_group
      scale = tf.cast(rid + 1, tf.float32) if loss_scale_by_replica else 1.0
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w) * scale
      opt.apply(tape.gradient(loss, [w]), [w])
    strategy.run(fn)

  for _ in range(steps):
    step()
  return w.numpy(), int(opt.iterations.numpy())


def test_adam_matches_tf1_formula():
  opt = optimizers.AdamOptimizer(0.1, beta1=0.0, beta2=0.99, name="g_opt")
  w, iterations = _run(opt, tf.distribute.get_strategy(), 4)
  w_np = np.array([1.0, -2.0, 0.5])
  grads = []
  expected = w_np
  for _ in range(4):  # Gradient depends on the current weights: iterate.
    grads.append(2 * expected)
    expected = _numpy_adam(w_np, grads, 0.1, 0.0, 0.99, 1e-8)
  np.testing.assert_allclose(w, expected, rtol=1e-5)
  assert iterations == 4
  assert set(opt.slots) == {"w/Adam", "w/Adam_1"}


def test_gradients_are_averaged_over_replicas(two_replica_strategy):
  strategy = two_replica_strategy
  opt = optimizers.GradientDescentOptimizer(0.1, name="sgd")
  w, _ = _run(opt, strategy, 1, loss_scale_by_replica=True)
  # Replica gradients 2w and 4w average to 3w.
  np.testing.assert_allclose(w, np.array([1.0, -2.0, 0.5]) * (1 - 0.3), rtol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
  opt = optimizers.MomentumOptimizer(0.1, momentum=0.9, use_nesterov=nesterov,
                                     name="mom")
  w, _ = _run(opt, tf.distribute.get_strategy(), 2)
  w_np, accum = np.array([1.0, -2.0, 0.5]), 0.0
  for _ in range(2):
    g = 2 * w_np
    accum = 0.9 * accum + g
    w_np = w_np - 0.1 * ((g + 0.9 * accum) if nesterov else accum)
  np.testing.assert_allclose(w, w_np, rtol=1e-5)


def test_rmsprop():
  opt = optimizers.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5, name="rms")
  w, _ = _run(opt, tf.distribute.get_strategy(), 3)
  w_np, ms, mom = np.array([1.0, -2.0, 0.5]), 1.0, 0.0
  for _ in range(3):
    g = 2 * w_np
    ms = 0.9 * ms + 0.1 * g * g
    mom = 0.5 * mom + 0.01 * g / np.sqrt(ms + 1e-10)
    w_np = w_np - mom
  np.testing.assert_allclose(w, w_np, rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: optimizers.AdamOptimizer(0.1, beta1=0.5, beta2=0.9, name="adam"),
    lambda: optimizers.GradientDescentOptimizer(0.1, name="sgd"),
    lambda: optimizers.MomentumOptimizer(0.1, 0.9, name="mom", use_nesterov=True),
    lambda: optimizers.RMSPropOptimizer(0.1, momentum=0.5, name="rms")])
def test_fused_kernel_equals_the_written_out_rule(make):
  """Without loss scaling the update runs TensorFlow's ResourceApply* kernel; with
  it, the written-out rule (gated on finite gradients): they agree."""
  results = []
  for scaled in (False, True):
    opt = make()
    if scaled:
      opt.use_loss_scaling()
    w = tf.Variable([1.0, -2.0, 0.5], name="w")
    opt.build([w])
    for i in range(3):
      opt.apply([tf.constant([0.3, -1.0, 2.0]) * (i + 1)], [w])
    results.append([w.numpy()] + [s.numpy() for s in opt.slots.values()])
  for fused, written in zip(*results):
    np.testing.assert_allclose(fused, written, rtol=1e-5, atol=1e-6)
