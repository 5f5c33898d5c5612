"""Score files in model_dir: `<score_filename>` (CSV) and `scores.jsonl`.

One CSV row and one JSON line per evaluated checkpoint.

CSV columns: `checkpoint_path`, `step`, the sorted metric keys
(`<metric>_mean`, `_std`, `_list`), `eval_errors` (empty when none), then the
sorted operative gin settings of the run, one column per binding, named
`[scope/]configurable.parameter` -- scopes are KEPT (compare_gan's
`_parse_gin_config` dropped them, docs/compare_gan_quirks.md `gin-scopes`). The settings come from
`operative_config-<latest step <= checkpoint step>.gin` in model_dir (else from
the current gin config). Floats are written with `repr` precision; NaN as
`nan`. When a new row brings new columns, the whole file is rewritten with the
union of the columns.

JSON lines: `{"schema_version": 1, "checkpoint_path", "step", "scores": {key:
float or null for NaN}, "errors": {...}, "gin": {binding: value string}}`
(lines written before the schema version existed have no such key: version 0,
same fields).

Both files are rewritten in full to a temporary file and renamed into place,
so a reader (or a crash) never sees a partial file. `evaluated_steps()` reads
them back so that evaluation resumes and never evaluates a checkpoint twice.
"""

import csv
import io
import json
import math
import os
import re

from absl import logging
import gin
import tensorflow as tf

JSONL_FILENAME = "scores.jsonl"
SCHEMA_VERSION = 1
_FIXED_COLUMNS = ("checkpoint_path", "step")


def _atomic_write(path, text):
  tmp = f"{path}.tmp-{os.getpid()}"
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(text)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def parse_gin_config(text):
  """{"[scope/]configurable.param": value string} of a gin config text.

  Uses gin's own parser (multi-line values, comments); scopes are kept.
  Imports and macros are ignored.
  """
  from gin import config_parser  # pylint: disable=g-import-not-at-top
  result = {}

  class _Delegate(config_parser.ParserDelegate):
    def configurable_reference(self, scoped_name, evaluate):
      return "@" + scoped_name + ("()" if evaluate else "")

    def macro(self, name):
      return "%" + name

  try:
    parser = config_parser.ConfigParser(text, _Delegate())
    for statement in parser:
      if isinstance(statement, config_parser.BindingStatement):
        key = statement.selector + "." + statement.arg_name
        if statement.scope:
          key = statement.scope + "/" + key
        value = statement.value
        result[key] = value if isinstance(value, str) and value.startswith(
            ("@", "%")) else repr(value)
  except (SyntaxError, ValueError) as e:
    logging.warning("Could not parse gin config for the score file: %s", e)
  return result


def operative_gin_settings(model_dir, step):
  """Gin settings for a checkpoint at `step` (scopes kept)."""
  best = None
  pattern = re.compile(r"operative_config-(\d+)\.gin$")
  for name in tf.io.gfile.listdir(model_dir) if tf.io.gfile.exists(
      model_dir) else []:
    match = pattern.match(name)
    if match and int(match.group(1)) <= step and (
        best is None or int(match.group(1)) > best[0]):
      best = (int(match.group(1)), name)
  if best is not None:
    with tf.io.gfile.GFile(os.path.join(model_dir, best[1])) as f:
      return parse_gin_config(f.read())
  return parse_gin_config(gin.config_str())


def _format(value):
  if isinstance(value, float):
    return "nan" if math.isnan(value) else repr(value)
  return str(value)


def _json_safe(value):
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


class ScoreFiles:
  """The CSV and JSONL score files of one model_dir."""

  def __init__(self, model_dir, score_filename="scores.csv"):
    self.model_dir = model_dir
    self.csv_path = os.path.join(model_dir, score_filename)
    self.jsonl_path = os.path.join(model_dir, JSONL_FILENAME)

  def read_records(self):
    """JSON records, one per evaluated checkpoint (in file order)."""
    if not tf.io.gfile.exists(self.jsonl_path):
      return []
    records = []
    with tf.io.gfile.GFile(self.jsonl_path) as f:
      for line in f:
        line = line.strip()
        if line:
          records.append(json.loads(line))
    return records

  def read_csv_rows(self):
    if not tf.io.gfile.exists(self.csv_path):
      return []
    with tf.io.gfile.GFile(self.csv_path) as f:
      return list(csv.DictReader(io.StringIO(f.read())))

  def evaluated_steps(self):
    """Steps with results in either file."""
    steps = {int(r["step"]) for r in self.read_records()}
    steps |= {int(r["step"]) for r in self.read_csv_rows() if r.get("step")}
    return steps

  def add(self, checkpoint_path, step, scores, errors=None, gin_settings=None):
    """Adds the results of one checkpoint to both files (atomically each)."""
    if gin_settings is None:
      gin_settings = operative_gin_settings(self.model_dir, step)
    errors = errors or {}
    record = {
        "schema_version": SCHEMA_VERSION,
        "checkpoint_path": checkpoint_path,
        "step": int(step),
        "scores": {k: _json_safe(v) for k, v in sorted(scores.items())},
        "errors": errors,
        "gin": dict(sorted(gin_settings.items())),
    }
    # JSONL: previous lines + the new one.
    lines = []
    if tf.io.gfile.exists(self.jsonl_path):
      with tf.io.gfile.GFile(self.jsonl_path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    lines.append(json.dumps(record, sort_keys=False))
    # CSV: previous rows + the new one, with the union of the columns.
    rows = self.read_csv_rows()
    row = {"checkpoint_path": checkpoint_path, "step": str(int(step))}
    row.update({k: _format(v) for k, v in scores.items()})
    row["eval_errors"] = "; ".join(f"{k}: {v}" for k, v in sorted(
        errors.items()))
    row.update({k: str(v) for k, v in gin_settings.items()})
    rows.append(row)
    metric_cols, gin_cols = set(), set()
    for r in rows:
      for key in r:
        if key in _FIXED_COLUMNS or key == "eval_errors":
          continue
        (gin_cols if "." in key else metric_cols).add(key)
    columns = list(_FIXED_COLUMNS) + sorted(metric_cols) + ["eval_errors"] + \
        sorted(gin_cols)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="",
                            lineterminator="\n")
    writer.writeheader()
    for r in rows:
      writer.writerow(r)
    _atomic_write(self.csv_path, out.getvalue())
    _atomic_write(self.jsonl_path, "\n".join(lines) + "\n")
    return record
