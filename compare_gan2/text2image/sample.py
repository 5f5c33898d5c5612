"""`python -m compare_gan2.text2image.sample`: a PNG grid for a list of prompts.

  python -m compare_gan2.text2image.sample --model_dir=runs/t2i \
      --prompt="a red triangle on a white background" --prompt="..." \
      [--prompts_file=prompts.txt] [--columns=8] [--truncation=1.0] [--seed=0] \
      [--no_ema] --out=grid.png

Rows are prompts (in order), columns samples; column j uses the same z in
every row. Truncation psi pulls each sample towards its caption's mean style
(StyleGAN-T: psi < 1 trades variation for text alignment). Without prompts,
the held-out and some seen prompts of captioned_polygons.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402


def read_prompts(prompts, prompts_file):
  """The prompts of the flags (the file: one per non-empty line)."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  # pylint: enable=g-import-not-at-top
  result = list(prompts or [])
  if prompts_file:
    if not os.path.exists(prompts_file):
      raise errors.ConfigError(f"--prompts_file={prompts_file}: no such file.")
    with open(prompts_file, encoding="utf-8") as f:
      result += [line.strip() for line in f if line.strip()]
  return result


def write_grid(model, prompts, out, columns=8, truncation=1.0, seed=0,
               use_ema=True):
  """Writes the grid PNG atomically; returns the images [rows*columns, ...]."""
  from compare_gan2.training import summaries  # pylint: disable=g-import-not-at-top
  images = model.prompt_grid(prompts, columns, truncation, seed, use_ema)
  summaries.save_png(images, out, columns)
  return images


def _define_flags():
  flags.DEFINE_string("model_dir", None, "A trained text-to-image model.")
  flags.DEFINE_multi_string("prompt", [], "A prompt (repeatable): one row each.")
  flags.DEFINE_string("prompts_file", None, "A file of prompts, one per line.")
  flags.DEFINE_integer("columns", 8, "Samples per prompt.")
  flags.DEFINE_float("truncation", 1.0, "Truncation psi (1: none).")
  flags.DEFINE_integer("seed", 0, "Seed of the z of the columns.")
  flags.DEFINE_bool("ema", True, "Sample with the EMA generator.")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.DEFINE_string("out", None, "PNG file to write.")
  flags.mark_flags_as_required(["model_dir", "out"])


def main(argv):
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  from compare_gan2.text2image import loader
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(None)
  with errors.reported_as_one_line("python -m compare_gan2.text2image.sample"):
    prompts = read_prompts(f.prompt, f.prompts_file)
    model, path = loader.load_model(f.model_dir, f.checkpoint)
    prompts = prompts or model.summary_prompts()
    if not prompts:
      raise errors.ConfigError("Give prompts: --prompt or --prompts_file.")
    write_grid(model, prompts, f.out, f.columns, f.truncation, f.seed, f.ema)
  print(f"Wrote {f.out}: {len(prompts)} prompts x {f.columns} samples "
        f"(truncation {f.truncation}, {path}).")


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
