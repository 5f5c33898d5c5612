"""The model directory: the name of every file a run keeps, and atomic writes.

One owner for the layout of `--model_dir` (WORKSPACE.md, "A model directory"):
every module that reads or writes a run's files takes their names from here, and
writes them with `atomic_write_text` / `atomic_write_bytes` / `atomic_write_json`,
so that a crash, a kill -9 or a full disk never leaves a truncated file behind:
the content goes to a temporary file in the same directory, is flushed to disk and
renamed over the target (POSIX `rename` is atomic). A write that fails removes its
temporary file and leaves the previous version of the target untouched; one
killed mid-write leaves it, and training and evaluation remove such leftovers
when they start (`remove_stale_temp_files`: the rule there keeps the live
temporary files of a process writing next to them).

TensorFlow-free: local paths use `os`; remote paths (`gs://...`, any `scheme://`)
go through `tf.io.gfile`, imported only then (a rename there is a copy, the best
those file systems offer).
"""

from __future__ import annotations

from collections.abc import Callable
import json
import os
import re
import shutil
import typing
import uuid

# A path: a string, or anything whose str() is one (pathlib.Path).
Path = str | os.PathLike[str]

# Checkpoints (training/checkpoints.py): model.ckpt-<step>.{index,data-*}, and
# TensorFlow's `checkpoint` state file.
CHECKPOINT_PREFIX = "model.ckpt"
CHECKPOINT_STATE = "checkpoint"
# The chief writes TRAIN_DONE once options.training_steps is reached.
TRAIN_DONE = "TRAIN_DONE"
# One training per model directory (training/run_lock.py).
TRAINING_LOCK = "TRAINING.lock"
# What produced the run (run_info.py).
RUN_INFO = "run_info.json"
# Evaluation (evaluation/scores.py): the JSON lines are the source of truth, the
# CSV (compare_gan's --score_filename) is derived from them.
SCORES_JSONL = "scores.jsonl"
DEFAULT_SCORES_CSV = "scores.csv"
# TensorBoard run of the evaluation scalars.
EVAL_RUN = "eval"
# Sample grids of the trainer: samples/step_<step>.png.
SAMPLES_DIR = "samples"
# TF Hub exports: tfhub/<step>/.
EXPORT_DIR = "tfhub"
# Where non-chief workers of a multi-worker job write their throw-away saves.
WORKER_TMP_DIR = ".worker_tmp"
# The log of every entry point run on this directory (appended).
LOG_FILE = "compare_gan2.log"

_OPERATIVE_CONFIG = re.compile(r"operative_config-(\d+)\.gin$")
_CHECKPOINT_INDEX = re.compile(re.escape(CHECKPOINT_PREFIX) + r"-(\d+)\.index$")
# The paths in TensorFlow's `checkpoint` state file (a text protocol buffer).
_STATE_PATH = re.compile(
    r'^\s*(?:model_checkpoint_path|all_model_checkpoint_paths):\s*"(.*)"\s*$',
    re.MULTILINE)


def operative_config_name(step: int) -> str:
  """`operative_config-<step>.gin`: gin's operative config at `step`."""
  return f"operative_config-{int(step)}.gin"


def operative_config_path(model_dir: Path, step: int) -> str:
  return join(model_dir, operative_config_name(step))


def sample_grid_path(model_dir: Path, step: int) -> str:
  """`samples/step_<step>.png`: the trainer's sample grid at `step`."""
  return join(model_dir, SAMPLES_DIR, f"step_{int(step)}.png")


def export_path(model_dir: Path, step: int) -> str:
  """`tfhub/<step>`: the default TF Hub export of the checkpoint at `step`."""
  return join(model_dir, EXPORT_DIR, str(int(step)))


def is_remote(path: Path) -> bool:
  """True for paths of file systems other than the local one (`gs://...`)."""
  return "://" in str(path)


def join(*parts: Path) -> str:
  return os.path.join(*[str(p) for p in parts])


def _gfile() -> typing.Any:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.io.gfile


def exists(path: Path) -> bool:
  return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def listdir(path: Path) -> list[str]:
  """Names in directory `path`; [] if it does not exist."""
  if is_remote(path):
    gfile = _gfile()
    return [n.rstrip("/") for n in gfile.listdir(path)] if gfile.exists(path) else []
  try:
    return os.listdir(path)
  except FileNotFoundError:
    return []


