"""A training step runs for every architecture x loss x penalty (compare_gan's
modular_gan_test / modular_gan_conditional_test), at small sizes.

Default run: every architecture once (losses/penalties cycled) and every
loss x penalty pair once on dummy_arch at 28x28x1. The full 9 x 4 x 4 cross
product is `@pytest.mark.slow`.
"""

import functools
import itertools

import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import gin_setup
from compare_gan2.datasets.base import ImageDatasetSpec
from compare_gan2.architectures import names as arch_names
from compare_gan2 import builder

LOSSES = ["non_saturating", "wasserstein", "least_squares", "hinge"]
PENALTIES = ["no_penalty", "dragan_penalty", "wgangp_penalty", "l2_penalty"]


class FakeDataset(ImageDatasetSpec):
  """Random images of any shape with 10 labels (for shapes polygons lacks)."""

  num_classes = 10
  eval_test_samples = 8

  def __init__(self, image_shape, seed=547):
    super().__init__(seed=seed)
    self.image_shape = tuple(image_shape)
    self.name = "fake_{}x{}x{}".format(*image_shape)

  def train_examples(self, start_index=0, input_context=None):
    del input_context

    def example(index):
      seed = tf.stack([tf.constant(self.seed, tf.int64), index])
      image = tf.random.stateless_uniform(self.image_shape, seed)
      return index, image, tf.cast(index % self.num_classes, tf.int32)
    return tf.data.Dataset.range(start_index, 2**62).map(example)

  def load(self, split, input_context=None):
    return self.train_examples().take(self.eval_test_samples).map(
        lambda i, x, y: (x, y))


@pytest.fixture(autouse=True)
def fake_datasets(monkeypatch):
  for shape in [(28, 28, 1), (48, 48, 3)]:
    spec = FakeDataset(shape)
    monkeypatch.setitem(datasets.DATASETS, spec.name,
                        functools.partial(FakeDataset, shape))


# Per architecture: dataset and bindings giving a small, representative network.
ARCH_SETTINGS = {
    arch_names.DCGAN_ARCH: ("polygons_32", ["G.batch_norm_fn = @batch_norm",
                                        "D.batch_norm_fn = @batch_norm"]),
    arch_names.SNDCGAN_ARCH: ("polygons_32", ["G.batch_norm_fn = @batch_norm",
                                          "D.spectral_norm = True"]),
    arch_names.INFOGAN_ARCH: ("polygons_32", ["D.batch_norm_fn = @batch_norm"]),
    arch_names.RESNET5_ARCH: ("polygons_32", [
        "ModularGAN.conditional = True",
        "G.batch_norm_fn = @conditional_batch_norm",
        "resnet5.Generator.ch = 4", "resnet5.Discriminator.ch = 4"]),
    arch_names.RESNET30_ARCH: ("polygons_128", [
        "G.batch_norm_fn = @batch_norm", "D.layer_norm = True",
        "resnet30.Generator.ch = 4", "resnet30.Discriminator.ch = 4"]),
    arch_names.RESNET_CIFAR_ARCH: ("polygons_32", [
        "ModularGAN.conditional = True", "G.batch_norm_fn = @batch_norm",
        "resnet_cifar.Discriminator.project_y = True", "D.spectral_norm = True"]),
    arch_names.RESNET_STL_ARCH: ("fake_48x48x3", [
        "G.batch_norm_fn = @self_modulated_batch_norm",
        "resnet_stl.Generator.ch = 4", "resnet_stl.Discriminator.ch = 4"]),
    arch_names.RESNET_BIGGAN_ARCH: ("polygons_32", [
        "ModularGAN.conditional = True",
        "G.batch_norm_fn = @conditional_batch_norm", "G.spectral_norm = True",
        "D.spectral_norm = True", "resnet_biggan.Generator.ch = 4",
        "resnet_biggan.Discriminator.ch = 4",
        'resnet_biggan.Generator.blocks_with_attention = "B2"',
        'resnet_biggan.Discriminator.blocks_with_attention = "B1"']),
    arch_names.RESNET_BIGGAN_DEEP_ARCH: ("polygons_32", [
        "ModularGAN.conditional = True",
        "G.batch_norm_fn = @conditional_batch_norm", "G.spectral_norm = True",
        "D.spectral_norm = True", "resnet_biggan_deep.Generator.ch = 4",
        "resnet_biggan_deep.Discriminator.ch = 4"]),
    arch_names.DUMMY_ARCH: ("fake_28x28x1", ["G.batch_norm_fn = @batch_norm"]),
}


