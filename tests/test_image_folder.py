"""dataset.name = "image_folder": folders the test writes, labelled and unlabelled."""

import os
import zlib

import gin
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2.datasets import image_folder
from compare_gan2.datasets.base import EVAL
from compare_gan2.datasets.base import TRAIN

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def _save(path, array, fmt=None):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path, format=fmt)


def _write_labelled(root, per_class=12):
  """Class sub-folders of solid-colour images of several sizes and formats."""
  for name, rgb in COLOURS.items():
    for i in range(per_class):
      h, w = 20 + i, 30 - i
      image = np.zeros((h, w, 3), np.uint8) + np.array(rgb, np.uint8)
      ext = ("png", "jpg", "bmp")[i % 3]
      _save(os.path.join(root, name, f"img{i:02d}.{ext}"), image)
    # A grayscale image: stored as RGB.
    _save(os.path.join(root, name, "gray.png"),
          np.full((16, 16), 128 if name == "red" else 7, np.uint8))


def _configure(path, prepared, resolution=16, **extra):
  gin.clear_config()
  lines = ['dataset.name = "image_folder"', f'image_folder.path = "{path}"',
           f"image_folder.resolution = {resolution}",
           f'image_folder.prepared_dir = "{prepared}"']
  lines += [f"image_folder.{k} = {v!r}" for k, v in extra.items()]
  gin.parse_config("\n".join(lines))


@pytest.fixture(autouse=True)
def _clear_gin():
  yield
  gin.clear_config()


def _all(ds):
  images, labels = [], []
  for image, label in ds:
    images.append(image.numpy())
    labels.append(int(label.numpy()))
  return np.stack(images), np.array(labels)


def test_labelled_folder(tmp_path):
  _write_labelled(tmp_path / "imgs")
  _configure(tmp_path / "imgs", tmp_path / "prepared")
  spec = datasets.get_dataset()
  assert spec.name == "image_folder" and spec.image_shape == (16, 16, 3)
  assert spec.num_classes == 3 and spec.layout["classes"] == sorted(COLOURS)
  layout = spec.layout
  # The eval split: crc32 of the relative path % 100 < 10, no image in both.
  for kind in (TRAIN, EVAL):
    for rel, label in layout["splits"][kind]:
      assert (zlib.crc32(rel.encode()) % 100 < 10) == (kind == EVAL)
      assert rel.startswith(label + "/")
  assert spec.eval_test_samples == len(layout["splits"][EVAL]) > 0
  n_eval = len(layout["splits"][EVAL])
  assert image_folder.describe_layout(tmp_path / "imgs", layout) == (
      f"Image folder {tmp_path / 'imgs'}: 39 images in 3 classes "
      f"({', '.join(sorted(COLOURS))}); {39 - n_eval} for training, {n_eval} for "
      "evaluation.")
  spec.check_available()
  images, labels = _all(spec.load(TRAIN))
  assert images.shape == (len(layout["splits"][TRAIN]), 16, 16, 3)
  assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
  # Records are in TFDS's (deterministic) order; record_names says which is which.
  files = [n.decode() for n in spec.record_names(TRAIN)]
  assert sorted(files) == sorted(rel for rel, _ in layout["splits"][TRAIN])
  for image, label, rel in zip(images, labels, files):
    name = sorted(COLOURS)[label]
    assert rel.startswith(name + "/")
    if "gray" in rel:
      value = (128 if name == "red" else 7) / 255.0
      np.testing.assert_allclose(image, value, atol=1e-6)
    else:  # Solid colours survive crop and resize (JPEG: up to its error).
      np.testing.assert_allclose(image, np.broadcast_to(
          np.array(COLOURS[name]) / 255.0, image.shape), atol=0.05)


def test_unlabelled_folder_with_split_dirs_and_centre_crop(tmp_path):
  rng = np.random.RandomState(0)
  arrays = {}
  for split, n in (("train", 5), ("test", 2)):
    for i in range(n):
      arrays[(split, i)] = rng.randint(0, 256, (24 + i, 40, 3)).astype(np.uint8)
      _save(str(tmp_path / "imgs" / split / f"{i}.png"), arrays[(split, i)])
  _configure(tmp_path / "imgs", tmp_path / "prepared", resolution=8)
  spec = datasets.get_dataset()
  assert spec.num_classes is None and spec.layout["classes"] is None
  assert spec.eval_test_samples == 2
  images, labels = _all(spec.load(EVAL))
  assert (labels == 0).all() and images.shape == (2, 8, 8, 3)
  names = [n.decode() for n in spec.record_names(EVAL)]
  assert sorted(names) == ["test/0.png", "test/1.png"]
  for name, image in zip(names, images):  # Direct: central square, resize.
    array = arrays[("test", int(name[5]))]
    h, w = array.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = array[top:top + side, left:left + side].astype(np.float32)
    expected = tf.compat.v1.image.resize(crop[None], [8, 8],
                                         align_corners=False)[0].numpy() / 255.0
    np.testing.assert_allclose(image, expected, atol=1e-5)


