"""Precision and recall for distributions, PRD (Sajjadi et al. 2018).

"Assessing Generative Models via Precision and Recall",
https://arxiv.org/abs/1806.00035. Both sample sets are embedded (e.g. Inception
pool_3), clustered together into ``num_clusters`` bins, and the PRD curve of the
two resulting histograms is computed for ``num_angles`` slopes
``lambda = tan(angle)``, ``angle`` in ``[epsilon, pi/2 - epsilon]``::

    precision(lambda) = sum_i min(lambda * ref_i, eval_i)
    recall(lambda)    = precision(lambda) / lambda

The curve is summarised by ``(max F_8, max F_{1/8})``, which correlate with
recall and precision respectively.

Difference from compare_gan's ``prd_score`` (which uses scikit-learn's
``MiniBatchKMeans(n_clusters, n_init=10)``): clustering uses a small seeded
mini-batch k-means written here in NumPy (k-means++ initialisation, Sculley's
per-centre learning rate 1/count, best of ``n_init`` runs by full-data inertia,
final assignment on all points), so results are deterministic given ``seed``
and do not depend on scikit-learn. Cluster assignments are close but not
bit-identical to scikit-learn's.
"""

import numpy as np

from compare_gan2.metrics import _checks


def compute_prd(eval_dist, ref_dist, num_angles=1001, epsilon=1e-10):
  """PRD curve of a discrete distribution w.r.t. a reference distribution.

  Args:
    eval_dist: 1-D array of probabilities of the evaluated distribution.
    ref_dist: 1-D array of probabilities of the reference distribution (same
      length).
    num_angles: number of equiangular slopes, an integer in [3, 1e6].
    epsilon: angle offset used instead of the singular angles 0 and pi/2;
      must be in (0, 0.1).

  Returns:
    `(precision, recall)`, two float64 arrays of shape `[num_angles]`.

  Raises:
    ValueError: bad `epsilon` or `num_angles`, mismatched, negative or
      non-finite distributions.
  """
  if not 0 < epsilon < 0.1:
    raise ValueError(f"epsilon must be in (0, 0.1), got {epsilon!r}.")
  if (isinstance(num_angles, bool) or not np.isscalar(num_angles) or
      int(num_angles) != num_angles or not 3 <= num_angles <= 1e6):
    raise ValueError(
        f"num_angles must be an integer in [3, 1e6], got {num_angles!r}.")
  eval_dist = _checks.as_float_array(eval_dist, "eval_dist", ndim=1)
  ref_dist = _checks.as_float_array(ref_dist, "ref_dist", ndim=1)
  if eval_dist.shape != ref_dist.shape:
    raise ValueError(f"eval_dist and ref_dist have different lengths: "
                     f"{eval_dist.shape[0]} vs {ref_dist.shape[0]}.")
  if (eval_dist < 0).any() or (ref_dist < 0).any():
    raise ValueError("eval_dist and ref_dist must be non-negative.")
  angles = np.linspace(epsilon, np.pi / 2 - epsilon, num=int(num_angles))
  slopes = np.tan(angles)
  precision = np.minimum(ref_dist[None, :] * slopes[:, None],
                         eval_dist[None, :]).sum(axis=1)
  recall = precision / slopes
  # For normalised histograms both curves lie in [0, 1]; rounding in the
  # histogram sums can overshoot 1 by ~1e-16 (then the F-beta validation
  # would reject the curve), so clip.
  return np.clip(precision, 0.0, 1.0), np.clip(recall, 0.0, 1.0)


def _sq_dist_to_centers(data, data_sq, centers):
  return _checks.pairwise_sq_distances(data, centers, a_sq=data_sq)


def _kmeans_plus_plus(data, data_sq, k, rng):
  """k-means++ seeding (Arthur & Vassilvitskii 2007) on `data`."""
  n = data.shape[0]
  centers = np.empty((k, data.shape[1]))
  centers[0] = data[rng.integers(n)]
  closest = _sq_dist_to_centers(data, data_sq, centers[:1])[:, 0]
  for c in range(1, k):
    total = closest.sum()
    if total > 0:
      idx = rng.choice(n, p=closest / total)
    else:  # All points coincide with existing centres.
      idx = rng.integers(n)
    centers[c] = data[idx]
    closest = np.minimum(
        closest, _sq_dist_to_centers(data, data_sq, centers[c:c + 1])[:, 0])
  return centers


