"""Latents and the training input pipeline of ModularGAN (compare_gan's `z` /
`eval_z` selectors, compare_gan/gans/utils.py, and its `input_fn`).

Per-example randomness (z, sampled labels) is drawn in the pipeline,
statelessly from `(dataset.seed, example index)`, so a resumed run sees exactly
the same inputs.
"""

import gin
import tensorflow as tf

from compare_gan2 import random_ops
from compare_gan2 import utils

# Constants folded into stateless seeds so different draws never share a stream
# (ModularGAN's penalty seeds use 3).
SEED_Z, SEED_LABELS = 1, 2

# module=: the selectors' full names stay `compare_gan2.gans.modular_gan.z` / `.eval_z`.
_GIN_MODULE = "compare_gan2.gans.modular_gan"


@gin.configurable("z", denylist=["shape", "name", "seed"], module=_GIN_MODULE)
def z_generator(shape, distribution_fn=random_ops.uniform, minval=-1.0, maxval=1.0,
                stddev=1.0, name=None, seed=None):
  """Latent noise; compare_gan's default is U[-1, 1] (BigGAN configs use N(0, 1)).

  `distribution_fn` receives whichever of shape/minval/maxval/stddev/name/seed it
  accepts; with `seed` ([2] int32) the draw is stateless.
  """
  return utils.call_with_accepted_args(
      distribution_fn, shape=shape, minval=minval, maxval=maxval, stddev=stddev,
      name=name, seed=seed)


@gin.configurable("eval_z", denylist=["shape", "name", "seed"],
                  module=_GIN_MODULE)
def eval_z_generator(shape, distribution_fn=random_ops.uniform, minval=-1.0,
                     maxval=1.0, stddev=1.0, name=None, seed=None):
  """Latent noise used by evaluation (compare_gan's separate `eval_z` selector)."""
  return utils.call_with_accepted_args(
      distribution_fn, shape=shape, minval=minval, maxval=maxval, stddev=stddev,
      name=name, seed=seed)


def example_features(index, image, label, dataset_seed, z_dim, num_classes=None,
                     fit_label_distribution=False):
  """(features, label) of one example: its image, z (and sampled labels if
  `num_classes`, i.e. conditional) drawn statelessly from (dataset_seed, index).

  With `fit_label_distribution` the sampled label is the real one (a uniform
  one for an unlabelled example, label -1). Soft labels (float [num_classes])
  stay float; hard labels become int32.
  """
  seed = (dataset_seed, index)
  features = {
      "images": image,
      "z": z_generator([z_dim], name="z",
                       seed=random_ops.derive_seed(seed, SEED_Z)),
  }
  soft = label.dtype.is_floating  # Soft labels: float [num_classes] vectors.
  if num_classes:
    uniform = tf.random.stateless_uniform(
        [], random_ops.derive_seed(seed, SEED_LABELS), 0, num_classes,
        dtype=tf.int32)
    if fit_label_distribution:
      # The real label; an unlabelled example (-1) gets a uniform one.
      real = tf.cast(tf.argmax(label, output_type=tf.int32) if soft else label,
                     tf.int32)
      features["sampled_labels"] = tf.where(real >= 0, real, uniform)
    else:
      features["sampled_labels"] = uniform
  return features, (tf.cast(label, tf.float32) if soft else tf.cast(label, tf.int32))


def training_batches(dataset, preprocess, batch_size, start_index=0,
                     input_context=None):
  """`dataset.train_examples` from `start_index`, mapped by `preprocess(index,
  image, label)`, in batches of `batch_size` (the remainder dropped)."""
  ds = dataset.train_examples(start_index=start_index,
                              input_context=input_context)
  ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.batch(batch_size, drop_remainder=True)
  return ds.prefetch(tf.data.AUTOTUNE)
