"""ConSinGAN's image pyramid: how many stages, and the size of each.

ConSinGAN (Hinz et al., WACV 2021; `adjust_scales2image` and
`create_reals_pyramid` in tohinz/ConSinGAN's functions.py):

  scale1 = min(max_size / max(H, W), 1)          (the image is resized by it)
  N      = train_stages - 1
  sf     = (min_size / min(H1, W1)) ** (1 / N)
  s_i    = sf ** e_i,  e_i = (N - 1) / ln N * ln(N - i) + 1,  i = 0 .. N-1
  size_i = ceil(H1 * s_i) x ceil(W1 * s_i);  stage N is the image itself.

Because ln is concave, more stages sit at low resolution and the last jump is the
largest ("fewer stages at high resolution"). Harmonization uses SinGAN's
geometric exponents e_i = N - i instead. Sizes are computed in float64 in the
official order of operations (the coarsest short side lands on min_size only
because 188 * s_0 rounds to 24.999999999999993 before the ceil).
"""

import math

import numpy as np

from compare_gan2 import errors


def _ceil_size(height, width, scale):
  return tuple(int(v) for v in np.ceil(np.array([height, width], np.float64) * scale))


def exponents(num_stages, geometric=False):
  """e_0 .. e_{N-1} of the schedule (N = num_stages - 1). With two stages the
  official formula is 0/0 (the code raises); e_0 = N holds for every other N,
  so two stages get e_0 = 1."""
  n = num_stages - 1
  if geometric or n == 1:
    return [float(n - i) for i in range(n)]
  return [((n - 1) / math.log(n)) * math.log(n - i) + 1 for i in range(n)]


def stage_sizes(height, width, num_stages=6, max_size=250, min_size=25,
                geometric=False):
  """[(H_k, W_k)] from the coarsest stage to the finest (the resized image).

  Raises:
    errors.ConfigError: fewer than 2 stages, or an image whose short side
      (after the max_size resize) is below min_size.
  """
  errors.check_number("consingan.train_stages", num_stages, integer=True,
                      minimum=2, optional=False)
  scale1 = min(max_size / max(height, width), 1)
  h1, w1 = _ceil_size(height, width, scale1)
  if min(h1, w1) < min_size:
    raise errors.ConfigError(
        f"The image is {h1}x{w1} after resizing its long side to at most "
        f"{max_size}: its short side is below the coarsest stage's {min_size} "
        "pixels. Use a larger image, or lower consingan.min_size.")
  n = num_stages - 1
  sf = math.pow(min_size / min(h1, w1), 1 / n)
  sizes = [_ceil_size(h1, w1, math.pow(sf, e))
           for e in exponents(num_stages, geometric)]
  return sizes + [(h1, w1)]
