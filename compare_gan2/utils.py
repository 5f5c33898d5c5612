"""Small helpers shared across compare_gan2 (compare_gan's `utils.py`)."""

import inspect

import numpy as np


def _accepted_args(fn):
  """Returns (set of accepted keyword names, accepts_any_keyword).

  `inspect.signature` unwraps `functools.partial` (dropping arguments bound
  positionally) and follows `__wrapped__` chains such as gin's wrappers.
  """
  signature = inspect.signature(fn, follow_wrapped=True)
  names = set()
  for name, param in signature.parameters.items():
    if param.kind == inspect.Parameter.VAR_KEYWORD:
      return names, True
    if param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                      inspect.Parameter.KEYWORD_ONLY):
      names.add(name)
  return names, False


def call_with_accepted_args(fn, **kwargs):
  """Calls `fn` with only those keyword arguments that it accepts.

  `functools.partial` objects and decorated functions exposing `__wrapped__`
  (for example gin configurables) are unwrapped to inspect the real signature.
  A `**kwargs` parameter accepts every argument.
  """
  names, accepts_all = _accepted_args(fn)
  if not accepts_all:
    kwargs = {k: v for k, v in kwargs.items() if k in names}
  return fn(**kwargs)


def _name(variable):
  name = getattr(variable, "name", str(variable))
  return name[:-2] if name.endswith(":0") else name


def count_parameters(variables):
  """Total number of scalar entries in `variables`."""
  return int(sum(int(np.prod(v.shape.as_list())) for v in variables))


def get_parameter_overview(variables, limit=None):
  """Returns a text table (name, shape, size) of `variables` with a total line.

  Args:
    variables: iterable of tf.Variable (or anything with `.name` and `.shape`).
    limit: show at most this many rows (None: all); the total always counts all.
  """
  variables = list(variables)
  rows = [(_name(v), str(v.shape.as_list()),
           "{:,}".format(int(np.prod(v.shape.as_list())))) for v in variables]
  shown = rows if limit is None else rows[:limit]
  header = ("Name", "Shape", "Size")
  widths = [max([len(header[i])] + [len(r[i]) for r in shown]) for i in range(3)]
  sep = "+-" + "-+-".join("-" * w for w in widths) + "-+"

  def fmt(row):
    return ("| " + " | ".join(
        c.ljust(w) if i < 2 else c.rjust(w)
        for i, (c, w) in enumerate(zip(row, widths))) + " |")

  lines = [sep, fmt(header), sep] + [fmt(r) for r in shown]
  if len(shown) < len(rows):
    lines.append("| ... {} more rows".format(len(rows) - len(shown)))
  lines.append(sep)
  lines.append("Total: {:,}".format(count_parameters(variables)))
  return "\n".join(lines)


def log_parameter_overview(variables, msg=None, limit=None):
  """Logs `get_parameter_overview(variables)` (absl logging)."""
  from absl import logging  # pylint: disable=g-import-not-at-top
  table = get_parameter_overview(variables, limit=limit)
  if msg:
    logging.info(msg)
  for line in table.split("\n"):
    logging.info(line)
