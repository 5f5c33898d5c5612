"""README.md and docs/: links resolve, commands exist, the README stays short.

Fast and without TensorFlow: reads the Markdown files, compare_gan2.cli's
command table (which imports no command module) and the flag definitions in
the commands' sources (tests/test_help.py's reader). That every command's
`--help` exits 0 is tests/test_front_door.py's (one subprocess for all of
them); here the README's commands must be names of that table, and their
flags flags the command defines.

Links: every relative link and image in README.md, docs/*.md and
experiments/results/*/README.md names an existing file or directory, and a
`#anchor` names a heading of the target (GitHub's slugs: lower case,
punctuation but `-` and `_` dropped, spaces to `-`, `-1`, `-2`, ... for
repeats). Code blocks and code spans are not read for links.
"""

import collections
import glob
import os
import re
import shlex
import urllib.parse

import pytest

import test_help
from compare_gan2 import cli

ROOT = test_help.ROOT
README = os.path.join(ROOT, "README.md")
MAX_README_LINES = 250


def _docs():
  return sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def _pages():
  return ([README] + _docs() +
          sorted(glob.glob(os.path.join(ROOT, "experiments", "results", "*",
                                        "README.md"))))


def _read(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


def _rel(path):
  return os.path.relpath(path, ROOT)


_FENCE = re.compile(r"^\s*(```|~~~)")


def _split_code(text):
  """(prose lines, code blocks): fenced blocks out of the prose, each block
  as its text."""
  prose, blocks, block = [], [], None
  for line in text.split("\n"):
    if _FENCE.match(line):
      if block is None:
        block = []
      else:
        blocks.append("\n".join(block))
        block = None
      continue
    if block is None:
      prose.append(line)
    else:
      block.append(line)
  return prose, blocks


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _code_spans(lines):
  return [m.group(2) for line in lines for m in _CODE_SPAN.finditer(line)]


def _without_code_spans(line):
  return _CODE_SPAN.sub("", line)


def slug(heading):
  """GitHub's anchor of a heading's text."""
  text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: text
  text = re.sub(r"<[^>]+>", "", text).strip().lower()
  text = "".join(c for c in text if c.isalnum() or c in "-_ ")
  return text.replace(" ", "-")


def anchors(path):
  """Every heading anchor of a Markdown file (repeats numbered as GitHub)."""
  prose, _ = _split_code(_read(path))
  seen, found = collections.Counter(), set()
  for line in prose:
    m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
    if not m:
      continue
    base = slug(m.group(1))
    found.add(base if not seen[base] else f"{base}-{seen[base]}")
    seen[base] += 1
  return found


_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", re.I)


def links(path):
  """The link and image targets of a Markdown file, code excluded."""
  prose, _ = _split_code(_read(path))
  targets = []
  for line in prose:
    line = _without_code_spans(line)
    targets += _LINK.findall(line) + _HTML_SRC.findall(line)
  return targets


def _is_external(target):
  return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I))


def broken_links(path):
  problems = []
  for target in links(path):
    if _is_external(target):
      continue
    file_part, _, fragment = target.partition("#")
    file_part = urllib.parse.unquote(file_part)
    dest = (path if not file_part else
            os.path.normpath(os.path.join(os.path.dirname(path), file_part)))
    if not os.path.exists(dest):
      problems.append(f"{_rel(path)}: {target} (no {_rel(dest)})")
    elif fragment and dest.endswith(".md"):
      if urllib.parse.unquote(fragment).lower() not in anchors(dest):
        problems.append(f"{_rel(path)}: {target} (no heading #{fragment} in "
                        f"{_rel(dest)})")
  return problems


def test_slug_is_githubs():
  assert slug("Fewer labels on `polygons_32`: a negative control") == (
      "fewer-labels-on-polygons_32-a-negative-control")
  assert slug("S2GAN and CLUSTERING: `python -m compare_gan2.s2gan`") == (
      "s2gan-and-clustering-python--m-compare_gan2s2gan")
  assert slug("DiffAugment — `compare_gan2/augmentation/diffaugment.py`") == (
      "diffaugment--compare_gan2augmentationdiffaugmentpy")
  assert slug("Text to image: StyleGAN-T's recipe") == (
      "text-to-image-stylegan-ts-recipe")


def test_link_reader_skips_code(tmp_path):
  page = tmp_path / "page.md"
  page.write_text("# Title\n\nSee [a](missing.md) and `[b](in_code.md)`.\n"
                  "```\n[c](in_block.md)\n```\n![img](pic.png) [d](#title) "
                  "[e](#nope) [f](https://example.com/x)\n")
  (tmp_path / "pic.png").write_bytes(b"")
  assert links(str(page)) == ["missing.md", "pic.png", "#title", "#nope",
                              "https://example.com/x"]
  problems = broken_links(str(page))
  assert len(problems) == 2
  assert "missing.md" in problems[0] and "#nope" in problems[1]


@pytest.mark.parametrize("path", _pages(), ids=_rel)
def test_every_relative_link_and_image_resolves(path):
  assert not broken_links(path), "\n".join(broken_links(path))


def test_readme_is_a_front_page():
  lines = _read(README).split("\n")
  if lines and lines[-1] == "":
    lines.pop()
  assert len(lines) <= MAX_README_LINES, (
      f"README.md has {len(lines)} lines (at most {MAX_README_LINES}); move "
      "details to docs/")


