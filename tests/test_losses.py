"""Tests for compare_gan2.gans.loss_lib against NumPy versions of the formulas."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2.gans import loss_lib

LOSSES = ("non_saturating", "wasserstein", "least_squares", "hinge")


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
  return np.logaddexp(0.0, x)


def _reference(name, l_r, l_f):
  """compare_gan's formulas in float64 NumPy: (d_loss, d_real, d_fake, g)."""
  d_r, d_f = _sigmoid(l_r), _sigmoid(l_f)
  if name == "non_saturating":
    # CE(l, 1) = softplus(-l); CE(l, 0) = softplus(l).
    real, fake = np.mean(_softplus(-l_r)), np.mean(_softplus(l_f))
    return real + fake, real, fake, np.mean(_softplus(-l_f))
  if name == "wasserstein":
    real, fake = -np.mean(l_r), np.mean(l_f)
    return real + fake, real, fake, -np.mean(l_f)
  if name == "least_squares":
    real, fake = np.mean((d_r - 1.0) ** 2), np.mean(d_f ** 2)
    return 0.5 * (real + fake), real, fake, 0.5 * np.mean((d_f - 1.0) ** 2)
  if name == "hinge":
    real = np.mean(np.maximum(0.0, 1.0 - l_r))
    fake = np.mean(np.maximum(0.0, 1.0 + l_f))
    return real + fake, real, fake, -np.mean(l_f)
  raise AssertionError(name)


def _inputs(batch_size=16, seed=0):
  rng = np.random.RandomState(seed)
  l_r = rng.normal(scale=2.0, size=(batch_size, 1)).astype(np.float32)
  l_f = rng.normal(scale=2.0, size=(batch_size, 1)).astype(np.float32)
  return l_r, l_f


def _kwargs(l_r, l_f):
  return dict(d_real=tf.sigmoid(l_r), d_fake=tf.sigmoid(l_f),
              d_real_logits=tf.convert_to_tensor(l_r),
              d_fake_logits=tf.convert_to_tensor(l_f))


@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_formula_eagerly(name):
  l_r, l_f = _inputs()
  got = getattr(loss_lib, name)(**_kwargs(l_r, l_f))
  assert len(got) == 4
  want = _reference(name, l_r.astype(np.float64), l_f.astype(np.float64))
  for g, w in zip(got, want):
    assert g.shape == () and g.dtype == tf.float32
    np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_positional_order_is_the_contract(name):
  l_r, l_f = _inputs(seed=1)
  kw = _kwargs(l_r, l_f)
  fn = getattr(loss_lib, name)
  by_position = fn(kw["d_real"], kw["d_fake"], kw["d_real_logits"],
                   kw["d_fake_logits"])
  by_name = fn(**kw)
  for a, b in zip(by_position, by_name):
    assert a.numpy() == b.numpy()


def test_least_squares_uses_probabilities_not_logits():
  l_r, l_f = _inputs(seed=2)
  # Logits that disagree with the probabilities must not matter.
  got = loss_lib.least_squares(
      d_real=tf.sigmoid(l_r), d_fake=tf.sigmoid(l_f),
      d_real_logits=tf.constant(l_r * 0 + 100.0),
      d_fake_logits=tf.constant(l_f * 0 - 100.0))
  want = _reference("least_squares", l_r.astype(np.float64),
                    l_f.astype(np.float64))
  np.testing.assert_allclose([g.numpy() for g in got], want, rtol=1e-5)
  # Unused inputs may be omitted.
  only_probs = loss_lib.least_squares(d_real=tf.sigmoid(l_r),
                                      d_fake=tf.sigmoid(l_f))
  np.testing.assert_allclose([g.numpy() for g in only_probs], want, rtol=1e-5)
  only_logits = loss_lib.hinge(d_real_logits=tf.constant(l_r),
                               d_fake_logits=tf.constant(l_f))
  np.testing.assert_allclose(
      [g.numpy() for g in only_logits],
      _reference("hinge", l_r.astype(np.float64), l_f.astype(np.float64)),
      rtol=1e-5)


def test_missing_required_input_raises():
  l_r, l_f = _inputs()
  with pytest.raises(ValueError, match="least_squares needs d_real, d_fake"):
    loss_lib.least_squares(d_real_logits=tf.constant(l_r),
                           d_fake_logits=tf.constant(l_f))
  with pytest.raises(ValueError, match="hinge needs d_fake_logits"):
    loss_lib.hinge(d_real_logits=tf.constant(l_r))


