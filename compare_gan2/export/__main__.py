"""`python -m compare_gan2.export --model_dir D [--checkpoint C] [--output O]`.

Exports a checkpoint of a trained model (default: the latest) as a TF1 Hub
format module, by default to `D/tfhub/<step>/`. The model is configured from
`--gin_config` files, by default D's latest `operative_config-<step>.gin` (which
training writes), so a trained model directory is all it needs; `--gin_bindings`
apply on top (e.g. `hub_export.stats_num_batches = 16`). See docs/hub_export.md.
"""

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "Directory of the trained model.")
flags.DEFINE_string("checkpoint", None, "Checkpoint path (model.ckpt-<step>); "
                    "default: the latest in --model_dir.")
flags.DEFINE_string("output", None, "Module directory; default "
                    "<model_dir>/tfhub/<step>.")
flags.DEFINE_multi_string("gin_config", [], "Gin config files; default: the "
                          "model_dir's latest operative_config-<step>.gin.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable).")
flags.mark_flag_as_required("model_dir")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  from compare_gan2.export import cli
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.export",
                                   model_dir=FLAGS.model_dir):
    path = cli.export_model_dir(FLAGS.model_dir, checkpoint=FLAGS.checkpoint,
                                output=FLAGS.output, gin_configs=FLAGS.gin_config,
                                gin_bindings=FLAGS.gin_bindings)
  print(path)


if __name__ == "__main__":
  from compare_gan2 import flags_help  # pylint: disable=g-import-not-at-top
  flags_help.run(main, __doc__)
