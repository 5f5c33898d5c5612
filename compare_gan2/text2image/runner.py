"""Training of a text-to-image GAN, the work of `python -m
compare_gan2.text2image` (see its docstring)."""

from __future__ import annotations

import os
import typing

from compare_gan2.text2image.loader import CONFIG_FILE

if typing.TYPE_CHECKING:
  from compare_gan2.text2image import gan as gan_lib


def build_model(model_dir: str) -> gan_lib.TextToImageGAN:
  """The gin-configured TextToImageGAN on gin `dataset.name`; resuming in
  `model_dir`, with the pair's checkpoint its first start recorded."""
  # pylint: disable=g-import-not-at-top
  import json
  from compare_gan2 import datasets
  from compare_gan2 import errors
  from compare_gan2.text2image import gan
  # pylint: enable=g-import-not-at-top
  kwargs: dict[str, typing.Any] = {}
  path = os.path.join(model_dir, CONFIG_FILE)
  if os.path.exists(path):
    with open(path) as f:
      recorded = json.load(f)
    import gin  # pylint: disable=g-import-not-at-top
    try:
      clip_dir = os.path.abspath(
          gin.query_parameter("text_to_image_gan.clip_dir"))
    except ValueError:  # Not bound: TextToImageGAN says so.
      clip_dir = recorded["clip_dir"]
    if clip_dir != recorded["clip_dir"]:
      raise errors.ConfigError(
          f"{model_dir} was trained against the pair {recorded['clip_dir']}, "
          f"not {clip_dir}; resume with text_to_image_gan.clip_dir = "
          f"'{recorded['clip_dir']}' or use another --model_dir.")
    kwargs["clip_checkpoint"] = recorded["clip_checkpoint"]
  return gan.TextToImageGAN(dataset=datasets.get_dataset(), **kwargs)


def train(model_dir: str) -> gan_lib.TextToImageGAN:
  """Trains (or resumes) the model of the parsed gin config; returns it."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder
  from compare_gan2 import strategy as strategy_lib
  from compare_gan2.training import trainer as trainer_lib
  # pylint: enable=g-import-not-at-top
  run_config = builder.get_run_config()
  builder.set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(None, None, run_config.single_core)
  with strategy.scope():
    model = build_model(model_dir)
  trainer_lib.train_to_end(model, strategy, model_dir, run_config,
                           {CONFIG_FILE: model.config()})
  return model
