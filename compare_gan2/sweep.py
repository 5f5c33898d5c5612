"""`python -m compare_gan2.sweep SWEEP --root DIR`: a grid of runs, one process each.

A sweep is a JSON file (or a directory holding `sweep.json`), paths in it
relative to the file:

  {
    "description": "what the sweep asks",
    "gin_config": ["../../gin_configs/biggan_polygons32.gin", "base.gin"],
    "bindings": ["options.training_steps = 3000"],       # every run
    "flags": {"schedule": "eval_after_train", "eval_every_steps": 1000},
    "axes": [                                            # the grid: their product
      {"binding": "loss.fn", "values": ["@hinge", "@wasserstein"]},
      {"name": "norm", "values": {                       # named variants
          "none": ["D.spectral_norm = False"],
          "sn": "D.spectral_norm = True",
          "s2gan": {"gin_config": ["x.gin"], "bindings": [...],
                    "module": "compare_gan2.s2gan", "flags": {...}}}}
    ],
    "seeds": [1, 2],                     # bound to "seed_binding"
    "seed_binding": "run_config.tf_random_seed",
    "module": "compare_gan2.main",       # the default entry point of a run
    "max_parallel": 2,                   # runs at once (--max_parallel overrides)
    "env": {"TF_NUM_INTRAOP_THREADS": "1"}
  }

A list of runs is one axis of named variants. Each run gets a readable name from
the axes with more than one value and its seed (`loss.fn-hinge,norm-sn,seed-1`)
and its own model directory `DIR/<name>`, holding:
- `sweep_run.json`: name, axis choices, seed, gin files, bindings, flags, command;
- `run.log`: the run's output (appended across attempts);
- `sweep_status.json`: `running`, `done` or `failed` (with the return code).

Runs execute as separate processes (gin and seeds are process-global), up to
`max_parallel` at once. Resumable: runs with status `done` are skipped; other
runs start again and resume from their checkpoints and score files (the
schedules resume). A run directory whose `sweep_run.json` holds other bindings
is an error (use another --root), so a changed sweep never mixes results.
`--print_commands` prints the per-run command lines (for a cluster scheduler; it
creates nothing and leaves thread counts to the machines that run them)
instead of running them. Run one sweep process per root at a time: a second
one would restart the first one's running runs. This module does not import TensorFlow.
"""

import argparse
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import time

from compare_gan2 import errors
from compare_gan2 import model_dir as model_dir_lib

SWEEP_FILENAME = "sweep.json"
RUN_FILENAME = "sweep_run.json"
STATUS_FILENAME = "sweep_status.json"
LOG_FILENAME = "run.log"
DEFAULT_SEED_BINDING = "run_config.tf_random_seed"
DEFAULT_MODULE = "compare_gan2.main"
_KNOWN_KEYS = {"description", "gin_config", "bindings", "flags", "axes", "seeds",
               "seed_binding", "module", "max_parallel", "env"}
_VARIANT_KEYS = {"gin_config", "bindings", "module", "flags"}


class SweepError(ValueError):
  """A sweep file or run directory that cannot be used as it is."""


def _value_name(value):
  """A readable name of a gin value: "@hinge" -> "hinge", '"nearest"' -> "nearest"."""
  text = str(value).strip()
  text = text[1:] if text.startswith("@") else text
  text = text[:-2] if text.endswith("()") else text
  return text.strip("'\"")


def _safe(text):
  return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "_"


def _as_list(value, what):
  if value is None:
    return []
  if isinstance(value, str):
    return [value]
  if isinstance(value, list) and all(isinstance(v, str) for v in value):
    return list(value)
  raise SweepError(f"{what} must be a string or a list of strings, got {value!r}.")


