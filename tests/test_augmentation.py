"""compare_gan2/augmentation: DiffAugment and ADA against direct NumPy
formulations of the official code, given the same random draws."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.augmentation import ada
from compare_gan2.augmentation import diffaugment

SEED = tf.constant([3, 14])


def _images(shape, seed=(0, 1)):
  return tf.random.stateless_uniform(shape, seed, -1.0, 1.0)


def _value_and_grad(fn, x, w):
  """fn(x) and the gradient of sum(fn(x) * w) w.r.t. x."""
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = fn(x)
    loss = tf.reduce_sum(y * w)
  return y.numpy(), tape.gradient(loss, x).numpy()


# ------------------------------------------------------------- DiffAugment


def _np_official_translation(x, dy, dx):
  """DiffAugment_tf.rand_translation with translation_x = -dy (rows),
  translation_y = -dx (columns): one zero row / column of padding on each
  side, output index i reads padded index clip(i + t + 1, 0, size + 1)."""
  n, h, w, _ = x.shape
  out = np.empty_like(x)
  for i in range(n):
    rows = np.clip(np.arange(h) - dy[i] + 1, 0, h + 1)
    cols = np.clip(np.arange(w) - dx[i] + 1, 0, w + 1)
    padded = np.pad(x[i], [(1, 1), (1, 1), (0, 0)])
    out[i] = padded[rows][:, cols]
  return out


def _np_official_cutout_mask(top, left, h, w, side_h, side_w):
  """DiffAugment_tf.rand_cutout's mask: offsets o (top + side // 2), the
  side x side grid o - side // 2 + k clipped to the image, zeroed."""
  mask = np.ones([len(top), h, w, 1], np.float32)
  for i in range(len(top)):
    rows = np.clip(top[i] + np.arange(side_h), 0, h - 1)
    cols = np.clip(left[i] + np.arange(side_w), 0, w - 1)
    mask[i][np.ix_(rows, cols)] = 0.0
  return mask


def _np_color(x, b, s, c):
  y = x + b
  m = y.mean(3, keepdims=True)
  y = (y - m) * s + m
  m = y.mean((1, 2, 3), keepdims=True)
  return (y - m) * c + m


def test_parse_policy():
  assert diffaugment.parse_policy("color,translation,cutout") == (
      "color", "translation", "cutout")
  assert diffaugment.parse_policy("") == ()
  assert diffaugment.parse_policy(None) == ()
  assert diffaugment.parse_policy(" cutout , color") == ("cutout", "color")
  assert diffaugment.parse_policy(["translation"]) == ("translation",)
  for bad in ("colour", "color,,cutout", "color,"):
    with pytest.raises(errors.ConfigError, match="color, translation, cutout"):
      diffaugment.parse_policy(bad)
  with pytest.raises(errors.ConfigError, match="cutout_ratio"):
    diffaugment.diff_augment(_images([1, 8, 8, 3]), SEED, cutout_ratio=1.5)


def test_color_equals_numpy_and_its_gradient():
  x = _images([5, 8, 6, 3])
  w = _images([5, 8, 6, 3], (2, 2))
  n = 5
  b = diffaugment.brightness_draw(diffaugment.op_seed(SEED, "brightness"),
                                  n).numpy()
  s = diffaugment.saturation_draw(diffaugment.op_seed(SEED, "saturation"),
                                  n).numpy()
  c = diffaugment.contrast_draw(diffaugment.op_seed(SEED, "contrast"),
                                n).numpy()
  assert b.shape == (5, 1, 1, 1) and np.all(np.abs(b) <= 0.5)
  assert np.all((s >= 0) & (s <= 2)) and np.all((c >= 0.5) & (c <= 1.5))
  y, g = _value_and_grad(
      lambda v: diffaugment.diff_augment(v, SEED, "color"), x, w)
  np.testing.assert_allclose(y, _np_color(x.numpy(), b, s, c), atol=1e-5)
  # d/dx of sum(w * ((x - m) k + m)) = k w + (1 - k) mean(w) over the mean's
  # axes; brightness passes w through.
  wn = w.numpy()
  g_contrast = c * wn + (1 - c) * wn.mean((1, 2, 3), keepdims=True)
  g_expected = s * g_contrast + (1 - s) * g_contrast.mean(3, keepdims=True)
  np.testing.assert_allclose(g, g_expected, atol=1e-5)


