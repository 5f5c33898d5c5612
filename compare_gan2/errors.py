"""User errors: mistakes in the configuration or command line, not bugs.

Every error a user can fix (a misspelt gin name, an unknown dataset, a bad
`options` value, a missing or damaged checkpoint, ...) is a `UserError` whose
message names the problem and the fix. The entry points (`compare-gan2`,
`python -m compare_gan2.export`, `python -m compare_gan2.describe`) print it
as one line, `<program>: error: <message>`, and exit with status 1; any other
exception is a bug and keeps its traceback.
"""

import contextlib
import sys


class UserError(Exception):
  """A problem the user can fix; the message says how."""


class ConfigError(UserError, ValueError):
  """A gin setting or flag value compare_gan2 cannot use."""


def one_line(error):
  """The error's message on one line, without the "In call to configurable"
  context gin appends to exceptions raised inside configurables."""
  lines = [line.strip() for line in str(error).splitlines()
           if not line.strip().startswith("In call to configurable")]
  return " ".join(line for line in lines if line)


@contextlib.contextmanager
def reported_as_one_line(program):
  """Turns a UserError raised inside into `program: error: ...` and exit 1."""
  try:
    yield
  except UserError as e:
    print(f"{program}: error: {one_line(e)}", file=sys.stderr)
    raise SystemExit(1) from None
