"""Harmonization and editing with a trained ConSinGAN model.

  python -m compare_gan2.singan.harmonize --model_dir=D --naive=paste.png \
      [--mask=paste_mask.png] [--fine_tune=500] --out=harmonized.png
  python -m compare_gan2.singan.edit --model_dir=D --naive=edited.png \
      [--mask=edit_mask.png] [--fine_tune=500] --out=edited_out.png

As tohinz/ConSinGAN (training_harmonization_editing.py, evaluate_model.py): the
naive composite (harmonization) or the edited image (editing, plus 0.1 * N(0, 1)
noise) is resized to the coarsest stage and replaces z_0; every higher stage
runs on its fixed reconstruction noise. `--fine_tune N` first trains the last
stage N iterations with that input (the official fine-tuning, whose default is
2000; in memory here: the model directory is not changed): fresh Adam states,
the trained noise amplitudes kept, the learning rates x gamma from iteration
0.8 * N on, D still sees the training image, and editing's 0.1 * N(0, 1) noise
redrawn every iteration (from the seed (seed, 1000 + iteration)). With a mask
(white where the image was changed), the mask is dilated (disk of radius 7, or
20 for editing), blurred (Gaussian, sigma 5) and normalised to [0, 1], and the
output is mask * G + (1 - mask) * naive.

The official code injects only at the coarsest stage; so does this one. It
trains dedicated models for these tasks (gin consingan.train_mode =
"harmonization" / "editing": gin_configs/consingan_harmonization.gin,
consingan_editing.gin); a model trained for generation works too, less well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

if typing.TYPE_CHECKING:  # TensorFlow loads after console.quiet_if_main.
  import numpy as np
  import tensorflow as tf
  from compare_gan2.singan import training


class _Mode(typing.TypedDict):
  dilation: int  # Radius of the mask's dilation.
  noise: float   # Of z_0: times N(0, 1).


MODES: dict[str, _Mode] = {"harmonization": {"dilation": 7, "noise": 0.0},
                           "editing": {"dilation": 20, "noise": 0.1}}


def soft_mask(mask: np.ndarray, radius: int, sigma: float = 5.0) -> np.ndarray:
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


def first_input(naive_first: tf.Tensor, iteration: int, noise: float, seed: int
                ) -> tf.Tensor:
  """z_0 of fine-tuning iteration `iteration`: the resized naive image, plus
  `noise` * N(0, 1) drawn afresh from the stateless seed (seed, 1000 +
  iteration) (the official fine-tuning redraws it every iteration)."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  # pylint: enable=g-import-not-at-top
  if not noise:
    return naive_first
  return naive_first + noise * tf.random.stateless_normal(
      tf.shape(naive_first), [seed, 1000 + iteration])


def fine_tune_last_stage(gan: training.SingleImageGAN, naive_first: tf.Tensor,
                         iterations: int, noise: float = 0.0, seed: int = 0) -> None:
  """Trains `gan`'s last stage `iterations` iterations on z_0 = `naive_first`
  (tohinz/ConSinGAN training_harmonization_editing.py with --fine_tune): fresh
  Adam states, the trained noise amplitudes kept, learning rates x gamma from
  iteration 0.8 * `iterations` on; editing's noise redrawn every iteration."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  # pylint: enable=g-import-not-at-top
  stage = gan.generator.num_stages - 1
  gan.start_stage(stage, measure_noise_amp=False)
  step = tf.function(lambda it, first: gan.train_step(stage, it, first))
  for iteration in range(iterations):
    gan.set_learning_rates(iteration, niter=iterations)
    step(tf.constant(iteration, tf.int64),
         first_input(naive_first, iteration, noise, seed))


def run(model_dir: str, naive: str, out: str, mask: str | None = None,
        fine_tune: int = 0, mode: str = "harmonization", seed: int = 0) -> str:
  """Writes the harmonized / edited image to `out`; returns its path."""
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  errors.check_number("--fine_tune", fine_tune, integer=True, minimum=0,
                      optional=False)
  errors.check_number("--seed", seed, integer=True, minimum=-2**31,
                      maximum=2**31 - 1, optional=False, hint="a 32-bit seed")
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import tensorflow as tf
  from compare_gan2.singan import images
  from compare_gan2.singan import runner
  # pylint: enable=g-import-not-at-top
  gan, _ = runner.load_model(model_dir)
  stages = gan.generator.num_stages
  if stages < gan.options.train_stages:
    raise errors.ConfigError(f"{model_dir} has trained {stages} of "
                             f"{gan.options.train_stages} stages: finish its "
                             "training first.")
  size = gan.sizes[stages - 1]
  image = images.load_image(naive)[None]
  full = tf.clip_by_value(tf.image.resize(image, size, "bicubic",
                                          antialias=True), -1.0, 1.0)
  naive_first = tf.clip_by_value(tf.image.resize(
      image, gan.sizes[0], "bicubic", antialias=True), -1.0, 1.0)
  noise = MODES[mode]["noise"]
  if fine_tune:
    fine_tune_last_stage(gan, naive_first, fine_tune, noise, seed)
  first = naive_first
  if noise:
    first += noise * tf.random.stateless_normal(first.shape, [seed, 11])
  noises = [first] + [gan.fixed_noise(k) for k in range(1, stages)]
  output = gan.generator(noises, gan.sizes[:stages], gan.noise_amp)[0].numpy()
  if mask is not None:
    m = images.load_image(mask)[..., 0] > 0.0  # White (> mid-grey) = changed.
    m = tf.image.resize(m[None, ..., None].astype(np.float32), size,
                        "nearest")[0, ..., 0].numpy()
    m = soft_mask(m, MODES[mode]["dilation"])[..., None]
    output = m * output + (1.0 - m) * full[0].numpy()
  return runner.write_png(out, output[None], columns=1)


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained ConSinGAN model directory.")
  flags.DEFINE_string("naive", None, "The naive composite / edited image.")
  flags.DEFINE_string("mask", None, "Optional mask, white where the image was "
                      "changed.")
  flags.DEFINE_integer("fine_tune", 0, "Fine-tuning iterations of the last stage "
                       "on the naive image (official default 2000; 0: none).")
  flags.DEFINE_integer("seed", 0, "Seed of the editing noise (32-bit).")
  flags.DEFINE_string("out", None, "PNG file to write.")
  flags.mark_flags_as_required(["model_dir", "naive", "out"])


def main_for(mode: str, program: str) -> Callable[[Sequence[str]], None]:
  """The absl main of `program` in `mode`."""
  def main(argv: Sequence[str]) -> None:
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
