"""The training inputs of ConSinGAN's harmonization and editing modes.

tohinz/ConSinGAN (training_harmonization_editing.py; `Augment` and
`shuffle_grid` in functions.py) trains these models with an augmented copy of
the coarsest image as the first stage's input, redrawn every iteration, so that
G learns to turn a naive or edited input into the image.

Harmonization: the official `Augment`, albumentations 0.4.3 and imgaug 0.2.6
(the versions of its requirements.txt), applied to the image as float32 in
[0, 255]:

- With probability 0.25, one of four children of a `OneOf`. albumentations
  weights a `OneOf`'s children by their p, normalised: the three inner `OneOf`s
  (p 0.5 each) get 0.3125 each, the HSV shift (p 0.1) 0.0625; the chosen child
  is always applied (and so is the HSV shift when chosen).
  - noise, weights 0.2 : 0.5 : 0.5 (1/6, 5/12, 5/12): multiplicative
    U(0.5, 1.5) per pixel and channel; imgaug's additive Gaussian (sigma
    ~ U(2.55, 12.75) per image, one value per pixel for all channels; image
    and noise truncated to integers, the sum clipped to [0, 255]); Gaussian
    (variance ~ U(10, 50), per pixel and channel);
  - invert (255 - x) or sepia, 1/2 each;
  - one channel set to 0, or the channels shuffled, 1/2 each;
  - the HSV shift: hue +-20 (OpenCV's float hue in degrees, wrapped at 180 as
    albumentations does), saturation +-30 and value +-20, both clipped to
    [0, 1].
  albumentations 0.4.3 clips the multiplicative noise, the Gaussian noise,
  sepia and the HSV shift to [0, 1], the range it assumes for float32; on the
  official [0, 255] image this leaves an almost black image (every value
  <= 1 of 255). Reproduced as the official code runs.
- Then with probability 0.9 a cutout (albumentations 0.4.3's `Cutout`): 1 or 2
  holes (1/2 each), all of one size per call (height and width drawn as
  integers in [30, 60] for one hole, [15, 30] for two); each hole is centred
  at an integer point drawn in [0, H] x [0, W], spans 2 * (size // 2) pixels
  and is clipped at the border; filled with one colour of integers in
  [0, 256] (256 ends as white).

Editing (`shuffle_grid`): 1-5 rectangles (1/5 each) copied from the image to
shifted places, later ones over earlier ones. Per rectangle (axis 0 = rows):
a corner drawn in [0, H] x [0, W], a size and a shift drawn as integers between
fractions of the image's sides (0.2-0.5 / 0.05-0.15 for one rectangle,
0.15-0.3 / 0.05-0.1 for two, 0.1-0.2 / 0.05-0.1 for three, 0.1-0.15 / 0.05-0.1
for more), the size cut at the far border; the shift goes back on both axes or
forward on both (1/2 each), clipped so that the copy stays in the image. Then
0.1 * N(0, 1) noise is added.

The random draws are NumPy's, from a generator seeded by (seed, stage,
iteration), so a resumed run draws the same inputs; the official code's random
streams (Python's `random` and NumPy's global state) are not reproduced.
"""

import numpy as np

_SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168],
                   [0.272, 0.534, 0.131]])
# The official Compose: OneOf([OneOf(noise), OneOf(invert, sepia),
# OneOf(channel drop, shuffle), HueSaturationValue(p=0.1)], p=0.25), each child
# with its p (albumentations' default 0.5 unless the official code sets one).
_COLOUR_P = 0.25
_COLOUR_GROUPS = (
    (0.5, (("multiplicative_noise", 0.2), ("iaa_gaussian_noise", 0.5),
           ("gaussian_noise", 0.5))),
    (0.5, (("invert", 0.5), ("sepia", 0.5))),
    (0.5, (("channel_drop", 0.5), ("channel_shuffle", 0.5))),
    (0.1, (("hsv_shift", 1.0),)),  # A transform, not a OneOf: always applied.
)
_CUTOUT_P = 0.9


