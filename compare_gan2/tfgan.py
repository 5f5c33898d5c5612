"""Loads tensorflow-gan's working submodules on TensorFlow >= 2.16.

Why this exists: tensorflow-gan 2.1.0's package ``__init__`` (and that of
``tensorflow_gan.python``) imports its Estimator integration, which needs
``tf.estimator`` -- removed in TensorFlow 2.16. The submodules we use
(``losses``, ``eval``) do not need it and work unchanged. We therefore register
the two package directories as plain namespace modules, which skips their
``__init__`` files, and import the submodules through them. Nothing in
TensorFlow is patched.

Usage::

    from compare_gan2 import tfgan
    tfgan.losses.wasserstein_generator_loss(...)
    tfgan.eval.frechet_classifier_distance_from_activations(...)
"""

import importlib
import importlib.util
import os
import sys
import types

_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python")


def _register_namespace_packages():
  """Puts bare package modules for tensorflow_gan into sys.modules once."""
  if isinstance(sys.modules.get("tensorflow_gan.python"), types.ModuleType) and (
      getattr(sys.modules["tensorflow_gan.python"], "_compare_gan2_stub", False)):
    return
  spec = importlib.util.find_spec("tensorflow_gan")
  if spec is None or spec.origin is None:
    raise ImportError(
        "tensorflow-gan is not installed; install it with "
        "`pip install 'tensorflow-gan>=2.1'` (compare_gan2 uses its losses and "
        "eval submodules).")
  root = os.path.dirname(spec.origin)
  for name, path in zip(_PACKAGES, (root, os.path.join(root, "python"))):
    existing = sys.modules.get(name)
    if existing is not None and not getattr(existing, "_compare_gan2_stub", False):
      continue  # A real import already succeeded (e.g. on an older TF).
    module = types.ModuleType(name)
    module.__path__ = [path]
    module._compare_gan2_stub = True  # pylint: disable=protected-access
    sys.modules[name] = module


def _load(submodule):
  _register_namespace_packages()
  return importlib.import_module("tensorflow_gan.python." + submodule)


losses = _load("losses.losses_impl")
eval = _load("eval")  # pylint: disable=redefined-builtin
