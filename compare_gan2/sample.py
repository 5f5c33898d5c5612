"""`python -m compare_gan2.sample`: a PNG grid of samples from a checkpoint.

  python -m compare_gan2.sample --model_dir D --out F.png [--checkpoint C]
      [--num 64] [--columns 8] [--classes 0,3,5] [--truncation 0.5]
      [--interpolate] [--seed 42] [--gin_config F] [--gin_bindings B]

The images come from the generator evaluation measures and the Hub export writes
(`evaluation.evaluator.Evaluator.prepare_generator`: EMA weights, spectral norm
converged on them, moving averages or standing statistics), so no export is
needed. The model is configured from `--gin_config`, by default with every
binding the run had when it last started (D's run_info.json; the operative
config lacks evaluation settings such as `eval_z`), else D's latest
`operative_config-<step>.gin`; `--gin_bindings` apply on top.

- Latents: `eval_z` drawn statelessly from `--seed` exactly as evaluation
  draws run 0 (`inference_generator.evaluation_latents`): with the default seed
  (gin `eval.seed`, 42) and no `--classes`, the grid holds the first `--num`
  images evaluation scores. `--truncation t` instead draws z from a standard
  normal truncated to [-2, 2] (re-drawn outside) times t: BigGAN's truncation
  trick.
- Labels (conditional models): uniform as in evaluation, or `--classes`: one
  row of `--columns` samples per listed class.
- `--interpolate`: each row interpolates linearly in z between two latents,
  from the first column to the last (same class per row).
"""

import io
import os

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import errors  # noqa: E402
from compare_gan2 import gin_setup  # noqa: E402
from compare_gan2 import inference_generator  # noqa: E402
from compare_gan2 import logs  # noqa: E402
from compare_gan2 import model_dir as model_dir_lib  # noqa: E402
from compare_gan2 import random_ops  # noqa: E402
from compare_gan2 import run_info  # noqa: E402
from compare_gan2.datasets import polygons  # noqa: E402
from compare_gan2.evaluation import evaluator as evaluator_lib  # noqa: E402
from compare_gan2.training import checkpoints  # noqa: E402
from compare_gan2 import builder  # noqa: E402

_SALT_TRUNCATION = 0x7A0C


def parse_classes(text, num_classes):
  """[int] from "0,3,5" (None for an empty text); checks the range."""
  if not text:
    return None
  try:
    classes = [int(c) for c in text.split(",") if c.strip()]
  except ValueError as e:
    raise errors.UserError(f"--classes must be comma-separated class ids, got "
                           f"{text!r}.") from e
  if not num_classes:
    raise errors.UserError("--classes needs a conditional model; this one has no "
                           "classes.")
  bad = [c for c in classes if not 0 <= c < num_classes]
  if bad or not classes:
    raise errors.UserError(f"--classes {text!r}: class ids must be in "
                           f"[0, {num_classes}).")
  return classes


# The numeric flags' ranges (errors.check_number's bounds): the grid is
# generated in one batch, so --num and --columns are bounded.
MAX_NUM = 4096
FLAG_RANGES = {
    "num": dict(integer=True, minimum=1, maximum=MAX_NUM),
    "columns": dict(integer=True, minimum=1, maximum=MAX_NUM),
    "truncation": dict(above=0.0, maximum=2.0),
    "seed": dict(integer=True, minimum=0, maximum=2**63 - 1),
}


def check_flags(values):
  """ConfigError (one line) for a numeric flag of `values` ({flag: value})
  out of its range."""
  for name, value in values.items():
    errors.check_number(f"--{name}", value, **FLAG_RANGES[name])


def latents(gan, num, seed, truncation=None):
  """(z [num, z_dim], uniform labels [num] or None): evaluation's run-0 draw,
  or the truncated normal times `truncation`."""
  z, labels = inference_generator.evaluation_latents(
      gan, seed, inference_generator.SEED_Z, 0, 0, num)
  if truncation is not None:
    errors.check_number("--truncation", truncation, **FLAG_RANGES["truncation"])
    z = truncation * tf.random.stateless_truncated_normal(
        [num, gan.z_dim], random_ops.derive_seed((seed, _SALT_TRUNCATION), 0))
  return z, labels


def interpolated(z, rows, columns):
  """Rows of `columns` latents from z[2r] to z[2r + 1], linearly."""
  z = tf.reshape(z[:2 * rows], [rows, 2, -1])
  t = tf.linspace(0.0, 1.0, columns)[None, :, None]
  return tf.reshape(z[:, :1] * (1.0 - t) + z[:, 1:] * t, [rows * columns, -1])


