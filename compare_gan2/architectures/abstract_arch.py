"""Generator / discriminator base classes (compare_gan's `abstract_arch.py`).

Each network is a tf.Module owning one `variable_store.VariableStore`; calling
it enters that store, the variable scope `name` (e.g. "generator") and the
network's compute dtype (`precision.network_precision`), then runs the
subclass's `apply`. Variables are created on the first call.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
import contextlib
import typing

import gin

from compare_gan2 import utils
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store as vs

import tensorflow as tf


class Network(tf.Module, metaclass=abc.ABCMeta):
  """A tf.Module whose variables live in `self.store` under scope `name`
  (generators, discriminators, the S2GAN feature extractor)."""

  def __init__(self, name: str, batch_norm_fn: Callable[..., tf.Tensor] | None,
               spectral_norm: bool):
    super().__init__(name=name)
    self._scope_name = name
    self._batch_norm_fn = batch_norm_fn
    self._spectral_norm = spectral_norm
    self.store = vs.VariableStore(name=name + "_store")

  @property
  def scope_name(self) -> str:
    """Top-level variable scope of the network (e.g. "generator")."""
    return self._scope_name

  @property
  def variables(self) -> list[tf.Variable]:
    return self.store.variables

  @property
  def trainable_variables(self) -> list[tf.Variable]:
    return self.store.trainable_variables

  @property
  def non_trainable_variables(self) -> list[tf.Variable]:
    return self.store.non_trainable_variables

  @contextlib.contextmanager
  def in_store(self, scope: str | None = None) -> Iterator[None]:
    """Creates / reuses variables in this network's store under `scope`.

    `scope` is a top-level scope, by default the network's own name. SSGAN and
    S3GAN use it to add heads to D's store, e.g.
    `with D.in_store("discriminator_rotation"): layers.linear(...)` creates
    `discriminator_rotation/...` variables that count as D's variables.
    """
    with vs.using_store(self.store), \
        vs.root_scope(scope or self._scope_name):
      yield

  @property
  def spectral_norm(self) -> bool:
    """True if the network's weights are spectrally normalized (heads follow)."""
    return bool(self._spectral_norm)

  @property
  def batch_norm_fn(self) -> Callable[..., tf.Tensor] | None:
    """The normalization function (None: no normalization)."""
    return self._batch_norm_fn

  def batch_norm(self, inputs: tf.Tensor, **kwargs: typing.Any) -> tf.Tensor:
    """Applies `batch_norm_fn` (identity if None) via call_with_accepted_args.

    Candidates: inputs, z, y, is_training, name and use_sn (defaults to the
    network's `spectral_norm`); the function receives the ones it accepts.
    """
    if self._batch_norm_fn is None:
      return inputs
    args = dict(kwargs)
    args["inputs"] = inputs
    args.setdefault("use_sn", self._spectral_norm)
    return utils.call_with_accepted_args(self._batch_norm_fn, **args)


def _compute_inputs(*inputs: tf.Tensor | None) -> tuple[tf.Tensor | None, ...]:
  """Floating inputs in the compute dtype (unchanged in float32)."""
  return tuple(
      None if t is None else precision.compute_cast(tf.convert_to_tensor(t))
      for t in inputs)


def _float32_outputs(outputs: typing.Any) -> typing.Any:
  """A network's outputs (a tensor or a tuple of them) in float32."""
  if precision.compute_dtype() == tf.float32:
    return outputs
  return tf.nest.map_structure(
      lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs)


@gin.configurable("G", denylist=["name", "image_shape"])
class AbstractGenerator(Network):
  """Interface for generators: `G(z, y, is_training) -> images in [0, 1]`."""

  def __init__(self, name: str = "generator",
               image_shape: Sequence[int] | None = None,
               batch_norm_fn: Callable[..., tf.Tensor] | None = None,
               spectral_norm: bool = False):
    """Args:
      name: top-level variable scope.
      image_shape: [height, width, colors] of the generated images.
      batch_norm_fn: normalization function (e.g. @batch_norm,
        @conditional_batch_norm) or None for none.
      spectral_norm: spectral normalization of all weights (Miyato et al.).
    """
    super().__init__(name=name, batch_norm_fn=batch_norm_fn,
                     spectral_norm=spectral_norm)
    self._image_shape = None if image_shape is None else tuple(
        int(d) for d in image_shape)

  @property
  def image_shape(self) -> tuple[int, ...] | None:
    return self._image_shape

  def __call__(self, z: tf.Tensor, y: tf.Tensor | None, is_training: bool
               ) -> tf.Tensor:
    """Returns generated images [batch_size] + image_shape in [0, 1] (float32)."""
    with vs.using_store(self.store), \
        vs.root_scope(self._scope_name), precision.network_precision():
      z, y = _compute_inputs(z, y)
      return _float32_outputs(self.apply(z=z, y=y, is_training=is_training))

  @abc.abstractmethod
  def apply(self, z: tf.Tensor, y: tf.Tensor | None, is_training: bool
            ) -> tf.Tensor:
    """Builds the generator; z [bs, z_dim], y [bs, num_classes] or None."""


@gin.configurable("D", denylist=["name"])
class AbstractDiscriminator(Network):
  """Interface for discriminators: `D(x, y, is_training) -> (prob, logit, h)`."""

  def __init__(self, name: str = "discriminator",
               batch_norm_fn: Callable[..., tf.Tensor] | None = None,
               layer_norm: bool = False, spectral_norm: bool = False):
    """Args:
      name: top-level variable scope.
      batch_norm_fn: normalization function or None.
      layer_norm: apply layer normalization in the ResNet blocks.
      spectral_norm: spectral normalization of all weights.
    """
    super().__init__(name=name, batch_norm_fn=batch_norm_fn,
                     spectral_norm=spectral_norm)
    self._layer_norm = layer_norm

  def __call__(self, x: tf.Tensor, y: tf.Tensor | None, is_training: bool
               ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns (sigmoid(logit) [bs, 1], logit [bs, 1], features), float32."""
    with vs.using_store(self.store), \
        vs.root_scope(self._scope_name), precision.network_precision():
      x, y = _compute_inputs(x, y)
      return _float32_outputs(self.apply(x=x, y=y, is_training=is_training))

  @abc.abstractmethod
  def apply(self, x: tf.Tensor, y: tf.Tensor | None, is_training: bool
            ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Builds the discriminator on images x [bs, H, W, C] and labels y."""
