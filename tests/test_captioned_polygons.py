"""captioned_polygons_* and the tokenizer (issue 23's captioned data)."""

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2.datasets import captioned_polygons as cp
from compare_gan2.text import tokenizer as tokenizer_lib

FIELDS = ("shape", "fill", "background", "size", "position", "phrasing")


@pytest.fixture(scope="module")
def dataset():
  return datasets.get_dataset("captioned_polygons_32")


@pytest.fixture(scope="module")
def train_render(dataset):
  return dataset.render("train", range(3000))


def test_captions_are_a_function_of_the_attributes(dataset, train_render):
  images, captions, attributes = train_render
  again_images, again_captions, _ = dataset.render("train", range(3000))
  np.testing.assert_array_equal(images, again_images)
  assert captions == again_captions
  # The graph builds the same strings from the same templates.
  graph = cp.tf_captions({k: tf.constant(v) for k, v in attributes.items()})
  assert [c.decode() for c in graph.numpy()] == captions
  # Equal attributes, equal caption; every phrasing and attribute value occurs.
  by_attributes = {}
  for j, caption in enumerate(captions):
    key = tuple(int(attributes[f][j]) for f in FIELDS)
    assert by_attributes.setdefault(key, caption) == caption
  for field, words in (("shape", cp.SHAPES), ("background", cp.BACKGROUNDS),
                       ("size", cp.SIZES), ("position", cp.POSITIONS),
                       ("phrasing", cp.TEMPLATES)):
    assert set(attributes[field]) == set(range(len(words))), field
  assert cp.caption(0, 0, 0, 1, 1, 0) == "a large red triangle on a white background"
  assert cp.caption(4, 3, 2, 0, 2, 2) == (
      "gray background with a small green polygon with seven sides")


def test_the_attributes_are_what_the_image_shows(train_render):
  images, _, attributes = train_render
  params = [dict(zip(FIELDS, (int(attributes[f][j]) for f in FIELDS)))
            for j in range(200)]
  for image, p in zip(images, params):
    corner = image[0, 0]
    assert np.abs(corner - cp.BACKGROUND_RGB[p["background"]]).max() < 0.07
    # The most common non-background colour is the fill (+- jitter 0.04).
    far = np.abs(image - corner).max(-1) > 0.2
    fill = np.median(image[far], axis=0)
    assert np.abs(fill - cp.FILL_RGB[p["fill"]]).max() < 0.05
  # Vertex counts are polygons_*' labels: the same geometry.
  from compare_gan2.datasets import polygons  # pylint: disable=g-import-not-at-top
  _, labels = polygons.render_polygons(547, 1, tf.range(200, dtype=tf.int64), 32)
  np.testing.assert_array_equal(labels.numpy(), attributes["shape"][:200])


def test_held_out_pairs_never_in_train_and_all_in_test(dataset, train_render):
  _, captions, attributes = train_render
  pairs = set(zip(attributes["shape"].tolist(), attributes["fill"].tolist()))
  held = set(cp.HELD_OUT.items())
  assert not pairs & held
  assert len(pairs) == 30                      # every other pair occurs
  for text, _, _ in cp.prompts()["held_out"]:
    assert text not in captions
  _, _, test_attributes = dataset.render("test", range(600))
  test_pairs = set(zip(test_attributes["shape"].tolist(),
                       test_attributes["fill"].tolist()))
  assert held <= test_pairs and len(test_pairs) == 36
  prompts = cp.prompts()
  assert len(prompts["seen"]) == 30 and len(prompts["held_out"]) == 6
  assert all(cp.is_held_out(s, f) for _, s, f in prompts["held_out"])


def test_pipeline_yields_the_tokenised_captions(dataset):
  images, captions, _ = dataset.render("test", range(70))
  loaded = list(dataset.load("test").take(70).as_numpy_iterator())
  np.testing.assert_array_equal(np.stack([x[0] for x in loaded]), images)
  tokens = np.stack([x[1] for x in loaded])
  assert tokens.shape == (70, cp.CAPTION_LENGTH) and tokens.dtype == np.int32
  np.testing.assert_array_equal(tokens, dataset.tokenizer.encode(captions))
  assert [dataset.tokenizer.decode(t) for t in tokens] == [
      " ".join(tokenizer_lib.split_words(c)) for c in captions]
  # Resumable: train_examples(k) continues train_examples(0).
  first = list(dataset.train_examples().take(40).as_numpy_iterator())
  later = list(dataset.train_examples(30).take(10).as_numpy_iterator())
  for a, b in zip(first[30:], later):
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


def test_captioned_datasets_have_no_class_label_variants():
  with pytest.raises(errors.ConfigError, match="captioned"):
    datasets.get_dataset("captioned_polygons_32", labeled_fraction=0.1)
  with pytest.raises(ValueError, match="supported"):
    cp.CaptionedPolygonsDataset(128)


def test_tokenizer_graph_equals_python():
  tok = tokenizer_lib.Tokenizer(["a", "red", "triangle", "on", "blue", "x9"], 6)
  captions = ["A red triangle, on BLUE!", "", "   ", "zebra red", "a " * 10,
              "red\ttriangle\nx9", "Ünïcode red", "a-red_triangle"]
  expected = np.array([[3, 4, 5, 6, 7, 1], [1, 0, 0, 0, 0, 0],
                       [1, 0, 0, 0, 0, 0], [2, 4, 1, 0, 0, 0],
                       [3, 3, 3, 3, 3, 1], [4, 5, 8, 1, 0, 0],
                       [2, 2, 4, 1, 0, 0], [3, 4, 5, 1, 0, 0]], np.int32)
  np.testing.assert_array_equal(tok.encode(captions), expected)
  np.testing.assert_array_equal(tok.tf_encode(tf.constant(captions)).numpy(),
                                expected)
  # In a traced function (as in an exported graph), same ids.
  fn = tf.function(lambda s: tok.tf_encode(s, table))
  table = tok.tf_table()
  np.testing.assert_array_equal(fn(tf.constant(captions)).numpy(), expected)
  assert tok.decode(expected[0]) == "a red triangle on blue"
  decoded = [tok.decode(row) for row in expected]
  assert decoded[3] == "<unk> red"
  assert [s.decode() for s in tok.tf_decode(expected).numpy()] == decoded
  assert tok.vocab_size == 9


@pytest.mark.parametrize("words,length,match", [
    (["a", "a"], 4, "repeated"), (["Red"], 4, "single lower-case"),
    (["two words"], 4, "single lower-case"), (["a"], 1, "length")])
def test_tokenizer_rejects_bad_vocabularies(words, length, match):
  with pytest.raises(ValueError, match=match):
    tokenizer_lib.Tokenizer(words, length)


def test_the_shapes_variant_has_every_pair_in_train():
  shapes = datasets.get_dataset("captioned_polygons_shapes_32")
  assert shapes.num_classes == 6 and shapes.caption_length is None
  images, _, attributes = shapes.render("train", range(600))
  pairs = set(zip(attributes["shape"].tolist(), attributes["fill"].tolist()))
  assert len(pairs) == 36
  labels = [int(x[1]) for x in shapes.load("train").take(50).as_numpy_iterator()]
  np.testing.assert_array_equal(labels, attributes["shape"][:50])
  assert images.shape == (600, 32, 32, 3)
