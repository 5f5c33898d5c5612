"""Input validation shared by the metric functions (private).

Every public metric converts its inputs with these helpers, so bad inputs fail
early with a ``ValueError`` that names the argument, instead of producing NaN
scores (NaN samples are handled in the evaluation task layer).
"""

import numpy as np


def as_float_array(x, name, ndim=None, min_ndim=None, dtype=np.float64):
  """Returns `x` as a finite floating NumPy array.

  Args:
    x: array-like input.
    name: argument name used in error messages.
    ndim: if set, the required number of dimensions.
    min_ndim: if set, the minimum number of dimensions.
    dtype: the floating dtype of the result; None keeps a floating input's
      dtype (no copy of a large float32 array) and makes others float64.

  Raises:
    ValueError: wrong rank, empty array, or non-finite (NaN / inf) values.
  """
  if dtype is None:
    arr = np.asarray(x)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
  try:
    arr = np.asarray(x, dtype=dtype)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{name} must be a numeric array: {e}") from None
  if ndim is not None and arr.ndim != ndim:
    raise ValueError(
        f"{name} must have {ndim} dimensions, got shape {arr.shape}.")
  if min_ndim is not None and arr.ndim < min_ndim:
    raise ValueError(
        f"{name} must have at least {min_ndim} dimensions, got shape "
        f"{arr.shape}.")
  if arr.size == 0:
    raise ValueError(f"{name} is empty (shape {arr.shape}).")
  # A finite float64 sum implies finite values (NaN and inf propagate), without
  # the N-sized boolean temporary of np.isfinite.
  if not np.isfinite(arr.sum(dtype=np.float64)) and not np.all(np.isfinite(arr)):
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    raise ValueError(
        f"{name} contains {bad} non-finite value(s) (NaN or inf); metrics "
        "are only defined for finite inputs.")
  return arr


def as_labels(x, name, num_rows=None):
  """Returns integer class labels from ints `[N]` or one-hot/scores `[N, K]`."""
  arr = np.asarray(x)
  if arr.ndim == 2:
    arr = as_float_array(arr, name, ndim=2)
    arr = np.argmax(arr, axis=1)
  elif arr.ndim == 1:
    if arr.size == 0:
      raise ValueError(f"{name} is empty.")
    if not np.issubdtype(arr.dtype, np.integer):
      farr = as_float_array(arr, name, ndim=1)
      if not np.all(farr == np.round(farr)):
        raise ValueError(f"{name} must hold integer class labels.")
      arr = farr
    arr = arr.astype(np.int64)
  else:
    raise ValueError(
        f"{name} must be integer labels [N] or one-hot/scores [N, K], got "
        f"shape {arr.shape}.")
  if num_rows is not None and arr.shape[0] != num_rows:
    raise ValueError(
        f"{name} has {arr.shape[0]} entries but {num_rows} were expected.")
  return arr


def check_features(real, fake, real_name="real_activations",
                   fake_name="fake_activations", min_rows=1, dtype=np.float64):
  """Validates a pair of `[N, D]` feature arrays with the same D (see
  `as_float_array` for `dtype`)."""
  real = as_float_array(real, real_name, ndim=2, dtype=dtype)
  fake = as_float_array(fake, fake_name, ndim=2, dtype=dtype)
  if real.shape[1] != fake.shape[1]:
    raise ValueError(
        f"{real_name} and {fake_name} have different feature sizes: "
        f"{real.shape[1]} vs {fake.shape[1]}.")
  for arr, nm in ((real, real_name), (fake, fake_name)):
    if arr.shape[0] < min_rows:
      raise ValueError(
          f"{nm} needs at least {min_rows} rows, got {arr.shape[0]}.")
  return real, fake


def pairwise_sq_distances(a, b, a_sq=None, b_sq=None):
  """Squared Euclidean distances `[len(a), len(b)]`, clipped at 0."""
  if a_sq is None:
    a_sq = np.einsum("ij,ij->i", a, a)
  if b_sq is None:
    b_sq = np.einsum("ij,ij->i", b, b)
  d = a_sq[:, None] - 2.0 * (a @ b.T) + b_sq[None, :]
  np.maximum(d, 0.0, out=d)
  return d
