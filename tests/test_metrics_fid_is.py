"""FID, intra-class FID and Inception Score."""

import numpy as np
import pytest

from compare_gan2 import metrics
from compare_gan2 import tfgan


def _toy():
  # compare_gan's fid_score_test toy example: 2-d activations, 100 each.
  real = np.ones((100, 2))
  real[:50, 0] = 2
  fake = np.ones((100, 2)) * 9
  fake[50:, 0] = 2
  return real, fake


def test_fid_golden_value_from_compare_gan():
  real, fake = _toy()
  assert metrics.frechet_distance_from_activations(real, fake) == (
      pytest.approx(89.091, abs=1e-4))


def test_fid_equals_tensorflow_gan():
  """The chunked float64 moments + eigendecomposition equal tensorflow-gan's
  frechet_classifier_distance_from_activations (compare_gan's FID)."""
  rng = np.random.default_rng(5)
  a = rng.normal(size=(9000, 16)).astype(np.float32)
  b = (rng.normal(0.5, 1.5, size=(5000, 16)) @ rng.normal(size=(16, 16))).astype(
      np.float32)
  want = float(tfgan.eval.frechet_classifier_distance_from_activations(
      a.astype(np.float64), b.astype(np.float64)))
  assert metrics.frechet_distance_from_activations(a, b) == pytest.approx(
      want, rel=1e-8)


def test_fid_symmetric_and_zero_for_identical_sets():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(200, 8))
  b = rng.normal(1.0, 2.0, size=(150, 8))
  ab = metrics.frechet_distance_from_activations(a, b)
  assert ab == pytest.approx(metrics.frechet_distance_from_activations(b, a),
                             rel=1e-6)
  assert isinstance(ab, float)
  assert abs(metrics.frechet_distance_from_activations(a, a)) < 1e-6


@pytest.mark.parametrize("real, fake", [
    (np.ones((10, 3)), np.ones((10, 4))),          # feature size mismatch
    (np.ones((1, 3)), np.ones((10, 3))),           # too few rows
    (np.ones(10), np.ones(10)),                    # not 2-d
    (np.full((10, 3), np.nan), np.ones((10, 3))),  # NaN
    (np.ones((10, 3)), np.full((10, 3), np.inf)),  # inf
])
def test_fid_rejects_bad_inputs(real, fake):
  with pytest.raises(ValueError):
    metrics.frechet_distance_from_activations(real, fake)


def test_intra_class_fid():
  rng = np.random.default_rng(1)
  real = rng.normal(size=(60, 4))
  fake = rng.normal(0.5, 1.0, size=(50, 4))
  real_labels = np.repeat([0, 1, 2], 20)
  fake_labels = np.concatenate([np.zeros(25), np.ones(24), [3]]).astype(int)
  result = metrics.intra_class_fid(real, real_labels, fake,
                                   np.eye(4)[fake_labels])  # one-hot works
  assert result.skipped == [2, 3]  # 2: no fake samples; 3: one fake sample
  assert sorted(result.per_class) == [0, 1]
  for c in (0, 1):
    expected = metrics.frechet_distance_from_activations(
        real[real_labels == c], fake[fake_labels == c])
    assert result.per_class[c] == pytest.approx(expected)
  assert result.mean == pytest.approx(np.mean(list(result.per_class.values())))
  with pytest.raises(ValueError, match="no class"):
    metrics.intra_class_fid(real, real_labels, fake, fake_labels,
                            min_samples_per_class=30)
  with pytest.raises(ValueError):
    metrics.intra_class_fid(real, real_labels[:-1], fake, fake_labels)


def _reference_is(logits, num_splits):
  """Salimans et al.'s split protocol, written independently in NumPy."""
  n = len(logits)
  scores = []
  for i in range(num_splits):
    part = logits[i * n // num_splits:(i + 1) * n // num_splits]
    p = np.exp(part - part.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    q = p.mean(axis=0, keepdims=True)
    scores.append(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))))
  return np.mean(scores), np.std(scores)


def test_inception_score_matches_tfgan_and_reference():
  rng = np.random.default_rng(2)
  logits = rng.normal(scale=3.0, size=(1005, 20))
  mean, std = metrics.inception_score(logits, num_splits=1)
  assert std == 0.0
  assert mean == pytest.approx(
      float(tfgan.eval.classifier_score_from_logits(logits)), rel=1e-10)
  mean, std = metrics.inception_score(logits, num_splits=10)
  ref_mean, ref_std = _reference_is(logits, 10)
  assert mean == pytest.approx(ref_mean, rel=1e-9)
  assert std == pytest.approx(ref_std, rel=1e-6)


def test_inception_score_extremes():
  # Confident and uniformly spread over K classes -> K; uninformative -> 1.
  k = 7
  confident = 50.0 * np.eye(k)[np.arange(700) % k]
  assert metrics.inception_score(confident, 1)[0] == pytest.approx(k, rel=1e-6)
  assert metrics.inception_score(np.zeros((70, k)), 10) == pytest.approx(
      (1.0, 0.0))


@pytest.mark.parametrize("logits, splits", [
    (np.zeros((10, 5)), 0), (np.zeros((10, 5)), 11), (np.zeros((10, 5)), 2.5),
    (np.zeros((10, 1)), 1), (np.full((10, 5), np.nan), 1), (np.zeros(10), 1),
])
def test_inception_score_rejects_bad_inputs(logits, splits):
  with pytest.raises(ValueError):
    metrics.inception_score(logits, splits)
