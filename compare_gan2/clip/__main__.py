"""`python -m compare_gan2.clip`: pre-train the offline text–image pair.

  python -m compare_gan2.clip --model_dir=runs/clip \
      [--gin_config=gin_configs/clip_captioned_polygons_32.gin] [--gin_bindings=...]

Trains `clip_pretraining.*` on gin `dataset.name` (a captioned dataset) with the
package's Trainer: resumable from the latest checkpoint, progress lines,
TensorBoard scalars (loss, in-batch retrieval accuracies, temperature). Writes
`clip_config.json` (vocabulary and encoder sizes, to rebuild the pair) and, for
captioned_polygons, `clip_eval.json`: zero-shot shape and fill recognition on
the test split, seen and held-out pairs apart (clip/evaluation.py). Train the
evaluator pair of a GAN (its CLIP score) with another seed:
--gin_bindings='run_config.tf_random_seed = 2' and another --model_dir.
"""

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Where checkpoints and logs go.")
flags.DEFINE_multi_string("gin_config", [], "Gin config files (repeatable).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable), e.g. "
                          "'clip_pretraining.training_steps = 500'.")
flags.mark_flags_as_required(["model_dir"])

def main(argv):
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  from compare_gan2 import logs
  from compare_gan2.clip import runner
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.clip",
                                   model_dir=FLAGS.model_dir):
    builder.validate_model_dir(FLAGS.model_dir)
    gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
    result = runner.train(FLAGS.model_dir)
  print(f"Trained {FLAGS.model_dir}: zero-shot {result}")


if __name__ == "__main__":
  flags_help.run(main, __doc__)
