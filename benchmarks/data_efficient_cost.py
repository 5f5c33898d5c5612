"""Per-step cost of each data-efficient component against the baseline (issue 29).

    .venv/bin/python benchmarks/data_efficient_cost.py \
        [--gin_config gin_configs/biggan_mnist32.gin] [--steps 20] [--rounds 5] \
        [--out experiments/results/data_efficient_mnist/step_cost.json]

Every variant (the baseline and one component each, as the limited-data sweep
binds them) is built and traced once in this one process; then `--rounds` rounds
time `--steps` training steps of each variant in turn on one cached batch (no
input wait). A variant's cost is the median over rounds of its time over the
baseline's time in the same round (the machine drifts by several percent between
rounds, alike for the variants of one round); its fastest round is reported too.

The arithmetic a component warrants: an augmentation runs on D's inputs, i.e.
on 2B images (reals and fakes) per D step and on B fakes per G step, whose
backward pass through it costs about 2x its forward: (2 disc_iters + 3) B A
FLOPs per step for A FLOPs per image (its einsum/matmul FLOPs, counted from its
graph; DiffAugment's ops are element-wise and gathers: 0 by this count), against
compare_gan's count of the step (`benchmark.step_flops`: convolutions and matmuls).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

import gin  # noqa: E402 (after the console set-up)
import tensorflow as tf  # noqa: E402 (after the console set-up)

from compare_gan2 import benchmark  # noqa: E402 (after the console set-up)
from compare_gan2 import builder  # noqa: E402 (after the console set-up)
from compare_gan2 import gin_setup  # noqa: E402 (after the console set-up)
from compare_gan2 import run_info  # noqa: E402 (after the console set-up)
from compare_gan2.augmentation import ada  # noqa: E402 (after the console set-up)
from compare_gan2.training import loop as loop_lib  # noqa: E402 (after the console set-up)

DIFFAUGMENT = 'augment.method = "diffaugment"'
ADA = 'augment.method = "ada"'
# id: (label, bindings).
VARIANTS = {
    "baseline": ("baseline", []),
    "diffaugment": ("DiffAugment color,translation,cutout",
                    [DIFFAUGMENT, 'augment.policy = "color,translation,cutout"']),
    "diffaugment_t": ("DiffAugment translation",
                      [DIFFAUGMENT, 'augment.policy = "translation"']),
    "ada_p0": ("ADA at p = 0 (its start)", [ADA]),
    "ada_p0.2": ("ADA at p = 0.2 (fixed)",
                 [ADA, "ada.initial_p = 0.2", "ada.target = None"]),
    "ada_p1": ("ADA at p = 1 (fixed)", [ADA, "ada.initial_p = 1.0", "ada.target = None"]),
    "lecam": ("LeCam 0.3", ["lecam.weight = 0.3"]),
    "bcr": ("bCR (10, 10)", ['consistency.mode = "bcr"']),
    "r1_lazy": ("R1 0.01, lazy every 16 steps", ["r1.gamma = 0.01", "r1.interval = 16"]),
    "r1": ("R1 0.01, every step", ["r1.gamma = 0.01"]),
    "overfitting_metrics": ("overfitting metrics", ["overfitting.metrics = True"]),
}


def ada_flops_per_image(image_shape):
  """Einsum FLOPs of ADA's geometric resampling and colour matrix on one image
  (both applied: what a transformed sample costs)."""
  x = tf.zeros([1] + list(image_shape))
  eye3, eye4 = tf.eye(3, batch_shape=[1]), tf.eye(4, batch_shape=[1])
  graph = tf.function(lambda: (ada.apply_geometric(x, eye3),
                               ada.apply_color(x, eye4))
                      ).get_concrete_function().graph
  return benchmark.graph_flops(graph)


def relative_cost(seconds, baseline):
  """Median over rounds of seconds[r] / baseline[r] - 1."""
  return statistics.median(s / b - 1.0 for s, b in zip(seconds, baseline))


def build(config, bindings, model_dir, warmup_steps):
  """(gan, step loop) of one variant, traced and warmed up."""
  gin.clear_config()
  gin_setup.parse(config_files=[config], bindings=bindings)
  ctx = builder.build_context(model_dir)
  with ctx.strategy.scope():
    ctx.gan.build()
  step_loop = loop_lib.StepLoop(ctx.gan, ctx.strategy,
                                iter(benchmark._cached_batches(ctx.gan)))  # pylint: disable=protected-access
  step_loop(warmup_steps)
  return ctx.gan, step_loop


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--gin_config", default="gin_configs/biggan_mnist32.gin")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--warmup_steps", type=int, default=3)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--out", default=None, help="JSON file to write")
  parser.add_argument("--variants", default=None,
                      help="comma-separated ids of a subset of the variants (the baseline "
                      "is always run)")
  args = parser.parse_args()
  variants = dict(VARIANTS)
  if args.variants:
    wanted = {"baseline"} | {v.strip() for v in args.variants.split(",")}
    unknown = wanted - set(VARIANTS)
    if unknown:
      parser.error(f"unknown variants {sorted(unknown)}; the variants are "
                   f"{sorted(VARIANTS)}")
    variants = {k: v for k, v in VARIANTS.items() if k in wanted}
  loops, gans = {}, {}
  with tempfile.TemporaryDirectory() as tmp:
    for i, (name, (_, bindings)) in enumerate(variants.items()):
      start = time.time()
      gans[name], loops[name] = build(args.gin_config, bindings,
                                      os.path.join(tmp, str(i)), args.warmup_steps)
      print(f"built {name} in {time.time() - start:.0f}s", flush=True)
    seconds = {name: [] for name in variants}
    for r in range(-1, args.rounds):  # Round -1 warms up at --steps (untimed).
      for name, (_, bindings) in variants.items():
        gin.clear_config()
        gin_setup.parse(config_files=[args.gin_config], bindings=bindings)
        start = time.perf_counter()
        loops[name](args.steps)
        seconds[name].append((time.perf_counter() - start) / args.steps)
      if r < 0:
        seconds = {name: [] for name in variants}
        continue
      print(f"round {r + 1}/{args.rounds}: " + ", ".join(
          f"{n} {s[-1] * 1000:.0f} ms" for n, s in seconds.items()), flush=True)
  gan = gans["baseline"]
  step_flops, _, d_flops = benchmark.step_flops(gan)
  b = gan.batch_size
  augmented_images = (2 * gan.disc_iters + 3) * b
  ada_flops = ada_flops_per_image(gan.dataset.image_shape)
  result = {
      "gin_config": args.gin_config, "cpu": run_info.cpu_model(),
      "cpu_count": os.cpu_count(), "tensorflow": tf.__version__,
      "intra_op_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
      "steps_per_round": args.steps, "rounds": args.rounds,
      "batch_size": b, "disc_iters": gan.disc_iters,
      "step_flops_compare_gan": step_flops,
      "discriminator_forward_flops": d_flops,
      "ada_flops_per_transformed_image": ada_flops,
      "ada_flops_per_step_all_transformed": augmented_images * ada_flops,
      "variants": {
          name: {"label": variants[name][0], "bindings": variants[name][1],
                 "seconds_per_step": min(s),
                 "seconds_per_step_rounds": s,
                 "cost_vs_baseline": relative_cost(s, seconds["baseline"])}
          for name, s in seconds.items()},
  }
  print(f"\n{result['cpu']}, {result['cpu_count']} cores, TF {result['tensorflow']}, "
        f"intra-op threads {result['intra_op_threads']}; fastest of "
        f"{args.rounds} rounds of {args.steps} steps; cost: median over rounds of the "
        f"time over the baseline's in the same round\n")
  print("| variant | ms / step (fastest round) | cost vs baseline |\n|---|---|---|")
  for v in result["variants"].values():
    print(f"| {v['label']} | {v['seconds_per_step'] * 1000:.1f} | "
          f"{v['cost_vs_baseline'] * 100:+.0f}% |")
  print(f"\nstep FLOPs (compare_gan count) {step_flops / 1e9:.3f} G; ADA's resampling "
        f"on every augmented image {augmented_images * ada_flops / 1e9:.3f} G "
        f"({augmented_images * ada_flops / step_flops * 100:.0f}% of the step)")
  if args.out:
    with open(args.out, "w") as f:
      json.dump(result, f, indent=2)
      f.write("\n")


if __name__ == "__main__":
  main()