def _variant(value, what):
  """A normalized variant dict: gin_config, bindings, module, flags."""
  if isinstance(value, (str, list)):
    return {"gin_config": [], "bindings": _as_list(value, what), "module": None,
            "flags": {}}
  if isinstance(value, dict):
    unknown = set(value) - _VARIANT_KEYS
    if unknown:
      raise SweepError(f"{what} has unknown keys {sorted(unknown)}; a variant "
                       f"takes {sorted(_VARIANT_KEYS)}.")
    return {"gin_config": _as_list(value.get("gin_config"), what + ".gin_config"),
            "bindings": _as_list(value.get("bindings"), what + ".bindings"),
            "module": value.get("module"), "flags": dict(value.get("flags") or {})}
  raise SweepError(f"{what} must be a binding string, a list of bindings or a "
                   f"dict, got {value!r}.")


def _axis(spec, index):
  """(name, [(value name, variant)]) of one entry of "axes"."""
  what = f"axes[{index}]"
  if not isinstance(spec, dict) or "values" not in spec:
    raise SweepError(f"{what} must be an object with \"values\" (and \"name\" or "
                     f"\"binding\"), got {spec!r}.")
  values = spec["values"]
  if "binding" in spec:
    binding = spec["binding"]
    if not isinstance(values, list) or not values:
      raise SweepError(f"{what} (binding {binding!r}): \"values\" must be a "
                       "non-empty list of gin values.")
    name = spec.get("name", binding)
    variants = [(_safe(_value_name(v)), _variant(f"{binding} = {v}", what))
                for v in values]
  else:
    if "name" not in spec:
      raise SweepError(f"{what} needs a \"name\" (or a \"binding\").")
    name = spec["name"]
    if not isinstance(values, dict) or not values:
      raise SweepError(f"{what} ({name}): \"values\" must be a non-empty object "
                       "{value name: bindings or variant}.")
    variants = [(_safe(k), _variant(v, f"{what}.values.{k}"))
                for k, v in values.items()]
  names = [n for n, _ in variants]
  if len(set(names)) != len(names):
    raise SweepError(f"{what} ({name}): values give the same run name part: "
                     f"{names}. Name them explicitly.")
  return _safe(name), variants


def load(path):
  """The sweep dict of a sweep file or of a directory holding sweep.json, with
  "path" (the file) and "dir" (where relative gin paths start) added."""
  if os.path.isdir(path):
    path = os.path.join(path, SWEEP_FILENAME)
  if not os.path.isfile(path):
    raise SweepError(f"No sweep file at {path!r}: give a sweep JSON file or a "
                     f"directory holding {SWEEP_FILENAME}.")
  try:
    with open(path) as f:
      spec = json.load(f)
  except json.JSONDecodeError as e:
    raise SweepError(f"{path} is not valid JSON: {e}") from e
  if not isinstance(spec, dict):
    raise SweepError(f"{path}: a sweep is a JSON object, got {type(spec).__name__}.")
  unknown = set(spec) - _KNOWN_KEYS
  if unknown:
    raise SweepError(f"{path}: unknown keys {sorted(unknown)}; known: "
                     f"{sorted(_KNOWN_KEYS)}.")
  spec["path"] = os.path.abspath(path)
  spec["dir"] = os.path.dirname(spec["path"])
  return spec


def _resolve_gin(spec, files):
  out = []
  for f in files:
    full = f if os.path.isabs(f) else os.path.normpath(os.path.join(spec["dir"], f))
    if not os.path.isfile(full):
      raise SweepError(f"{spec['path']}: gin file {f!r} not found (looked at "
                       f"{full}; paths are relative to the sweep file).")
    out.append(full)
  return out


