"""The embedded polygons datasets."""

import collections
import math

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2.datasets import polygons


def _take(ds, n):
  return list(ds.take(n).as_numpy_iterator())


@pytest.mark.parametrize("res", polygons.RESOLUTIONS)
def test_shapes_dtype_range(res):
  spec = datasets.get_dataset(name="polygons_%d" % res)
  assert spec.image_shape == (res, res, 3)
  assert spec.num_classes == 6 and spec.eval_test_samples == 10000
  assert spec.load("test").element_spec[0].shape == (res, res, 3)
  for image, label in _take(spec.load("test"), 3) + _take(spec.load("train"), 3):
    assert image.shape == (res, res, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert label.dtype == np.int32 and 0 <= label < 6
  i, image, label = _take(spec.train_examples(), 1)[0]
  assert i.dtype == np.int64 and i == 0
  assert image.shape == (res, res, 3) and label.dtype == np.int32


def test_determinism_and_variation():
  spec = datasets.get_dataset(name="polygons_32", seed=547)
  a, la = spec.render("test", np.arange(8))
  b, lb = spec.render("test", np.arange(8))
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(la, lb)
  # Independent of batching and of the pipeline.
  single, _ = spec.render("test", 5)
  np.testing.assert_array_equal(single[0], a[5])
  loaded = _take(spec.load("test"), 8)
  np.testing.assert_array_equal(np.stack([x for x, _ in loaded]), a)
  np.testing.assert_array_equal([y for _, y in loaded], la)
  # Images within a split differ; other seeds and splits differ.
  assert all(np.abs(a[i] - a[i + 1]).max() > 0.1 for i in range(7))
  other_seed, _ = datasets.get_dataset(name="polygons_32", seed=548).render(
      "test", np.arange(8))
  other_split, _ = spec.render("train", np.arange(8))
  for other in (other_seed, other_split):
    assert all(np.abs(a[i] - other[i]).mean() > 0.02 for i in range(8))


def test_test_split_size_and_balance():
  spec = datasets.get_dataset(name="polygons_32")
  assert spec.split_size("test") == 10000 and spec.split_size("train") == 2**31
  labels = list(next(iter(spec.load("test").batch(600)))[1].numpy())
  assert collections.Counter(labels) == {c: 100 for c in range(6)}
  train_labels = list(next(iter(spec.train_examples().batch(1200)))[2].numpy())
  counts = collections.Counter(train_labels)
  assert set(counts) == set(range(6))
  assert all(140 <= counts[c] <= 260 for c in range(6)), counts


def _convex_hull(points):
  """Andrew's monotone chain; points [N, 2] -> hull vertices, counter-clockwise."""
  pts = sorted(set(map(tuple, points)))

  def cross(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
  lower, upper = [], []
  for p in pts:
    while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
      lower.pop()
    lower.append(p)
  for p in reversed(pts):
    while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
      upper.pop()
    upper.append(p)
  return np.array(lower[:-1] + upper[:-1], np.float64)


def _count_corners(mask, tolerance=2.5, min_turn_degrees=12.0, merge=16.0):
  """Vertices of the convex shape in a binary mask: hull, then corner detection.

  Simplifies the convex hull of the mask with Douglas-Peucker (`tolerance`
  pixels) and counts the points where the outline turns by > `min_turn_degrees`.
  """
  # Only boundary pixels matter for the hull.
  padded = np.pad(mask, 1)
  interior = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] &
              padded[1:-1, 2:])
  ys, xs = np.nonzero(mask & ~interior)
  corners_of_pixels = np.concatenate([
      np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)])
  hull = _convex_hull(corners_of_pixels)
  # Douglas-Peucker on the closed hull, started at two far-apart points.
  def dp(chain):
    if len(chain) <= 2:
      return list(chain)
    a, b = chain[0], chain[-1]
    ab = b - a
    norm = np.hypot(*ab) + 1e-12
    d = np.abs(ab[0] * (chain[:, 1] - a[1]) - ab[1] * (chain[:, 0] - a[0])) / norm
    k = int(np.argmax(d))
    if d[k] <= tolerance:
      return [a, b]
    return dp(chain[:k + 1])[:-1] + dp(chain[k:])
  # Start at the ends of the diameter: for a convex polygon both are vertices.
  dist = np.hypot(*(hull[:, None, :] - hull[None, :, :]).transpose(2, 0, 1))
  i0, i1 = sorted(np.unravel_index(int(np.argmax(dist)), dist.shape))
  hull = np.roll(hull, -i0, axis=0)
  far = i1 - i0
  closed = np.concatenate([hull, hull[:1]])
  simple = dp(closed[:far + 1])[:-1] + dp(closed[far:])[:-1]
  simple = np.array(simple)
  # Drop vertices where the outline barely turns.
  n = len(simple)
  keep = []
  for i in range(n):
    u = simple[i] - simple[i - 1]
    v = simple[(i + 1) % n] - simple[i]
    turn = math.degrees(abs(math.atan2(u[0] * v[1] - u[1] * v[0], u @ v)))
    if turn > min_turn_degrees:
      keep.append(simple[i])
  # A sharp tip is cut by the pixel grid into two close corners: merge corners
  # closer than `merge` pixels (true sides are >= ~23 px at 256 px).
  count = len(keep)
  for i in range(len(keep)):
    if np.hypot(*(keep[i] - keep[i - 1])) < merge:
      count -= 1
  return count


