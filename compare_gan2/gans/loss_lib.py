"""GAN losses (compare_gan's `gans/loss_lib.py`) and the gin "loss" dispatcher.

Every loss has the signature

    fn(d_real, d_fake, d_real_logits, d_fake_logits)
        -> (d_loss, d_loss_real, d_loss_fake, g_loss)

where `d_real` / `d_fake` are D's sigmoid probabilities and `d_*_logits` its
logits, all of shape [batch_size, 1]. Inputs a loss does not use may be None
(compare_gan callers always pass them by keyword). The formulas are exactly
compare_gan's, with mean reductions:

| loss             | d_loss_real        | d_loss_fake     | d_loss              | g_loss              |
|------------------|--------------------|-----------------|---------------------|---------------------|
| non_saturating   | mean CE(l_r, 1)    | mean CE(l_f, 0) | real + fake         | mean CE(l_f, 1)     |
| wasserstein      | -mean(l_r)         | mean(l_f)       | real + fake         | -mean(l_f)          |
| least_squares    | mean((d_r - 1)^2)  | mean(d_f^2)     | 0.5 (real + fake)   | 0.5 mean((d_f-1)^2) |
| hinge            | mean relu(1 - l_r) | mean relu(1+l_f)| real + fake         | -mean(l_f)          |

Where tensorflow-gan has a function that computes one of these values exactly,
it is used (the generator losses); it is always called with
`reduction=MEAN` (a plain mean: every weight is 1) and `loss_collection=None`
(nothing is added to a graph collection, so the losses are side-effect free in
eager mode, tf.function, replica contexts and TF1 graphs). tensorflow-gan's
discriminator losses return only the sum d_loss, while compare_gan also
reports the two halves, and some of them differ in constants (see the comments
below), so the discriminator halves are computed directly.
"""  # noqa: E501 (a Markdown table)

import gin
import tensorflow as tf

from compare_gan2 import tfgan
from compare_gan2 import utils


# tensorflow-gan's default reduction is SUM_BY_NONZERO_WEIGHTS; with unit
# weights that is also the mean, but we ask for the mean explicitly.
_MEAN = tf.compat.v1.losses.Reduction.MEAN
_TFGAN_KWARGS = dict(reduction=_MEAN, loss_collection=None,
                     add_summaries=False)


def check_dimensions(d_real, d_fake, d_real_logits, d_fake_logits):
  """Checks that the given (non-None) inputs are [batch_size, 1] and agree.

  Args:
    d_real: D's probabilities on real points, shape [batch_size, 1], or None.
    d_fake: D's probabilities on fake points, shape [batch_size, 1], or None.
    d_real_logits: D's logits on real points, shape [batch_size, 1], or None.
    d_fake_logits: D's logits on fake points, shape [batch_size, 1], or None.

  Raises:
    ValueError: if a rank is not 2, a last dimension is not 1, or two shapes
      do not match.
  """
  named = [("d_real", d_real), ("d_fake", d_fake),
           ("d_real_logits", d_real_logits), ("d_fake_logits", d_fake_logits)]
  shapes = []
  for name, t in named:
    if t is None:
      continue
    shape = tf.TensorShape(t.shape)
    if shape.rank != 2:
      raise ValueError(
          "GAN loss input %s must have rank 2 (shape [batch_size, 1]); got "
          "shape %s (rank %s)." % (name, shape, shape.rank))
    if shape[1] is not None and shape[1] != 1:
      raise ValueError(
          "GAN loss input %s must have shape [batch_size, 1]; got %s."
          % (name, shape))
    shapes.append((name, shape))
  for (name_a, a), (name_b, b) in zip(shapes, shapes[1:]):
    if not a.is_compatible_with(b):
      raise ValueError("GAN loss inputs have mismatched shapes: %s %s vs %s %s."
                       % (name_a, a, name_b, b))


def _require(loss_name, **inputs):
  missing = [k for k, v in inputs.items() if v is None]
  if missing:
    raise ValueError("Loss %s needs %s (got None)." % (loss_name,
                                                       ", ".join(missing)))


@gin.configurable(allowlist=[])
def non_saturating(d_real=None, d_fake=None, d_real_logits=None,
                   d_fake_logits=None):
  """Non-saturating loss (Goodfellow et al., 2014); uses the logits only."""
  _require("non_saturating", d_real_logits=d_real_logits,
           d_fake_logits=d_fake_logits)
  with tf.name_scope("non_saturating_loss"):
    check_dimensions(d_real, d_fake, d_real_logits, d_fake_logits)
    # tfgan.losses.minimax_discriminator_loss computes d_loss_real +
    # d_loss_fake (with label_smoothing=0), but only returns the sum.
    d_loss_real = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_real_logits, labels=tf.ones_like(d_real_logits),
        name="cross_entropy_d_real"))
    d_loss_fake = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        logits=d_fake_logits, labels=tf.zeros_like(d_fake_logits),
        name="cross_entropy_d_fake"))
    d_loss = d_loss_real + d_loss_fake
    # mean sigmoid-CE(l_f, 1); tfgan's default label_smoothing is 0 here but
    # we pass it explicitly.
    g_loss = tfgan.losses.modified_generator_loss(
        d_fake_logits, label_smoothing=0.0, **_TFGAN_KWARGS)
    return d_loss, d_loss_real, d_loss_fake, g_loss