def _commands_shown(text):
  """[(command, [flag names])] for every `compare-gan2 ...` in the code of a
  Markdown text: blocks (continuation lines joined) and code spans."""
  prose, blocks = _split_code(text)
  snippets = _code_spans(prose)
  for block in blocks:
    snippets += block.replace("\\\n", " ").split("\n")
  shown = []
  for snippet in snippets:
    for m in re.finditer(r"(?:^|[\s/;(])compare-gan2((?:\s+[^\s]+)*)", snippet):
      rest = m.group(1).split("#")[0]
      try:
        words = shlex.split(rest)
      except ValueError:
        words = rest.split()
      # The command: the words before the first flag (at most two).
      command = []
      for word in words:
        if word.startswith("-") or len(command) == 2:
          break
        command.append(word)
      flags = [w[2:].split("=")[0] for w in words
               if w.startswith("--") and len(w) > 2]
      shown.append((" ".join(command), flags))
  return shown


def _resolve(command):
  """The command name of the table a shown command is (longest match), or
  None. "" (the flat form) is training."""
  names = set(cli.command_names())
  if not command:
    return "train"
  words = command.split()
  for n in (2, 1):
    if " ".join(words[:n]) in names:
      return " ".join(words[:n])
  return None


def _targets():
  """Command name -> module it runs."""
  found = {}
  for _, commands in cli.FAMILIES:
    for entry in commands:
      if isinstance(entry, cli.Group):
        for c in entry.commands:
          found[f"{entry.name} {c.name}"] = c.target.split(":")[0]
      else:
        found[entry.name] = entry.target.split(":")[0]
  return found


ABSL_FLAGS = {"help", "helpshort", "helpfull", "helpxml", "verbosity",
              "flagfile"}


def test_commands_shown_are_parsed():
  shown = _commands_shown(
      "```bash\ncompare-gan2 singan sample --model_dir=D \\\n    --out=s.png  "
      "# comment --no\n.venv/bin/compare-gan2 --model_dir=D\n```\n"
      "and `compare-gan2 describe --list_configurables`\n")
  assert shown == [("describe", ["list_configurables"]),
                   ("singan sample", ["model_dir", "out"]),
                   ("", ["model_dir"])]
  assert _resolve("singan sample") == "singan sample"
  assert _resolve("singan samples") is None
  assert _resolve("") == "train"


def test_every_readme_command_exists_with_its_flags():
  shown = _commands_shown(_read(README))
  names = {c for c, _ in shown}
  # The README shows every family's train -> sample -> evaluate -> export.
  for expected in ("train", "sample", "evaluate", "export", "s2gan",
                   "singan train", "singan sample", "singan evaluate",
                   "singan export", "clip", "text2image train",
                   "text2image sample", "text2image evaluate",
                   "text2image export"):
    assert expected in names, expected
  targets = _targets()
  problems = []
  for command, flags in shown:
    name = _resolve(command)
    if name is None or (command and name != command):
      problems.append(f"compare-gan2 {command}: not a command "
                      f"(compare-gan2 --help lists them)")
      continue
    files = test_help.ENTRY_POINTS[targets[name]][1]
    defined = {n for n, _ in test_help.source_flags(files)} | ABSL_FLAGS
    problems += [f"compare-gan2 {command} --{f}: no such flag"
                 for f in flags if f not in defined]
  assert not problems, "\n".join(problems)


def test_every_command_in_the_docs_exists():
  groups = {name for name, entry in cli.TOP.items()
            if isinstance(entry, cli.Group)}
  problems = []
  for path in _docs():
    for command, _ in _commands_shown(_read(path)):
      if (not command or _resolve(command) == command or command in groups or
          command.split()[0].isupper()):  # a family alone lists its commands;
        continue                          # "compare-gan2 COMMAND": a placeholder
      problems.append(f"{_rel(path)}: compare-gan2 {command}")
  assert not problems, "\n".join(problems)


def _make_targets():
  targets, pending, seen = set(), ["Makefile"], set()
  while pending:
    name = pending.pop()
    if name in seen:
      continue
    seen.add(name)
    for line in _read(os.path.join(ROOT, name)).split("\n"):
      m = re.match(r"^([A-Za-z0-9_.-]+(?:\s+[A-Za-z0-9_.-]+)*)\s*:(?!=)", line)
      if m:
        targets.update(m.group(1).split())
      m = re.match(r"^-?include\s+(.+)$", line)
      if m:
        pending += m.group(1).split()
  return targets


def _code(path):
  prose, blocks = _split_code(_read(path))
  return _code_spans(prose) + blocks


def test_every_make_target_named_exists():
  targets = _make_targets()
  assert {"demo", "test", "setup"} <= targets
  problems = []
  for path in [README] + _docs():
    for code in _code(path):
      for m in re.finditer(r"(?:^|[\s;&(])make\s+((?:[A-Za-z_][\w.-]*=\S*\s+)*)"
                           r"([a-z][\w-]*)", code):
        if m.group(2) not in targets:
          problems.append(f"{_rel(path)}: make {m.group(2)}")
  assert not problems, "\n".join(problems)


def _module_exists(module):
  """`python -m module` has a file to run (no import)."""
  base = os.path.join(ROOT, *module.split("."))
  return (os.path.isfile(base + ".py") or
          os.path.isfile(os.path.join(base, "__main__.py")))


def test_every_python_m_module_named_exists():
  problems = []
  for path in [README] + _docs():
    for m in re.finditer(r"python3?\s+-m\s+(compare_gan2(?:\.\w+)*)",
                         _read(path)):
      if m.group(1).split(".")[-1].isupper():
        continue  # "python -m compare_gan2.X": a placeholder
      if not _module_exists(m.group(1)):
        problems.append(f"{_rel(path)}: python -m {m.group(1)}")
  assert not problems, "\n".join(problems)