@pytest.mark.parametrize("shape,ratio,max_shift", [
    ([64, 32, 32, 2], 0.125, (4, 4)), ([64, 16, 12, 1], 0.25, (4, 3))])
def test_translation_equals_official_and_its_gradient(shape, ratio, max_shift):
  x = _images(shape)
  w = _images(shape, (5, 5))
  n, h, wd = shape[:3]
  dy, dx = (v.numpy() for v in diffaugment.translation_draw(
      diffaugment.op_seed(SEED, "translation"), n, h, wd, ratio))
  # Every shift in [-round(ratio size), round(ratio size)] per axis.
  assert (np.abs(dy).max(), np.abs(dx).max()) == max_shift
  assert len(set(dy)) == 2 * max_shift[0] + 1
  assert len(set(dx)) == 2 * max_shift[1] + 1
  y, g = _value_and_grad(lambda v: diffaugment.diff_augment(
      v, SEED, "translation", translation_ratio=ratio), x, w)
  np.testing.assert_array_equal(y, _np_official_translation(x.numpy(), dy, dx))
  # The gradient is w shifted back, zero where the shift pushed pixels out.
  np.testing.assert_array_equal(
      g, _np_official_translation(w.numpy(), -dy, -dx))


@pytest.mark.parametrize("shape,ratio,sides", [
    ([64, 32, 32, 3], 0.5, (16, 16)), ([64, 15, 10, 1], 0.2, (3, 2)),
    ([64, 16, 16, 1], 0.2, (3, 3))])
def test_cutout_equals_official_and_its_gradient(shape, ratio, sides):
  x = _images(shape)
  w = _images(shape, (6, 6))
  n, h, wd = shape[:3]
  top, left = (v.numpy() for v in diffaugment.cutout_draw(
      diffaugment.op_seed(SEED, "cutout"), n, h, wd, ratio))
  assert diffaugment.cutout_sides(h, wd, ratio) == sides
  mask = _np_official_cutout_mask(top, left, h, wd, *sides)
  y, g = _value_and_grad(lambda v: diffaugment.diff_augment(
      v, SEED, "cutout", cutout_ratio=ratio), x, w)
  np.testing.assert_array_equal(y, x.numpy() * mask)
  np.testing.assert_array_equal(g, w.numpy() * mask)
  holes = (mask == 0).sum(axis=(1, 2, 3))
  assert holes.max() == sides[0] * sides[1] and holes.min() > 0
  # Official centres: o in [0, size + 1 - side % 2), i.e. the hole starts in
  # [-side // 2, size - side % 2 - side // 2].
  centre = top + sides[0] // 2
  assert centre.min() >= 0 and centre.max() <= h - sides[0] % 2


