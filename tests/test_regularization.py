"""BigGAN orthogonal regularization as a gin-selected G / D regularizer."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import gin_setup
from compare_gan2.architectures import weight_ops
from compare_gan2.architectures import initializers
from compare_gan2.architectures import resnet_cifar
from compare_gan2.gans import regularizers


def _numpy_ortho(weights, beta=1e-4):
  total = 0.0
  for w in weights:
    w = w.reshape(-1, w.shape[-1]).astype(np.float64)
    gram = w.T @ w
    total += np.sum((gram * (1 - np.eye(gram.shape[0]))) ** 2)
  return beta * total


class _Net:
  """Anything with trainable_variables works as a network."""

  def __init__(self, variables):
    self.trainable_variables = variables


def _variables(seed=0):
  rng = np.random.RandomState(seed)
  return [
      tf.Variable(rng.randn(3, 3, 4, 5).astype(np.float32), name="a/kernel"),
      tf.Variable(rng.randn(7, 2).astype(np.float32), name="b/kernel"),
      tf.Variable(rng.randn(5).astype(np.float32), name="b/bias"),  # Skipped.
      tf.Variable(rng.randn(6, 6).astype(np.float32), name="c/gamma"),  # Skipped.
  ]


def test_orthogonal_regularization_matches_numpy():
  variables = _variables()
  expected = _numpy_ortho([variables[0].numpy(), variables[1].numpy()])
  value = weight_ops.orthogonal_regularization(variables)
  np.testing.assert_allclose(float(value), expected, rtol=1e-5)
  value = weight_ops.orthogonal_regularization(variables, beta=0.5)
  np.testing.assert_allclose(float(value), expected / 1e-4 * 0.5, rtol=1e-5)


def test_no_diagonal_term():
  # Orthogonal columns of any norm: W^T W is diagonal, so R(W) = 0.
  q, _ = np.linalg.qr(np.random.RandomState(1).randn(8, 4))
  w = tf.Variable((q * np.array([1.0, 2.0, 3.0, 0.5])).astype(np.float32),
                  name="q/kernel")
  assert abs(float(weight_ops.orthogonal_regularization([w]))) < 1e-9
  # A non-orthogonal matrix is penalised.
  w2 = tf.Variable(np.ones([3, 2], np.float32), name="o/kernel")
  np.testing.assert_allclose(
      float(weight_ops.orthogonal_regularization([w2])), 1e-4 * 2 * 9.0)


def test_gradient_matches_numpy():
  w = tf.Variable(np.random.RandomState(2).randn(5, 3).astype(np.float32),
                  name="g/kernel")
  with tf.GradientTape() as tape:
    value = weight_ops.orthogonal_regularization([w])
  grad = tape.gradient(value, w).numpy()
  x = w.numpy().astype(np.float64)
  off = x.T @ x * (1 - np.eye(3))
  np.testing.assert_allclose(grad, 1e-4 * 4 * x @ off, rtol=1e-4)


def test_regularizers_default_to_zero():
  net = _Net(_variables())
  assert float(regularizers.generator_regularization(net)) == 0.0
  assert float(regularizers.discriminator_regularization(net)) == 0.0


def test_gin_selects_regularizer_for_g_only():
  gin_setup.parse(bindings=[
      "G_regularizer.fn = @orthogonal_regularization",
      "orthogonal_regularization.beta = 0.001"])
  variables = _variables()
  expected = _numpy_ortho([variables[0].numpy(), variables[1].numpy()],
                          beta=1e-3)
  np.testing.assert_allclose(
      float(regularizers.generator_regularization(_Net(variables))),
      expected, rtol=1e-5)
  assert float(regularizers.discriminator_regularization(
      _Net(variables))) == 0.0


def test_gin_selects_regularizer_for_d():
  gin.parse_config("D_regularizer.fn = @orthogonal_regularization")
  variables = _variables()
  expected = _numpy_ortho([variables[0].numpy(), variables[1].numpy()])
  np.testing.assert_allclose(
      float(regularizers.discriminator_regularization(_Net(variables))),
      expected, rtol=1e-5)


def test_on_a_real_generator_and_in_tf_function():
  initializers.set_initialization_seed(0)
  gin.parse_config("G_regularizer.fn = @orthogonal_regularization")
  generator = resnet_cifar.Generator(image_shape=(32, 32, 3))
  generator(tf.zeros([1, 16]), None, is_training=True)
  kernels = [v.numpy() for v in generator.trainable_variables
             if v.name.split(":")[0].endswith("kernel")]
  expected = _numpy_ortho(kernels)
  value = tf.function(
      lambda: regularizers.generator_regularization(generator))()
  np.testing.assert_allclose(float(value), expected, rtol=1e-4)


def test_custom_regularizer_and_scalar_check():
  variables = _variables()
  net = _Net(variables)
  # Every trainable variable reaches `fn` (biases and gammas included).
  value = regularizers.get_regularization(
      net, fn=lambda variables: tf.add_n([tf.reduce_sum(v) for v in variables]))
  assert value.shape == ()
  np.testing.assert_allclose(
      float(value), sum(np.sum(v.numpy(), dtype=np.float64) for v in variables),
      rtol=1e-5)
  # A function of `network` receives the network itself.
  value = regularizers.get_regularization(
      net, fn=lambda network: 2.0 * network.trainable_variables[1][0, 0])
  assert float(value) == 2.0 * float(variables[1][0, 0])
  with pytest.raises(ValueError, match="scalar"):
    regularizers.get_regularization(net, fn=lambda network: tf.ones([2]))
