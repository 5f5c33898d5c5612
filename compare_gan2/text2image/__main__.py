"""`python -m compare_gan2.text2image`: train a text-to-image GAN.

  python -m compare_gan2.clip --model_dir=runs/clip \
      --gin_config=gin_configs/clip_captioned_polygons_32.gin   # the pair first
  python -m compare_gan2.text2image --model_dir=runs/t2i \
      --gin_config=gin_configs/stylegan_t_captioned_polygons_32.gin \
      [--gin_bindings="text_to_image_gan.clip_dir = 'runs/clip'"]

Trains `text_to_image_gan.*` (gan.py: StyleGAN-T's recipe) on gin
`dataset.name` with the package's Trainer: resumable from the latest
checkpoint, progress lines with D and G losses, TensorBoard scalars of every
loss term, prompt grids at every checkpoint. Writes `t2i_config.json` (the
pair and dataset the model needs) and `operative_config.gin`. Then:
`python -m compare_gan2.text2image.sample`, `.evaluate`, `.export`.
"""

from __future__ import annotations

from collections.abc import Sequence

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Where checkpoints, samples and logs go.")
flags.DEFINE_multi_string("gin_config", [], "Gin config files (repeatable).")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable), e.g. "
                          "'text_to_image_gan.clip_weight = 2.0'.")
flags.mark_flags_as_required(["model_dir"])

def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  from compare_gan2 import logs
  from compare_gan2.text2image import runner
  # pylint: enable=g-import-not-at-top
  logs.setup(FLAGS.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.text2image",
                                   model_dir=FLAGS.model_dir):
    builder.validate_model_dir(FLAGS.model_dir)
    gin_setup.parse(FLAGS.gin_config, FLAGS.gin_bindings)
    model = runner.train(FLAGS.model_dir)
  print(f"Trained {FLAGS.model_dir} to step {int(model.global_step.numpy())}.")


if __name__ == "__main__":
  flags_help.run(main, __doc__)