@gin.configurable(allowlist=[])
def wasserstein(d_real=None, d_fake=None, d_real_logits=None,
                d_fake_logits=None):
  """Wasserstein loss (Arjovsky et al., 2017); uses the logits only."""
  _require("wasserstein", d_real_logits=d_real_logits,
           d_fake_logits=d_fake_logits)
  with tf.name_scope("wasserstein_loss"):
    check_dimensions(d_real, d_fake, d_real_logits, d_fake_logits)
    # tfgan.losses.wasserstein_discriminator_loss returns only the sum.
    d_loss_real = -tf.reduce_mean(d_real_logits)
    d_loss_fake = tf.reduce_mean(d_fake_logits)
    d_loss = d_loss_real + d_loss_fake
    g_loss = tfgan.losses.wasserstein_generator_loss(d_fake_logits,
                                                     **_TFGAN_KWARGS)
    return d_loss, d_loss_real, d_loss_fake, g_loss


@gin.configurable(allowlist=[])
def least_squares(d_real=None, d_fake=None, d_real_logits=None,
                  d_fake_logits=None):
  """Least-squares loss (Mao et al., 2017) on D's sigmoid *probabilities*."""
  _require("least_squares", d_real=d_real, d_fake=d_fake)
  with tf.name_scope("least_square_loss"):
    check_dimensions(d_real, d_fake, d_real_logits, d_fake_logits)
    # Not tfgan.losses.least_squares_discriminator_loss: it returns only the
    # sum, and its halves are 0.5 * mean(...), whereas compare_gan reports
    # d_loss_real / d_loss_fake without the 0.5 (d_loss has it).
    d_loss_real = tf.reduce_mean(tf.square(d_real - 1.0))
    d_loss_fake = tf.reduce_mean(tf.square(d_fake))
    d_loss = 0.5 * (d_loss_real + d_loss_fake)
    # 0.5 * mean((d_f - 1)^2).
    g_loss = tfgan.losses.least_squares_generator_loss(
        d_fake, real_label=1, **_TFGAN_KWARGS)
    return d_loss, d_loss_real, d_loss_fake, g_loss


@gin.configurable(allowlist=[])
def hinge(d_real=None, d_fake=None, d_real_logits=None, d_fake_logits=None):
  """Hinge loss (Lim & Ye 2017; Miyato et al. 2018); uses the logits only."""
  _require("hinge", d_real_logits=d_real_logits, d_fake_logits=d_fake_logits)
  with tf.name_scope("hinge_loss"):
    check_dimensions(d_real, d_fake, d_real_logits, d_fake_logits)
    # tfgan.losses.wasserstein_hinge_discriminator_loss returns only the sum.
    d_loss_real = tf.reduce_mean(tf.nn.relu(1.0 - d_real_logits))
    d_loss_fake = tf.reduce_mean(tf.nn.relu(1.0 + d_fake_logits))
    d_loss = d_loss_real + d_loss_fake
    # -mean(l_f).
    g_loss = tfgan.losses.wasserstein_hinge_generator_loss(d_fake_logits,
                                                           **_TFGAN_KWARGS)
    return d_loss, d_loss_real, d_loss_fake, g_loss


# The built-in losses: their g_loss depends on D's outputs on the fakes only.
_GENERATOR_LOSS_FROM_FAKES = (non_saturating, wasserstein, least_squares, hinge)


@gin.configurable("loss", allowlist=["fn"])
def selected_loss(fn=non_saturating):
  """The loss function selected in gin with `loss.fn = @hinge`."""
  return fn


def get_losses(fn=None, **kwargs):
  """Returns `fn(**kwargs)` = (d_loss, d_loss_real, d_loss_fake, g_loss).

  `fn` defaults to the gin-selected loss. Only the keyword arguments that `fn`
  accepts are passed (so custom losses may take e.g. only logits).
  """
  return utils.call_with_accepted_args(fn or selected_loss(), **kwargs)


def generator_loss_reads_fakes_only(fn=None):
  """True if `fn`'s (default: the gin-selected loss's) g_loss reads D(fakes) only.

  So for the built-in losses; a custom loss may use D(real) in its generator
  loss (relativistic losses do), and is assumed to.
  """
  return (fn or selected_loss()) in _GENERATOR_LOSS_FROM_FAKES


def generator_loss_from_fakes(d_fake, d_fake_logits, fn=None):
  """g_loss of `fn` (default: the gin-selected loss) from D's outputs on fakes."""
  fn = fn or selected_loss()
  if not generator_loss_reads_fakes_only(fn):
    raise ValueError(f"The generator loss of {fn} may read D(real); compute it "
                     "with get_losses.")
  # The fakes stand in for the reals: only d_loss reads them, and it is dropped.
  *_, g_loss = fn(d_real=d_fake, d_fake=d_fake, d_real_logits=d_fake_logits,
                  d_fake_logits=d_fake_logits)
  return g_loss