def test_vertex_count_recoverable():
  """The class is visible: the rendered shape has label + 3 corners."""
  seed, split_id, res = 547, 2, 256
  index = tf.range(48, dtype=tf.int64)     # test split: 8 of each class
  prm = polygons.polygon_params(seed, split_id, index)
  np.testing.assert_array_equal(prm["num_vertices"].numpy(),
                                prm["label"].numpy() + 3)
  # Vertices are distinct corners: angular gaps around the centre are similar.
  verts = prm["vertices"].numpy()
  hard = polygons.polygon_coverage(prm["vertices"], prm["num_vertices"], res,
                                   antialias=False).numpy()
  soft = polygons.polygon_coverage(prm["vertices"], prm["num_vertices"], res).numpy()
  images, labels = polygons.render_polygons(seed, split_id, index, res)
  images = images.numpy()
  for b in range(48):
    n = int(prm["num_vertices"][b])
    v = verts[b, :n]
    # Inside the image, with a margin.
    assert v.min() > 0.0 and v.max() < 1.0
    # Anti-aliased coverage agrees with the hard inside test up to the edges.
    assert np.mean(np.abs((soft[b] > 0.5) - hard[b])) < 0.01
    # The polygon (in its colour) is where the hard mask is.
    fg = prm["fg"].numpy()[b]
    inside = np.abs(images[b] - fg).max(-1) < 1e-4
    assert np.mean(inside != (hard[b] > 0)) < 0.01
    # Counting corners of the rendered shape recovers the class.
    assert _count_corners(hard[b] > 0) == n, (b, n)


def test_contrast():
  prm = polygons.polygon_params(547, 1, tf.range(500, dtype=tf.int64))
  fg, bg0, bg1 = (prm[k].numpy().mean(-1) for k in ("fg", "bg0", "bg1"))
  assert np.all(np.abs(fg - bg0) > 0.15) and np.all(np.abs(fg - bg1) > 0.15)


def test_train_examples_resume():
  spec = datasets.get_dataset(name="polygons_32", seed=3)
  full = _take(spec.train_examples(), 200)
  assert [int(i) for i, _, _ in full] == list(range(200))
  for start in (1, 63, 64, 130):
    resumed = _take(spec.train_examples(start_index=start), 40)
    for (i, im, l), (j, im2, l2) in zip(resumed, full[start:start + 40]):
      assert i == j and l == l2
      np.testing.assert_array_equal(im, im2)
  with pytest.raises(ValueError):
    spec.train_examples(start_index=-1)


def test_input_context_sharding():
  spec = datasets.get_dataset(name="polygons_32")
  streams, tests = [], []
  for pid in range(2):
    ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pid)
    streams.append(_take(spec.train_examples(input_context=ctx), 16))
    tests.append(_take(spec.load("test", input_context=ctx), 3))
  # Different per-pipeline seeds: different examples.
  assert all(np.abs(a[1] - b[1]).max() > 0.1 for a, b in zip(*streams))
  # The test split is sharded by index: pipeline p gets p, p + 2, ...
  ref, _ = spec.render("test", np.arange(6))
  for pid in range(2):
    for k, (image, _) in enumerate(tests[pid]):
      np.testing.assert_array_equal(image, ref[pid + 2 * k])
  # Pipeline 0 has the unsharded seed, so a single pipeline equals pipeline 0.
  single = _take(spec.train_examples(), 16)
  for a, b in zip(single, streams[0]):
    np.testing.assert_array_equal(a[1], b[1])


def test_contact_sheet():
  """Image i at row i // 8, column i % 8 of 34-pixel cells after a 2-pixel white
  margin, rounded to uint8; white borders and empty cells."""
  spec = datasets.get_dataset(name="polygons_32")
  images, _ = spec.render("test", np.arange(11))
  sheet = polygons.contact_sheet(images)
  assert sheet.dtype == np.uint8 and sheet.shape == (2 * 34 + 2, 8 * 34 + 2, 3)
  covered = np.zeros(sheet.shape[:2], bool)
  for i, image in enumerate(images):
    top, left = 2 + 34 * (i // 8), 2 + 34 * (i % 8)
    np.testing.assert_array_equal(sheet[top:top + 32, left:left + 32],
                                  np.round(image * 255).astype(np.uint8), err_msg=i)
    covered[top:top + 32, left:left + 32] = True
  assert (sheet[~covered] == 255).all()  # Margins and cells 11..15.