def expand(spec):
  """The runs of a sweep: a list of dicts (name, choices, seed, gin_config,
  bindings, module, flags), in grid order with seeds innermost."""
  axes = [_axis(a, i) for i, a in enumerate(spec.get("axes") or [])]
  seeds = spec.get("seeds", [None])
  if not isinstance(seeds, list) or not seeds or not all(
      s is None or (isinstance(s, int) and s >= 0) for s in seeds):
    raise SweepError(f"\"seeds\" must be a non-empty list of integers >= 0, got "
                     f"{seeds!r}.")
  seed_binding = spec.get("seed_binding", DEFAULT_SEED_BINDING)
  common = _variant({k: spec[k] for k in ("gin_config", "bindings", "flags")
                     if k in spec}, "the sweep")
  runs = []
  for combo in itertools.product(*[v for _, v in axes]):
    for seed in seeds:
      parts, choices = [], {}
      gin_files, bindings = list(common["gin_config"]), list(common["bindings"])
      module, flags = spec.get("module") or DEFAULT_MODULE, dict(common["flags"])
      for (axis_name, variants), (value_name, variant) in zip(axes, combo):
        choices[axis_name] = value_name
        if len(variants) > 1:
          parts.append(f"{axis_name}-{value_name}")
        gin_files += variant["gin_config"]
        bindings += variant["bindings"]
        module = variant["module"] or module
        flags.update(variant["flags"])
      if seed is not None:
        bindings.append(f"{seed_binding} = {seed}")
        parts.append(f"seed-{seed}")
      runs.append({"name": ",".join(parts) or "run", "choices": choices,
                   "seed": seed, "gin_config": _resolve_gin(spec, gin_files),
                   "bindings": bindings, "module": module, "flags": flags})
  names = [r["name"] for r in runs]
  duplicates = sorted({n for n in names if names.count(n) > 1})
  if duplicates:
    raise SweepError(f"Runs share names {duplicates}: give the axes' values "
                     "distinct names.")
  return runs


def _flag(name, value):
  if isinstance(value, bool):
    value = "true" if value else "false"
  return f"--{name}={value}"


def command(run, root, python=sys.executable):
  """The command line (list) of one run."""
  cmd = [python, "-m", run["module"],
         f"--model_dir={os.path.join(os.path.abspath(root), run['name'])}"]
  cmd += [f"--gin_config={f}" for f in run["gin_config"]]
  cmd += [f"--gin_bindings={b}" for b in run["bindings"]]
  cmd += [_flag(k, v) for k, v in sorted(run["flags"].items())]
  return cmd


