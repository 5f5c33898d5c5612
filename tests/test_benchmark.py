"""compare_gan2.benchmark: FLOP counting and one short run of every figure."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import benchmark


def test_graph_flops_counts_conv_transposed_conv_and_matmul():
  x = tf.zeros([2, 8, 8, 3])
  w = tf.zeros([3, 3, 3, 5])
  a, b = tf.zeros([4, 6]), tf.zeros([6, 7])

  def fn():
    conv = tf.nn.conv2d(x, w, 1, "SAME")                    # 2*2*8*8*5*9*3
    up = tf.nn.conv2d_transpose(conv, tf.zeros([3, 3, 4, 5]), [2, 16, 16, 4], 2,
                                "SAME")                     # 2*(2*8*8*5)*9*4
    return conv, up, tf.matmul(a, b), tf.matmul(a, a, transpose_a=True)

  graph = tf.function(fn).get_concrete_function().graph
  expected = (2 * 2 * 8 * 8 * 5 * 9 * 3 + 2 * 2 * 8 * 8 * 5 * 9 * 4
              + 2 * 4 * 6 * 7 + 2 * 6 * 6 * 4)
  assert benchmark.graph_flops(graph) == expected


def test_graph_flops_counts_einsum_as_its_indices():
  x, m = tf.zeros([2, 3, 5, 7]), tf.zeros([11, 7])
  graph = tf.function(lambda: tf.einsum("nchw,uw->nchu", x, m)
                      ).get_concrete_function().graph
  assert benchmark.graph_flops(graph) == 2 * 2 * 3 * 5 * 7 * 11
  assert benchmark.einsum_flops("ij,jk->ik", [[4, 6], [6, 7]]) == 2 * 4 * 6 * 7
  with pytest.raises(ValueError, match="two-operand"):
    benchmark.einsum_flops("i,i,i->", [[2], [2], [2]])


def test_benchmark_reports_every_figure(tmp_path):
  bindings = list(tf_test_utils.TINY_GAN_BINDINGS) + ["penalty.fn = @no_penalty"]
  result = benchmark.run_benchmark([], bindings, steps=2, warmup_steps=1, hub=True,
                                  repeats=1)
  json.dumps(result)  # Serializable.
  for key in ("seconds_per_step", "seconds_per_step_with_input",
              "generator_images_per_sec", "discriminator_images_per_sec",
              "achieved_flops_per_sec", "matmul_flops_per_sec", "conv_flops_per_sec",
              "ratio_to_conv", "peak_memory_mib"):
    assert np.isfinite(result[key]) and result[key] > 0, key
  # The tiny GAN's FLOPs, counted by hand from dummy_arch at batch 4 (z 8, 6
  # classes, 32x32x3 images): G = fc1 (14 -> 16) + fc2 (16 -> 3072); D = fc1
  # (3072 -> 16) + fc2 (16 -> 1) + embed_y (6 -> 16); 2 FLOPs per multiply-add.
  g = 2 * 4 * (14 * 16 + 16 * 3072)
  d = 2 * 4 * (3072 * 16 + 16 + 6 * 16)
  assert (result["generator_forward_flops"], result["discriminator_forward_flops"]) == (
      g, d)
  # compare_gan's step: one D step (G, D on 2B, D backward = G + 6 D) and the G
  # step (G forward and backward, D forward and backward on 2B = 3 G + 4 D).
  assert result["disc_iters"] == 1
  assert result["step_flops_compare_gan"] == (g + 6 * d) + (3 * g + 4 * d) == 5521152
  # The rates are those counts over the measured time.
  seconds = result["seconds_per_step"]
  assert result["generator_images_per_sec"] == pytest.approx(4 * 2 / seconds)
  # D sees reals and fakes in its step, then (D per example: the cheap G step)
  # only the fakes in G's step.
  assert result["discriminator_images_per_sec"] == pytest.approx((2 * 4 + 4) / seconds)
  assert result["achieved_flops_per_sec"] == pytest.approx(5521152 / seconds)
  assert result["ratio_to_conv"] == pytest.approx(
      result["achieved_flops_per_sec"] / result["conv_flops_per_sec"])
  assert result["input_wait_seconds_per_step"] == pytest.approx(
      max(result["seconds_per_step_with_input"] - seconds, 0.0))
  assert set(result["hub_images_per_sec"]) == {"1", "8", "64"}
  assert all(v > 0 for v in result["hub_images_per_sec"].values())
  assert result["cpu"] and result["batch_size"] == 4


def test_fused_resampling_lowers_the_flops_of_biggan():
  import test_distributed as dist  # pylint: disable=g-import-not-at-top
  import gin  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  from compare_gan2 import gin_setup  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
  gin_setup.parse(bindings=dist.BIGGAN_BINDINGS)
  gan = builder.build_gan()
  gan.build()
  direct_g, direct_d = benchmark._forward_flops(gan, 4, fused=False)  # pylint: disable=protected-access
  fused_g, fused_d = benchmark._forward_flops(gan, 4, fused=True)  # pylint: disable=protected-access
  assert fused_g < 0.75 * direct_g and fused_d < direct_d
