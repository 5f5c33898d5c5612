"""Multi-scale SSIM (Wang et al. 2003) and the MS-SSIM sample-diversity score.

A NumPy/SciPy port of compare_gan's ``image_similarity.multiscale_ssim`` and
``ms_ssim_score``, numerically the same computation:

  * Gaussian window: ``filter_size`` x ``filter_size`` (clipped to the image
    size at each scale), sigma ``filter_width``, centred at ``(size - 1) / 2``,
    normalised to sum 1, applied per channel with VALID padding.
  * SSIM terms with ``c1 = (k1 max_val)^2``, ``c2 = (k2 max_val)^2`` and no
    covariance compensation (compensation 1.0, as MATLAB's MS-SSIM).
  * 5 scales (one per weight); between scales a 2x2 average pool (VALID),
    after SYMMETRIC padding of an odd height/width at the bottom/right.
  * ``prod_s relu(cs_s)^w_s`` over all but the last scale, times
    ``relu(ssim_last)^w_last``; then the mean over channels.

`ms_ssim_diversity` is compare_gan's ``MultiscaleSSIMTask`` score (Fedus,
Rosca et al. 2018, §5.3 of arXiv:1710.08446): mean MS-SSIM over all ordered
pairs of distinct images within random batches of 64, for 5 batches. Lower
means more diverse samples. compare_gan computed it on the *real* images by
mistake (argument order, docs/compare_gan_quirks.md `eval-tasks`); the task
layer passes the fake images here.

compare_gan's images are in [0, 255] with ``max_val=255``. Note that its unit
test (ones / 0.7 ones / zeros -> 0.989989) fed [0, 1] images with
``max_val=255``; the value depends on that combination.
"""

import numpy as np
import scipy.ndimage

from compare_gan2.metrics import _checks

MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_1d(size, sigma):
  coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
  g = np.exp(-0.5 * coords**2 / sigma**2)
  # The 2-D window exp(-(x^2 + y^2) / 2s^2) / Z is the outer product of this
  # normalised 1-D window with itself.
  return g / g.sum()