def kmeans(data, num_clusters, seed=0, n_init=10, batch_size=1024,
           num_steps=100, init_size=None):
  """Seeded mini-batch k-means; returns (labels `[N]`, centers `[k, D]`).

  Each of `n_init` runs seeds with k-means++ on a random subset of
  `init_size` points (default `max(3 * batch_size, 3 * k)`), then takes
  `num_steps` mini-batch steps (each centre moves to the running mean of the
  points ever assigned to it, i.e. learning rate 1/count). The run with the
  lowest inertia on the full data wins; labels are the nearest centres.
  """
  data = _checks.as_float_array(data, "data", ndim=2)
  n = data.shape[0]
  if int(num_clusters) != num_clusters or not 1 <= num_clusters <= n:
    raise ValueError(
        f"num_clusters must be an integer in [1, {n}] (number of points), "
        f"got {num_clusters!r}.")
  k = int(num_clusters)
  rng = np.random.default_rng(seed)
  data_sq = np.einsum("ij,ij->i", data, data)
  if init_size is None:
    init_size = max(3 * batch_size, 3 * k)
  best = None
  for _ in range(n_init):
    sub = rng.choice(n, size=min(n, init_size), replace=False)
    centers = _kmeans_plus_plus(data[sub], data_sq[sub], k, rng)
    counts = np.zeros(k)
    for _ in range(num_steps):
      idx = (rng.choice(n, size=batch_size, replace=False)
             if n > batch_size else np.arange(n))
      batch = data[idx]
      assign = np.argmin(_sq_dist_to_centers(batch, data_sq[idx], centers),
                         axis=1)
      one_hot = np.zeros((len(idx), k))
      one_hot[np.arange(len(idx)), assign] = 1.0
      batch_counts = one_hot.sum(axis=0)
      sums = one_hot.T @ batch
      hit = batch_counts > 0
      new_counts = counts + batch_counts
      centers[hit] = ((counts[hit, None] * centers[hit] + sums[hit]) /
                      new_counts[hit, None])
      counts = new_counts
    dists = _sq_dist_to_centers(data, data_sq, centers)
    labels = np.argmin(dists, axis=1)
    inertia = dists[np.arange(n), labels].sum()
    if best is None or inertia < best[0]:
      best = (inertia, labels, centers.copy())
  return best[1], best[2]


def cluster_into_bins(eval_data, ref_data, num_clusters, seed=0):
  """Clusters the union of both sets; returns the two cluster histograms.

  Returns:
    `(eval_bins, ref_bins)`, each `[num_clusters]`, each summing to 1 (the
    fraction of that set's points in every cluster).
  """
  eval_data = _checks.as_float_array(eval_data, "eval_data", ndim=2)
  ref_data = _checks.as_float_array(ref_data, "ref_data", ndim=2)
  labels, _ = kmeans(np.vstack([eval_data, ref_data]), num_clusters, seed=seed)
  eval_labels = labels[:len(eval_data)]
  ref_labels = labels[len(eval_data):]
  eval_bins = np.bincount(eval_labels, minlength=num_clusters) / len(eval_data)
  ref_bins = np.bincount(ref_labels, minlength=num_clusters) / len(ref_data)
  return eval_bins, ref_bins


