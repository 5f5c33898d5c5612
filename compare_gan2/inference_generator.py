"""The generator that evaluation measures and TF-Hub export writes.

compare_gan evaluated the module it exported, so one definition serves both
(`InferenceGenerator`):

- Weights: the EMA shadows when the model keeps them and evaluation uses them
  (`ModularGAN.g_use_ema`, `eval.use_ema`), else the raw weights.
- Spectral norm: every `<w>/u_var` is replaced by the top singular vector of
  the evaluated `w` (the converged power iteration), so the normalizing sigma
  is the largest singular value of the evaluated kernel.
  (During training `u` follows the raw weights with one iteration per step;
  used as is on the EMA weights it underestimates their sigma. compare_gan's
  thousands of generator calls at evaluation converged `u` on the fly.)
- Batch norm in inference mode: the moving averages when G keeps them
  (`standardize_batch.use_moving_averages = True`); otherwise *standing
  statistics*: each layer's batch mean and variance in training mode,
  averaged over batches of evaluation latents (compare_gan's accumulators
  `accu/accu_mean / accu_counter`, filled by 204800 // 64 generator calls).

`measure_batch_statistics` is also how the Hub export's `default` signature
gets its per-truncation statistics (docs/hub_export.md).
Evaluation (compare_gan2/evaluation/) and the Hub export (compare_gan2/export/)
both load it with `load_inference_generator` and evaluation's `eval.*` options.
"""

import collections
import time

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import random_ops
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.gans import inputs

U_VAR_SUFFIX = "/u_var"
# Salts so evaluation's streams of latents, labels and standing-statistics
# latents differ.
SEED_Z, SEED_Y, SEED_STANDING = 101, 102, 103
SEED_D_FAKES = 104  # The fakes evaluation's d_overfitting task shows D.


def evaluation_latents(gan, seed, salt, run, batch, size):
  """(z [size, z_dim], labels [size] or None) of evaluation batch `batch` of `run`.

  Stateless from (eval.seed, salt, run, batch): `gin eval_z` latents and, for
  a conditional model, uniform labels.
  """
  base = random_ops.derive_seed((seed, salt), run, batch)
  z = inputs.eval_z_generator([size, gan.z_dim], name="eval_z", seed=base)
  labels = None
  if gan.conditional:
    labels = tf.random.stateless_uniform(
        [size], random_ops.derive_seed(base, SEED_Y), 0, gan.num_classes,
        dtype=tf.int32)
  return z, labels


def use_ema(gan, options):
  """Whether evaluation (and export) use the EMA generator (`eval.use_ema`)."""
  return bool(options.use_ema and gan.g_use_ema)


def latent_batches(gan, options, salt, run, num_examples):
  """Yields the (z, labels) batches of `num_examples` evaluation latents."""
  bs = options.batch_size
  for b, start in enumerate(range(0, num_examples, bs)):
    yield evaluation_latents(gan, options.seed, salt, run, b,
                             min(bs, num_examples - start))


