"""The embedded `captioned_polygons_{32,64}` datasets: polygons with captions.

The polygons of polygons.py (same geometry, same counter-based hashing: image
`index` of a split is a pure function of `(seed, split, index)`), with colours
from a named palette and a caption generated from the image's attributes:

- shape: the vertex count, "triangle" ... "octagon" or "polygon with three
  sides" ... (the class label of polygons_*, 0..5);
- fill colour: one of FILLS (red, orange, yellow, green, blue, purple), a
  little jitter per channel;
- background colour: one of BACKGROUNDS (white, black, gray), with a soft
  brightness gradient;
- size: "small" / "large" (polygon radius below / above 0.32 of the image);
- position: "on the left" / "in the centre" / "on the right" (centre x).

Four phrasings (TEMPLATES), one picked per image by its hash. The caption is a
deterministic function of the attributes (`caption`); the pipelines build it
with TensorFlow string ops from the same templates and tokenise it in the graph
(text/tokenizer.py; vocabulary: VOCABULARY, length CAPTION_LENGTH).

Compositional zero-shot: the (shape, fill) pairs of HELD_OUT (a red triangle,
a yellow quadrilateral, ...: one colour per shape, one shape per colour) never
occur in the train split, whose fill is drawn uniformly from the 5 other
colours; the test split draws all 6 (its shapes cycle with the index, as in
polygons_*), and `prompts` lists the seen and held-out prompts of evaluation.

Elements are (image [R, R, 3] in [0, 1], caption ids int32 [CAPTION_LENGTH]).
`captioned_polygons_shapes_{32,64}` are the same images with their vertex-count
class (int32, 0..5) as the label, and all 36 (shape, fill) pairs in both
splits: the offline classifier that measures the vertex count of a
text-to-image GAN's samples trains on them. (Trained without the held-out
pairs, it learned colour as a cue for shape: 0.58 accuracy on real images of
held-out pairs, 0.99 on seen ones.)
"""

import string

import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.datasets import base
from compare_gan2.datasets import polygons
from compare_gan2.text import tokenizer as tokenizer_lib

RESOLUTIONS = (32, 64)
CAPTION_LENGTH = 16

SHAPES = ("triangle", "quadrilateral", "pentagon", "hexagon", "heptagon",
          "octagon")
SIDES = ("three", "four", "five", "six", "seven", "eight")
FILLS = ("red", "orange", "yellow", "green", "blue", "purple")
FILL_RGB = ((0.86, 0.12, 0.10), (0.98, 0.55, 0.05), (0.95, 0.88, 0.12),
            (0.12, 0.62, 0.18), (0.12, 0.28, 0.90), (0.55, 0.10, 0.80))
BACKGROUNDS = ("white", "black", "gray")
BACKGROUND_RGB = ((0.94, 0.94, 0.94), (0.07, 0.07, 0.07), (0.50, 0.50, 0.50))
SIZES = ("small", "large")
SIZE_THRESHOLD = 0.32          # polygon radius, in image units (0.24..0.40)
POSITIONS = ("on the left", "in the centre", "on the right")
POSITION_THRESHOLDS = (0.42, 0.58)  # centre x
TEMPLATES = (
    "a {size} {fill} {shape} on a {background} background",
    "a {fill} {shape} {position}, {background} background",
    "{background} background with a {size} {fill} polygon with {sides} sides",
    "a {shape} in {fill} on {background}, {position}",
)
# Held-out (shape, fill) pairs: shape label -> fill index (a permutation).
HELD_OUT = {0: 0, 1: 2, 2: 4, 3: 1, 4: 3, 5: 5}

_FIELDS = ("size", "fill", "shape", "background", "position", "sides")
_U = polygons  # The slots of polygon_params' uniforms this module reuses.


def vocabulary():
  """Every word a caption can contain, in a fixed order."""
  words = []
  for text in TEMPLATES + SHAPES + SIDES + FILLS + BACKGROUNDS + SIZES + POSITIONS:
    for word in tokenizer_lib.split_words(string.Formatter().vformat(
        text, (), {f: "" for f in _FIELDS})):
      if word not in words:
        words.append(word)
  return tuple(words)


