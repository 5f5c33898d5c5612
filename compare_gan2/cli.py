"""`compare-gan2 COMMAND [flags]`: one console command for every entry point.

  compare-gan2 --help                       the commands, one line each
  compare-gan2 COMMAND --help               that command's flags
  compare-gan2 train --model_dir=D --gin_config=F
  compare-gan2 singan sample --model_dir=D --out=F.png

A command runs its module exactly as `python -m <module> [flags]` does (the
table below; `compare-gan2 train` and the flat form call compare_gan2.main's
console entry, as the console script always did), with sys.argv[0] set to
"compare-gan2 COMMAND", so its --help and its one-line errors name the command;
its flags and behaviour are the module's own. The `python -m` forms keep
working.

`compare-gan2 --model_dir ... --gin_config ...` (first argument a flag) is the
training, as before commands existed (`compare-gan2 train`). A family with
subcommands (`singan`, `text2image`) needs one: `compare-gan2 singan` lists them;
`compare-gan2 singan --image ...` is refused with that list rather than
guessed (`python -m compare_gan2.singan` still trains).

Printing the table imports neither TensorFlow nor any command's module. The
console is quieted (compare_gan2/console.py) before the command's module is
imported. No shell completion: argparse has none without the argcomplete
package, and the commands' absl flags none at all.
"""

import collections
import difflib
import importlib
import importlib.util
import sys
import textwrap
import types

from compare_gan2 import console

PROGRAM = "compare-gan2"
HELP_ARGS = ("--help", "-help", "-h", "-?")

# A command: `target` is a module run as `python -m` runs it, or
# "module:function" called with the command's arguments in sys.argv[1:];
# `args` go before the user's (absl: the user's later flag wins).
Command = collections.namedtuple("Command", "name target summary args",
                                 defaults=((),))
Group = collections.namedtuple("Group", "name summary commands")

FAMILIES = (
    ("GANs from gin configs (compare_gan's: BigGAN, SS-GAN, S3GAN, ...)", (
        Command("train", "compare_gan2.main:run",
                "Train a GAN from gin configs (or --schedule=...)."),
        Command("evaluate", "compare_gan2.main:run",
                "Score a run's checkpoints (FID, IS, ...) as they come.",
                ("--schedule=continuous_eval",)),
        Command("sample", "compare_gan2.sample",
                "A PNG grid of samples from a checkpoint."),
        Command("export", "compare_gan2.export",
                "Export a checkpoint as a TF Hub module."),
        Command("describe", "compare_gan2.describe",
                "Parameter tables of a config's G and D; gin names."),
        Command("import-checkpoint", "compare_gan2.import_checkpoint",
                "Convert a compare_gan (TF1) checkpoint."),
        Command("benchmark", "compare_gan2.benchmark",
                "Step time, FLOPs and memory of a config's training."),
        Command("train-classifier", "compare_gan2.evaluation.train_classifier",
                "Train an embedded dataset's evaluation classifier."),
    )),
    ("Experiments", (
        Command("sweep", "compare_gan2.sweep",
                "Run a grid of trainings (sweep.json), one process each."),
        Command("report", "compare_gan2.report",
                "Tables and plots from many runs' scores."),
    )),
    ("S2GAN / CLUSTERING", (
        Command("s2gan", "compare_gan2.s2gan",
                "Run an S2GAN / CLUSTERING pipeline, stage by stage."),
    )),
    ("Single-image GANs (ConSinGAN)", (
        Group("singan", "ConSinGAN on one picture", (
            Command("train", "compare_gan2.singan",
                    "Train ConSinGAN on one picture."),
            Command("sample", "compare_gan2.singan.sample",
                    "A PNG grid of samples, any size and aspect ratio."),
            Command("harmonize", "compare_gan2.singan.harmonize",
                    "Blend an object pasted into the picture."),
            Command("edit", "compare_gan2.singan.edit",
                    "Turn a roughly edited picture into a realistic one."),
            Command("evaluate", "compare_gan2.singan.evaluate",
                    "Diversity and patch FID (SIFID) into scores.json."),
            Command("export", "compare_gan2.singan.export",
                    "Export a model as a TF2 Hub module (SavedModel)."),
        )),
    )),
    ("Text to image (StyleGAN-T's recipe)", (
        Command("clip", "compare_gan2.clip",
                "Pre-train the offline text-image encoder pair."),
        Group("text2image", "text-to-image GANs", (
            Command("train", "compare_gan2.text2image",
                    "Train a text-to-image GAN (against a clip pair)."),
            Command("sample", "compare_gan2.text2image.sample",
                    "A PNG grid of samples for a list of prompts."),
            Command("evaluate", "compare_gan2.text2image.evaluate",
                    "FID, CLIP score, accuracies into t2i_scores.json."),
            Command("export", "compare_gan2.text2image.export",
                    "Export a model as a TF2 Hub module (SavedModel)."),
        )),
    )),
)

TOP = {c.name: c for _, commands in FAMILIES for c in commands}


def command_names():
  """Every command as typed: "train", ..., "singan sample", ..."""
  names = []
  for _, commands in FAMILIES:
    for entry in commands:
      if isinstance(entry, Group):
        names += [f"{entry.name} {c.name}" for c in entry.commands]
      else:
        names.append(entry.name)
  return names


