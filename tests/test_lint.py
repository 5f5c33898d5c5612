"""`make lint` as a test: ruff (ruff.toml) and mypy (mypy.ini) pass on the
package. Both run in subprocesses from the repository root, as `make lint`
runs them; mypy with a fresh cache directory (about 5 s)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args):
  return subprocess.run([sys.executable, "-m"] + args, cwd=ROOT,
                        capture_output=True, text=True, check=False)


def test_ruff_is_clean():
  pytest.importorskip("ruff", reason="the lint extra: pip install -e '.[lint]'")
  result = _run(["ruff", "check", "--no-cache", "compare_gan2"])
  assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean(tmp_path):
  pytest.importorskip("mypy", reason="the lint extra: pip install -e '.[lint]'")
  result = _run(["mypy", "--cache-dir", str(tmp_path / "mypy_cache")])
  assert result.returncode == 0, result.stdout + result.stderr
