"""Gin wiring: registers every configurable and parses configs with clear errors.

`gin.tf.external_configurables` (which compare_gan imported to make
`@tf.train.AdamOptimizer` and `@tf.random.normal` resolve) subclasses
`tf.estimator.SessionRunHook` and cannot be imported on TF >= 2.16. We register the
TF names that compare_gan configs use ourselves, pointing at our TF1-semantics
optimizers and stateless random functions.
"""

import importlib
import os
import tokenize

from absl import logging
import gin
from gin import config_parser

from compare_gan2 import errors

# Modules whose import registers gin configurables.
_CONFIGURABLE_MODULES = (
    "compare_gan2.architectures",
    "compare_gan2.gans",
    "compare_gan2.datasets",
    "compare_gan2.builder",
    "compare_gan2.metrics",
    "compare_gan2.evaluation",
    "compare_gan2.export",
    "compare_gan2.s2gan.pipeline",
    "compare_gan2.singan.training",
    "compare_gan2.clip.encoders",
    "compare_gan2.clip.pretraining",
    "compare_gan2.text2image.gan",
    "compare_gan2.text2image.networks",
)

# Names in compare_gan2.optimizers / compare_gan2.random_ops (imported when
# registered, so that importing this module does not load TensorFlow).
_TF_OPTIMIZERS = ("AdamOptimizer", "GradientDescentOptimizer",
                  "MomentumOptimizer", "RMSPropOptimizer")

_TF_RANDOM = {
    ("tf.random", "normal"): "normal",
    ("tf.random", "uniform"): "uniform",
    ("tf.random", "truncated_normal"): "truncated_normal",
    ("tf", "random_normal"): "normal",
    ("tf", "random_uniform"): "uniform",
    ("tf", "truncated_normal"): "truncated_normal",
}

_registered = False


def register_tf_configurables():
  """Registers `tf.train.*Optimizer` and `tf.random.*` under their TF1 names."""
  global _registered
  if _registered:
    return
  from compare_gan2 import optimizers  # pylint: disable=g-import-not-at-top
  from compare_gan2 import random_ops  # pylint: disable=g-import-not-at-top
  for module in ("tf.train", "tf.compat.v1.train"):
    for name in _TF_OPTIMIZERS:
      gin.external_configurable(getattr(optimizers, name), name=name,
                                module=module)
  for (module, name), fn_name in _TF_RANDOM.items():
    gin.external_configurable(getattr(random_ops, fn_name), name=name,
                              module=module)
  _registered = True


def register_all():
  """Imports every module that defines configurables (idempotent)."""
  register_tf_configurables()
  for module in _CONFIGURABLE_MODULES:
    importlib.import_module(module)


class GinConfigError(errors.ConfigError):
  """A gin file or binding names something compare_gan2 does not have."""


def is_bound(name):
  """True if the gin parameter `name` ("selector.param") has a binding."""
  try:
    gin.query_parameter(name)
    return True
  except ValueError:
    return False


def parse(config_files=(), bindings=(), finalize=True):
  """Parses gin files and bindings; unknown names fail before any work is done.

  Raises:
    GinConfigError: with gin's message (which names the file and line) and a hint.
  """
  register_all()
  for path in config_files:
    if not os.path.exists(path):
      raise GinConfigError(
          f"Gin config file not found: {path!r}. Pass an existing file to "
          "--gin_config (the shipped ones are in gin_configs/).")
  check_binding_syntax(bindings)
  try:
    gin.parse_config_files_and_bindings(
        list(config_files), list(bindings), skip_unknown=False,
        finalize_config=finalize)
  except (ValueError, KeyError, SyntaxError, TypeError, tokenize.TokenError) as e:
    raise GinConfigError(_describe_parse_error(e, config_files)) from e


class _SyntaxOnly(config_parser.ParserDelegate):
  """Parses references and macros without resolving them (syntax only)."""

  def configurable_reference(self, scoped_name, evaluate):
    return None

  def macro(self, name):
    return None


def check_binding_syntax(bindings):
  """GinConfigError naming the binding, for a `--gin_bindings` value gin
  cannot parse (`options.batch_size = (4`, an unclosed string, ...): gin
  would report it as an error of the gin files parsed before it."""
  for binding in bindings:
    try:
      for _ in config_parser.ConfigParser(binding, _SyntaxOnly()):
        pass
    except (SyntaxError, tokenize.TokenError, ValueError) as e:
      raise GinConfigError(
          f"Gin binding `{binding.strip()}` (--gin_bindings) cannot be parsed: "
          f"{_syntax_reason(e)}. {_SYNTAX_HINT}") from e


