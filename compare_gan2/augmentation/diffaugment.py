"""DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020), stateless and seeded.

The semantics of mit-han-lab/data-efficient-gans DiffAugment_tf.py and
DiffAugment_pytorch.py, on images [N, H, W, C] in [-1, 1], every draw per
sample:
- color: brightness x + b, b ~ U(-0.5, 0.5); saturation (x - m_c) s + m_c with
  m_c the pixel's mean over channels, s ~ U(0, 2); contrast (x - m) c + m with
  m the image's mean, c ~ U(0.5, 1.5); in this order.
- translation: an integer shift in [-round(ratio H), round(ratio H)] rows and
  [-round(ratio W), round(ratio W)] columns, zero fill.
- cutout: a rectangle of round(ratio H) x round(ratio W) pixels, set to 0. Its
  centre o is uniform in [0, H + (1 - side % 2)) (likewise for columns) and it
  covers [o - side // 2, o - side // 2 + side) clipped to the image: the
  official index arithmetic, which always leaves some of the hole inside.
Policies apply in the order written ("translation,color" translates first).

Randomness: `diff_augment(images, seed)` gives each operation its own seed,
`op_seed(seed, op)` (the salts of `_SALTS`), so a policy's draws do not depend
on which other operations it contains, and the text-to-image family
(compare_gan2/text2image/augment.py) keeps its draws. The draws are small
public functions (`brightness_draw`, ..., `cutout_draw`) so tests can
recompute them. The official code draws with stateful ops; the
distributions are the same, the numbers are not.

round(v) is int(v + 0.5), as in the official code. The image size must be
static (known when the graph is built).
"""

import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops

POLICIES = ("color", "translation", "cutout")

# The operations of each policy, in the order they apply.
_POLICY_OPS = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
}

# Each operation's salt within diff_augment's seed (1..5: the text-to-image
# family's draws since it was written; do not renumber).
_SALTS = {"brightness": 1, "saturation": 2, "contrast": 3, "translation": 4,
          "cutout": 5}


def as_float32(images):
  """(images as float32, the dtype to return): the input's dtype when it is a
  floating tensor (float16 / bfloat16 under mixed precision), else float32."""
  if tf.is_tensor(images) and images.dtype.is_floating:
    return tf.cast(images, tf.float32), images.dtype
  return tf.convert_to_tensor(images, tf.float32), tf.float32


def parse_policy(policy):
  """The policy names of "color,translation,cutout" as a tuple, in order.

  "" (or None) is (): no augmentation. Spaces around names are ignored; a
  tuple or list of names is accepted too. An unknown or empty name is a
  ConfigError naming the known ones.
  """
  if policy is None:
    return ()
  if isinstance(policy, str):
    names = [] if not policy.strip() else policy.split(",")
  else:
    names = list(policy)
  parsed = []
  for name in names:
    name = str(name).strip()
    if name not in POLICIES:
      raise errors.ConfigError(
          f"Unknown DiffAugment policy {name!r} in {policy!r}; the policies "
          f"are {', '.join(POLICIES)}, comma-separated (e.g. "
          f"\"color,translation,cutout\"), or \"\" for none.")
    parsed.append(name)
  return tuple(parsed)


def op_seed(seed, op, repeat=0):
  """The [2] seed of operation `op` ("brightness", "saturation", "contrast",
  "translation", "cutout") in `diff_augment(images, seed)`; `repeat` counts
  earlier uses of the same operation in the policy ("color,color")."""
  if repeat:
    return random_ops.derive_seed(seed, _SALTS[op], repeat)
  return random_ops.derive_seed(seed, _SALTS[op])


def _shape(x):
  """(N as a tensor, H, W as Python ints)."""
  if x.shape.rank != 4 or x.shape[1] is None or x.shape[2] is None:
    raise ValueError(f"DiffAugment needs images [N, H, W, C] with a static "
                     f"H and W, got shape {x.shape}.")
  return tf.shape(x)[0], int(x.shape[1]), int(x.shape[2])


def _round(value):
  """The official code's round: int(value + 0.5)."""
  return int(value + 0.5)


def brightness_draw(seed, n):
  """b ~ U(-0.5, 0.5), [n, 1, 1, 1] float32."""
  return tf.random.stateless_uniform([n, 1, 1, 1], seed, -0.5, 0.5)


def saturation_draw(seed, n):
  """s ~ U(0, 2), [n, 1, 1, 1] float32."""
  return tf.random.stateless_uniform([n, 1, 1, 1], seed, 0.0, 2.0)


def contrast_draw(seed, n):
  """c ~ U(0.5, 1.5), [n, 1, 1, 1] float32."""
  return tf.random.stateless_uniform([n, 1, 1, 1], seed, 0.5, 1.5)


def _int_pairs(seed, n, range0, range1):
  """Integers uniform in [low, high) for two axes: ([n], [n]) int32.

  One [2, n] draw when both (low, high) ranges are equal (square images),
  else one draw per axis from derived seeds.
  """
  if range0 == range1:
    d = tf.random.stateless_uniform([2, n], seed, range0[0], range0[1],
                                    dtype=tf.int32)
    return d[0], d[1]
  return tuple(
      tf.random.stateless_uniform([n], random_ops.derive_seed(seed, axis),
                                  low, high, tf.int32)
      for axis, (low, high) in enumerate((range0, range1)))


def translation_shifts(height, width, ratio):
  """The largest shifts (rows, columns): round(ratio H), round(ratio W)."""
  return _round(height * ratio), _round(width * ratio)


