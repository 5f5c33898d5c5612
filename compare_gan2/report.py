"""`python -m compare_gan2.report DIR`: one table and plots from many runs' scores.

Finds every `scores.jsonl` under DIR (a sweep root, or any directory of model
directories). A run is the directory holding the scores, or its nearest
ancestor holding `sweep_run.json` (the S2GAN pipeline keeps its GAN in `gan/`).
Runs that differ only in their seed form a configuration; its settings are the
sweep's axis choices (`sweep_run.json`), else the run's gin bindings
(`run_info.json`, else the score records' own "gin") without the seed.

Writes into `--out` (default DIR/report):
- `report.md`: the configurations at their best step, then every step: the
  settings that differ between configurations, the step, each metric as
  mean ± std over seeds (sample standard deviation, n-1; "±" omitted for one
  seed) and the number of seeds;
- `scores_by_step.csv` and `best_steps.csv`: the same numbers, one column each;
- `plots/<metric>.png`: each metric against step, one line per configuration
  (mean over seeds, band = ± std clipped to the metric's valid range, e.g. [0, 1]
  for precision, >= 0 for FID); the y label says which direction is better, the
  figure carries `--title`; `--top_k K` plots only the best K configurations
  (by `--best_metric` at their best step; the tables keep every configuration);
- `samples/<run>.png`: each run's sample grid at its configuration's best step
  (the newest grid at or before it; the first grid if all are later).

The best step of a configuration optimizes `--best_metric` (default FID, lower
is better) over its steps, by the mean over seeds. This module reads JSON and
PNG files only: it does not import TensorFlow.
"""

import argparse
import csv
import json
import math
import os
import re
import statistics
import sys

from compare_gan2 import errors
from compare_gan2 import model_dir as model_dir_lib
from compare_gan2 import sweep

SCORES_FILENAME = model_dir_lib.SCORES_JSONL
RUN_INFO_FILENAME = model_dir_lib.RUN_INFO
SUPPORTED_SCHEMA = 1
SEED_BINDINGS = ("run_config.tf_random_seed",)
# Direction of the metrics compare_gan2 writes: True = higher is better.
HIGHER_IS_BETTER = {
    "fid_score": False, "kid_score": False, "intra_class_fid": False,
    "fid_score_2": False, "inception_score": True, "precision": True,
    "recall": True, "density": True, "coverage": True, "class_accuracy": True,
    "prd_f_beta": True, "prd_f_beta_inv": True, "prd_f8": True, "prd_f1_8": True,
    "d_predictor_test_accuracy": True, "d_predictor_unlabelled_accuracy": True,
    "d_rotation_test_accuracy": True,
}
# Valid range (low, high; None = unbounded) of the metrics: plotted bands of
# mean ± std are clipped to it.
_UNIT = (0.0, 1.0)
_NON_NEGATIVE = (0.0, None)
VALID_RANGE = {
    "fid_score": _NON_NEGATIVE, "fid_score_2": _NON_NEGATIVE,
    "intra_class_fid": _NON_NEGATIVE, "kid_score": _NON_NEGATIVE,
    "density": _NON_NEGATIVE, "fractal_dimension": _NON_NEGATIVE,
    "d_predictor_test_classes": _NON_NEGATIVE,
    "inception_score": (1.0, None),
    "precision": _UNIT, "recall": _UNIT, "coverage": _UNIT,
    "class_accuracy": _UNIT, "prd_f_beta": _UNIT, "prd_f_beta_inv": _UNIT,
    "prd_f8": _UNIT, "prd_f1_8": _UNIT, "ms_ssim": _UNIT,
    "d_predictor_test_accuracy": _UNIT, "d_predictor_unlabelled_accuracy": _UNIT,
    "d_rotation_test_accuracy": _UNIT,
}
DISPLAY_NAMES = {
    "fid_score": "FID", "fid_score_2": "FID (2)", "kid_score": "KID",
    "intra_class_fid": "intra-class FID", "inception_score": "Inception Score",
    "ms_ssim": "MS-SSIM", "prd_f8": "PRD F8", "prd_f1_8": "PRD F1/8",
}
# Score keys that describe a metric rather than being one.
_NOT_METRICS = ("kid_stderr",)
_SEED_PART = re.compile(r"(^|,)seed-\d+(?=,|$)")


class ReportError(ValueError):
  """Nothing to report, or an unusable option."""