def _lines(commands, prefix=""):
  rows = []
  for entry in commands:
    if isinstance(entry, Group):
      rows += _lines(entry.commands, prefix=f"{entry.name} ")
    else:
      rows.append((prefix + entry.name, entry.summary))
  return rows


def help_text():
  """`compare-gan2 --help`: every command with one line, by family."""
  width = max(len(name) for name in command_names()) + 2
  out = [f"usage: {PROGRAM} COMMAND [flags]   ({PROGRAM} COMMAND --help: "
         "its flags)", ""]
  for family, commands in FAMILIES:
    out.append(f"{family}:")
    out += [f"  {name:<{width}}{summary}" for name, summary in _lines(commands)]
    out.append("")
  out.append(textwrap.fill(
      f"{PROGRAM} --model_dir=D --gin_config=F [flags] trains, as {PROGRAM} "
      f"train does; {PROGRAM} train --help lists the training flags. Each "
      "command is also python -m <module> (docs/commands.md). TensorFlow's "
      f"start-up lines are hidden: {console.VERBOSE_ENV}=1 shows them.",
      width=79))
  return "\n".join(out) + "\n"


def group_help(group):
  width = max(len(c.name) for c in group.commands) + 2
  out = [f"usage: {PROGRAM} {group.name} COMMAND [flags]   ({group.summary})",
         ""]
  out += [f"  {c.name:<{width}}{c.summary}" for c in group.commands]
  out += ["", f"{PROGRAM} {group.name} COMMAND --help lists its flags."]
  return "\n".join(out) + "\n"


def suggestions(word, names):
  """The names closest to `word`; a two-word name also matches by its last
  word ("harmonize" -> "singan harmonize")."""
  by_key = collections.OrderedDict()
  for name in names:
    for key in (name, name.split()[-1]):
      by_key.setdefault(key, [])
      if name not in by_key[key]:
        by_key[key].append(name)
  found = []
  for key in difflib.get_close_matches(word, list(by_key), n=4, cutoff=0.6):
    found += [name for name in by_key[key] if name not in found]
  return found[:4]


def _unknown(program, kind, word, names, listing):
  close = suggestions(word, names)
  hint = f"closest: {', '.join(close)}; " if close else ""
  sys.stderr.write(f"{program}: error: unknown {kind} '{word}' ({hint}"
                   f"{listing} lists them all)\n")
  return 2


def run_module_as_main(module):
  """Runs `module` (a package: its __main__) as `python -m module` does:
  as the module __main__, sys.argv as it is."""
  spec = importlib.util.find_spec(module)
  if spec is None:
    raise ImportError(f"No module named {module}")
  if spec.submodule_search_locations is not None:
    module += ".__main__"
    spec = importlib.util.find_spec(module)
  code = spec.loader.get_code(module)
  main = types.ModuleType("__main__")
  main.__dict__.update(__file__=spec.origin, __cached__=spec.cached,
                       __loader__=spec.loader, __package__=spec.parent,
                       __spec__=spec, __builtins__=__builtins__)
  saved = sys.modules.get("__main__")
  sys.modules["__main__"] = main
  try:
    exec(code, main.__dict__)  # pylint: disable=exec-used
  finally:
    sys.modules["__main__"] = saved


def run_command(command, program, args):
  """Runs `command` with sys.argv = [program, *command.args, *args]."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors  # No TensorFlow.
  # pylint: enable=g-import-not-at-top
  argv = [program, *command.args, *args]
  console.quiet(argv[1:])
  errors.set_program_name(program)
  if command.args and any(a in HELP_ARGS for a in args):
    print(f"{program} is `{PROGRAM} train {' '.join(command.args)}`; "
          "the training's flags:\n")
  sys.argv = argv
  module, _, function = command.target.partition(":")
  if function:
    getattr(importlib.import_module(module), function)()
  else:
    run_module_as_main(module)
  return 0


def main(argv=None):
  """`compare-gan2 [COMMAND] [args]`; returns the exit status (a command
  usually exits itself)."""
  args = sys.argv[1:] if argv is None else list(argv)
  if not args:
    sys.stderr.write(help_text())
    return 2
  first, rest = args[0], args[1:]
  if first in HELP_ARGS:
    sys.stdout.write(help_text())
    return 0
  if first.startswith("-"):  # The flat form: training, as before commands.
    return run_command(TOP["train"], PROGRAM, args)
  entry = TOP.get(first)
  if entry is None:
    return _unknown(PROGRAM, "command", first, command_names(),
                    f"{PROGRAM} --help")
  if isinstance(entry, Command):
    return run_command(entry, f"{PROGRAM} {first}", rest)
  program = f"{PROGRAM} {entry.name}"
  if not rest:
    sys.stderr.write(group_help(entry))
    return 2
  if rest[0] in HELP_ARGS:
    sys.stdout.write(group_help(entry))
    return 0
  names = [c.name for c in entry.commands]
  if rest[0].startswith("-"):
    sys.stderr.write(
        f"{program}: error: choose a command first: {', '.join(names)} "
        f"(e.g. `{program} {names[0]} {' '.join(rest[:1])} ...`; "
        f"{program} --help lists them)\n")
    return 2
  sub = {c.name: c for c in entry.commands}.get(rest[0])
  if sub is None:
    return _unknown(program, "command", rest[0], names, f"{program} --help")
  return run_command(sub, f"{program} {sub.name}", rest[1:])


def run():
  """The console script `compare-gan2`."""
  sys.exit(main())
