"""User errors: mistakes in the configuration or command line, not bugs.

Every error a user can fix (a misspelt gin name, an unknown dataset, a bad
`options` value, a missing or damaged checkpoint, ...) is a `UserError` whose
message names the problem and the fix. The entry points (`compare-gan2`,
`python -m compare_gan2.export`, `python -m compare_gan2.describe`) print it
as one line, `<program>: error: <message>`, and exit with status 1.

Faults of the environment are reported the same way: a full disk, a read-only
or unwritable model directory, a lost worker. The line says what happened, what
was kept (the last complete checkpoint of the model directory) and how to
resume. So is a ValueError or TypeError raised while gin calls a configurable
(a check of its arguments, e.g. `ModularGAN.conditional = True` on a dataset
without labels): the line names the configurable. Any other exception is a bug
and keeps its traceback.
"""

import contextlib
import errno
import math
import numbers
import re
import sys

from compare_gan2 import model_dir as model_dir_lib


class UserError(Exception):
  """A problem the user can fix; the message says how."""


class ConfigError(UserError, ValueError):
  """A gin setting or flag value compare_gan2 cannot use."""


def _number_text(x):
  """A bound or value as the message prints it: 0.0 as 0, 1e-06 as 1e-06."""
  if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
    return str(int(x))
  return str(x)


def check_number(name, value, minimum=None, maximum=None, above=None,
                 below=None, integer=False, optional=True, hint=""):
  """`value` of the flag or setting `name` ("--num", "options.z_dim") if it is
  a finite number (a bool is not one) within its bounds, each optional:
  `value >= minimum` or `value > above` (one lower bound), `value <= maximum`
  or `value < below` (one upper bound), and, if `integer`, integral (3.0
  passes). None passes if `optional` (an unset optional flag; a setting
  that must be a number gives optional=False). Returns `int(value)` if
  `integer`, else `value` as given (None if None).

  Otherwise a ConfigError, one line naming the value and what is allowed:
  "--num must be an integer >= 1, got 0.", "--beta2 must be a number in
  [0, 1), got 1.0." or, with `hint`, "--columns must be an integer in
  [1, 256], got 0; the samples of every prompt are one batch."

  Every numeric check of a flag or gin setting is a call of this function;
  the commands call it when they read their flags, so a zero, negative or
  absurd value is refused before anything is written.
  """
  if minimum is not None and above is not None:
    raise TypeError("check_number: give `minimum` or `above`, not both.")
  if maximum is not None and below is not None:
    raise TypeError("check_number: give `maximum` or `below`, not both.")
  if value is None and optional:
    return None
  ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
  if ok and not isinstance(value, numbers.Integral):
    ok = math.isfinite(value) and (not integer or float(value).is_integer())
  if ok:
    ok = ((minimum is None or value >= minimum)
          and (above is None or value > above)
          and (maximum is None or value <= maximum)
          and (below is None or value < below))
  if ok:
    return int(value) if integer else value
  low, high = (minimum if above is None else above,
               maximum if below is None else below)
  if low is not None and high is not None:
    wanted = (f" in {'[' if above is None else '('}{_number_text(low)}, "
              f"{_number_text(high)}{']' if below is None else ')'}")
  elif low is not None:
    wanted = f" {'>=' if above is None else '>'} {_number_text(low)}"
  elif high is not None:
    wanted = f" {'<=' if below is None else '<'} {_number_text(high)}"
  else:
    wanted = ""
  kind = ("an integer" if integer else "a number" if wanted else
          "a finite number")
  got = (str(value) if isinstance(value, numbers.Real) else repr(value))
  raise ConfigError(f"{name} must be {kind}{wanted}, got {got}"
                    f"{'; ' + hint.rstrip('.') if hint else ''}.")


def check(condition, message):
  """A ConfigError with `message` unless `condition`: the checks of settings
  other than a number's bounds (those are `check_number`'s), e.g. a name among
  the allowed ones."""
  if not condition:
    raise ConfigError(message)


def check_arguments(parser, args, ranges):
  """`check_number` for the argparse commands: every `ranges` entry
  ({argument: bounds}) of `args`; out of range is `parser.error` (usage, then
  `<prog>: error: --x must be ...`, exit status 2), before any work."""
  for name, bounds in ranges.items():
    try:
      check_number(f"--{name}", getattr(args, name), **bounds)
    except ConfigError as e:
      parser.error(str(e))


