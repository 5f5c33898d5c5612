"""MS-SSIM (compare_gan's image_similarity) and the diversity score."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import metrics


def test_diversity_golden_value_from_compare_gan():
  # compare_gan's ms_ssim_score_test: [0, 1] images with max_val=255, one
  # batch containing all three images.
  images = np.stack([np.ones([64, 64, 3]), 0.7 * np.ones([64, 64, 3]),
                     np.zeros([64, 64, 3])])
  value = metrics.ms_ssim_diversity(images, num_batches=1, batch_size=3)
  assert value == pytest.approx(0.989989, abs=1e-3)
  # The exact value of the same computation, for regression.
  assert value == pytest.approx(0.98998868, abs=1e-6)


@pytest.mark.parametrize("shape", [(192, 192, 1), (181, 177, 3)])
def test_multiscale_ssim_matches_tf_image(shape):
  # tf.image.ssim_multiscale is the same algorithm (it needs images of at
  # least 11 * 2^4 pixels and computes in float32).
  rng = np.random.default_rng(0)
  x = rng.uniform(0, 255, size=(3,) + shape)
  y = np.clip(x + rng.normal(0, 40, size=x.shape), 0, 255)
  ours = metrics.multiscale_ssim(x, y)
  theirs = tf.image.ssim_multiscale(tf.constant(x, tf.float32),
                                    tf.constant(y, tf.float32), 255.0).numpy()
  np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_matrix_matches_pairwise_and_properties():
  rng = np.random.default_rng(1)
  images = rng.uniform(0, 255, size=(6, 37, 45, 3))  # odd sizes: padding path
  matrix = metrics.ms_ssim_matrix(images, chunk_size=4)
  pairwise = metrics.multiscale_ssim(images[:, None], images[None, :])
  np.testing.assert_allclose(matrix, pairwise, atol=1e-12)
  np.testing.assert_allclose(np.diag(pairwise), 1.0)
  assert np.all((pairwise >= 0) & (pairwise <= 1))
  assert metrics.multiscale_ssim(images[0], images[1]).shape == ()


def test_diversity_mean_excludes_self_pairs():
  rng = np.random.default_rng(2)
  images = rng.uniform(0, 255, size=(8, 32, 32, 3))
  matrix = metrics.ms_ssim_matrix(images)
  expected = (matrix.sum() - 8) / (8 * 7)
  assert metrics.ms_ssim_diversity(images, 1, 8, seed=5) == pytest.approx(expected)
  # Several batches: seeded and within [0, 1].
  a = metrics.ms_ssim_diversity(images, num_batches=3, batch_size=3, seed=1)
  assert a == metrics.ms_ssim_diversity(images, num_batches=3, batch_size=3,
                                        seed=1)
  assert 0 <= a <= 1


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=1), dict(batch_size=9), dict(num_batches=0),
    dict(max_val=0), dict(filter_width=-1.0),
])
def test_diversity_rejects_bad_parameters(kwargs):
  images = np.zeros((8, 16, 16, 3))
  with pytest.raises(ValueError):
    metrics.ms_ssim_diversity(images, **kwargs)


def test_ms_ssim_rejects_bad_images():
  with pytest.raises(ValueError):
    metrics.multiscale_ssim(np.zeros((16, 16, 3)), np.zeros((16, 15, 3)))
  with pytest.raises(ValueError):
    metrics.multiscale_ssim(np.zeros((16, 16)), np.zeros((16, 16)))
  bad = np.zeros((4, 16, 16, 3))
  bad[0, 0, 0, 0] = np.nan
  with pytest.raises(ValueError, match="non-finite"):
    metrics.ms_ssim_diversity(bad, 1, 4)
