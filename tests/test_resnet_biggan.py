"""resnet_biggan: shapes 32..512, exact parameter counts, structure, initializers."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import utils
from compare_gan2.architectures import layers
from compare_gan2.architectures import normalization
from compare_gan2.architectures import get_architecture
from compare_gan2.architectures import initializers
from compare_gan2.architectures import resnet_biggan
from compare_gan2.architectures import resnet_ops
from compare_gan2.architectures import names as arch_names

# resolution: (z_dim, G attention, D attention, G params, D params), from
# compare_gan's resnet_biggan.py docstring (1000 classes, G with CBN).
DOCSTRING_SETTINGS = {
    128: (120, "B4", "B1", 70433988, 87982370),
    256: (140, "B5", "B2", 82097604, 98635298),
    512: (160, "B4", "B3", 82468068, 98801378),
}


@pytest.fixture(autouse=True)
def fixed_seed():
  initializers.set_initialization_seed(0)


def _build_in_graph(resolution, z_dim, num_classes, generator, discriminator):
  """Creates all variables in a TF1 graph without running any computation."""
  with tf.Graph().as_default():
    z = tf.zeros((2, z_dim))
    y = tf.one_hot([1, 2], num_classes)
    images = generator(z, y=y, is_training=True)
    assert images.shape.as_list() == [2, resolution, resolution, 3]
    outputs = discriminator(images, y, is_training=True)
    assert len(outputs) == 3


@pytest.mark.parametrize("resolution", sorted(DOCSTRING_SETTINGS))
@pytest.mark.parametrize("gamma_offset", [1.0, 0.0])
def test_number_of_parameters(resolution, gamma_offset):
  z_dim, g_attn, d_attn, g_params, d_params = DOCSTRING_SETTINGS[resolution]
  gin.bind_parameter("conditional_batch_norm.gamma_offset", gamma_offset)
  generator = resnet_biggan.Generator(
      image_shape=(resolution, resolution, 3),
      batch_norm_fn=normalization.conditional_batch_norm,
      blocks_with_attention=g_attn)
  discriminator = resnet_biggan.Discriminator(blocks_with_attention=d_attn)
  _build_in_graph(resolution, z_dim, 1000, generator, discriminator)
  assert utils.count_parameters(generator.trainable_variables) == g_params
  assert utils.count_parameters(discriminator.trainable_variables) == d_params
  overview = utils.get_parameter_overview(generator.trainable_variables,
                                          limit=None)
  assert "Total: {:,}".format(g_params) in overview


def test_structure_at_128():
  generator = resnet_biggan.Generator(
      image_shape=(128, 128, 3), batch_norm_fn=normalization.conditional_batch_norm)
  discriminator = resnet_biggan.Discriminator()
  _build_in_graph(128, 120, 1000, generator, discriminator)

  for v in generator.trainable_variables:
    parts = v.name.split(":")[0].split("/")
    layer, var_name = parts[-2], parts[-1]
    if layer not in {"fc_noise", "up_conv_shortcut", "up_conv1", "same_conv2",
                     "final_conv"}:
      assert var_name != "bias", v.name  # No biases in CBN or attention.
    if parts[-3] == "condition":
      assert var_name == "kernel" and v.shape[0] == 148, v.name  # 20 + 128.
    if layer == "embed_y":
      assert var_name == "kernel" and v.shape.as_list() == [1000, 128]
    if layer == "up_conv_shortcut" and var_name == "kernel":
      assert v.shape.as_list()[:2] == [1, 1], v.name
  g_names = generator.store.names()
  assert "generator/non_local_block/sigma" in g_names
  assert "generator/final_norm/gamma" in g_names  # Unconditional final BN.

  d_names = discriminator.store.names()
  for v in discriminator.trainable_variables:
    parts = v.name.split(":")[0].split("/")
    layer, var_name = parts[-2], parts[-1]
    if layer not in {"down_conv_shortcut", "same_conv1", "down_conv2",
                     "same_conv_shortcut", "same_conv2", "final_fc"}:
      assert var_name != "bias", v.name
  assert not [n for n in d_names if n.startswith("discriminator/B6/") and
              "shortcut" in n]  # Last block: in == out, no shortcut.
  assert "discriminator/B5/down_conv_shortcut/kernel" in d_names
  assert "discriminator/B6/same_conv2/kernel" in d_names  # Not downsampled.
  assert discriminator.store["discriminator/embedding_fc/kernel"].shape == (
      1000, 96 * 16)


# D attention where the feature map is <= 64x64 (the attention matrix is
# HW x HW/4; at 256x256 it would need 4 GB).
@pytest.mark.parametrize("resolution,z_dim,d_attention", [
    (32, 120, "B1"), (64, 120, "B1"), (128, 120, "B1"), (256, 140, "B2"),
    (512, 160, "B3")])
def test_forward_shapes_small_ch(resolution, z_dim, d_attention):
  gin.bind_parameter("resnet_biggan.Generator.ch", 8)
  gin.bind_parameter("resnet_biggan.Discriminator.ch", 8)
  gin.bind_parameter("resnet_biggan.Generator.blocks_with_attention", "B2")
  gin.bind_parameter("resnet_biggan.Discriminator.blocks_with_attention",
                     d_attention)
  gin.bind_parameter("G.batch_norm_fn", normalization.conditional_batch_norm)
  gin.bind_parameter("G.spectral_norm", True)
  gin.bind_parameter("D.spectral_norm", True)
  generator = resnet_biggan.Generator(image_shape=(resolution, resolution, 3))
  discriminator = resnet_biggan.Discriminator()
  z = tf.random.stateless_normal([1, z_dim], seed=[1, 2])
  y = tf.one_hot([3], 10)
  images = generator(z, y, is_training=True)
  assert images.shape == (1, resolution, resolution, 3)
  assert np.all(images.numpy() >= 0) and np.all(images.numpy() <= 1)
  prob, logit, h = discriminator(images, y, is_training=True)
  assert prob.shape == (1, 1) and logit.shape == (1, 1)
  assert h.shape == (1, 8 * resnet_biggan._D_MULTIPLIERS[resolution][-1])
  np.testing.assert_allclose(prob.numpy(), 1 / (1 + np.exp(-logit.numpy())),
                             rtol=1e-5)
  assert "generator/non_local_block/sigma" in generator.store
  assert "discriminator/embedding_fc/kernel/u_var" in discriminator.store


def test_orthogonal_initializers():
  gin.bind_parameter("weights.initializer", "orthogonal")
  generator = resnet_biggan.Generator(
      image_shape=(64, 64, 3), ch=8, blocks_with_attention="B2",
      batch_norm_fn=normalization.conditional_batch_norm)
  discriminator = resnet_biggan.Discriminator(ch=8)
  images = generator(tf.zeros([1, 120]), tf.one_hot([0], 10), is_training=True)
  discriminator(images, tf.one_hot([0], 10), is_training=True)
  checked = 0
  for v in generator.trainable_variables + discriminator.trainable_variables:
    parts = v.name.split(":")[0].split("/")
    layer, var_name = parts[-2], parts[-1]
    value = v.numpy()
    if layer == "embedding_fc" and var_name == "kernel":
      fan_in, fan_out = value.shape
      stddev = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
      assert np.abs(value).max() <= 2 * stddev + 1e-6  # Truncated glorot.
    elif layer == "non_local_block" and var_name == "sigma":
      assert value == 0
    elif layer == "final_norm" and var_name == "gamma":
      np.testing.assert_array_equal(value, 1)
    elif layer == "final_norm" and var_name == "beta":
      np.testing.assert_array_equal(value, 0)
    elif var_name == "kernel":
      w = value.reshape(-1, value.shape[-1])
      gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
      np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-4,
                                 err_msg=v.name)
      checked += 1
    elif var_name == "bias":
      np.testing.assert_array_equal(value, 0)
    else:
      pytest.fail("Unknown variable {}".format(v.name))
  assert checked > 20


def test_unsupported_resolution_raises():
  with pytest.raises(ValueError, match=r"resnet_biggan_arch.*48x48.*"
                     r"32x32, 64x64, 128x128, 256x256, 512x512"):
    resnet_biggan.Generator(image_shape=(48, 48, 3))
  discriminator = resnet_biggan.Discriminator(ch=4)
  with pytest.raises(ValueError, match=r"resnet_biggan_arch.*1024x1024"):
    discriminator(tf.zeros([1, 1024, 1024, 3]), tf.one_hot([0], 2),
                  is_training=True)


def test_hierarchical_z_divisibility_error():
  generator = resnet_biggan.Generator(image_shape=(128, 128, 3), ch=4)
  with pytest.raises(ValueError, match="divisible"):
    generator(tf.zeros([1, 128]), tf.one_hot([0], 2), is_training=True)


def test_unpool_and_nearest_upsample():
  x = tf.reshape(tf.range(1.0, 5.0), [1, 2, 2, 1])
  unpooled = resnet_ops.unpool(x).numpy()[0, :, :, 0]
  np.testing.assert_array_equal(unpooled, [[1, 0, 2, 0], [0, 0, 0, 0],
                                           [3, 0, 4, 0], [0, 0, 0, 0]])
  np.testing.assert_array_equal(resnet_ops.upsample(x).numpy(),
                                resnet_ops.unpool(x).numpy())
  gin.bind_parameter("upsample.method", "nearest")
  nearest = resnet_ops.upsample(x).numpy()[0, :, :, 0]
  np.testing.assert_array_equal(nearest, [[1, 1, 2, 2], [1, 1, 2, 2],
                                          [3, 3, 4, 4], [3, 3, 4, 4]])
  pooled = resnet_ops.downsample(tf.constant(nearest)[None, :, :, None])
  np.testing.assert_array_equal(pooled.numpy()[0, :, :, 0], [[1, 2], [3, 4]])


def test_extra_head_in_discriminator_store():
  discriminator = resnet_biggan.Discriminator(ch=4, project_y=False)
  _, _, h = discriminator(tf.zeros([2, 32, 32, 3]), None, is_training=True)
  with discriminator.in_store("discriminator_rotation"):
    logits = layers.linear(h, 4, scope="score_classify")
  assert logits.shape == (2, 4)
  names = [v.name for v in discriminator.trainable_variables]
  assert "discriminator_rotation/score_classify/kernel:0" in names


def test_registry_and_gin_module_names():
  assert get_architecture(arch_names.RESNET_BIGGAN_ARCH) == (
      resnet_biggan.Generator, resnet_biggan.Discriminator)
  gin.parse_config("""
      resnet_biggan.Generator.embed_y_dim = 16
      BigGanResNetBlock.add_shortcut = False
  """)
  generator = resnet_biggan.Generator(image_shape=(32, 32, 3), ch=4)
  assert generator._embed_y_dim == 16
  generator(tf.zeros([1, 120]), tf.one_hot([0], 3), is_training=True)
  assert not [n for n in generator.store.names() if "shortcut" in n]
