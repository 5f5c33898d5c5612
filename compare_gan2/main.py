"""Command line: `compare-gan2` / `python -m compare_gan2.main`.

Flags follow compare_gan's main.py. Example:

  compare-gan2 --model_dir=/tmp/run --gin_config=gin_configs/biggan_polygons32.gin \
      --gin_bindings="options.training_steps = 100"
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "Where checkpoints, summaries and scores go.")
flags.DEFINE_multi_string("gin_config", [], "Gin config files (repeatable).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable).")
flags.DEFINE_string("schedule", "train", "What to run: train, continuous_eval, "
                    "eval_after_train, export (see README).")
flags.DEFINE_boolean("use_tpu", None, "Train on a TPU; unset means: iff $TPU_NAME "
                     "is set.")
flags.DEFINE_string("tpu", None, "TPU name or address (default: $TPU_NAME).")
flags.DEFINE_string("tfds_data_dir", None, "TFDS data directory for real datasets.")
flags.DEFINE_integer("data_shuffle_buffer_size", None, "Shuffle buffer of the "
                     "TFDS datasets (compare_gan: 10000).")
flags.DEFINE_string("score_filename", "scores.csv", "Evaluation score file name.")
flags.DEFINE_integer("num_eval_averaging_runs", 3, "Evaluation runs to average.")
flags.DEFINE_integer("eval_every_steps", 5000, "Evaluate checkpoints whose step is "
                     "a multiple of this; 0 means every checkpoint.")
flags.DEFINE_string("checkpoint", None, "--schedule=export: checkpoint to export "
                    "(default: the latest in --model_dir).")
flags.DEFINE_string("export_output", None, "--schedule=export: output directory "
                    "(default: <model_dir>/tfhub/<step>).")
flags.mark_flag_as_required("model_dir")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Imported here so --help works fast and flags are parsed first.
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2.training import checkpoints  # pylint: disable=g-import-not-at-top
  from compare_gan2.training import runner  # pylint: disable=g-import-not-at-top

  logging.set_verbosity(logging.INFO)
  try:
    _run(datasets, gin_setup, runner)
  except (gin_setup.GinConfigError, datasets.DatasetNotAvailableError,
          checkpoints.CheckpointNotFoundError,
          checkpoints.CheckpointMismatchError) as e:
    # User errors: the message says what is wrong and how to fix it.
    raise SystemExit(f"compare-gan2: error: {e}") from e


def _run(datasets, gin_setup, runner):
  """Applies the flags and runs the schedule."""
  if FLAGS.tfds_data_dir:
    datasets.set_tfds_data_dir(FLAGS.tfds_data_dir)
  if FLAGS.data_shuffle_buffer_size:
    datasets.set_shuffle_buffer_size(FLAGS.data_shuffle_buffer_size)
  gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
  runner.run_with_schedule(
      FLAGS.schedule, FLAGS.model_dir, use_tpu=FLAGS.use_tpu, tpu=FLAGS.tpu,
      score_filename=FLAGS.score_filename,
      num_eval_averaging_runs=FLAGS.num_eval_averaging_runs,
      eval_every_steps=FLAGS.eval_every_steps,
      checkpoint=FLAGS.checkpoint, export_output=FLAGS.export_output)


def run():
  """Console-script entry point."""
  app.run(main)


if __name__ == "__main__":
  run()
