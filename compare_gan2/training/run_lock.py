"""One training per model directory: the `TRAINING.lock` file.

Two trainings on one model directory would interleave their checkpoints, event
files and operative configs. The chief takes `<model_dir>/TRAINING.lock` (JSON:
pid, host, start time) before it trains and removes it when it stops; a second
training on the directory is refused with the holder's pid and host. A lock left
by a killed process (same host, pid no longer running) is stale and taken over.

Taking over is atomic: two restarts that find the same stale lock at once must
not both proceed. A taker removes the stale file only while it holds the takeover
mutex (an `flock` on `TRAINING.lock.takeover`, released by the system if the
process dies, so it is never stale itself) and only if the lock still is the one
it judged stale; then it creates its own lock exclusively like any starter. The
other taker finds the winner's live lock and is refused.
Evaluation and export do not lock: they may run next to the training. Model
directories on remote file systems (`gs://...`) are not locked.
"""

import contextlib
import datetime
import json
import os
import socket

from absl import logging

from compare_gan2 import errors
from compare_gan2 import model_dir as model_dir_lib

LOCK_FILENAME = model_dir_lib.TRAINING_LOCK


class ModelDirLockedError(errors.UserError, RuntimeError):
  """Another process is training in this model directory."""


def _pid_running(pid):
  try:
    os.kill(int(pid), 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # Running, owned by another user.
  return True


def read_lock(model_dir):
  """The lock's {"pid", "host", "start_time"}, or None if there is none."""
  try:
    with open(os.path.join(model_dir, LOCK_FILENAME)) as f:
      return json.load(f)
  except FileNotFoundError:
    return None
  except (OSError, ValueError):
    return {}  # Unreadable or half written: treated as held, see _is_stale.


def _is_stale(holder):
  return (bool(holder) and holder.get("host") == socket.gethostname()
          and not _pid_running(holder.get("pid", -1)))


def _create(path, record):
  """Creates the lock file with `record` if it does not exist; True if made.

  The record is written to a temporary file first and hard-linked to `path`
  (atomic, and refused if `path` exists), so a process that finds the lock
  always reads a whole record: created empty and then written, a racing
  reader saw "process ? on ?". Where hard links are refused, the file is
  created exclusively and then written."""
  temp = model_dir_lib.atomic_temp_name(path)
  try:
    with open(temp, "w") as f:
      json.dump(record, f)
    try:
      os.link(temp, path)
      return True
    except FileExistsError:
      return False
    except OSError:  # No hard links here (e.g. some network file systems).
      return _create_exclusive(path, record)
  finally:
    with contextlib.suppress(FileNotFoundError):
      os.remove(temp)


def _create_exclusive(path, record):
  try:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
  except FileExistsError:
    return False
  with os.fdopen(fd, "w") as f:
    json.dump(record, f)
  return True


@contextlib.contextmanager
def _takeover_mutex(path):
  """Held by one process (or thread) of this host at a time: an exclusive
  `flock` on `<lock>.takeover`, removed by its holder when done (a waiter that
  locked the removed file sees it is no longer the file at that path and
  retries). Without `fcntl` (not POSIX), no mutex."""
  try:
    import fcntl  # pylint: disable=g-import-not-at-top
  except ImportError:
    yield
    return
  mutex = path + ".takeover"
  while True:
    fd = os.open(mutex, os.O_CREAT | os.O_RDWR, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX)
      try:
        current = os.path.samestat(os.fstat(fd), os.stat(mutex))
      except FileNotFoundError:
        current = False
    except BaseException:
      os.close(fd)
      raise
    if current:
      break
    os.close(fd)  # Removed by the previous holder after we opened it.
  try:
    yield
  finally:
    with contextlib.suppress(FileNotFoundError):
      os.remove(mutex)  # Still holding it: waiters on this file retry.
    os.close(fd)


@contextlib.contextmanager
def training_lock(model_dir):
  """Holds `model_dir`'s training lock while active (ModelDirLockedError if
  another running process holds it)."""
  if "://" in model_dir:
    yield
    return
  path = os.path.join(model_dir, LOCK_FILENAME)
  record = {"pid": os.getpid(), "host": socket.gethostname(),
            "start_time": datetime.datetime.now().isoformat(timespec="seconds")}
  while not _create(path, record):
    holder = read_lock(model_dir)
    if holder is None:
      continue  # Released in between: try again.
    if not _is_stale(holder):
      raise ModelDirLockedError(
          f"{model_dir} is being trained by process {holder.get('pid', '?')} on "
          f"{holder.get('host', '?')} (since {holder.get('start_time', '?')}; "
          f"{path}). Wait for it, stop it, or train into another --model_dir; "
          "if that process no longer runs, delete the lock file.")
    with _takeover_mutex(path):
      # Another taker may have replaced the stale lock by its own meanwhile:
      # remove only the lock judged stale, then race for the lock as anyone.
      if read_lock(model_dir) == holder:
        logging.warning("Taking over the stale training lock of process %s (no "
                        "longer running): %s", holder.get("pid"), path)
        os.remove(path)
  try:
    yield
  finally:
    if read_lock(model_dir) == record:
      with contextlib.suppress(FileNotFoundError):
        os.remove(path)
