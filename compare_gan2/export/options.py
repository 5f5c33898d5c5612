"""Gin `hub_export.*`: how the export computes standing statistics, and whether
the evaluation schedules export what they evaluate (`ExportOptions`)."""

from collections.abc import Sequence
import dataclasses

import gin


@dataclasses.dataclass(frozen=True)
class ExportOptions:
  """How standing statistics are computed (gin selector `hub_export`)."""
  truncation_grid: tuple[float, ...]
  stats_batch_size: int
  stats_num_batches: int
  stats_seed: int
  export_evaluated_checkpoints: bool


def default_truncation_grid(size: int = 50, include_zero: bool = False
                            ) -> tuple[float, ...]:
  """(0.02, 0.04, ..., 1.00) for size 50; with include_zero also 0.00 first."""
  start = 0 if include_zero else 1
  return tuple(float(k) / size for k in range(start, size + 1))


# module=: the selector's full name stays `compare_gan2.export.hub_export.hub_export`.
@gin.configurable("hub_export", module="compare_gan2.export.hub_export")
def get_export_options(truncation_grid_size: int = 50,
                       truncation_grid_include_zero: bool = False,
                       truncation_grid: Sequence[float] | None = None,
                       stats_batch_size: int = 64,
                       stats_num_batches: int = 8,
                       stats_seed: int = 0,
                       export_evaluated_checkpoints: bool = False) -> ExportOptions:
  """Gin `hub_export.*`: standing statistics and the evaluation hook.

  Args:
    truncation_grid_size: grid points in (0, 1]: k / size for k = 1..size
      (50: 0.02, 0.04, ..., 1.00).
    truncation_grid_include_zero: also a point at 0.00 (51 values for 50, as
      DeepMind's biggan-deep modules).
    truncation_grid: explicit increasing list of truncation values; overrides
      the two above.
    stats_batch_size: batch size of the training-mode BN runs. Statistics are
      averages of per-batch moments, so this is the batch whose statistics the
      module reproduces.
    stats_num_batches: batches averaged per truncation value.
    stats_seed: seed of the latents and classes used for the statistics.
    export_evaluated_checkpoints: the evaluation schedules also export every
      checkpoint they evaluate (compare_gan's behaviour; off by default, as
      it roughly doubles evaluation time).
  """
  if truncation_grid is None:
    grid = default_truncation_grid(truncation_grid_size,
                                   truncation_grid_include_zero)
  else:
    grid = tuple(float(t) for t in truncation_grid)
  if not grid or any(b <= a for a, b in zip(grid, grid[1:])):
    raise ValueError(f"hub_export truncation grid must be a non-empty increasing "
                     f"list, got {grid}.")
  if stats_batch_size < 2 or stats_num_batches < 1:
    raise ValueError("hub_export needs stats_batch_size >= 2 and "
                     "stats_num_batches >= 1.")
  return ExportOptions(grid, int(stats_batch_size), int(stats_num_batches),
                       int(stats_seed), bool(export_evaluated_checkpoints))
