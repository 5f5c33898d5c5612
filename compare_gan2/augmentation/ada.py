"""ADA: adaptive discriminator augmentation (Karras, Aittala, Hellsten, Laine,
Lehtinen, Aila, "Training Generative Adversarial Networks with Limited Data",
NeurIPS 2020), stateless and seeded.

Follows NVlabs/stylegan2-ada training/augment.py (`augment_pipeline`,
`AdaptiveAugment.tune`) and NVlabs/stylegan2-ada-pytorch training/augment.py
(`AugmentPipe`) and training/training_loop.py (the p update):

- `ada_augment(images, seed, p, transforms=BGC)`: every transform of
  `transforms` (name -> probability multiplier) applies to each sample with
  probability p * multiplier (arbitrary rotation: 1 - sqrt(1 - p * multiplier)
  before and again after the anisotropic scaling, so P(pre or post) = p).
  The geometric transforms (x-flip, 90-degree rotations, integer translation,
  isotropic scaling, rotation, anisotropic scaling, fractional translation)
  compose into one inverse matrix per sample, applied once: reflect padding,
  2x upsampling with the Symlet-6 low-pass filter, bilinear sampling, the
  filter again and 2x downsampling (the official anti-aliasing). The colour
  transforms (brightness, contrast, luma flip, hue rotation, saturation)
  compose into one 4x4 colour matrix per sample: RGB images get
  C[:3, :3] rgb + C[:3, 3]; one-channel images the official luma form
  x * sum(mean of C's first three rows[:3]) + mean(C[:3, 3]), and no hue or
  saturation. Parameters, strengths and their order are the official ones.
- `adjust_p(p, rt, target, batch_size=..., interval, speed_kimg)`: p moves by
  sign(rt - target) * batch_size * interval / (speed_kimg * 1000), floored at
  0 and not capped (as both official versions; p > 1 acts as 1).
- `rt_statistics(real_logits)`: (sum of sign(D(real)), count), to sum over
  replicas and steps before rt = sum / count.

What differs from the official code (docs/data_efficient.md):
- Stateless draws: one seed per transform (`_SALTS`), one stream for its gate
  and one for its value; the same distributions, not the same numbers.
- Padding is static: reflect padding of H - 1 rows and W - 1 columns on each
  side (the most the official code uses) instead of the batch's bounding box
  of transformed corners plus 6 pixels (a dynamic shape XLA and TPUs cannot
  take). Where the official margin suffices the outputs are equal to float
  tolerance; a strongly shrunk sample whose filter footprint leaves the
  official margin reads reflected pixels where the official code reads zeros
  (near its edges), and no sample depends on the others.
- A sample that drew no geometric transform (every geometric draw at its
  identity value) keeps its pixels (the official resampling reproduces them to
  float tolerance: the filter is orthogonal), and the resampling is skipped
  when no sample of the batch drew one (p = 0 is exactly the identity and
  costs only the draws, also inside tf.function); likewise for the colour
  matrix.
- The pipeline's `imgfilter`, `noise` and `cutout` (not in bgc) are not
  implemented.
- Reproduced, not a difference: the Symlet-6 filter is not symmetric, so an
  x-flip or quarter turn is the exact one shifted by ~0.1 pixel (an identity
  or a translation cancels the filter's delay, a mirrored grid doubles it).
- Gradients w.r.t. the images are exact (the bilinear sampling is written
  with gathers; TensorFlow's image transform op has an approximate gradient).
"""

import functools
import math

import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops
from compare_gan2.augmentation import diffaugment

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
TRANSFORMS = GEOMETRIC + COLOR

BGC = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
           brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)

# The official --augpipe choices this module implements.
PIPELINES = {
    "blit": dict(xflip=1, rotate90=1, xint=1),
    "geom": dict(scale=1, rotate=1, aniso=1, xfrac=1),
    "color": dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1),
    "bg": dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1,
               xfrac=1),
    "bgc": BGC,
}

# The official defaults: ranges relative to the image size, log2 standard
# deviations for the multiplicative ones, 1 = full circle for the angles.
DEFAULT_STRENGTHS = dict(xint_max=0.125, scale_std=0.2, rotate_max=1.0,
                         aniso_std=0.2, xfrac_std=0.125, brightness_std=0.2,
                         contrast_std=0.5, hue_max=1.0, saturation_std=1.0)