def test_deterministic_resumable_and_prepared_once(tmp_path):
  _write_labelled(tmp_path / "imgs", per_class=4)
  _configure(tmp_path / "imgs", tmp_path / "prepared")
  spec = datasets.get_dataset()

  def stream(start, n):
    return [(int(i), img.numpy(), int(l)) for i, img, l in
            spec.train_examples(start).take(n)]
  first = stream(0, 40)  # Several epochs of the 12-odd train images.
  again = stream(0, 40)
  resumed = stream(17, 23)
  assert [f[0] for f in first] == list(range(40))
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a[1], b[1])
  for a, b in zip(first[17:], resumed):
    assert a[0] == b[0] and a[2] == b[2]
    np.testing.assert_array_equal(a[1], b[1])
  prepared = spec.builder.data_dir
  stamp = os.path.getmtime(os.path.join(prepared, "dataset_info.json"))
  spec2 = datasets.get_dataset()
  assert spec2.builder.data_dir == prepared  # Same folder: prepared once.
  assert os.path.getmtime(os.path.join(prepared, "dataset_info.json")) == stamp
  _save(str(tmp_path / "imgs" / "red" / "new.png"), np.zeros((9, 9, 3), np.uint8))
  assert datasets.get_dataset().prepared_dir != spec.prepared_dir  # Changed.


def test_default_prepared_dir_is_under_the_tfds_data_dir(tmp_path):
  _write_labelled(tmp_path / "imgs", per_class=2)
  gin.parse_config('dataset.name = "image_folder"\n'
                   f'image_folder.path = "{tmp_path / "imgs"}"\n'
                   "image_folder.resolution = 8\n"
                   f'data_options.tfds_data_dir = "{tmp_path / "tfds"}"')
  spec = datasets.get_dataset()
  assert spec.prepared_dir.startswith(str(tmp_path / "tfds" / "image_folders" / "imgs_"))


def test_missing_empty_and_unreadable_folders(tmp_path):
  _configure(tmp_path / "nope", tmp_path / "p")
  with pytest.raises(datasets.DatasetNotAvailableError, match="does not exist"):
    datasets.get_dataset()
  (tmp_path / "empty").mkdir()
  _configure(tmp_path / "empty", tmp_path / "p")
  with pytest.raises(datasets.DatasetNotAvailableError, match="no images"):
    datasets.get_dataset()
  _write_labelled(tmp_path / "bad", per_class=2)
  (tmp_path / "bad" / "red" / "broken.png").write_bytes(b"not an image")
  _configure(tmp_path / "bad", tmp_path / "p")
  spec = datasets.get_dataset()
  with pytest.raises(datasets.DatasetNotAvailableError,
                     match=r"cannot be read as images: red/broken\.png") as caught:
    spec.check_available()
  assert " object at 0x" not in errors.one_line(caught.value)
  _save(str(tmp_path / "mixed" / "a.png"), np.zeros((4, 4, 3), np.uint8))
  _save(str(tmp_path / "mixed" / "cls" / "b.png"), np.zeros((4, 4, 3), np.uint8))
  _configure(tmp_path / "mixed", tmp_path / "p")
  with pytest.raises(datasets.DatasetNotAvailableError, match="both directly"):
    datasets.get_dataset()


def test_gin_errors():
  gin.parse_config('dataset.name = "image_folder"')
  with pytest.raises(errors.ConfigError, match="image_folder.path"):
    datasets.get_dataset()
  gin.parse_config('image_folder.path = "/x"')
  with pytest.raises(errors.ConfigError, match="image_folder.resolution"):
    datasets.get_dataset()


