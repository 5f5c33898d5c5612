"""Seconds per ConSinGAN training iteration (compare_gan2/singan) on this CPU.

  TF_NUM_INTRAOP_THREADS=2 TF_NUM_INTEROP_THREADS=1 \
      .venv/bin/python benchmarks/consingan_speed.py [--stages 4 5] [--out F.json]

The setting of gin_configs/consingan_cpu.gin on scikit-image's rocket.jpg (long
side 128, 6 stages: 25x38 ... 86x128), one iteration of stage k as training runs
it (3 D steps with the gradient penalty, one G gradient applied 3 times, the
last train_depth = 3 blocks and the tail trained), compiled with tf.function;
5 warm-up iterations, then the median and mean of 20.
benchmarks/consingan_official_timing.py times the official PyTorch code the
same way.
"""

import argparse
import json
import os
import statistics
import time

import tensorflow as tf

from compare_gan2 import run_info
from compare_gan2.singan import images
from compare_gan2.singan import training


def time_stage(gan, stage, warmup=5, iterations=20):
  gan.start_stage(stage)  # Grows G to the stage, makes its optimizers.
  step = tf.function(lambda it: gan.train_step(stage, it))
  for i in range(warmup):
    step(tf.constant(i, tf.int64))
  times = []
  for i in range(iterations):
    start = time.perf_counter()
    losses = step(tf.constant(warmup + i, tf.int64))
    float(losses["g_loss"])  # Wait for the step.
    times.append(time.perf_counter() - start)
  return {"size": list(gan.sizes[stage]), "median_s": statistics.median(times),
          "mean_s": statistics.mean(times)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--stages", type=int, nargs="+", default=[4, 5],
                      help="stages to time (0-based)")
  parser.add_argument("--out", default=None, help="JSON file for the results")
  args = parser.parse_args()
  options = training.Options(max_size=128, min_size=25, train_stages=6)
  gan = training.SingleImageGAN(images.load_image("skimage:rocket"), options)
  gan.start_stage(0)
  result = {"cpu": run_info.cpu_model(), "tensorflow": tf.__version__,
            "intra_op_threads": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "inter_op_threads": os.environ.get("TF_NUM_INTEROP_THREADS"),
            "stages": {}}
  for stage in sorted(args.stages):
    result["stages"][stage] = time_stage(gan, stage)
  print(json.dumps(result, indent=1))
  if args.out:
    with open(args.out, "w") as f:
      json.dump(result, f, indent=1)


if __name__ == "__main__":
  main()
