"""compare_gan2.benchmark: FLOP counting and one short run of every figure."""

import json

import numpy as np
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


def test_benchmark_reports_every_figure(tmp_path):
  bindings = list(tf_test_utils.TINY_GAN_BINDINGS) + ["penalty.fn = @no_penalty"]
  result = benchmark.run_benchmark([], bindings, steps=2, warmup_steps=1, hub=True,
                                  repeats=1)
  json.dumps(result)  # Serializable.
  for key in ("seconds_per_step", "seconds_per_step_with_input",
              "generator_images_per_sec", "discriminator_images_per_sec",
              "achieved_flops_per_sec", "matmul_flops_per_sec", "conv_flops_per_sec",
              "ratio_to_conv", "peak_memory_mib", "input_wait_seconds_per_step"):
    assert np.isfinite(result[key]) and result[key] >= 0, key
  assert result["step_flops_compare_gan"] > 0
  assert set(result["hub_images_per_sec"]) == {"1", "8", "64"}
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
  step, g, d = benchmark.step_flops(gan)
  assert step == gan.disc_iters * (g + 6 * d) + 3 * g + 4 * d
