"""Import a compare_gan (TF1) checkpoint as a compare_gan2 checkpoint.

    python -m compare_gan2.import_checkpoint \
        --checkpoint=/old/run/model.ckpt-100000 \
        --gin_config=/old/run/operative_config-0.gin \
        --model_dir=runs/imported

The model is configured from the gin files and bindings (compare_gan's gin
files and operative configs parse unchanged). The written checkpoint,
`<model_dir>/model.ckpt-<global_step>`, resumes training
(`compare-gan2 --model_dir=runs/imported --gin_config=...`), evaluates and
exports like one written by compare_gan2; an `operative_config-<step>.gin`
is written beside it.

compare_gan's checkpoints are TF1 name-based (`tf.compat.v1.train.Saver`).
Their variables map to compare_gan2's like this (`tf1_to_compare_gan2_names`):

| compare_gan (TF1) | compare_gan2 |
|---|---|
| `generator/...`, `discriminator/...` (weights, `u_var`, `moving_mean`, `accu/...`) | the same names |
| `<var>/ExponentialMovingAverage` | the same names (EMA generator) |
| `<var>/g_opt`, `<var>/g_opt_1` (`<var>/d_opt`, ...) | the optimizer's slots of `<var>` (Adam: `m`, `v`) |
| `beta1_power`, `beta2_power` and their twins `beta1_power_1`, `beta2_power_1` | `d_opt/iterations`, `g_opt/iterations`: t with beta1_power = beta1^(t + 1) |
| `global_step`, `global_step_disc` | the same names |

A checkpoint variable that maps to nothing, or a model variable the
checkpoint lacks, is an error listing them (usually: another gin config).
"""  # noqa: E501 (a Markdown table)

import math
import sys

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import errors  # noqa: E402
from compare_gan2.training import checkpoints  # noqa: E402

_POWERS = ("beta1_power", "beta2_power")


class CheckpointImportError(errors.UserError):
  """The compare_gan checkpoint does not fit the configured model."""


def _slot_names(optimizer, tf1_name):
  """{TF1 slot suffix: our slot name}: `<opt>` -> slot 0, `<opt>_1` -> slot 1."""
  suffixes = [tf1_name] + [f"{tf1_name}_{i}" for i in range(1, 4)]
  return dict(zip(suffixes, optimizer._SLOT_NAMES))  # pylint: disable=protected-access


def _iterations_from_powers(powers, beta1, beta2):
  """t such that beta1_power = beta1^(t + 1) (and beta2_power = beta2^(t + 1))."""
  estimates = [math.log(float(p)) / math.log(b) - 1.0
               for p, b in zip(powers, (beta1, beta2)) if 0.0 < b < 1.0]
  if not estimates:
    raise CheckpointImportError("Adam with beta1 and beta2 outside (0, 1): its "
                                "step count cannot be read from beta*_power.")
  if max(estimates) - min(estimates) > 0.01:
    raise CheckpointImportError(
        f"beta1_power = {float(powers[0]):.6g} and beta2_power = "
        f"{float(powers[1]):.6g} do not fit the configured Adam (beta1 = {beta1}, "
        f"beta2 = {beta2}): set tf.train.AdamOptimizer.beta1 / beta2 (and "
        "ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer) as the compare_gan "
        "run had them.")
  return int(round(estimates[-1]))  # beta2 (near 1) is defined for beta1 = 0.


def tf1_to_compare_gan2_names(gan, tf1_names):
  """{TF1 checkpoint name: compare_gan2 checkpoint name} for a built GAN.

  Adam's `beta*_power` pairs are returned separately, as {"beta1_power": ...}
  groups: (list of (pair of TF1 names), list of optimizers) in creation order
  (compare_gan built the discriminator's optimizer first).
  """
  targets = gan.variables_to_save()
  optimizers = [(gan.d_optimizer, "d_opt"), (gan.g_optimizer, "g_opt")]
  mapping = {}
  for name in tf1_names:
    if name in targets:
      mapping[name] = name
      continue
    var, _, suffix = name.rpartition("/")
    for optimizer, tf1_opt in optimizers:
      slot = _slot_names(optimizer, tf1_opt).get(suffix)
      if slot and f"{var}/{slot}" in optimizer.slots:
        mapping[name] = f"{var}/{slot}"
        break
  return mapping


def _power_pairs(tf1_names):
  """[(beta1_power, beta2_power), (beta1_power_1, beta2_power_1), ...] present."""
  pairs = []
  for suffix in [""] + [f"_{i}" for i in range(1, 8)]:
    pair = tuple(p + suffix for p in _POWERS)
    if all(n in tf1_names for n in pair):
      pairs.append(pair)
  return pairs


