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
   "gin": {"[scope/]configurable.parameter": value string} (every binding in effect),
   "dataset": {"name", "label_file_pattern", "labeled_fraction",
               "labels_are_classes", "train_subset"} (the spec trained on; the
               S2GAN pipeline gives its GAN stage a spec with its label files,
               not a binding; "train_subset": None, or the limited-data option
               and the training examples it keeps, spec.train_subset_info())}

A re-run (resume) rewrites it, keeping the earlier invocations' start times in
"previous_starts".
"""

import datetime
import os
import platform
import subprocess
import sys

import gin
import tensorflow as tf

import compare_gan2
from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2 import model_dir as model_dir_lib

FILENAME = model_dir_lib.RUN_INFO
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


def describe_dataset(spec):
  """What run_info.json records of a dataset spec."""
  if spec is None:
    return None
  return {"name": spec.name, "label_file_pattern": spec.label_file_pattern,
          "labeled_fraction": spec.labeled_fraction,
          "labels_are_classes": spec.labels_are_classes,
          "train_subset": (spec.train_subset_info()
                           if hasattr(spec, "train_subset_info") else None)}


def collect(schedule, seed, strategy=None, gin_config=(), gin_bindings=(),
            dataset=None):
  """The run_info dict of this process (see the module docstring)."""
  commit, dirty = git_commit()
  return {
      "dataset": describe_dataset(dataset),
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
      "gin": gin_setup.parse_gin_config(gin.config_str()),
  }


def write(model_dir, info):
  """Writes `model_dir/run_info.json` atomically; returns its path."""
  previous = read(model_dir)
  if previous:
    info = dict(info, previous_starts=previous.get("previous_starts", []) + [
        previous.get("start_time")])
  return model_dir_lib.atomic_write_json(model_dir_lib.join(model_dir, FILENAME),
                                         info)


def read(model_dir):
  """The run_info dict of `model_dir`, or None if it has none."""
  return model_dir_lib.read_json(model_dir_lib.join(model_dir, FILENAME))


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


def configuration(model_dir, gin_configs=(), gin_bindings=()):
  """(gin files, bindings) that configure the model of `model_dir` again.

  `gin_configs` when given; else every binding the run had when it last started
  (run_info.json, which includes evaluation settings such as `eval_z`), else the
  latest `operative_config-<step>.gin`. `gin_bindings` apply on top.

  Raises:
    errors.ConfigError: none of these exists.
  """
  configs, bindings = list(gin_configs), list(gin_bindings)
  if configs:
    return configs, bindings
  recorded = recorded_bindings(model_dir)
  if recorded is not None:
    return [], recorded + bindings
  operative = model_dir_lib.latest_operative_config(model_dir)
  if operative is None:
    raise errors.ConfigError(
        f"Neither {FILENAME} nor operative_config-<step>.gin in {model_dir!r} to "
        "configure the model with; pass the training gin config with "
        "--gin_config (and --gin_bindings).")
  return [operative], bindings