@pytest.mark.parametrize("name", LOSSES)
def test_loss_in_tf_function_and_replica_context(name):
  l_r, l_f = _inputs(batch_size=8, seed=3)
  want = _reference(name, l_r.astype(np.float64), l_f.astype(np.float64))
  fn = getattr(loss_lib, name)

  @tf.function
  def compiled(l_r, l_f):
    return fn(**_kwargs(l_r, l_f))

  np.testing.assert_allclose([g.numpy() for g in compiled(l_r, l_f)], want,
                             rtol=1e-5, atol=1e-6)

  strategy = tf_test_utils.two_replica_strategy()

  @tf.function
  def distributed():
    def replica_fn():
      # Every replica gets the same inputs: the per-replica loss must be the
      # plain mean (no scaling by the number of replicas).
      return fn(**_kwargs(l_r, l_f))
    return strategy.run(replica_fn)

  per_replica = distributed()
  for value, w in zip(per_replica, want):
    for local in strategy.experimental_local_results(value):
      np.testing.assert_allclose(local.numpy(), w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_in_tf1_graph_adds_nothing_to_collections(name):
  l_r, l_f = _inputs(batch_size=4, seed=4)
  want = _reference(name, l_r.astype(np.float64), l_f.astype(np.float64))
  graph = tf.Graph()
  with graph.as_default():
    r = tf.compat.v1.placeholder(tf.float32, [None, 1])
    f = tf.compat.v1.placeholder(tf.float32, [None, 1])
    out = getattr(loss_lib, name)(**_kwargs(r, f))
    assert not graph.get_collection(tf.compat.v1.GraphKeys.LOSSES)
    with tf.compat.v1.Session(graph=graph) as sess:
      got = sess.run(out, {r: l_r, f: l_f})
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_losses_are_differentiable():
  l_r, l_f = _inputs(batch_size=4, seed=5)
  r, f = tf.Variable(l_r), tf.Variable(l_f)
  with tf.GradientTape(persistent=True) as tape:
    d_loss, _, _, g_loss = loss_lib.non_saturating(
        d_real_logits=r * 1.0, d_fake_logits=f * 1.0)
  # d/dl_f mean softplus(-l_f) = -sigmoid(-l_f) / bs.
  np.testing.assert_allclose(tape.gradient(g_loss, f).numpy(),
                             -_sigmoid(-l_f) / 4, rtol=1e-5)
  np.testing.assert_allclose(tape.gradient(d_loss, r).numpy(),
                             -_sigmoid(-l_r) / 4, rtol=1e-5)


@pytest.mark.parametrize("bad,match", [
    (dict(d_real_logits=tf.zeros([4]), d_fake_logits=tf.zeros([4])), "rank 2"),
    (dict(d_real_logits=tf.zeros([4, 1, 1]), d_fake_logits=tf.zeros([4, 1, 1])),
     "rank 2"),
    (dict(d_real_logits=tf.zeros([4, 2]), d_fake_logits=tf.zeros([4, 2])),
     r"\[batch_size, 1\]"),
    (dict(d_real_logits=tf.zeros([4, 1]), d_fake_logits=tf.zeros([3, 1])),
     "mismatched shapes"),
    (dict(d_real=tf.zeros([5, 1]), d_fake=tf.zeros([5, 1]),
          d_real_logits=tf.zeros([4, 1]), d_fake_logits=tf.zeros([4, 1])),
     "mismatched shapes"),
])
def test_check_dimensions_errors(bad, match):
  full = dict(d_real=None, d_fake=None, d_real_logits=None, d_fake_logits=None)
  full.update(bad)
  with pytest.raises(ValueError, match=match):
    loss_lib.check_dimensions(**full)
  with pytest.raises(ValueError, match=match):
    loss_lib.hinge(**bad)


def test_check_dimensions_accepts_valid_and_unknown_batch():
  loss_lib.check_dimensions(tf.zeros([4, 1]), tf.zeros([4, 1]),
                            tf.zeros([4, 1]), tf.zeros([4, 1]))
  loss_lib.check_dimensions(None, None, tf.zeros([4, 1]), tf.zeros([4, 1]))
  graph = tf.Graph()
  with graph.as_default():
    p = tf.compat.v1.placeholder(tf.float32, [None, 1])
    loss_lib.check_dimensions(p, p, tf.zeros([4, 1]), p)


@pytest.mark.parametrize("name", LOSSES)
def test_dispatcher_through_gin(name):
  l_r, l_f = _inputs(seed=6)
  gin.parse_config("loss.fn = @%s" % name)
  got = loss_lib.get_losses(**_kwargs(l_r, l_f))
  want = _reference(name, l_r.astype(np.float64), l_f.astype(np.float64))
  np.testing.assert_allclose([g.numpy() for g in got], want, rtol=1e-5,
                             atol=1e-6)


def test_dispatcher_default_is_non_saturating_and_filters_kwargs():
  l_r, l_f = _inputs(seed=7)
  got = loss_lib.get_losses(**_kwargs(l_r, l_f))
  want = _reference("non_saturating", l_r.astype(np.float64),
                    l_f.astype(np.float64))
  np.testing.assert_allclose([g.numpy() for g in got], want, rtol=1e-5)

  def logits_only(d_real_logits, d_fake_logits):
    return d_real_logits, d_fake_logits
  r, f = loss_lib.get_losses(fn=logits_only, **_kwargs(l_r, l_f))
  np.testing.assert_array_equal(r.numpy(), l_r)
  np.testing.assert_array_equal(f.numpy(), l_f)


def test_losses_registered_with_module_qualified_names():
  for name in LOSSES:
    gin.parse_config("loss.fn = @loss_lib.%s" % name)
    gin.clear_config()


@pytest.mark.parametrize("name", LOSSES)
def test_generator_loss_from_fakes_matches_the_full_loss(name):
  """The gin-selected built-in loss's g_loss needs D(fakes) only."""
  l_r, l_f = _inputs(seed=8)
  gin.parse_config("loss.fn = @%s" % name)
  assert loss_lib.generator_loss_reads_fakes_only()
  kwargs = _kwargs(l_r, l_f)
  want = loss_lib.get_losses(**kwargs)[-1]
  got = loss_lib.generator_loss_from_fakes(kwargs["d_fake"],
                                           kwargs["d_fake_logits"])
  np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_generator_loss_from_fakes_refuses_a_custom_loss():
  def custom(d_real_logits, d_fake_logits):
    g_loss = tf.reduce_mean(d_real_logits - d_fake_logits)
    return g_loss, g_loss, g_loss, g_loss
  assert not loss_lib.generator_loss_reads_fakes_only(custom)
  with pytest.raises(ValueError, match="may read D\\(real\\)"):
    loss_lib.generator_loss_from_fakes(tf.zeros([2, 1]), tf.zeros([2, 1]),
                                       fn=custom)