def makedirs(path: Path) -> None:
  if is_remote(path):
    _gfile().makedirs(path)
  else:
    os.makedirs(path, exist_ok=True)


def read_text(path: Path) -> str | None:
  """The text of `path`, or None if it does not exist."""
  if is_remote(path):
    gfile = _gfile()
    if not gfile.exists(path):
      return None
    with gfile.GFile(path) as f:
      return f.read()
  try:
    with open(path) as f:
      return f.read()
  except FileNotFoundError:
    return None


def read_json(path: Path) -> typing.Any:
  """The JSON value in `path`, or None if it is missing."""
  text = read_text(path)
  return None if text is None else json.loads(text)


def operative_config_steps(model_dir: Path) -> list[int]:
  """Sorted steps of the `operative_config-<step>.gin` files in `model_dir`."""
  steps = []
  for name in listdir(model_dir):
    match = _OPERATIVE_CONFIG.match(name)
    if match:
      steps.append(int(match.group(1)))
  return sorted(steps)


def checkpoint_steps(model_dir: Path) -> list[int]:
  """Sorted steps of the complete checkpoints (`model.ckpt-<step>.index`)."""
  return sorted(int(m.group(1)) for m in map(_CHECKPOINT_INDEX.match,
                                             listdir(model_dir)) if m)


def saved_checkpoint_steps(model_dir: Path) -> list[int]:
  """Sorted steps of the checkpoints the `checkpoint` state file lists and whose
  `.index` exists: the checkpoints a resume restores from.

  TensorFlow updates the state file only after a save completed, so these are
  complete; a `model.ckpt-<step>.index` it does not list may be the truncated
  file of a save that failed (a full disk).
  """
  text = read_text(join(model_dir, CHECKPOINT_STATE))
  steps = set()
  for path in _STATE_PATH.findall(text or ""):
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    match = re.fullmatch(re.escape(CHECKPOINT_PREFIX) + r"-(\d+)", name)
    if match and exists(join(model_dir, name + ".index")):
      steps.add(int(match.group(1)))
  return sorted(steps)


def checkpoint_temp_dir(directory: Path, step: int) -> str:
  """`model.ckpt-<step>_temp`: where TensorFlow writes a checkpoint's shards
  before it merges them into `model.ckpt-<step>.{index,data-*}`."""
  return join(directory, f"{CHECKPOINT_PREFIX}-{int(step)}_temp")


def remove_failed_save(directory: Path, step: int) -> list[str]:
  """Removes what a failed save of `model.ckpt-<step>` left in `directory`: its
  temporary shard directory, and its `.index` / `.data-*` files unless the state
  file lists that checkpoint (then it is complete and kept). Returns the removed
  paths. A complete earlier checkpoint has another step and is never touched.
  """
  removed = []
  temp = checkpoint_temp_dir(directory, step)
  if exists(temp):
    if is_remote(temp):
      _gfile().rmtree(temp)
    else:
      shutil.rmtree(temp, ignore_errors=True)
    removed.append(temp)
  if int(step) in saved_checkpoint_steps(directory):
    return removed
  stem = f"{CHECKPOINT_PREFIX}-{int(step)}"
  for name in listdir(directory):
    if name == stem + ".index" or name.startswith(stem + ".data-"):
      path = join(directory, name)
      try:
        if is_remote(path):
          _gfile().remove(path)
        else:
          os.remove(path)
        removed.append(path)
      except OSError:
        pass  # Gone already, or the file system refuses: the state file rules.
  return removed


def latest_operative_config(model_dir: Path, max_step: int | None = None
                            ) -> str | None:
  """Path of the operative config with the largest step (<= max_step), or None."""
  steps = [s for s in operative_config_steps(model_dir)
           if max_step is None or s <= max_step]
  return operative_config_path(model_dir, steps[-1]) if steps else None


# An atomic write's temporary file: `.<target name>.tmp-<8 hex digits>`, next to
# its target (atomic_write_bytes).
_ATOMIC_TEMP = re.compile(r"^\.(.+)\.tmp-[0-9a-f]{8}$")
# Older temporary files belong to no live writer: an atomic write lives for one
# write and flush (seconds), so after an hour its process has crashed.
STALE_TEMP_SECONDS = 3600


