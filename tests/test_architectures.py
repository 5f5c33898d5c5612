"""Every architecture: output shapes and ranges at every supported resolution,
resolution errors, normalization knobs, orthogonal initialisation, structure quirks
(compare_gan's architectures_test)."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import utils
from compare_gan2.architectures import ARCHITECTURES
from compare_gan2.architectures import normalization
from compare_gan2.architectures import get_architecture
from compare_gan2.architectures import initializers
from compare_gan2.architectures import resnet_biggan_deep
from compare_gan2.architectures import names as arch_names

NUM_CLASSES = 10

# Small widths where the architecture has a width knob (the fixed-width DCGAN
# family runs at its real width).
SMALL = {
    arch_names.RESNET5_ARCH: ["resnet5.Generator.ch = 4",
                          "resnet5.Discriminator.ch = 4"],
    arch_names.RESNET30_ARCH: ["resnet30.Generator.ch = 4",
                           "resnet30.Discriminator.ch = 4"],
    arch_names.RESNET_STL_ARCH: ["resnet_stl.Generator.ch = 4",
                             "resnet_stl.Discriminator.ch = 4"],
    arch_names.RESNET_BIGGAN_ARCH: [
        "resnet_biggan.Generator.ch = 8", "resnet_biggan.Discriminator.ch = 8",
        'resnet_biggan.Generator.blocks_with_attention = "B2"'],
    arch_names.RESNET_BIGGAN_DEEP_ARCH: ["resnet_biggan_deep.Generator.ch = 8",
                                     "resnet_biggan_deep.Discriminator.ch = 8"],
    arch_names.RESNET_CIFAR_ARCH: [],
    arch_names.DCGAN_ARCH: [],
    arch_names.SNDCGAN_ARCH: [],
    arch_names.INFOGAN_ARCH: [],
}

# (architecture, (H, W, C)) of compare_gan's architectures_test architectures_test plus the
# natural extra ones; heavy ones are slow.
_slow = pytest.mark.slow
SHAPES = [
    *[(a, s) for a in (arch_names.DCGAN_ARCH, arch_names.SNDCGAN_ARCH,
                       arch_names.INFOGAN_ARCH)
      for s in ((28, 28, 1), (32, 32, 1), (32, 32, 3), (64, 64, 3))],
    (arch_names.DCGAN_ARCH, (128, 128, 3)),
    (arch_names.SNDCGAN_ARCH, (128, 128, 3)),
    # 134M parameters (linear 1024 -> 128 * 32 * 32): slow to initialise.
    pytest.param(arch_names.INFOGAN_ARCH, (128, 128, 3), marks=_slow),
    (arch_names.RESNET5_ARCH, (32, 32, 1)),
    (arch_names.RESNET5_ARCH, (32, 32, 3)),
    (arch_names.RESNET5_ARCH, (64, 64, 3)),
    (arch_names.RESNET5_ARCH, (128, 128, 3)),
    (arch_names.RESNET30_ARCH, (128, 128, 3)),
    (arch_names.RESNET30_ARCH, (128, 128, 1)),
    (arch_names.RESNET_CIFAR_ARCH, (32, 32, 1)),
    (arch_names.RESNET_CIFAR_ARCH, (32, 32, 3)),
    (arch_names.RESNET_STL_ARCH, (48, 48, 1)),
    (arch_names.RESNET_STL_ARCH, (48, 48, 3)),
    (arch_names.RESNET_BIGGAN_ARCH, (32, 32, 3)),
    (arch_names.RESNET_BIGGAN_ARCH, (64, 64, 3)),
    (arch_names.RESNET_BIGGAN_DEEP_ARCH, (32, 32, 3)),
    (arch_names.RESNET_BIGGAN_DEEP_ARCH, (64, 64, 3)),
    (arch_names.RESNET_BIGGAN_DEEP_ARCH, (128, 128, 3)),
    pytest.param(arch_names.RESNET_BIGGAN_DEEP_ARCH, (256, 256, 3), marks=_slow),
    pytest.param(arch_names.RESNET_BIGGAN_DEEP_ARCH, (512, 512, 3), marks=_slow),
]

# Resolutions each architecture rejects, with a fragment of the message.
UNSUPPORTED = [
    (arch_names.DCGAN_ARCH, (8, 8, 3)),
    (arch_names.SNDCGAN_ARCH, (4, 4, 3)),
    (arch_names.INFOGAN_ARCH, (30, 30, 3)),
    (arch_names.RESNET5_ARCH, (48, 48, 3)),
    (arch_names.RESNET5_ARCH, (256, 256, 3)),
    (arch_names.RESNET30_ARCH, (64, 64, 3)),
    (arch_names.RESNET_STL_ARCH, (32, 32, 3)),
    (arch_names.RESNET_CIFAR_ARCH, (64, 64, 3)),
    (arch_names.RESNET_BIGGAN_ARCH, (1024, 1024, 3)),
    (arch_names.RESNET_BIGGAN_DEEP_ARCH, (1024, 1024, 3)),
]


@pytest.fixture(autouse=True)
def fixed_seed():
  initializers.set_initialization_seed(0)


def _bind(bindings):
  for binding in bindings:
    gin.parse_config(binding)


def _inputs(image_shape, conditional, z_dim=120, batch_size=2):
  z = tf.random.stateless_uniform([batch_size, z_dim], seed=[1, 2],
                                  minval=-1, maxval=1)
  y = tf.one_hot(tf.range(batch_size) % NUM_CLASSES, NUM_CLASSES) \
      if conditional else None
  return z, y


def _build(architecture, image_shape, extra=(), conditional=None):
  """G and D of `architecture`, called once; returns (G, D, images, outputs)."""
  _bind(SMALL[architecture] + list(extra))
  if conditional is None:  # The BigGANs project y by default.
    conditional = architecture in (arch_names.RESNET_BIGGAN_ARCH,
                                   arch_names.RESNET_BIGGAN_DEEP_ARCH)
  gen_cls, disc_cls = get_architecture(architecture)
  generator = gen_cls(image_shape=image_shape)
  discriminator = disc_cls()
  z, y = _inputs(image_shape, conditional)
  images = generator(z, y, is_training=True)
  outputs = discriminator(images, y, is_training=True)
  return generator, discriminator, images, outputs


def test_every_architecture_is_registered():
  assert set(arch_names.ARCHITECTURES) | {arch_names.DUMMY_ARCH} == set(ARCHITECTURES)
  assert len(arch_names.ARCHITECTURES) == 9


@pytest.mark.parametrize("architecture,image_shape", SHAPES)
def test_output_shapes_and_ranges(architecture, image_shape):
  _, _, images, outputs = _build(
      architecture, image_shape,
      extra=["G.batch_norm_fn = @batch_norm", "D.spectral_norm = True"])
  assert images.shape == (2,) + tuple(image_shape)
  images = images.numpy()
  assert np.all(np.isfinite(images))
  assert images.min() >= 0.0 and images.max() <= 1.0
  assert images.std() > 0  # Not a constant image.
  prob, logit, features = outputs
  assert prob.shape == (2, 1) and logit.shape == (2, 1)
  assert features.shape[0] == 2
  assert np.all((prob.numpy() >= 0) & (prob.numpy() <= 1))
  np.testing.assert_allclose(prob.numpy(), tf.sigmoid(logit).numpy(), atol=1e-6)


@pytest.mark.parametrize("architecture,image_shape", SHAPES[:1])
def test_inference_mode_and_tf_function(architecture, image_shape):
  generator, discriminator, _, _ = _build(architecture, image_shape,
                                          extra=["G.batch_norm_fn = @batch_norm"])
  z, y = _inputs(image_shape, conditional=False)

  @tf.function
  def run(z):
    images = generator(z, y, is_training=False)
    return images, discriminator(images, y, is_training=False)[1]

  images, logit = run(z)
  assert images.shape == (2,) + image_shape and logit.shape == (2, 1)
  # The traced step computes what eager execution computes.
  eager = generator(z, y, is_training=False)
  np.testing.assert_allclose(images.numpy(), eager.numpy(), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
      logit.numpy(), discriminator(eager, y, is_training=False)[1].numpy(),
      rtol=1e-4, atol=1e-5)
  # Inference normalizes with the moving statistics: an example's image does not
  # depend on the rest of the batch, and differs from the training-mode image.
  np.testing.assert_allclose(generator(z[:1], y, is_training=False).numpy(),
                             eager.numpy()[:1], rtol=1e-5, atol=1e-6)
  training = generator(z, y, is_training=True).numpy()
  assert np.abs(training - eager.numpy()).max() > 1e-2


@pytest.mark.parametrize("architecture,image_shape", UNSUPPORTED)
def test_unsupported_resolution_fails_at_build_time(architecture,
                                                    image_shape):
  _bind(SMALL[architecture])
  gen_cls, disc_cls = get_architecture(architecture)
  size = "{0}x{0}".format(image_shape[0])
  with pytest.raises(ValueError, match=r"{}.*{}.*supported".format(
      architecture, size)):
    gen_cls(image_shape=image_shape)
  # D knows the resolution at its first call.
  with pytest.raises(ValueError, match=r"{}.*{}.*supported".format(
      architecture, size)):
    disc_cls()(tf.zeros((1,) + image_shape), tf.one_hot([0], NUM_CLASSES),
               is_training=True)


def _names(network):
  return network.store.names()


def _has(names, fragment):
  return any(fragment in n for n in names)


# Which knobs each architecture honours (compare_gan's behaviour):
# (G uses G.batch_norm_fn, G uses G.spectral_norm, D uses D.batch_norm_fn,
#  D uses D.layer_norm).
KNOBS = {
    arch_names.DCGAN_ARCH: (True, False, True, False),
    arch_names.SNDCGAN_ARCH: (True, False, False, False),
    arch_names.INFOGAN_ARCH: (False, False, True, False),
    arch_names.RESNET5_ARCH: (True, True, True, True),
    arch_names.RESNET30_ARCH: (True, True, True, True),
    arch_names.RESNET_CIFAR_ARCH: (True, True, True, True),
    arch_names.RESNET_STL_ARCH: (True, True, True, True),
    arch_names.RESNET_BIGGAN_ARCH: (True, True, True, True),
    arch_names.RESNET_BIGGAN_DEEP_ARCH: (True, True, True, False),
}
SMALLEST = {
    arch_names.DCGAN_ARCH: (28, 28, 1), arch_names.SNDCGAN_ARCH: (28, 28, 1),
    arch_names.INFOGAN_ARCH: (28, 28, 1), arch_names.RESNET5_ARCH: (32, 32, 3),
    arch_names.RESNET30_ARCH: (128, 128, 3), arch_names.RESNET_CIFAR_ARCH: (32, 32, 3),
    arch_names.RESNET_STL_ARCH: (48, 48, 3), arch_names.RESNET_BIGGAN_ARCH: (32, 32, 3),
    arch_names.RESNET_BIGGAN_DEEP_ARCH: (32, 32, 3),
}


@pytest.mark.parametrize("architecture", sorted(KNOBS))
def test_normalization_knobs(architecture):
  g_bn, g_sn, d_bn, d_ln = KNOBS[architecture]
  generator, discriminator, _, _ = _build(
      architecture, SMALLEST[architecture], conditional=True,
      extra=["G.batch_norm_fn = @self_modulated_batch_norm",
             "self_modulated_batch_norm.num_hidden = 8",
             "G.spectral_norm = True", "D.batch_norm_fn = @batch_norm",
             "D.layer_norm = True", "D.spectral_norm = True"])
  g_names, d_names = _names(generator), _names(discriminator)
  assert _has(g_names, "/sbn/gamma/kernel") == g_bn
  # The norm functions receive use_sn = G.spectral_norm in every architecture
  # (compare_gan's AbstractGenerator.batch_norm); the layers only in some.
  assert _has([n for n in g_names if "/sbn/" not in n], "/u_var") == g_sn
  assert _has(d_names, "/u_var")  # D.spectral_norm: every architecture.
  d_bn_present = any(n.endswith("/gamma") and "/ln" not in n for n in d_names)
  assert d_bn_present == d_bn
  assert _has(d_names, "/ln1/gamma") == d_ln
  if architecture == arch_names.INFOGAN_ARCH:  # Plain BN regardless of G.batch_norm_fn.
    assert "generator/g_bn1/gamma" in g_names


@pytest.mark.parametrize("architecture", sorted(KNOBS))
def test_conditional_batch_norm_uses_labels(architecture):
  if not KNOBS[architecture][0]:
    pytest.skip("G ignores G.batch_norm_fn")
  generator, _, _, _ = _build(architecture, SMALLEST[architecture],
                              conditional=True,
                              extra=["G.batch_norm_fn = @conditional_batch_norm"])
  kernels = [v for v in generator.trainable_variables
             if "/condition/" in v.name and v.name.endswith("/kernel:0")]
  assert kernels
  z, y = _inputs(SMALLEST[architecture], conditional=True)
  other_y = tf.roll(y, 1, axis=1)  # Every example another class.
  images = generator(z, y, is_training=True).numpy()
  assert np.abs(generator(z, other_y, is_training=True).numpy() - images).max() > 1e-4
  if architecture in (arch_names.RESNET_BIGGAN_ARCH, arch_names.RESNET_BIGGAN_DEEP_ARCH):
    return  # Embedded labels (see their own tests); y also reaches their fc_noise.
  assert all(int(k.shape[0]) == NUM_CLASSES for k in kernels)
  # The labels reach G only through the conditional batch norms: with their
  # kernels zero, the images no longer depend on y.
  zeros = {v.name[:-2]: tf.zeros_like(v) for v in kernels}
  with generator.store.override(zeros):
    a = generator(z, y, is_training=True).numpy()
    b = generator(z, other_y, is_training=True).numpy()
  np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# Orthogonal initialisation (weights.initializer = "orthogonal").
@pytest.mark.parametrize("architecture", [
    arch_names.DCGAN_ARCH, arch_names.SNDCGAN_ARCH, arch_names.INFOGAN_ARCH,
    arch_names.RESNET5_ARCH, arch_names.RESNET_STL_ARCH, arch_names.RESNET_BIGGAN_DEEP_ARCH])
def test_orthogonal_initialisation(architecture):
  generator, discriminator, _, _ = _build(
      architecture, SMALLEST[architecture],
      extra=['weights.initializer = "orthogonal"',
             "G.batch_norm_fn = @batch_norm"])
  checked = 0
  for v in generator.trainable_variables + discriminator.trainable_variables:
    name = v.name.split(":")[0]
    value = v.numpy()
    if name.endswith("embedding_fc/kernel"):
      continue  # glorot_normal, as compare_gan.
    if name.endswith("/kernel"):
      w = value.reshape(-1, value.shape[-1])
      gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
      np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-4,
                                 err_msg=name)
      checked += 1
    elif name.endswith("/bias") or name.endswith("/beta") or \
        name.endswith("/sigma"):
      np.testing.assert_array_equal(value, 0, err_msg=name)
    elif name.endswith("/gamma"):
      np.testing.assert_array_equal(value, 1, err_msg=name)
    else:
      pytest.fail("Unexpected variable " + name)
  assert checked >= 5


# ------------------------------------------------------------ structure quirks


def test_dcgan_names_and_features():
  generator, discriminator, _, (_, _, features) = _build(
      arch_names.DCGAN_ARCH, (28, 28, 1), extra=["G.batch_norm_fn = @batch_norm",
                                             "D.batch_norm_fn = @batch_norm"])
  assert features.shape == (2, 2, 2, 512)  # ceil sizes 14, 7, 4, 2.
  g = set(_names(generator))
  assert {"generator/g_fc1/kernel", "generator/g_dc4/kernel",
          "generator/g_bn4/gamma"} <= g
  assert generator.store["generator/g_dc1/kernel"].shape == (5, 5, 256, 512)
  d = set(_names(discriminator))
  assert {"discriminator/d_conv1/kernel", "discriminator/d_bn3/beta",
          "discriminator/d_fc4/kernel"} <= d
  assert discriminator.store["discriminator/d_fc4/kernel"].shape == (2048, 1)


def test_sndcgan_rescales_input_and_ignores_d_norm():
  _, discriminator, _, (_, _, features) = _build(
      arch_names.SNDCGAN_ARCH, (32, 32, 3), extra=["D.batch_norm_fn = @batch_norm"])
  assert features.shape == (2, 4 * 4 * 512)
  assert not any("bn" in n for n in _names(discriminator))
  kernel = discriminator.store["discriminator/d_conv1/kernel"]
  assert kernel.shape == (3, 3, 3, 64)
  # D computes on 2x - 1: a 0.5 image reaches the first convolution as zeros
  # (SAME padding adds zeros too), so its logit does not depend on that kernel;
  # a black image's does.
  other = {"discriminator/d_conv1/kernel": tf.random.stateless_normal(
      kernel.shape, seed=[4, 5], stddev=0.1)}
  for value, depends in ((0.5, False), (0.0, True)):
    x = tf.fill([2, 32, 32, 3], value)
    logit = discriminator(x, None, is_training=True)[1].numpy()
    with discriminator.store.override(other):
      changed = discriminator(x, None, is_training=True)[1].numpy()
    assert (np.abs(changed - logit).max() > 1e-4) == depends, value


def test_resnet5_blocks_and_sizes():
  generator, discriminator, _, (_, _, features) = _build(
      arch_names.RESNET5_ARCH, (32, 32, 3))
  g = _names(generator)
  # 32px: log2(32 / 4) = 3 up blocks, then 2 "none" blocks.
  assert "generator/B3/up_conv1/kernel" in g
  assert "generator/B4/same_conv1/kernel" in g
  assert "generator/fc_noise/kernel" in g and "generator/final_conv/kernel" in g
  assert features.shape == (2, 4 * 8)
  assert "discriminator/B0/down_conv2/kernel" in _names(discriminator)


def test_resnet30_integer_channels_and_names():
  generator, discriminator, _, (_, _, features) = _build(
      arch_names.RESNET30_ARCH, (128, 128, 3), extra=["G.spectral_norm = True"])
  g = _names(generator)
  assert len([n for n in g if n.endswith("conv1/kernel")]) == 35
  assert generator.store["generator/B_5_4/same_conv2/kernel"].shape == (
      3, 3, 1, 1)  # ch / 4 = 1 channel in the last superblock (ch = 4).
  assert not any("final_norm" in n for n in g)  # No final BN.
  assert "generator/fc_noise/kernel/u_var" not in generator.store  # No SN.
  d = _names(discriminator)
  assert "discriminator/B_0_up/down_conv2/kernel" in d  # "up" (sic).
  assert features.shape == (2, 4 * 4 * 8 * 4)
  for v in generator.variables + discriminator.variables:
    assert all(isinstance(d, int) for d in v.shape.as_list())


def test_resnet_stl_final_norm_scope_is_faithful():
  generator, _, _, (_, _, features) = _build(
      arch_names.RESNET_STL_ARCH, (48, 48, 3), extra=["G.batch_norm_fn = @batch_norm"])
  g = _names(generator)
  # compare_gan passed scope= instead of name=: default scope "batch_norm".
  assert "generator/batch_norm/gamma" in g
  assert not any("final_norm" in n for n in g)
  assert features.shape == (2, 16 * 4)


def test_resnet_biggan_deep_structure():
  generator, discriminator, _, (_, _, features) = _build(
      arch_names.RESNET_BIGGAN_DEEP_ARCH, (128, 128, 3),
      extra=["G.batch_norm_fn = @conditional_batch_norm"])
  g, d = _names(generator), _names(discriminator)
  assert len([n for n in g if n.endswith("conv1/1x1_conv/kernel")]) == 10
  assert "generator/non_local_block/sigma" in g  # After the 64x64 up block.
  assert "generator/final_norm/gamma" in g
  # Every norm gets concat(z, embed_y(y)): 120 + 128.
  cbn = generator.store["generator/B1/conv1/bn/condition/gamma/kernel"]
  assert cbn.shape == (248, 8 * 16)
  assert generator.store["generator/fc_noise/kernel"].shape == (248, 16 * 8 * 16)
  assert "discriminator/initial_conv/kernel" in d
  assert "discriminator/B1/shortcut/add_channels/kernel" in d
  assert "discriminator/non_local_block/sigma" in d
  assert features.shape == (2, 16 * 8)


def test_resnet_biggan_deep_sums_features():
  """Quirk `biggan-deep-d`: the features are the sum (not the mean) of the
  final ReLU map over its 2x2 positions."""
  _bind(SMALL[arch_names.RESNET_BIGGAN_DEEP_ARCH] +
        ["resnet_biggan_deep.Discriminator.project_y = False"])
  images = np.random.RandomState(6).uniform(size=(2, 32, 32, 3)).astype(np.float32)
  with tf.Graph().as_default():
    discriminator = resnet_biggan_deep.Discriminator()
    _, _, features = discriminator(tf.constant(images), None, is_training=True)
    pooled = features.op
    while pooled.type in ("Identity", "Cast"):
      pooled = pooled.inputs[0].op
    final_map = pooled.inputs[0]  # The tensor the features pool.
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      features, final_map = session.run([features, final_map])
  assert "discriminator/embedding_fc/kernel" not in discriminator.store
  assert final_map.shape == (2, 2, 2, 8 * 2) and final_map.min() >= 0.0
  np.testing.assert_allclose(features, final_map.sum(axis=(1, 2)), rtol=1e-5,
                             atol=1e-6)
  assert np.abs(features - final_map.mean(axis=(1, 2))).max() > 1e-3


@pytest.mark.slow
def test_resnet_biggan_deep_parameter_counts_direct():
  with tf.Graph().as_default():
    generator = resnet_biggan_deep.Generator(
        image_shape=(128, 128, 3), batch_norm_fn=normalization.conditional_batch_norm)
    discriminator = resnet_biggan_deep.Discriminator()
    y = tf.one_hot([1, 1], 1000)
    images = generator(tf.zeros([2, 128]), y, is_training=True)
    discriminator(images, y, is_training=True)
  assert utils.count_parameters(generator.trainable_variables) == 50244484
  assert utils.count_parameters(discriminator.trainable_variables) == 34590210
