"""`python -m compare_gan2.singan.sample`: a PNG grid of ConSinGAN samples.

  python -m compare_gan2.singan.sample --model_dir=runs/photo --out=samples.png \
      [--num=8] [--scale_h=1.0] [--scale_w=2.0] [--seed=0] [--checkpoint=...]

Every stage's size is scaled to (int(H_k * scale_h), int(W_k * scale_w)), as the
official code generates other sizes and aspect ratios (retargeting): the output
is int(H * scale_h) x int(W * scale_w).
"""

from __future__ import annotations

from collections.abc import Sequence

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

MAX_NUM = 256  # Samples per grid (G runs on all of them at once).
MAX_SIDE = 4096  # Pixels per side of a sample.


def _define_flags() -> None:
  """The command's flags (defined only when run as a program, so importing this
  module next to other entry points defines nothing)."""
  flags.DEFINE_string("model_dir", None, "A ConSinGAN model directory.")
  flags.DEFINE_string("out", None, "PNG file to write the grid to.")
  flags.DEFINE_integer("num", 8, f"Number of samples (1 .. {MAX_NUM}).")
  flags.DEFINE_integer("columns", 4, "Samples per row of the grid.")
  flags.DEFINE_float("scale_h", 1.0, "Height scale of every stage (> 0; 1: "
                     f"training size; at most {MAX_SIDE} pixels a side).")
  flags.DEFINE_float("scale_w", 1.0, "Width scale of every stage (> 0; 1: "
                     f"training size; at most {MAX_SIDE} pixels a side).")
  flags.DEFINE_integer("seed", 0, "Noise seed (32-bit).")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.mark_flags_as_required(["model_dir", "out"])


def write_samples(model_dir: str, out: str, num: int = 8, scale_h: float = 1.0,
                  scale_w: float = 1.0, seed: int = 0, columns: int = 4,
                  checkpoint: str | None = None) -> tuple[str, tuple[int, ...]]:
  """Writes `num` samples of `model_dir` at the scaled size to `out`; returns
  (path, image shape)."""
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  errors.check_number("--num", num, integer=True, minimum=1, maximum=MAX_NUM,
                      optional=False)
  errors.check_number("--columns", columns, integer=True, minimum=1,
                      optional=False)
  errors.check_number("--scale_h", scale_h, above=0, optional=False)
  errors.check_number("--scale_w", scale_w, above=0, optional=False)
  errors.check_number("--seed", seed, integer=True, minimum=-2**31,
                      maximum=2**31 - 1, optional=False, hint="a 32-bit seed")
  from compare_gan2.singan import runner  # pylint: disable=g-import-not-at-top
  gan, _ = runner.load_model(model_dir, checkpoint)
  smallest = min(min(h, w) for h, w in gan.sizes)
  if int(smallest * min(scale_h, scale_w)) < 2 * (gan.options.num_layer + 2) + 1:
    raise errors.ConfigError("--scale_h/--scale_w make the coarsest stage too "
                             "small for the networks; use larger scales.")
  height, width = gan.sizes[-1]
  if max(height * scale_h, width * scale_w) > MAX_SIDE:
    raise errors.ConfigError(
        f"--scale_h/--scale_w make the samples {int(height * scale_h)}x"
        f"{int(width * scale_w)}: more than {MAX_SIDE} pixels a side.")
  images = gan.sample(num, [seed, 0], scale_h, scale_w).numpy()
  return runner.write_png(out, images, columns), images.shape[1:]


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.singan.sample",
                                   model_dir=f.model_dir):
    path, shape = write_samples(f.model_dir, f.out, f.num, f.scale_h, f.scale_w,
                                f.seed, f.columns, f.checkpoint)
  print(f"Wrote {path} ({f.num} samples of {shape[0]}x{shape[1]}).")


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