def test_full_policy_is_the_composition_in_order():
  x = _images([8, 16, 16, 3])
  n = 8
  seeds = {op: diffaugment.op_seed(SEED, op) for op in (
      "brightness", "saturation", "contrast", "translation", "cutout")}
  b = diffaugment.brightness_draw(seeds["brightness"], n).numpy()
  s = diffaugment.saturation_draw(seeds["saturation"], n).numpy()
  c = diffaugment.contrast_draw(seeds["contrast"], n).numpy()
  dy, dx = (v.numpy() for v in diffaugment.translation_draw(
      seeds["translation"], n, 16, 16, 0.125))
  top, left = (v.numpy() for v in diffaugment.cutout_draw(
      seeds["cutout"], n, 16, 16, 0.5))
  mask = _np_official_cutout_mask(top, left, 16, 16, 8, 8)
  expected = _np_official_translation(_np_color(x.numpy(), b, s, c), dy, dx)
  y = diffaugment.diff_augment(x, SEED)
  np.testing.assert_allclose(y, expected * mask, atol=1e-5)
  # The order as written: translation first, then colour.
  expected = _np_color(_np_official_translation(x.numpy(), dy, dx), b, s, c)
  np.testing.assert_allclose(
      diffaugment.diff_augment(x, SEED, "translation,color"), expected,
      atol=1e-5)
  # A repeated policy draws again.
  twice = diffaugment.diff_augment(x, SEED, "color,color").numpy()
  assert not np.allclose(twice, _np_color(_np_color(x.numpy(), b, s, c),
                                          b, s, c), atol=1e-3)
  # "" is the identity; seeds decide; tf.function gives the same numbers.
  np.testing.assert_array_equal(diffaugment.diff_augment(x, SEED, ""), x)
  np.testing.assert_array_equal(y, diffaugment.diff_augment(x, SEED))
  assert not np.allclose(y, diffaugment.diff_augment(x, SEED + 1))
  np.testing.assert_array_equal(
      y, tf.function(diffaugment.diff_augment)(x, SEED))


def test_diff_augment_computes_in_float32_under_half_precision():
  x = _images([4, 8, 8, 3])
  y = diffaugment.diff_augment(tf.cast(x, tf.float16), SEED)
  assert y.dtype == tf.float16
  reference = diffaugment.diff_augment(tf.cast(tf.cast(x, tf.float16),
                                               tf.float32), SEED)
  np.testing.assert_array_equal(y, tf.cast(reference, tf.float16))
  assert diffaugment.diff_augment(np.zeros([2, 8, 8, 3]), SEED).dtype == (
      tf.float32)


def test_diff_augment_in_a_replica_context(two_replica_strategy):
  x = _images([4, 8, 8, 3])

  @tf.function
  def step(images):
    ctx = tf.distribute.get_replica_context()
    seed = tf.stack([7, ctx.replica_id_in_sync_group])
    return diffaugment.diff_augment(images, seed)

  per_replica = two_replica_strategy.run(step, args=(x,))
  values = two_replica_strategy.experimental_local_results(per_replica)
  np.testing.assert_array_equal(
      values[0], diffaugment.diff_augment(x, tf.constant([7, 0])))
  assert not np.allclose(values[0], values[1])


# --------------------------------------------------------------------- ADA


