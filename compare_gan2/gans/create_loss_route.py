"""Opt-in: train a GAN through its `create_loss`, as compare_gan did.

compare_gan's ModularGAN (compare_gan/gans/modular_gan.py) computed both
sub-steps from one `create_loss(features, labels, params, is_training)` that
set `self.d_loss` and `self.g_loss`; code written against it overrides
`create_loss`. ModularGAN's own step is built from the step parts
(`discriminator_slices`, `run_discriminator`, `*_loss_terms`), so an override of
`create_loss` alone would not reach training. A subclass that overrides it lists
`CreateLossRoute` first among its bases:

  class MyGAN(create_loss_route.CreateLossRoute, modular_gan.ModularGAN):
    def create_loss(self, features, labels, generated, is_training=True,
                    compute_penalty=True, seed=None):
      ...

Then D's step takes `create_loss`'s d_loss and "d_*" summaries, G's step its
g_loss (computed without the penalty) and "g_*" summaries, and the G step always
runs D on every slice (no cheap generator step: the override may read D(real)).
ModularGAN refuses a subclass that overrides `create_loss` without it.
"""


class CreateLossRoute:
  """Mixin for ModularGAN subclasses: both sub-steps call `self.create_loss`."""

  def discriminator_loss(self, features, labels, generated, seed=None):
    """(d_loss, "d_*" summaries) of `create_loss`."""
    d_loss, _, summaries = self.create_loss(features, labels, generated,
                                            is_training=True, seed=seed)
    return d_loss, {k: v for k, v in summaries.items() if not k.startswith("g_")}

  def generator_loss(self, features, labels, generated):
    """(g_loss, "g_*" summaries) of `create_loss` without the penalty."""
    _, g_loss, summaries = self.create_loss(features, labels, generated,
                                            is_training=True,
                                            compute_penalty=False)
    return g_loss, {k: v for k, v in summaries.items() if k.startswith("g_")}

  def uses_cheap_generator_step(self):
    """Never: `create_loss` may read D(real) in its g_loss."""
    return False
