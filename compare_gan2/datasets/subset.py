"""Limited data: the deterministic, class-balanced training subset of a dataset
(gin `dataset.train_fraction` / `dataset.num_train_examples`).

The rule (also in base.ImageDatasetSpec and docs/data_efficient.md):
- Every training example has a key: its position in the unshuffled train split
  (TFDS records, image folders, mnist_5k, polygons with label files) or its
  image id (polygons). Its hash is `random_ops.hash_keys(SALT, STREAM, key)`, a
  uint32 whose top 24 bits are `random_ops.hash_uniform(SALT, STREAM, key)`
  (for keys below 2**32 the 32-bit hash is a bijection, so there are no ties).
  SALT is fixed: the subset never depends on `dataset.seed`.
- The examples are stratified by the dataset's own class labels (one group if
  it has none). Within class c (n_c examples) the example of hash rank r
  (0 = smallest hash) has priority (r + 1/2) / n_c.
- `train_fraction` f keeps the examples of priority <= f: in every class the
  floor(f * n_c + 1/2) examples with the smallest hashes (f * n_c rounded half
  up).
- `num_train_examples` m keeps the m examples of smallest priority (ties: the
  smaller class label first): per class about m * n_c / n (Sainte-Lague /
  Webster apportionment, exactly m in all).
- Both are prefixes of one fixed order, so subsets are nested: the subset of
  0.1 is inside the subset of 0.2, the one of 450 examples inside the one of 900.

A class that has examples but would keep none, a count above the split size or
an empty subset is a ConfigError naming the smallest fraction / count that works.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops

# Fixed (not dataset.seed): every seed trains on the same subset.
SALT = 0x11D17A
STREAM = 0x5B5E7

_M32 = 0xFFFFFFFF


def order_hash(keys):
  """uint32 [n] NumPy: the hash ordering the examples `keys` (int64 [n])."""
  keys = np.asarray(keys, np.int64)
  if not keys.size:
    return np.zeros([0], np.uint32)
  return random_ops.hash_keys(SALT, STREAM, tf.constant(keys)).numpy()


def _fmix32_inverse(x):
  """The inverse of random_ops.fmix32 on uint32 NumPy arrays."""
  x = np.asarray(x, np.uint64) & _M32
  x ^= x >> 16
  x = (x * pow(0xC2B2AE35, -1, 2**32)) & _M32
  x ^= (x >> 13) ^ (x >> 26)
  x = (x * pow(0x85EBCA6B, -1, 2**32)) & _M32
  x ^= x >> 16
  return x


def keys_of_hashes(hashes):
  """int64 keys in [0, 2**32) whose order_hash is `hashes` (uint32 [n]): the
  inverse of order_hash there (hash_keys ends with fmix32(state ^ key))."""
  state = _fmix32_inverse(order_hash([0]))[0]
  return (_fmix32_inverse(hashes) ^ state).astype(np.int64)


@dataclasses.dataclass
class TrainSubset:
  """The chosen training subset of a split.

  keys: int64 [size], sorted: the kept examples' keys.
  split_size: examples the subset was chosen from.
  classes: {label: (kept, total)} (label None: the dataset has no labels).
  fraction, count: the option that chose it (one of them is None).
  """
  keys: np.ndarray
  split_size: int
  classes: dict
  fraction: float | None = None
  count: int | None = None

  @property
  def size(self):
    return int(len(self.keys))

  def mask(self, n):
    """bool [n]: whether key k (0 <= k < n) is in the subset."""
    keep = np.zeros([n], bool)
    keep[self.keys[self.keys < n]] = True
    return keep

  def info(self):
    """What run_info.json records."""
    return {"train_fraction": self.fraction, "num_train_examples": self.count,
            "train_split_size": int(self.split_size),
            "train_subset_size": self.size,
            "stratified": not (len(self.classes) == 1 and None in self.classes)}


def check_option(fraction=None, count=None):
  """(fraction float or None, count int or None); ConfigError unless at most
  one is set, the fraction is in (0, 1] and the count a positive integer."""
  if fraction is not None and count is not None:
    raise errors.ConfigError(
        "Set dataset.train_fraction or dataset.num_train_examples, not both "
        f"(got {fraction!r} and {count!r}).")
  if fraction is not None:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
      raise errors.ConfigError(
          f"dataset.train_fraction must be a number in (0, 1], got {fraction!r}.")
    fraction = float(fraction)
    if not 0.0 < fraction <= 1.0:
      raise errors.ConfigError(
          f"dataset.train_fraction must be in (0, 1], got {fraction!r}.")
  if count is not None:
    if (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or
        count < 1):
      raise errors.ConfigError("dataset.num_train_examples must be an integer "
                               f">= 1, got {count!r}.")
    count = int(count)
  return fraction, count


def _labels(label_of, groups):
  """Text naming the classes of `groups`: "classes 3, 7" (five at most)."""
  names = ", ".join(str(label_of(g)) for g in groups[:5])
  return f"class{'es' if len(groups) > 1 else ''} {names}" + (
      ", ..." if len(groups) > 5 else "")


def _smallest_fraction(n_c):
  """The smallest fraction with 6 significant digits that keeps one of n_c
  examples (floor(f * n_c + 1/2) >= 1), as text."""
  x = 0.5 / n_c
  digits = 5 - int(np.floor(np.log10(x)))
  units = int(np.ceil(x * 10**digits - 1e-6))
  while np.floor(units / 10**digits * n_c + 0.5) < 1:
    units += 1
  return f"{units / 10**digits:.6g}"


def choose(name, keys, labels=None, fraction=None, count=None):
  """The TrainSubset of examples `keys` (int64 [n]) with class `labels` ([n]
  ints, or None: unlabelled) by the module's rule; `name` is the dataset's, for
  errors."""
  keys = np.asarray(keys, np.int64)
  n = len(keys)
  if count is not None and count > n:
    raise errors.ConfigError(
        f"dataset.num_train_examples = {count} is larger than the train split "
        f"of {name} ({n} examples).")
  if not n:
    raise errors.ConfigError(f"The train split of {name} is empty: no subset.")
  stratified = labels is not None
  labels = (np.asarray(labels, np.int64) if stratified
            else np.zeros([n], np.int64))
  classes, group = np.unique(labels, return_inverse=True)
  sizes = np.bincount(group, minlength=len(classes))
  hashes = order_hash(keys)
  by_class = np.lexsort((keys, hashes, group))     # class, then hash
  starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
  rank = np.empty([n], np.int64)
  rank[by_class] = np.arange(n) - starts[group[by_class]]
  label_of = (lambda g: int(classes[g])) if stratified else (lambda g: None)
  if fraction is not None:
    quota = np.floor(fraction * sizes + 0.5).astype(np.int64)
    empty = [g for g in range(len(classes)) if quota[g] == 0]
    if empty:
      smallest = int(sizes.min())
      what = (f"keeps no example of {len(empty)} of the {len(classes)} classes "
              f"of {name} ({_labels(label_of, empty)}; the smallest class has "
              f"{smallest} examples): each class keeps floor(f * n_c + 1/2) of "
              "its n_c examples" if stratified else
              f"keeps no example of the {n} of the train split of {name} (it "
              "keeps floor(f * n + 1/2))")
      raise errors.ConfigError(
          f"dataset.train_fraction = {fraction!r} {what}, so use train_fraction "
          f">= {_smallest_fraction(smallest)}.")
    kept = rank < quota[group]
  else:
    priority = (2 * rank + 1) / (2.0 * sizes[group])
    total_order = np.lexsort((hashes, classes[group], priority))
    kept = np.zeros([n], bool)
    kept[total_order[:count]] = True
    missing = sorted(set(range(len(classes))) - set(group[kept].tolist()))
    if missing:
      # Each class's first example (rank 0): where it comes in the order.
      position = np.empty([n], np.int64)
      position[total_order] = np.arange(n)
      needed = int(position[rank == 0].max()) + 1
      raise errors.ConfigError(
          f"dataset.num_train_examples = {count} keeps no example of "
          f"{len(missing)} of the {len(classes)} classes of {name} "
          f"({_labels(label_of, missing)}): use num_train_examples >= "
          f"{needed}.")
  counts = np.bincount(group[kept], minlength=len(classes))
  return TrainSubset(
      keys=np.sort(keys[kept]), split_size=n,
      classes={label_of(g): (int(counts[g]), int(sizes[g]))
               for g in range(len(classes))},
      fraction=fraction, count=count)


def choose_uniform_classes(name, split_size, label_fn, num_classes, count,
                           chunk=None):
  """The TrainSubset of `count` examples of a split of `split_size` keys (ids)
  too large to enumerate (polygons: 2**31) whose classes are equally likely
  (`num_classes` of them; `label_fn(keys int64 [k]) -> labels [k]`).

  The rule of `choose` with every n_c taken as split_size / num_classes (the
  generator's class probabilities): class c keeps floor(count / num_classes)
  examples, plus one for the first count mod num_classes classes, namely its
  examples with the smallest hashes. They are found by walking the hash values
  upwards (order_hash is a bijection on [0, 2**32), keys_of_hashes inverts it):
  about count * 2**32 / split_size hash values (2 * count for polygons), never
  the whole split.
  """
  if count > split_size:
    raise errors.ConfigError(
        f"dataset.num_train_examples = {count} is larger than the train split "
        f"of {name} ({split_size} examples).")
  if count < num_classes:
    raise errors.ConfigError(
        f"dataset.num_train_examples = {count} keeps no example of "
        f"{num_classes - count} of the {num_classes} classes of {name}: use "
        f"num_train_examples >= {num_classes}.")
  if split_size > 2**32:
    raise ValueError(f"split_size {split_size} > 2**32")
  quota = np.full([num_classes], count // num_classes, np.int64)
  quota[:count % num_classes] += 1
  chosen = [[] for _ in range(num_classes)]
  missing = quota.copy()
  chunk = int(chunk or max(4096, 4 * count))
  start = 0
  while missing.any():
    if start >= 2**32:
      raise errors.ConfigError(
          f"{name}: the train split has too few examples of some class for "
          f"dataset.num_train_examples = {count}.")
    hashes = np.arange(start, min(start + chunk, 2**32), dtype=np.uint64)
    start += chunk
    keys = keys_of_hashes(hashes)
    keys = keys[keys < split_size]          # In hash order.
    if not len(keys):
      continue
    labels = np.asarray(label_fn(keys), np.int64)
    for c in np.flatnonzero(missing):
      mine = keys[labels == c][:missing[c]]
      chosen[c].append(mine)
      missing[c] -= len(mine)
  keys = np.sort(np.concatenate([np.concatenate(c) for c in chosen]))
  return TrainSubset(keys=keys, split_size=split_size,
                     classes={c: (int(quota[c]), None) for c in range(num_classes)},
                     count=count)
