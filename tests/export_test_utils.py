"""Helpers shared by tests/test_export*.py: small trained models, in-process
references for exported TF-Hub modules."""

import os

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import gin_setup
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner

# Conditional BigGAN at ch=8 on polygons_32: CBN with hierarchical z and a shared
# embedding, SN everywhere, self-attention in G, an unconditional final BN, and
# an EMA generator whose weights differ from the raw ones after 2 steps.
BIGGAN_BINDINGS = [
    "options.gan_class = @ModularGAN",
    'options.architecture = "resnet_biggan_arch"',
    "options.batch_size = 4",
    "options.training_steps = 2",
    "options.z_dim = 20",
    'dataset.name = "polygons_32"',
    "run_config.save_checkpoints_steps = 2",
    "run_config.iterations_per_loop = 2",
    "run_config.tf_random_seed = 3",
    "ModularGAN.conditional = True",
    "ModularGAN.g_use_ema = True",
    "ModularGAN.ema_start_step = 1",
    "ModularGAN.ema_decay = 0.5",
    "G.batch_norm_fn = @conditional_batch_norm",
    "G.spectral_norm = True",
    "D.spectral_norm = True",
    "resnet_biggan.Generator.ch = 8",
    "resnet_biggan.Discriminator.ch = 8",
    'resnet_biggan.Generator.blocks_with_attention = "B2"',
    'resnet_biggan.Discriminator.blocks_with_attention = ""',
    "resnet_biggan.Generator.embed_y_dim = 8",
    "loss.fn = @hinge",
    "penalty.fn = @no_penalty",
    "standardize_batch.epsilon = 1e-5",
    "z.distribution_fn = @tf.random.normal",
    # Few standing-statistics batches keep the export fast (default grid).
    "hub_export.stats_batch_size = 8",
    "hub_export.stats_num_batches = 2",
]

# Unconditional BigGAN (ch=4): plain batch norm, raw weights (no EMA), a
# 10-point truncation grid.
UNCOND_BINDINGS = [
    "options.gan_class = @ModularGAN",
    'options.architecture = "resnet_biggan_arch"',
    "options.batch_size = 4",
    "options.training_steps = 2",
    "options.z_dim = 8",
    'dataset.name = "polygons_32"',
    "run_config.save_checkpoints_steps = 2",
    "run_config.iterations_per_loop = 2",
    "run_config.tf_random_seed = 5",
    "ModularGAN.conditional = False",
    "G.batch_norm_fn = @batch_norm",
    "resnet_biggan.Generator.ch = 4",
    "resnet_biggan.Discriminator.ch = 4",
    'resnet_biggan.Generator.blocks_with_attention = ""',
    'resnet_biggan.Discriminator.blocks_with_attention = ""',
    "resnet_biggan.Discriminator.project_y = False",
    "penalty.fn = @no_penalty",
    "hub_export.stats_batch_size = 8",
    "hub_export.stats_num_batches = 2",
    "hub_export.truncation_grid_size = 10",
]

# dummy_arch (only for the error tests: its D flattens with a dynamic shape that
# loses the static feature size, so its `disc` variant cannot be built with a
# None batch dimension).
DUMMY_BINDINGS = [
    "options.gan_class = @ModularGAN",
    'options.architecture = "dummy_arch"',
    "options.batch_size = 4",
    "options.training_steps = 2",
    "options.z_dim = 8",
    'dataset.name = "polygons_32"',
    "run_config.save_checkpoints_steps = 2",
    "run_config.iterations_per_loop = 2",
    "run_config.tf_random_seed = 5",
    "ModularGAN.conditional = False",
    "G.batch_norm_fn = @batch_norm",
    "penalty.fn = @no_penalty",
    "hub_export.stats_batch_size = 8",
    "hub_export.stats_num_batches = 2",
    "hub_export.truncation_grid_size = 10",
]


