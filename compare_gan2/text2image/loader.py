"""A trained text-to-image model back from its model directory.

`load_model(model_dir)` rebuilds the TextToImageGAN from the directory's
`operative_config.gin` (every setting it was trained with) and
`t2i_config.json` (the absolute paths of its text–image pair and of the pair's
checkpoint it was trained with), and restores
the latest (or the given) checkpoint.
"""

from __future__ import annotations

import json
import os
import typing

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.training import checkpoints

if typing.TYPE_CHECKING:
  from compare_gan2.text2image import gan as gan_lib

CONFIG_FILE = "t2i_config.json"


def read_config(model_dir: str) -> dict[str, typing.Any]:
  path = os.path.join(model_dir, CONFIG_FILE)
  if not tf.io.gfile.exists(path):
    raise errors.ConfigError(
        f"{model_dir!r} is not a text-to-image model directory (no {CONFIG_FILE}"
        "); train one with python -m compare_gan2.text2image.")
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def load_model(model_dir: str, checkpoint: str | None = None
               ) -> tuple[gan_lib.TextToImageGAN, str]:
  """(TextToImageGAN restored from `checkpoint` or the latest, its path)."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import datasets
  from compare_gan2.text2image import gan
  # pylint: enable=g-import-not-at-top
  config = read_config(model_dir)
  path = checkpoint or checkpoints.latest_checkpoint(model_dir, required=True)
  gin.clear_config()
  try:
    gin_setup.parse([os.path.join(model_dir, "operative_config.gin")],
                    [f"text_to_image_gan.clip_dir = {config['clip_dir']!r}",
                     "text_to_image_gan.clip_checkpoint = "
                     f"{config['clip_checkpoint']!r}"],
                    finalize=False)
    model = gan.TextToImageGAN(dataset=datasets.get_dataset())
  finally:
    gin.clear_config()
  checkpoints.restore_gan(model, path)
  return model, path
