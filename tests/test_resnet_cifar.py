"""resnet_cifar: shapes, ranges, gin wiring and compare_gan's exact variable lists.

The expected (name, shape) lists are those of compare_gan's
architectures/resnet_norm_test.py.
"""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2.architectures import normalization
from compare_gan2.architectures import get_architecture
from compare_gan2.architectures import initializers
from compare_gan2.architectures import resnet_cifar
from compare_gan2.architectures import names as arch_names


@pytest.fixture(autouse=True)
def fixed_seed():
  initializers.set_initialization_seed(0)


def _build_graph(generator=None, discriminator=None):
  """Builds G and/or D in a TF1 graph (cheap: variables are not initialised)."""
  with tf.Graph().as_default():
    z = tf.zeros((8, 128))
    y = tf.one_hot(tf.ones((8,), dtype=tf.int32), 10)
    if generator is not None:
      images = generator(z, y=y, is_training=True)
      assert images.shape.as_list() == [8, 32, 32, 3]
    if discriminator is not None:
      outputs = discriminator(tf.zeros((8, 32, 32, 3)), y=y, is_training=True)
      assert len(outputs) == 3
    return [(v.op.name, v.shape.as_list())
            for v in tf.compat.v1.global_variables()]


def _names(variables):
  return [(v.name.split(":")[0], v.shape.as_list()) for v in variables]


def _g_blocks(norm_vars):
  """Expected G block variables; norm_vars(block, bn) lists the norm's."""
  expected = []
  for b in ("B1", "B2", "B3"):
    expected += [
        ("generator/%s/up_conv_shortcut/kernel" % b, [3, 3, 256, 256]),
        ("generator/%s/up_conv_shortcut/bias" % b, [256])]
    expected += norm_vars("generator/%s/bn1" % b)
    expected += [("generator/%s/up_conv1/kernel" % b, [3, 3, 256, 256]),
                 ("generator/%s/up_conv1/bias" % b, [256])]
    expected += norm_vars("generator/%s/bn2" % b)
    expected += [("generator/%s/same_conv2/kernel" % b, [3, 3, 256, 256]),
                 ("generator/%s/same_conv2/bias" % b, [256])]
  return expected


def _g_expected(norm_vars):
  return ([("generator/fc_noise/kernel", [128, 4096]),
           ("generator/fc_noise/bias", [4096])] + _g_blocks(norm_vars) +
          norm_vars("generator/final_norm") +
          [("generator/final_conv/kernel", [3, 3, 256, 3]),
           ("generator/final_conv/bias", [3])])


def _bn(scope):
  return [(scope + "/gamma", [256]), (scope + "/beta", [256])]


def _cbn(scope):
  return [(scope + "/condition/gamma/kernel", [10, 256]),
          (scope + "/condition/beta/kernel", [10, 256])]


def _sbn(scope):
  return [(scope + "/sbn/hidden/kernel", [128, 32]),
          (scope + "/sbn/hidden/bias", [32]),
          (scope + "/sbn/gamma/kernel", [32, 256]),
          (scope + "/sbn/gamma/bias", [256]),
          (scope + "/sbn/beta/kernel", [32, 256]),
          (scope + "/sbn/beta/bias", [256])]


@pytest.mark.parametrize("batch_norm_fn,norm_vars", [
    (None, lambda scope: []),
    (normalization.batch_norm, _bn),
    (normalization.conditional_batch_norm, _cbn),
    (normalization.self_modulated_batch_norm, _sbn),
])
def test_generator_trainable_variables(batch_norm_fn, norm_vars):
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3),
                                     batch_norm_fn=batch_norm_fn)
  _build_graph(generator=generator)
  assert _names(generator.trainable_variables) == _g_expected(norm_vars)


def test_discriminator_trainable_variables():
  discriminator = resnet_cifar.Discriminator()
  _build_graph(discriminator=discriminator)
  expected = []
  for i, b in enumerate(("B1", "B2", "B3", "B4")):
    cin = 3 if i == 0 else 128
    scale = "down" if i <= 1 else "same"
    expected += [
        ("discriminator/%s/%s_conv_shortcut/kernel" % (b, scale),
         [3, 3, cin, 128]),
        ("discriminator/%s/%s_conv_shortcut/bias" % (b, scale), [128]),
        ("discriminator/%s/same_conv1/kernel" % b, [3, 3, cin, 128]),
        ("discriminator/%s/same_conv1/bias" % b, [128]),
        ("discriminator/%s/%s_conv2/kernel" % (b, scale), [3, 3, 128, 128]),
        ("discriminator/%s/%s_conv2/bias" % (b, scale), [128])]
  expected += [("discriminator/disc_final_fc/kernel", [128, 1]),
               ("discriminator/disc_final_fc/bias", [1])]
  assert _names(discriminator.trainable_variables) == expected


