"""A quiet console: TensorFlow's start-up lines and Python deprecation warnings
stay off stderr; errors do not.

Every entry point calls `quiet()` before TensorFlow loads: `compare-gan2`
(compare_gan2/cli.py) for every command, and each `python -m compare_gan2.X`
module first thing (`quiet_if_main(__name__)`, which does nothing when the
module is imported as a library). Then:

- TF_CPP_MIN_LOG_LEVEL defaults to 2: TensorFlow's C++ INFO and WARNING lines
  are not printed, its errors are (3 would hide errors too, so it is not used).
  A value the user set is kept.
- TensorFlow >= 2.19 prints a few lines while its shared libraries load, before
  its C++ logging reads TF_CPP_MIN_LOG_LEVEL ("WARNING: All log messages before
  absl::InitializeLog() ...", "oneDNN custom operations are on ...", "Could not
  find cuda drivers on your machine ..."; tensorflow#100442). While a TensorFlow
  module that loads a shared library is imported, stderr (file descriptor 2)
  goes to a temporary file; afterwards everything in it is written back to
  stderr except those known INFO lines (`startup_noise`). On a machine without
  a CUDA driver, TensorFlow's error line "failed call to cuInit" (printed when
  the devices are first listed) only says that again: there the GPUs are listed
  once right after `import tensorflow`, inside the same filter, and that line
  is dropped. Every other line, errors included, is kept. (A crash inside
  TensorFlow's own import would lose its message: COMPARE_GAN2_VERBOSE=1 shows
  it.)
- Python's DeprecationWarning and PendingDeprecationWarning are ignored, unless
  warnings were configured with `python -W` or $PYTHONWARNINGS.

Not hidden: TensorFlow's error "oneDNN supports DT_INT64 only on platforms with
AVX-512" that some ops log on AVX2 machines; it is harmless, but only
TF_CPP_MIN_LOG_LEVEL=3 would hide it, and that hides real errors too.

Everything comes back with COMPARE_GAN2_VERBOSE=1, with TF_CPP_MIN_LOG_LEVEL=0
set by the user, or with absl's `--verbosity=1` (or higher) on the command line
of an absl command.

Imports nothing but the standard library (no TensorFlow, no absl).
"""

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
import warnings

VERBOSE_ENV = "COMPARE_GAN2_VERBOSE"
LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_LEVEL = "2"

# A C++ log line of TensorFlow: absl's
#   I0000 00:00:1796684561.434730   18548 port.cc:153] oneDNN custom ...
# or TensorFlow's older
#   2025-09-17 14:44:05.157831: I external/local_xla/.../cudart_stub.cc:32] ...
_LOG_LINE = re.compile(
    r"^(?:\d{4}-\d\d-\d\d [\d:.]+: )?([IWEF])(?:\d{4} [\d:.]+\s+\d+)?\s*"
    r"(?:\S*/)?(\w+\.cc):\d+\] (.*)$")
_ABSL_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog() is "
                  "called are written to STDERR")
# (file, start of the message) of the INFO / WARNING start-up lines.
_STARTUP = (
    ("port.cc", "oneDNN custom operations are on"),
    ("cudart_stub.cc", "Could not find cuda drivers on your machine"),
    ("cpu_feature_guard.cc", "This TensorFlow binary is optimized"),
)
_CPU_FEATURES_CONTINUED = "To enable the following instructions:"
_NO_DRIVER = "Could not find cuda drivers on your machine"
_CUINIT = ("cuda_platform.cc", "failed call to cuInit")
_TRUE = ("1", "true", "yes", "on")


def _absl_verbosity(argv):
  """The value of absl's --verbosity / -v in argv (before `--`), else 0."""
  value = None
  args = list(argv)
  for index, arg in enumerate(args):
    if arg == "--":
      break
    match = re.match(r"^--?(?:verbosity|v)(?:=(.*))?$", arg)
    if not match:
      continue
    if match.group(1) is not None:
      value = match.group(1)
    elif index + 1 < len(args):
      value = args[index + 1]
  if value is None:
    return 0
  if value.strip().lower() == "debug":
    return 1
  try:
    return int(value)
  except ValueError:
    return 0


def verbose(argv=None):
  """True when the user asked for TensorFlow's own console: $COMPARE_GAN2_VERBOSE
  set, TF_CPP_MIN_LOG_LEVEL=0, or absl's --verbosity >= 1 in argv (default:
  sys.argv[1:])."""
  if os.environ.get(VERBOSE_ENV, "").strip().lower() in _TRUE:
    return True
  if os.environ.get(LEVEL_ENV, "").strip() == "0":
    return True
  return _absl_verbosity(sys.argv[1:] if argv is None else argv) >= 1