def run_env(spec, max_parallel, base=None):
  """The environment of the runs: `base` (os.environ), the sweep's "env", and one
  intra-op thread pool share per parallel run unless set."""
  env = dict(os.environ if base is None else base)
  env.update({k: str(v) for k, v in (spec.get("env") or {}).items()})
  env.setdefault("TF_NUM_INTRAOP_THREADS",
                 str(max(1, (os.cpu_count() or 1) // max(1, max_parallel))))
  env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  return env


def read_json(path):
  """The JSON value in `path`, or None if it is missing or not JSON."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, json.JSONDecodeError):
    return None


def _write_json(path, value):
  model_dir_lib.atomic_write_json(path, value)


def status(root, name):
  """The recorded status of a run ("done", "failed", "running") or None."""
  value = read_json(os.path.join(root, name, STATUS_FILENAME))
  return value.get("status") if value else None


def prepare(run, root, python=sys.executable):
  """Creates the run directory and its sweep_run.json; SweepError if one with
  other bindings is there. Returns the command."""
  run_dir = os.path.join(root, run["name"])
  cmd = command(run, root, python)
  record = dict(run, command=cmd)
  existing = read_json(os.path.join(run_dir, RUN_FILENAME))
  if existing is not None:
    keys = ("gin_config", "bindings", "module", "flags")
    if any(existing.get(k) != record[k] for k in keys):
      changed = [k for k in keys if existing.get(k) != record[k]]
      raise SweepError(
          f"{run_dir} holds a run of this name with other {', '.join(changed)} "
          f"(see its {RUN_FILENAME}). Its results are kept: run the changed sweep "
          "with another --root, or delete that directory to redo the run.")
  os.makedirs(run_dir, exist_ok=True)
  _write_json(os.path.join(run_dir, RUN_FILENAME), record)
  return cmd


def print_commands(spec, root, out=None, python=sys.executable):
  """Prints one shell command line per run that is not done (to `out`, default
  stdout) and creates nothing. The commands carry the sweep file's "env" only,
  not this machine's thread count: the machines that run them decide theirs."""
  out = out or sys.stdout
  env = {k: str(v) for k, v in (spec.get("env") or {}).items()}
  env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
  for run in expand(spec):
    if status(root, run["name"]) == "done":
      continue
    out.write(f"{prefix} {shlex.join(command(run, root, python))}\n")


def _log(message):
  print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_sweep(spec, root, max_parallel=None, python=sys.executable,
              poll_seconds=1.0):
  """Runs every run that is not done, `max_parallel` at a time.

  Returns {name: "done" | "failed" | "skipped"}.
  """
  max_parallel = int(max_parallel or spec.get("max_parallel") or 1)
  if max_parallel < 1:
    raise SweepError(f"max_parallel must be >= 1, got {max_parallel}.")
  runs = expand(spec)
  os.makedirs(root, exist_ok=True)
  _write_json(os.path.join(root, SWEEP_FILENAME),
              {k: v for k, v in spec.items() if k != "dir"})
  env = run_env(spec, max_parallel)
  results, queue = {}, []
  for run in runs:
    cmd = prepare(run, root, python)
    if status(root, run["name"]) == "done":
      results[run["name"]] = "skipped"
    else:
      queue.append((run["name"], cmd))
  _log(f"{len(runs)} runs in {root}: {len(results)} done before, {len(queue)} to "
       f"run, {max_parallel} at a time "
       f"(TF_NUM_INTRAOP_THREADS={env['TF_NUM_INTRAOP_THREADS']}).")
  running, start = {}, time.time()
  try:
    while queue or running:
      while queue and len(running) < max_parallel:
        name, cmd = queue.pop(0)
        run_dir = os.path.join(root, name)
        log = open(os.path.join(run_dir, LOG_FILENAME), "a")
        log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n")
        log.flush()
        _write_json(os.path.join(run_dir, STATUS_FILENAME),
                    {"status": "running", "pid": os.getpid()})
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        running[name] = (proc, log, time.time())
        _log(f"started {name}")
      time.sleep(poll_seconds)
      for name, (proc, log, started) in list(running.items()):
        code = proc.poll()
        if code is None:
          continue
        log.close()
        del running[name]
        seconds = time.time() - started
        outcome = "done" if code == 0 else "failed"
        _write_json(os.path.join(root, name, STATUS_FILENAME),
                    {"status": outcome, "returncode": code,
                     "seconds": round(seconds, 1)})
        results[name] = outcome
        finished = sum(1 for r in results.values() if r != "skipped")
        total = finished + len(queue) + len(running)
        eta = (time.time() - start) / finished * (total - finished)
        _log(f"{outcome} {name} in {seconds / 60:.1f} min (exit {code})"
             f"{'' if code == 0 else '; see ' + os.path.join(root, name, LOG_FILENAME)}"
             f" [{finished}/{total}, ETA {eta / 60:.0f} min]")
  except KeyboardInterrupt:
    for name, (proc, log, _) in running.items():
      proc.terminate()
      proc.wait()
      log.close()
      _log(f"interrupted {name}; it resumes when the sweep runs again")
    raise
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog=errors.program_name("python -m compare_gan2.sweep"),
      description="Runs a sweep: one model directory and process per run.")
  parser.add_argument("sweep", help="sweep JSON file, or a directory holding "
                      f"{SWEEP_FILENAME}")
  parser.add_argument("--root", required=True, help="directory of the runs' "
                      "model directories")
  parser.add_argument("--max_parallel", type=int, default=None,
                      help="runs at once (default: the sweep's max_parallel, or 1)")
  parser.add_argument("--print_commands", action="store_true",
                      help="print the command line of every run not done yet "
                      "instead of running them")
  parser.add_argument("--python", default=sys.executable,
                      help="the Python interpreter of the runs")
  args = parser.parse_args(argv)
  errors.check_arguments(
      parser, args, {"max_parallel": dict(integer=True, minimum=1, maximum=1024)})
  try:
    spec = load(args.sweep)
    if args.print_commands:
      print_commands(spec, args.root, python=args.python)
      return 0
    results = run_sweep(spec, args.root, args.max_parallel, args.python)
  except SweepError as e:
    print(f"compare_gan2.sweep: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    return 130
  failed = sorted(n for n, r in results.items() if r == "failed")
  _log(f"sweep finished: {sum(r == 'done' for r in results.values())} done, "
       f"{sum(r == 'skipped' for r in results.values())} skipped, "
       f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}.")
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