def read_scores(path):
  """The records of a scores.jsonl file: [{"step", "scores": {metric: float}}],
  metric = the `<metric>_mean` keys without the suffix, NaN for null."""
  records = []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if not line:
        continue
      try:
        record = json.loads(line)
      except json.JSONDecodeError as e:
        raise ReportError(f"{path}:{number} is not a JSON line ({e}).") from e
      version = record.get("schema_version", 0)
      if version > SUPPORTED_SCHEMA:
        raise ReportError(f"{path}:{number} has schema_version {version}; this "
                          f"report reads up to {SUPPORTED_SCHEMA}: update "
                          "compare_gan2.")
      scores = {}
      for key, value in (record.get("scores") or {}).items():
        if key.endswith("_mean") and key[:-5] not in _NOT_METRICS and (
            value is None or isinstance(value, (int, float))):
          scores[key[:-5]] = math.nan if value is None else float(value)
      records.append({"step": int(record["step"]), "scores": scores,
                      "gin": record.get("gin") or {}})
  return records


def _run_dir(scores_dir, root):
  """The nearest directory from scores_dir up to root holding sweep_run.json."""
  path = scores_dir
  while True:
    if os.path.isfile(os.path.join(path, sweep.RUN_FILENAME)):
      return path
    if os.path.abspath(path) == os.path.abspath(root):
      return scores_dir
    parent = os.path.dirname(path)
    if parent == path:
      return scores_dir
    path = parent


def find_runs(root):
  """The runs under root: [{"name", "dir", "scores_dir", "seed", "settings",
  "records"}], sorted by name."""
  if not os.path.isdir(root):
    raise ReportError(f"{root!r} is not a directory.")
  runs = {}
  for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    if SCORES_FILENAME not in filenames:
      continue
    run_dir = _run_dir(dirpath, root)
    if run_dir in runs:
      continue
    records = read_scores(os.path.join(dirpath, SCORES_FILENAME))
    if not records:
      continue
    name = os.path.relpath(run_dir, root)
    name = os.path.basename(os.path.abspath(root)) if name == "." else name
    sweep_run = sweep.read_json(os.path.join(run_dir, sweep.RUN_FILENAME))
    info = sweep.read_json(os.path.join(dirpath, RUN_INFO_FILENAME))
    if sweep_run is not None:
      seed, settings = sweep_run.get("seed"), dict(sweep_run.get("choices") or {})
    else:
      gin = dict((info or {}).get("gin") or records[-1]["gin"])
      seed = (info or {}).get("seed")
      for key in SEED_BINDINGS:
        value = gin.pop(key, None)
        if seed is None and value not in (None, "None"):
          seed = int(value)
      settings = gin
    runs[run_dir] = {"name": name, "dir": run_dir, "scores_dir": dirpath,
                     "seed": seed, "settings": settings, "records": records}
  if not runs:
    raise ReportError(f"No {SCORES_FILENAME} under {root!r}: evaluate the runs "
                      "first (--schedule=eval_after_train or continuous_eval).")
  return sorted(runs.values(), key=lambda r: r["name"])


def group_runs(runs):
  """Configurations: [{"name", "settings", "runs"}]; runs with equal settings
  form one, named after the run names without their `seed-N` part."""
  groups = {}
  for run in runs:
    key = json.dumps(run["settings"], sort_keys=True)
    if key not in groups:
      name = _SEED_PART.sub("", run["name"]).strip(",") or run["name"]
      groups[key] = {"name": name, "settings": run["settings"], "runs": []}
    groups[key]["runs"].append(run)
  return sorted(groups.values(), key=lambda g: g["name"])


def differing_settings(groups):
  """The setting keys whose values differ between configurations, in order."""
  keys = []
  for g in groups:
    keys += [k for k in g["settings"] if k not in keys]
  return [k for k in keys if len({str(g["settings"].get(k)) for g in groups}) > 1]


def _mean_std(values):
  values = [v for v in values if not math.isnan(v)]
  if not values:
    return math.nan, math.nan
  std = statistics.stdev(values) if len(values) > 1 else math.nan
  return statistics.fmean(values), std


def aggregate(group, metrics):
  """{step: {"n": seeds, metric: (mean, std)}} of one configuration."""
  by_step = {}
  for run in group["runs"]:
    for record in run["records"]:
      by_step.setdefault(record["step"], []).append(record["scores"])
  table = {}
  for step, rows in sorted(by_step.items()):
    entry = {"n": len(rows)}
    for m in metrics:
      entry[m] = _mean_std([r.get(m, math.nan) for r in rows])
    table[step] = entry
  return table