# Each draw's salt within ada_augment's seed.
_SALTS = {"xflip": 1, "rotate90": 2, "xint": 3, "scale": 4, "rotate": 5,
          "aniso": 6, "rotate_post": 7, "xfrac": 8, "brightness": 9,
          "contrast": 10, "lumaflip": 11, "hue": 12, "saturation": 13}

# Symlet-6 decomposition low-pass filter (the official geometric filter).
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
        -0.048311742585633, 0.4910559419267466, 0.787641141030194,
        0.3379294217276218, -0.07263752278646252, -0.021060292512300564,
        0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)
_FILTER_PAD = len(SYM6) // 4  # The official Hz_pad: 3 output pixels.

_LUMA = np.array([1.0, 1.0, 1.0, 0.0]) / np.sqrt(3.0)


def resolve_transforms(transforms):
  """{transform: multiplier} of a PIPELINES name or a dict; every
  multiplier a float >= 0. Unknown names are a ConfigError."""
  if isinstance(transforms, str):
    if transforms not in PIPELINES:
      raise errors.ConfigError(
          f"Unknown ADA pipeline {transforms!r}; the pipelines are "
          f"{', '.join(PIPELINES)}.")
    transforms = PIPELINES[transforms]
  unknown = sorted(set(transforms) - set(TRANSFORMS))
  if unknown:
    raise errors.ConfigError(
        f"Unknown ADA transforms {unknown}; the transforms are "
        f"{', '.join(TRANSFORMS)} (the official imgfilter, noise and cutout "
        f"are not implemented).")
  resolved = {}
  for name, multiplier in transforms.items():
    multiplier = float(multiplier)
    if not multiplier >= 0.0:
      raise errors.ConfigError(
          f"ADA transform {name}'s probability multiplier must be >= 0, got "
          f"{multiplier}.")
    resolved[name] = multiplier
  return resolved


def resolve_strengths(strengths=None):
  """DEFAULT_STRENGTHS updated with `strengths`; unknown names are a
  ConfigError."""
  unknown = sorted(set(strengths or {}) - set(DEFAULT_STRENGTHS))
  if unknown:
    raise errors.ConfigError(
        f"Unknown ADA strengths {unknown}; the strengths are "
        f"{', '.join(DEFAULT_STRENGTHS)}.")
  resolved = dict(DEFAULT_STRENGTHS)
  resolved.update({k: float(v) for k, v in (strengths or {}).items()})
  return resolved


# ------------------------------------------------------------------ draws


def _seed(seed, name, stream):
  """Stream 0 (the gate) or 1 (the value) of draw `name`."""
  return random_ops.derive_seed(seed, _SALTS[name], stream)


def gate(seed, name, n, probability):
  """Whether each of n samples applies draw `name`: U[0, 1) < probability."""
  u = tf.random.stateless_uniform([n], _seed(seed, name, 0))
  return u < tf.cast(probability, tf.float32)


def _uniform(seed, name, shape, low, high):
  return tf.random.stateless_uniform(shape, _seed(seed, name, 1), low, high)


def _normal(seed, name, shape, std):
  return tf.random.stateless_normal(shape, _seed(seed, name, 1)) * std