def atomic_temp_name(path: Path) -> str:
  """A fresh temporary name next to `path` (`.<name>.tmp-<8 hex>`: what
  remove_stale_temp_files cleans up after a crash)."""
  return join(os.path.dirname(path),
              f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")


def written_by_training(relative_path: str) -> bool:
  """True for the files of the model directory only a training writes (under
  its TRAINING.lock): run_info.json, TRAIN_DONE, operative_config-<step>.gin,
  samples/step_<step>.png."""
  name = os.path.basename(relative_path)
  if os.path.dirname(relative_path) == SAMPLES_DIR:
    return re.fullmatch(r"step_\d+\.png", name) is not None
  return (not os.path.dirname(relative_path)
          and (name in (RUN_INFO, TRAIN_DONE)
               or _OPERATIVE_CONFIG.match(name) is not None))


def remove_stale_temp_files(model_dir: Path,
                            owned: Callable[[str], bool] | None = None,
                            min_age: float = STALE_TEMP_SECONDS,
                            now: float | None = None) -> list[str]:
  """Removes the temporary files of atomic writes that a crash or a kill left
  in `model_dir` and its `samples/`; returns their paths.

  Only names of the atomic-write pattern (`.<name>.tmp-<8 hex>`) are touched,
  and only if no live writer can own them:
  - its target is a file only the caller writes (`owned(relative path)`, e.g.
    `written_by_training` for a training holding the TRAINING.lock: no other
    process writes those files, so a temporary file of one is a leftover), or
  - it was last modified `min_age` seconds ago or earlier (STALE_TEMP_SECONDS).
  A younger temporary file of another file may be a write in progress of a
  process running next to the caller (an evaluation writing scores.jsonl while
  the training starts, a second evaluation, compare_gan2.sample writing its
  grid into the directory) and is left alone. Remote directories are skipped.
  """
  if is_remote(model_dir):
    return []
  import time  # pylint: disable=g-import-not-at-top
  now = time.time() if now is None else now
  removed = []
  for sub in ("", SAMPLES_DIR):
    for name in listdir(join(model_dir, sub) if sub else model_dir):
      match = _ATOMIC_TEMP.match(name)
      if not match:
        continue
      path = join(model_dir, sub, name) if sub else join(model_dir, name)
      target = join(sub, match.group(1)) if sub else match.group(1)
      try:
        stale = ((owned is not None and owned(target))
                 or now - os.stat(path).st_mtime >= min_age)
        if stale and os.path.isfile(path):
          os.remove(path)
          removed.append(path)
      except FileNotFoundError:
        pass  # Renamed into place or removed by its writer meanwhile.
  return removed


def check_writable(directory: Path) -> None:
  """Raises the system's OSError (read-only file system, no permission) unless
  a file can be created in `directory`: creates and removes a temporary file
  named like an atomic write's (so a crash in between leaves nothing that
  `remove_stale_temp_files` does not remove). Remote directories: no check."""
  if is_remote(directory):
    return
  probe = atomic_temp_name(join(directory, "write_check"))
  fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
  os.close(fd)
  os.remove(probe)


def atomic_write_bytes(path: Path, data: bytes) -> str:
  """Writes `data` to `path` via a temporary file and a rename; returns `path`.

  On any error the temporary file is removed and `path` keeps its previous
  content (or stays absent).
  """
  path = str(path)
  tmp = atomic_temp_name(path)
  if is_remote(path):
    gfile = _gfile()
    try:
      with gfile.GFile(tmp, "wb") as f:
        f.write(data)
      gfile.rename(tmp, path, overwrite=True)
    except BaseException:
      if gfile.exists(tmp):
        gfile.remove(tmp)
      raise
    return path
  try:
    with open(tmp, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    try:
      os.remove(tmp)
    except OSError:
      pass
    raise
  return path


def atomic_write_text(path: Path, text: str) -> str:
  """`atomic_write_bytes` of `text` in UTF-8."""
  return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, value: object) -> str:
  """`value` as indented, key-sorted JSON, written atomically."""
  return atomic_write_text(path, json.dumps(value, indent=1, sort_keys=True) + "\n")
