"""Gin wiring: registers every configurable and parses configs with clear errors.

`gin.tf.external_configurables` (which compare_gan imported to make
`@tf.train.AdamOptimizer` and `@tf.random.normal` resolve) subclasses
`tf.estimator.SessionRunHook` and cannot be imported on TF >= 2.16. We register the
TF names that compare_gan configs use ourselves, pointing at our TF1-semantics
optimizers and stateless random functions.
"""

import importlib
import os

import gin

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2 import random_ops

# Modules whose import registers gin configurables.
_CONFIGURABLE_MODULES = (
    "compare_gan2.architectures",
    "compare_gan2.gans",
    "compare_gan2.datasets",
    "compare_gan2.training.runner",
    "compare_gan2.metrics",
    "compare_gan2.evaluation",
    "compare_gan2.export",
    "compare_gan2.s2gan.pipeline",
)

_TF_OPTIMIZERS = {
    "AdamOptimizer": optimizers.AdamOptimizer,
    "GradientDescentOptimizer": optimizers.GradientDescentOptimizer,
    "MomentumOptimizer": optimizers.MomentumOptimizer,
    "RMSPropOptimizer": optimizers.RMSPropOptimizer,
}

_TF_RANDOM = {
    ("tf.random", "normal"): random_ops.normal,
    ("tf.random", "uniform"): random_ops.uniform,
    ("tf.random", "truncated_normal"): random_ops.truncated_normal,
    ("tf", "random_normal"): random_ops.normal,
    ("tf", "random_uniform"): random_ops.uniform,
    ("tf", "truncated_normal"): random_ops.truncated_normal,
}

_registered = False


def register_tf_configurables():
  """Registers `tf.train.*Optimizer` and `tf.random.*` under their TF1 names."""
  global _registered
  if _registered:
    return
  for module in ("tf.train", "tf.compat.v1.train"):
    for name, cls in _TF_OPTIMIZERS.items():
      gin.external_configurable(cls, name=name, module=module)
  for (module, name), fn in _TF_RANDOM.items():
    gin.external_configurable(fn, name=name, module=module)
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
  try:
    gin.parse_config_files_and_bindings(
        list(config_files), list(bindings), skip_unknown=False,
        finalize_config=finalize)
  except (ValueError, KeyError, SyntaxError, TypeError) as e:
    where = ", ".join(config_files) if config_files else "--gin_bindings"
    raise GinConfigError(
        f"Invalid gin configuration ({where}): {e}\n"
        "Check the spelling of the configurable and parameter names; "
        "`python -m compare_gan2.main --helpfull` and README.md list the gin "
        "surface.") from e