def best_step(table, metric, higher_is_better):
  """The step whose mean `metric` is best (NaN never wins); None if all NaN."""
  candidates = [(s, e[metric][0]) for s, e in table.items()
                if metric in e and not math.isnan(e[metric][0])]
  if not candidates:
    return None
  pick = max if higher_is_better else min
  return pick(candidates, key=lambda c: c[1])[0]


def metric_names(runs, wanted=None):
  """Metrics present in the runs (in a stable order), or `wanted` checked."""
  present = []
  for run in runs:
    for record in run["records"]:
      present += [m for m in record["scores"] if m not in present]
  if not wanted:
    return sorted(present)
  missing = [m for m in wanted if m not in present]
  if missing:
    raise ReportError(f"Metrics {missing} are in no score file; present: "
                      f"{sorted(present)}.")
  return list(wanted)


def _fmt(mean_std, digits=3):
  mean, std = mean_std
  if math.isnan(mean):
    return "n/a"
  return f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")


def build(root, metrics=None, best_metric="fid_score", higher_is_better=None):
  """Everything the outputs need: {"groups", "columns", "metrics", "best_metric",
  "higher_is_better"}; each group gets "table" and "best_step"."""
  runs = find_runs(root)
  metrics = metric_names(runs, metrics)
  if best_metric not in metric_names(runs):
    raise ReportError(f"--best_metric {best_metric!r} is in no score file; "
                      f"choose one of {metric_names(runs)}.")
  if best_metric not in metrics:
    metrics = list(metrics) + [best_metric]
  if higher_is_better is None:
    if best_metric not in HIGHER_IS_BETTER:
      raise ReportError(f"Unknown direction of {best_metric!r}: pass "
                        "--higher_is_better or --lower_is_better.")
    higher_is_better = HIGHER_IS_BETTER[best_metric]
  groups = group_runs(runs)
  for g in groups:
    g["table"] = aggregate(g, metrics)
    g["best_step"] = best_step(g["table"], best_metric, higher_is_better)
  return {"groups": groups, "columns": differing_settings(groups),
          "metrics": metrics, "best_metric": best_metric,
          "higher_is_better": higher_is_better}


def _rows(report, best_only):
  for g in report["groups"]:
    steps = [g["best_step"]] if best_only else list(g["table"])
    for step in steps:
      if step is None:
        continue
      yield g, step, g["table"][step]


def write_csv(report, path, best_only):
  columns, metrics = report["columns"], report["metrics"]
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["run"] + columns + ["step", "seeds", "best_step"] + [
        f"{m}_{s}" for m in metrics for s in ("mean", "std")])
    for g, step, entry in _rows(report, best_only):
      writer.writerow([g["name"]] + [g["settings"].get(c, "") for c in columns] + [
          step, entry["n"], g["best_step"]] + [
              "" if math.isnan(v) else repr(v) for m in metrics for v in entry[m]])


def markdown(report, title=None, top_k=None):
  columns, metrics = report["columns"], report["metrics"]
  direction = "higher" if report["higher_is_better"] else "lower"
  header = "| run | " + "".join(f"{c} | " for c in columns) + "step | seeds | " + \
      " | ".join(metrics) + " |"
  rule = "|---" * (3 + len(columns) + len(metrics)) + "|"
  lines = [f"# {title}" if title else "# Report", "",
           f"Mean ± std over seeds. Best step: the step with the best mean "
           f"`{report['best_metric']}` ({direction} is better).", "",
           *([f"The plots show the best {top_k} of {len(report['groups'])} "
              f"configurations by `{report['best_metric']}` (--top_k).", ""]
             if top_k is not None and top_k < len(report["groups"]) else []),
           "## Each configuration at its best step", "", header, rule]
  for best_only in (True, False):
    if not best_only:
      lines += ["", "## Every evaluated step", "", header, rule]
    for g, step, entry in _rows(report, best_only):
      mark = " (best)" if not best_only and step == g["best_step"] else ""
      lines.append(f"| {g['name']} | " + "".join(
          f"{g['settings'].get(c, '')} | " for c in columns) +
                   f"{step}{mark} | {entry['n']} | " +
                   " | ".join(_fmt(entry[m]) for m in metrics) + " |")
  return "\n".join(lines) + "\n"