def sample_images(gan, num=64, columns=8, classes=None, truncation=None,
                  interpolate=False, seed=42):
  """(images [N, H, W, C] in [0, 1], labels [N] or None) of the generator
  `Evaluator.prepare_generator` loads from `gan`'s current weights."""
  evaluator = evaluator_lib.Evaluator(gan, num_averaging_runs=1)
  generator = evaluator.prepare_generator()
  if classes:
    rows = len(classes)
    num = rows * columns
  else:
    rows = -(-num // columns)
  count = 2 * rows if interpolate else num
  z, labels = latents(gan, max(count, num), seed, truncation)
  if interpolate:
    z = interpolated(z, rows, columns)[:num]
  z = z[:num]
  if classes:
    labels = tf.constant(np.repeat(classes, columns), tf.int32)
  elif labels is not None:
    labels = labels[:num]
    if interpolate:  # One class per row.
      labels = tf.repeat(labels[:rows], columns)[:num]
  images = generator(z, labels).numpy()
  return images, None if labels is None else labels.numpy()


def write_png(images, path, columns):
  """Writes a grid of `images` to `path` atomically (temporary file, rename)."""
  sheet = polygons.contact_sheet(images, columns=columns)
  if sheet.shape[-1] == 1:
    sheet = sheet[..., 0]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  png = io.BytesIO()
  Image.fromarray(sheet).save(png, format="PNG")
  return model_dir_lib.atomic_write_bytes(path, png.getvalue())


def sample_model_dir(model_dir, out, checkpoint=None, gin_configs=(),
                     gin_bindings=(), **options):
  """Configures and restores a model directory's checkpoint (default: the
  latest), writes the sample grid to `out`; returns (path, checkpoint)."""
  if not os.path.isdir(model_dir):
    raise checkpoints.CheckpointNotFoundError(
        f"Model directory {model_dir!r} does not exist.")
  path = checkpoint or checkpoints.latest_checkpoint(model_dir, required=True)
  configs, bindings = run_info.configuration(model_dir, gin_configs,
                                             gin_bindings)
  gin_setup.parse(configs, bindings)
  builder.set_random_seeds(builder.get_run_config().tf_random_seed)
  gan = builder.build_gan(model_dir)
  checkpoints.restore_gan(gan, path)
  logs.start()
  classes = parse_classes(options.pop("classes", None), gan.num_classes
                          if gan.conditional else None)
  if options.get("seed") is None:
    options["seed"] = evaluator_lib.eval_options().seed
  columns = int(options.get("columns", 8))
  images, _ = sample_images(gan, classes=classes, **options)
  return write_png(images, out, columns), path


def _define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("model_dir", None, "Directory of the trained model.")
  flags.DEFINE_string("out", None, "PNG file to write the grid to.")
  flags.DEFINE_string("checkpoint", None, "Checkpoint path (model.ckpt-<step>); "
                      "default: the latest in --model_dir.")
  flags.DEFINE_integer("num", 64, "Samples (without --classes).")
  flags.DEFINE_integer("columns", 8, "Samples per row.")
  flags.DEFINE_string("classes", None, "Comma-separated class ids, one row of "
                      "--columns samples each (conditional models).")
  flags.DEFINE_float("truncation", None, "Truncation trick: z from a standard "
                     "normal truncated to [-2, 2], times this value.")
  flags.DEFINE_boolean("interpolate", False, "Each row interpolates linearly "
                       "between two latents.")
  flags.DEFINE_integer("seed", None, "Latent seed; default gin eval.seed (42), "
                       "the latents of evaluation's first run.")
  flags.DEFINE_multi_string("gin_config", [], "Gin config files; default: the "
                            "model_dir's latest operative_config-<step>.gin.")
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable).")
  flags.mark_flags_as_required(["model_dir", "out"])
  return flags.FLAGS


def main(argv):
  from absl import app  # pylint: disable=g-import-not-at-top
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  f = _FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.sample",
                                   model_dir=f.model_dir):
    check_flags({name: f[name].value for name in FLAG_RANGES})
    path, checkpoint = sample_model_dir(
        f.model_dir, f.out, checkpoint=f.checkpoint, gin_configs=f.gin_config,
        gin_bindings=f.gin_bindings, num=f.num, columns=f.columns,
        classes=f.classes, truncation=f.truncation, interpolate=f.interpolate,
        seed=f.seed)
  print(f"Wrote {path} ({checkpoint}).")


if __name__ == "__main__":
  import sys  # pylint: disable=g-import-not-at-top
  from absl import app  # pylint: disable=g-import-not-at-top
  _FLAGS = _define_flags()
  if any(a in ("-h", "--help", "-?", "--helpshort") for a in sys.argv[1:]):
    print(__doc__)
    print(_FLAGS.main_module_help())  # absl's own --help exits with status 1.
    sys.exit(0)
  app.run(main)