def compute_prd_from_embedding(eval_data, ref_data, num_clusters=20,
                               num_angles=1001, num_runs=10,
                               enforce_balance=True, seed=0):
  """PRD curve from sample embeddings, averaged over `num_runs` clusterings.

  Args:
    eval_data: `[N_e, D]` embeddings of the evaluated (generated) samples.
    ref_data: `[N_r, D]` embeddings of the reference (real) samples.
    num_clusters: number of k-means clusters (histogram bins).
    num_angles: number of PRD slopes (see `compute_prd`).
    num_runs: independent clusterings to average over.
    enforce_balance: raise if `N_e != N_r` (unbalanced sets bias the
      clustering towards the larger one).
    seed: base seed; run `i` clusters with seed `(seed, i)`.

  Returns:
    `(precision, recall)`, float64 arrays of shape `[num_angles]`.

  Raises:
    ValueError: unbalanced sets with `enforce_balance`, or invalid inputs.
  """
  eval_data = _checks.as_float_array(eval_data, "eval_data", ndim=2)
  ref_data = _checks.as_float_array(ref_data, "ref_data", ndim=2)
  if enforce_balance and len(eval_data) != len(ref_data):
    raise ValueError(
        f"The number of points in eval_data ({len(eval_data)}) differs from "
        f"that in ref_data ({len(ref_data)}); pass enforce_balance=False to "
        "allow this (not recommended).")
  if eval_data.shape[1] != ref_data.shape[1]:
    raise ValueError("eval_data and ref_data have different feature sizes: "
                     f"{eval_data.shape[1]} vs {ref_data.shape[1]}.")
  if int(num_runs) != num_runs or num_runs < 1:
    raise ValueError(f"num_runs must be a positive integer, got {num_runs!r}.")
  precisions, recalls = [], []
  for run in range(int(num_runs)):
    eval_dist, ref_dist = cluster_into_bins(eval_data, ref_data, num_clusters,
                                            seed=(seed, run))
    precision, recall = compute_prd(eval_dist, ref_dist, num_angles)
    precisions.append(precision)
    recalls.append(recall)
  return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def _check_precision_recall(precision, recall, beta):
  precision = _checks.as_float_array(precision, "precision") if np.size(
      precision) else np.asarray(precision, dtype=np.float64)
  recall = _checks.as_float_array(recall, "recall") if np.size(
      recall) else np.asarray(recall, dtype=np.float64)
  if not ((precision >= 0).all() and (precision <= 1).all()):
    raise ValueError("All values in precision must be in [0, 1].")
  if not ((recall >= 0).all() and (recall <= 1).all()):
    raise ValueError("All values in recall must be in [0, 1].")
  if precision.shape != recall.shape:
    raise ValueError(f"precision and recall have different shapes: "
                     f"{precision.shape} vs {recall.shape}.")
  if not np.isscalar(beta) or not np.isfinite(beta) or beta <= 0:
    raise ValueError(f"beta must be a positive number, got {beta!r}.")
  return precision, recall


def prd_to_f_beta(precision, recall, beta=1, epsilon=1e-10):
  """Elementwise F_beta = (1 + b^2) p r / (b^2 p + r + epsilon).

  Raises:
    ValueError: precision or recall outside [0, 1], or beta <= 0.
  """
  precision, recall = _check_precision_recall(precision, recall, beta)
  return (1 + beta**2) * (precision * recall) / (
      (beta**2 * precision) + recall + epsilon)


def prd_to_max_f_beta_pair(precision, recall, beta=8):
  """`(max F_beta, max F_{1/beta})` over a PRD curve, as Python floats.

  With the default beta = 8, F_8 summarises recall and F_{1/8} precision.

  Raises:
    ValueError: precision or recall outside [0, 1] or empty, or beta <= 0.
  """
  precision, recall = _check_precision_recall(precision, recall, beta)
  if precision.size == 0:
    raise ValueError("precision and recall are empty.")
  return (float(np.max(prd_to_f_beta(precision, recall, beta))),
          float(np.max(prd_to_f_beta(precision, recall, 1 / beta))))


def plot(precision_recall_pairs, labels=None, out_path=None,
         legend_loc="lower left", dpi=150):
  """Plots PRD curves (recall on x, precision on y); needs matplotlib.

  Args:
    precision_recall_pairs: sequence of `(precision, recall)` pairs.
    labels: optional sequence of curve labels, one per pair.
    out_path: file to save to; `None` shows the figure.
    legend_loc: matplotlib legend location.
    dpi: figure resolution.

  Raises:
    ValueError: the number of labels differs from the number of curves.
    ImportError: matplotlib is not installed (it is not a dependency).
  """
  if labels is not None and len(labels) != len(precision_recall_pairs):
    raise ValueError(
        f"Got {len(labels)} labels for {len(precision_recall_pairs)} curves.")
  try:
    from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError("prd.plot needs matplotlib: pip install matplotlib") from e
  fig = plt.figure(figsize=(3.5, 3.5), dpi=dpi)
  ax = fig.add_subplot(111)
  ax.tick_params(axis="both", which="major", labelsize=12)
  for i, (precision, recall) in enumerate(precision_recall_pairs):
    ax.plot(recall, precision, label=None if labels is None else labels[i],
            alpha=0.5, linewidth=3)
  if labels is not None:
    ax.legend(loc=legend_loc)
  ax.set_xlim([0, 1])
  ax.set_ylim([0, 1])
  ax.set_xlabel("Recall", fontsize=12)
  ax.set_ylabel("Precision", fontsize=12)
  fig.tight_layout()
  if out_path is None:
    plt.show()
  else:
    fig.savefig(out_path, bbox_inches="tight", dpi=dpi)
    plt.close(fig)
