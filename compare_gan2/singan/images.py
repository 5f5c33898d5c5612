"""The one picture a single-image GAN trains on: a file, or a photograph shipped
in scikit-image's wheel (`skimage:NAME`, e.g. `skimage:rocket`)."""

import importlib.util
import os

import numpy as np
from PIL import Image

from compare_gan2 import errors

SKIMAGE_PREFIX = "skimage:"


def skimage_photo_path(name):
  """Path of scikit-image's bundled photograph `name` (chelsea, coffee, rocket,
  astronaut, ...), read from the installed package (nothing is downloaded)."""
  spec = importlib.util.find_spec("skimage")
  if spec is None or not spec.submodule_search_locations:
    raise errors.ConfigError(
        f"--image={SKIMAGE_PREFIX}{name} needs scikit-image (pip install "
        "scikit-image), whose wheel ships the photographs.")
  data = os.path.join(list(spec.submodule_search_locations)[0], "data")
  names = sorted(os.listdir(data)) if os.path.isdir(data) else []
  for candidate in names:
    stem, ext = os.path.splitext(candidate)
    if stem == name and ext.lower() in (".png", ".jpg", ".jpeg"):
      return os.path.join(data, candidate)
  photos = sorted({os.path.splitext(n)[0] for n in names
                   if n.lower().endswith((".png", ".jpg", ".jpeg"))})
  raise errors.ConfigError(f"scikit-image ships no picture {name!r}; it has: "
                           f"{', '.join(photos)}.")


def resolve(spec):
  """The file path of an --image value (a path or skimage:NAME)."""
  if spec.startswith(SKIMAGE_PREFIX):
    return skimage_photo_path(spec[len(SKIMAGE_PREFIX):])
  return spec


def load_image(spec):
  """[H, W, 3] float32 in [-1, 1] (x / 127.5 - 1), RGB; alpha is dropped and
  grey images are repeated over three channels.

  Raises:
    errors.ConfigError: a missing file, or one that is not an image.
  """
  path = resolve(spec)
  if not os.path.isfile(path):
    raise errors.ConfigError(f"--image={spec}: no such file. Give a PNG or JPEG "
                             "file, or skimage:NAME for a bundled photograph.")
  try:
    with Image.open(path) as image:
      image = image.convert("RGB")
      pixels = np.asarray(image, np.float32)
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise errors.ConfigError(
        f"--image={spec}: not an image file Pillow can read ({type(e).__name__})."
        " Give a PNG or JPEG file.") from None
  return pixels / 127.5 - 1.0


def to_uint8(images):
  """[..., H, W, 3] in [-1, 1] -> uint8 (rounded)."""
  return np.clip((np.asarray(images) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
