"""Fewer labels at CPU scale: BigGAN (100% labels), unconditional BigGAN (SINGLE
LABEL), S2GAN-CO, S3GAN and S2GAN at 10% labels (and optionally RANDOM LABEL,
SSGAN, CLUSTERING) on polygons_32, trained with the same GAN budget (the
gin_configs/*_polygons32.gin files: batch 8, 15000 steps) and evaluated with the
polygons classifier.

    .venv/bin/python experiments/fewer_labels_polygons32.py \\
        [--methods=biggan,single_label,s2gan_co,s3gan,s2gan] [--seeds=1]

Each run is `compare_gan2.main --schedule=eval_after_train` (S2GAN, CLUSTERING:
the `compare_gan2.s2gan` pipeline, whose GAN stage runs that schedule) in
runs/fewer_labels_polygons32/<method>_seed<k>: killing and re-running the script
resumes training and evaluation where they stopped. The table of the final
checkpoints (mean of 3 x 10000 samples; class accuracy = fraction of samples the
classifier puts in their conditioned class) is written to
experiments/results/fewer_labels_polygons32.{csv,md}.
"""

import argparse
import csv
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "biggan": ("BigGAN, 100% labels", "biggan_polygons32.gin"),
    "single_label": ("BigGAN, unconditional (SINGLE LABEL)", "single_label_polygons32.gin"),
    "s2gan_co": ("S2GAN-CO, 10% labels", "s2gan_co_polygons32.gin"),
    "s3gan": ("S3GAN, 10% labels", "s3gan_polygons32.gin"),
    "random_label": ("BigGAN, RANDOM LABEL", "random_label_polygons32.gin"),
    "ssgan": ("SSGAN, unconditional", "ssgan_polygons32.gin"),
    "s2gan": ("S2GAN, 10% labels", "s2gan_polygons32.gin"),
    "clustering": ("CLUSTERING, no labels", "clustering_polygons32.gin"),
}
# Methods run by the S2GAN pipeline; their GAN (and scores.csv) is in gan/.
PIPELINE = ("s2gan", "clustering")
METRICS = ("fid_score", "kid_score", "precision", "recall", "class_accuracy",
           "intra_class_fid")


def run(method, seed, runs_dir):
  """Trains and evaluates one run (resumes); returns its model_dir."""
  model_dir = os.path.join(runs_dir, f"{method}_seed{seed}")
  module = "compare_gan2.s2gan" if method in PIPELINE else "compare_gan2.main"
  cmd = [sys.executable, "-m", module, f"--model_dir={model_dir}",
         "--gin_config=" + os.path.join(ROOT, "gin_configs", CONFIGS[method][1]),
         f"--gin_bindings=run_config.tf_random_seed = {seed}",
         "--eval_every_steps=5000"]
  if method not in PIPELINE:
    cmd.append("--schedule=eval_after_train")
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
  start = time.time()
  print(f"[{time.strftime('%H:%M:%S')}] {method} seed {seed}: {model_dir}", flush=True)
  with open(os.path.join(runs_dir, f"{method}_seed{seed}.log"), "a") as log:
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=log,
                   stderr=subprocess.STDOUT)
  print(f"  done in {(time.time() - start) / 60:.1f} min", flush=True)
  return os.path.join(model_dir, "gan") if method in PIPELINE else model_dir


def final_scores(model_dir):
  """{metric: mean} of the newest evaluated step, and that step."""
  with open(os.path.join(model_dir, "scores.csv")) as f:
    rows = list(csv.DictReader(f))
  row = max(rows, key=lambda r: int(r["step"]))
  return int(row["step"]), {m: float(row[f"{m}_mean"]) for m in METRICS
                            if row.get(f"{m}_mean") not in (None, "")}


def write_table(results, out_prefix):
  os.makedirs(os.path.dirname(out_prefix), exist_ok=True)
  with open(out_prefix + ".csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["method", "seed", "step"] + list(METRICS))
    for method, seed, step, scores in results:
      writer.writerow([method, seed, step] + [scores.get(m, "") for m in METRICS])
  lines = ["| method | seed | step | " + " | ".join(METRICS) + " |",
           "|---" * (3 + len(METRICS)) + "|"]
  for method, seed, step, scores in results:
    cells = [f"{scores[m]:.3f}" if m in scores else "n/a" for m in METRICS]
    lines.append(f"| {CONFIGS[method][0]} | {seed} | {step} | " + " | ".join(cells) + " |")
  with open(out_prefix + ".md", "w") as f:
    f.write("\n".join(lines) + "\n")
  print("\n".join(lines))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--methods", default="biggan,single_label,s2gan_co,s3gan")
  parser.add_argument("--seeds", default="1")
  parser.add_argument("--runs_dir", default=os.path.join(ROOT, "runs",
                                                         "fewer_labels_polygons32"))
  parser.add_argument("--out", default=os.path.join(
      ROOT, "experiments", "results", "fewer_labels_polygons32"))
  args = parser.parse_args()
  os.makedirs(args.runs_dir, exist_ok=True)
  results = []
  for seed in [int(s) for s in args.seeds.split(",")]:
    for method in args.methods.split(","):
      if method not in CONFIGS:
        parser.error(f"unknown method {method!r}; known: {sorted(CONFIGS)}")
      model_dir = run(method, seed, args.runs_dir)
      results.append((method, seed) + final_scores(model_dir))
      write_table(results, args.out)


if __name__ == "__main__":
  main()