_SYNTAX_HINT = ("A binding is `configurable.parameter = value`, the value a "
                "Python literal (numbers, \"quoted text\", [lists], (tuples), "
                "True/None), an @configurable reference or a %MACRO.")


def _syntax_reason(error):
  """gin's reason of a syntax error, without its location."""
  reason = (error.msg if isinstance(error, SyntaxError) else
            error.args[0] if error.args else type(error).__name__)
  return str(reason).rstrip(".")


def _describe_parse_error(error, config_files):
  """gin's parse error as: the binding, where it is, gin's reason, the hint."""
  import re  # pylint: disable=g-import-not-at-top
  lines = [line for line in str(error).splitlines() if line.strip()]
  reason = lines[0].strip() if lines else type(error).__name__
  syntax = isinstance(error, (SyntaxError, tokenize.TokenError))
  if syntax:
    reason = f"cannot be parsed: {_syntax_reason(error)}."
  binding, where = None, None
  if isinstance(error, SyntaxError) and error.filename:  # A gin file's syntax.
    lines = [f'In file "{error.filename}", line {error.lineno}',
             (error.text or "").strip()] + lines
  for k, line in enumerate(lines):
    in_file = re.search(r'In file "(.+)", line (\d+)', line)
    in_bindings = re.search(r"In bindings string line (\d+)", line)
    if in_file or in_bindings:
      where = (f"{in_file.group(1)}, line {in_file.group(2)}" if in_file
               else "--gin_bindings")
      binding = lines[k + 1].strip() if k + 1 < len(lines) else None
      break
  if where is None:
    where = ", ".join(config_files) if config_files else "--gin_bindings"
  listing = "python -m compare_gan2.describe --list_configurables"
  known = re.match(r"Configurable '([\w./]+)' doesn't have a parameter", reason)
  if known:  # The configurable exists: list its parameters.
    listing += " " + known.group(1).split("/")[-1]
  subject = f"Gin binding `{binding}`" if binding else "The gin configuration"
  if syntax:
    return f"{subject} ({where}) {reason} {_SYNTAX_HINT}"
  return (f"{subject} ({where}): {reason} Check the spelling of the "
          f"configurable and parameter names; `{listing}` lists what exists.")


def parse_gin_config(text):
  """{"[scope/]configurable.param": value string} of a gin config text.

  Uses gin's own parser (multi-line values, comments); scopes are kept
  (compare_gan's `_parse_gin_config` in compare_gan/runner_lib.py dropped them).
  Imports and macros are kept as written ("@name", "%NAME").
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
    logging.warning("Could not parse a gin config: %s", e)
  return result


def _parameters(configurable):
  """[(name, default text)] of a configurable's gin-settable parameters."""
  import inspect  # pylint: disable=g-import-not-at-top
  fn = configurable.wrapped
  if inspect.isclass(fn):
    fn = fn.__init__
  try:
    signature = inspect.signature(fn)
  except (TypeError, ValueError):
    return []
  result = []
  for name, param in signature.parameters.items():
    if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
      continue
    if configurable.allowlist and name not in configurable.allowlist:
      continue
    if configurable.denylist and name in configurable.denylist:
      continue
    default = param.default
    if default is param.empty or default is gin.REQUIRED:
      text = "<required>"
    else:
      text = repr(default)
    result.append((name, text))
  return result


def list_configurables(contains=""):
  """Text listing every gin configurable (selector, defining module, parameters
  with their defaults) whose selector contains `contains`: the names a gin
  file or --gin_bindings may use."""
  from gin import config as gin_config  # pylint: disable=g-import-not-at-top
  register_all()
  lines, entries = [], []
  for selector, configurable in gin_config._REGISTRY.items():  # pylint: disable=protected-access
    name = gin_config._REGISTRY.minimal_selector(selector)  # pylint: disable=protected-access
    if getattr(configurable.wrapped, "__module__", "").startswith("gin."):
      continue  # gin's own (macro, constant).
    if contains.lower() in selector.lower():
      entries.append((name, configurable))
  for name, configurable in sorted(entries, key=lambda e: e[0].lower()):
    wrapped = configurable.wrapped
    lines.append(f"{name}  ({getattr(wrapped, '__module__', '?')}."
                 f"{getattr(wrapped, '__qualname__', wrapped)})")
    for param, default in _parameters(configurable):
      lines.append(f"    {name}.{param} = {default}")
  return "\n".join(lines)
