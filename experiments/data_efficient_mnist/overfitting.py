"""D-overfitting measures of the data-efficient sweep's runs, over training steps.

    .venv/bin/python experiments/data_efficient_mnist/overfitting.py \
        --root runs/data_efficient_mnist --out runs/data_efficient_mnist_overfitting

For every finished run under --root (sweep_status.json "done"), writes
`<out>/<run>/scores.jsonl` in compare_gan2's score format, so that
`python -m compare_gan2.report <out>` tables and plots them per configuration:

- at every checkpoint step, evaluation's `d_overfitting` task (D's logits on
  unaugmented training reals, held-out reals and fakes, their gap: the
  evaluator's `overfitting_readout`, `eval.num_samples` images of each set);
- at every step the training summaries logged, the step metrics D saw in
  training (`overfitting/*` of `overfitting.metrics`: augmented reals, as
  `train_rt`, `train_logit_real`, `train_logit_fake`, `train_accuracy_real`,
  `train_accuracy_fake`) and ADA's p (`ada_p`).

A run whose output already has a record for each of its checkpoints is skipped,
so the script resumes; the run directories are only read.
"""

import argparse
import glob
import json
import os
import re
import shutil
import sys

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

import gin  # noqa: E402 (after the console set-up)
import tensorflow as tf  # noqa: E402 (after the console set-up)

from compare_gan2 import builder  # noqa: E402 (after the console set-up)
from compare_gan2 import gin_setup  # noqa: E402 (after the console set-up)
from compare_gan2 import run_info  # noqa: E402 (after the console set-up)
from compare_gan2 import sweep  # noqa: E402 (after the console set-up)
from compare_gan2.evaluation import evaluator as evaluator_lib  # noqa: E402 (after the console set-up)
from compare_gan2.evaluation import tasks as tasks_lib  # noqa: E402 (after the console set-up)
from compare_gan2.training import checkpoints  # noqa: E402 (after the console set-up)

TRAINING_TAGS = {
    "overfitting/rt": "train_rt", "overfitting/logit_real": "train_logit_real",
    "overfitting/logit_fake": "train_logit_fake",
    "overfitting/accuracy_real": "train_accuracy_real",
    "overfitting/accuracy_fake": "train_accuracy_fake", "augment/p": "ada_p",
}


def checkpoint_steps(run_dir):
  """Steps of the model.ckpt-<step> checkpoints in run_dir, ascending."""
  steps = set()
  for path in glob.glob(os.path.join(run_dir, "model.ckpt-*.index")):
    match = re.search(r"model\.ckpt-(\d+)\.index$", path)
    if match:
      steps.add(int(match.group(1)))
  return sorted(steps)


def training_scalars(run_dir):
  """{step: {name: value}} of TRAINING_TAGS in the run's training events."""
  out = {}
  for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        name = TRAINING_TAGS.get(value.tag)
        if name is not None:
          out.setdefault(int(event.step), {})[name] = float(
              tf.make_ndarray(value.tensor))
  return out


def d_overfitting(run_dir, steps):
  """{step: d_overfitting scores} of the run's checkpoints at `steps`."""
  gin.clear_config()
  configs, bindings = run_info.configuration(run_dir)
  gin_setup.parse(configs, bindings)
  builder.set_random_seeds(builder.get_run_config().tf_random_seed)
  gan = builder.build_gan(run_dir)
  options = evaluator_lib.eval_options()
  out = {}
  for step in steps:
    checkpoints.restore_gan(gan, os.path.join(run_dir, f"model.ckpt-{step}"))
    readout = evaluator_lib.overfitting_readout(gan, gan.dataset,
                                                options.num_samples, options)
    out[step] = tasks_lib.overfitting_scores(readout)
  return out


def records(d_scores, scalars):
  """Score records (compare_gan2's scores.jsonl format), ascending by step."""
  out = []
  for step in sorted(set(d_scores) | set(scalars)):
    values = dict(scalars.get(step, {}))
    values.update(d_scores.get(step, {}))
    out.append({"schema_version": 1, "step": step,
                "scores": {f"{k}_mean": v for k, v in sorted(values.items())}})
  return out


def done_steps(path):
  """Steps of `path`'s records that carry the d_overfitting keys."""
  if not os.path.exists(path):
    return set()
  with open(path) as f:
    return {r["step"] for r in map(json.loads, filter(str.strip, f))
            if "d_logit_gap_mean" in r["scores"]}


def process(run_dir, out_dir):
  steps = checkpoint_steps(run_dir)
  scores_path = os.path.join(out_dir, "scores.jsonl")
  if steps and set(steps) <= done_steps(scores_path):
    return False
  result = records(d_overfitting(run_dir, steps), training_scalars(run_dir))
  os.makedirs(out_dir, exist_ok=True)
  shutil.copy(os.path.join(run_dir, sweep.RUN_FILENAME), out_dir)
  tmp = scores_path + ".tmp"
  with open(tmp, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in result)
  os.replace(tmp, scores_path)
  return True


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--root", default="runs/data_efficient_mnist")
  parser.add_argument("--out", default="runs/data_efficient_mnist_overfitting")
  args = parser.parse_args()
  names = sorted(n for n in os.listdir(args.root)
                 if sweep.status(args.root, n) == "done")
  if not names:
    sys.exit(f"No finished run under {args.root!r}.")
  for i, name in enumerate(names, 1):
    wrote = process(os.path.join(args.root, name), os.path.join(args.out, name))
    print(f"[{i}/{len(names)}] {name}: {'written' if wrote else 'up to date'}",
          flush=True)


if __name__ == "__main__":
  main()
