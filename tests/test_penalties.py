"""Tests for compare_gan2.gans.penalty_lib against closed-form references."""

import functools

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2.gans import penalty_lib

SHAPE = (4, 3, 3, 2)  # [bs, H, W, C]


class LinearD(tf.Module):
  """logit = sum_{hwc}(w * x) + b: d logit / d x = w for every example."""

  def __init__(self, w, seen=None):
    super().__init__()
    self.kernel = tf.Variable(w, name="discriminator/fc/kernel")
    self.bias = tf.Variable(0.3, name="discriminator/fc/bias")
    self.seen = seen if seen is not None else {}

  def __call__(self, x, y, is_training):
    self.seen.update(x=x, y=y, is_training=is_training)
    logit = tf.reduce_sum(self.kernel * x, axis=[1, 2, 3])[:, None] + self.bias
    return tf.sigmoid(logit), logit, None


class QuadraticD(tf.Module):
  """logit = 0.5 * sum_{hwc}(x^2): d logit / d x = x; records its inputs."""

  def __init__(self):
    super().__init__()
    self.seen = {}

  def __call__(self, x, y, is_training):
    self.seen.update(x=x, y=y, is_training=is_training)
    logit = 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]
    return tf.sigmoid(logit), logit, None


def _slope_penalty_np(grads):
  """compare_gan: mean((sqrt(1e-4 + sum_hwc g^2) - 1)^2)."""
  grads = np.asarray(grads, np.float64)
  slopes = np.sqrt(1e-4 + np.sum(grads ** 2, axis=(1, 2, 3)))
  return np.mean((slopes - 1.0) ** 2)


def _images(seed):
  rng = np.random.RandomState(seed)
  x = rng.uniform(size=SHAPE).astype(np.float32)
  x_fake = rng.uniform(size=SHAPE).astype(np.float32)
  y = np.eye(5, dtype=np.float32)[rng.randint(0, 5, size=SHAPE[0])]
  return x, x_fake, y


def _w(seed=0, scale=0.3):
  return np.random.RandomState(100 + seed).normal(
      scale=scale, size=SHAPE[1:]).astype(np.float32)


def _linear_reference(w):
  s = np.sqrt(1e-4 + np.sum(np.asarray(w, np.float64) ** 2))
  return (s - 1.0) ** 2


SEED = tf.constant([7, 11], tf.int32)


@pytest.mark.parametrize("name", ["wgangp_penalty", "dragan_penalty"])
def test_linear_d_closed_form(name):
  x, x_fake, y = _images(0)
  for scale in (0.05, 0.3, 1.0):
    w = _w(scale=scale)
    d = LinearD(w)
    got = penalty_lib.get_penalty_loss(
        fn=getattr(penalty_lib, name), discriminator=d, x=x, x_fake=x_fake,
        y=y, is_training=True, seed=SEED)
    np.testing.assert_allclose(got.numpy(), _linear_reference(w), rtol=1e-5)


def test_wgangp_interpolates_and_uses_real_labels():
  x, x_fake, y = _images(1)
  d = QuadraticD()
  got = penalty_lib.wgangp_penalty(discriminator=d, x=x, x_fake=x_fake, y=y,
                                   is_training=False, seed=SEED)
  x_hat = d.seen["x"].numpy()
  np.testing.assert_array_equal(d.seen["y"], y)
  assert d.seen["is_training"] is False
  # x_hat = x + alpha * (x_fake - x), alpha ~ U[0, 1) of shape [bs, 1, 1, 1].
  alpha = (x_hat - x) / (x_fake - x)
  per_example = alpha.reshape(SHAPE[0], -1)
  np.testing.assert_allclose(per_example, per_example[:, :1] * np.ones_like(
      per_example), atol=1e-4)
  assert np.all(per_example >= 0.0) and np.all(per_example < 1.0)
  assert len(np.unique(np.round(per_example[:, 0], 5))) == SHAPE[0]
  alpha = tf.random.stateless_uniform(
      [SHAPE[0], 1, 1, 1],
      seed=penalty_lib._derive_seed(SEED, "wgangp_penalty/alpha"))
  np.testing.assert_allclose(x_hat, x + alpha.numpy() * (x_fake - x),
                             atol=1e-6)
  # Gradient of the quadratic D is x_hat.
  np.testing.assert_allclose(got.numpy(), _slope_penalty_np(x_hat), rtol=1e-5)


