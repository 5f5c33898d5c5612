"""The limited-data table of the data-efficient sweep, one row per method (markdown).

    python experiments/data_efficient_mnist/summary.py \
        [--root runs/data_efficient_mnist] \
        [--overfitting runs/data_efficient_mnist_overfitting] [--step 2000]

Per method, over its finished seeds at `--step`: FID and KID (mean ± sample std, and
FID per seed), precision, recall, class accuracy (scores.jsonl); from the output of
overfitting.py: D's logit gap and accuracy gap between training and held-out reals,
and, at the last logged step, r_t on the reals D trained on and ADA's p. Reads JSON
files only.
"""

import argparse
import json
import os
import statistics

from compare_gan2 import sweep


def _records(path):
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return {r["step"]: r["scores"] for r in map(json.loads, filter(str.strip, f))}


def _fmt(values, digits):
  values = [v for v in values if v is not None]
  if not values:
    return "–"
  if len(values) == 1:
    return f"{values[0]:.{digits}f}"
  return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def rows(root, overfitting_root, step):
  """{method: [per-seed dict]} of the finished runs."""
  out = {}
  for name in sorted(os.listdir(root)):
    if sweep.status(root, name) != "done":
      continue
    run = sweep.read_json(os.path.join(root, name, sweep.RUN_FILENAME))
    scores = _records(os.path.join(root, name, "scores.jsonl")).get(step)
    if run is None or scores is None:
      continue
    over = _records(os.path.join(overfitting_root, name, "scores.jsonl"))
    last = over[max(over)] if over else {}
    at_step = over.get(step, {})
    out.setdefault(run["choices"]["method"], []).append({
        "seed": run["seed"],
        "fid": scores["fid_score_mean"], "kid": scores["kid_score_mean"],
        "precision": scores["precision_mean"], "recall": scores["recall_mean"],
        "class_accuracy": scores.get("class_accuracy_mean"),
        "logit_gap": at_step.get("d_logit_gap_mean"),
        "accuracy_gap": at_step.get("d_accuracy_gap_mean"),
        "train_rt": last.get("train_rt_mean"), "ada_p": last.get("ada_p_mean"),
    })
  return out


def sweep_order(root, table):
  """`table` with its methods in the sweep file's order, others last (the root's
  copy of the spec has sorted keys; it names the sweep file in "path")."""
  spec = sweep.read_json(os.path.join(root, sweep.SWEEP_FILENAME)) or {}
  if spec.get("path") and os.path.exists(spec["path"]):
    with open(spec["path"]) as f:
      spec = json.load(f)
  order = [name for axis in spec.get("axes", []) for name in axis.get("values", {})]
  rank = {name: i for i, name in enumerate(order)}
  return dict(sorted(table.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def markdown(table):
  lines = ["| method | seeds | FID | FID per seed | KID | precision | recall | "
           "class accuracy | D logit gap (train − held-out) | D accuracy gap | "
           "r_t (training, end) | ADA p (end) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for method, runs in table.items():
    runs = sorted(runs, key=lambda r: r["seed"])

    def col(key, digits=3, runs=runs):
      return _fmt([r[key] for r in runs], digits)
    per_seed = ", ".join(f"{r['fid']:.2f}" for r in runs)
    lines.append(
        f"| {method} | {len(runs)} | {col('fid', 2)} | {per_seed} | {col('kid')} | "
        f"{col('precision')} | {col('recall')} | {col('class_accuracy')} | "
        f"{col('logit_gap')} | {col('accuracy_gap')} | {col('train_rt', 2)} | "
        f"{col('ada_p')} |")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--root", default="runs/data_efficient_mnist")
  parser.add_argument("--overfitting", default="runs/data_efficient_mnist_overfitting")
  parser.add_argument("--step", type=int, default=2000)
  args = parser.parse_args()
  print(markdown(sweep_order(args.root, rows(args.root, args.overfitting, args.step))))


if __name__ == "__main__":
  main()