def _np_official_geometric(images, g_inv):
  """stylegan2-ada-pytorch AugmentPipe's geometric execution in NumPy
  (float64): the batch's margin, reflect padding, upfirdn2d.upsample2d,
  affine_grid + grid_sample (bilinear, zeros, align_corners=False),
  upfirdn2d.downsample2d(padding=-6, flip_filter=True)."""
  def t2(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], np.float64)

  def s2(sx, sy):
    return np.array([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], np.float64)

  def up(a, axis):  # Zero insertion, padding 6 / 5, convolution with 2 f.
    a = np.moveaxis(a, axis, -1)
    z = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
    z[..., ::2] = a
    z = np.pad(z, [(0, 0)] * (z.ndim - 1) + [(6, 5)])
    out = np.apply_along_axis(lambda v: np.convolve(v, 2 * f, "valid"), -1, z)
    return np.moveaxis(out, -1, axis)

  def down(a, axis):  # Crop 1, correlation with f, every second sample.
    a = np.moveaxis(a, axis, -1)[..., 1:-1]
    out = np.apply_along_axis(lambda v: np.correlate(v, f, "valid"), -1, a)
    return np.moveaxis(out[..., ::2], -1, axis)

  def grid_sample(img, gx, gy):
    h, w = img.shape[:2]
    ix, iy = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
    x0, y0 = np.floor(ix).astype(int), np.floor(iy).astype(int)
    out = np.zeros(gx.shape + img.shape[2:])
    for xx, yy in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)):
      wgt = (1 - np.abs(ix - xx)) * (1 - np.abs(iy - yy))
      ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
      value = img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
      out += np.where(ok[..., None], value, 0) * wgt[..., None]
    return out

  images = np.asarray(images, np.float64)
  g = np.asarray(g_inv, np.float64)
  n, height, width, _ = images.shape
  f = np.asarray(ada.SYM6) / np.sum(ada.SYM6)
  hz_pad = len(f) // 4
  cx, cy = (width - 1) / 2, (height - 1) / 2
  cp = g @ np.array([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1],
                     [-cx, cy, 1]]).T
  margin = cp[:, :2, :].transpose(1, 0, 2).reshape(2, -1)
  margin = np.concatenate([-margin, margin]).max(axis=1)
  margin += np.array([hz_pad * 2 - cx, hz_pad * 2 - cy] * 2)
  margin = np.minimum(np.maximum(margin, 0), [width - 1, height - 1] * 2)
  mx0, my0, mx1, my1 = np.ceil(margin).astype(int)
  x = np.pad(images, [(0, 0), (my0, my1), (mx0, mx1), (0, 0)], "reflect")
  g = t2((mx0 - mx1) / 2, (my0 - my1) / 2) @ g
  x = up(up(x, 1), 2)
  g = s2(2, 2) @ g @ s2(0.5, 0.5)
  g = t2(-0.5, -0.5) @ g @ t2(0.5, 0.5)
  out_h, out_w = (height + hz_pad * 2) * 2, (width + hz_pad * 2) * 2
  g = s2(2 / x.shape[2], 2 / x.shape[1]) @ g @ s2(out_w / 2, out_h / 2)
  gx, gy = np.meshgrid((2 * np.arange(out_w) + 1) / out_w - 1,
                       (2 * np.arange(out_h) + 1) / out_h - 1)
  base = np.stack([gx, gy, np.ones_like(gx)], -1)
  y = np.stack([grid_sample(x[i], *np.moveaxis(base @ g[i, :2].T, -1, 0))
                for i in range(n)])
  return down(down(y, 1), 2)


def _smooth_images(n, size, channels):
  """Images of a few low frequencies (what a flip resamples nearly exactly:
  the official Symlet-6 filter is not symmetric)."""
  r = np.random.RandomState(0)
  yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size),
                       indexing="ij")
  out = np.zeros([n, size, size, channels], np.float32)
  for i in range(n):
    for c in range(channels):
      a, b, ph = r.uniform(-2, 2), r.uniform(-2, 2), r.uniform(0, 6)
      out[i, :, :, c] = 0.5 * np.sin(a * xx + b * yy + ph) + 0.3 * xx * yy
  return tf.constant(out)


def _only(name):
  return {name: 1}


def _draws(name, n, p=1.0, channels=3):
  return {k: v.numpy() for k, v in ada.draw_parameters(
      SEED, n, p, _only(name), channels=channels).items()}


@pytest.mark.parametrize("channels", [3, 1])
def test_ada_each_transform_at_p0_is_the_identity(channels):
  x = _images([6, 12, 12, channels])
  for name in ada.TRANSFORMS:
    for p in (0.0, tf.constant(0.0)):
      np.testing.assert_array_equal(
          ada.ada_augment(x, SEED, p, _only(name)), x, err_msg=name)
  np.testing.assert_array_equal(ada.ada_augment(x, SEED, 0.0), x)
  w = _images([6, 12, 12, channels], (4, 4))
  _, g = _value_and_grad(lambda v: ada.ada_augment(v, SEED, 0.0), x, w)
  np.testing.assert_array_equal(g, w)


