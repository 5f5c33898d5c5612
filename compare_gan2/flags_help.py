"""`--help` of the absl entry points: exit status 0 and every flag they take.

absl's `--help` prints the flags of the main module only (`sys.argv[0]`), so the
console script `compare-gan2` (main module: the script wrapper) and
`python -m compare_gan2.s2gan` (which takes compare_gan2.main's flags) would list
none or few, and it exits with status 1. `run(main, doc, modules)` replaces
`app.run(main)`: `--help` / `-h` / `-?` / `--helpshort` print `doc` and the flags of
the main module and of `modules`, `--helpfull` adds absl's own flags; both exit 0.
This module imports absl only (no TensorFlow), so `--help` stays fast.
"""

import sys

SHORT_HELP_ARGS = ("--help", "-help", "-h", "-?", "--helpshort", "-helpshort")
FULL_HELP_ARGS = ("--helpfull", "-helpfull")
ABSL_NOTE = ("absl's logging flags (--logtostderr, --verbosity, ...) and "
             "--flagfile are accepted too; --helpfull lists them.")


def requested_help(argv):
  """"short", "full" or None: the help argv asks for (before a `--`)."""
  for arg in argv[1:]:
    if arg == "--":
      return None
    if arg in FULL_HELP_ARGS:
      return "full"
    if arg in SHORT_HELP_ARGS:
      return "short"
  return None


def help_text(doc, modules=(), full=False):
  """`doc` and the flags of the main module and `modules` (module names), each
  under its module's name; with `full`, every defined flag (absl's too)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  values = flags.FLAGS
  if full:
    listing = values.get_help()
  else:
    parts, seen = [], set()
    for module in (sys.argv[0],) + tuple(modules):
      if module in seen:
        continue
      seen.add(module)
      text = values.module_help(module)
      if text:
        parts.append(text)
    listing = "\n".join(parts) + "\n\n" + ABSL_NOTE
  return (doc or "").rstrip() + "\n\nflags:\n" + listing + "\n"


def run(main, doc, modules=()):
  """app.run(main), except that a help request prints help_text() to stdout and
  exits with status 0."""
  from absl import app  # pylint: disable=g-import-not-at-top
  wanted = requested_help(sys.argv)
  if wanted:
    sys.stdout.write(help_text(doc, modules, full=wanted == "full"))
    sys.exit(0)
  app.run(main)