def _filter(x, window):
  """Separable VALID filtering over axes -3 (height) and -2 (width)."""
  size = len(window)
  for axis in (-3, -2):
    n = x.shape[axis]
    # correlate1d centres the window at size // 2; keep the VALID part.
    x = scipy.ndimage.correlate1d(x, window, axis=axis, mode="constant")
    x = np.take(x, np.arange(size // 2, size // 2 + n - size + 1), axis=axis)
  return x


def _downsample(x):
  h, w = x.shape[-3], x.shape[-2]
  pad = [(0, 0)] * (x.ndim - 3) + [(0, h % 2), (0, w % 2), (0, 0)]
  if h % 2 or w % 2:
    x = np.pad(x, pad, mode="symmetric")
  return 0.25 * (x[..., 0::2, 0::2, :] + x[..., 1::2, 0::2, :] +
                 x[..., 0::2, 1::2, :] + x[..., 1::2, 1::2, :])


def _check_params(max_val, filter_size, filter_width, weights):
  if not max_val > 0:
    raise ValueError(f"max_val must be positive, got {max_val!r}.")
  if int(filter_size) != filter_size or filter_size < 1:
    raise ValueError(f"filter_size must be a positive integer, got "
                     f"{filter_size!r}.")
  if not filter_width > 0:
    raise ValueError(f"filter_width must be positive, got {filter_width!r}.")
  if len(weights) < 1:
    raise ValueError("weights must list at least one scale.")


def _ssim_terms(mu1, mu2, sq1, sq2, prod, c1, c2):
  """Per-channel (ssim, cs) from local moments; averages over H, W."""
  num0 = 2.0 * mu1 * mu2
  den0 = mu1**2 + mu2**2
  luminance = (num0 + c1) / (den0 + c1)
  cs = (2.0 * prod - num0 + c2) / (sq1 + sq2 - den0 + c2)
  return (np.mean(luminance * cs, axis=(-3, -2)), np.mean(cs, axis=(-3, -2)))


def multiscale_ssim(img1, img2, max_val=255.0, filter_size=11,
                    filter_width=1.5, k1=0.01, k2=0.03,
                    weights=MSSSIM_WEIGHTS):
  """MS-SSIM between image batches `img1` and `img2`.

  Args:
    img1: `[..., H, W, C]` images (compare_gan: values in [0, 255]).
    img2: `[..., H, W, C]` images, same H, W, C; leading (batch) dimensions
      broadcast against `img1`'s.
    max_val: dynamic range of the pixel values (255 for [0, 255] images).
    filter_size: Gaussian window size (clipped to the image size per scale).
    filter_width: Gaussian sigma.
    k1, k2: SSIM stabilisation constants.
    weights: per-scale exponents; their number is the number of scales
      (each scale halves H and W).

  Returns:
    float64 array of shape `broadcast(img1.shape[:-3], img2.shape[:-3])`
    (a 0-d array for single images), values in [0, 1].

  Raises:
    ValueError: rank < 3, mismatched H/W/C, non-finite values, bad parameters.
  """
  _check_params(max_val, filter_size, filter_width, weights)
  x = _checks.as_float_array(img1, "img1", min_ndim=3)
  y = _checks.as_float_array(img2, "img2", min_ndim=3)
  if x.shape[-3:] != y.shape[-3:]:
    raise ValueError(f"img1 and img2 have different image shapes: "
                     f"{x.shape[-3:]} vs {y.shape[-3:]}.")
  c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
  values = []
  for scale in range(len(weights)):
    if scale > 0:
      x, y = _downsample(x), _downsample(y)
    window = _gaussian_1d(min(filter_size, x.shape[-3], x.shape[-2]),
                          filter_width)
    ssim, cs = _ssim_terms(_filter(x, window), _filter(y, window),
                           _filter(x * x, window), _filter(y * y, window),
                           _filter(x * y, window), c1, c2)
    values.append(cs if scale < len(weights) - 1 else ssim)
  result = 1.0
  for value, weight in zip(values, weights):
    result = result * np.maximum(value, 0.0)**weight
  return np.mean(result, axis=-1)


def ms_ssim_matrix(images, max_val=255.0, filter_size=11, filter_width=1.5,
                   k1=0.01, k2=0.03, weights=MSSSIM_WEIGHTS, chunk_size=None):
  """Symmetric `[N, N]` matrix of MS-SSIM between all pairs of `images`.

  Same values as `multiscale_ssim(images[i], images[j])`, but the per-image
  local moments are computed once and only the N (N - 1) / 2 cross terms per
  pair are filtered (in chunks of `chunk_size` pairs; default: as many as
  keep each float64 chunk array near 32 MB). The diagonal is 1.
  """
  _check_params(max_val, filter_size, filter_width, weights)
  x = _checks.as_float_array(images, "images", ndim=4)
  n = x.shape[0]
  if chunk_size is None:
    chunk_size = max(1, 2**22 // int(np.prod(x.shape[1:])))
  c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
  iu, ju = np.triu_indices(n, k=1)
  # Product over scales, per pair and channel; channels are averaged at the end.
  per_channel = np.ones((len(iu), x.shape[-1]))
  for scale in range(len(weights)):
    if scale > 0:
      x = _downsample(x)
    window = _gaussian_1d(min(filter_size, x.shape[1], x.shape[2]),
                          filter_width)
    mu = _filter(x, window)
    sq = _filter(x * x, window)
    last = scale == len(weights) - 1
    for s in range(0, len(iu), chunk_size):
      i, j = iu[s:s + chunk_size], ju[s:s + chunk_size]
      prod = _filter(x[i] * x[j], window)
      ssim, cs = _ssim_terms(mu[i], mu[j], sq[i], sq[j], prod, c1, c2)
      value = ssim if last else cs
      per_channel[s:s + chunk_size] *= np.maximum(value, 0.0)**weights[scale]
  result = per_channel.mean(axis=-1)
  matrix = np.eye(n)
  matrix[iu, ju] = result
  matrix[ju, iu] = result
  return matrix


def ms_ssim_diversity(images, num_batches=5, batch_size=64, seed=0,
                      **ms_ssim_kwargs):
  """Mean MS-SSIM between distinct images of random batches (compare_gan).

  The images are shuffled (seeded) and cut into consecutive batches of
  `batch_size`; when the shuffled order is exhausted a fresh permutation
  starts (batches never repeat an image). For each batch, the MS-SSIM of all
  `batch_size * (batch_size - 1)` ordered pairs of distinct images is averaged
  (self pairs excluded; MS-SSIM is symmetric). Returns the mean over batches.

  Args:
    images: `[N, H, W, C]` images (compare_gan: [0, 255], `max_val=255`).
    num_batches: number of batches (compare_gan: 5).
    batch_size: images per batch (compare_gan: 64); 2 <= batch_size <= N.
    seed: shuffling seed.
    **ms_ssim_kwargs: forwarded to `multiscale_ssim` (max_val, filter_size,
      filter_width, k1, k2, weights).

  Returns:
    Python float in [0, 1].

  Raises:
    ValueError: invalid or non-finite images, or bad batch parameters.
  """
  images = _checks.as_float_array(images, "images", ndim=4)
  n = images.shape[0]
  if int(batch_size) != batch_size or not 2 <= batch_size <= n:
    raise ValueError(f"batch_size must be an integer in [2, {n}] (number of "
                     f"images), got {batch_size!r}.")
  if int(num_batches) != num_batches or num_batches < 1:
    raise ValueError(f"num_batches must be a positive integer, got "
                     f"{num_batches!r}.")
  rng = np.random.default_rng(seed)
  order = rng.permutation(n)
  pos = 0
  scores = []
  for _ in range(int(num_batches)):
    if pos + batch_size > n:
      order, pos = rng.permutation(n), 0
    batch = images[order[pos:pos + batch_size]]
    pos += batch_size
    m = ms_ssim_matrix(batch, **ms_ssim_kwargs)
    scores.append((m.sum() - np.trace(m)) / (batch_size * (batch_size - 1)))
  return float(np.mean(scores))
