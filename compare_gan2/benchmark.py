"""Training-step benchmark: `python -m compare_gan2.benchmark --gin_config F`.

Measures, for the GAN of a gin config on this machine (default strategy):
- steady-state seconds per training step (after warm-up; the fastest of 3 inner
  loops of N steps, as in training), generator and discriminator images/s;
- the analytic FLOPs of one step in compare_gan's formulation (two-step
  resampling, D on reals and fakes in the G step; backward = 2x forward) and the
  achieved FLOP/s;
- the machine's float32 matmul and conv FLOP/s, measured in the same run, and
  the ratios to them;
- the time a step waits for input (steps fed by the input pipeline minus steps
  fed one cached batch), peak resident memory;
- images/s of an exported TF-Hub module at batch 1, 8 and 64.
`--json` prints one JSON object (figures name the CPU).
"""

import json
import os
import resource
import tempfile
import time

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import app
from absl import flags
from absl import logging
import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2 import run_info
from compare_gan2.training import checkpoints
from compare_gan2.training import loop as loop_lib
from compare_gan2 import builder

def define_flags(flag_values=flags.FLAGS):
  """The command line's flags (defined by the entry point only, so importing this
  module next to compare_gan2.main defines nothing twice)."""
  fv = dict(flag_values=flag_values)
  flags.DEFINE_multi_string("gin_config", [], "Gin config files (repeatable).", **fv)
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings (repeatable).", **fv)
  flags.DEFINE_integer("steps", 20, "Training steps per timed inner loop (the "
                       "fastest of 3 loops counts).", **fv)
  flags.DEFINE_integer("warmup_steps", 3, "Steps run before timing (tracing "
                       "included).", **fv)
  flags.DEFINE_boolean("hub", True, "Also export a TF-Hub module and time "
                       "generation.", **fv)
  flags.DEFINE_boolean("json", False, "Print the results as one JSON object "
                       "only.", **fv)


FLAGS = flags.FLAGS

HUB_BATCH_SIZES = (1, 8, 64)


# ------------------------------------------------------------------ machine
def _time_call(fn, repeats):
  """Median wall seconds of fn() over `repeats` calls after one warm-up call."""
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def machine_flops(repeats=5):
  """Float32 FLOP/s of a 2048^3 matmul and of a 3x3 conv (batch 32, 32x32, 128
  -> 128 channels, SAME): 2 multiply-adds counted as 2 FLOPs."""
  a = tf.random.normal([2048, 2048])
  matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
  x = tf.random.normal([32, 32, 32, 128])
  w = tf.random.normal([3, 3, 128, 128])
  conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(x, w, 1, "SAME")))
  matmul_flops = 2.0 * 2048 ** 3
  conv_flops = 2.0 * 32 * 32 * 32 * 128 * 128 * 9
  return {"matmul_flops_per_sec": matmul_flops / _time_call(matmul, repeats),
          "conv_flops_per_sec": conv_flops / _time_call(conv, repeats)}


# -------------------------------------------------------------------- FLOPs
def _static(shape):
  return [int(d) if d is not None else 0 for d in shape]


def einsum_flops(equation, shapes):
  """FLOPs (2 per multiply-add) of a two-operand einsum: 2 x the product of
  the sizes of every index it names ("nchw,uw->nchu": 2 n c h w u)."""
  inputs = equation.replace(" ", "").split("->")[0].split(",")
  if len(inputs) != 2 or "." in equation:
    raise ValueError(f"einsum_flops counts two-operand einsums without "
                     f"ellipsis, got {equation!r}.")
  sizes = {}
  for letters, shape in zip(inputs, shapes):
    sizes.update(zip(letters, shape))
  return 2 * int(np.prod(list(sizes.values())))


def graph_flops(graph):
  """FLOPs (2 per multiply-add) of the Conv2D, Conv2DBackpropInput (transposed
  conv), MatMul, BatchMatMul and two-operand Einsum ops of a graph, from their
  static shapes."""
  total = 0
  for op in graph.get_operations():
    if op.type == "Einsum" and len(op.inputs) == 2:
      total += einsum_flops(op.get_attr("equation").decode(),
                            [_static(t.shape) for t in op.inputs])
      continue
    if op.type == "Conv2D":
      out = _static(op.outputs[0].shape)
      kh, kw, cin, _ = _static(op.inputs[1].shape)
      total += 2 * int(np.prod(out)) * kh * kw * cin
    elif op.type == "Conv2DBackpropInput":
      kh, kw, cout, _ = _static(op.inputs[1].shape)
      total += 2 * int(np.prod(_static(op.inputs[2].shape))) * kh * kw * cout
    elif op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3"):
      a, b = _static(op.inputs[0].shape), _static(op.inputs[1].shape)
      transpose_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
      transpose_b = op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y")
      m, k = (a[-1], a[-2]) if transpose_a else (a[-2], a[-1])
      n = b[-2] if transpose_b else b[-1]
      total += 2 * int(np.prod(a[:-2] or [1])) * m * n * k
  return total


