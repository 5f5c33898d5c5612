"""Kernel Inception Distance (Binkowski et al. 2018), unbiased block estimator.

KID is the squared maximum mean discrepancy between the real and fake feature
distributions with the polynomial kernel ``k(x, y) = (x.y / d + 1)^3``::

    MMD^2 = E[k(r, r')] + E[k(f, f')] - 2 E[k(r, f)]

Both sets are split into the same number of blocks ``B = ceil(max(N_r, N_f) /
max_block_size)``; block ``b`` pairs the b-th real block with the b-th fake
block. The per-block unbiased estimate (diagonals excluded from the r-r and f-f
terms) is averaged over blocks (the estimator of arXiv:1307.1954).

Fixes relative to compare_gan's ``kid_score.kid`` (docs/compare_gan_quirks.md `eval-tasks`):
  * compare_gan sized the fake blocks with the *real* block size
    (``bins_g[:(n_bins * bins_r[0]) - n_gen] -= 1``), so when N_r != N_f the
    fake blocks did not partition the fake set; here each set is partitioned
    using its own size.
  * compare_gan normalised the fake-fake term with the *real* block size
    (``n = r_e - r_s``); here each term uses its own block size.
  * compare_gan's task passed NumPy arrays to a TF-graph function and returned
    a tensor; this is plain NumPy.
  * The standard error uses the Bessel-corrected variance over blocks and is
    NaN for a single block (compare_gan: ddof 0 and NaN below 5 blocks).

With these fixes the result equals tensorflow-gan's
``kernel_classifier_distance_and_std_from_activations(real, fake,
max_block_size)`` on float64 inputs: same block partition (each set split into
B blocks of sizes ``N // B`` with the ``N % B`` blocks of size ``N // B + 1``
*last*), same per-block formula, same stderr. The only difference is that the
computation here is always float64 (tensorflow-gan uses the input dtype).

The blocks are contiguous: shuffle the inputs if their order is meaningful
(e.g. sorted by class), otherwise the estimator is biased; `shuffle_seed`
does that block by block, without copying the inputs.
"""

import math

import numpy as np

from compare_gan2.metrics import _checks


def _block_bounds(n, n_blocks):
  sizes = np.full(n_blocks, n // n_blocks, dtype=np.int64)
  extra = n - (n // n_blocks) * n_blocks
  if extra:
    sizes[n_blocks - extra:] += 1
  return np.concatenate([[0], np.cumsum(sizes)])


def _polynomial_kernel(a, b, dim):
  return (a @ b.T / dim + 1.0) ** 3


def kid(real_activations, fake_activations, max_block_size=1024,
        shuffle_seed=None):
  """Unbiased KID estimate and its standard error.

  Args:
    real_activations: `[N_r, D]` array (e.g. Inception pool_3, shuffled).
    fake_activations: `[N_f, D]` array with the same D.
    max_block_size: maximum number of samples per block (per set). Larger
      blocks lower the variance but cost O(block^2 D).
    shuffle_seed: if set, the blocks are taken from seeded permutations of
      each set (real first), as `kid(rng.permutation(real),
      rng.permutation(fake))` with `rng = np.random.default_rng(seed)`.

  Returns:
    `(kid, stderr)` as Python floats. `stderr = std_ddof1(blocks) /
    sqrt(num_blocks)`, NaN when there is only one block.

  Raises:
    ValueError: invalid inputs, non-finite values, or a block with fewer than
      2 samples of either set (the unbiased estimate needs 2).
  """
  if isinstance(max_block_size, bool) or int(max_block_size) != max_block_size \
      or max_block_size < 2:
    raise ValueError(
        f"max_block_size must be an integer >= 2, got {max_block_size!r}.")
  real, fake = _checks.check_features(real_activations, fake_activations,
                                      dtype=None)
  n_r, dim = real.shape
  n_f = fake.shape[0]
  n_blocks = int(math.ceil(max(n_r, n_f) / max_block_size))
  if min(n_r, n_f) // n_blocks < 2:
    raise ValueError(
        f"KID needs at least 2 samples of each set per block: {n_r} real and "
        f"{n_f} fake samples in {n_blocks} block(s) of at most "
        f"{max_block_size}. Use more samples or a larger max_block_size.")
  inds_r = _block_bounds(n_r, n_blocks)
  inds_f = _block_bounds(n_f, n_blocks)
  order_r, order_f = np.arange(n_r), np.arange(n_f)
  if shuffle_seed is not None:
    rng = np.random.default_rng(shuffle_seed)
    order_r, order_f = rng.permutation(n_r), rng.permutation(n_f)
  ests = np.empty(n_blocks)
  for i in range(n_blocks):
    r = real[order_r[inds_r[i]:inds_r[i + 1]]].astype(np.float64)
    f = fake[order_f[inds_f[i]:inds_f[i + 1]]].astype(np.float64)
    m, n = len(r), len(f)
    k_rr = _polynomial_kernel(r, r, dim)
    k_ff = _polynomial_kernel(f, f, dim)
    k_rf = _polynomial_kernel(r, f, dim)
    ests[i] = ((k_rr.sum() - np.trace(k_rr)) / (m * (m - 1)) +
               (k_ff.sum() - np.trace(k_ff)) / (n * (n - 1)) -
               2.0 * k_rf.mean())
  mean = float(ests.mean())
  if n_blocks < 2:
    return mean, float("nan")
  return mean, float(np.sqrt(ests.var(ddof=1) / n_blocks))
