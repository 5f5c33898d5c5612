"""Evaluation scores as TensorBoard scalars: the `eval` run beside training's.

`write_eval_scalars(ctx, step, checkpoint_path, scores)` is an after-evaluation
action (compare_gan2/main.py wires it): for every `<metric>_mean` score it writes
the scalar `<metric>` at the checkpoint's step into `<model_dir>/eval`, so
TensorBoard draws FID or class accuracy over steps next to the training losses
(compare_gan's eval job wrote its scores to the same kind of `eval` directory).
NaN scores (failed runs) are skipped.
"""

import math
import os

import tensorflow as tf

from compare_gan2 import model_dir as model_dir_lib

EVAL_RUN = model_dir_lib.EVAL_RUN
_SUFFIX = "_mean"


def eval_scalars(scores):
  """{metric: value} of the finite `<metric>_mean` entries of `scores`."""
  out = {}
  for key, value in scores.items():
    if not key.endswith(_SUFFIX) or isinstance(value, (str, bytes)):
      continue
    if value is not None and math.isfinite(float(value)):
      out[key[:-len(_SUFFIX)]] = float(value)
  return out


def write_eval_scalars(ctx, step, checkpoint_path, scores):
  """Writes the checkpoint's scores to `<ctx.model_dir>/eval` (see module doc)."""
  del checkpoint_path
  writer = tf.summary.create_file_writer(os.path.join(ctx.model_dir, EVAL_RUN))
  with writer.as_default():
    for name, value in sorted(eval_scalars(scores).items()):
      tf.summary.scalar(name, value, step=int(step))
  writer.flush()
  writer.close()