def test_dragan_noise_and_value():
  x, _, y = _images(2)
  d = QuadraticD()
  got = penalty_lib.dragan_penalty(discriminator=d, x=x, y=y, is_training=True,
                                   seed=SEED)
  x_noisy = d.seen["x"].numpy()
  np.testing.assert_array_equal(d.seen["y"], y)
  std = np.std(x.astype(np.float64))
  assert np.all((x_noisy >= 0.0) & (x_noisy <= 1.0))
  inside = (x_noisy > 0.0) & (x_noisy < 1.0)
  u = (x_noisy[inside] - x[inside]) / std + 0.5  # The U[0, 1) draws.
  assert np.all(u >= -1e-4) and np.all(u < 1.0 + 1e-4)
  assert len(np.unique(np.round(u, 4))) > 0.9 * u.size  # Per element.
  # The draws are U[0, 1) from the penalty's own derived stateless seed.
  noise = tf.random.stateless_uniform(
      SHAPE, seed=penalty_lib._derive_seed(SEED, "dragan_penalty/noise"))
  np.testing.assert_allclose(
      x_noisy, np.clip(x + std * (noise.numpy() - 0.5), 0, 1), atol=1e-6)
  np.testing.assert_allclose(got.numpy(), _slope_penalty_np(x_noisy),
                             rtol=1e-5)


@pytest.mark.parametrize("name", ["wgangp_penalty", "dragan_penalty"])
def test_deterministic_given_seed(name):
  x, x_fake, y = _images(3)
  fn = functools.partial(getattr(penalty_lib, name), discriminator=QuadraticD(),
                         x=x, y=y, is_training=True)
  if name == "wgangp_penalty":
    fn = functools.partial(fn, x_fake=x_fake)
  a = fn(seed=SEED).numpy()
  b = fn(seed=tf.constant([7, 11], tf.int32)).numpy()
  c = fn(seed=tf.constant([7, 12], tf.int32)).numpy()
  d = fn(seed=tf.constant([8, 11], tf.int64)).numpy()
  assert a == b
  assert len({a, c, d}) == 3


def test_penalties_draw_from_different_streams():
  """WGAN-GP's alpha and DRAGAN's noise come from different derived seeds."""
  assert not np.array_equal(
      penalty_lib._derive_seed(SEED, "wgangp_penalty/alpha").numpy(),
      penalty_lib._derive_seed(SEED, "dragan_penalty/noise").numpy())


@pytest.mark.parametrize("name", ["wgangp_penalty", "dragan_penalty"])
def test_missing_seed_raises(name):
  x, x_fake, y = _images(4)
  with pytest.raises(ValueError, match="needs `seed`"):
    penalty_lib.get_penalty_loss(fn=getattr(penalty_lib, name),
                                 discriminator=QuadraticD(), x=x,
                                 x_fake=x_fake, y=y, is_training=True)


@pytest.mark.parametrize("name", ["wgangp_penalty", "dragan_penalty"])
def test_tf_function_matches_eager_and_second_order(name):
  x, x_fake, y = _images(5)
  w = _w(1)
  d = LinearD(w)
  fn = getattr(penalty_lib, name)
  kwargs = dict(discriminator=d, x=x, x_fake=x_fake, y=y, is_training=True)

  @tf.function
  def compiled(seed):
    with tf.GradientTape() as tape:
      penalty = penalty_lib.get_penalty_loss(fn=fn, seed=seed, **kwargs)
    return penalty, tape.gradient(penalty, d.kernel)

  penalty, grad = compiled(SEED)
  np.testing.assert_allclose(penalty.numpy(), _linear_reference(w), rtol=1e-5)
  # dP/dw for P = (s - 1)^2, s = sqrt(1e-4 + |w|^2): 2 (s - 1) w / s.
  s = np.sqrt(1e-4 + np.sum(w.astype(np.float64) ** 2))
  np.testing.assert_allclose(grad.numpy(), 2 * (s - 1) * w / s, rtol=1e-4,
                             atol=1e-6)

  # With a non-linear D, tf.function and eager give the same value.
  q_kwargs = dict(kwargs, discriminator=QuadraticD())
  eager = penalty_lib.get_penalty_loss(fn=fn, seed=SEED, **q_kwargs)
  graph = tf.function(lambda s: penalty_lib.get_penalty_loss(
      fn=fn, seed=s, **q_kwargs))(SEED)
  np.testing.assert_allclose(graph.numpy(), eager.numpy(), rtol=1e-5)


