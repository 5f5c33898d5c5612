"""Training of a text-to-image GAN, the work of `python -m
compare_gan2.text2image` (see its docstring)."""

import os

from compare_gan2.text2image.loader import CONFIG_FILE


def build_model():
  """The gin-configured TextToImageGAN on gin `dataset.name`."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import datasets
  from compare_gan2.text2image import gan
  # pylint: enable=g-import-not-at-top
  return gan.TextToImageGAN(dataset=datasets.get_dataset())


def train(model_dir):
  """Trains (or resumes) the model of the parsed gin config; returns it."""
  # pylint: disable=g-import-not-at-top
  import gin
  from compare_gan2 import builder
  from compare_gan2 import model_dir as model_dir_lib
  from compare_gan2.training import checkpoints
  from compare_gan2.training import strategy as strategy_lib
  from compare_gan2.training import trainer as trainer_lib
  # pylint: enable=g-import-not-at-top
  run_config = builder.get_run_config()
  builder.set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(None, None, run_config.single_core)
  with strategy.scope():
    model = build_model()
  os.makedirs(model_dir, exist_ok=True)
  model_dir_lib.atomic_write_json(os.path.join(model_dir, CONFIG_FILE),
                                  model.config())
  model_dir_lib.atomic_write_text(
      os.path.join(model_dir, "operative_config.gin"), gin.operative_config_str())
  trainer = trainer_lib.Trainer(model, strategy, model_dir, run_config,
                                model.training_steps)
  trainer.train()
  checkpoints.mark_training_done(model_dir)
  return model