def _rng(seed, stage, iteration):
  return np.random.default_rng([int(seed), int(stage), int(iteration), 9173])


def _one_of(rng, weights):
  """albumentations' OneOf: index i with probability p_i / sum(p)."""
  weights = np.asarray(weights, np.float64)
  return int(rng.choice(len(weights), p=weights / weights.sum()))


def _choose(rng):
  colour = None
  if rng.uniform() < _COLOUR_P:
    _, children = _COLOUR_GROUPS[_one_of(rng, [g[0] for g in _COLOUR_GROUPS])]
    colour = children[_one_of(rng, [c[1] for c in children])][0]
  return colour, bool(rng.uniform() < _CUTOUT_P)


def harmonization_choice(seed, stage, iteration):
  """(colour transform name or None, cutout applied) of the harmonization
  input of (seed, stage, iteration): the branch of the official pipeline that
  `harmonization_input` takes."""
  return _choose(_rng(seed, stage, iteration))


def _hsv_shift(v, rng):
  """albumentations 0.4.3's float HSV shift on [0, 255] values (OpenCV's float
  HSV: hue in degrees, saturation in [0, 1], value on the input's scale)."""
  dh, ds, dv = rng.uniform(-20, 20), rng.uniform(-30, 30), rng.uniform(-20, 20)
  high, low = v.max(axis=-1), v.min(axis=-1)
  delta = high - low
  safe = np.where(delta > 0, delta, 1.0)
  r, g, b = v[..., 0], v[..., 1], v[..., 2]
  hue = np.where(high == r, 60 * (g - b) / safe,
                 np.where(high == g, 120 + 60 * (b - r) / safe,
                          240 + 60 * (r - g) / safe))
  hue = np.where(delta > 0, hue, 0.0)
  hue = np.where(hue < 0, hue + 360, hue) + dh
  hue = np.where(hue < 0, hue + 180, hue)
  hue = np.where(hue > 180, hue - 180, hue)
  sat = np.clip(np.where(high > 0, delta / np.where(high > 0, high, 1.0), 0.0)
                + ds, 0, 1)
  val = np.clip(high + dv, 0, 1)
  h = hue / 60.0
  sector = np.floor(h).astype(int) % 6
  f = h - np.floor(h)
  p, q, t = val * (1 - sat), val * (1 - sat * f), val * (1 - sat * (1 - f))
  table = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val),
           (val, p, q)]
  out = np.zeros_like(v)
  for s, channels in enumerate(table):
    for c in range(3):
      out[..., c] = np.where(sector == s, channels[c], out[..., c])
  return out


def _colour(name, v, rng):
  """The official colour / noise transform `name` on [0, 255] values."""
  if name == "multiplicative_noise":
    return np.clip(v * rng.uniform(0.5, 1.5, v.shape), 0, 1)
  if name == "iaa_gaussian_noise":
    sigma = rng.uniform(0.01 * 255, 0.05 * 255)
    noise = np.trunc(rng.normal(0.0, sigma, v.shape[:2] + (1,)))
    return np.clip(np.trunc(v) + noise, 0, 255)
  if name == "gaussian_noise":
    sigma = rng.uniform(10.0, 50.0) ** 0.5
    return np.clip(v + rng.normal(0.0, sigma, v.shape), 0, 1)
  if name == "invert":
    return 255.0 - v
  if name == "sepia":
    return np.clip(v @ _SEPIA.T, 0, 1)
  if name == "channel_drop":
    v = v.copy()
    v[..., rng.integers(3)] = 0.0
    return v
  if name == "channel_shuffle":
    return v[..., rng.permutation(3)]
  return _hsv_shift(v, rng)


