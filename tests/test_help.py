"""`--help` of every entry point: exit status 0, every flag it takes with help text.

One subprocess per entry point, run 3 at a time (module-scoped fixture). The
entry points that import TensorFlow at start-up are marked slow; the others
(main, the console script, s2gan, report, sweep) take about a second each. Which flags an
entry point takes is read from the source of the modules that define them
(`DEFINE_*("name"` / `add_argument("--name"`), so a new flag without help text,
or one the help leaves out, fails here.
"""

import concurrent.futures
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "compare_gan2")
CONSOLE_SCRIPT = os.path.join(os.path.dirname(sys.executable), "compare-gan2")

# Entry point -> (command after the interpreter, files defining its flags).
ENTRY_POINTS = {
    "compare_gan2.main": (["-m", "compare_gan2.main"], ["main.py"]),
    # `compare-gan2 --help` lists the commands (tests/test_front_door.py);
    # the training's flags are `compare-gan2 train --help`.
    "compare-gan2": ([CONSOLE_SCRIPT, "train"], ["main.py"]),
    "compare_gan2.sample": (["-m", "compare_gan2.sample"], ["sample.py"]),
    "compare_gan2.export": (["-m", "compare_gan2.export"], ["export/__main__.py"]),
    "compare_gan2.s2gan": (["-m", "compare_gan2.s2gan"],
                           ["s2gan/__main__.py", "main.py"]),
    "compare_gan2.report": (["-m", "compare_gan2.report"], ["report.py"]),
    "compare_gan2.evaluation.train_classifier": (
        ["-m", "compare_gan2.evaluation.train_classifier"],
        ["evaluation/train_classifier.py"]),
    "compare_gan2.sweep": (["-m", "compare_gan2.sweep"], ["sweep.py"]),
    "compare_gan2.describe": (["-m", "compare_gan2.describe"], ["describe.py"]),
    "compare_gan2.benchmark": (["-m", "compare_gan2.benchmark"], ["benchmark.py"]),
    "compare_gan2.import_checkpoint": (["-m", "compare_gan2.import_checkpoint"],
                                       ["import_checkpoint.py"]),
    "compare_gan2.singan": (["-m", "compare_gan2.singan"], ["singan/__main__.py"]),
    "compare_gan2.singan.sample": (["-m", "compare_gan2.singan.sample"],
                                   ["singan/sample.py"]),
    "compare_gan2.singan.export": (["-m", "compare_gan2.singan.export"],
                                   ["singan/export.py"]),
    "compare_gan2.singan.evaluate": (["-m", "compare_gan2.singan.evaluate"],
                                     ["singan/evaluate.py"]),
    "compare_gan2.singan.harmonize": (["-m", "compare_gan2.singan.harmonize"],
                                      ["singan/harmonize.py"]),
    "compare_gan2.singan.edit": (["-m", "compare_gan2.singan.edit"],
                                 ["singan/harmonize.py"]),
    "compare_gan2.clip": (["-m", "compare_gan2.clip"], ["clip/__main__.py"]),
    "compare_gan2.text2image": (["-m", "compare_gan2.text2image"],
                                ["text2image/__main__.py"]),
    "compare_gan2.text2image.sample": (["-m", "compare_gan2.text2image.sample"],
                                       ["text2image/sample.py"]),
    "compare_gan2.text2image.evaluate": (
        ["-m", "compare_gan2.text2image.evaluate"], ["text2image/evaluate.py"]),
    "compare_gan2.text2image.export": (["-m", "compare_gan2.text2image.export"],
                                       ["text2image/export.py"]),
}

_DEFINE = re.compile(r"DEFINE_\w+\(\s*\"(\w+)\"")
_ADD_ARGUMENT = re.compile(r"add_argument\(\s*\"(-{0,2}\w+)\"")
_NO_HELP = ("", "(no help available)")


def source_flags(files):
  """The flags the files define: [(name, positional)], names without dashes."""
  flags = []
  for name in files:
    with open(os.path.join(PACKAGE, name)) as f:
      text = f.read()
    found = [(n, False) for n in _DEFINE.findall(text)] + [
        (a.lstrip("-"), not a.startswith("-")) for a in _ADD_ARGUMENT.findall(text)]
    flags += [f for f in found if f not in flags]
  return flags


def flag_help(text, name, positional=False):
  """The help text of `name` in a --help output, "" if listed without help,
  None if not listed. Option lines are indented by two spaces in both formats:
  absl `  --name: help` / `  --[no]name: help`; argparse `  --name METAVAR  help`
  (the help maybe on the next, deeper indented line), and positionals
  `  name  help` under "positional arguments:"."""
  lines = text.splitlines()
  if positional:
    header = [i for i, l in enumerate(lines) if l.startswith("positional arguments")]
    if not header:
      return None
    lines = lines[header[0] + 1:]
    option = re.compile(r"^  " + re.escape(name) + r"(?=\s|$)(.*)$")
  else:
    option = re.compile(r"^  (?:-\S+,\s*)?--(?:\[no\])?" + re.escape(name) +
                        r"(?=[:\s,=]|$)(.*)$")
  for index, line in enumerate(lines):
    match = option.match(line)
    if not match:
      continue
    rest = match.group(1)
    if rest.startswith(":"):  # absl
      return rest[1:].strip()
    # argparse: an optional metavar (single spaces), then 2+ spaces and help.
    same_line = re.match(r"^(?: \S.*?)?\s{2,}(\S.*)$", rest)
    if same_line:
      return same_line.group(1).strip()
    if index + 1 < len(lines):
      following = re.match(r"^\s{3,}(\S.*)$", lines[index + 1])
      if following:
        return following.group(1).strip()
    return ""
  return None


