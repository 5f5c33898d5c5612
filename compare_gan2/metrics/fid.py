"""Frechet Inception Distance (Heusel et al. 2017) and intra-class FID.

compare_gan's ``FIDScoreTask`` computes
``tfgan.eval.frechet_classifier_distance_from_activations(real, fake)`` on the
2048-d Inception ``pool_3`` activations; `frechet_distance_from_activations` is
that computation on NumPy arrays:

    FID = |m_r - m_f|^2 + Tr(C_r + C_f - 2 (C_r C_f)^(1/2))

with unbiased (N-1) sample covariances, in float64, and the trace of the
matrix square root computed as tensorflow-gan does (Tr sqrt(sqrt(C_r) C_f
sqrt(C_r)), symmetric square roots by eigendecomposition). The moments are
accumulated over row chunks, so memory is O(D^2) beyond the inputs (50k x 2048
float32 activations are not copied to float64).
"""

import typing

import numpy as np

from compare_gan2.metrics import _checks


_CHUNK_ROWS = 4096


def moments(activations):
  """(mean [D], unbiased covariance [D, D]) in float64, accumulated by chunks."""
  n, dim = activations.shape
  total = np.zeros(dim)
  for start in range(0, n, _CHUNK_ROWS):
    total += activations[start:start + _CHUNK_ROWS].sum(axis=0, dtype=np.float64)
  mean = total / n
  scatter = np.zeros((dim, dim))
  for start in range(0, n, _CHUNK_ROWS):
    centered = activations[start:start + _CHUNK_ROWS].astype(np.float64) - mean
    scatter += centered.T @ centered
  return mean, scatter / (n - 1)


def _symmetric_sqrt(matrix):
  values, vectors = np.linalg.eigh(matrix)
  return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def frechet_distance_from_moments(mean_a, cov_a, mean_b, cov_b):
  """|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) of two Gaussians."""
  sqrt_a = _symmetric_sqrt(cov_a)
  product = sqrt_a @ cov_b @ sqrt_a
  product = (product + product.T) / 2  # Symmetric up to rounding.
  trace_sqrt = np.sum(np.sqrt(np.maximum(np.linalg.eigvalsh(product), 0.0)))
  diff = mean_a - mean_b
  return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt)


def frechet_distance_from_activations(real_activations, fake_activations):
  """Frechet distance between two sets of activations.

  Args:
    real_activations: `[N_r, D]` array (e.g. Inception pool_3 of real images).
    fake_activations: `[N_f, D]` array with the same D.

  Returns:
    The distance as a Python float (symmetric in its arguments).

  Raises:
    ValueError: inputs are not 2-D, have different D, fewer than 2 rows
      (the covariance is undefined), or contain NaN / inf.
  """
  real, fake = _checks.check_features(real_activations, fake_activations,
                                      min_rows=2, dtype=None)
  return frechet_distance_from_moments(*moments(real), *moments(fake))


class IntraClassFID(typing.NamedTuple):
  """Result of `intra_class_fid`.

  Attributes:
    mean: mean FID over the evaluated classes (unweighted).
    per_class: `{class label: FID}` for every evaluated class.
    skipped: sorted labels of classes that were not evaluated because the
      real or the fake set has fewer than `min_samples_per_class` of them.
  """
  mean: float
  per_class: dict
  skipped: list


def intra_class_fid(real_activations, real_labels, fake_activations,
                    fake_labels, min_samples_per_class=2):
  """FID computed within each class, then averaged over classes.

  The classes considered are the union of the labels seen in either set (real
  label -1, an unlabelled example, is ignored). A
  class is evaluated only if both sets hold at least `min_samples_per_class`
  examples of it (2 is the minimum for a covariance; with fewer samples than
  feature dimensions the covariances are rank-deficient and the per-class FID is
  strongly biased, so compare models with equal per-class sample sizes).

  Args:
    real_activations: `[N_r, D]` array.
    real_labels: `[N_r]` integer labels or `[N_r, K]` one-hot / scores.
    fake_activations: `[N_f, D]` array.
    fake_labels: `[N_f]` integer labels (e.g. the labels the generator was
      conditioned on) or `[N_f, K]` one-hot / scores.
    min_samples_per_class: minimum examples per class in each set (>= 2).

  Returns:
    An `IntraClassFID(mean, per_class, skipped)` named tuple.

  Raises:
    ValueError: invalid inputs, or no class has enough samples in both sets.
  """
  if int(min_samples_per_class) != min_samples_per_class or (
      min_samples_per_class < 2):
    raise ValueError("min_samples_per_class must be an integer >= 2, got "
                     f"{min_samples_per_class!r}.")
  real, fake = _checks.check_features(real_activations, fake_activations)
  real_labels = _checks.as_labels(real_labels, "real_labels", real.shape[0])
  fake_labels = _checks.as_labels(fake_labels, "fake_labels", fake.shape[0])
  per_class = {}
  skipped = []
  # Label -1 marks an unlabelled example (dataset.labeled_fraction).
  for label in np.union1d(real_labels[real_labels >= 0], fake_labels):
    r = real[real_labels == label]
    f = fake[fake_labels == label]
    if min(len(r), len(f)) < min_samples_per_class:
      skipped.append(int(label))
      continue
    per_class[int(label)] = frechet_distance_from_activations(r, f)
  if not per_class:
    raise ValueError(
        "intra_class_fid: no class has at least "
        f"{min_samples_per_class} samples in both the real and the fake set.")
  return IntraClassFID(mean=float(np.mean(list(per_class.values()))),
                       per_class=per_class, skipped=skipped)