def _assign_iterations(gan, reader, pairs):
  """Sets each Adam optimizer's `iterations` from a beta*_power pair.

  compare_gan created D's optimizer first (`beta1_power`), G's second
  (`beta1_power_1`); the counts must agree with global_step_disc (D) and
  global_step (G), which decides the order when the names alone would not.
  """
  steps = {id(gan.d_optimizer): int(gan.global_step_disc.numpy()),
           id(gan.g_optimizer): int(gan.global_step.numpy())}
  adams = [o for o in (gan.d_optimizer, gan.g_optimizer) if hasattr(o, "beta1")]
  for optimizer in (gan.d_optimizer, gan.g_optimizer):
    if optimizer not in adams:  # TF1 kept no counter; one update per step.
      optimizer.iterations.assign(steps[id(optimizer)])
  if len(pairs) != len(adams):
    raise CheckpointImportError(
        f"The checkpoint has {len(pairs)} Adam step counters (beta1_power, ...) "
        f"but the configured model has {len(adams)} Adam optimizers: was it "
        "trained with other optimizers (ModularGAN.g_optimizer_fn / "
        "d_optimizer_fn)?")
  if not adams:
    return
  counts = [[_iterations_from_powers([reader.get_tensor(n) for n in pair],
                                     o.beta1, o.beta2) for o in adams]
            for pair in pairs]
  for order in (list(range(len(adams))), list(reversed(range(len(adams))))):
    if all(counts[p][a] == steps[id(adams[a])] for p, a in enumerate(order)):
      for p, a in enumerate(order):
        adams[a].iterations.assign(counts[p][a])
      return
  raise CheckpointImportError(
      f"Adam step counters {counts} do not match global_step_disc / global_step "
      f"{sorted(steps.values())}; is beta1/beta2 configured as in compare_gan "
      "(tf.train.AdamOptimizer.beta1 / beta2)?")


def import_checkpoint(gan, tf1_checkpoint, model_dir):
  """Writes `tf1_checkpoint` (compare_gan) as `model_dir/model.ckpt-<step>`.

  Args:
    gan: the GAN built from the gin config the checkpoint was trained with.
    tf1_checkpoint: path prefix of the compare_gan checkpoint.
    model_dir: output directory; it must not hold checkpoints already.

  Returns:
    The written checkpoint path.

  Raises:
    CheckpointImportError: unknown or missing variables, other shapes, a
      model_dir that already has checkpoints.
    checkpoints.CheckpointNotFoundError: no such checkpoint.
  """
  if not tf.io.gfile.exists(tf1_checkpoint + ".index"):
    raise checkpoints.CheckpointNotFoundError(
        f"Checkpoint not found: {tf1_checkpoint!r} (no .index file).")
  if checkpoints.all_checkpoints(model_dir):
    raise CheckpointImportError(
        f"{model_dir!r} already holds checkpoints; import into a new --model_dir "
        "(nothing is overwritten).")
  gan.build()
  reader = tf.train.load_checkpoint(tf1_checkpoint)
  shapes = reader.get_variable_to_shape_map()
  pairs = _power_pairs(shapes)
  power_names = {n for pair in pairs for n in pair}
  mapping = tf1_to_compare_gan2_names(
      gan, [n for n in shapes if n not in power_names])
  targets = gan.variables_to_save()
  counters = {f"{o.name}/iterations" for o in (gan.d_optimizer, gan.g_optimizer)}
  unknown = sorted(n for n in shapes if n not in mapping and n not in power_names)
  missing = sorted(set(targets) - set(mapping.values()) - counters)
  wrong = sorted(f"{n} {tuple(shapes[n])} vs {tuple(targets[m].shape)}"
                 for n, m in mapping.items()
                 if tuple(shapes[n]) != tuple(targets[m].shape))
  if unknown or missing or wrong:
    parts = [f"{len(unknown)} checkpoint variables unknown to the configured "
             f"model: {unknown[:10]}" if unknown else "",
             f"{len(missing)} model variables missing from the checkpoint: "
             f"{missing[:10]}" if missing else "",
             f"other shapes: {wrong[:10]}" if wrong else ""]
    raise CheckpointImportError(
        f"Cannot import {tf1_checkpoint!r}: "
        + "; ".join(p for p in parts if p)
        + ". Pass the gin config the compare_gan run was trained with "
        "(its operative_config-<step>.gin).")
  for tf1_name, name in mapping.items():
    var = targets[name]
    var.assign(np.asarray(reader.get_tensor(tf1_name)).astype(
        var.dtype.as_numpy_dtype))
  _assign_iterations(gan, reader, pairs)
  checkpoint = checkpoints.make_checkpoint(targets)
  manager = checkpoints.make_manager(checkpoint, model_dir, None)
  return checkpoints.save(manager, int(gan.global_step.numpy()))


def main(argv=None):
  """`python -m compare_gan2.import_checkpoint`; returns the exit status."""
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(
      prog=errors.program_name("python -m compare_gan2.import_checkpoint"),
      description="Convert a compare_gan (TF1) checkpoint to compare_gan2.")
  parser.add_argument("--checkpoint", required=True,
                      help="compare_gan checkpoint prefix (model.ckpt-<step>)")
  parser.add_argument("--model_dir", required=True,
                      help="new compare_gan2 model directory")
  parser.add_argument("--gin_config", action="append", default=[],
                      help="gin file the run was trained with (repeatable)")
  parser.add_argument("--gin_bindings", action="append", default=[],
                      help="gin binding (repeatable)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import gin_setup
  from compare_gan2 import builder
  from compare_gan2.training import runner
  # pylint: enable=g-import-not-at-top
  with errors.reported_as_one_line("python -m compare_gan2.import_checkpoint"):
    gin_setup.parse(args.gin_config, args.gin_bindings)
    builder.check_model_dir(args.model_dir)
    gan = builder.build_gan(args.model_dir)
    path = import_checkpoint(gan, args.checkpoint, args.model_dir)
    runner.write_operative_config(args.model_dir, checkpoints.step_of(path))
  print(path)
  return 0


if __name__ == "__main__":
  sys.exit(main())
