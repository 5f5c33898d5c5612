"""Image grids for TensorBoard and PNG files."""

import io
import math

import numpy as np
from PIL import Image
import tensorflow as tf

from compare_gan2 import model_dir as model_dir_lib


def image_grid(images, columns=None):
  """Tiles [N, H, W, C] images in [0, 1] into one [rows*H, columns*W, C] array.

  The default is a square-ish grid (8x8 for 64 images, as compare_gan's summaries).
  """
  images = np.asarray(images)
  n, h, w, c = images.shape
  columns = columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / columns))
  grid = np.ones((rows * h, columns * w, c), images.dtype)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
  return grid


def save_png(images, path, columns=None):
  """Writes a grid of [N, H, W, C] images in [0, 1] to a PNG file."""
  grid = np.clip(image_grid(images, columns) * 255.0 + 0.5, 0, 255).astype(np.uint8)
  if grid.shape[-1] == 1:
    grid = grid[..., 0]
  png = io.BytesIO()
  Image.fromarray(grid).save(png, format="PNG")
  model_dir_lib.atomic_write_bytes(path, png.getvalue())


def write_image_grid(name, images, step, columns=None):
  """Writes an image grid summary to the default summary writer."""
  grid = image_grid(np.asarray(images), columns)
  tf.summary.image(name, grid[None], step=step)
