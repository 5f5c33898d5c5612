"""Harmonization and editing with a trained ConSinGAN model.

  python -m compare_gan2.singan.harmonize --model_dir=D --naive=paste.png \
      [--mask=paste_mask.png] [--fine_tune=500] --out=harmonized.png
  python -m compare_gan2.singan.edit --model_dir=D --naive=edited.png \
      [--mask=edit_mask.png] [--fine_tune=500] --out=edited_out.png

As tohinz/ConSinGAN (training_harmonization_editing.py, evaluate_model.py): the
naive composite (harmonization) or the edited image (editing, plus 0.1 * N(0, 1)
noise) is resized to the coarsest stage and replaces z_0; every higher stage
runs on its fixed reconstruction noise. `--fine_tune N` first trains the last
stage N iterations with that input (D still sees the training image; the
official default is 2000, in memory here: the model directory is not changed).
With a mask (white where the image was changed), the mask is dilated (disk of
radius 7, or 20 for editing), blurred (Gaussian, sigma 5) and normalised to
[0, 1], and the output is mask * G + (1 - mask) * naive.

The official code injects only at the coarsest stage; so does this one. It
trains dedicated models for these tasks (gin consingan.train_mode =
"harmonization" / "editing": gin_configs/consingan_harmonization.gin,
consingan_editing.gin); a model trained for generation works too, less well.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

MODES = {"harmonization": {"dilation": 7, "noise": 0.0},
         "editing": {"dilation": 20, "noise": 0.1}}


def soft_mask(mask, radius, sigma=5.0):
  """The official `dilate_mask`: [H, W] in {0, 1} -> dilated, blurred, [0, 1]."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  from scipy import ndimage
  # pylint: enable=g-import-not-at-top
  y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
  disk = x * x + y * y <= radius * radius
  dilated = ndimage.binary_dilation(np.asarray(mask) > 0.5, structure=disk)
  blurred = ndimage.gaussian_filter(dilated.astype(np.float64), sigma)
  low, high = blurred.min(), blurred.max()
  return (blurred - low) / (high - low) if high > low else blurred


def run(model_dir, naive, out, mask=None, fine_tune=0, mode="harmonization",
        seed=0):
  """Writes the harmonized / edited image to `out`; returns its path."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import tensorflow as tf
  from compare_gan2 import errors
  from compare_gan2.singan import images
  from compare_gan2.singan import runner
  # pylint: enable=g-import-not-at-top
  if fine_tune < 0:
    raise errors.ConfigError(f"--fine_tune must be >= 0, got {fine_tune}.")
  gan, _ = runner.load_model(model_dir)
  stages = gan.generator.num_stages
  if stages < gan.options.train_stages:
    raise errors.ConfigError(f"{model_dir} has trained {stages} of "
                             f"{gan.options.train_stages} stages: finish its "
                             "training first.")
  size = gan.sizes[stages - 1]
  full = tf.image.resize(images.load_image(naive)[None], size, "bicubic",
                         antialias=True)
  full = tf.clip_by_value(full, -1.0, 1.0)
  first = tf.image.resize(full, gan.sizes[0], "bicubic", antialias=True)
  first = tf.clip_by_value(first, -1.0, 1.0)
  noise = MODES[mode]["noise"]
  if noise:
    first += noise * tf.random.stateless_normal(first.shape, [seed, 11])
  if fine_tune:
    stage = stages - 1
    gan.start_stage(stage)  # Fresh Adam states, as the official fine-tuning.
    step = tf.function(lambda it: gan.train_step(stage, it, first))
    for iteration in range(fine_tune):
      step(tf.constant(iteration, tf.int64))
  noises = [first] + [gan.fixed_noise(k) for k in range(1, stages)]
  output = gan.generator(noises, gan.sizes[:stages], gan.noise_amp)[0].numpy()
  if mask is not None:
    m = images.load_image(mask)[..., 0] > 0.0  # White (> mid-grey) = changed.
    m = tf.image.resize(m[None, ..., None].astype(np.float32), size,
                        "nearest")[0, ..., 0].numpy()
    m = soft_mask(m, MODES[mode]["dilation"])[..., None]
    output = m * output + (1.0 - m) * full[0].numpy()
  return runner.write_png(out, output[None], columns=1)


def define_flags():
  flags.DEFINE_string("model_dir", None, "A trained ConSinGAN model directory.")
  flags.DEFINE_string("naive", None, "The naive composite / edited image.")
  flags.DEFINE_string("mask", None, "Optional mask, white where the image was "
                      "changed.")
  flags.DEFINE_integer("fine_tune", 0, "Fine-tuning iterations of the last stage "
                       "on the naive image (official default 2000; 0: none).")
  flags.DEFINE_integer("seed", 0, "Seed of the editing noise.")
  flags.DEFINE_string("out", None, "PNG file to write.")
  flags.mark_flags_as_required(["model_dir", "naive", "out"])


def main_for(mode, program):
  """The absl main of `program` in `mode`."""
  def main(argv):
    if len(argv) > 1:
      raise SystemExit(f"Unexpected arguments: {argv[1:]}")
    # pylint: disable=g-import-not-at-top
    from compare_gan2 import errors
    from compare_gan2 import logs
    # pylint: enable=g-import-not-at-top
    f = flags.FLAGS
    logs.setup(f.model_dir)
    with errors.reported_as_one_line(program, model_dir=f.model_dir):
      path = run(f.model_dir, f.naive, f.out, f.mask, f.fine_tune, mode, f.seed)
    print(f"Wrote {path}.")
  return main


if __name__ == "__main__":
  define_flags()
  flags_help.run(main_for("harmonization", "python -m compare_gan2.singan.harmonize"),
                 __doc__)
