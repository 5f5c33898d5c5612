"""Logs a person can follow: the model directory's log file and a quiet console.

Every entry point that works on a model directory calls `setup(model_dir)` first:

- absl's log lines (INFO and above) are appended to `<model_dir>/compare_gan2.log`
  (compare_gan2/model_dir.py) once the command's work starts (`start()`: when
  the configuration has been checked and, for training, the directory's lock
  taken). Lines logged before are kept in memory and written then, so a
  rejected configuration or a refused second training changes nothing in the
  directory. The handler never creates the directory. Only the process that
  writes the model directory (the chief) logs there; other workers of a
  multi-worker job keep to their console.
- TensorFlow's deprecation warnings are dropped from the console; they are
  about TensorFlow's own internals, not about anything the user can change.
"""

import json
import logging as std_logging
import os
import sys
import warnings

from absl import logging

from compare_gan2 import console
from compare_gan2 import model_dir as model_dir_lib

_FORMAT = "%(asctime)s %(levelname).1s %(filename)s:%(lineno)d] %(message)s"


class ModelDirLogHandler(std_logging.Handler):
  """Appends log records to `<model_dir>/compare_gan2.log` once started and the
  directory exists; records emitted before are buffered (at most
  `max_buffered`)."""

  def __init__(self, model_dir, max_buffered=10000):
    super().__init__(level=std_logging.INFO)
    self.path = model_dir_lib.join(model_dir, model_dir_lib.LOG_FILE)
    self._model_dir = model_dir
    self._buffer = []
    self._max_buffered = max_buffered
    self._file = None
    self.started = False
    self._failed = False
    self.setFormatter(std_logging.Formatter(_FORMAT))

  def emit(self, record):
    if self._failed:
      return
    try:
      line = self.format(record) + "\n"
      if self._file is None:
        if not self.started or not os.path.isdir(self._model_dir):
          if len(self._buffer) < self._max_buffered:
            self._buffer.append(line)
          return
        self._file = open(self.path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self._file.writelines(self._buffer)
        self._buffer = []
      self._file.write(line)
      self._file.flush()
    except OSError as e:
      self._give_up(e)

  def _give_up(self, error):
    """A model directory that cannot take the log (read-only, full) does not
    stop a command that only reads it (sample, export): one line on stderr,
    then the console alone."""
    self._failed = True
    self._buffer = []
    if self._file is not None:
      try:
        self._file.close()
      except OSError:
        pass
      self._file = None
    sys.stderr.write(f"compare_gan2: cannot write the log file {self.path} "
                     f"({error.strerror or error}); logging to the console "
                     "only.\n")

  def close(self):
    if self._file is not None:
      self._file.close()
      self._file = None
    super().close()


class _DropDeprecations(std_logging.Filter):
  """Drops TensorFlow's deprecation warnings."""

  def filter(self, record):
    return not (record.filename == "deprecation.py"
                or "deprecated" in str(record.msg).lower())


def _is_chief_process():
  """False for the non-chief tasks of a multi-worker job ($TF_CONFIG)."""
  try:
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
  except ValueError:
    return True
  task, cluster = config.get("task", {}), config.get("cluster", {})
  kind, index = task.get("type"), int(task.get("index", 0))
  if kind in (None, "chief"):
    return True
  return kind == "worker" and index == 0 and "chief" not in cluster


def quiet_tensorflow():
  """Hides TensorFlow's deprecation warnings from the console, unless the user
  asked for them (compare_gan2/console.py: COMPARE_GAN2_VERBOSE=1, ...)."""
  if console.verbose():
    return
  std_logging.getLogger("tensorflow").addFilter(_DropDeprecations())
  warnings.filterwarnings("ignore", category=DeprecationWarning,
                          module=r"tensorflow.*")


def _handlers():
  return [h for h in logging.get_absl_logger().handlers
          if isinstance(h, ModelDirLogHandler)]


def start():
  """The command's work starts: the model directory's log file is written from
  now on, beginning with the lines buffered so far."""
  for handler in _handlers():
    if not handler.started:
      handler.started = True
      logging.info("Log file: %s", handler.path)


def setup(model_dir=None):
  """INFO logging, TensorFlow quieted, and (given `model_dir`, on the chief)
  the model directory's log file; returns its handler or None."""
  logging.set_verbosity(logging.INFO)
  quiet_tensorflow()
  if not model_dir or model_dir_lib.is_remote(model_dir) or not _is_chief_process():
    return None
  logger = logging.get_absl_logger()
  for old in _handlers():
    logger.removeHandler(old)  # One model directory per process at a time.
    old.close()
  handler = ModelDirLogHandler(model_dir)
  logger.addHandler(handler)
  return handler