def _forward_flops(gan, batch_size, fused):
  """(G forward FLOPs, D forward FLOPs) at `batch_size`, traced with
  `resampling.fused = fused`."""
  from compare_gan2.architectures import variable_store  # pylint: disable=g-import-not-at-top
  y = gan.real_labels(tf.zeros([batch_size], tf.int32))
  z = tf.zeros([batch_size, gan.z_dim])
  images = tf.zeros([batch_size] + list(gan.dataset.image_shape))

  def gen():
    with variable_store.no_state_updates():
      return gan.generator(z, y, is_training=True)

  def disc():
    with variable_store.no_state_updates():
      return gan.discriminator_fn(images, y, is_training=True)

  with gin.unlock_config():
    previous = (gin.query_parameter("resampling.fused")
                if gin_setup.is_bound("resampling.fused") else True)
    gin.bind_parameter("resampling.fused", fused)
    try:
      g = graph_flops(tf.function(gen).get_concrete_function().graph)
      d = graph_flops(tf.function(disc).get_concrete_function().graph)
    finally:
      gin.bind_parameter("resampling.fused", previous)
  return g, d


def step_flops(gan):
  """FLOPs of one training step in compare_gan's formulation.

  With G and D the forward FLOPs at the sub-step batch B (two-step resampling)
  and backward = 2x forward: each of the disc_iters D steps runs G(B), D(2B)
  and D's backward, G + 6 D; compare_gan's G step runs G(B), D on reals and
  fakes (2B) and the backward through both (inputs of D, weights of G), 3 G + 4 D.
  """
  g, d = _forward_flops(gan, gan.batch_size, fused=False)
  return gan.disc_iters * (g + 6 * d) + 3 * g + 4 * d, g, d


# --------------------------------------------------------------- training
def _cached_batches(gan):
  """One step's batch, repeated: steps that never wait for input."""
  return gan.input_fn(gan.batch_size * gan.num_sub_steps).take(1).cache().repeat()


def time_steps(gan, strategy, dataset, steps, warmup_steps, jit_compile=False,
               repeats=3):
  """Seconds per step: the fastest of `repeats` inner loops of `steps` steps,
  after warm-up (a shared machine only ever adds time)."""
  step_loop = loop_lib.StepLoop(gan, strategy, iter(dataset), jit_compile=jit_compile)
  step_loop(warmup_steps)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    _, bad_step = step_loop(steps)
    times.append((time.perf_counter() - start) / steps)
    if bad_step >= 0:
      logging.warning("Non-finite loss at step %d during the benchmark.", bad_step)
  return min(times)


def _peak_memory_mib():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------- TF-Hub
def _hub_inputs(signature, batch_size, gan):
  """Random inputs for every input of a module signature."""
  _, kwargs = signature.structured_input_signature
  inputs = {}
  rng = np.random.default_rng(0)
  for name, spec in kwargs.items():
    if name == "z":
      inputs[name] = tf.constant(rng.normal(size=[batch_size, spec.shape[-1]]),
                                 tf.float32)
    elif name == "y":
      inputs[name] = tf.one_hot(rng.integers(0, spec.shape[-1], batch_size),
                                spec.shape[-1])
    elif name == "labels":
      inputs[name] = tf.constant(rng.integers(0, gan.num_classes or 1, batch_size),
                                 spec.dtype)
    elif name == "truncation":
      inputs[name] = tf.constant(1.0, spec.dtype)
    else:
      raise ValueError(f"Unexpected module input {name!r}.")
  return inputs


