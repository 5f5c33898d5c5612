"""`run_info.json`: what produced a model directory.

Written by the chief when training starts or resumes, once the checkpoint (if
any) has matched the configuration (runner.schedule_train; a run that fails
before that leaves the file alone), so a score can be traced to the code, the
machine and the configuration that made it:

  {"schema_version": 1, "schedule", "start_time" (UTC ISO 8601), "argv",
   "package": {"version", "git_commit", "git_dirty"},
   "tensorflow": version, "python": version,
   "device": {"cpu", "logical_devices", "strategy", "num_replicas"},
   "seed": run_config.tf_random_seed,
   "gin_config": [files], "gin_bindings": [command-line bindings],
   "gin": {"[scope/]configurable.parameter": value string} (every binding in effect)}

A re-run (resume) rewrites it, keeping the earlier invocations' start times in
"previous_starts".
"""

import datetime
import json
import os
import platform
import subprocess
import sys

import gin
import tensorflow as tf

import compare_gan2
from compare_gan2.evaluation import scores as scores_lib

FILENAME = "run_info.json"
SCHEMA_VERSION = 1


def git_commit(path=None):
  """(commit, dirty) of the git checkout holding `path` (the package), or
  (None, None) when it is not one (an installed wheel)."""
  path = path or os.path.dirname(os.path.abspath(compare_gan2.__file__))
  try:
    commit = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"],
                            capture_output=True, text=True, timeout=10,
                            check=True).stdout.strip()
    status = subprocess.run(["git", "-C", path, "status", "--porcelain",
                             "--untracked-files=no"],
                            capture_output=True, text=True, timeout=10,
                            check=True).stdout
  except (OSError, subprocess.SubprocessError):
    return None, None
  return commit or None, bool(status.strip())


def cpu_model():
  """The CPU's model name (/proc/cpuinfo), else platform.processor()."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def collect(schedule, seed, strategy=None, gin_config=(), gin_bindings=()):
  """The run_info dict of this process (see the module docstring)."""
  commit, dirty = git_commit()
  return {
      "schema_version": SCHEMA_VERSION,
      "schedule": schedule,
      "start_time": datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
      "argv": list(sys.argv),
      "package": {"version": compare_gan2.__version__, "git_commit": commit,
                  "git_dirty": dirty},
      "tensorflow": tf.__version__,
      "python": platform.python_version(),
      "device": {
          "cpu": cpu_model(),
          "logical_devices": [d.name for d in tf.config.list_logical_devices()],
          "strategy": type(strategy).__name__ if strategy is not None else None,
          "num_replicas": (strategy.num_replicas_in_sync
                           if strategy is not None else 1),
      },
      "seed": seed,
      "gin_config": list(gin_config),
      "gin_bindings": list(gin_bindings),
      "gin": scores_lib.parse_gin_config(gin.config_str()),
  }


def write(model_dir, info):
  """Writes `model_dir/run_info.json` atomically; returns its path."""
  path = os.path.join(model_dir, FILENAME)
  previous = read(model_dir)
  if previous:
    info = dict(info, previous_starts=previous.get("previous_starts", []) + [
        previous.get("start_time")])
  tmp = f"{path}.tmp-{os.getpid()}"
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(json.dumps(info, indent=1, sort_keys=True) + "\n")
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path


def read(model_dir):
  """The run_info dict of `model_dir`, or None if it has none."""
  path = os.path.join(model_dir, FILENAME)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.loads(f.read())


def recorded_bindings(model_dir):
  """Every gin binding in effect when the run last started, as "name = value"
  strings (run_info.json's "gin"), or None if the run has no run_info.json.

  Unlike operative_config-<step>.gin, which holds only what training called,
  this includes the evaluation settings (eval_z, eval.*) of the run's config.
  """
  info = read(model_dir)
  if not info or not info.get("gin"):
    return None
  return [f"{name} = {value}" for name, value in sorted(info["gin"].items())]