def test_ada_untransformed_samples_keep_their_pixels_inside_tf_function():
  """In a tf.function (as in training), grappler's rewrites leave composed
  identity matrices ~1e-7 off the identity; samples that drew no transform
  must still keep their exact pixels, and p = 0 must be the identity."""
  x = _images([64, 12, 12, 3])
  augment = tf.function(lambda v, p: ada.ada_augment(v, SEED, p))
  np.testing.assert_array_equal(augment(x, tf.constant(0.0)), x)
  out = augment(x, tf.constant(0.1)).numpy()
  params = ada.draw_parameters(SEED, 64, 0.1)
  untouched = ~(ada.transformed_samples(params, ada.GEOMETRIC + ("rotate_post",)) |
                ada.transformed_samples(params, ada.COLOR)).numpy()
  assert 5 <= untouched.sum() <= 40  # P(no transform) = 0.9^12 ~ 0.28.
  np.testing.assert_array_equal(out[untouched], x.numpy()[untouched])
  assert np.all(np.abs(out[~untouched] - x.numpy()[~untouched]).max(axis=(1, 2, 3))
                > 1e-4)


def test_ada_draws_nothing_outside_its_p_positive_branch():
  """ADA starts at p = 0 for thousands of steps: its draws, matrices and
  resampling all sit inside the p > 0 branch, so the step pays only a cond."""
  x = _images([4, 12, 12, 3])
  graph = tf.function(lambda v, p: ada.ada_augment(v, SEED, p)).get_concrete_function(
      x, tf.constant(0.0)).graph
  types = {op.type for op in graph.get_operations()}
  assert types & {"If", "StatelessIf"}
  assert not {t for t in types if "Random" in t or "Gather" in t or
              "Einsum" in t}, types


def test_ada_each_transform_at_p1_always_applies():
  n = 32
  for name in ada.TRANSFORMS:
    assert ada.gate(SEED, name, n, 1.0).numpy().all(), name
    assert not ada.gate(SEED, name, n, 0.0).numpy().any(), name
  for name, identity in (("scale", 1), ("aniso", 1), ("rotate", 0),
                         ("rotate_post", 0), ("brightness", 0),
                         ("contrast", 1), ("hue", 0), ("saturation", 1)):
    base = "rotate" if name == "rotate_post" else name
    assert np.all(_draws(base, n)[name] != identity), name
  # Rotation: P(pre or post) = p, each 1 - sqrt(1 - p).
  gates = ada.gate(SEED, "rotate", 20000, 1 - np.sqrt(1 - 0.36)).numpy()
  assert abs(gates.mean() - 0.2) < 0.01
  # The discrete draws take every value.
  assert set(_draws("xflip", n)["xflip"]) == {0.0, 1.0}
  assert set(_draws("rotate90", n)["rotate90"]) == {0.0, 1.0, 2.0, 3.0}
  assert set(_draws("lumaflip", n)["lumaflip"]) == {0.0, 1.0}
  # A gate opens with probability p: about half at p = 0.5.
  assert abs(ada.gate(SEED, "xint", 20000, 0.5).numpy().mean() - 0.5) < 0.01


