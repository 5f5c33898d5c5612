"""`python -m compare_gan2.singan`: train ConSinGAN on one picture.

  python -m compare_gan2.singan --image=photo.png --model_dir=runs/photo \
      [--gin_config=gin_configs/consingan_cpu.gin] [--gin_bindings=...]

`--image` is a PNG or JPEG file, or skimage:NAME for a photograph bundled with
scikit-image (chelsea, coffee, rocket, astronaut, ...). Training resumes from the
model directory's latest checkpoint (kill -9 at any point loses at most
`consingan.save_every` iterations and ends with the same weights). Settings are
gin `consingan.*` (the official defaults; `python -m compare_gan2.describe
--list_configurables consingan`). Samples: `python -m compare_gan2.singan.sample`.
"""

from __future__ import annotations

from collections.abc import Sequence

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "The picture: a PNG/JPEG file or skimage:NAME "
                    "(a photograph bundled with scikit-image).")
flags.DEFINE_string("model_dir", None, "Where checkpoints, samples and logs go.")
flags.DEFINE_multi_string("gin_config", [], "Gin config files (repeatable).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable), e.g. "
                          "'consingan.niter = 500'.")
flags.mark_flags_as_required(["image", "model_dir"])


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  from compare_gan2 import logs
  from compare_gan2.singan import runner
  from compare_gan2.singan import training
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.singan",
                                   model_dir=FLAGS.model_dir):
    builder.validate_model_dir(FLAGS.model_dir)
    gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
    run = runner.Run(FLAGS.model_dir, FLAGS.image, training.consingan_options())
    losses = run.train()
  print(f"Trained {FLAGS.model_dir}: {losses}")


if __name__ == "__main__":
  flags_help.run(main, __doc__)