def _pyplot():
  """matplotlib.pyplot on the file-only Agg backend."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def higher_is_better(report, metric):
  """True / False, or None when the direction of `metric` is unknown (the
  report's own direction for its best metric)."""
  if metric == report["best_metric"]:
    return report["higher_is_better"]
  return HIGHER_IS_BETTER.get(metric)


def metric_label(report, metric):
  """The y label of a metric's plot: its name and which direction is better,
  e.g. "FID (lower is better)"."""
  name = DISPLAY_NAMES.get(metric, metric)
  higher = higher_is_better(report, metric)
  if higher is None:
    return name
  return f"{name} ({'higher' if higher else 'lower'} is better)"


def ranked_groups(report):
  """The configurations best first: by the mean `best_metric` at their best
  step (ties and configurations without a value by name, the latter last)."""
  metric, sign = report["best_metric"], -1 if report["higher_is_better"] else 1

  def key(g):
    if g["best_step"] is None:
      return (1, 0.0, g["name"])
    return (0, sign * g["table"][g["best_step"]][metric][0], g["name"])
  return sorted(report["groups"], key=key)


def plotted_groups(report, top_k=None):
  """The configurations a plot shows: all (in name order), or the best `top_k`
  (best first)."""
  if top_k is not None and top_k < 1:
    raise ReportError(f"--top_k must be at least 1, not {top_k}.")
  if top_k is None or top_k >= len(report["groups"]):
    return list(report["groups"])
  return ranked_groups(report)[:top_k]


def clipped_band(means, stds, valid_range=None):
  """(lower, upper): mean -/+ std (a NaN std counts as 0) clipped to
  `valid_range` = (low, high), either None for unbounded."""
  low, high = valid_range or (None, None)
  lower, upper = [], []
  for m, s in zip(means, stds):
    s = 0.0 if math.isnan(s) else s
    lo, hi = m - s, m + s
    if low is not None:
      lo, hi = max(lo, low), max(hi, low)
    if high is not None:
      lo, hi = min(lo, high), min(hi, high)
    lower.append(lo)
    upper.append(hi)
  return lower, upper


def metric_series(report, metric, top_k=None):
  """The lines of `metric`'s plot: [{"name", "steps", "mean", "lower", "upper"}]
  ("lower"/"upper": the band clipped to VALID_RANGE, None without any std) for
  the plotted configurations that have a value of the metric."""
  series = []
  for g in plotted_groups(report, top_k):
    steps = [s for s, e in g["table"].items() if not math.isnan(e[metric][0])]
    if not steps:
      continue
    means = [g["table"][s][metric][0] for s in steps]
    stds = [g["table"][s][metric][1] for s in steps]
    lower = upper = None
    if any(not math.isnan(s) for s in stds):
      lower, upper = clipped_band(means, stds, VALID_RANGE.get(metric))
    series.append({"name": g["name"], "steps": steps, "mean": means,
                   "lower": lower, "upper": upper})
  return series


def metric_figure(report, metric, title=None, top_k=None):
  """The matplotlib figure of plots/<metric>.png (the caller closes it)."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(8, 4.5))
  colours = plt.get_cmap("tab20").colors
  for index, line_data in enumerate(metric_series(report, metric, top_k)):
    line, = ax.plot(line_data["steps"], line_data["mean"], marker="o",
                    markersize=3, label=line_data["name"],
                    color=colours[index % len(colours)],
                    linestyle=("-", "--", ":")[index // len(colours) % 3])
    if line_data["lower"] is not None:
      ax.fill_between(line_data["steps"], line_data["lower"], line_data["upper"],
                      alpha=0.08, color=line.get_color())
  shown, total = len(plotted_groups(report, top_k)), len(report["groups"])
  subtitle = f"{metric}: mean ± std over seeds"
  if shown < total:
    subtitle += (f"; best {shown} of {total} configurations by "
                 f"{report['best_metric']}")
  ax.set_xlabel("step")
  ax.set_ylabel(metric_label(report, metric))
  ax.set_title(subtitle, fontsize=9)
  if title:
    fig.suptitle(title)
  ax.grid(alpha=0.3)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
  fig.tight_layout()
  return fig


def plot_metrics(report, out_dir, title=None, top_k=None):
  """plots/<metric>.png; returns the paths."""
  plt = _pyplot()
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for metric in report["metrics"]:
    fig = metric_figure(report, metric, title, top_k)
    path = os.path.join(out_dir, f"{metric}.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
  return paths


def sample_grid(run_dir, step=None):
  """(step, path) of the newest samples/step_<k>.png with k <= step (the
  newest of all for step None, the first if all are later), or None when the
  run has no sample grids."""
  found = []
  for dirpath, dirnames, filenames in os.walk(run_dir):
    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    if os.path.basename(dirpath) != model_dir_lib.SAMPLES_DIR:
      continue
    for f in filenames:
      match = re.fullmatch(r"step_(\d+)\.png", f)
      if match:
        found.append((int(match.group(1)), os.path.join(dirpath, f)))
  if not found:
    return None
  found.sort()
  if step is None:
    return found[-1]
  before = [f for f in found if f[0] <= step]
  return before[-1] if before else found[0]


def plot_samples(report, out_dir):
  """samples/<run>.png (the run's grid at its configuration's best step)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for g in report["groups"]:
    for run in g["runs"]:
      found = sample_grid(run["dir"], g["best_step"])
      if found is None:
        continue
      step, source = found
      image = plt.imread(source)
      height, width = image.shape[:2]
      # The grid at its own resolution, under a two-line title.
      fig = plt.figure(figsize=(max(width, 200) / 100, (height + 32) / 100))
      ax = fig.add_axes([0, 0, 1, height / (height + 32)])
      ax.imshow(image, cmap="gray" if image.ndim == 2 else None,
                interpolation="nearest")
      ax.set_axis_off()
      fig.suptitle(f"{run['name']}\nstep {step}", fontsize=7, y=0.995,
                   va="top")
      path = os.path.join(out_dir, re.sub(r"[^A-Za-z0-9._,+-]+", "_",
                                          run["name"]) + ".png")
      fig.savefig(path, dpi=100)
      plt.close(fig)
      paths.append(path)
  return paths


def write_report(root, out=None, metrics=None, best_metric="fid_score",
                 higher_is_better=None, title=None, plots=True, top_k=None):
  """Builds the report of `root` and writes its files into `out`; returns it.
  `top_k`: the plots show only the best top_k configurations."""
  if top_k is not None and top_k < 1:
    raise ReportError(f"--top_k must be at least 1, not {top_k}.")
  out = out or os.path.join(root, "report")
  report = build(root, metrics, best_metric, higher_is_better)
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "report.md"), "w") as f:
    f.write(markdown(report, title, top_k if plots else None))
  write_csv(report, os.path.join(out, "scores_by_step.csv"), best_only=False)
  write_csv(report, os.path.join(out, "best_steps.csv"), best_only=True)
  if plots:
    report["plots"] = plot_metrics(report, os.path.join(out, "plots"), title,
                                   top_k)
    report["samples"] = plot_samples(report, os.path.join(out, "samples"))
  return report


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog=errors.program_name("python -m compare_gan2.report"),
      description="Collects the scores of every run under DIR into one table "
      "(markdown, CSV) and plots.")
  parser.add_argument("dir", help="a sweep root or any directory of model directories")
  parser.add_argument("--out", default=None, help="output directory (default DIR/report)")
  parser.add_argument("--metrics", default=None,
                      help="comma-separated metrics (default: all present)")
  parser.add_argument("--best_metric", default="fid_score",
                      help="metric that picks each configuration's best step "
                      "and ranks configurations for --top_k (default: "
                      "%(default)s)")
  direction = parser.add_mutually_exclusive_group()
  direction.add_argument("--higher_is_better", dest="higher", action="store_true",
                         default=None,
                         help="higher --best_metric is better (needed only for "
                         "a metric whose direction the report does not know)")
  direction.add_argument("--lower_is_better", dest="higher", action="store_false",
                         help="lower --best_metric is better (likewise)")
  parser.add_argument("--title", default=None,
                      help="title of report.md and of every plot")
  parser.add_argument("--top_k", type=int, default=None, metavar="K",
                      help="plot only the best K configurations by "
                      "--best_metric at their best step (the tables keep all)")
  parser.add_argument("--no_plots", action="store_true",
                      help="write the tables only (no metric plots, no sample "
                      "grids)")
  args = parser.parse_args(argv)
  errors.check_arguments(parser, args, {"top_k": dict(integer=True, minimum=1)})
  try:
    report = write_report(
        args.dir, args.out, args.metrics.split(",") if args.metrics else None,
        args.best_metric, args.higher, args.title, plots=not args.no_plots,
        top_k=args.top_k)
  except ReportError as e:
    print(f"compare_gan2.report: error: {e}", file=sys.stderr)
    return 2
  out = args.out or os.path.join(args.dir, "report")
  print(f"{len(report['groups'])} configurations, "
        f"{sum(len(g['runs']) for g in report['groups'])} runs -> {out}/report.md")
  return 0


if __name__ == "__main__":
  sys.exit(main())