def test_ada_pixel_blitting():
  """x-flips and quarter turns are the official resampling of the flipped or
  turned grid: exact where no transform was drawn, otherwise equal to the
  exact flip / turn up to the Symlet-6 filter's group delay (the filter is
  not symmetric: content lands ~0.05 pixel off centre, which an
  up-and-down-sampling cancels but a mirrored grid doubles, so smooth images
  differ by ~0.1 pixel times their slope)."""
  n, size = 16, 16
  x = _smooth_images(n, size, 3)
  xn = x.numpy()
  i = _draws("xflip", n)["xflip"]
  y = ada.ada_augment(x, SEED, 1.0, _only("xflip")).numpy()
  np.testing.assert_array_equal(y[i == 0], xn[i == 0])
  np.testing.assert_allclose(y[i == 1], xn[i == 1, :, ::-1], atol=0.05)
  g_inv = ada.geometric_matrix(ada.draw_parameters(SEED, n, 1.0, _only(
      "xflip")), n, size, size)
  np.testing.assert_allclose(y, _np_official_geometric(xn, g_inv.numpy()),
                             atol=1e-5)
  # 90-degree rotations: k quarter turns, counter-clockwise.
  k = _draws("rotate90", n)["rotate90"].astype(int)
  y = ada.ada_augment(x, SEED, 1.0, _only("rotate90")).numpy()
  for j in range(n):
    errors_by_k = [np.abs(y[j] - np.rot90(xn[j], r)).max() for r in range(4)]
    assert np.argmin(errors_by_k) == k[j]
    assert errors_by_k[k[j]] == 0 if k[j] == 0 else errors_by_k[k[j]] < 0.05
  g_inv = ada.geometric_matrix(ada.draw_parameters(SEED, n, 1.0, _only(
      "rotate90")), n, size, size)
  np.testing.assert_allclose(y, _np_official_geometric(xn, g_inv.numpy()),
                             atol=1e-5)
  # Integer translation: round(t size) pixels, reflect padding.
  t = _draws("xint", n)["xint"]
  assert np.all(np.abs(t) <= 0.125)
  y = ada.ada_augment(x, SEED, 1.0, _only("xint")).numpy()
  for j in range(n):
    dx, dy = (int(v) for v in np.round(t[j] * size))
    padded = np.pad(xn[j], [(size, size), (size, size), (0, 0)], "reflect")
    expected = padded[size - dy:2 * size - dy, size - dx:2 * size - dx]
    np.testing.assert_allclose(y[j], expected, atol=1e-5)


def test_ada_geometric_equals_the_official_resampling():
  n, size = 6, 12
  x = _images([n, size, size, 2])
  geometric = dict.fromkeys(ada.GEOMETRIC, 1)
  params = ada.draw_parameters(SEED, n, 1.0, geometric, channels=2)
  g_inv = ada.geometric_matrix(params, n, size, size)
  expected = _np_official_geometric(x.numpy(), g_inv.numpy())
  np.testing.assert_allclose(ada.ada_augment(x, SEED, 1.0, geometric),
                             expected, atol=1e-4)
  # The matrix is the official composition.
  p = {k: v.numpy() for k, v in params.items()}
  expected_g = np.eye(3)[None].repeat(n, 0)
  for j in range(n):
    def rot(a):
      return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0],
                       [0, 0, 1]])
    def sc(sx, sy):
      return np.diag([sx, sy, 1.0])
    def tr(tx, ty):
      return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1.0]])
    for m in (sc(1 - 2 * p["xflip"][j], 1), rot(np.pi / 2 * p["rotate90"][j]),
              tr(*-np.round(p["xint"][j] * size)),
              sc(1 / p["scale"][j], 1 / p["scale"][j]), rot(p["rotate"][j]),
              sc(1 / p["aniso"][j], p["aniso"][j]), rot(p["rotate_post"][j]),
              tr(*-p["xfrac"][j] * size)):
      expected_g[j] = expected_g[j] @ m
  np.testing.assert_allclose(g_inv, expected_g, atol=1e-5)


def _np_color_matrix(p, n):
  v = np.array([1, 1, 1, 0]) / np.sqrt(3)
  vv = np.outer(v, v)
  out = []
  for j in range(n):
    c = np.eye(4)
    if "brightness" in p:
      t = np.eye(4)
      t[:3, 3] = p["brightness"][j]
      c = t @ c
    if "contrast" in p:
      c = np.diag([p["contrast"][j]] * 3 + [1]) @ c
    if "lumaflip" in p:
      c = (np.eye(4) - 2 * vv * p["lumaflip"][j]) @ c
    if "hue" in p:
      a = p["hue"][j]
      cross = np.array([[0, -v[2], v[1], 0], [v[2], 0, -v[0], 0],
                        [-v[1], v[0], 0, 0], [0, 0, 0, 0]])
      rot = np.cos(a) * np.eye(4) + np.sin(a) * cross + (1 - np.cos(a)) * vv
      rot[3] = [0, 0, 0, 1]
      c = rot @ c
    if "saturation" in p:
      c = (vv + (np.eye(4) - vv) * p["saturation"][j]) @ c
    out.append(c)
  return np.stack(out)


