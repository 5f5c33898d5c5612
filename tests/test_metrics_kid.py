"""KID: agreement with tensorflow-gan, unbiasedness, compare_gan bug fixes."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import metrics
from compare_gan2 import tfgan


@pytest.mark.parametrize("n_real, n_fake, block", [
    (2500, 2100, 1024),   # 3 blocks, unequal sizes (compare_gan's bug case)
    (300, 200, 1024),     # 1 block: stderr is NaN
    (1001, 999, 100),     # 11 blocks, remainders on both sides
    (64, 64, 16),
])
def test_kid_matches_tfgan(n_real, n_fake, block):
  rng = np.random.default_rng(n_real + n_fake)
  real = rng.normal(size=(n_real, 16))
  fake = rng.normal(0.1, 1.1, size=(n_fake, 16))
  value, stderr = metrics.kid(real, fake, max_block_size=block)
  tf_value, tf_stderr = tfgan.eval.kernel_classifier_distance_and_std_from_activations(
      tf.constant(real), tf.constant(fake), max_block_size=block)
  assert value == pytest.approx(float(tf_value), rel=1e-9, abs=1e-12)
  if np.isnan(float(tf_stderr)):
    assert np.isnan(stderr)
  else:
    assert stderr == pytest.approx(float(tf_stderr), rel=1e-8)


def test_kid_single_block_is_the_unbiased_mmd():
  rng = np.random.default_rng(3)
  real = rng.normal(size=(40, 5))
  fake = rng.normal(0.5, 1.0, size=(30, 5))  # different sizes: real block != fake block
  k = lambda a, b: (a @ b.T / 5 + 1) ** 3
  expected = 0.0
  for a in (real, fake):
    kaa = k(a, a)
    expected += (kaa.sum() - np.trace(kaa)) / (len(a) * (len(a) - 1))
  expected -= 2 * k(real, fake).mean()
  value, stderr = metrics.kid(real, fake)
  assert value == pytest.approx(expected, rel=1e-12)
  assert np.isnan(stderr)


def test_kid_near_zero_for_same_distribution_and_positive_otherwise():
  rng = np.random.default_rng(4)
  a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
  value, stderr = metrics.kid(a, b, max_block_size=500)
  assert abs(value) < 4 * stderr
  value, stderr = metrics.kid(a, b + 0.5, max_block_size=500)
  assert value > 10 * stderr


@pytest.mark.parametrize("real, fake, block", [
    (np.ones((3, 2)), np.ones((1, 2)), 1024),   # block with 1 fake sample
    (np.ones((10, 2)), np.ones((3, 2)), 4),     # 3 blocks, 3 fake samples
    (np.ones((10, 2)), np.ones((10, 3)), 1024),
    (np.ones((10, 2)), np.full((10, 2), np.nan), 1024),
    (np.ones((10, 2)), np.ones((10, 2)), 1),
])
def test_kid_rejects_bad_inputs(real, fake, block):
  with pytest.raises(ValueError):
    metrics.kid(real, fake, max_block_size=block)


def test_kid_shuffle_seed_equals_shuffled_inputs():
  rng = np.random.default_rng(3)
  real = rng.normal(size=(300, 8)).astype(np.float32)
  fake = (rng.normal(size=(250, 8)) + 0.3).astype(np.float32)
  order = np.random.default_rng(7)
  want = metrics.kid(order.permutation(real), order.permutation(fake),
                     max_block_size=100)
  got = metrics.kid(real, fake, max_block_size=100, shuffle_seed=7)
  np.testing.assert_allclose(got, want, rtol=1e-12)
  assert got != metrics.kid(real, fake, max_block_size=100)
