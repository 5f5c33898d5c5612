"""The shipped configs mirroring compare_gan's run with only dataset, batch size,
steps and channel width overridden (each shipped config trains)."""

import os

import gin
import pytest

from compare_gan2 import gin_setup
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = {
    "biggan_imagenet128.gin": [
        'dataset.name = "polygons_128"', "options.batch_size = 2",
        "options.training_steps = 1",
        "resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8"],
    "resnet_cifar10.gin": [
        'dataset.name = "polygons_32"', "options.batch_size = 2",
        "options.training_steps = 1"],
    "biggan_polygons32.gin": ["options.training_steps = 1",
                              "options.batch_size = 4"],
    "biggan_mnist32.gin": ["options.training_steps = 1"],
}
# The fewer-labels family: CPU scale as shipped (few steps), ImageNet scale on
# polygons_128 with narrow channels (the rotated share needs a batch of 8).
_FEW_STEPS = ["options.training_steps = 2", "run_config.save_checkpoints_steps = 2"]
for _method in ("single_label", "random_label", "s2gan_co", "s3gan", "ssgan"):
  CASES[f"{_method}_polygons32.gin"] = _FEW_STEPS
  CASES[f"{_method}_mnist32.gin"] = _FEW_STEPS
  CASES[f"{_method}_imagenet128.gin"] = _FEW_STEPS + [
      'dataset.name = "%s"' % {"single_label": "single_class_polygons_128",
                               "random_label": "random_class_polygons_128"
                               }.get(_method, "polygons_128"),
      "options.batch_size = 8", "options.disc_iters = 1",
      "resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8"] + (
          ["SSGAN.rotated_batch_size = 8"] if _method == "ssgan" else [])


# Over 20 s on 2 cores (tracing the unrolled step of the full-width configs): slow.
# The mnist_5k_32 configs differ from the polygons ones in dataset and batch only:
# the default suite trains S3GAN's (the one the README's figures rest on).
SLOW_CONFIGS = {"biggan_imagenet128.gin", "resnet_cifar10.gin"} | {
    c for c in CASES if c.endswith("_imagenet128.gin")} | {
        c for c in CASES if c.endswith("_mnist32.gin") and c != "s3gan_mnist32.gin"}


@pytest.mark.parametrize("config", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CONFIGS else c
    for c in sorted(CASES)])
def test_config_trains_with_overrides(tmp_path, config):
  gin.clear_config()
  gin_setup.parse([os.path.join(ROOT, "gin_configs", config)], CASES[config])
  ctx = builder.build_context(str(tmp_path))
  steps = 2 if "options.training_steps = 2" in CASES[config] else 1
  assert runner.schedule_train(ctx) == steps
  assert checkpoints.is_training_done(str(tmp_path))
  assert checkpoints.step_of(checkpoints.latest_checkpoint(str(tmp_path))) == steps
