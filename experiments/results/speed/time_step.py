"""Seconds per training step with stable APIs only (runs on old and new trees).
usage: python time_step.py CONFIG STEPS [bindings...]"""
import sys, time, tempfile, json, os
import tensorflow as tf
from compare_gan2 import gin_setup
from compare_gan2 import builder
cfg, steps, bindings = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
gin_setup.parse(config_files=[cfg], bindings=bindings)
ctx = builder.build_context(tempfile.mkdtemp())
gan, strategy = ctx.gan, ctx.strategy
gan.build()
ds = gan.input_fn(gan.batch_size * gan.num_sub_steps).take(1).cache().repeat()
it = iter(ds)
step_fn = gan.train_step
if getattr(ctx.run_config, "jit_compile", False):
  step_fn = tf.function(gan.train_step, jit_compile=True)
@tf.function
def loop(n):
  for _ in tf.range(n):
    m = strategy.run(step_fn, args=(next(it),))
  return m
loop(tf.constant(2))
loop(tf.constant(2))
times = []
for _ in range(3):
  t0 = time.perf_counter(); m = loop(tf.constant(steps)); float(m["g"]); times.append((time.perf_counter() - t0) / steps)
print(json.dumps({"config": os.path.basename(cfg), "bindings": bindings, "tree": os.path.dirname(os.path.dirname(__import__("compare_gan2").__file__)), "sec_per_step": min(times), "all": times}))
