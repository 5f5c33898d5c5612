"""Fractal (correlation) dimension of a sample set, as in compare_gan.

compare_gan's ``compute_fractal_dimension``: flatten the
samples, take `num_fd_seeds` random seed points from the set, compute all
distances from every sample to every seed, and count ``N(r)`` = number of
(sample, seed) distances below r on `n_bins` log-spaced radii between the
smallest non-zero and the largest distance. The dimension is the least-squares
slope of ``log N(r)`` against ``log r`` on the radii whose ``log N`` lies within
``scale`` * (y-range) of the middle of the y-range, where the y-range is
``[log num_fd_seeds, log(N * num_fd_seeds)]``.

Differences from compare_gan: seeds are drawn with a seeded NumPy Generator
and *without* replacement (compare_gan: global ``np.random.randint``, with
replacement); counting uses a sorted search instead of an ``[N * seeds,
n_bins]`` boolean table (same counts, far less memory); degenerate inputs
raise ``ValueError`` instead of failing inside ``lstsq``. compare_gan computed
this on the *real* images by mistake (docs/compare_gan_quirks.md `eval-tasks`);
the task layer passes fake ones.
"""

import numpy as np
import scipy.spatial

from compare_gan2.metrics import _checks


def fractal_dimension(points, num_fd_seeds=100, n_bins=1000, scale=0.1,
                      seed=0):
  """Estimates the fractal dimension of `points`.

  Args:
    points: `[N, ...]` array; each row (flattened) is a point. The scaling of
      the values is irrelevant (the slope is scale invariant).
    num_fd_seeds: number of seed points (N >= num_fd_seeds).
    n_bins: number of log-spaced radii.
    scale: half-width of the fit window as a fraction of the y-range, in
      (0, 0.5).
    seed: seed for choosing the seed points.

  Returns:
    The dimension estimate (Python float): ~1 for points on a line, ~2 for a
    plane, and so on.

  Raises:
    ValueError: invalid parameters, non-finite values, N < num_fd_seeds, all
      points identical, or too few distinct distances in the fit window.
  """
  x = _checks.as_float_array(points, "points", min_ndim=2, dtype=None)
  n = x.shape[0]
  x = x.reshape(n, -1)
  if int(num_fd_seeds) != num_fd_seeds or not 1 <= num_fd_seeds <= n:
    raise ValueError(f"num_fd_seeds must be an integer in [1, {n}] (number "
                     f"of points), got {num_fd_seeds!r}.")
  if int(n_bins) != n_bins or n_bins < 3:
    raise ValueError(f"n_bins must be an integer >= 3, got {n_bins!r}.")
  if not 0 < scale < 0.5:
    raise ValueError(f"scale must be in (0, 0.5), got {scale!r}.")
  num_fd_seeds, n_bins = int(num_fd_seeds), int(n_bins)
  rng = np.random.default_rng(seed)
  seeds = x[rng.choice(n, size=num_fd_seeds, replace=False)].astype(np.float64)
  # cdist by row chunks: the same distances without a float64 copy of x.
  chunk = max(1, 2**22 // x.shape[1])
  distances = np.sort(np.concatenate([
      scipy.spatial.distance.cdist(x[s:s + chunk].astype(np.float64), seeds)
      for s in range(0, n, chunk)]).ravel())
  nonzero = distances[distances > 0]
  if nonzero.size == 0:
    raise ValueError("fractal_dimension: all points are identical.")
  min_distance, max_distance = nonzero[0], distances[-1]
  radii = min_distance * (max_distance / min_distance)**np.linspace(
      0, 1, n_bins)
  radii = radii[1:]
  counts = np.searchsorted(distances, radii, side="left")  # #{d < r}
  log_r = np.log(radii)
  log_n = np.log(counts)
  max_y = np.log(n * num_fd_seeds)
  min_y = np.log(num_fd_seeds)
  y_width = max_y - min_y
  y_mid = min_y + 0.5 * y_width
  start = int(np.argmax(log_n > y_mid - scale * y_width))
  end = int(np.argmax(log_n > y_mid + scale * y_width))
  if end - start < 2:
    raise ValueError(
        "fractal_dimension: fewer than 2 radii in the fit window; use more "
        "points, more bins or a larger scale.")
  slope, _ = np.polyfit(log_r[start:end], log_n[start:end], 1)
  return float(slope)
