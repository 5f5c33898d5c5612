"""The shipped configs mirroring compare_gan's run with only dataset, batch size,
steps and channel width overridden (each shipped config trains)."""

import os

import gin
import pytest

from compare_gan2 import gin_setup
from compare_gan2.training import checkpoints
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
}


# Over 20 s on 2 cores (tracing the unrolled step of the full-width configs): slow.
SLOW_CONFIGS = {"biggan_imagenet128.gin", "resnet_cifar10.gin"}


@pytest.mark.parametrize("config", [
    pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CONFIGS else c
    for c in sorted(CASES)])
def test_config_trains_with_overrides(tmp_path, config):
  gin.clear_config()
  gin_setup.parse([os.path.join(ROOT, "gin_configs", config)], CASES[config])
  ctx = runner.build_context(str(tmp_path))
  assert runner.schedule_train(ctx) == 1
  assert checkpoints.is_training_done(str(tmp_path))
  assert checkpoints.step_of(checkpoints.latest_checkpoint(str(tmp_path))) == 1