def hub_generation(gan, repeats=5):
  """{batch size: images/s} of the exported module's default signature."""
  import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  from compare_gan2.export import hub_export  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory() as tmp:
    manager = checkpoints.make_manager(
        checkpoints.make_checkpoint(gan.variables_to_save()), tmp, 1)
    path = manager.save(checkpoint_number=int(gan.global_step.numpy()))
    options = hub_export.get_export_options(truncation_grid_size=2,
                                            stats_num_batches=1)
    module = hub_export.export_checkpoint(gan, path, os.path.join(tmp, "hub"),
                                          options=options)
    signature = hub.load(module).signatures["default"]
    result = {}
    for batch_size in HUB_BATCH_SIZES:
      inputs = _hub_inputs(signature, batch_size, gan)
      seconds = _time_call(lambda inputs=inputs: signature(**inputs), repeats)
      result[str(batch_size)] = batch_size / seconds
  return result


# ------------------------------------------------------------------- main
def run_benchmark(config_files, bindings, steps=20, warmup_steps=3, hub=True,
                  repeats=3):
  """All figures of the module docstring, as a dict."""
  gin.clear_config()
  gin_setup.parse(config_files=config_files, bindings=bindings)
  with tempfile.TemporaryDirectory() as model_dir:
    ctx = builder.build_context(model_dir)
    gan, strategy = ctx.gan, ctx.strategy
    with strategy.scope():
      gan.build()
    flops, g_flops, d_flops = step_flops(gan)
    fused_g, fused_d = _forward_flops(gan, gan.batch_size, fused=True)
    machine = machine_flops()
    jit = ctx.run_config.jit_compile
    input_seconds = time_steps(gan, strategy, gan.input_fn(
        gan.batch_size * gan.num_sub_steps), steps, warmup_steps, jit, repeats)
    compute_seconds = time_steps(gan, strategy, _cached_batches(gan), steps,
                                 warmup_steps, jit, repeats)
    b = gan.batch_size
    g_step_d_images = b if gan.uses_cheap_generator_step() else 2 * b
    result = {
        "gin_config": list(config_files),
        "gin_bindings": list(bindings),
        "cpu": run_info.cpu_model(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "intra_op_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
        "precision": ctx.run_config.precision,
        "jit_compile": jit,
        "batch_size": b,
        "disc_iters": gan.disc_iters,
        "steps": steps,
        "seconds_per_step": compute_seconds,
        "seconds_per_step_with_input": input_seconds,
        "input_wait_seconds_per_step": max(input_seconds - compute_seconds, 0.0),
        "generator_images_per_sec": b * gan.num_sub_steps / compute_seconds,
        "discriminator_images_per_sec":
            (gan.disc_iters * 2 * b + g_step_d_images) / compute_seconds,
        "step_flops_compare_gan": flops,
        "generator_forward_flops": g_flops,
        "discriminator_forward_flops": d_flops,
        "generator_forward_flops_fused": fused_g,
        "discriminator_forward_flops_fused": fused_d,
        "achieved_flops_per_sec": flops / compute_seconds,
        **machine,
        "ratio_to_matmul": flops / compute_seconds / machine["matmul_flops_per_sec"],
        "ratio_to_conv": flops / compute_seconds / machine["conv_flops_per_sec"],
    }
    if hub:
      result["hub_images_per_sec"] = hub_generation(gan)
    result["peak_memory_mib"] = _peak_memory_mib()
  return result


def _print_table(result):
  for key, value in result.items():
    if isinstance(value, float):
      value = f"{value:.4g}"
    print(f"{key:36s} {value}")


# The numeric flags' ranges (errors.check_number's bounds).
FLAG_RANGES = {"steps": dict(integer=True, minimum=1),
               "warmup_steps": dict(integer=True, minimum=0)}


def main(argv):
  del argv
  if not FLAGS.gin_config:
    raise app.UsageError("Give --gin_config (e.g. gin_configs/benchmark_biggan32.gin).")
  with errors.reported_as_one_line("python -m compare_gan2.benchmark"):
    for name, bounds in FLAG_RANGES.items():
      errors.check_number(f"--{name}", FLAGS[name].value, **bounds)
  result = run_benchmark(FLAGS.gin_config, FLAGS.gin_bindings, FLAGS.steps,
                         FLAGS.warmup_steps, FLAGS.hub)
  if FLAGS.json:
    print(json.dumps(result, sort_keys=True))
  else:
    _print_table(result)


if __name__ == "__main__":
  from compare_gan2 import flags_help  # pylint: disable=g-import-not-at-top
  define_flags()
  flags_help.run(main, __doc__)