def draw_parameters(seed, n, p, transforms=BGC, strengths=None, channels=3):
  """The gated parameters of each sample, {draw: tensor}: the drawn value
  where the gate opened, the identity value (0 or 1) elsewhere.

  xflip, lumaflip: {0, 1} [n]; rotate90: {0, 1, 2, 3} [n]; xint: [n, 2]
  uniform in [-xint_max, xint_max) (x, y as fractions of W, H, rounded to
  pixels by the matrix); scale, aniso, contrast, saturation:
  2^N(0, std^2) [n]; rotate and rotate_post (the official pre- and
  post-rotation), hue: U(-pi max, pi max) [n]; xfrac: N(0, xfrac_std^2)
  [n, 2]; brightness: N(0, brightness_std^2) [n]. Draws whose multiplier is
  0 (and hue, saturation for one channel) are absent.
  """
  transforms = resolve_transforms(transforms)
  st = resolve_strengths(strengths)
  p = tf.cast(p, tf.float32)
  params = {}

  def add(name, value, disabled, probability):
    on = gate(seed, name, n, probability)
    on = tf.reshape(on, [-1] + [1] * (value.shape.rank - 1))
    params[name] = tf.where(on, value, tf.cast(disabled, value.dtype))

  def enabled(name):
    return transforms.get(name, 0.0) > 0.0

  def prob(name):
    return p * transforms[name]

  if enabled("xflip"):
    add("xflip", tf.floor(_uniform(seed, "xflip", [n], 0.0, 2.0)), 0.0,
        prob("xflip"))
  if enabled("rotate90"):
    add("rotate90", tf.floor(_uniform(seed, "rotate90", [n], 0.0, 4.0)), 0.0,
        prob("rotate90"))
  if enabled("xint"):
    add("xint", _uniform(seed, "xint", [n, 2], -st["xint_max"],
                         st["xint_max"]), 0.0, prob("xint"))
  if enabled("scale"):
    add("scale", tf.pow(2.0, _normal(seed, "scale", [n], st["scale_std"])),
        1.0, prob("scale"))
  if enabled("rotate"):
    # P(pre or post) = p * multiplier.
    p_rot = 1.0 - tf.sqrt(tf.clip_by_value(1.0 - prob("rotate"), 0.0, 1.0))
    half_range = math.pi * st["rotate_max"]
    for name in ("rotate", "rotate_post"):
      add(name, _uniform(seed, name, [n], -half_range, half_range), 0.0,
          p_rot)
  if enabled("aniso"):
    add("aniso", tf.pow(2.0, _normal(seed, "aniso", [n], st["aniso_std"])),
        1.0, prob("aniso"))
  if enabled("xfrac"):
    add("xfrac", _normal(seed, "xfrac", [n, 2], st["xfrac_std"]), 0.0,
        prob("xfrac"))
  if enabled("brightness"):
    add("brightness", _normal(seed, "brightness", [n], st["brightness_std"]),
        0.0, prob("brightness"))
  if enabled("contrast"):
    add("contrast",
        tf.pow(2.0, _normal(seed, "contrast", [n], st["contrast_std"])), 1.0,
        prob("contrast"))
  if enabled("lumaflip"):
    add("lumaflip", tf.floor(_uniform(seed, "lumaflip", [n], 0.0, 2.0)), 0.0,
        prob("lumaflip"))
  if enabled("hue") and channels > 1:
    half_range = math.pi * st["hue_max"]
    add("hue", _uniform(seed, "hue", [n], -half_range, half_range), 0.0,
        prob("hue"))
  if enabled("saturation") and channels > 1:
    add("saturation",
        tf.pow(2.0, _normal(seed, "saturation", [n], st["saturation_std"])),
        1.0, prob("saturation"))
  return params


# --------------------------------------------------------------- matrices


def _matrices(rows):
  """[n, k, k] from k rows of k entries, each a scalar or an [n] tensor."""
  n = None
  for row in rows:
    for entry in row:
      if tf.is_tensor(entry) and entry.shape.rank:
        n = tf.shape(entry)[0]
  entries = [[tf.broadcast_to(tf.cast(e, tf.float32), [n]) for e in row]
             for row in rows]
  return tf.stack([tf.stack(row, axis=-1) for row in entries], axis=-2)