def standing_statistics_batches(gan, options):
  """The (z, labels) batches whose G batch moments make the standing statistics
  (`eval.standing_stats_examples`, rounded up to whole batches)."""
  num = -(-options.standing_stats_examples // options.batch_size)
  return latent_batches(gan, options, SEED_STANDING, 0,
                        num * options.batch_size)


def has_accumulators(generator):
  """True if G's batch norm keeps compare_gan's standing-statistics accumulators."""
  return any("/accu/" in name for name in generator.store.vars)


# ----------------------------------------------------------------------------
# Spectral norm.
# ----------------------------------------------------------------------------


def top_singular_vector(w, u):
  """The fixed point of `weight_ops.spectral_norm`'s power iteration from `u`.

  Computed exactly (an SVD in float64) rather than by iterating: when the two
  largest singular values are close, power iteration converges too slowly to
  stop on a tolerance. With the returned `u`, spectral norm's one iteration
  gives sigma = the largest singular value of `w`.

  Args:
    w: weight of any rank >= 2, reshaped to [-1, C_out] as spectral_norm does.
    u: the layer's `u_var` value, [rows, 1] ("left" singular vector) or
      [1, C_out] ("right"); only its shape is used.

  Returns:
    (u as float32 of u's shape, the largest singular value as a float).
  """
  w = np.asarray(w, np.float64).reshape(-1, np.shape(w)[-1])
  shape = np.shape(u)
  left = shape == (w.shape[0], 1)
  if not left and shape != (1, w.shape[1]):
    raise ValueError(f"u of shape {shape} does not fit a weight reshaped to "
                     f"{w.shape}.")
  left_vectors, singular_values, right_vectors = np.linalg.svd(
      w, full_matrices=False)
  top = left_vectors[:, :1] if left else right_vectors[:1]
  return top.astype(np.float32), float(singular_values[0])


def converged_spectral_norm_vectors(values):
  """{`<w>/u_var`: converged u} for every spectral-norm vector in `values`.

  Args:
    values: {full variable name: value} of one network, holding each `<w>`
      whose `<w>/u_var` is present (the value it is evaluated with).
  """
  result = {}
  for name, u in values.items():
    if name.endswith(U_VAR_SUFFIX):
      weight = values[name[:-len(U_VAR_SUFFIX)]]
      result[name], _ = top_singular_vector(weight, u)
  return result


# ----------------------------------------------------------------------------
# Batch-norm statistics.
# ----------------------------------------------------------------------------


class LayerKeys:
  """Names batch-norm calls in call order (a layer called twice gets `#2`)."""

  def __init__(self):
    self.counts = collections.Counter()

  def key(self, name):
    self.counts[name] += 1
    count = self.counts[name]
    return name if count == 1 else f"{name}#{count}"


def substituting_hook(lookup):
  """A `batch_stats_hook` normalizing layer `key` with `lookup(key)` = (mean, var)."""
  keys = LayerKeys()

  def substitute(name, mean, variance):
    del mean, variance
    return lookup(keys.key(name))

  return substitute


class InferenceGenerator:
  """G with given weights, converged spectral norm and optional standing statistics.

  Its variables are its own (created on the first `load`, reassigned on later
  ones), so sampling never changes the GAN's state and traced functions are
  reused across checkpoints.
  """

  def __init__(self, gan):
    self.gan = gan
    self.values = {}          # full name -> float32/int numpy value
    self.statistics = None    # layer key -> (mean, variance), or None
    self._variables = {}
    self._stat_variables = {}
    self._sample_fn = None
    self._moments_fn = None

  @property
  def generator(self):
    return self.gan.generator

  def load(self, values):
    """Uses `values` ({full name: value} of every G variable, EMA values for
    EMA'd weights) with converged spectral-norm vectors; clears statistics."""
    missing = sorted(set(self.generator.store.vars) - set(values))
    if missing:
      raise ValueError(f"No value for generator variables {missing[:5]}.")
    values = {k: np.asarray(v) for k, v in values.items()
              if k in self.generator.store.vars}
    values.update(converged_spectral_norm_vectors(values))
    self.values = values
    self.statistics = None
    for name, value in values.items():
      if name in self._variables:
        self._variables[name].assign(value)
      else:
        self._variables[name] = tf.Variable(value, trainable=False,
                                            name="inference/" + name)
    return self

  def load_from_gan(self, use_ema=True):
    """Loads the GAN's current weights (its EMA shadows if `use_ema`)."""
    mapping = self.gan.generator_variable_mapping(use_ema)
    return self.load({name: mapping.get(name, var).numpy()
                      for name, var in self.generator.store.vars.items()})

  def _overrides(self):
    return dict(self._variables)

  def measure_batch_statistics(self, batches):
    """{layer key: (mean, variance)}: per-layer batch moments of G in training
    mode, averaged over `batches` of (z, labels) (labels may be None)."""
    if self._moments_fn is None:
      gan, overrides = self.gan, self._overrides()

      def moments(z, labels):
        recorded, keys = {}, LayerKeys()

        def record(name, mean, variance):
          recorded[keys.key(name)] = (mean, variance)

        y = None if labels is None else tf.one_hot(labels, gan.num_classes)
        with variable_store.no_state_updates(), \
            gan.generator.store.override(overrides), \
            normalization.batch_stats_hook(record):
          gan.generator(z, y, is_training=True)
        return recorded

      self._moments_fn = tf.function(moments, reduce_retracing=True)
    sums, count = {}, 0
    for z, labels in batches:
      for key, (mean, variance) in self._moments_fn(z, labels).items():
        total = sums.setdefault(key, [0.0, 0.0])
        total[0] = total[0] + mean.numpy().astype(np.float64)
        total[1] = total[1] + variance.numpy().astype(np.float64)
      count += 1
    if not count:
      raise ValueError("measure_batch_statistics needs at least one batch.")
    return {k: ((m / count).astype(np.float32), (v / count).astype(np.float32))
            for k, (m, v) in sums.items()}

  def set_statistics(self, statistics):
    """Normalizes with `statistics` ({key: (mean, var)}) from now on; None: the
    layers' own inference statistics (moving averages)."""
    self.statistics = statistics
    if statistics is None:
      return
    for key, pair in statistics.items():
      if key in self._stat_variables:
        for var, value in zip(self._stat_variables[key], pair):
          var.assign(value)
      else:
        self._stat_variables[key] = tuple(
            tf.Variable(value, trainable=False) for value in pair)
        self._sample_fn = None  # Retrace: new statistics variables.

  def fill_standing_statistics(self, batches):
    """Standing statistics from `batches` if G keeps accumulators; returns
    whether it did (G with moving averages keeps using them)."""
    if not has_accumulators(self.generator):
      self.set_statistics(None)
      return False
    self.set_statistics(self.measure_batch_statistics(batches))
    return True

  def _lookup(self, key):
    if key not in self._stat_variables:
      raise ValueError(f"Batch norm layer {key!r} has no standing statistics.")
    return self._stat_variables[key]

  def __call__(self, z, labels=None):
    """Images in [0, 1] for latents `z` and int `labels` (or None)."""
    use_stats = self.statistics is not None
    if self._sample_fn is None or self._sample_fn[0] != use_stats:
      gan, overrides = self.gan, self._overrides()

      def sample(z, labels):
        y = None if labels is None else tf.one_hot(labels, gan.num_classes)
        hook = substituting_hook(self._lookup) if use_stats else None
        with variable_store.no_state_updates(), \
            gan.generator.store.override(overrides), \
            normalization.batch_stats_hook(hook):
          return gan.generator(z, y, is_training=False)

      self._sample_fn = (use_stats, tf.function(sample, reduce_retracing=True))
    return self._sample_fn[1](z, labels)


def load_inference_generator(generator, values, options):
  """Loads G `values` into the InferenceGenerator `generator`: spectral norm
  converged on them and, if G keeps accumulators, standing statistics from
  `standing_statistics_batches`. Evaluation and export both build the
  generator they use with this function.

  `options` are evaluation's (gin `eval.*`, evaluator.EvalOptions): it reads
  `batch_size`, `seed` and `standing_stats_examples`.
  """
  start = time.time()
  generator.load(values)
  if options.standing_stats_examples > 0 and generator.fill_standing_statistics(
      standing_statistics_batches(generator.gan, options)):
    logging.info("Standing statistics of %d batch-norm layers from %d examples "
                 "in %.1fs.", len(generator.statistics),
                 options.standing_stats_examples, time.time() - start)
  return generator
