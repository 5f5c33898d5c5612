"""The embedded `polygons_{32,64,128,256}` datasets: generated, no files needed.

Every image shows ONE filled, anti-aliased convex polygon on a background that is a
uniform colour or a soft linear gradient. The class is the number of vertices minus
3: 3..8 vertices give labels 0..5 (6 classes). Colour, size, rotation, position and a
mild anisotropic stretch are random; the polygon is light on a dark background or
dark on a light one, so the shape is always visible.

Image `index` of a split is a pure function of `(seed, split, index)`: all random
numbers come from a counter-based integer hash (murmur3 finaliser on uint32) of
those values, and rendering is vectorised TF (half-plane signed distances with
coverage = clip(0.5 - distance_in_pixels, 0, 1)). Pipelines therefore render whole
batches of indices at once and then unbatch, which is fast and independent of how the
indices are batched.

Splits: train has 2**31 images (index -> image), test has `eval_test_samples` (10000)
images. Test labels cycle through the classes (index mod 6, exactly balanced);
train labels are hash-random (balanced in expectation).

`train_examples` draws, for the pipeline's i-th example, the train image id
hash(seed + input_pipeline_id, i) mod 2**31 (sampling with replacement from 2**31
images is equivalent to shuffling), so no shuffle buffer is needed and resuming at any
index costs nothing.

Limited data (base.ImageDatasetSpec): `dataset.num_train_examples = m` trains on
m fixed train images, class-balanced by their shapes (without label files the
split is 2**31 images and `dataset.train_fraction` is refused: a fraction of it
is no limited data; with label files the split is their first N images and both
options work). The shapes are read from `polygon_params` (the label is one hash
of the image id; nothing is rendered). The subset's images are then seen in
epochs, as mnist_5k's: epoch e is a stateless permutation of this pipeline's
share of the subset (subset ids p, p + P, ... of P pipelines), seeded by
`(seed + input_pipeline_id, e)`, so resuming is exact and cheap.
"""

import math

import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops
from compare_gan2.datasets import base
from compare_gan2.datasets import label_files
from compare_gan2.datasets import subset as subset_lib

NUM_CLASSES = 6
MIN_VERTICES = 3
MAX_VERTICES = MIN_VERTICES + NUM_CLASSES - 1  # 8
TRAIN_SIZE = 2**31
TEST_SIZE = 10000
RESOLUTIONS = (32, 64, 128, 256)

_SPLIT_IDS = {base.TRAIN: 1, base.EVAL: 2}
_SAMPLE_SPLIT_ID = 3  # Stream used by train_examples to pick image ids.
_SALT_EPOCH = 0x9017E  # Epoch permutations of a training subset.


