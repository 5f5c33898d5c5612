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

`scores.jsonl` is the source of truth: a checkpoint counts as evaluated when it
has a line there. The CSV is derived from it, written after it, and rebuilt
from it when a crash came between the two writes (`ScoreFiles.repair`, run
whenever an evaluation starts). CSV rows whose step has no JSON line (written
by compare_gan, or by an older compare_gan2 that wrote the CSV first) are kept;
such a checkpoint is evaluated again and its row then replaced. Both files are
written atomically (compare_gan2/model_dir.py), so a reader (or a crash) never
sees a partial file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import csv
import io
import json
import math
import typing

import gin

from compare_gan2 import gin_setup
from compare_gan2 import model_dir as model_dir_lib

SCHEMA_VERSION = 1
_FIXED_COLUMNS = ("checkpoint_path", "step")

# One line of scores.jsonl (see the module docstring).
Record = dict[str, typing.Any]


def operative_gin_settings(model_dir: str, step: int) -> dict[str, str]:
  """Gin settings for a checkpoint at `step` (scopes kept): those of the
  operative config with the largest step <= `step`, else the current config."""
  path = model_dir_lib.latest_operative_config(model_dir, max_step=step)
  if path is not None:
    return gin_setup.parse_gin_config(model_dir_lib.read_text(path))
  return gin_setup.parse_gin_config(gin.config_str())


def _format(value: object) -> str:
  if isinstance(value, float):
    return "nan" if math.isnan(value) else repr(value)
  return str(value)


def _json_safe(value: object) -> object:
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def _csv_row(record: Mapping[str, typing.Any]) -> dict[str, str]:
  """The CSV row (column -> text) of one JSON record."""
  row = {"checkpoint_path": record["checkpoint_path"],
         "step": str(int(record["step"]))}
  row.update({k: "nan" if v is None else _format(v)
              for k, v in record["scores"].items()})
  row["eval_errors"] = "; ".join(
      f"{k}: {v}" for k, v in sorted((record.get("errors") or {}).items()))
  row.update({k: str(v) for k, v in (record.get("gin") or {}).items()})
  return row


def _csv_text(rows: Sequence[Mapping[str, str]]) -> str:
  """CSV text of `rows` with the union of their columns: the fixed ones, the
  sorted metrics, `eval_errors`, the sorted gin settings (names with a dot)."""
  metric_cols: set[str] = set()
  gin_cols: set[str] = set()
  for row in rows:
    for key in row:
      if key in _FIXED_COLUMNS or key == "eval_errors":
        continue
      (gin_cols if "." in key else metric_cols).add(key)
  columns = list(_FIXED_COLUMNS) + sorted(metric_cols) + ["eval_errors"] + \
      sorted(gin_cols)
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow(row)
  return out.getvalue()


class ScoreFiles:
  """The score files of one model_dir: `scores.jsonl` and the derived CSV."""

  def __init__(self, model_dir: str,
               score_filename: str = model_dir_lib.DEFAULT_SCORES_CSV):
    self.model_dir = model_dir
    self.csv_path = model_dir_lib.join(model_dir, score_filename)
    self.jsonl_path = model_dir_lib.join(model_dir, model_dir_lib.SCORES_JSONL)

  def read_records(self) -> list[Record]:
    """JSON records, one per evaluated checkpoint (in file order)."""
    text = model_dir_lib.read_text(self.jsonl_path) or ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]

  def read_csv_rows(self) -> list[dict[str, str]]:
    text = model_dir_lib.read_text(self.csv_path)
    return list(csv.DictReader(io.StringIO(text))) if text else []

  def evaluated_steps(self) -> set[int]:
    """Steps with a record in `scores.jsonl` (the source of truth)."""
    return {int(r["step"]) for r in self.read_records()}

  def _write_csv(self, records: Sequence[Record]) -> None:
    """Rewrites the CSV from `records`, keeping rows of steps they lack."""
    steps = {int(r["step"]) for r in records}
    foreign = [row for row in self.read_csv_rows()
               if not row.get("step") or int(row["step"]) not in steps]
    rows = foreign + [_csv_row(r) for r in records]
    model_dir_lib.atomic_write_text(self.csv_path, _csv_text(rows))

  def repair(self) -> list[int]:
    """Rebuilds the CSV if it misses a record of `scores.jsonl` (a crash came
    between the two writes); returns the steps it added."""
    records = self.read_records()
    in_csv = {row.get("step") for row in self.read_csv_rows()}
    missing = sorted(int(r["step"]) for r in records
                     if str(int(r["step"])) not in in_csv)
    if missing:
      self._write_csv(records)
    return missing

  def add(self, checkpoint_path: str, step: int, scores: Mapping[str, float | str],
          errors: Mapping[str, str] | None = None,
          gin_settings: Mapping[str, str] | None = None) -> Record:
    """Adds the results of one checkpoint: `scores.jsonl` first (the source of
    truth), then the CSV derived from it; each write is atomic."""
    if gin_settings is None:
      gin_settings = operative_gin_settings(self.model_dir, step)
    record = {
        "schema_version": SCHEMA_VERSION,
        "checkpoint_path": checkpoint_path,
        "step": int(step),
        "scores": {k: _json_safe(v) for k, v in sorted(scores.items())},
        "errors": errors or {},
        "gin": dict(sorted(gin_settings.items())),
    }
    records = [r for r in self.read_records() if int(r["step"]) != int(step)]
    records.append(record)
    model_dir_lib.atomic_write_text(
        self.jsonl_path, "".join(json.dumps(r) + "\n" for r in records))
    self._write_csv(records)
    return record