def _np_apply_color(x, c):
  if x.shape[-1] == 3:
    return np.einsum("nij,nhwj->nhwi", c[:, :3, :3], x) + c[:, None, None,
                                                            :3, 3]
  rows = c[:, :3, :].mean(axis=1)
  return x * rows[:, :3].sum(1)[:, None, None, None] + rows[:, 3, None, None,
                                                            None]


@pytest.mark.parametrize("channels", [3, 1])
def test_ada_color_transforms_equal_their_matrices(channels):
  n = 8
  x = _images([n, 6, 6, channels])
  xn = x.numpy()
  for name in ada.COLOR:
    p = _draws(name, n, channels=channels)
    y = ada.ada_augment(x, SEED, 1.0, _only(name)).numpy()
    if channels == 1 and name in ("hue", "saturation"):
      np.testing.assert_array_equal(y, xn)  # RGB only, as the official code.
      continue
    np.testing.assert_allclose(
        y, _np_apply_color(xn, _np_color_matrix(p, n)), atol=1e-5,
        err_msg=name)
  # Each one's meaning, on RGB.
  if channels == 3:
    b = _draws("brightness", n)["brightness"][:, None, None, None]
    np.testing.assert_allclose(ada.ada_augment(x, SEED, 1.0, _only(
        "brightness")), xn + b, atol=1e-6)
    c = _draws("contrast", n)["contrast"][:, None, None, None]
    np.testing.assert_allclose(ada.ada_augment(x, SEED, 1.0, _only(
        "contrast")), xn * c, atol=1e-5)
    i = _draws("lumaflip", n)["lumaflip"][:, None, None, None]
    flipped = xn - 2 * i * xn.mean(-1, keepdims=True)
    np.testing.assert_allclose(ada.ada_augment(x, SEED, 1.0, _only(
        "lumaflip")), flipped, atol=1e-5)
    for name in ("hue", "saturation"):  # Both keep the luma (channel mean).
      y = ada.ada_augment(x, SEED, 1.0, _only(name)).numpy()
      np.testing.assert_allclose(y.mean(-1), xn.mean(-1), atol=1e-5)
  # All five compose into one matrix, in the official order.
  color = dict.fromkeys(ada.COLOR, 1)
  p = {k: v.numpy() for k, v in ada.draw_parameters(
      SEED, n, 1.0, color, channels=channels).items()}
  np.testing.assert_allclose(
      ada.ada_augment(x, SEED, 1.0, color),
      _np_apply_color(xn, _np_color_matrix(p, n)), atol=1e-5)


def test_ada_bgc_changes_every_sample_is_seeded_and_differentiable():
  n = 8
  x = _images([n, 16, 16, 3])
  y = ada.ada_augment(x, SEED, 1.0)
  assert ada.BGC == ada.PIPELINES["bgc"] and len(ada.BGC) == 12
  assert np.all(np.abs(y.numpy() - x.numpy()).max(axis=(1, 2, 3)) > 0.05)
  np.testing.assert_array_equal(y, ada.ada_augment(x, SEED, 1.0, "bgc"))
  assert not np.allclose(y, ada.ada_augment(x, SEED + 1, 1.0))
  np.testing.assert_allclose(
      y, tf.function(ada.ada_augment)(x, SEED, tf.constant(1.0)), atol=1e-4)
  # For fixed draws the pipeline is affine in the images: the gradient of
  # sum(aug(x) w) is the transposed map A^T w, so <A^T w, v> = <A v, w>.
  w = _images([n, 16, 16, 3], (8, 8))
  v = _images([n, 16, 16, 3], (9, 9))
  for p in (1.0, 0.3):
    _, g = _value_and_grad(lambda im, p=p: ada.ada_augment(im, SEED, p), x, w)
    assert np.isfinite(g).all() and np.abs(g).max() > 0
    linear = (ada.ada_augment(v, SEED, p) -
              ada.ada_augment(tf.zeros_like(v), SEED, p)).numpy()
    assert np.sum(g * v.numpy()) == pytest.approx(
        np.sum(linear * w.numpy()), rel=1e-4)
  # float16 in, float16 out, computed in float32.
  half = ada.ada_augment(tf.cast(x, tf.float16), SEED, 1.0)
  assert half.dtype == tf.float16