def cutout_holes(rng, height, width):
  """albumentations 0.4.3's `Cutout` as the official `Augment` configures it:
  ([(top, bottom, left, right)], colour [3] in 0..256, (size_h, size_w))."""
  holes = int(rng.integers(1, 3))
  low, high = (30, 60) if holes == 1 else (15, 30)
  size_h = int(rng.integers(low, high + 1))
  size_w = int(rng.integers(low, high + 1))
  colour = rng.integers(0, 257, 3)
  boxes = []
  for _ in range(holes):
    y, x = int(rng.integers(0, height + 1)), int(rng.integers(0, width + 1))
    boxes.append((int(np.clip(y - size_h // 2, 0, height)),
                  int(np.clip(y + size_h // 2, 0, height)),
                  int(np.clip(x - size_w // 2, 0, width)),
                  int(np.clip(x + size_w // 2, 0, width))))
  return boxes, colour, (size_h, size_w)


def harmonization_input(image, seed, stage, iteration):
  """An augmented copy of `image` [H, W, 3] in [-1, 1] (see the module doc)."""
  rng = _rng(seed, stage, iteration)
  colour, cutout = _choose(rng)
  v = (np.clip(np.asarray(image, np.float64), -1.0, 1.0) + 1.0) * 127.5
  if colour is not None:
    v = _colour(colour, v, rng)
  if cutout:
    v = v.copy()
    boxes, fill, _ = cutout_holes(rng, *v.shape[:2])
    for top, bottom, left, right in boxes:
      v[top:bottom, left:right] = fill
  return np.clip(v / 127.5 - 1.0, -1.0, 1.0).astype(np.float32)


# Tiles -> (size fractions, shift fractions) of the official shuffle_grid.
_GRID = {1: ((0.2, 0.5), (0.05, 0.15)), 2: ((0.15, 0.3), (0.05, 0.1)),
         3: ((0.1, 0.2), (0.05, 0.1))}


def shuffle_tiles(rng, height, width, max_tiles=5):
  """The rectangles of the official `shuffle_grid` for an image of
  height x width: [(row, col, rows, cols, new_row, new_col)]."""
  count = int(rng.integers(1, max_tiles + 1))
  (size_lo, size_hi), (shift_lo, shift_hi) = _GRID.get(
      count, ((0.1, 0.15), (0.05, 0.1)))
  tiles = []
  for _ in range(count):
    x, y = int(rng.integers(0, height + 1)), int(rng.integers(0, width + 1))
    w = int(rng.integers(int(height * size_lo), int(height * size_hi) + 1))
    h = int(rng.integers(int(width * size_lo), int(width * size_hi) + 1))
    if x + w >= height:
      w = height - x
    if y + h >= width:
      h = width - y
    x_t = int(rng.integers(int(height * shift_lo), int(height * shift_hi) + 1))
    y_t = int(rng.integers(int(width * shift_lo), int(width * shift_hi) + 1))
    if rng.uniform() < 0.5:  # Back on both axes.
      x_t, y_t = -x_t, -y_t
      if x + x_t < 0:
        x_t = -x
      if y + y_t < 0:
        y_t = -y
    else:
      if x + x_t + w >= height:
        x_t = height - w - x
      if y + y_t + h >= width:
        y_t = width - h - y
    tiles.append((x, y, w, h, x + x_t, y + y_t))
  return tiles


def editing_input(image, seed, stage, iteration, noise=0.1):
  """`image` [H, W, 3] with 1-5 rectangles copied to shifted places, plus
  `noise` * N(0, 1) (see the module doc)."""
  rng = _rng(seed, stage, iteration)
  source = np.asarray(image, np.float64)
  out = source.copy()
  for x, y, w, h, x_new, y_new in shuffle_tiles(rng, *source.shape[:2]):
    out[x_new:x_new + w, y_new:y_new + h] = source[x:x + w, y:y + h]
  out = out + noise * rng.standard_normal(out.shape)
  return out.astype(np.float32)