VOCABULARY = vocabulary()


def make_tokenizer():
  return tokenizer_lib.Tokenizer(VOCABULARY, CAPTION_LENGTH)


def is_held_out(shape, fill):
  """Whether the (shape label, fill index) pair is held out of training."""
  return HELD_OUT[int(shape)] == int(fill)


def caption(shape, fill, background, size, position, phrasing):
  """The caption of an image with these attribute indices (Python)."""
  return TEMPLATES[phrasing].format(**_words(shape, fill, background, size,
                                             position))


def _words(shape, fill, background, size, position):
  return {"shape": SHAPES[shape], "sides": SIDES[shape], "fill": FILLS[fill],
          "background": BACKGROUNDS[background], "size": SIZES[size],
          "position": POSITIONS[position]}


def tf_captions(attributes):
  """The captions (string [B]) of an attributes dict of int32 [B] tensors,
  built with TensorFlow ops from TEMPLATES; equal to `caption`."""
  words = {
      "shape": tf.gather(SHAPES, attributes["shape"]),
      "sides": tf.gather(SIDES, attributes["shape"]),
      "fill": tf.gather(FILLS, attributes["fill"]),
      "background": tf.gather(BACKGROUNDS, attributes["background"]),
      "size": tf.gather(SIZES, attributes["size"]),
      "position": tf.gather(POSITIONS, attributes["position"]),
  }
  batch = tf.shape(attributes["shape"])[0]
  filled = []
  for template in TEMPLATES:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
      if literal:
        parts.append(tf.fill([batch], literal))
      if field is not None:
        parts.append(words[field])
    filled.append(tf.strings.join(parts))
  return tf.gather(tf.stack(filled, axis=1), attributes["phrasing"], batch_dims=1)


def palette_colours(train):
  """polygon_params' `colours` hook: palette fill and background; on the train
  split (`train`), the held-out fill of each shape is never drawn."""
  held = tf.constant([HELD_OUT[k] for k in range(len(SHAPES))], tf.int32)

  def colours(u, label):
    if train:  # Uniform over the 5 allowed fills.
      fill = tf.minimum(tf.cast(u[:, _U._U_FG] * 5, tf.int32), 4)
      fill += tf.cast(fill >= tf.gather(held, label), tf.int32)
    else:
      fill = tf.minimum(tf.cast(u[:, _U._U_FG] * 6, tf.int32), 5)
    background = tf.minimum(tf.cast(u[:, _U._U_BG0] * 3, tf.int32), 2)
    jitter = 0.08 * (u[:, _U._U_BG1:_U._U_BG1 + 3] - 0.5)
    fg = tf.clip_by_value(tf.gather(FILL_RGB, fill) + jitter, 0.0, 1.0)
    bg0 = tf.gather(BACKGROUND_RGB, background)
    bg1 = tf.clip_by_value(bg0 + 0.12 * (u[:, _U._U_BG0 + 1:_U._U_BG0 + 2] - 0.5),
                           0.0, 1.0)
    phrasing = tf.minimum(tf.cast(u[:, _U._U_DARK] * len(TEMPLATES), tf.int32),
                          len(TEMPLATES) - 1)
    return {"fg": tf.cast(fg, tf.float32), "bg0": tf.cast(bg0, tf.float32),
            "bg1": tf.cast(bg1, tf.float32), "fill": fill,
            "background": background, "phrasing": phrasing}
  return colours


def attributes_of(params):
  """The caption attributes (int32 [B] each) of polygon_params' dict."""
  low, high = POSITION_THRESHOLDS
  cx = params["cx"]
  position = tf.where(cx < low, 0, tf.where(cx > high, 2, 1))
  return {"shape": params["label"], "fill": params["fill"],
          "background": params["background"],
          "size": tf.cast(params["radius"] >= SIZE_THRESHOLD, tf.int32),
          "position": tf.cast(position, tf.int32),
          "phrasing": params["phrasing"]}


