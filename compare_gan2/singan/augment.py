"""The training inputs of ConSinGAN's harmonization and editing modes.

tohinz/ConSinGAN (training_harmonization_editing.py, functions.py) trains these
models with an augmented copy of the coarsest image as the first stage's input,
redrawn every iteration, so that G learns to turn a naive or edited input into
the image:

- harmonization (`Augment`, albumentations 0.4 in the official code): with
  probability 0.25 one of {noise (multiplicative U(0.5, 1.5) per pixel and
  channel, or additive Gaussian), invert or sepia, drop or shuffle a channel,
  a hue / saturation / value shift (itself with probability 0.1)}, then with
  probability 0.9 a cutout: 1 hole of 30-60 px or 2 of 15-30 px (clipped to the
  image), filled with a random colour.
- editing (`shuffle_grid`): 1-5 rectangles copied to shifted positions (size and
  shift as fractions of the image: 0.2-0.5 / 0.05-0.15 for one rectangle,
  0.15-0.3 / 0.05-0.1 for two, 0.1-0.2 for three, 0.1-0.15 for more), plus
  0.1 * N(0, 1) noise.

NumPy with a generator seeded by (seed, stage, iteration): a resumed run draws
the same inputs. The official parameters are followed; the random streams and
albumentations' exact colour conversions are not.
"""

import colorsys

import numpy as np

_SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168],
                   [0.272, 0.534, 0.131]])


def _rng(seed, stage, iteration):
  return np.random.default_rng([int(seed), int(stage), int(iteration), 9173])


def _hsv_shift(v, rng):
  """Hue +-20 degrees, saturation and value +-30 / +-20 (of 255)."""
  dh, ds, dv = rng.uniform(-20, 20) / 360.0, rng.uniform(-30, 30) / 255.0, \
      rng.uniform(-20, 20) / 255.0
  flat = (v / 255.0).reshape(-1, 3)
  out = np.empty_like(flat)
  for i, (r, g, b) in enumerate(flat):
    h, s, val = colorsys.rgb_to_hsv(r, g, b)
    out[i] = colorsys.hsv_to_rgb((h + dh) % 1.0, np.clip(s + ds, 0, 1),
                                 np.clip(val + dv, 0, 1))
  return out.reshape(v.shape) * 255.0


def _colour_or_noise(v, rng):
  choice = rng.integers(4)
  if choice == 0:  # Noise.
    if rng.integers(2):
      return v * rng.uniform(0.5, 1.5, v.shape)
    return v + rng.normal(0.0, np.sqrt(rng.uniform(10, 50)), v.shape)
  if choice == 1:  # Invert or sepia.
    return 255.0 - v if rng.integers(2) else v @ _SEPIA.T
  if choice == 2:  # Drop or shuffle a channel.
    if rng.integers(2):
      v = v.copy()
      v[..., rng.integers(3)] = 0.0
      return v
    return v[..., rng.permutation(3)]
  return _hsv_shift(v, rng) if rng.uniform() < 0.1 else v


def harmonization_input(image, seed, stage, iteration):
  """An augmented copy of `image` [H, W, 3] in [-1, 1] (see the module doc)."""
  rng = _rng(seed, stage, iteration)
  v = (np.asarray(image, np.float64) + 1.0) * 127.5
  if rng.uniform() < 0.25:
    v = _colour_or_noise(v, rng)
  if rng.uniform() < 0.9:
    v = v.copy()
    h, w = v.shape[:2]
    holes = 1 + rng.integers(2)
    low, high = (30, 60) if holes == 1 else (15, 30)
    for _ in range(holes):
      hh, ww = min(rng.integers(low, high + 1), h), min(rng.integers(low, high + 1), w)
      top, left = rng.integers(0, h - hh + 1), rng.integers(0, w - ww + 1)
      v[top:top + hh, left:left + ww] = rng.integers(0, 256, 3)
  return np.clip(v / 127.5 - 1.0, -1.0, 1.0).astype(np.float32)


_GRID = {1: ((0.2, 0.5), (0.05, 0.15)), 2: ((0.15, 0.3), (0.05, 0.1)),
         3: ((0.1, 0.2), (0.05, 0.1))}


def editing_input(image, seed, stage, iteration, noise=0.1):
  """`image` [H, W, 3] with 1-5 rectangles copied to shifted places, plus
  `noise` * N(0, 1) (see the module doc)."""
  rng = _rng(seed, stage, iteration)
  source = np.asarray(image, np.float64)
  out = source.copy()
  h, w = source.shape[:2]
  count = int(rng.integers(1, 6))
  size_range, shift_range = _GRID.get(count, ((0.1, 0.15), (0.05, 0.1)))
  for _ in range(count):
    hh = max(1, int(h * rng.uniform(*size_range)))
    ww = max(1, int(w * rng.uniform(*size_range)))
    dy = int(h * rng.uniform(*shift_range)) * (1 if rng.uniform() < 0.5 else -1)
    dx = int(w * rng.uniform(*shift_range)) * (1 if rng.uniform() < 0.5 else -1)
    top = int(rng.integers(max(0, -dy), max(1, h - hh - max(0, dy))))
    left = int(rng.integers(max(0, -dx), max(1, w - ww - max(0, dx))))
    top2, left2 = np.clip(top + dy, 0, h - hh), np.clip(left + dx, 0, w - ww)
    out[top2:top2 + hh, left2:left2 + ww] = source[top:top + hh, left:left + ww]
  out = out + noise * rng.standard_normal(out.shape)
  return out.astype(np.float32)
