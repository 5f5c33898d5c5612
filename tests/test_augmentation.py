"""compare_gan2/augmentation: DiffAugment and ADA against direct NumPy
formulations of the official code, given the same random draws."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import errors
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
  np.testing.assert_array_equal(values[0],
                                diffaugment.diff_augment(x, tf.constant([7, 0])))
  assert not np.allclose(values[0], values[1])
