"""GAN registry: `options.gan_class = @ModularGAN` (or a name in GANS).

A GAN class takes `(dataset, parameters, model_dir)` and provides `input_fn`,
`build`, `train_step`, `variables_to_save` and `generate` (see ModularGAN). Adding
a GAN means registering it here; the trainer is unchanged. Self-supervised
tasks plug into SSGAN / S3GAN by name (gans/self_supervision.py).
"""

import typing

from compare_gan2 import errors
from compare_gan2.gans import loss_lib  # noqa: F401  (registers losses)
from compare_gan2.gans import penalty_lib  # noqa: F401  (registers penalties)
from compare_gan2.gans.modular_gan import ModularGAN
from compare_gan2.gans.s3gan import S3GAN
from compare_gan2.gans.ssgan import SSGAN

GANS: dict[str, type[ModularGAN]] = {
    "ModularGAN": ModularGAN, "SSGAN": SSGAN, "S3GAN": S3GAN}

_GAN = typing.TypeVar("_GAN", bound=type[ModularGAN])


def register_gan(cls: _GAN) -> _GAN:
  """Adds a GAN class to the registry (use as a decorator)."""
  GANS[cls.__name__] = cls
  return cls


def get_gan_class(name_or_class: str | type[ModularGAN]) -> type[ModularGAN]:
  """Resolves `options.gan_class` given as a class or a registered name."""
  if not isinstance(name_or_class, str):
    return name_or_class
  if name_or_class not in GANS:
    raise errors.ConfigError(f"Unknown GAN class {name_or_class!r} "
                             f"(options.gan_class); known: {sorted(GANS)}.")
  return GANS[name_or_class]
