"""Batch-norm statistics per truncation value (the `default` signature's).

For each t of `hub_export.truncation_grid` the generator runs in training-mode
batch norm on z = t * truncnorm(-2, 2) with uniform random classes; each layer's
batch moments, averaged over batches, are stored as `standing_statistics/<layer>/
{mean,variance}` [grid, C] and interpolated at the module's `truncation` input
(DeepMind's biggan-* modules; compare_gan had no truncation input). Evaluation's
standing statistics of G with accumulators are stored the same way, without a
grid, as `evaluation_statistics/<layer>/{mean,variance}` [C].
"""

import time

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import inference_generator
from compare_gan2.export import model_info

STATS_SCOPE = "standing_statistics"
EVAL_STATS_SCOPE = "evaluation_statistics"


def truncated_normal(rng, shape, bound=2.0):
  """Standard normal samples truncated to [-bound, bound] (by resampling)."""
  x = rng.standard_normal(shape)
  outside = np.abs(x) > bound
  while outside.any():
    x[outside] = rng.standard_normal(int(outside.sum()))
    outside = np.abs(x) > bound
  return x.astype(np.float32)


def stats_inputs(z_dim, num_classes, batch_size, num_batches, seed):
  """Base latents truncnorm(-2, 2) [num_batches, bs, z_dim] and class ids.

  The latents for truncation t are `t * base` (the same base for every t, so
  the statistics vary smoothly along the grid); class ids are uniform in
  [0, num_classes) (None when num_classes is None).
  """
  rng = np.random.default_rng(seed)
  base = truncated_normal(rng, [num_batches, batch_size, z_dim])
  labels = None
  if num_classes:
    labels = rng.integers(0, num_classes, size=[num_batches, batch_size])
  return base, labels


def compute_truncation_statistics(generator, info, options):
  """{layer key: (mean [grid, C], variance [grid, C])} as float32 numpy.

  Per-layer batch moments of the (EMA) generator in training-mode batch norm
  on z = t * truncnorm(-2, 2) with uniform random classes, averaged over
  `stats_num_batches` batches, for each t of the grid
  (`InferenceGenerator.measure_batch_statistics`, as evaluation's standing
  statistics).
  """
  base, labels = stats_inputs(info.z_dim, info.num_classes if info.conditional
                              else None, options.stats_batch_size,
                              options.stats_num_batches, options.stats_seed)
  per_t = []
  grid = list(options.truncation_grid)
  start = time.time()
  for i, t in enumerate(grid):
    batches = [(tf.constant(t * base[b]),
                None if labels is None else tf.constant(labels[b], tf.int32))
               for b in range(options.stats_num_batches)]
    per_t.append(generator.measure_batch_statistics(batches))
    elapsed = time.time() - start
    logging.info("Export: batch-norm statistics for truncation %g (%d/%d), "
                 "%.1fs, ETA %.0fs", t, i + 1, len(grid), elapsed,
                 elapsed / (i + 1) * (len(grid) - i - 1))
  return {key: (np.stack([s[key][0] for s in per_t]),
                np.stack([s[key][1] for s in per_t])) for key in per_t[0]}


# ----------------------------------------------------------------------------
# Statistics as variables: names, specs and values.
# ----------------------------------------------------------------------------


def stats_variable_names(key, scope=STATS_SCOPE):
  base = f"{scope}/{key.replace('#', '_call')}"
  return base + "/mean", base + "/variance"


def stats_specs(stats, scope=STATS_SCOPE):
  specs = {}
  for key, (mean, variance) in (stats or {}).items():
    mean_name, var_name = stats_variable_names(key, scope)
    specs[mean_name] = model_info.VarSpec(mean.shape, tf.float32, False)
    specs[var_name] = model_info.VarSpec(variance.shape, tf.float32, False)
  return specs


def stats_values(stats, scope=STATS_SCOPE):
  values = {}
  for key, (mean, variance) in (stats or {}).items():
    mean_name, var_name = stats_variable_names(key, scope)
    values[mean_name], values[var_name] = mean, variance
  return values


# ----------------------------------------------------------------------------
# Reading them back in a graph (a batch_stats_hook).
# ----------------------------------------------------------------------------


def interpolation_weights(grid, truncation):
  """(left index, weight of the right neighbour) for `truncation` on `grid`.

  truncation is clamped to [grid[0], grid[-1]]; the statistics are
  (1 - w) * S[i] + w * S[i + 1] (S[i] alone for a one-point grid).
  """
  grid_t = tf.constant(grid, tf.float32)
  if len(grid) == 1:
    return tf.constant(0), tf.constant(0.0)
  t = tf.clip_by_value(tf.cast(truncation, tf.float32), grid[0], grid[-1])
  # Number of interior grid points <= t: the left neighbour's index.
  index = tf.reduce_sum(tf.cast(grid_t[1:-1] <= t, tf.int32))
  left = tf.gather(grid_t, index)
  right = tf.gather(grid_t, index + 1)
  return index, (t - left) / (right - left)


def stats_lookup(stats_variables, scope):
  """key -> (mean, variance) graph variables of `scope`, or ExportError."""

  def lookup(key):
    mean_name, var_name = stats_variable_names(key, scope)
    if mean_name not in stats_variables:
      raise model_info.ExportError(
          f"Batch norm layer {key!r} has no standing statistics (it was not "
          "called in the training-mode run).")
    return stats_variables[mean_name], stats_variables[var_name]

  return lookup


def interpolating_hook(stats_variables, grid, truncation):
  """A batch_stats_hook returning the standing statistics interpolated at
  `truncation`."""
  index, weight = interpolation_weights(grid, truncation)

  def interpolate(table):
    if len(grid) == 1:
      return table[0]
    return ((1.0 - weight) * tf.gather(table, index) +
            weight * tf.gather(table, index + 1))

  tables = stats_lookup(stats_variables, STATS_SCOPE)

  def lookup(key):
    mean, variance = tables(key)
    return interpolate(mean), interpolate(variance)

  return inference_generator.substituting_hook(lookup)


def evaluation_stats_hook(stats_variables):
  """A batch_stats_hook returning evaluation's standing statistics."""
  return inference_generator.substituting_hook(
      stats_lookup(stats_variables, EVAL_STATS_SCOPE))
