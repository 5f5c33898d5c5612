"""Command line: `compare-gan2 train` / `python -m compare_gan2.main`.

Flags follow compare_gan's main.py (`compare-gan2 --model_dir=...` without
`train` works too). Example:

  compare-gan2 train --model_dir=/tmp/run --gin_config=gin_configs/biggan_polygons32.gin \\
      --gin_bindings="options.training_steps = 100"
"""

import functools

from absl import app
from absl import flags

from compare_gan2 import console

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


def build_schedules():
  """The `--schedule` table: the one place schedules and the actions run after
  each evaluation (TensorBoard scalars, the opt-in Hub export) are wired."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2.evaluation import eval_summaries
  from compare_gan2.evaluation import schedules as evaluation
  from compare_gan2.export import hub_export
  from compare_gan2.training import runner
  # pylint: enable=g-import-not-at-top
  after_evaluation = (eval_summaries.write_eval_scalars,
                      hub_export.on_checkpoint_evaluated)
  return {
      "train": runner.Schedule(runner.schedule_train),
      "continuous_eval": runner.Schedule(functools.partial(
          evaluation.continuous_eval, after_evaluation=after_evaluation)),
      "eval_after_train": runner.Schedule(functools.partial(
          evaluation.eval_after_train, after_evaluation=after_evaluation)),
      "export": runner.Schedule(hub_export.schedule_export, needs_data=False),
  }


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Imported here so --help works fast and flags are parsed first.
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("compare-gan2", model_dir=FLAGS.model_dir):
    _run()


# The numeric flags' ranges: errors.check_number's bounds by flag.
FLAG_RANGES = {
    "data_shuffle_buffer_size": dict(integer=True, minimum=1,
                                     hint="1 means no shuffling"),
    "num_eval_averaging_runs": dict(integer=True, minimum=1, maximum=100),
    "eval_every_steps": dict(integer=True, minimum=0,
                             hint="0 means every checkpoint"),
}


def check_flags():
  """ConfigError (one line) for a numeric flag out of its range or a
  --gin_bindings value gin cannot parse, before any work and before TensorFlow
  loads (compare_gan2.s2gan takes these flags too)."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  # pylint: enable=g-import-not-at-top
  for name, bounds in FLAG_RANGES.items():
    errors.check_number(f"--{name}", FLAGS[name].value, **bounds)
  gin_setup.check_binding_syntax(FLAGS["gin_bindings"].value)


def apply_data_flags():
  """--tfds_data_dir and --data_shuffle_buffer_size."""
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  if FLAGS.tfds_data_dir:
    datasets.set_tfds_data_dir(FLAGS.tfds_data_dir)
  if FLAGS.data_shuffle_buffer_size:
    datasets.set_shuffle_buffer_size(FLAGS.data_shuffle_buffer_size)


def schedule_flags():
  """The flags a schedule receives (runner.run_with_schedule's keywords)."""
  return dict(use_tpu=FLAGS.use_tpu, tpu=FLAGS.tpu,
              score_filename=FLAGS.score_filename,
              num_eval_averaging_runs=FLAGS.num_eval_averaging_runs,
              eval_every_steps=FLAGS.eval_every_steps,
              checkpoint=FLAGS.checkpoint, export_output=FLAGS.export_output,
              gin_config=list(FLAGS.gin_config),
              gin_bindings=list(FLAGS.gin_bindings))


def _run():
  """Applies the flags and runs the schedule."""
  check_flags()  # Before TensorFlow loads: a bad value is refused at once.
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup
  from compare_gan2.training import runner
  # pylint: enable=g-import-not-at-top
  apply_data_flags()
  schedules = build_schedules()
  runner.get_schedule(schedules, FLAGS.schedule)  # A typo fails before any work.
  gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
  runner.run_with_schedule(schedules, FLAGS.schedule, FLAGS.model_dir,
                           **schedule_flags())


def run():
  """Console-script entry point (`--help` lists this module's flags, exit 0)."""
  console.quiet()  # Before TensorFlow loads (in main).
  from compare_gan2 import flags_help  # pylint: disable=g-import-not-at-top
  flags_help.run(main, __doc__, modules=("compare_gan2.main",))


if __name__ == "__main__":
  run()
