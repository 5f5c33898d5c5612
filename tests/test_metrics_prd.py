"""PRD (Sajjadi et al. 2018); cases follow compare_gan's prd_score_test."""

import numpy as np
import pytest

from compare_gan2.metrics import prd


def test_compute_prd_no_overlap():
  result = np.ravel(prd.compute_prd([0, 1], [1, 0]))
  np.testing.assert_almost_equal(result, 0)


def test_compute_prd_perfect_overlap():
  precision, recall = prd.compute_prd([1, 0], [1, 0], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [1, 1])


def test_compute_prd_low_precision_high_recall():
  precision, recall = prd.compute_prd([0.5, 0.5], [1, 0], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [0.5, 0.5])
  np.testing.assert_almost_equal(precision[10], 0.5)
  np.testing.assert_almost_equal(recall[1], 1)


def test_compute_prd_high_precision_low_recall():
  precision, recall = prd.compute_prd([1, 0], [0.5, 0.5], num_angles=11)
  np.testing.assert_almost_equal([precision[5], recall[5]], [0.5, 0.5])
  np.testing.assert_almost_equal(recall[1], 0.5)
  np.testing.assert_almost_equal(precision[10], 1)


@pytest.mark.parametrize("epsilon", [0, 1, -1, 0.1, np.nan])
def test_compute_prd_bad_epsilon(epsilon):
  with pytest.raises(ValueError, match="epsilon"):
    prd.compute_prd([1], [1], epsilon=epsilon)


@pytest.mark.parametrize("num_angles", [0, 1, -1, 2, 1e6 + 1, 2.5, 3.5])
def test_compute_prd_bad_num_angles(num_angles):
  with pytest.raises(ValueError, match="num_angles"):
    prd.compute_prd([1], [1], num_angles=num_angles)


def test_compute_prd_bad_distributions():
  with pytest.raises(ValueError):
    prd.compute_prd([1, 0], [1])
  with pytest.raises(ValueError):
    prd.compute_prd([1, np.nan], [1, 0])
  with pytest.raises(ValueError):
    prd.compute_prd([1.5, -0.5], [1, 0])


def test_cluster_into_bins_shapes_and_normalisation():
  eval_bins, ref_bins = prd.cluster_into_bins(np.zeros([5, 4]),
                                              np.ones([5, 4]), 3)
  assert eval_bins.shape == ref_bins.shape == (3,)
  assert eval_bins.sum() == pytest.approx(1)
  assert ref_bins.sum() == pytest.approx(1)
  # The two point masses land in different clusters.
  assert np.dot(eval_bins, ref_bins) == 0


def test_kmeans_is_seeded_and_finds_separated_clusters():
  rng = np.random.default_rng(0)
  centers = rng.normal(size=(4, 16)) * 10
  data = np.concatenate([c + rng.normal(size=(300, 16)) for c in centers])
  labels, _ = prd.kmeans(data, 4, seed=3, batch_size=256, num_steps=20)
  labels2, _ = prd.kmeans(data, 4, seed=3, batch_size=256, num_steps=20)
  np.testing.assert_array_equal(labels, labels2)
  # Each true cluster maps to exactly one found cluster.
  for i in range(4):
    assert len(np.unique(labels[i * 300:(i + 1) * 300])) == 1
  assert len(np.unique(labels)) == 4
  with pytest.raises(ValueError):
    prd.kmeans(data[:3], 4)


def test_compute_prd_from_embedding_identical_and_disjoint():
  rng = np.random.default_rng(1)
  centers = rng.normal(size=(5, 8)) * 10
  a = np.concatenate([c + rng.normal(size=(100, 8)) for c in centers])
  b = np.concatenate([c + rng.normal(size=(100, 8)) for c in centers])
  kw = dict(num_clusters=10, num_runs=2, num_angles=101)
  f8, f1_8 = prd.prd_to_max_f_beta_pair(*prd.compute_prd_from_embedding(a, b, **kw))
  assert f8 > 0.95 and f1_8 > 0.95
  f8, f1_8 = prd.prd_to_max_f_beta_pair(*prd.compute_prd_from_embedding(a, a + 1000, **kw))
  assert f8 < 1e-6 and f1_8 < 1e-6
  # Mode dropping: eval covers 2 of 5 modes -> high precision, low recall.
  dropped = np.concatenate([a[:200], a[:200], a[:100]])
  f8, f1_8 = prd.prd_to_max_f_beta_pair(*prd.compute_prd_from_embedding(dropped, b, **kw))
  assert f1_8 > 0.9 and f8 < 0.6


def test_compute_prd_from_embedding_balance():
  with pytest.raises(ValueError, match="enforce_balance"):
    prd.compute_prd_from_embedding(np.array([[0], [0], [1]]),
                                   np.array([[0], [1]]), num_clusters=2,
                                   enforce_balance=True)
  precision, recall = prd.compute_prd_from_embedding(
      np.array([[0], [0], [1]]), np.array([[0], [1]]), num_clusters=2,
      enforce_balance=False, num_runs=1)
  assert precision.shape == recall.shape == (1001,)


def test_f_beta_values():
  precision = np.array([1, 1, 0, 0, 0.5, 1, 0.5])
  recall = np.array([1, 0, 1, 0, 0.5, 0.5, 1])
  np.testing.assert_almost_equal(prd.prd_to_f_beta(precision, recall, beta=1),
                                 [1, 0, 0, 0, 0.5, 2 / 3, 2 / 3])
  np.testing.assert_almost_equal(prd.prd_to_f_beta(precision, recall, beta=2),
                                 [1, 0, 0, 0, 0.5, 5 / 9, 5 / 6])
  np.testing.assert_almost_equal(prd.prd_to_f_beta(precision, recall, beta=0.5),
                                 [1, 0, 0, 0, 0.5, 5 / 6, 5 / 9])
  assert prd.prd_to_f_beta(np.array([]), np.array([])).shape == (0,)
  f8, f1_8 = prd.prd_to_max_f_beta_pair(precision, recall)
  assert f8 == pytest.approx(np.max(prd.prd_to_f_beta(precision, recall, 8)))
  assert f1_8 == pytest.approx(np.max(prd.prd_to_f_beta(precision, recall, 1 / 8)))


@pytest.mark.parametrize("beta", [0, -3, np.nan])
def test_bad_beta(beta):
  with pytest.raises(ValueError, match="beta"):
    prd.prd_to_f_beta(np.ones(1), np.ones(1), beta=beta)
  with pytest.raises(ValueError, match="beta"):
    prd.prd_to_max_f_beta_pair(np.ones(1), np.ones(1), beta=beta)


@pytest.mark.parametrize("fn", [prd.prd_to_f_beta, prd.prd_to_max_f_beta_pair])
def test_bad_precision_or_recall(fn):
  with pytest.raises(ValueError, match="precision"):
    fn(-np.ones(1), np.ones(1))
  with pytest.raises(ValueError, match="recall"):
    fn(np.ones(1), 2 * np.ones(1))


def test_plot_label_count_checked_before_matplotlib():
  with pytest.raises(ValueError):
    prd.plot(np.zeros([3, 2, 5]), labels=["1", "2"])
  with pytest.raises(ValueError):
    prd.plot(np.zeros([1, 2, 5]), labels=["1", "2", "3"])
