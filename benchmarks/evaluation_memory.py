"""Peak memory of evaluating 50k samples at 128 px (a benchmark, not a test).

Evaluation streams samples into the feature extractor and keeps features,
labels and a bounded image sample (docs/evaluation.md, "Memory"). Keeping
every image in float32, as before, needs 50000 * 128 * 128 * 3 * 4 bytes =
9.8 GB per set. This script evaluates a small BigGAN (random weights: memory
does not depend on them) on `polygons_128` with 50000 fake and 50000 real
images and an Inception-sized stand-in extractor (2048-d pool features,
1008 logits; the real Inception cannot be fetched offline), and reports the
process's peak resident memory.

  .venv/bin/python benchmarks/evaluation_memory.py [--num_samples 50000]

Tasks: FID, KID, IS, MS-SSIM and fractal dimension (the last two keep images).
Precision/recall and PRD are left out only for time: their cost is quadratic
in the sample count (hours for 50k on 2 cores), their memory is blocked.
"""

import argparse
import json
import os
import platform
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import gin_setup  # noqa: E402
from compare_gan2.datasets import polygons  # noqa: E402
from compare_gan2.evaluation import evaluator as evaluator_lib  # noqa: E402
from compare_gan2.evaluation import feature_extractors  # noqa: E402
from compare_gan2 import builder  # noqa: E402

BINDINGS = [
    "options.gan_class = @ModularGAN",
    'options.architecture = "resnet_biggan_arch"',
    "options.batch_size = 64",
    "options.training_steps = 1",
    "options.z_dim = 120",
    'dataset.name = "polygons_128"',
    "run_config.tf_random_seed = 0",
    "ModularGAN.conditional = True",
    "ModularGAN.g_use_ema = True",
    "G.batch_norm_fn = @conditional_batch_norm",
    "G.spectral_norm = True",
    "D.spectral_norm = True",
    "resnet_biggan.Generator.ch = 8",
    "resnet_biggan.Discriminator.ch = 8",
    "standardize_batch.use_moving_averages = False",
    "eval.standing_stats_examples = 2048",
]


class StandInInception(feature_extractors.FeatureExtractor):
  """Inception-sized features: a fixed random projection of 16x16-pooled images."""

  name = "stand_in_inception"

  def __init__(self):
    rng = np.random.default_rng(0)
    self._pool = tf.constant(rng.normal(size=(768, 2048)).astype(np.float32) / 28)
    self._logits = tf.constant(rng.normal(size=(2048, 1008)).astype(np.float32) / 45)
    self._forward_fn = tf.function(self._project)

  def _project(self, images):
    small = tf.image.resize(images, [16, 16], method="area")
    pool = tf.nn.relu(tf.matmul(tf.reshape(small, [-1, 768]), self._pool))
    return {"pool": pool, "logits": tf.matmul(pool, self._logits)}

  def _forward(self, images):
    return self._forward_fn(images)


class LargeEvalPolygons(polygons.PolygonsDataset):
  """polygons_128 whose evaluation set is the first N train images (the test
  split has 10000)."""

  eval_split = "train"

  def __init__(self, num_samples):
    super().__init__(128)
    self.eval_test_samples = num_samples


def peak_rss_gb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_name():
  with open("/proc/cpuinfo") as f:
    for line in f:
      if line.startswith("model name"):
        return line.split(":", 1)[1].strip()
  return platform.processor()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--num_samples", type=int, default=50000)
  parser.add_argument("--model_dir", default="/tmp/compare_gan2_eval_memory")
  parser.add_argument("--tasks", default="fid,kid,inception_score,ms_ssim,"
                      "fractal_dimension", help="comma-separated eval.tasks")
  parser.add_argument("--gin_bindings", action="append", default=[],
                      help="extra gin bindings, e.g. 'resnet_biggan.Generator."
                      "blocks_with_attention = \"\"' (no 64x64 attention map)")
  args = parser.parse_args()
  tasks = ", ".join(f'"{t}"' for t in args.tasks.split(","))
  gin_setup.parse(bindings=BINDINGS + [f"eval.num_samples = {args.num_samples}",
                                       f"eval.tasks = [{tasks}]"] + args.gin_bindings)
  ctx = builder.build_context(args.model_dir)
  ctx.gan.build()
  dataset = LargeEvalPolygons(args.num_samples)
  evaluator = evaluator_lib.Evaluator(ctx.gan, dataset=dataset,
                                      extractor=StandInInception(),
                                      num_averaging_runs=1)
  start = time.time()
  baseline = peak_rss_gb()
  scores, errors = evaluator.evaluate_loaded()
  result = {
      "num_fake": evaluator.num_samples, "num_real": len(evaluator.real_samples().pool),
      "resolution": 128, "images_kept_per_set": evaluator.images_kept,
      "peak_rss_gb": round(peak_rss_gb(), 2),
      "peak_rss_gb_before_evaluation": round(baseline, 2),
      "seconds": round(time.time() - start), "cpu": cpu_name(),
      "cores": os.cpu_count(), "gin_bindings": args.gin_bindings,
      "errors": errors,
      "scores": {k: v for k, v in scores.items() if k.endswith("_mean")},
  }
  print(json.dumps(result, indent=1))
  gin.clear_config()


if __name__ == "__main__":
  main()