def test_generator_spectral_norm_global_variables():
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3),
                                     spectral_norm=True)
  global_vars = _build_graph(generator=generator)

  def with_u(norm_scope_vars):
    out = []
    for name, shape in norm_scope_vars:
      out.append((name, shape))
      if name.endswith("kernel"):
        rows = int(np.prod(shape[:-1]))
        out.append((name + "/u_var", [rows, 1]))
    return out

  expected = with_u(_g_expected(lambda scope: []))
  assert ("generator/B1/up_conv_shortcut/kernel/u_var", [2304, 1]) in expected
  assert ("generator/fc_noise/kernel/u_var", [128, 1]) in expected
  assert global_vars == expected
  assert _names(generator.variables) == expected
  assert _names(generator.trainable_variables) == _g_expected(lambda s: [])


def test_eager_forward_shapes_and_ranges():
  generator = resnet_cifar.Generator(image_shape=(32, 32, 1),
                                     batch_norm_fn=normalization.batch_norm)
  discriminator = resnet_cifar.Discriminator(project_y=True,
                                             spectral_norm=True)
  z = tf.random.stateless_normal([2, 128], seed=[0, 1])
  y = tf.one_hot([1, 3], 10)
  images = generator(z, y, is_training=True)
  assert images.shape == (2, 32, 32, 1)
  assert np.all(images.numpy() >= 0) and np.all(images.numpy() <= 1)
  prob, logit, h = discriminator(images, y, is_training=True)
  assert prob.shape == (2, 1) and logit.shape == (2, 1) and h.shape == (2, 128)
  np.testing.assert_allclose(prob.numpy(), 1 / (1 + np.exp(-logit.numpy())),
                             rtol=1e-5)
  assert "discriminator/embedding_fc/kernel" in discriminator.store
  assert "discriminator/embedding_fc/bias" not in discriminator.store
  # A second call reuses the variables.
  n = len(discriminator.variables)
  discriminator(images, y, is_training=False)
  assert len(discriminator.variables) == n


def test_gin_bindings_resolve():
  gin.parse_config("""
      resnet_cifar.Generator.hierarchical_z = True
      resnet_cifar.Generator.embed_y = True
      resnet_cifar.Discriminator.project_y = True
      G.batch_norm_fn = @conditional_batch_norm
      G.spectral_norm = True
      D.spectral_norm = True
  """)
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3))
  discriminator = resnet_cifar.Discriminator()
  assert generator._hierarchical_z and generator._embed_y
  assert generator._spectral_norm and discriminator._spectral_norm
  assert discriminator._project_y
  _build_graph(generator=generator, discriminator=discriminator)
  names = dict(_names(generator.trainable_variables))
  # hierarchical_z: z (128) in 4 chunks of 32; y embedded to z_dim (128).
  assert names["generator/fc_noise/kernel"] == [32, 4096]
  assert names["generator/embed_y/kernel"] == [10, 128]
  assert names["generator/B1/bn1/condition/gamma/kernel"] == [160, 256]
  assert names["generator/final_norm/condition/gamma/kernel"] == [128, 256]
  assert "generator/B1/bn1/condition/gamma/kernel/u_var" in generator.store


def test_unsupported_resolution_raises():
  with pytest.raises(ValueError, match=r"resnet_cifar_arch.*64x64.*32x32"):
    resnet_cifar.Generator(image_shape=(64, 64, 3))
  discriminator = resnet_cifar.Discriminator()
  with pytest.raises(ValueError, match=r"resnet_cifar_arch.*64x64"):
    discriminator(tf.zeros([1, 64, 64, 3]), None, is_training=True)


def test_registry():
  assert get_architecture(arch_names.RESNET_CIFAR_ARCH) == (
      resnet_cifar.Generator, resnet_cifar.Discriminator)
  with pytest.raises(ValueError, match="resnet_cifar_arch"):
    get_architecture("no_such_arch")
