"""run_config.precision: mixed bfloat16 / float16 training steps."""

import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils
import test_distributed as dist

from compare_gan2 import optimizers
from compare_gan2.architectures import precision as precision_lib
from compare_gan2.training import checkpoints
from compare_gan2.training import runner


def _op_dtypes(concrete, op_type):
  """The T attributes of every `op_type` op in a concrete function, nested
  function bodies included."""
  found = []
  graphs = [concrete.graph.as_graph_def()]
  for graph_def in graphs:
    nodes = list(graph_def.node)
    for fn in graph_def.library.function:
      nodes.extend(fn.node_def)
    for node in nodes:
      if node.op == op_type and "T" in node.attr:
        found.append(tf.as_dtype(node.attr["T"].type).name)
  return found


@pytest.mark.parametrize("precision,dtype", [
    pytest.param("mixed_bfloat16", "bfloat16", marks=pytest.mark.bf16),
    ("mixed_float16", "float16")])
def test_mixed_step_computes_networks_in_low_precision(tmp_path, precision, dtype):
  ctx = dist._context(tmp_path, dist.BIGGAN_BINDINGS)  # pylint: disable=protected-access
  gan = dist._new_gan(ctx, tf.distribute.get_strategy(), precision=precision)  # pylint: disable=protected-access
  batch = dist._global_batch(gan)  # pylint: disable=protected-access
  step = tf.function(gan.train_step)
  concrete = step.get_concrete_function(batch)
  convs = _op_dtypes(concrete, "Conv2D")
  assert convs and set(convs) == {dtype}, set(convs)
  # Attention softmax, SN power iteration (MatMul on u) and BN moments in float32.
  assert set(_op_dtypes(concrete, "Softmax")) == {"float32"}
  assert "float32" in _op_dtypes(concrete, "MatMul")
  assert "float32" in _op_dtypes(concrete, "Mean")
  metrics = step(batch)
  assert all(v.dtype == tf.float32 for v in metrics.values())
  assert all(np.isfinite(float(v)) for v in metrics.values())
  for var in gan.generator.variables + gan.discriminator.variables:
    assert var.dtype == tf.float32, var.name
  # Outside the training step the networks compute in float32 (sampling, export).
  assert gan.generate(tf.zeros([2, gan.z_dim]), tf.constant([0, 1])).dtype == tf.float32


@pytest.mark.bf16
def test_bfloat16_step_is_close_to_the_float32_step(tmp_path):
  ctx = dist._context(tmp_path, dist.BIGGAN_BINDINGS)  # pylint: disable=protected-access
  plain = dist._new_gan(ctx, tf.distribute.get_strategy())  # pylint: disable=protected-access
  batch = dist._global_batch(plain)  # pylint: disable=protected-access
  full = tf.function(plain.train_step)(batch)
  mixed = dist._new_gan(ctx, tf.distribute.get_strategy(), precision="mixed_bfloat16")  # pylint: disable=protected-access
  low = tf.function(mixed.train_step)(batch)
  for name in ("d_loss_real", "d_loss_fake"):  # Before any update.
    # bfloat16 keeps 8 bits of mantissa: losses agree to a few percent.
    np.testing.assert_allclose(float(low[name]), float(full[name]), rtol=0.05,
                               atol=0.02, err_msg=name)


def test_loss_scale_skips_overflowing_steps_and_adapts():
  opt = optimizers.AdamOptimizer(0.1, name="opt")
  opt.use_loss_scaling()
  opt.loss_scale.growth_steps = 2
  w = tf.Variable([1.0, 2.0], name="w")
  opt.build([w])
  assert float(opt.loss_scale.scale) == 2.0 ** 15
  opt.apply([tf.constant([np.inf, 1.0])], [w])  # Overflow: skipped, halved.
  np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
  assert float(opt.loss_scale.scale) == 2.0 ** 14 and int(opt.iterations) == 0
  np.testing.assert_array_equal(opt.slots["w/Adam"].numpy(), [0.0, 0.0])
  opt.apply([tf.constant([1.0, 1.0])], [w])
  opt.apply([tf.constant([1.0, 1.0])], [w])  # Two good steps: doubled.
  assert float(opt.loss_scale.scale) == 2.0 ** 15 and int(opt.iterations) == 2
  assert np.all(w.numpy() < [1.0, 2.0])
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(w * 3.0)
  np.testing.assert_allclose(opt.gradients(tape, loss, [w])[0].numpy(), [3.0, 3.0])


def test_mixed_float16_trains_and_checkpoints_its_loss_scale(tmp_path):
  ctx = dist._context(tmp_path, list(tf_test_utils.TINY_GAN_BINDINGS) + [  # pylint: disable=protected-access
      'run_config.precision = "mixed_float16"'])
  ctx.gan.build()
  initial = {v.name: v.numpy() for v in ctx.gan.generator.trainable_variables}
  runner.schedule_train(ctx)
  values = checkpoints.read_variables(checkpoints.latest_checkpoint(str(tmp_path)))
  gan = ctx.gan
  for name, opt, calls in (("g_opt", gan.g_optimizer, int(gan.global_step)),
                           ("d_opt", gan.d_optimizer, int(gan.global_step_disc))):
    # The checkpoint holds the trained scale: halved once per skipped (overflowing)
    # step, never doubled in fewer than 2000 steps; good steps since the last skip.
    iterations = int(values[f"{name}/iterations"])
    skipped = calls - iterations
    assert calls == 4 and iterations > 0, (name, calls, iterations)
    assert values[f"{name}/loss_scale"] == 2.0 ** (15 - skipped), name
    assert values[f"{name}/loss_scale"] == float(opt.loss_scale.scale), name
    good = int(values[f"{name}/loss_scale_good_steps"])
    assert good == int(opt.loss_scale.good_steps), name
    assert good <= iterations and (skipped or good == iterations), name
  for var in ctx.gan.generator.trainable_variables:  # Trained.
    assert not np.array_equal(initial[var.name], var.numpy()), var.name


def test_unknown_precision_is_a_config_error(tmp_path):
  with pytest.raises(Exception, match="run_config.precision"):
    dist._context(tmp_path, list(tf_test_utils.TINY_GAN_BINDINGS) + [  # pylint: disable=protected-access
        'run_config.precision = "float8"'])


def test_mixed_precision_scopes_do_not_nest_differently():
  with precision_lib.mixed_precision(tf.bfloat16):
    with pytest.raises(ValueError, match="inside"):
      with precision_lib.mixed_precision(tf.float16):
        pass
  with precision_lib.network_precision() as dtype:
    assert dtype == tf.float32