def listed_flags(text):
  """Every flag name on an option line of a --help output."""
  return re.findall(r"^  (?:-\S+,\s*)?--(?:\[no\])?(\w+)(?=[:\s,=]|$)", text,
                    flags=re.MULTILINE)


def _run_help(name):
  command, _ = ENTRY_POINTS[name]
  if command[0] != "-m" and not os.path.exists(command[0]):
    return None
  argv = ([sys.executable] if command[0] == "-m" else []) + command + ["--help"]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  start = time.time()
  result = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300, check=False)
  return result, time.time() - start


@pytest.fixture(scope="module")
def helps(request):
  """{entry point: future of (CompletedProcess, seconds)} for the selected cases,
  at most 3 processes at once."""
  wanted = [item.callspec.params["name"] for item in request.session.items
            if item.module is request.module and hasattr(item, "callspec")
            and "name" in item.callspec.params]
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)
  futures = {name: pool.submit(_run_help, name) for name in dict.fromkeys(wanted)}
  yield futures
  pool.shutdown(wait=True)


def test_every_entry_point_is_listed():
  """Every module with a `__main__` block (and the console script) is tested."""
  modules = set()
  for dirpath, _, filenames in os.walk(PACKAGE):
    for f in filenames:
      if not f.endswith(".py"):
        continue
      with open(os.path.join(dirpath, f)) as source:
        if "if __name__ == \"__main__\":" not in source.read():
          continue
      module = os.path.relpath(os.path.join(dirpath, f), ROOT)[:-3].replace(
          os.sep, ".")
      modules.add(module[:-len(".__main__")] if module.endswith(".__main__")
                  else module)
  with open(os.path.join(ROOT, "setup.py")) as f:
    scripts = re.findall(r"\"([\w-]+)=compare_gan2", f.read())
  assert modules | set(scripts) == set(ENTRY_POINTS)


def test_flag_help_parser():
  absl = ("\nmod:\n  --[no]json: Print JSON.\n    (default: 'false')\n"
          "  --steps: \n    (default: '3')\n")
  assert flag_help(absl, "json") == "Print JSON."
  assert flag_help(absl, "steps") == ""
  assert flag_help(absl, "missing") is None
  argparse_text = ("usage: x [-h] [--root ROOT] sweep\n\npositional arguments:\n"
                   "  sweep            a file\n\noptions:\n"
                   "  -h, --help       show this help message and exit\n"
                   "  --root ROOT      the root\n  --gin_bindings BINDING [BINDING ...]\n"
                   "                   bindings\n  --steps STEPS\n  --json\n")
  assert flag_help(argparse_text, "sweep", positional=True) == "a file"
  assert flag_help(argparse_text, "sweep") is None
  assert flag_help(argparse_text, "help") == "show this help message and exit"
  assert flag_help(argparse_text, "root") == "the root"
  assert flag_help(argparse_text, "gin_bindings") == "bindings"
  assert flag_help(argparse_text, "steps") == ""
  assert flag_help(argparse_text, "json") == ""
  assert listed_flags(argparse_text) == ["help", "root", "gin_bindings", "steps",
                                         "json"]


# These import TensorFlow before parsing flags: 5-45 s each on a busy 2-core
# machine (about 100 s for the six, 3 at a time), so they run with the slow tests.
IMPORT_TENSORFLOW = ("compare_gan2.sample", "compare_gan2.export",
                     "compare_gan2.evaluation.train_classifier",
                     "compare_gan2.describe", "compare_gan2.benchmark",
                     "compare_gan2.import_checkpoint",
                     "compare_gan2.singan.export")


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in IMPORT_TENSORFLOW
    else name for name in ENTRY_POINTS])
def test_help_exits_0_and_lists_every_flag_with_help(helps, name):
  ran = helps[name].result()
  if ran is None:
    pytest.skip(f"{ENTRY_POINTS[name][0][0]} is not installed (pip install -e .).")
  result, seconds = ran
  print(f"{name} --help: {seconds:.1f} s")
  assert result.returncode == 0, result.stderr[-2000:]
  assert "Traceback" not in result.stderr, result.stderr[-2000:]
  text = result.stdout
  expected = source_flags(ENTRY_POINTS[name][1])
  assert expected, f"no flags found in {ENTRY_POINTS[name][1]}"
  missing = [n for n, positional in expected
             if flag_help(text, n, positional) is None]
  assert not missing, f"{name} --help does not list {missing}:\n{text}"
  no_help = [n for n, positional in set(expected) | {
      (n, False) for n in listed_flags(text)}
             if flag_help(text, n, positional) in _NO_HELP]
  assert not no_help, f"{name} --help: no help text for {no_help}:\n{text}"