def context(model_dir, bindings):
  """Parses `bindings` (after clearing gin) and builds a runner Context."""
  gin.clear_config()
  gin_setup.parse(bindings=list(bindings))
  return builder.build_context(str(model_dir))


def train(model_dir, bindings):
  ctx = context(model_dir, bindings)
  runner.schedule_train(ctx)
  return ctx, checkpoints.latest_checkpoint(str(model_dir), required=True)


def module_statistics(module_dir):
  """{layer: (mean [grid, C], variance [grid, C])} read from the module's checkpoint."""
  reader = tf.train.load_checkpoint(os.path.join(module_dir, "variables",
                                                 "variables"))
  prefix = "standing_statistics/"
  stats = {}
  for name in reader.get_variable_to_shape_map():
    if name.startswith(prefix) and name.endswith("/mean"):
      layer = name[len(prefix):-len("/mean")]
      stats[layer] = (reader.get_tensor(name),
                      reader.get_tensor(prefix + layer + "/variance"))
  return stats


def truncnorm(rng, shape):
  x = rng.standard_normal(shape)
  while (np.abs(x) > 2).any():
    bad = np.abs(x) > 2
    x[bad] = rng.standard_normal(int(bad.sum()))
  return x.astype(np.float32)


def svd_spectral_vectors(store, mapping=None):
  """{`<w>/u_var`: top singular vector of w (numpy SVD)} for a network's store,
  w taken from `mapping` (e.g. EMA shadows) or the store: the `u` with which
  spectral norm's one power iteration gives sigma = ||w||_2."""
  mapping = mapping or {}
  result = {}
  for name, u in store.vars.items():
    if not name.endswith("/u_var"):
      continue
    w = mapping.get(name[:-len("/u_var")], store[name[:-len("/u_var")]]).numpy()
    w = w.reshape(-1, w.shape[-1]).astype(np.float64)
    left, _, right = np.linalg.svd(w, full_matrices=False)
    top = left[:, :1] if u.shape[0] == w.shape[0] and u.shape[1] == 1 else right[:1]
    result[name] = tf.constant(top.astype(np.float32))
  return result


def reference_discriminator(gan, images, y):
  """In-process D(images, y) probabilities in inference mode, raw weights,
  spectral norm converged (SVD); independent of the export code."""
  overrides = svd_spectral_vectors(gan.discriminator.store)
  with variable_store.no_state_updates(), gan.discriminator.store.override(overrides):
    prob, _, _ = gan.discriminator(tf.constant(images),
                                   None if y is None else tf.constant(y),
                                   is_training=False)
  return prob.numpy()


def reference_generator(gan, z, y, stats=None, row=None, weights=None,
                        use_ema=True):
  """In-process G(z, y) in inference mode, independent of the export code.

  The (EMA) weights with spectral norm converged on them (SVD). With `stats`
  and `row` (a grid index) or `weights` (a dict grid index -> weight, for
  interpolation), every batch-norm layer normalizes with those standing
  statistics (substituted through normalization.batch_stats_hook); `row=None`
  with `stats` of shape [C] uses them as they are.
  Returns images in [0, 1] (numpy).
  """
  def substitute(name, mean, variance):
    del mean, variance
    if stats is None:
      return None
    means, variances = stats[name]
    if row is None and weights is None:
      return tf.constant(means), tf.constant(variances)
    if weights is None:
      return tf.constant(means[row]), tf.constant(variances[row])
    return (tf.constant(sum(w * means[i] for i, w in weights.items())),
            tf.constant(sum(w * variances[i] for i, w in weights.items())))

  mapping = gan.generator_variable_mapping(use_ema)
  mapping.update(svd_spectral_vectors(gan.generator.store, mapping))
  with variable_store.no_state_updates(), \
      gan.generator.store.override(mapping), \
      normalization.batch_stats_hook(substitute):
    y = None if y is None else tf.constant(y)
    return gan.generator(tf.constant(z), y, is_training=False).numpy()
