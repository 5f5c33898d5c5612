"""Describe the configured networks without training.

    python -m compare_gan2.describe --gin_config gin_configs/biggan_imagenet128.gin
    python -m compare_gan2.describe --gin_config F --gin_bindings "options.z_dim = 64" --json
    python -m compare_gan2.describe --list_configurables [NAME_PART]

Builds G and D exactly as training would (`options.architecture`,
`options.z_dim`, the image shape and number of classes of the `dataset` spec,
`ModularGAN.conditional`, every `G.*` / `D.*` / architecture binding) and prints
a parameter table (name, shape, size) per network with the totals. With `--json`
it prints one JSON object:

    {"generator": {"params": N, "variables": k, "non_trainable_params": n},
     "discriminator": {"params": M, ...}, "architecture": ..., ...}

"params" counts trainable parameters (the numbers papers report);
non-trainable ones are spectral-norm vectors and batch-norm statistics.

Nothing is trained and no data is read: dataset specs give their image shape
and number of classes without touching the disk (ImageNet need not be present).
The networks are built symbolically in a TF1 graph (batch of 2), so no weight is
initialised and no convolution runs; a 512px BigGAN takes seconds.

`--list_configurables` prints every gin configurable a config may bind (its
selector, defining function and parameters with their defaults), optionally
only those whose name contains NAME_PART.
"""

import argparse
import json
import sys

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

import gin  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import errors  # noqa: E402
from compare_gan2 import gin_setup  # noqa: E402
from compare_gan2 import utils  # noqa: E402

_BATCH_SIZE = 2


class DescribeError(errors.ConfigError):
  """The configuration cannot be described (bad gin, missing settings, ...)."""


def _network_summary(network):
  trainable = list(network.trainable_variables)
  non_trainable = list(network.non_trainable_variables)
  return {
      "params": utils.count_parameters(trainable),
      "variables": len(trainable),
      "non_trainable_params": utils.count_parameters(non_trainable),
      "non_trainable_variables": len(non_trainable),
  }


def build_gan(gin_config=(), gin_bindings=(), clear=True):
  """Parses gin and builds the configured GAN's variables (no training).

  Args:
    gin_config: gin files.
    gin_bindings: gin binding strings.
    clear: clear gin's config first.

  Returns:
    The GAN object (e.g. ModularGAN) whose `generator` and `discriminator` hold
    their variables (graph variables, never initialised).

  Raises:
    DescribeError: bad gin, missing options.architecture, or a network that
      cannot be built (e.g. an unsupported resolution).
  """
  # pylint: disable=g-import-not-at-top
  from compare_gan2.gans import regularizers  # noqa: F401  (gin names)
  from compare_gan2 import builder
  # pylint: enable=g-import-not-at-top
  if clear:
    gin.clear_config()
  try:
    gin_setup.parse(list(gin_config), list(gin_bindings))
  except gin_setup.GinConfigError as e:
    raise DescribeError(str(e)) from e
  if not gin_setup.is_bound("options.architecture"):
    raise DescribeError("No architecture configured: set gin "
                        "options.architecture (e.g. \"resnet_biggan_arch\").")
  overrides = {"batch_size": _BATCH_SIZE, "training_steps": 1}
  if not gin_setup.is_bound("options.gan_class"):
    overrides["gan_class"] = "ModularGAN"
  try:
    options = builder.get_options_dict(**overrides)
    with tf.Graph().as_default():
      gan = builder.build_gan(options=options)
      z = tf.zeros([_BATCH_SIZE, gan.z_dim])
      y = None
      if gan.conditional:
        y = tf.one_hot(tf.zeros([_BATCH_SIZE], tf.int32), gan.num_classes)
      gan.call_networks(z, y)
  except (ValueError, TypeError, KeyError) as e:
    raise DescribeError("Cannot build the configured networks: {}".format(
        e)) from e
  return gan


def describe(gin_config=(), gin_bindings=(), clear=True):
  """Returns the summary dict (what `--json` prints) and the built GAN."""
  gan = build_gan(gin_config, gin_bindings, clear=clear)
  dataset = gan.dataset
  result = {
      "architecture": gin.query_parameter("options.architecture"),
      "dataset": dataset.name,
      "image_shape": list(dataset.image_shape),
      "num_classes": dataset.num_classes,
      "conditional": bool(gan.conditional),
      "z_dim": int(gan.z_dim),
      "generator": _network_summary(gan.generator),
      "discriminator": _network_summary(gan.discriminator),
  }
  return result, gan


def format_text(result, gan):
  """The human-readable report: settings, two parameter tables, totals."""
  lines = [
      "Architecture: {architecture}  dataset: {dataset}  image shape: "
      "{image_shape}  classes: {num_classes}  conditional: {conditional}  "
      "z_dim: {z_dim}".format(**result), ""]
  for key, network in (("generator", gan.generator),
                       ("discriminator", gan.discriminator)):
    lines.append("{} ({} trainable variables):".format(
        key.capitalize(), result[key]["variables"]))
    lines.append(utils.get_parameter_overview(network.trainable_variables))
    lines.append("")
  for key in ("generator", "discriminator"):
    lines.append("{:<14} {:>14,} trainable parameters ({:,} non-trainable)"
                 .format(key.capitalize() + ":", result[key]["params"],
                         result[key]["non_trainable_params"]))
  return "\n".join(lines)


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      prog=errors.program_name("python -m compare_gan2.describe"),
      description="Build the configured G and D (no training) and print their "
                  "parameters.")
  parser.add_argument("--gin_config", action="append", default=[],
                      metavar="FILE", help="gin config file (repeatable)")
  parser.add_argument("--gin_bindings", action="extend", nargs="+", default=[],
                      metavar="BINDING",
                      help="gin bindings, e.g. 'options.z_dim = 64' "
                           "(repeatable, several per flag)")
  parser.add_argument("--json", action="store_true",
                      help="print a JSON object instead of tables")
  parser.add_argument("--list_configurables", nargs="?", const="", default=None,
                      metavar="NAME_PART",
                      help="list the gin configurables and their parameters "
                           "(those whose name contains NAME_PART), then exit")
  return parser.parse_args(argv)


def main(argv=None):
  args = _parse_args(sys.argv[1:] if argv is None else argv)
  if args.list_configurables is not None:
    print(gin_setup.list_configurables(args.list_configurables))
    return 0
  if not args.gin_config and not args.gin_bindings:
    print("describe: error: give --gin_config and/or --gin_bindings.",
          file=sys.stderr)
    return 2
  with errors.reported_as_one_line("python -m compare_gan2.describe"):
    result, gan = describe(args.gin_config, args.gin_bindings)
  if args.json:
    print(json.dumps(result, indent=2, sort_keys=True))
  else:
    print(format_text(result, gan))
  return 0


if __name__ == "__main__":
  sys.exit(main())