def test_read_image_keeps_rgb_png_bytes_and_converts_others(tmp_path):
  rng = np.random.RandomState(1)
  rgba = rng.randint(0, 256, (4, 5, 4)).astype(np.uint8)
  gray = rng.randint(0, 256, (4, 5)).astype(np.uint8)
  _save(str(tmp_path / "a.png"), rgba[..., :3])
  _save(str(tmp_path / "b.png"), rgba)
  _save(str(tmp_path / "c.png"), gray)
  _save(str(tmp_path / "d.bmp"), rgba[..., :3])
  # An RGB PNG: the file's own bytes, not re-encoded.
  assert image_folder.read_image(str(tmp_path / "a.png")) == (
      tmp_path / "a.png").read_bytes()
  # RGBA drops alpha (no blending); grayscale is repeated; BMP is decoded.
  converted = image_folder.read_image(str(tmp_path / "b.png"))
  assert converted.dtype == np.uint8
  np.testing.assert_array_equal(converted, rgba[..., :3])
  np.testing.assert_array_equal(image_folder.read_image(str(tmp_path / "c.png")),
                                np.repeat(gray[..., None], 3, axis=-1))
  np.testing.assert_array_equal(image_folder.read_image(str(tmp_path / "d.bmp")),
                                rgba[..., :3])


def test_trains_a_gan_on_a_folder(tmp_path):
  """Two training steps of a conditional GAN on a labelled folder, via the CLI."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  _write_labelled(tmp_path / "imgs", per_class=3)
  bindings = ['dataset.name = "image_folder"',
              f'image_folder.path = "{tmp_path / "imgs"}"',
              "image_folder.resolution = 32",
              f'image_folder.prepared_dir = "{tmp_path / "prepared"}"',
              "options.training_steps = 2", "options.batch_size = 4",
              "ModularGAN.conditional = True",
              "resnet_biggan.Discriminator.project_y = True"]
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.main", f"--model_dir={tmp_path / 'run'}",
       "--gin_config=experiments/gan_landscape/base.gin"] +
      [f"--gin_bindings={b}" for b in bindings],
      cwd=root, capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.exists(tmp_path / "run" / "model.ckpt-2.index")


def test_captioned_folder_yields_token_ids(tmp_path):
  _write_labelled(tmp_path / "imgs", per_class=3)
  files = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "imgs")
                 for d, _, fs in os.walk(tmp_path / "imgs") for f in fs)
  captions = {rel: f"a {rel.split(os.sep)[0]} square, picture {i % 2}"
              for i, rel in enumerate(files)}
  path = tmp_path / "captions.tsv"
  path.write_text("".join(f"{rel}\t{text}\n" for rel, text in captions.items()))
  _configure(tmp_path / "imgs", tmp_path / "prepared", captions=str(path),
             caption_length=8)
  spec = datasets.get_dataset("image_folder")
  assert spec.num_classes is None and spec.caption_length == 8
  # Most frequent words first, ties alphabetical.
  assert spec.tokenizer.words[:3] == ["a", "picture", "square"]
  assert spec.tokenizer.decode(spec.tokenizer.encode(["A red square, picture 1"])[0]) == (
      "a red square picture 1")
  seen = []
  for split in ("test", "train"):
    names = [n.decode() for n in spec.record_names(split)]
    elements = list(spec.load(split).as_numpy_iterator())
    assert len(elements) == len(names)
    for name, (image, tokens) in zip(names, elements):
      # Each image with its own caption's words (lower case, no punctuation).
      assert tokens.shape == (8,) and tokens.dtype == np.int32
      assert spec.tokenizer.decode(tokens) == captions[name].lower().replace(",", "")
      if "gray" not in name:  # Its colour is the class folder the caption names.
        np.testing.assert_allclose(
            image[0, 0], np.array(COLOURS[name.split("/")[0]]) / 255.0, atol=0.05)
    seen += names
  assert sorted(seen) == files


def test_captions_file_errors_name_the_images(tmp_path):
  _write_labelled(tmp_path / "imgs", per_class=2)
  path = tmp_path / "captions.tsv"
  path.write_text("red/img00.png\ta red one\nnot/there.png\tghost\nno tab here\n")
  _configure(tmp_path / "imgs", tmp_path / "prepared", captions=str(path))
  with pytest.raises(datasets.DatasetNotAvailableError) as e:
    datasets.get_dataset("image_folder")
  message = str(e.value)
  assert "line 3" in message and "without a caption" in message
  assert "blue/img00.png" in message and "not/there.png" in message
  _configure(tmp_path / "imgs", tmp_path / "prepared",
             captions=str(tmp_path / "missing.tsv"))
  with pytest.raises(errors.ConfigError, match="no such file"):
    datasets.get_dataset("image_folder")