def translation_draw(seed, n, height, width, ratio=0.125):
  """The shifts (dy, dx), [n] int32 each, uniform in [-max, max] per axis:
  the output's pixel (r, c) is the input's (r - dy, c - dx)."""
  max_dy, max_dx = translation_shifts(height, width, ratio)
  dx, dy = _int_pairs(seed, n, (-max_dx, max_dx + 1), (-max_dy, max_dy + 1))
  return dy, dx


def cutout_sides(height, width, ratio):
  """The hole's sides (rows, columns): round(ratio H), round(ratio W)."""
  return _round(height * ratio), _round(width * ratio)


def cutout_draw(seed, n, height, width, ratio=0.5):
  """The hole's first row and column (top, left), [n] int32 each; it may
  start outside the image (the hole is clipped)."""
  side_h, side_w = cutout_sides(height, width, ratio)
  off_r, off_c = _int_pairs(seed, n, (0, height + 1 - side_h % 2),
                            (0, width + 1 - side_w % 2))
  return off_r - side_h // 2, off_c - side_w // 2


def brightness(x, seed):
  """x + b per sample."""
  return x + tf.cast(brightness_draw(seed, tf.shape(x)[0]), x.dtype)


def saturation(x, seed):
  """(x - channel mean) s + channel mean, per sample."""
  mean = tf.reduce_mean(x, axis=3, keepdims=True)
  return (x - mean) * tf.cast(saturation_draw(seed, tf.shape(x)[0]),
                              x.dtype) + mean


def contrast(x, seed):
  """(x - image mean) c + image mean, per sample."""
  mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
  return (x - mean) * tf.cast(contrast_draw(seed, tf.shape(x)[0]),
                              x.dtype) + mean


def shift_zero_padded(x, dy, dx):
  """Each image moved by integers dy, dx [N] (rows down, columns right),
  zero fill."""
  h, w = tf.shape(x)[1], tf.shape(x)[2]
  rows = tf.range(h)[None, :] - dy[:, None]                         # [N, H]
  cols = tf.range(w)[None, :] - dx[:, None]                         # [N, W]
  valid = ((rows >= 0) & (rows < h))[:, :, None] & (
      (cols >= 0) & (cols < w))[:, None, :]
  gathered = tf.gather(x, tf.clip_by_value(rows, 0, h - 1), axis=1,
                       batch_dims=1)
  gathered = tf.gather(gathered, tf.clip_by_value(cols, 0, w - 1), axis=2,
                       batch_dims=1)
  return gathered * tf.cast(valid, x.dtype)[..., None]


def translation(x, seed, ratio=0.125):
  """DiffAugment's rand_translation: integer shifts of up to round(ratio
  size) per axis and sample, zero fill."""
  n, height, width = _shape(x)
  if translation_shifts(height, width, ratio) == (0, 0):
    return x
  dy, dx = translation_draw(seed, n, height, width, ratio)
  return shift_zero_padded(x, dy, dx)


def cutout_mask(top, left, height, width, side_h, side_w):
  """1 outside, 0 inside each sample's hole: [N, H, W, 1] float32."""
  rows = tf.range(height)[None, :]
  cols = tf.range(width)[None, :]
  in_rows = (rows >= top[:, None]) & (rows < top[:, None] + side_h)
  in_cols = (cols >= left[:, None]) & (cols < left[:, None] + side_w)
  hole = in_rows[:, :, None] & in_cols[:, None, :]
  return (1.0 - tf.cast(hole, tf.float32))[..., None]


def cutout(x, seed, ratio=0.5):
  """DiffAugment's rand_cutout: a round(ratio H) x round(ratio W) hole per
  sample, set to 0 (official default ratio 0.5)."""
  n, height, width = _shape(x)
  side_h, side_w = cutout_sides(height, width, ratio)
  if not side_h or not side_w:
    return x
  top, left = cutout_draw(seed, n, height, width, ratio)
  return x * tf.cast(cutout_mask(top, left, height, width, side_h, side_w),
                     x.dtype)


def _check_ratio(name, value):
  if not 0.0 <= value <= 1.0:
    raise errors.ConfigError(
        f"DiffAugment's {name} must be in [0, 1], got {value}.")


# Only static Python control flow: autograph has nothing to convert (and
# converting it made tracing 3x slower).
@tf.autograph.experimental.do_not_convert
def diff_augment(images, seed, policy="color,translation,cutout",
                 translation_ratio=0.125, cutout_ratio=0.5):
  """DiffAugment of images [N, H, W, C] in [-1, 1] with a [2] seed.

  `policy`: a comma-separated subset of POLICIES ("" is the identity).
  Computes in float32; returns the input's dtype when that is a floating
  tensor (float16 / bfloat16 under mixed precision), else float32.
  """
  names = parse_policy(policy)
  _check_ratio("translation_ratio", translation_ratio)
  _check_ratio("cutout_ratio", cutout_ratio)
  x, dtype = as_float32(images)
  if not names:
    return tf.cast(x, dtype)
  _shape(x)
  uses = {}
  for name in names:
    for op in _POLICY_OPS[name]:
      op_s = op_seed(seed, op, uses.get(op, 0))
      uses[op] = uses.get(op, 0) + 1
      if op == "translation":
        x = translation(x, op_s, translation_ratio)
      elif op == "cutout":
        x = cutout(x, op_s, cutout_ratio)
      else:
        x = {"brightness": brightness, "saturation": saturation,
             "contrast": contrast}[op](x, op_s)
  return tf.cast(x, dtype)