@pytest.mark.parametrize("name", ["wgangp_penalty", "dragan_penalty"])
def test_tf1_graph(name):
  x, x_fake, y = _images(6)
  w = _w(2)
  fn = getattr(penalty_lib, name)
  eager_q = penalty_lib.get_penalty_loss(
      fn=fn, discriminator=QuadraticD(), x=x, x_fake=x_fake, y=y,
      is_training=True, seed=SEED).numpy()
  graph = tf.Graph()
  with graph.as_default():
    xs = tf.compat.v1.placeholder(tf.float32, [None] + list(SHAPE[1:]))
    xf = tf.compat.v1.placeholder(tf.float32, [None] + list(SHAPE[1:]))
    seed = tf.compat.v1.placeholder(tf.int32, [2])
    d = LinearD(w)
    linear = penalty_lib.get_penalty_loss(
        fn=fn, discriminator=d, x=xs, x_fake=xf, y=y, is_training=True,
        seed=seed)
    grad = tf.compat.v1.gradients(linear, [d.kernel])[0]
    quadratic = penalty_lib.get_penalty_loss(
        fn=fn, discriminator=QuadraticD(), x=xs, x_fake=xf, y=y,
        is_training=True, seed=seed)
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      feed = {xs: x, xf: x_fake, seed: SEED.numpy()}
      lin, g, quad = sess.run([linear, grad, quadratic], feed)
  np.testing.assert_allclose(lin, _linear_reference(w), rtol=1e-5)
  s = np.sqrt(1e-4 + np.sum(w.astype(np.float64) ** 2))
  np.testing.assert_allclose(g, 2 * (s - 1) * w / s, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(quad, eager_q, rtol=1e-5)


def test_replica_context():
  x, x_fake, y = _images(7)
  strategy = tf_test_utils.two_replica_strategy()
  d = QuadraticD()

  @tf.function
  def step():
    def replica_fn():
      ctx = tf.distribute.get_replica_context()
      seed = tf.stack([tf.constant(3, tf.int32),
                       tf.cast(ctx.replica_id_in_sync_group, tf.int32)])
      return penalty_lib.get_penalty_loss(
          fn=penalty_lib.wgangp_penalty, discriminator=d, x=x, x_fake=x_fake,
          y=y, is_training=True, seed=seed), seed
    return strategy.run(replica_fn)

  penalties, seeds = step()
  values = [p.numpy() for p in strategy.experimental_local_results(penalties)]
  seeds = strategy.experimental_local_results(seeds)
  for value, seed in zip(values, seeds):
    want = penalty_lib.wgangp_penalty(discriminator=QuadraticD(), x=x,
                                      x_fake=x_fake, y=y, is_training=True,
                                      seed=seed)
    np.testing.assert_allclose(value, want.numpy(), rtol=1e-5)
  assert values[0] != values[1]


def test_l2_penalty():
  w1, w2 = _w(3), np.arange(6, dtype=np.float32).reshape(2, 3)

  class TwoLayerD(tf.Module):

    def __init__(self):
      super().__init__()
      self.k1 = tf.Variable(w1, name="discriminator/d1/kernel")
      self.k2 = tf.Variable(w2, name="discriminator/d2/kernel")
      self.b = tf.Variable([5.0, 6.0], name="discriminator/d2/bias")
      self.kernel_like = tf.Variable(3.0, name="discriminator/d2/kernel_norm")

  want = np.mean([0.5 * np.sum(w1.astype(np.float64) ** 2),
                  0.5 * np.sum(w2.astype(np.float64) ** 2)])
  got = penalty_lib.get_penalty_loss(fn=penalty_lib.l2_penalty,
                                     discriminator=TwoLayerD(), x=None,
                                     seed=SEED)
  np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)

  # compare_gan2's variable store names have no ":0" suffix.
  class Named:

    def __init__(self, name, value):
      self.name, self.value = name, tf.constant(value)

  class StoreD:
    trainable_variables = [Named("discriminator/d1/kernel", w1),
                           Named("discriminator/d1/bias", [1.0]),
                           Named("discriminator/d2/kernel", w2)]

  assert [penalty_lib._is_kernel(v) for v in StoreD.trainable_variables] == [
      True, False, True]

  class NoKernels(tf.Module):

    def __init__(self):
      super().__init__()
      self.b = tf.Variable(1.0, name="discriminator/bias")

  with pytest.raises(ValueError, match="no trainable variable"):
    penalty_lib.l2_penalty(NoKernels())
  with pytest.raises(TypeError, match="discriminator object"):
    penalty_lib.l2_penalty(lambda x, y, is_training: None)


def test_no_penalty_is_default():
  got = penalty_lib.get_penalty_loss(discriminator=QuadraticD(), x=None,
                                     x_fake=None, y=None, is_training=True,
                                     seed=SEED)
  assert got.numpy() == 0.0 and got.dtype == tf.float32


@pytest.mark.parametrize("name", ["no_penalty", "wgangp_penalty",
                                  "dragan_penalty", "l2_penalty"])
def test_dispatcher_through_gin(name):
  x, x_fake, y = _images(8)
  d = LinearD(_w(4))
  kwargs = dict(discriminator=d, x=x, x_fake=x_fake, y=y, is_training=True,
                seed=SEED)
  want = penalty_lib.get_penalty_loss(fn=getattr(penalty_lib, name), **kwargs)
  gin.parse_config("penalty.fn = @%s" % name)
  got = penalty_lib.get_penalty_loss(**kwargs)
  assert got.numpy() == want.numpy()
  if name == "wgangp_penalty":
    np.testing.assert_allclose(got.numpy(), _linear_reference(_w(4)),
                               rtol=1e-5)
