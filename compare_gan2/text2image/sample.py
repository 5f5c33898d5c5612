"""`python -m compare_gan2.text2image.sample`: a PNG grid for a list of prompts.

  python -m compare_gan2.text2image.sample --model_dir=runs/t2i \
      --prompt="a red triangle on a white background" --prompt="..." \
      [--prompts_file=prompts.txt] [--columns=8] [--truncation=1.0] [--seed=0] \
      [--no_ema] --out=grid.png

Rows are prompts (in order), columns samples; column j uses the same z in
every row. Truncation psi (0 to 1) pulls each sample towards its caption's
mean style (StyleGAN-T: psi < 1 trades variation for text alignment). Without
prompts, the held-out and some seen prompts of captioned_polygons.

An empty or blank prompt (or one without a word of a-z0-9) is refused, as are
--columns outside [1, 256], --truncation outside [0, 1] and a negative --seed.
Words outside the model's vocabulary (they become <unk>) and words past the
caption length (dropped) are named in a warning, on the console and in the
model directory's compare_gan2.log.
"""

from __future__ import annotations

from collections.abc import Sequence
import os
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

if typing.TYPE_CHECKING:  # TensorFlow loads after console.quiet_if_main.
  import numpy as np
  from compare_gan2.text2image import gan as gan_lib


def read_prompts(prompts: Sequence[str] | None, prompts_file: str | None
                 ) -> list[str]:
  """The prompts of the flags (the file: one per non-blank line); an empty or
  blank prompt, or a file without prompts, is a ConfigError."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2.text2image import checks
  # pylint: enable=g-import-not-at-top
  result = [checks.prompt(p, f"--prompt #{i}")
            for i, p in enumerate(prompts or [], 1)]
  if prompts_file:
    if not os.path.exists(prompts_file):
      raise errors.ConfigError(f"--prompts_file={prompts_file}: no such file.")
    with open(prompts_file, encoding="utf-8") as f:
      lines = [(n, line.strip()) for n, line in enumerate(f, 1) if line.strip()]
    if not lines:
      raise errors.ConfigError(f"--prompts_file={prompts_file} has no prompts "
                               "(one per line).")
    result += [checks.prompt(line, f"--prompts_file={prompts_file} line {n}")
               for n, line in lines]
  return result


def check_options(columns: int, truncation: float, seed: int) -> None:
  """ConfigError for a value of --columns, --truncation or --seed that
  cannot make a grid."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2.text2image import checks
  # pylint: enable=g-import-not-at-top
  errors.check_number("--columns", columns, integer=True, minimum=1,
                      maximum=checks.MAX_COLUMNS, optional=False,
                      hint="the samples of every prompt are one batch")
  checks.truncation("--truncation", truncation)
  checks.seed("--seed", seed)


def warn_of_unmapped_words(model: gan_lib.TextToImageGAN, prompts: Sequence[str]
                           ) -> None:
  """Logs a warning per prompt with words the model does not read."""
  # pylint: disable=g-import-not-at-top
  from absl import logging
  from compare_gan2.text2image import checks
  # pylint: enable=g-import-not-at-top
  for message in checks.prompt_warnings(prompts, model.dataset.tokenizer,
                                        model.dataset.name):
    logging.warning("%s", message)


def write_grid(model: gan_lib.TextToImageGAN, prompts: Sequence[str], out: str,
               columns: int = 8, truncation: float = 1.0, seed: int = 0,
               use_ema: bool = True) -> np.ndarray:
  """Writes the grid PNG atomically; returns the images [rows*columns, ...]."""
  from compare_gan2.training import summaries  # pylint: disable=g-import-not-at-top
  check_options(columns, truncation, seed)
  images = model.prompt_grid(prompts, columns, truncation, seed, use_ema)
  summaries.save_png(images, out, columns)
  return images


def _define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained text-to-image model.")
  flags.DEFINE_multi_string("prompt", [], "A prompt (repeatable): one row each.")
  flags.DEFINE_string("prompts_file", None, "A file of prompts, one per line.")
  flags.DEFINE_integer("columns", 8, "Samples per prompt (1 to 256).")
  flags.DEFINE_float("truncation", 1.0, "Truncation psi, 0 (the caption's mean "
                     "style) to 1 (none).")
  flags.DEFINE_integer("seed", 0, "Seed of the z of the columns (0 to 2^31-1).")
  flags.DEFINE_bool("ema", True, "Sample with the EMA generator.")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.DEFINE_string("out", None, "PNG file to write.")
  flags.mark_flags_as_required(["model_dir", "out"])


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.text2image.sample",
                                   model_dir=f.model_dir):
    check_options(f.columns, f.truncation, f.seed)
    prompts: list[str] | None = read_prompts(f.prompt, f.prompts_file)
    from compare_gan2.text2image import loader  # pylint: disable=g-import-not-at-top
    model, path = loader.load_model(f.model_dir, f.checkpoint)
    logs.start()
    prompts = prompts or model.summary_prompts()
    if not prompts:
      raise errors.ConfigError("Give prompts: --prompt or --prompts_file.")
    warn_of_unmapped_words(model, prompts)
    write_grid(model, prompts, f.out, f.columns, f.truncation, f.seed, f.ema)
  print(f"Wrote {f.out}: {len(prompts)} prompts x {f.columns} samples "
        f"(truncation {f.truncation}, {path}).")


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
