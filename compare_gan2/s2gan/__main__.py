"""`python -m compare_gan2.s2gan --gin_config F --model_dir D [--stage S]`.

Runs the S2GAN / CLUSTERING pipeline of the Gin file (compare_gan2/s2gan/
pipeline.py): every stage not yet complete, or only `--stage`. It takes
compare_gan2.main's flags too (listed below): --model_dir, --gin_config and
--gin_bindings, the data flags, and the evaluation / export flags of the GAN
stage. compare_gan2.main's --schedule is not used: the GAN stage runs the
schedule of the Gin option `s2gan.gan_schedule` (default eval_after_train).
"""

from __future__ import annotations

from collections.abc import Sequence

from absl import app
from absl import flags
from absl import logging

from compare_gan2 import main as main_lib

flags.DEFINE_string("stage", None, "Run only this stage: partial_labels, pretrain, "
                    "infer_labels, cluster or gan.")
FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("compare-gan2-s2gan",
                                   model_dir=FLAGS.model_dir):
    main_lib.check_flags()  # Before TensorFlow loads.
    # pylint: disable=g-import-not-at-top
    from compare_gan2 import gin_setup
    from compare_gan2.s2gan import pipeline
    # pylint: enable=g-import-not-at-top
    main_lib.apply_data_flags()
    gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
    results = pipeline.run(FLAGS.model_dir, main_lib.build_schedules(),
                           FLAGS.stage, **main_lib.schedule_flags())
    for stage, summary in results.items():
      logging.info("[s2gan] %s: %s", stage, summary)


if __name__ == "__main__":
  from compare_gan2 import console  # pylint: disable=g-import-not-at-top
  console.quiet()  # Before TensorFlow loads (in main).
  from compare_gan2 import flags_help  # pylint: disable=g-import-not-at-top
  flags_help.run(main, __doc__, modules=("compare_gan2.main",))
