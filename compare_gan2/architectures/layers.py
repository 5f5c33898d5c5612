"""Linear and convolutional layers (compare_gan's `arch_ops.linear`, `conv2d`,
`conv1x1`, `deconv2d`, `lrelu`) and the class projection of projection
discriminators.

Each layer creates its variables in the current scope of the active
`variable_store` on the first call (`<scope>/kernel`, `<scope>/bias`) and
computes in the `precision.compute_dtype()`. Kernels use the gin `weights`
initializer (`initializers.weight_initializer`).
"""

import tensorflow as tf

from compare_gan2.architectures import initializers
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store as vs
from compare_gan2.architectures import weight_ops


def num_channels(inputs):
  """The (known) size of the last axis of `inputs`."""
  channels = inputs.shape[-1]
  if channels is None:
    raise ValueError("The channel dimension of {} must be known.".format(
        inputs.shape))
  return int(channels)


def linear(inputs, output_size, scope=None, stddev=0.02, bias_start=0.0,
           use_sn=False, use_bias=True):
  """inputs @ kernel (+ bias). Variables `<scope>/kernel` and `<scope>/bias`.

  The kernel uses the gin `weights` initializer with stddev=0.02 passed
  explicitly (docs/compare_gan_quirks.md `weights-stddev`); the bias is the
  constant `bias_start`.
  """
  inputs = precision.compute_cast(tf.convert_to_tensor(inputs))
  with vs.variable_scope(scope or "linear"):
    kernel = vs.get_variable("kernel", [int(inputs.shape[1]), output_size],
                             initializers.weight_initializer(stddev=stddev))
    if use_sn:
      kernel = weight_ops.spectral_norm(kernel, name=vs.full_name("kernel"))
    outputs = tf.matmul(inputs, precision.compute_cast(kernel))
    if use_bias:
      bias = vs.get_variable("bias", [output_size],
                             initializers.constant(bias_start))
      outputs += precision.compute_cast(bias)
    return outputs


def conv_kernel_and_bias(in_channels, output_dim, k_h, k_w, stddev=0.02,
                         use_sn=False, use_bias=True):
  """(kernel [k_h, k_w, in_channels, output_dim], bias or None) of a convolution in
  the current scope, in the compute dtype; the kernel spectrally normalized if
  `use_sn`. Variables `kernel` and `bias` as `conv2d` makes them."""
  w = vs.get_variable("kernel", [k_h, k_w, in_channels, output_dim],
                      initializers.weight_initializer(stddev=stddev))
  if use_sn:
    w = weight_ops.spectral_norm(w, name=vs.full_name("kernel"))
  bias = None
  if use_bias:
    bias = precision.compute_cast(
        vs.get_variable("bias", [output_dim], initializers.zeros()))
  return precision.compute_cast(w), bias


def conv2d(inputs, output_dim, k_h, k_w, d_h, d_w, stddev=0.02, name="conv2d",
           use_sn=False, use_bias=True):
  """2-D convolution, SAME padding; kernel [k_h, k_w, C_in, output_dim]."""
  inputs = precision.compute_cast(tf.convert_to_tensor(inputs))
  with vs.variable_scope(name):
    w, bias = conv_kernel_and_bias(num_channels(inputs), output_dim, k_h, k_w,
                                   stddev=stddev, use_sn=use_sn, use_bias=use_bias)
    outputs = tf.nn.conv2d(inputs, w, strides=[1, d_h, d_w, 1], padding="SAME")
    if bias is not None:
      outputs += bias
  return outputs


def conv1x1(inputs, output_dim, name="conv2d", use_sn=False, use_bias=True,
            stddev=0.02):
  """1x1 convolution with stride 1 (`conv2d` with k=1, d=1)."""
  return conv2d(inputs, output_dim, k_h=1, k_w=1, d_h=1, d_w=1, stddev=stddev,
                name=name, use_sn=use_sn, use_bias=use_bias)


def deconv2d(inputs, output_shape, k_h, k_w, d_h, d_w, stddev=0.02,
             name="deconv2d", use_sn=False):
  """Transposed 2-D convolution (SAME); kernel [k_h, k_w, C_out, C_in] + bias."""
  inputs = precision.compute_cast(tf.convert_to_tensor(inputs))
  with vs.variable_scope(name):
    w = vs.get_variable("kernel",
                        [k_h, k_w, int(output_shape[-1]), num_channels(inputs)],
                        initializers.weight_initializer(stddev=stddev))
    if use_sn:
      w = weight_ops.spectral_norm(w, name=vs.full_name("kernel"))
    deconv = tf.nn.conv2d_transpose(inputs, precision.compute_cast(w),
                                    output_shape=output_shape,
                                    strides=[1, d_h, d_w, 1], padding="SAME")
    bias = precision.compute_cast(vs.get_variable(
        "bias", [int(output_shape[-1])], initializers.zeros()))
    return tf.reshape(tf.nn.bias_add(deconv, bias), tf.shape(deconv))


def lrelu(inputs, leak=0.2, name="lrelu"):
  """Leaky ReLU max(x, leak * x)."""
  return tf.maximum(inputs, leak * inputs, name=name)


def class_projection(features, y, use_sn, initializer=None):
  """sum((y K) * features, axis=1) as [N, 1]: the projection term of a
  projection discriminator (Miyato & Koyama, 2018, arXiv:1802.05637).

  K = `kernel` [num_classes, dim features] in the current scope, initialised
  with `initializer` (default glorot_normal, ignoring the gin `weights`, as
  compare_gan's BigGAN discriminators' `embedding_fc` and S3GAN's
  `discriminator_projection`), spectrally normalized if `use_sn`.
  """
  kernel = vs.get_variable("kernel", [int(y.shape[1]), int(features.shape[1])],
                           initializer or initializers.glorot_normal())
  if use_sn:
    kernel = weight_ops.spectral_norm(kernel, name=vs.full_name("kernel"))
  embedded_y = tf.matmul(y, precision.compute_cast(kernel))
  return tf.reduce_sum(embedded_y * features, axis=1, keepdims=True)