_GIN_CALL = re.compile(r"In call to configurable '([^']+)'")
_OBJECT_REPR = re.compile(r" ?<[\w.]+ object at 0x[0-9a-fA-F]+>")


def one_line(error):
  """The error's message on one line, without the "In call to configurable"
  context gin appends to exceptions raised inside configurables, and without
  object reprs (`<_io.BytesIO object at 0x...>`), which say nothing to a user."""
  lines = [line.strip() for line in str(error).splitlines()
           if not line.strip().startswith("In call to configurable")]
  return _OBJECT_REPR.sub("", " ".join(line for line in lines if line))


def _error_classes(error):
  return {cls.__name__ for cls in type(error).__mro__}


def environment_fault(error):
  """What happened, if `error` is a fault of the machine rather than a bug:
  "the disk is full", "... cannot be written", "a worker was lost"; else None.

  TensorFlow's errors are recognised by class name (this module does not
  import TensorFlow) and by the operating system's message they carry.
  """
  text = str(error)
  code = getattr(error, "errno", None)
  names = _error_classes(error)
  if code == errno.ENOSPC or "No space left on device" in text:
    return "the disk is full"
  if (code in (errno.EROFS, errno.EACCES, errno.EPERM)
      or "PermissionDeniedError" in names
      or "Read-only file system" in text or "Permission denied" in text):
    return "a file cannot be written (read-only file system or no permission)"
  if names & {"UnavailableError", "DeadlineExceededError", "AbortedError"}:
    return "a worker was lost (a task of the cluster stopped answering)"
  return None


def _kept(model_dir):
  """What of `model_dir` survives: its last complete checkpoint, the newest the
  `checkpoint` state file lists (what a resume restores). A newer
  `model.ckpt-<step>.index` it does not list is the remains of a failed save
  (e.g. truncated by a full disk) and is not named."""
  if not model_dir:
    return ""
  try:
    steps = model_dir_lib.saved_checkpoint_steps(model_dir)
  except OSError:
    steps = []
  if not steps:
    return f" Nothing was kept: {model_dir} has no complete checkpoint yet."
  name = f"{model_dir_lib.CHECKPOINT_PREFIX}-{steps[-1]}"
  return (f" Kept: {model_dir_lib.join(model_dir, name)} (step {steps[-1]}), the "
          "last complete checkpoint; a checkpoint or file being written when it "
          "happened was not kept.")


def fault_message(what, error, model_dir=None):
  """One line: what happened, the system's own words, what was kept, the fix."""
  lines = str(error).strip().splitlines() or [type(error).__name__]
  detail = lines[0].strip().rstrip(".")[:300]
  return (f"{what[0].upper()}{what[1:]} ({detail}).{_kept(model_dir)} "
          "Fix the cause, then run the same command again: training and "
          "evaluation resume from what was kept.")


# The console command this process runs ("compare-gan2 singan sample"), set by
# compare_gan2/cli.py; None under `python -m`.
_program_name = None


def set_program_name(name):
  global _program_name  # pylint: disable=global-statement
  _program_name = name


def program_name(default):
  """The name error lines and usage give the program: the console command
  this process runs (compare_gan2/cli.py), else `default` (the entry point's
  own, e.g. "python -m compare_gan2.describe")."""
  return _program_name or default


@contextlib.contextmanager
def reported_as_one_line(program, model_dir=None):
  """Turns a UserError or an environment fault raised inside into
  `program: error: ...` and exit 1 (`program`: see program_name);
  `model_dir` names what was kept."""
  program = program_name(program)
  try:
    yield
  except UserError as e:
    print(f"{program}: error: {one_line(e)}", file=sys.stderr)
    raise SystemExit(1) from None
  except Exception as e:  # pylint: disable=broad-except
    what = environment_fault(e)
    if what is not None:
      message = fault_message(what, e, model_dir)
    elif isinstance(e, (ValueError, TypeError)) and _GIN_CALL.search(str(e)):
      message = (f"{one_line(e)} (raised by gin configurable "
                 f"'{_GIN_CALL.search(str(e)).group(1)}'; check its bindings)")
    else:
      raise
    print(f"{program}: error: {message}", file=sys.stderr)
    raise SystemExit(1) from None
