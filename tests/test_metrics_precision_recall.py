"""Improved precision/recall (Kynkaanniemi et al.) and density/coverage."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from compare_gan2 import metrics


def _brute_force(real, fake, k):
  real_r = np.sort(cdist(real, real), axis=1)[:, k]
  fake_r = np.sort(cdist(fake, fake), axis=1)[:, k]
  d = cdist(real, fake)
  inside = d <= real_r[:, None]
  return {
      "precision": inside.any(axis=0).mean(),
      "recall": (d <= fake_r[None, :]).any(axis=1).mean(),
      "density": inside.sum() / (k * len(fake)),
      "coverage": inside.any(axis=1).mean(),
  }


@pytest.mark.parametrize("k, batch_size", [(3, 1024), (3, 37), (5, 64), (1, 7)])
def test_matches_brute_force(k, batch_size):
  rng = np.random.default_rng(k + batch_size)
  real = rng.normal(size=(300, 8))
  fake = rng.normal(0.4, 1.2, size=(250, 8))
  result = metrics.precision_recall(real, fake, k=k, batch_size=batch_size)
  expected = _brute_force(real, fake, k)
  assert result.keys() == expected.keys()
  for key in result:
    assert isinstance(result[key], float)
    assert result[key] == pytest.approx(expected[key]), key


def test_knn_radii():
  points = np.array([[0.0], [1.0], [3.0], [7.0]])
  np.testing.assert_allclose(metrics.knn_radii(points, k=1, batch_size=3),
                             [1, 1, 2, 4])
  np.testing.assert_allclose(metrics.knn_radii(points, k=2), [3, 2, 3, 6])


def test_identical_disjoint_and_mode_collapse():
  rng = np.random.default_rng(0)
  real = rng.normal(size=(400, 4))
  same = metrics.precision_recall(real, real.copy())
  assert same["precision"] == same["recall"] == same["coverage"] == 1.0
  far = metrics.precision_recall(real, real + 100)
  assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0,
                 "coverage": 0.0}
  # Fake samples concentrated on one small region of the real distribution.
  collapsed = metrics.precision_recall(real, 0.1 * rng.normal(size=(400, 4)))
  assert collapsed["precision"] > 0.9
  assert collapsed["recall"] < 0.2


@pytest.mark.parametrize("real, fake, k", [
    (np.ones((5, 2)), np.ones((5, 3)), 3),
    (np.ones((3, 2)), np.ones((5, 2)), 3),      # k >= N_real
    (np.ones((5, 2)), np.ones((5, 2)), 0),
    (np.full((5, 2), np.nan), np.ones((5, 2)), 3),
])
def test_rejects_bad_inputs(real, fake, k):
  with pytest.raises(ValueError):
    metrics.precision_recall(real, fake, k=k)
