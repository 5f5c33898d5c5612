"""Fractal dimension, sample class accuracy, and common input validation."""

import numpy as np
import pytest

from compare_gan2 import metrics


@pytest.mark.parametrize("dim, tolerance", [(1, 0.05), (2, 0.1)])
def test_fractal_dimension_of_uniform_points(dim, tolerance):
  # compare_gan's test (10k U[0,1] points, one unseeded draw). The estimate is
  # biased low by boundary effects in 2-D (mean ~1.93 over draws, single draws
  # range ~1.90-1.98), so a single draw sits at the edge of the tolerance:
  # average 4 seeded draws instead.
  values = [
      metrics.fractal_dimension(
          np.random.default_rng(s).uniform(size=(10000, dim)), seed=s)
      for s in range(4)]
  assert all(isinstance(v, float) for v in values)
  assert np.mean(values) == pytest.approx(dim, abs=tolerance)


def test_fractal_dimension_is_seeded_and_flattens_images():
  images = np.random.default_rng(1).uniform(size=(500, 2, 2, 1))
  a = metrics.fractal_dimension(images, seed=3)
  assert a == metrics.fractal_dimension(images.reshape(500, 4), seed=3)
  assert a == metrics.fractal_dimension(images, seed=3)
  assert a != metrics.fractal_dimension(images, seed=4)  # The seed is used.


@pytest.mark.parametrize("points, kwargs", [
    (np.zeros((200, 2)), {}),                       # all identical
    (np.ones((50, 2)), {}),                         # fewer points than seeds
    (np.random.default_rng(0).uniform(size=(200, 2)), dict(scale=0.6)),
    (np.random.default_rng(0).uniform(size=(200, 2)), dict(n_bins=2)),
    (np.full((200, 2), np.nan), {}),
    (np.zeros(200), {}),
])
def test_fractal_dimension_rejects_bad_inputs(points, kwargs):
  with pytest.raises(ValueError):
    metrics.fractal_dimension(points, **kwargs)


def test_sample_class_accuracy():
  logits = np.array([[5.0, 0, 0], [0, 3, 0], [0, 0, 1], [2, 1, 0]])
  assert metrics.sample_class_accuracy(logits, [0, 1, 1, 0]) == 0.75
  assert metrics.sample_class_accuracy([0, 1, 2, 0], np.eye(3)[[0, 1, 2, 0]]) == 1.0
  with pytest.raises(ValueError):  # length mismatch
    metrics.sample_class_accuracy(logits, [0, 1, 2])
  with pytest.raises(ValueError):  # non-integer labels
    metrics.sample_class_accuracy(logits, [0.5, 1, 1, 0])
  with pytest.raises(ValueError, match="non-finite"):
    metrics.sample_class_accuracy(np.full((4, 3), np.nan), [0, 1, 1, 0])
  with pytest.raises(ValueError):
    metrics.sample_class_accuracy([], [])


@pytest.mark.parametrize("call", [
    lambda x: metrics.frechet_distance_from_activations(x, x),
    lambda x: metrics.kid(x, x),
    lambda x: metrics.inception_score(x, 1),
    lambda x: metrics.precision_recall(x, x),
    lambda x: metrics.compute_prd_from_embedding(x, x, num_clusters=2),
    lambda x: metrics.fractal_dimension(x, num_fd_seeds=5),
    lambda x: metrics.intra_class_fid(x, np.zeros(len(x), int), x,
                                      np.zeros(len(x), int)),
])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_raise(call, bad):
  x = np.random.default_rng(0).normal(size=(20, 4))
  x[3, 1] = bad
  with pytest.raises(ValueError, match="non-finite"):
    call(x)
