"""Improved precision and recall (Kynkaanniemi et al. 2019), density/coverage.

"Improved Precision and Recall Metric for Assessing Generative Models",
https://arxiv.org/abs/1904.06991. Each set's manifold is the union of balls
around its samples, with radius = distance to the sample's k-th nearest
neighbour within the same set (the sample itself excluded; k = 3 by default):

    precision = fraction of fake samples inside the real manifold
    recall    = fraction of real samples inside the fake manifold

Also returned, from the same distance pass (Naeem et al. 2020, "Reliable
Fidelity and Diversity Metrics for Generative Models",
https://arxiv.org/abs/2002.09797; they use k = 5):

    density  = (1 / (k N_f)) sum_f #{real r : |f - r| <= radius_k(r)}
    coverage = fraction of real samples r with some fake f, |f - r| <= radius_k(r)

Distances are Euclidean, computed in row blocks of `batch_size` so memory is
O(batch_size * N) (10k x 10k needs ~80 MB per block at the default 1024).
A point lies in a ball when its distance is <= the radius (ties count).
"""

import numpy as np

from compare_gan2.metrics import _checks


def knn_radii(features, k=3, batch_size=1024):
  """Distance from each row to its k-th nearest other row, `[N]` float64.

  Raises:
    ValueError: non-finite features, or `k` not an integer in `[1, N - 1]`.
  """
  x = _checks.as_float_array(features, "features", ndim=2)
  n = x.shape[0]
  _check_k(k, n, "features")
  _check_batch_size(batch_size)
  sq = np.einsum("ij,ij->i", x, x)
  radii = np.empty(n)
  for s in range(0, n, batch_size):
    d = _checks.pairwise_sq_distances(x[s:s + batch_size], x,
                                      a_sq=sq[s:s + batch_size], b_sq=sq)
    # The self distance is 0 (up to rounding); force it so that it is always
    # the smallest and the (k+1)-th smallest is the k-th neighbour.
    rows = np.arange(d.shape[0])
    d[rows, s + rows] = -1.0
    radii[s:s + batch_size] = np.partition(d, k, axis=1)[:, k]
  return np.sqrt(np.maximum(radii, 0.0))


def _check_k(k, n, name):
  if isinstance(k, bool) or int(k) != k or not 1 <= k <= n - 1:
    raise ValueError(
        f"k must be an integer in [1, N - 1] with N = {n} rows of {name}, "
        f"got {k!r}.")


def _check_batch_size(batch_size):
  if isinstance(batch_size, bool) or int(batch_size) != batch_size or (
      batch_size < 1):
    raise ValueError(f"batch_size must be a positive integer, got "
                     f"{batch_size!r}.")


def precision_recall(real_features, fake_features, k=3, batch_size=1024):
  """Improved precision/recall plus density/coverage of fake vs real features.

  Args:
    real_features: `[N_r, D]` array (e.g. VGG-16 fc2 or Inception pool_3).
    fake_features: `[N_f, D]` array with the same D.
    k: neighbourhood size for the radii (3 in Kynkaanniemi et al.).
    batch_size: rows per distance block (memory / speed trade-off).

  Returns:
    dict with Python floats `precision`, `recall`, `density`, `coverage`.

  Raises:
    ValueError: invalid or non-finite inputs, or k >= number of samples.
  """
  real, fake = _checks.check_features(real_features, fake_features)
  _check_k(k, real.shape[0], "real_features")
  _check_k(k, fake.shape[0], "fake_features")
  _check_batch_size(batch_size)
  real_radii_sq = knn_radii(real, k, batch_size) ** 2
  fake_radii_sq = knn_radii(fake, k, batch_size) ** 2
  real_sq = np.einsum("ij,ij->i", real, real)
  fake_sq = np.einsum("ij,ij->i", fake, fake)
  n_r, n_f = real.shape[0], fake.shape[0]
  real_in_fake = np.zeros(n_r, dtype=bool)      # recall
  real_ball_hit = np.zeros(n_r, dtype=bool)     # coverage
  fake_in_real_count = np.zeros(n_f, dtype=np.int64)  # precision, density
  for s in range(0, n_r, batch_size):
    e = min(s + batch_size, n_r)
    d = _checks.pairwise_sq_distances(real[s:e], fake, a_sq=real_sq[s:e],
                                      b_sq=fake_sq)
    real_in_fake[s:e] = (d <= fake_radii_sq[None, :]).any(axis=1)
    inside_real_ball = d <= real_radii_sq[s:e, None]
    real_ball_hit[s:e] = inside_real_ball.any(axis=1)
    fake_in_real_count += inside_real_ball.sum(axis=0)
  return {
      "precision": float(np.mean(fake_in_real_count > 0)),
      "recall": float(np.mean(real_in_fake)),
      "density": float(fake_in_real_count.sum() / (k * n_f)),
      "coverage": float(np.mean(real_ball_hit)),
  }