def prompts():
  """{"seen": [...], "held_out": [...]}: one prompt per (shape, fill) pair,
  "a {fill} {shape} on a white background" wording (phrasing 0, large,
  white), with its (shape, fill) indices: [(prompt, shape, fill), ...]."""
  out = {"seen": [], "held_out": []}
  for shape in range(len(SHAPES)):
    for fill in range(len(FILLS)):
      text = caption(shape, fill, 0, 1, 1, 0)
      out["held_out" if is_held_out(shape, fill) else "seen"].append(
          (text, shape, fill))
  return out


class CaptionedPolygonsDataset(polygons.PolygonsDataset):
  """captioned_polygons_<resolution>: see the module docstring."""

  def __init__(self, resolution, seed=547, labels="captions"):
    if resolution not in RESOLUTIONS:
      raise ValueError(f"captioned_polygons: unsupported resolution "
                       f"{resolution!r}, supported: {RESOLUTIONS}")
    if labels not in ("captions", "shapes"):
      raise ValueError(f"captioned_polygons: labels must be 'captions' or "
                       f"'shapes', got {labels!r}.")
    super().__init__(resolution, seed=seed)
    self.labels = labels
    self.tokenizer = make_tokenizer()
    if labels == "captions":   # The label slot holds the caption's token ids.
      self.name = f"captioned_polygons_{resolution}"
      self.num_classes, self.caption_length = None, CAPTION_LENGTH
    else:
      self.name = f"captioned_polygons_shapes_{resolution}"
      self.num_classes, self.caption_length = len(SHAPES), None

  def _render_batch(self, ids, kind):
    """(images, attributes dict) of image ids [B] of split `kind`."""
    images, params = polygons.render_with_params(
        self.seed, polygons._SPLIT_IDS[kind], ids, self.resolution,  # pylint: disable=protected-access
        colours=palette_colours(kind == base.TRAIN and
                                self.labels == "captions"))
    return images, attributes_of(params)

  def render(self, split, index):
    """(images, captions list of str, attributes dict of NumPy int32 arrays)."""
    kind = self.resolve_split(split)
    idx = np.reshape(np.asarray(index, np.int64), [-1])
    images, attrs = [], []
    batch = polygons.render_batch_size(self.resolution)
    for i in range(0, len(idx), batch):
      im, at = self._render_batch(tf.constant(idx[i:i + batch]), kind)
      images.append(im.numpy())
      attrs.append({k: v.numpy() for k, v in at.items()})
    attributes = {k: np.concatenate([a[k] for a in attrs]) for k in attrs[0]}
    captions = [caption(*(int(attributes[f][j]) for f in (
        "shape", "fill", "background", "size", "position", "phrasing")))
                for j in range(len(idx))]
    return np.concatenate(images), captions, attributes

  def _check_element(self, image, label):
    if self.labels == "shapes":
      return super()._check_element(image, label)
    image = tf.ensure_shape(tf.cast(image, tf.float32), self.image_shape)
    return image, tf.ensure_shape(tf.cast(label, tf.int32), [CAPTION_LENGTH])

  def set_labels(self, labeled_fraction=None, label_variant=None,
                 labels_are_classes=True):
    del labels_are_classes
    if labeled_fraction is not None or label_variant is not None:
      raise errors.ConfigError(
          f"{self.name} is captioned: no labeled_fraction or label variant "
          "(use polygons_* for the fewer-labels experiments).")
    return self

  def _rendered(self, indexed_ids, kind, seed):
    """(index, id) pairs -> (index, image, caption ids), rendered in batches."""
    del seed
    table = self.tokenizer.tf_table()

    @tf.autograph.experimental.do_not_convert
    def render(indices, ids):
      images, attributes = self._render_batch(ids, kind)
      if self.labels == "shapes":
        tokens = attributes["shape"]
      else:
        tokens = self.tokenizer.tf_encode(tf_captions(attributes), table)
      images = tf.ensure_shape(images, [None, self.resolution,
                                        self.resolution, 3])
      return indices, images, tokens

    @tf.autograph.experimental.do_not_convert
    def finish(index, image, tokens):
      return (index,) + self._check_element(image, tokens)
    return indexed_ids.batch(polygons.render_batch_size(self.resolution)).map(
        render, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    ).unbatch().map(finish, num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True)
