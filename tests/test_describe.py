"""`python -m compare_gan2.describe`: the published parameter counts through the
shipped gin configs, text and JSON output, errors for bad configurations."""

import json
import os
import subprocess
import sys

import pytest

from compare_gan2 import describe

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(REPO, "gin_configs")

# Published counts: 1000 classes, conditional batch norm (compare_gan's
# resnet_biggan.py docstring / resnet_biggan_deep_test.py).
PUBLISHED = {
    "biggan_imagenet128.gin": (120, 70433988, 87982370),
    "biggan_imagenet256.gin": (140, 82097604, 98635298),
    "biggan_imagenet512.gin": (160, 82468068, 98801378),
    "biggan_deep_imagenet128.gin": (128, 50244484, 34590210),
}


def _config(name):
  return os.path.join(CONFIGS, name)


@pytest.mark.parametrize("config", sorted(PUBLISHED))
def test_published_parameter_counts(config):
  z_dim, g_params, d_params = PUBLISHED[config]
  result, _ = describe.describe([_config(config)])
  assert result["generator"]["params"] == g_params
  assert result["discriminator"]["params"] == d_params
  assert result["z_dim"] == z_dim
  assert result["num_classes"] == 1000 and result["conditional"]
  resolution = int(config.split("imagenet")[1].split(".")[0])
  assert result["image_shape"] == [resolution, resolution, 3]


def test_cli_json_in_process(capsys):
  assert describe.main(["--gin_config", _config("biggan_imagenet128.gin"),
                        "--json"]) == 0
  result = json.loads(capsys.readouterr().out)
  assert result["generator"]["params"] == 70433988
  assert result["discriminator"]["params"] == 87982370
  assert result["architecture"] == "resnet_biggan_arch"
  assert result["dataset"] == "imagenet_128"


def test_cli_table_with_bindings(capsys):
  assert describe.main([
      "--gin_config", _config("biggan_polygons32.gin"),
      "--gin_bindings", "resnet_biggan.Generator.ch = 8",
      "resnet_biggan.Discriminator.ch = 8"]) == 0
  out = capsys.readouterr().out
  assert "generator/fc_noise/kernel" in out
  assert "discriminator/final_fc/kernel" in out
  assert "| Name" in out and "Shape" in out and "Size" in out
  result, _ = describe.describe(
      [_config("biggan_polygons32.gin")],
      ["resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8"])
  assert "{:,}".format(result["generator"]["params"]) in out
  assert "{:,}".format(result["discriminator"]["params"]) in out


@pytest.mark.parametrize("config", [
    "dcgan_celeba64.gin", "resnet_cifar10.gin", "resnet_lsun-bedroom128.gin",
    "sndcgan_celebahq128.gin", "biggan_polygons32.gin"])
def test_every_small_config_describes(config):
  result, gan = describe.describe([_config(config)])
  assert result["generator"]["params"] > 0
  assert result["discriminator"]["params"] > 0
  assert gan.generator.image_shape == tuple(result["image_shape"])


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    "biggan_deep_imagenet256.gin", "biggan_deep_imagenet512.gin"])
def test_biggan_deep_large_configs_describe(config):
  result, _ = describe.describe([_config(config)])
  assert result["generator"]["params"] > 50e6


def test_subprocess_json():
  out = subprocess.run(
      [sys.executable, "-m", "compare_gan2.describe", "--gin_config",
       _config("dcgan_celeba64.gin"), "--gin_bindings",
       'dataset.name = "polygons_64"', "--json"],
      capture_output=True, text=True, check=True, cwd=REPO, timeout=300).stdout
  result = json.loads(out)
  assert set(result) >= {"generator", "discriminator"}
  assert result["generator"]["params"] == 5364739
  assert result["image_shape"] == [64, 64, 3]


def test_unknown_gin_name_is_a_clear_error(capsys):
  with pytest.raises(SystemExit) as exit_info:
    describe.main(["--gin_bindings", "options.no_such_option = 3"])
  assert exit_info.value.code == 1
  err = capsys.readouterr().err
  assert "compare_gan2.describe: error:" in err and "no_such_option" in err
  assert "Traceback" not in err


def test_missing_architecture_error():
  with pytest.raises(describe.DescribeError, match="options.architecture"):
    describe.describe(gin_bindings=['dataset.name = "polygons_32"'])


def test_unsupported_resolution_error():
  with pytest.raises(describe.DescribeError,
                     match=r"resnet_cifar_arch.*64x64.*32x32"):
    describe.describe([_config("resnet_cifar10.gin")],
                      ['dataset.name = "polygons_64"'])


def test_missing_config_file(capsys):
  with pytest.raises(SystemExit) as exit_info:
    describe.main(["--gin_config", "/nonexistent.gin"])
  assert exit_info.value.code == 1
  assert "not found" in capsys.readouterr().err


def test_no_arguments(capsys):
  assert describe.main([]) == 2
  assert "gin_config" in capsys.readouterr().err


def test_imagenet_needs_no_data(tmp_path):
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  datasets.set_tfds_data_dir(str(tmp_path))  # Empty: no ImageNet here.
  try:
    result, _ = describe.describe([_config("biggan_imagenet128.gin")],
                                  ["resnet_biggan.Generator.ch = 8",
                                   "resnet_biggan.Discriminator.ch = 8"])
  finally:
    datasets.set_tfds_data_dir(None)
  assert result["num_classes"] == 1000