def render_batch_size(resolution):
  """Images rendered per batch (fixed per resolution: 64 at 32 px, 8 at 256 px)."""
  return max(8, 64 * 32 * 32 // (resolution * resolution))

# Random numbers per image (the counter of the hash):
_U_LABEL = 0
_U_ROT = 1
_U_GAPS = 2                  # .. 2 + MAX_VERTICES
_U_RADIUS = _U_GAPS + MAX_VERTICES
_U_CX = _U_RADIUS + 1
_U_CY = _U_CX + 1
_U_STRETCH = _U_CY + 1
_U_STRETCH_ANGLE = _U_STRETCH + 1
_U_DARK = _U_STRETCH_ANGLE + 1
_U_FG = _U_DARK + 1          # 3 values
_U_BG0 = _U_FG + 3           # 3 values
_U_BG1 = _U_BG0 + 3          # 3 values
_U_GRAD_ANGLE = _U_BG1 + 3
_U_GRAD_ON = _U_GRAD_ANGLE + 1
_NUM_U = _U_GRAD_ON + 1


_xor = random_ops.xor32
_fmix32 = random_ops.fmix32
_hash_keys = random_ops.hash_keys


def hash_uniforms(seed, split_id, index, num):
  """[B, num] float32 in [0, 1): the random numbers of examples `index` [B]."""
  keys = _hash_keys(seed, split_id, index)
  counters = tf.cast(tf.range(num), tf.uint32) * tf.constant(0x7FEB352D, tf.uint32)
  h = _fmix32(_xor(_fmix32(keys[:, None] + counters[None, :]), keys[:, None]))
  mantissa = tf.bitwise.right_shift(h, tf.constant(8, tf.uint32))
  return tf.cast(mantissa, tf.float32) * (1.0 / (1 << 24))


def polygon_params(seed, split_id, index, colours=None):
  """The random parameters of images `index` [B] (int64) of a split.

  Returns a dict of tensors: label [B] int32, num_vertices [B] int32,
  vertices [B, 8, 2] float32 (x, y in [0, 1] image coordinates, counter-clockwise in
  (x, y); slots >= num_vertices repeat the first vertex), radius, cx, cy [B]
  (size and centre, in image units), fg [B, 3], bg0 [B, 3], bg1 [B, 3] colours
  and grad_dir [B, 2] (gradient direction scaled by strength).

  `colours(u, label) -> dict` (u: the [B, _NUM_U] uniforms) replaces the random
  colours: it returns fg, bg0, bg1 and may add entries (e.g. palette indices).
  """
  index = tf.cast(index, tf.int64)
  u = hash_uniforms(seed, split_id, index, _NUM_U)
  if split_id == _SPLIT_IDS[base.EVAL]:
    label = tf.cast(index % NUM_CLASSES, tf.int32)
  else:
    label = tf.minimum(tf.cast(u[:, _U_LABEL] * NUM_CLASSES, tf.int32),
                       NUM_CLASSES - 1)
  n = label + MIN_VERTICES
  slots = tf.range(MAX_VERTICES)
  valid = slots[None, :] < n[:, None]                                # [B, 8]
  # Angular gaps: each in [0.7, 1.3] x the regular gap before normalising, so the
  # smallest gap is >= 0.7/1.3 of the largest and every vertex is clearly a corner.
  w = 0.7 + 0.6 * u[:, _U_GAPS:_U_GAPS + MAX_VERTICES]
  w = tf.where(valid, w, 0.0)
  gaps = 2.0 * math.pi * w / tf.reduce_sum(w, axis=1, keepdims=True)
  angles = u[:, _U_ROT:_U_ROT + 1] * 2.0 * math.pi + tf.cumsum(gaps, axis=1,
                                                                exclusive=True)
  radius = 0.24 + 0.16 * u[:, _U_RADIUS]                               # of image size
  # Mild anisotropic stretch (an affine map keeps the polygon convex).
  stretch = 0.85 + 0.3 * u[:, _U_STRETCH]
  phi = u[:, _U_STRETCH_ANGLE] * math.pi
  x0 = tf.cos(angles) * radius[:, None]
  y0 = tf.sin(angles) * radius[:, None]
  c, s = tf.cos(phi)[:, None], tf.sin(phi)[:, None]
  a = (x0 * c + y0 * s) * stretch[:, None]     # along the stretch axis
  b = (-x0 * s + y0 * c) / stretch[:, None]
  x = a * c - b * s
  y = a * s + b * c
  extent = radius * tf.maximum(stretch, 1.0 / stretch)
  margin = extent + 0.03
  cx = margin + (1.0 - 2.0 * margin) * u[:, _U_CX]
  cy = margin + (1.0 - 2.0 * margin) * u[:, _U_CY]
  x = tf.where(valid, x + cx[:, None], (x + cx[:, None])[:, :1])
  y = tf.where(valid, y + cy[:, None], (y + cy[:, None])[:, :1])
  vertices = tf.stack([x, y], axis=-1)
  geometry = {"label": label, "num_vertices": n, "vertices": vertices,
              "radius": radius, "cx": cx, "cy": cy}
  colour = (colours or _random_colours)(u, label)
  g_angle = u[:, _U_GRAD_ANGLE] * 2.0 * math.pi
  grad_on = tf.cast(u[:, _U_GRAD_ON] < 0.75, tf.float32)   # 25% uniform backgrounds
  grad_dir = tf.stack([tf.cos(g_angle), tf.sin(g_angle)], axis=1) * grad_on[:, None]
  return dict(geometry, grad_dir=grad_dir, **colour)


def _random_colours(u, label):
  """polygons_*' colours: light on dark or dark on light, random hues."""
  del label
  dark = u[:, _U_DARK:_U_DARK + 1] < 0.5     # dark polygon on a light background
  fg_light = 0.55 + 0.45 * u[:, _U_FG:_U_FG + 3]
  fg_dark = 0.4 * u[:, _U_FG:_U_FG + 3]
  bg_dark = 0.4 * u[:, _U_BG0:_U_BG0 + 3]
  bg_light = 0.6 + 0.4 * u[:, _U_BG0:_U_BG0 + 3]
  fg = tf.where(dark, fg_dark, fg_light)
  bg0 = tf.where(dark, bg_light, bg_dark)
  # Second gradient colour: a shift of up to +-0.15 per channel, kept in the
  # background's half of the range so that the contrast survives.
  shift = 0.3 * (u[:, _U_BG1:_U_BG1 + 3] - 0.5)
  bg1 = tf.where(dark, tf.clip_by_value(bg0 + shift, 0.55, 1.0),
                 tf.clip_by_value(bg0 + shift, 0.0, 0.45))
  return {"fg": fg, "bg0": bg0, "bg1": bg1}


def polygon_coverage(vertices, num_vertices, resolution, antialias=True):
  """[B, R, R] coverage of convex polygons `vertices` [B, 8, 2] (see polygon_params).

  Distance is max over edges of the signed distance to the edge's line (exact
  inside and along edges); coverage = clip(0.5 - distance_in_pixels, 0, 1), or the
  hard inside test (distance <= 0) without anti-aliasing.
  """
  nxt = (tf.range(MAX_VERTICES)[None, :] + 1) % num_vertices[:, None]
  v1 = tf.gather(vertices, nxt, batch_dims=1)                          # [B, 8, 2]
  edge = v1 - vertices
  length = tf.maximum(tf.norm(edge, axis=-1), 1e-6)
  # Vertices are counter-clockwise in (x, y), so the outward normal is (ey, -ex).
  nx = edge[..., 1] / length
  ny = -edge[..., 0] / length
  off = nx * vertices[..., 0] + ny * vertices[..., 1]                   # [B, 8]
  valid = tf.range(MAX_VERTICES)[None, :] < num_vertices[:, None]
  nx = tf.where(valid, nx, 0.0)
  ny = tf.where(valid, ny, 0.0)
  off = tf.where(valid, off, 1e3)          # unused edges: never the maximum
  p = (tf.range(resolution, dtype=tf.float32) + 0.5) / resolution     # pixel centres
  # d[b, e, i, j] = n_e . (x_j, y_i) - off_e, separable in x and y.
  dx = nx[:, :, None] * p[None, None, :]                               # [B, 8, R]
  dy = ny[:, :, None] * p[None, None, :] - off[:, :, None]             # [B, 8, R]
  d = tf.reduce_max(dy[:, :, :, None] + dx[:, :, None, :], axis=1)    # [B, R, R]
  d = d * resolution
  if antialias:
    return tf.clip_by_value(0.5 - d, 0.0, 1.0)
  return tf.cast(d <= 0.0, tf.float32)


def render_polygons(seed, split_id, index, resolution, antialias=True):
  """(images [B, R, R, 3] float32 in [0, 1], labels [B] int32) of `index` [B].

  Results are bit-identical for an index whatever batch it is rendered in, as long
  as B <= render_batch_size(resolution) (the batch is padded to that size, so every
  kernel sees the same shapes; CPU kernels can round differently for different
  shapes). The pipelines render batches of that size.
  """
  images, params = render_with_params(seed, split_id, index, resolution,
                                      antialias)
  return images, params["label"]


def render_with_params(seed, split_id, index, resolution, antialias=True,
                       colours=None):
  """(images [B, R, R, 3], the polygon_params dict) of `index` [B]; padded to
  render_batch_size(resolution) as render_polygons."""
  index = tf.cast(index, tf.int64)
  size = tf.shape(index)[0]
  padded = tf.pad(index, [[0, tf.maximum(render_batch_size(resolution) - size, 0)]])
  images, params = _render(seed, split_id, padded, resolution, antialias, colours)
  return images[:size], {k: v[:size] for k, v in params.items()}


def _render(seed, split_id, index, resolution, antialias, colours=None):
  prm = polygon_params(seed, split_id, index, colours)
  cov = polygon_coverage(prm["vertices"], prm["num_vertices"], resolution,
                         antialias=antialias)                          # [B, R, R]
  p = (tf.range(resolution, dtype=tf.float32) + 0.5) / resolution - 0.5
  gd = prm["grad_dir"]
  t = gd[:, None, None, 0] * p[None, None, :] + gd[:, None, None, 1] * p[None, :, None]
  t = tf.clip_by_value(t + 0.5, 0.0, 1.0)                              # [B, R, R]
  # image = (1 - cov) * (bg0 + t * (bg1 - bg0)) + cov * fg, written as one batched
  # matmul [B, R*R, 4] x [B, 4, 3] (much faster than broadcasting over channels).
  bg0, fg = prm["bg0"], prm["fg"]
  d = prm["bg1"] - bg0
  feats = tf.stack([tf.ones_like(t), t, cov, cov * t], axis=-1)
  feats = tf.reshape(feats, [-1, resolution * resolution, 4])
  mix = tf.stack([bg0, d, fg - bg0, -d], axis=1)                      # [B, 4, 3]
  images = tf.reshape(tf.matmul(feats, mix), [-1, resolution, resolution, 3])
  return tf.clip_by_value(images, 0.0, 1.0), prm


class PolygonsDataset(label_files.UnnamedRecordLabels,
                      base.ImageDatasetSpec):
  """polygons_<resolution>: see the module docstring."""

  num_classes = NUM_CLASSES
  eval_test_samples = TEST_SIZE
  train_split = "train"
  eval_split = "test"

  def __init__(self, resolution, seed=547):
    super().__init__(seed=seed)
    if resolution not in RESOLUTIONS:
      raise ValueError("polygons: unsupported resolution %r, supported: %s" %
                       (resolution, RESOLUTIONS))
    self.resolution = resolution
    self.name = "polygons_%d" % resolution
    self.image_shape = (resolution, resolution, 3)
    self._tables = {}

  def split_size(self, split):
    kind = self.resolve_split(split)
    table = self._label_table(kind)
    if table is not None:
      return len(table)
    return TRAIN_SIZE if kind == base.TRAIN else TEST_SIZE

  def train_shapes(self, ids):
    """int64 [n]: the shape classes (vertices - 3) of train images `ids`, from
    their parameters (nothing rendered): the dataset's own labels."""
    ids = np.asarray(ids, np.int64)
    out = [polygon_params(self.seed, _SPLIT_IDS[base.TRAIN],
                          tf.constant(ids[i:i + 65536]))["label"].numpy()
           for i in range(0, len(ids), 65536)]
    return np.concatenate(out).astype(np.int64) if out else np.zeros([0], np.int64)

  def _choose_train_subset(self):
    if self._label_table(base.TRAIN) is not None:
      return super()._choose_train_subset()  # A finite split: the common rule.
    if self.train_fraction is not None:
      raise errors.ConfigError(
          f"{self.name}'s train split is {TRAIN_SIZE} generated images: a "
          "fraction of it is no limited data. Set dataset.num_train_examples "
          "(e.g. 4500) instead, or make the split finite with label files.")
    return subset_lib.choose_uniform_classes(
        self.name, TRAIN_SIZE, self.train_shapes, NUM_CLASSES,
        self.num_train_examples)

  def _subset_population(self):
    n = self.split_size(base.TRAIN)
    keys = np.arange(n, dtype=np.int64)
    return keys, self.train_shapes(keys)

  def _split_ids(self, kind, input_context):
    """This pipeline's image ids of split `kind` (a dataset)."""
    num, pid = base.pipeline_info(input_context)
    subset = self.train_subset() if kind == base.TRAIN else None
    if subset is not None:
      return tf.data.Dataset.from_tensor_slices(subset.keys[pid::num])
    ids = tf.data.Dataset.range(self.split_size(kind))
    return ids.shard(num, pid) if num > 1 else ids

  def render(self, split, index):
    """Images and labels of `index` (int or [B]) of `split`, as numpy arrays.

    The labels are the rendered shapes' classes (no label files or variants).
    """
    kind = self.resolve_split(split)
    idx = np.reshape(np.asarray(index, np.int64), [-1])
    images, labels = [], []
    batch = render_batch_size(self.resolution)
    for i in range(0, len(idx), batch):
      im, lb = render_polygons(self.seed, _SPLIT_IDS[kind],
                               tf.constant(idx[i:i + batch]), self.resolution)
      images.append(im.numpy())
      labels.append(lb.numpy())
    return np.concatenate(images), np.concatenate(labels)

  def _keep_fn(self, table):
    """ids [B] -> bool [B]: the train examples a labeled_only split keeps."""
    def keep(ids):
      labelled = self.is_labeled(ids)
      if table is not None:
        labelled &= tf.gather(table, ids) >= 0
      return labelled
    return keep

  def _rendered(self, indexed_ids, kind, seed):
    """(index, id) pairs -> (index, image, label) examples, rendered in batches."""
    res, split_id = self.resolution, _SPLIT_IDS[kind]
    table = self._label_table(kind)
    table = None if table is None else tf.constant(table)

    @tf.autograph.experimental.do_not_convert
    def render(indices, ids):
      images, labels = render_polygons(self.seed, split_id, ids, res)
      if table is not None and self.soft_labels:
        labels = tf.nn.softmax(tf.gather(table, ids))
      elif table is not None:
        labels = tf.cast(tf.gather(table, ids), tf.int32)
      return indices, ids, tf.ensure_shape(images, [None, res, res, 3]), labels

    @tf.autograph.experimental.do_not_convert
    def finish(index, key, image, label):
      label = self.final_label(label, key, kind, base.example_seed(seed, index))
      return (index,) + self._check_element(image, label)
    return indexed_ids.batch(render_batch_size(res)).map(
        render, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    ).unbatch().map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def load(self, split, input_context=None):
    kind = self.resolve_split(split)
    _, pid = base.pipeline_info(input_context)
    ids = self._split_ids(kind, input_context)
    ds = self._rendered(ids.enumerate(), kind, self.seed + pid)
    return ds.map(lambda index, image, label: (image, label))

  def train_examples(self, start_index=0, input_context=None):
    start_index = int(start_index)
    if start_index < 0:
      raise ValueError("start_index must be >= 0, got %d" % start_index)
    _, pid = base.pipeline_info(input_context)
    sample_seed = self.seed + pid
    size = self.split_size(base.TRAIN)
    table = self._label_table(base.TRAIN)
    subset = self.train_subset()
    if subset is not None:  # Epochs of this pipeline's share of the subset.
      num, _ = base.pipeline_info(input_context)
      keys = subset.keys[pid::num]
      if self.label_variant == "labeled_only":
        keys = keys[self._keep_fn(None if table is None else tf.constant(table))(
            tf.constant(keys)).numpy()]
      if not len(keys):
        raise base.DatasetNotAvailableError(
            f"{self.name}: this input pipeline's share of the training subset "
            "is empty (labeled fraction too small, or more pipelines than "
            "images).")
      return self._rendered(base.permuted_epochs(keys, start_index, sample_seed,
                                                 _SALT_EPOCH),
                            base.TRAIN, sample_seed)

    def pick(counters):
      u = _hash_keys(sample_seed, _SAMPLE_SPLIT_ID, counters)
      ids = tf.cast(tf.bitwise.right_shift(u, tf.constant(1, tf.uint32)), tf.int64)
      return ids % size                     # ids in [0, split size)
    if self.label_variant == "labeled_only":
      keep = self._keep_fn(None if table is None else tf.constant(table))

      def picked_labelled(counters):
        ids = pick(counters)
        return tf.boolean_mask(ids, keep(ids))
      ids = tf.data.Dataset.range(0, 2**62).batch(1024).map(
          picked_labelled).unbatch().skip(start_index)
    else:
      ids = tf.data.Dataset.range(start_index, 2**62).batch(1024).map(
          pick).unbatch()
    indexed = tf.data.Dataset.zip((tf.data.Dataset.range(start_index, 2**62), ids))
    return self._rendered(indexed, base.TRAIN, sample_seed)


def contact_sheet(images, columns=8):
  """Tiles images [N, H, W, C] in [0, 1] into one uint8 image."""
  images = np.asarray(images)
  n, h, w, c = images.shape
  rows = int(math.ceil(n / columns))
  sheet = np.ones((rows * (h + 2) + 2, columns * (w + 2) + 2, c), np.float32)
  for i in range(n):
    r, col = divmod(i, columns)
    sheet[2 + r * (h + 2):2 + r * (h + 2) + h,
          2 + col * (w + 2):2 + col * (w + 2) + w] = images[i]
  return (np.clip(sheet, 0, 1) * 255 + 0.5).astype(np.uint8)