def test_ada_options_are_checked():
  x = _images([2, 8, 8, 3])
  with pytest.raises(errors.ConfigError, match="imgfilter"):
    ada.ada_augment(x, SEED, 0.5, {"cutout": 1})
  with pytest.raises(errors.ConfigError, match="bgc"):
    ada.ada_augment(x, SEED, 0.5, "bgcfnc")
  with pytest.raises(errors.ConfigError, match="scale_std"):
    ada.ada_augment(x, SEED, 0.5, strengths={"scale_sd": 1})
  with pytest.raises(ValueError, match="RGB"):
    ada.ada_augment(_images([2, 8, 8, 2]), SEED, 0.5, _only("brightness"))
  # Stronger settings reach the draws.
  wide = ada.draw_parameters(SEED, 1000, 1.0, _only("brightness"),
                             strengths={"brightness_std": 1.0})
  assert np.std(wide["brightness"].numpy()) == pytest.approx(1.0, rel=0.1)
  assert np.std(_draws("brightness", 1000)["brightness"]) == pytest.approx(
      0.2, rel=0.1)


def test_ada_in_a_replica_context(two_replica_strategy):
  x = _images([4, 8, 8, 3])
  p = tf.Variable(0.5)

  @tf.function
  def step(images):
    ctx = tf.distribute.get_replica_context()
    seed = tf.stack([7, ctx.replica_id_in_sync_group])
    return ada.ada_augment(images, seed, p.read_value())

  values = two_replica_strategy.experimental_local_results(
      two_replica_strategy.run(step, args=(x,)))
  np.testing.assert_allclose(values[0], ada.ada_augment(
      x, tf.constant([7, 0]), 0.5), atol=1e-5)
  assert not np.allclose(values[0], values[1])


def test_adjust_p_moves_towards_the_target_at_the_paper_speed():
  step = 64 * 4 / 500000  # 0.000512: 500 kimg per unit of p.
  kwargs = dict(batch_size=64, interval=4, speed_kimg=500)
  assert float(ada.adjust_p(0.5, 0.7, **kwargs)) == pytest.approx(
      0.5 + step, abs=1e-7)
  assert float(ada.adjust_p(0.5, 0.5, **kwargs)) == pytest.approx(
      0.5 - step, abs=1e-7)
  assert float(ada.adjust_p(0.5, 0.6, **kwargs)) == 0.5  # sign(0) = 0.
  assert float(ada.adjust_p(0.2, 0.9, 0.95, **kwargs)) == pytest.approx(
      0.2 - step, abs=1e-7)
  # Floored at 0, no upper bound (both official versions).
  assert float(ada.adjust_p(0.0001, 0.0, **kwargs)) == 0.0
  assert float(ada.adjust_p(1.0, 1.0, **kwargs)) == pytest.approx(1 + step)
  # 1000 updates with rt above the target: p = 0.512; one unit takes
  # 500 kimg = 1953.125 updates of 256 images.
  p = tf.constant(0.0)
  for _ in range(1000):
    p = ada.adjust_p(p, tf.constant(0.8), **kwargs)
  assert float(p) == pytest.approx(0.512, abs=1e-4)


def test_rt_statistics():
  logits = tf.constant([[2.0], [-1.0], [0.5], [0.0], [3.0]])
  total, count = ada.rt_statistics(logits)
  assert (float(total), float(count)) == (2.0, 5.0)  # 1 - 1 + 1 + 0 + 1.
  total, count = ada.rt_statistics(tf.cast(logits, tf.float16))
  assert total.dtype == tf.float32 and float(total) / float(count) == 0.4
