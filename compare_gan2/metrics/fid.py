"""Frechet Inception Distance (Heusel et al. 2017) and intra-class FID.

compare_gan's ``FIDScoreTask`` computes
``tfgan.eval.frechet_classifier_distance_from_activations(real, fake)`` on the
2048-d Inception ``pool_3`` activations; `frechet_distance_from_activations` is
that computation on NumPy arrays:

    FID = |m_r - m_f|^2 + Tr(C_r + C_f - 2 (C_r C_f)^(1/2))

with unbiased (N-1) sample covariances, evaluated in float64 by tensorflow-gan.
"""

import typing

import numpy as np

from compare_gan2.metrics import _checks


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
  from compare_gan2 import tfgan  # pylint: disable=g-import-not-at-top
  real, fake = _checks.check_features(real_activations, fake_activations,
                                      min_rows=2)
  return float(tfgan.eval.frechet_classifier_distance_from_activations(
      real, fake))


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

  The classes considered are the union of the labels seen in either set. A
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
  for label in np.union1d(real_labels, fake_labels):
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