def compose(a, b):
  """a @ b for batches of small matrices [..., k, k], as a broadcast multiply
  and sum: oneDNN's batch matmul costs ~0.2 ms per call on 3 x 3 matrices,
  which made ADA's ~40 compositions per training step cost 10 ms at p = 0."""
  return tf.reduce_sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def translate2d(tx, ty):
  return _matrices([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def scale2d(sx, sy):
  return _matrices([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def rotate2d(theta):
  c, s = tf.cos(theta), tf.sin(theta)
  return _matrices([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def translate3d(t):
  return _matrices([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]])


def scale3d(s):
  return _matrices([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]])


def rotate3d(v, theta):
  """Rotation by theta [n] around the unit axis v (3 floats): Rodrigues."""
  vx, vy, vz = (float(a) for a in v[:3])
  s, c = tf.sin(theta), tf.cos(theta)
  cc = 1.0 - c
  return _matrices([
      [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
      [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
      [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
      [0, 0, 0, 1]])


def geometric_matrix(params, n, height, width):
  """The inverse transform G_inv [n, 3, 3]: an output pixel's centred
  coordinates (x right along W, y down along H, origin at the image centre)
  to the input's, composed in the official order."""
  g = tf.eye(3, batch_shape=[n])
  if "xflip" in params:
    g = compose(g, scale2d(1.0 / (1.0 - 2.0 * params["xflip"]), 1.0))
  if "rotate90" in params:
    g = compose(g, rotate2d(math.pi / 2 * params["rotate90"]))
  if "xint" in params:
    t = params["xint"]
    g = compose(g, translate2d(-tf.round(t[:, 0] * width),
                               -tf.round(t[:, 1] * height)))
  if "scale" in params:
    g = compose(g, scale2d(1.0 / params["scale"], 1.0 / params["scale"]))
  if "rotate" in params:
    g = compose(g, rotate2d(params["rotate"]))
  if "aniso" in params:
    g = compose(g, scale2d(1.0 / params["aniso"], params["aniso"]))
  if "rotate_post" in params:
    g = compose(g, rotate2d(params["rotate_post"]))
  if "xfrac" in params:
    t = params["xfrac"]
    g = compose(g, translate2d(-t[:, 0] * width, -t[:, 1] * height))
  return g


def color_matrix(params, n):
  """The colour transform C [n, 4, 4] (C @ [r, g, b, 1]), composed in the
  official order: brightness, contrast, luma flip, hue, saturation."""
  c = tf.eye(4, batch_shape=[n])
  vv = tf.constant(np.outer(_LUMA, _LUMA), tf.float32)
  if "brightness" in params:
    c = compose(translate3d(params["brightness"]), c)
  if "contrast" in params:
    c = compose(scale3d(params["contrast"]), c)
  if "lumaflip" in params:
    c = compose(tf.eye(4) - 2.0 * vv * params["lumaflip"][:, None, None], c)
  if "hue" in params:
    c = compose(rotate3d(_LUMA, params["hue"]), c)
  if "saturation" in params:
    s = params["saturation"][:, None, None]
    c = compose(vv + (tf.eye(4) - vv) * s, c)
  return c


# ------------------------------------------------------------- resampling


def _filter():
  """The official geometric filter: Symlet-6 normalised to sum 1."""
  return np.asarray(SYM6) / np.sum(SYM6)


@functools.lru_cache(maxsize=None)
def pad_upsample_matrix(size, margin):
  """[2 (size + 2 margin), size]: reflect padding by `margin` on both sides,
  then upfirdn2d.upsample2d along one axis (zero insertion, padding 6 / 5,
  the normalised filter times 2, flipped: u[n] = 2 sum_k f[n - 2k + 5]
  x_padded[k]), as one matrix."""
  f = _filter()
  padded = size + 2 * margin
  reflect = np.zeros([padded, size])
  for j in range(padded):
    r = abs(j - margin)
    reflect[j, min(r, 2 * (size - 1) - r)] = 1.0
  up = np.zeros([2 * padded, padded])
  for n in range(2 * padded):
    for k in range(padded):
      if 0 <= n - 2 * k + 5 < len(f):
        up[n, k] = 2.0 * f[n - 2 * k + 5]
  return (up @ reflect).astype(np.float32)


@functools.lru_cache(maxsize=None)
def downsample_matrix(size):
  """[size, 2 size + 4 _FILTER_PAD]: upfirdn2d.downsample2d(padding=-6,
  flip_filter=True) along one axis: d[i] = sum_t f[t] y[1 + 2i + t]."""
  f = _filter()
  down = np.zeros([size, 2 * size + 4 * _FILTER_PAD])
  for i in range(size):
    down[i, 1 + 2 * i:1 + 2 * i + len(f)] = f
  return down.astype(np.float32)


def _bilinear(images, px, py):
  """Bilinear samples of images [N, C, H, W] at pixel-index coordinates
  px, py [N, M] (grid_sample's, align_corners=False), zero outside:
  [N, C, M]."""
  height, width = int(images.shape[2]), int(images.shape[3])
  flat = tf.reshape(images, [tf.shape(images)[0], images.shape[1],
                             height * width])
  x0, y0 = tf.floor(px), tf.floor(py)
  out = 0.0
  for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
    xi, yi = x0 + dx, y0 + dy
    weight = ((1.0 - tf.abs(px - xi)) * (1.0 - tf.abs(py - yi)))
    inside = (xi >= 0) & (xi <= width - 1) & (yi >= 0) & (yi <= height - 1)
    index = (tf.cast(tf.clip_by_value(yi, 0, height - 1), tf.int32) * width +
             tf.cast(tf.clip_by_value(xi, 0, width - 1), tf.int32))
    weight = tf.where(inside, weight, 0.0)
    out += tf.gather(flat, index, axis=2, batch_dims=1) * weight[:, None]
  return out


def apply_geometric(images, g_inv):
  """Images [N, H, W, C] float32 resampled at G_inv [N, 3, 3] (output to
  input centred pixel coordinates), anti-aliased as the official pipeline:
  reflect padding (static: H - 1, W - 1), 2x upsampling with the Symlet-6
  filter (both one matrix per axis), bilinear sampling of an output grid
  with 3 extra pixels per side, the filter and 2x downsampling (a matrix per
  axis). Computed channels-first."""
  height, width = int(images.shape[1]), int(images.shape[2])
  my, mx = height - 1, width - 1
  x = tf.transpose(images, [0, 3, 1, 2])                           # NCHW
  x = tf.einsum("nchw,uw->nchu", x, pad_upsample_matrix(width, mx))
  x = tf.einsum("vh,nchu->ncvu", pad_upsample_matrix(height, my), x)
  up_h, up_w = 2 * (height + 2 * my), 2 * (width + 2 * mx)
  out_h = 2 * (height + 2 * _FILTER_PAD)
  out_w = 2 * (width + 2 * _FILTER_PAD)
  # The official chain in pixel units: output index -> centred upsampled
  # coordinate c -> input centred coordinate T(-1/2) S(2) G S(1/2) T(1/2) c
  # -> input index (the padding is symmetric, so no padding offset).
  to_up = tf.constant([[2.0, 0.0, -0.5], [0.0, 2.0, -0.5], [0.0, 0.0, 1.0]])
  from_up = tf.constant([[0.5, 0.0, 0.25], [0.0, 0.5, 0.25], [0.0, 0.0, 1.0]])
  m = compose(compose(to_up, g_inv), from_up)                      # [N, 3, 3]
  oy, ox = tf.meshgrid(tf.range(out_h, dtype=tf.float32) - (out_h - 1) / 2,
                       tf.range(out_w, dtype=tf.float32) - (out_w - 1) / 2,
                       indexing="ij")
  grid = tf.stack([tf.reshape(ox, [-1]), tf.reshape(oy, [-1]),
                   tf.ones([out_h * out_w])])                      # [3, M]
  coords = tf.einsum("nij,jm->nim", m[:, :2], grid)                # [N, 2, M]
  px = coords[:, 0] + (up_w - 1) / 2
  py = coords[:, 1] + (up_h - 1) / 2
  y = tf.reshape(_bilinear(x, px, py), [-1, x.shape[1], out_h, out_w])
  # upfirdn2d.downsample2d(padding=-6, flip_filter=True).
  y = tf.einsum("ncvu,ju->ncvj", y, downsample_matrix(width))
  y = tf.einsum("iv,ncvj->ncij", downsample_matrix(height), y)
  return tf.transpose(y, [0, 2, 3, 1])


def apply_color(images, c):
  """Images [N, H, W, C] float32 (C = 3: C[:3, :3] rgb + C[:3, 3]; C = 1:
  x * sum(mean of C's rows 0-2 over columns 0-2) + mean(C[:3, 3]))."""
  channels = int(images.shape[-1])
  if channels == 3:
    return (tf.einsum("nij,nhwj->nhwi", c[:, :3, :3], images) +
            c[:, None, None, :3, 3])
  if channels == 1:
    rows = tf.reduce_mean(c[:, :3, :], axis=1)                     # [N, 4]
    gain = tf.reduce_sum(rows[:, :3], axis=1)
    return images * gain[:, None, None, None] + rows[:, 3, None, None, None]
  raise ValueError(f"ADA's colour transforms need RGB (3 channels) or L (1 "
                   f"channel) images, got {channels} channels.")


# Each draw's value when it does not apply (draw_parameters' `disabled`).
IDENTITY_VALUES = dict(xflip=0.0, rotate90=0.0, xint=0.0, scale=1.0, rotate=0.0,
                       rotate_post=0.0, aniso=1.0, xfrac=0.0, brightness=0.0,
                       contrast=1.0, lumaflip=0.0, hue=0.0, saturation=1.0)


def transformed_samples(params, names):
  """[N] whether a sample drew a non-identity value for any draw of `names`.

  Decided on the parameters, where a closed gate leaves exactly the identity
  value, not on the composed matrix: inside a tf.function, grappler's rewrites
  of the matrix arithmetic (e.g. 1 / 1 as a reciprocal) leave identity
  matrices off by ~1e-7, which would resample every sample even at p = 0.
  """
  flags = [tf.not_equal(tf.reshape(params[name], [tf.shape(params[name])[0], -1]),
                        IDENTITY_VALUES[name])
           for name in names if name in params]
  return tf.reduce_any(tf.concat(flags, axis=1), axis=1)


def _apply_where_transformed(fn, images, matrices_fn, transformed):
  """fn(images, matrices_fn()) for the transformed samples, the others' pixels
  unchanged; nothing computed (not even the matrices) when no sample is
  transformed."""
  return tf.cond(
      tf.reduce_any(transformed),
      lambda: tf.where(transformed[:, None, None, None],
                       fn(images, matrices_fn()), images),
      lambda: images)


def _augment_drawn(x, seed, p, transforms, strengths):
  """`ada_augment` of float32 images x [N, H, W, C] once p may be > 0."""
  n, height, width, channels = (tf.shape(x)[0], int(x.shape[1]),
                                int(x.shape[2]), int(x.shape[3]))
  params = draw_parameters(seed, n, p, transforms, strengths, channels)
  if any(name in params for name in GEOMETRIC):
    x = _apply_where_transformed(
        apply_geometric, x, lambda: geometric_matrix(params, n, height, width),
        transformed_samples(params, GEOMETRIC + ("rotate_post",)))
  if any(name in params for name in COLOR):
    x = _apply_where_transformed(apply_color, x, lambda: color_matrix(params, n),
                                 transformed_samples(params, COLOR))
  return x


# Only static Python control flow: autograph has nothing to convert (and
# converting it made tracing 3x slower).
@tf.autograph.experimental.do_not_convert
def ada_augment(images, seed, p, transforms=BGC, strengths=None):
  """ADA's augmentation of images [N, H, W, C] in [-1, 1] with a [2] seed and
  the probability p (a scalar, tensor or float); `transforms`: a dict of
  probability multipliers (BGC) or a PIPELINES name; `strengths`: overrides
  of DEFAULT_STRENGTHS. Computes in float32; returns the input's dtype when
  that is a floating tensor, else float32.

  At p <= 0 nothing is drawn or computed (a Python p: at trace time; a tensor:
  in a tf.cond), so ADA's start costs a training step only its bookkeeping."""
  x, dtype = diffaugment.as_float32(images)
  if x.shape.rank != 4 or None in x.shape[1:]:
    raise ValueError(f"ADA needs images [N, H, W, C] with static H, W, C, "
                     f"got shape {x.shape}.")
  transforms = resolve_transforms(transforms)
  height, width, channels = int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
  if (channels not in (1, 3) and
      any(transforms.get(name, 0.0) > 0.0 for name in COLOR)):
    raise ValueError(f"ADA's colour transforms need RGB (3 channels) or L "
                     f"(1 channel) images, got {channels} channels.")
  if (min(height, width) < 2 and
      any(transforms.get(name, 0.0) > 0.0 for name in GEOMETRIC)):
    raise ValueError(f"ADA's geometric transforms need images of at least "
                     f"2 x 2 pixels, got {height} x {width}.")
  if isinstance(p, (int, float)) and not tf.is_tensor(p):
    if p <= 0:
      return tf.cast(x, dtype)
    return tf.cast(_augment_drawn(x, seed, p, transforms, strengths), dtype)
  p = tf.cast(p, tf.float32)
  x = tf.cond(p > 0.0, lambda: _augment_drawn(x, seed, p, transforms, strengths),
              lambda: x)
  return tf.cast(x, dtype)


# -------------------------------------------------------- the p heuristic


def rt_statistics(real_logits):
  """(sum of sign(D(real)), count) as float32 scalars: sum both over
  replicas and the interval's steps, then rt = sum / count."""
  logits = tf.cast(real_logits, tf.float32)
  return (tf.reduce_sum(tf.sign(logits)),
          tf.cast(tf.size(logits), tf.float32))


def adjust_p(p, rt, target=0.6, *, batch_size, interval=4, speed_kimg=500):
  """ADA's update after `interval` steps of `batch_size` real images (all
  replicas): p + sign(rt - target) * batch_size * interval /
  (speed_kimg * 1000), at least 0 (the official code has no upper bound).
  float32 scalar tensor."""
  step = float(batch_size) * float(interval) / (float(speed_kimg) * 1000.0)
  p = tf.cast(p, tf.float32)
  rt = tf.cast(rt, tf.float32)
  return tf.maximum(p + tf.sign(rt - target) * step, 0.0)
