"""Architecture registry: name (architectures/names.py) -> (GeneratorCls,
DiscriminatorCls), and the one place that loads the layer modules.

Adding an architecture is one line in `_register_all` below.

Importing any module of this package runs `_register_all`, which imports the
layer modules and every architecture. Their gin configurables (the layers'
`weights`, `spectral_norm`, `standardize_batch`, `batch_norm`, ... under
compare_gan's module name `arch_ops`, see `names.OPS_GIN_MODULE`; each
architecture's `Generator` / `Discriminator`) are therefore registered as soon
as the package is imported, before any gin file is parsed.
"""

from __future__ import annotations

import typing

from compare_gan2 import errors

if typing.TYPE_CHECKING:
  from compare_gan2.architectures import abstract_arch

# name -> (generator class, discriminator class).
ARCHITECTURES: dict[str, tuple[type[abstract_arch.AbstractGenerator],
                               type[abstract_arch.AbstractDiscriminator]]] = {}


def register_architecture(
    name: str, generator_cls: type[abstract_arch.AbstractGenerator],
    discriminator_cls: type[abstract_arch.AbstractDiscriminator]) -> None:
  """Registers (or replaces) an architecture under `name`."""
  ARCHITECTURES[name] = (generator_cls, discriminator_cls)


def get_architecture(name: str) -> tuple[
    type[abstract_arch.AbstractGenerator], type[abstract_arch.AbstractDiscriminator]]:
  """Returns (GeneratorCls, DiscriminatorCls) registered as `name`."""
  if name not in ARCHITECTURES:
    raise errors.ConfigError(
        "Unknown architecture {!r} (options.architecture); known architectures: "
        "{}.".format(name, ", ".join(sorted(ARCHITECTURES))))
  return ARCHITECTURES[name]


def _register_all() -> None:
  """Loads the layer modules (gin configurables) and registers every
  architecture."""
  # pylint: disable=g-import-not-at-top,unused-import
  from compare_gan2.architectures import attention  # noqa: F401
  from compare_gan2.architectures import initializers  # noqa: F401
  from compare_gan2.architectures import layers  # noqa: F401
  from compare_gan2.architectures import normalization  # noqa: F401
  from compare_gan2.architectures import weight_ops  # noqa: F401
  from compare_gan2.architectures import dcgan
  from compare_gan2.architectures import dummy
  from compare_gan2.architectures import infogan
  from compare_gan2.architectures import resnet30
  from compare_gan2.architectures import resnet5
  from compare_gan2.architectures import resnet_biggan
  from compare_gan2.architectures import resnet_biggan_deep
  from compare_gan2.architectures import resnet_cifar
  from compare_gan2.architectures import resnet_stl
  from compare_gan2.architectures import sndcgan
  from compare_gan2.architectures import names
  register_architecture(names.DUMMY_ARCH, dummy.Generator, dummy.Discriminator)
  register_architecture(names.RESNET_CIFAR_ARCH, resnet_cifar.Generator,
                        resnet_cifar.Discriminator)
  register_architecture(names.RESNET_BIGGAN_ARCH, resnet_biggan.Generator,
                        resnet_biggan.Discriminator)
  register_architecture(names.DCGAN_ARCH, dcgan.Generator,
                        dcgan.Discriminator)
  register_architecture(names.SNDCGAN_ARCH, sndcgan.Generator,
                        sndcgan.Discriminator)
  register_architecture(names.INFOGAN_ARCH, infogan.Generator,
                        infogan.Discriminator)
  register_architecture(names.RESNET5_ARCH, resnet5.Generator,
                        resnet5.Discriminator)
  register_architecture(names.RESNET30_ARCH, resnet30.Generator,
                        resnet30.Discriminator)
  register_architecture(names.RESNET_STL_ARCH, resnet_stl.Generator,
                        resnet_stl.Discriminator)
  register_architecture(names.RESNET_BIGGAN_DEEP_ARCH,
                        resnet_biggan_deep.Generator,
                        resnet_biggan_deep.Discriminator)


_register_all()
