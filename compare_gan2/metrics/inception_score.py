"""Inception Score (Salimans et al. 2016) from classifier logits.

    IS = exp(E_x KL(p(y|x) || p(y)))

computed by ``tfgan.eval.classifier_score_from_logits`` (float64 internally).

Splits: the usual protocol (Salimans et al.'s code) splits the N samples into
10 consecutive, (nearly) equal parts, computes IS on each and reports the mean
and the standard deviation (ddof 0) over parts. compare_gan's
``InceptionScoreTask`` instead uses a **single split** over all N samples
(docs/compare_gan_quirks.md `is-single-split`), which gives a slightly higher
value (p(y) is estimated from more samples); use ``num_splits=1`` to reproduce
it (the std is then 0).
compare_gan also feeds the 1008-way logits of its Inception graph; which
logits to pass is the caller's choice.
"""

import numpy as np

from compare_gan2.metrics import _checks


def inception_score(logits, num_splits=10):
  """Inception Score of `logits`, as (mean, std) over `num_splits` splits.

  Args:
    logits: `[N, num_classes]` classifier logits (unnormalised; softmax is
      applied here). Do not pass probabilities.
    num_splits: number of consecutive splits; sample `i` goes to split
      `floor(i * num_splits / N)`, so sizes differ by at most one. 1 reproduces
      compare_gan's single-split score.

  Returns:
    `(mean, std)` as Python floats; `std` is the population std (ddof 0) over
    splits, 0.0 when `num_splits == 1`.

  Raises:
    ValueError: logits not `[N, K]` with K >= 2, non-finite values, or
      `num_splits` not an integer in `[1, N]`.
  """
  logits = _checks.as_float_array(logits, "logits", ndim=2, dtype=None)
  n, k = logits.shape
  if k < 2:
    raise ValueError(f"logits need at least 2 classes, got shape {logits.shape}.")
  if isinstance(num_splits, bool) or int(num_splits) != num_splits or not (
      1 <= num_splits <= n):
    raise ValueError(
        f"num_splits must be an integer in [1, {n}] (N = number of logits), "
        f"got {num_splits!r}.")
  num_splits = int(num_splits)
  scores = []
  for i in range(num_splits):
    part = logits[i * n // num_splits:(i + 1) * n // num_splits]
    scores.append(_classifier_score(part))
  return float(np.mean(scores)), float(np.std(scores))


_CHUNK_ROWS = 4096


def _log_softmax(logits):
  logits = logits.astype(np.float64)
  shifted = logits - logits.max(axis=1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _classifier_score(logits):
  """exp(E_x KL(p(y|x) || p(y))) of one split, in float64 by row chunks
  (tensorflow-gan's `classifier_score_from_logits`, without its N x K float64
  temporaries)."""
  n = len(logits)
  chunks = range(0, n, _CHUNK_ROWS)
  marginal = sum(np.exp(_log_softmax(logits[s:s + _CHUNK_ROWS])).sum(axis=0)
                 for s in chunks) / n
  log_marginal = np.log(marginal)
  kl_sum = 0.0
  for s in chunks:
    log_p = _log_softmax(logits[s:s + _CHUNK_ROWS])
    kl_sum += float(np.sum(np.exp(log_p) * (log_p - log_marginal)))
  return float(np.exp(kl_sum / n))