class _Filter:
  """Drops TensorFlow's start-up lines from captured stderr text."""

  def __init__(self):
    self.no_cuda_driver = False

  def __call__(self, text):
    kept, dropped_cpu_features = [], False
    for line in text.splitlines(keepends=True):
      drop = self.startup_noise(line.rstrip("\r\n"))
      if not drop and dropped_cpu_features and line.startswith(
          _CPU_FEATURES_CONTINUED):
        drop = True  # The second line of cpu_feature_guard's message.
      dropped_cpu_features = drop and "cpu_feature_guard" in line
      if not drop:
        kept.append(line)
    return "".join(kept)

  def startup_noise(self, line):
    """True for a known start-up line (and remembers a missing CUDA driver)."""
    if line == _ABSL_PREAMBLE:
      return True
    match = _LOG_LINE.match(line)
    if not match:
      return False
    level, filename, message = match.groups()
    if level in "IW" and any(filename == f and message.startswith(m)
                             for f, m in _STARTUP):
      if message.startswith(_NO_DRIVER):
        self.no_cuda_driver = True
      return True
    return (level == "E" and self.no_cuda_driver and filename == _CUINIT[0]
            and message.startswith(_CUINIT[1]))


_FILTER = _Filter()


def startup_noise(line):
  """True if `line` (without its newline) is a start-up line `quiet` drops."""
  return _FILTER.startup_noise(line)


class _Capture:
  """File descriptor 2 redirected to a temporary file (outermost use only);
  on exit the file's text, filtered, is written to the real stderr."""

  def __init__(self):
    self.depth = 0
    self.file = None

  @contextlib.contextmanager
  def __call__(self):
    if self.depth:
      self.depth += 1
      try:
        yield self
      finally:
        self.depth -= 1
      return
    _flush_stderr()
    try:
      saved = os.dup(2)
    except OSError:  # No stderr to redirect.
      yield self
      return
    self.file = tempfile.TemporaryFile()  # pylint: disable=consider-using-with
    self.depth = 1
    try:
      os.dup2(self.file.fileno(), 2)
      yield self
    finally:
      _flush_stderr()
      os.dup2(saved, 2)
      os.close(saved)
      self.depth = 0
      captured, self.file = self.text(), None
      _write_stderr(_FILTER(captured))

  def text(self):
    """What was written to stderr so far in the outermost capture."""
    if self.file is None:
      return ""
    self.file.flush()
    self.file.seek(0)
    data = self.file.read()
    self.file.seek(0, os.SEEK_END)
    return data.decode("utf-8", errors="replace")


_CAPTURE = _Capture()


def _flush_stderr():
  try:
    sys.stderr.flush()
  except (AttributeError, OSError, ValueError):
    pass


def _write_stderr(text):
  data = text.encode("utf-8")
  while data:
    try:
      written = os.write(2, data)
    except OSError:
      return
    data = data[written:]


def _list_gpus_without_driver(tensorflow):
  """Right after `import tensorflow`, inside the capture: on a machine without
  a CUDA driver, lists the GPUs so that the cuInit error line this prints (once
  per process) is dropped with the start-up lines. Lists nothing, so leaves
  TensorFlow as it is, on a machine with a driver."""
  if _NO_DRIVER not in _CAPTURE.text():
    return
  try:
    tensorflow.config.list_physical_devices("GPU")
  except Exception:  # pylint: disable=broad-except
    pass  # TensorFlow reports device problems itself when it uses them.


class _QuietLoader(importlib.abc.Loader):
  """Loads a module with the real loader, stderr captured."""

  def __init__(self, loader, after=None):
    self._loader = loader
    self._after = after

  def create_module(self, spec):
    with _CAPTURE():  # An extension module's library loads here.
      return self._loader.create_module(spec)

  def exec_module(self, module):
    # The module keeps its real loader (importlib.resources, inspect, ...).
    module.__loader__ = self._loader
    if getattr(module, "__spec__", None) is not None:
      module.__spec__.loader = self._loader
    with _CAPTURE():
      self._loader.exec_module(module)
      if self._after is not None:
        self._after(module)

  def __getattr__(self, name):
    return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
  """Captures stderr while `tensorflow` and TensorFlow's extension modules
  (shared libraries) load."""

  def find_spec(self, name, path=None, target=None):
    if name != "tensorflow" and not name.startswith("tensorflow."):
      return None
    for finder in sys.meta_path:
      find = getattr(finder, "find_spec", None)
      if finder is self or find is None:
        continue
      spec = find(name, path, target)
      if spec is not None:
        break
    else:
      return None
    if name == "tensorflow":
      spec.loader = _QuietLoader(spec.loader, after=_list_gpus_without_driver)
    elif isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
      spec.loader = _QuietLoader(spec.loader)
    return spec


def quiet(argv=None):
  """Keeps TensorFlow's start-up lines and Python deprecation warnings off the
  console (see the module docstring) unless `verbose(argv)`; call before
  TensorFlow is imported. Returns whether it did."""
  if verbose(argv):
    return False
  os.environ.setdefault(LEVEL_ENV, DEFAULT_LEVEL)
  if not sys.warnoptions:  # python -W / $PYTHONWARNINGS: the user's choice.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
  if "tensorflow" not in sys.modules and not any(
      isinstance(f, _QuietFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietFinder())
  return True


def quiet_if_main(name):
  """`quiet()` when `name` (the caller's __name__) is "__main__": the first
  line of a `python -m` entry point, a no-op when imported as a library."""
  if name == "__main__":
    quiet()
