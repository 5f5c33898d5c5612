"""Sample, truncate and interpolate with an exported compare_gan2 TF Hub module.

The script version of examples/hub_sampling.ipynb (same code, generated from the
same cells):

  python examples/hub_sampling.py MODULE_DIR [OUTPUT_DIR]

writes samples.png, truncation.png and interpolation.png to OUTPUT_DIR (default:
the current directory). See docs/hub_export.md.
"""
# pylint: disable=g-import-not-at-top,invalid-name

import os
import sys

if __name__ == "__main__" and len(sys.argv) > 1:
  os.environ["MODULE_PATH"] = sys.argv[1]
  if len(sys.argv) > 2:
    os.environ["OUTPUT_DIR"] = sys.argv[2]

import os

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
from PIL import Image

MODULE_PATH = os.environ.get("MODULE_PATH", "runs/demo_polygons32/tfhub/15000")
OUTPUT_DIR = os.environ.get("OUTPUT_DIR", ".")

module = hub.load(MODULE_PATH)
generator = module.signatures["default"]
input_specs = generator.structured_input_signature[1]
z_dim = input_specs["z"].shape[1]
num_classes = input_specs["y"].shape[1]
print("inputs:", {k: (v.dtype.name, v.shape.as_list()) for k, v in input_specs.items()})
print("output:", generator.structured_outputs["default"].shape)

def truncated_z_sample(batch_size, truncation, seed=None):
  """z = truncation * truncnorm(-2, 2), as in the BigGAN notebooks."""
  rng = np.random.default_rng(seed)
  values = rng.standard_normal((batch_size, z_dim))
  outside = np.abs(values) > 2
  while outside.any():
    values[outside] = rng.standard_normal(outside.sum())
    outside = np.abs(values) > 2
  return (truncation * values).astype(np.float32)


def one_hot(labels):
  return np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]


def sample(z, y, truncation, batch_size=8):
  """Runs the module in batches of 8 (the last one smaller); images in [-1, 1]."""
  images = []
  for start in range(0, len(z), batch_size):
    stop = start + batch_size
    out = generator(z=tf.constant(z[start:stop]), y=tf.constant(y[start:stop]),
                    truncation=tf.constant(truncation, tf.float32))
    images.append(out["default"].numpy())
  return np.concatenate(images, axis=0)


def show(images, columns, filename, scale=3):
  """Saves (and, in a notebook, displays) a grid of [-1, 1] images."""
  images = np.uint8(np.clip((images + 1) / 2 * 256, 0, 255))
  n, h, w, c = images.shape
  rows = -(-n // columns)
  grid = np.zeros((rows * h, columns * w, c), np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
  picture = Image.fromarray(grid).resize((columns * w * scale, rows * h * scale),
                                         Image.NEAREST)
  path = os.path.join(OUTPUT_DIR, filename)
  picture.save(path)
  print("wrote", path)
  try:
    from IPython import get_ipython
    from IPython.display import display
    if get_ipython() is not None:
      display(picture)
  except ImportError:
    pass

classes = list(range(min(num_classes, 6)))
per_class = 8
truncation = 0.5
labels = np.repeat(classes, per_class)
z = truncated_z_sample(len(labels), truncation, seed=0)
show(sample(z, one_hot(labels), truncation), per_class, "samples.png")

truncations = [0.1, 0.3, 0.5, 0.7, 1.0]
columns = 8
base = truncated_z_sample(columns, 1.0, seed=1)
label = one_hot([classes[-1]] * columns)
rows = [sample(t * base, label, t) for t in truncations]
show(np.concatenate(rows, axis=0), columns, "truncation.png")

num_steps = 8
truncation = 0.5
pairs = []
for row, (class_a, class_b) in enumerate([(classes[0], classes[-1]), (classes[1 % len(classes)], classes[0])]):
  z_a, z_b = truncated_z_sample(2, truncation, seed=10 + row)
  y_a, y_b = one_hot([class_a, class_b])
  alphas = np.linspace(0, 1, num_steps, dtype=np.float32)[:, None]
  z = (1 - alphas) * z_a + alphas * z_b
  y = (1 - alphas) * y_a + alphas * y_b
  pairs.append(sample(z, y, truncation))
show(np.concatenate(pairs, axis=0), num_steps, "interpolation.png")