def _train_step(tmp_path, architecture, loss, penalty, compiled=True,
                precision="float32"):
  dataset, extra = ARCH_SETTINGS[architecture]
  gin_setup.parse(bindings=[
      "options.gan_class = @ModularGAN",
      'options.architecture = "{}"'.format(architecture),
      "options.batch_size = 2",
      "options.training_steps = 1",
      "options.z_dim = 16",
      "options.lamba = 1",
      'dataset.name = "{}"'.format(dataset),
      "run_config.tf_random_seed = 1",
      "loss.fn = @{}".format(loss),
      "penalty.fn = @{}".format(penalty),
      'run_config.precision = "{}"'.format(precision),
  ] + extra)
  ctx = builder.build_context(str(tmp_path))
  gan = ctx.gan
  inputs = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
  gan.build()
  before = [v.numpy() for v in gan.generator.trainable_variables]
  before_d = [v.numpy() for v in gan.discriminator.trainable_variables]
  step = tf.function(gan.train_step) if compiled else gan.train_step
  metrics = step(inputs)
  for name, value in metrics.items():
    assert np.all(np.isfinite(value.numpy())), (name, value)
  assert int(gan.global_step.numpy()) == 1
  assert int(gan.global_step_disc.numpy()) == 1
  changed = [not np.array_equal(b, v.numpy())
             for b, v in zip(before, gan.generator.trainable_variables)]
  changed_d = [not np.array_equal(b, v.numpy())
               for b, v in zip(before_d, gan.discriminator.trainable_variables)]
  assert any(changed) and any(changed_d)
  return gan


REAL_ARCHITECTURES = sorted(arch_names.ARCHITECTURES)
# Default run: each architecture once, every loss and penalty used; the
# gradient penalties (second-order gradients) go to the shallow networks.
# Most run eagerly here: tracing + optimising each step graph costs up to
# minutes on a busy 2-core machine. tf.function is covered by one
# architecture here, by every loss x penalty on dummy_arch, and by the slow
# cross product (which compiles every combination).
ONCE_PER_ARCH = [
    (arch_names.DCGAN_ARCH, "least_squares", "dragan_penalty", False),
    (arch_names.SNDCGAN_ARCH, "wasserstein", "wgangp_penalty", False),
    (arch_names.INFOGAN_ARCH, "hinge", "wgangp_penalty", False),
    (arch_names.RESNET_CIFAR_ARCH, "non_saturating", "dragan_penalty", True),
    (arch_names.RESNET_STL_ARCH, "hinge", "l2_penalty", False),
    (arch_names.RESNET5_ARCH, "least_squares", "l2_penalty", False),
    (arch_names.RESNET_BIGGAN_ARCH, "wasserstein", "no_penalty", False),
    (arch_names.RESNET30_ARCH, "non_saturating", "no_penalty", False),
    (arch_names.RESNET_BIGGAN_DEEP_ARCH, "hinge", "no_penalty", False),
]


def test_default_run_covers_every_architecture():
  assert sorted(a for a, _, _, _ in ONCE_PER_ARCH) == REAL_ARCHITECTURES
  assert {l for _, l, _, _ in ONCE_PER_ARCH} == set(LOSSES)
  assert {p for _, _, p, _ in ONCE_PER_ARCH} == set(PENALTIES)


@pytest.mark.parametrize("architecture,loss,penalty,compiled", ONCE_PER_ARCH)
def test_train_step_every_architecture(tmp_path, architecture, loss, penalty,
                                       compiled):
  _train_step(tmp_path, architecture, loss, penalty, compiled=compiled)


@pytest.mark.parametrize("loss,penalty", list(itertools.product(LOSSES,
                                                                 PENALTIES)))
def test_train_step_every_loss_and_penalty(tmp_path, loss, penalty):
  _train_step(tmp_path, arch_names.DUMMY_ARCH, loss, penalty)


@pytest.mark.slow
@pytest.mark.parametrize("architecture,loss,penalty", list(itertools.product(
    REAL_ARCHITECTURES, LOSSES, PENALTIES)))
def test_train_step_full_cross_product(tmp_path, architecture, loss, penalty):
  _train_step(tmp_path, architecture, loss, penalty)


@pytest.mark.parametrize("architecture", [
    a if a == "resnet_biggan_arch" else pytest.param(a, marks=pytest.mark.slow)
    for a in REAL_ARCHITECTURES])
@pytest.mark.bf16
def test_mixed_bfloat16_step_every_architecture(tmp_path, architecture):
  """Every architecture trains a step with its layers in bfloat16."""
  _train_step(tmp_path, architecture, "hinge", "wgangp_penalty",
              precision="mixed_bfloat16")
