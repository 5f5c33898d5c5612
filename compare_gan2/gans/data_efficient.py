"""Data-efficient GAN training: regularizers and measures of D overfitting as
components of the training step (docs/data_efficient.md, "In the GAN step").

Every component is off by default; with none on, the step is exactly what it
was (no new random draws, variables, summaries or D calls). Each one that is
on adds named terms to D's (or G's) `step_parts.LossTerms`, so each is a
TensorBoard scalar, and works with every GAN class (ModularGAN, SSGAN, S3GAN),
loss and penalty. Images are in [0, 1] in ModularGAN; every formula below is
written for images in [-1, 1], the papers' convention, so the papers' weights
mean what they mean there (x' = 2x - 1).

| gin                      | default | term (D unless said)                          |
|--------------------------|---------|-----------------------------------------------|
| r1.gamma, r1.interval    | 0, 1    | "r1_penalty": E ||grad_x' D(x)||^2 on reals,  |
|                          |         | weight gamma / 2 * interval                   |
| r2.gamma, r2.interval    | 0, 1    | "r2_penalty": the same on the fakes           |
| lecam.weight, .decay,    | 0, 0.99,| "lecam": mean(relu(D(x) - a_F)^2) +           |
| lecam.start_step         | 1000    |   mean(relu(a_R - D(G(z)))^2), a_R / a_F EMAs |
| consistency.mode         | "none"  | "cr", "bcr", "zcr" or "icr" (= bCR + zCR):    |
|                          |         | "consistency_real": E (D(x) - D(T(x)))^2,     |
|                          |         | "consistency_fake": E (D(G(z)) - D(T(G(z))))^2|
|                          |         | "consistency_latent": E (D(G(z)) -            |
|                          |         |   D(G(z + dz)))^2; on G, weight -z_gen_weight:|
|                          |         |   mean over pixels (G(z) - G(z + dz))^2       |
| overfitting.metrics      | False   | ratio metrics "overfitting/*": D's mean logit |
|                          |         | and sign accuracy on reals and fakes, r_t     |
| augment.method, ada.*    | "none"  | D's input augmentation, DiffAugment or ADA    |
|                          |         | (gans/discriminator_augmentation.py)          |

Sources: R1 / R2, Mescheder et al., "Which Training Methods for GANs do
actually Converge?" (ICML 2018); lazy regularization, Karras et al., StyleGAN2
(CVPR 2020; NVlabs/stylegan2-ada `training/training_loop.py`,
`D_reg_interval`: the term every k-th D step with weight k). LeCam, Tseng et
al. (CVPR 2021; google/lecam-gan `biggan_cifar/losses.py`,
`stylegan2/lecam_loss.py`): the anchors are updated with the batch before the
term reads them, decay 0.99 (the TF code and StudioGAN's BigGAN-LeCam; the
BigGAN code's `ema_losses` uses 0.9), term on from G step 1000 (`ema_start`),
weight 0.3 in the BigGAN CIFAR scripts. CR, Zhang et al. (ICLR 2020),
lambda = 10; bCR and zCR, Zhao et al. (AAAI 2021), lambda_real = lambda_fake =
10, lambda_dis = 5, lambda_gen = 0.5, sigma_noise = 0.03 (PyTorch-StudioGAN's
BigGAN-ICR config uses radius 0.05 and d_lambda 20). T ("cr"): a horizontal
flip with probability 1/2 and an integer translation by up to 1/8 of the size
with reflection padding (StudioGAN's `utils/cr.py`).

Under tf.distribute, LeCam's anchors and the overfitting metrics use the
replicas' summed statistics; under gradient accumulation every micro-batch
computes its terms and, like spectral norm's u, only the last one's anchor
update is stored; under mixed precision every term is computed in float32 from
D's float32 outputs.
"""

import dataclasses
import zlib

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import random_ops
from compare_gan2.architectures import variable_store
from compare_gan2.gans import discriminator_augmentation
from compare_gan2.gans import step_parts

# Images are in [0, 1]; the papers' formulas are for x' = 2x - 1 in [-1, 1].
IMAGE_SCALE = 2.0

CONSISTENCY_MODES = ("none", "cr", "bcr", "zcr", "icr")
CONSISTENCY_TRANSFORMS = ("cr",)

# The slices D's input augmentation applies to (S3GAN adds "labelled").
AUGMENTED_SLICES = ("real", "fake", "labelled")

# The slices the consistency terms add to D's batch.
REAL_CONSISTENCY = "real_consistency"
FAKE_CONSISTENCY = "fake_consistency"
LATENT_CONSISTENCY = "fake_latent_consistency"


# ------------------------------------------------------------------- options
@dataclasses.dataclass(frozen=True)
class GradientPenaltyOptions:
  """R1 (on reals) or R2 (on fakes): gamma / 2 * E ||grad D||^2, every
  `interval` D steps with weight `interval` (lazy regularization)."""
  name: str
  gamma: float = 0.0
  interval: int = 1

  def __post_init__(self):
    errors.check(self.gamma >= 0, f"{self.name}.gamma must be >= 0, got {self.gamma}.")
    errors.check(isinstance(self.interval, int) and self.interval >= 1,
                 f"{self.name}.interval must be an integer >= 1 (1: every D step), got "
                 f"{self.interval!r}.")

  @property
  def enabled(self):
    return self.gamma > 0


@gin.configurable("r1", allowlist=["gamma", "interval"])
def r1_options(gamma=0.0, interval=1):
  """R1 on the reals (gin `r1.gamma`, `r1.interval`; gamma 0: off)."""
  return GradientPenaltyOptions("r1", float(gamma), interval)


@gin.configurable("r2", allowlist=["gamma", "interval"])
def r2_options(gamma=0.0, interval=1):
  """R2 on the fakes (gin `r2.gamma`, `r2.interval`; gamma 0: off)."""
  return GradientPenaltyOptions("r2", float(gamma), interval)


@dataclasses.dataclass(frozen=True)
class LeCamOptions:
  """LeCam: `weight` (0: off), the anchors' EMA `decay`, and the G step from
  which the anchors average and the term is on (before: anchors = the batch)."""
  weight: float = 0.0
  decay: float = 0.99
  start_step: int = 1000

  def __post_init__(self):
    errors.check(self.weight >= 0, f"lecam.weight must be >= 0, got {self.weight}.")
    errors.check(0 <= self.decay < 1, f"lecam.decay must be in [0, 1), got {self.decay}.")
    errors.check(isinstance(self.start_step, int) and self.start_step >= 0,
                 f"lecam.start_step must be an integer >= 0, got {self.start_step!r}.")

  @property
  def enabled(self):
    return self.weight > 0


@gin.configurable("lecam", allowlist=["weight", "decay", "start_step"])
def lecam_options(weight=0.0, decay=0.99, start_step=1000):
  """LeCam regularization (gin `lecam.*`; weight 0: off)."""
  return LeCamOptions(float(weight), float(decay), start_step)


@dataclasses.dataclass(frozen=True)
class ConsistencyOptions:
  """Consistency regularization: `mode` in CONSISTENCY_MODES and its weights."""
  mode: str = "none"
  cr_weight: float = 10.0
  real_weight: float = 10.0
  fake_weight: float = 10.0
  z_dis_weight: float = 5.0
  z_gen_weight: float = 0.5
  z_sigma: float = 0.03
  transform: str = "cr"

  def __post_init__(self):
    errors.check(self.mode in CONSISTENCY_MODES,
                 f"consistency.mode must be one of {CONSISTENCY_MODES}, got "
                 f"{self.mode!r}.")
    for name in ("cr_weight", "real_weight", "fake_weight", "z_dis_weight",
                 "z_gen_weight"):
      errors.check(getattr(self, name) >= 0,
                   f"consistency.{name} must be >= 0, got {getattr(self, name)}.")
    errors.check(self.z_sigma > 0, f"consistency.z_sigma must be > 0, got {self.z_sigma}.")
    errors.check(self.transform in CONSISTENCY_TRANSFORMS,
                 f"consistency.transform must be one of {CONSISTENCY_TRANSFORMS}, got "
                 f"{self.transform!r}.")

  @property
  def enabled(self):
    return self.mode != "none"

  @property
  def real(self):
    """Whether D's consistency on T(real) is regularized (CR, bCR, ICR)."""
    return self.mode in ("cr", "bcr", "icr")

  @property
  def fake(self):
    """Whether D's consistency on T(fake) is regularized (bCR, ICR)."""
    return self.mode in ("bcr", "icr")

  @property
  def latent(self):
    """Whether latent consistency (zCR) is on (zCR, ICR)."""
    return self.mode in ("zcr", "icr")

  @property
  def real_term_weight(self):
    return self.cr_weight if self.mode == "cr" else self.real_weight


@gin.configurable("consistency", allowlist=[
    "mode", "cr_weight", "real_weight", "fake_weight", "z_dis_weight",
    "z_gen_weight", "z_sigma", "transform"])
def consistency_options(mode="none", cr_weight=10.0, real_weight=10.0,
                        fake_weight=10.0, z_dis_weight=5.0, z_gen_weight=0.5,
                        z_sigma=0.03, transform="cr"):
  """Consistency regularization (gin `consistency.*`; mode "none": off)."""
  return ConsistencyOptions(str(mode), float(cr_weight), float(real_weight),
                            float(fake_weight), float(z_dis_weight),
                            float(z_gen_weight), float(z_sigma), str(transform))


@gin.configurable("overfitting", allowlist=["metrics"])
def overfitting_options(metrics=False):
  """Whether the D step reports the D-overfitting measures (`overfitting/*`)."""
  return bool(metrics)


# ------------------------------------------------------------------ formulas
def stream_seed(seed, name):
  """A [2] int32 seed of its own for the random stream `name` of a step."""
  if seed is None:
    raise ValueError(f"{name} draws random numbers statelessly and needs the "
                     "step's `seed` (a [2] integer tensor).")
  return random_ops.derive_seed(tf.convert_to_tensor(seed),
                                zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)


def gradient_penalty(logits_fn, images, transform=None):
  """E_i ||d logit_i / d x'_i||^2 with x' = 2 x - 1 (images x in [0, 1]).

  `logits_fn(images)` -> [N, 1] logits; `transform` (e.g. the augmentation D's
  inputs get) is applied inside, so the gradient is taken through it with
  respect to the untransformed images (as StyleGAN2-ADA's R1). The input
  gradient is taken inside the caller's tape, so D's gradient of the penalty
  (second order) is available.
  """
  images = tf.convert_to_tensor(images, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(images)
    seen = images if transform is None else transform(images)
    logits = tf.cast(logits_fn(seen), tf.float32)
  gradients = tape.gradient(logits, images) / IMAGE_SCALE
  axes = list(range(1, images.shape.rank))
  return tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=axes))


def lecam_term(real_logits, fake_logits, anchor_real, anchor_fake):
  """mean(relu(D(x) - a_F)^2) + mean(relu(a_R - D(G(z)))^2) (Tseng et al.)."""
  real_logits = tf.cast(real_logits, tf.float32)
  fake_logits = tf.cast(fake_logits, tf.float32)
  return (tf.reduce_mean(tf.square(tf.nn.relu(real_logits - anchor_fake))) +
          tf.reduce_mean(tf.square(tf.nn.relu(anchor_real - fake_logits))))


def mean_squared_difference(a, b):
  """mean((a - b)^2) over every element (StudioGAN's MSELoss); for D's [N, 1]
  logits the batch mean of ||D(a_i) - D(b_i)||^2."""
  return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def cr_transform(images, seed, translation_ratio=0.125):
  """The CR paper's T: each image flipped left-right with probability 1/2, then
  translated by integers (dy, dx) uniform in [-r, r], r = int(ratio * size),
  with reflection padding (StudioGAN's `apply_cr_aug`); differentiable."""
  images = tf.convert_to_tensor(images)
  n, h, w, _ = images.shape.as_list()
  flip = tf.random.stateless_uniform([n], stream_seed(seed, "cr/flip")) < 0.5
  images = tf.where(flip[:, None, None, None], tf.reverse(images, [2]), images)
  max_y, max_x = int(h * translation_ratio), int(w * translation_ratio)
  if not max_y and not max_x:
    return images
  dy = tf.random.stateless_uniform([n], stream_seed(seed, "cr/dy"), -max_y,
                                   max_y + 1, dtype=tf.int32)
  dx = tf.random.stateless_uniform([n], stream_seed(seed, "cr/dx"), -max_x,
                                   max_x + 1, dtype=tf.int32)
  padded = tf.pad(images, [[0, 0], [max_y, max_y], [max_x, max_x], [0, 0]],
                  mode="REFLECT")
  rows = dy[:, None] + max_y + tf.range(h)[None, :]
  cols = dx[:, None] + max_x + tf.range(w)[None, :]
  out = tf.gather(padded, rows, axis=1, batch_dims=1)
  return tf.gather(out, cols, axis=2, batch_dims=1)


def replica_sum(values):
  """`values` summed over the replicas in sync (themselves outside a strategy)."""
  ctx = tf.distribute.get_replica_context()
  if ctx is None or ctx.num_replicas_in_sync == 1:
    return values
  return ctx.all_reduce(tf.distribute.ReduceOp.SUM, values)


def _state_variable(name):
  """A float32 scalar the step assigns identically on every replica."""
  return tf.Variable(0.0, dtype=tf.float32, trainable=False, name=name,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


# ----------------------------------------------------------------- component
class DataEfficient:
  """The data-efficient components of a GAN's step, as configured in gin.

  The GAN calls: `build` / `variables_to_save`; `augment_slices` in its
  `discriminator_slices`; `consistency_slices` and `discriminator_terms` in D's
  loss; `perturbed_latents` and `generator_terms` in G's loss;
  `after_discriminator_step` and `after_step`. Everything is a no-op when off.

  Args (each None: as gin configures it):
    r1, r2, lecam, consistency, overfitting_metrics: the components' options.
    augmentation: a `DiscriminatorAugmentation`, or False for none.
    reals_per_step: reals D sees per training step, all replicas (ADA's speed).
  """

  def __init__(self, r1=None, r2=None, lecam=None, consistency=None,
               overfitting_metrics=None, augmentation=None, reals_per_step=None):
    self.r1 = r1_options() if r1 is None else r1
    self.r2 = r2_options() if r2 is None else r2
    self.lecam = lecam_options() if lecam is None else lecam
    self.consistency = consistency_options() if consistency is None else consistency
    self.overfitting_metrics = (overfitting_options() if overfitting_metrics is None
                                else bool(overfitting_metrics))
    if augmentation is None:
      augmentation = discriminator_augmentation.DiscriminatorAugmentation.from_gin(
          reals_per_step)
    self.augmentation = augmentation or None
    self._anchors = None

  @property
  def enabled(self):
    """Whether any component is on."""
    return (self.r1.enabled or self.r2.enabled or self.lecam.enabled or
            self.consistency.enabled or self.overfitting_metrics or
            self.augments)

  @property
  def augments(self):
    """Whether D's inputs are augmented (then the slices need the step's seed)."""
    return self.augmentation is not None

  @property
  def uses_generator_step(self):
    """Whether G's step draws random numbers (zCR, augmentation), which needs
    the G step's seed."""
    return self.consistency.latent or self.augments

  def describe(self):
    """{component: options} of the components that are on (for errors, logs)."""
    parts = {"r1": self.r1, "r2": self.r2, "lecam": self.lecam,
             "consistency": self.consistency}
    result = {k: v for k, v in parts.items() if v.enabled}
    if self.overfitting_metrics:
      result["overfitting"] = "metrics"
    if self.augments:
      result["augment"] = self.augmentation.options
    return result

  # --------------------------------------------------------------- variables
  def build(self):
    """Creates the state variables (under the strategy's scope)."""
    if self.lecam.enabled and self._anchors is None:
      self._anchors = {"real": _state_variable("lecam/anchor_real"),
                       "fake": _state_variable("lecam/anchor_fake")}
    if self.augments:
      self.augmentation.build()

  def variables_to_save(self):
    """{checkpoint name: variable} of the components' state ({} when none)."""
    result = {}
    if self._anchors is not None:
      result["lecam/anchor_real"] = self._anchors["real"]
      result["lecam/anchor_fake"] = self._anchors["fake"]
    if self.augments:
      result.update(self.augmentation.variables_to_save())
    return result

  # ------------------------------------------------------------ augmentation
  def augment(self, images, seed, stream):
    """`images` of slice `stream` as D sees them in the step of `seed`: the
    augmentation's draws are those of (seed, stream); identity when off."""
    if not self.augments:
      return images
    return self.augmentation.augment(
        images, stream_seed(seed, "augment/" + stream))

  def augmentation_rotations(self):
    """ADA's transforms on (multiplier > 0) that rotate or flip images."""
    settings = self.augmentation and self.augmentation.ada_settings
    if not settings:
      return []
    transforms = discriminator_augmentation.ada.resolve_transforms(
        settings.transforms)
    return sorted(k for k in ("rotate90", "rotate", "xflip")
                  if transforms.get(k, 0.0) > 0)

  def augment_slices(self, slices, seed):
    """`slices` with the AUGMENTED_SLICES among them augmented (the same dict
    when augmentation is off)."""
    if not self.augments:
      return slices
    return {name: (step_parts.Slice(self.augment(part.images, seed, name), part.y)
                   if name in AUGMENTED_SLICES else part)
            for name, part in slices.items()}

  # ---------------------------------------------------------------- D's step
  def consistency_slices(self, slices, real_images, fake_images,
                         perturbed_fakes, seed, augment):
    """`slices` plus the consistency slices D sees in its step.

    Args:
      slices: the GAN's {name: Slice} ("real", "fake", ...).
      real_images, fake_images: the reals and fakes before D's augmentation.
      perturbed_fakes: callable -> G(z + dz) of the fakes' latents (zCR).
      seed: the D step's [2] seed.
      augment: callable (images, stream) -> images as D's augmentation makes
        them ("real" / "fake" streams: the same draws as those slices).
    """
    c = self.consistency
    if not c.enabled:
      return slices
    result = dict(slices)
    if c.real:
      images = cr_transform(real_images, stream_seed(seed, "consistency/real"))
      result[REAL_CONSISTENCY] = step_parts.Slice(augment(images, "real"),
                                                  slices["real"].y)
    if c.fake:
      images = cr_transform(fake_images, stream_seed(seed, "consistency/fake"))
      result[FAKE_CONSISTENCY] = step_parts.Slice(augment(images, "fake"),
                                                  slices["fake"].y)
    if c.latent:
      result[LATENT_CONSISTENCY] = step_parts.Slice(
          augment(tf.stop_gradient(perturbed_fakes()), "fake"), slices["fake"].y)
    return result

  def perturbed_latents(self, z, seed):
    """z + dz, dz ~ N(0, z_sigma^2) drawn from the step's seed (zCR)."""
    noise = tf.random.stateless_normal(
        tf.shape(z), stream_seed(seed, "consistency/latent_noise"), dtype=z.dtype)
    return z + self.consistency.z_sigma * noise

  def discriminator_terms(self, losses, outputs, slices, *, real_images,
                          fake_images, seed, step, disc_step, logits_fn, augment,
                          adversarial_weight=1.0, lazy_with_cond=True):
    """Adds the components' D terms and metrics to `losses`.

    Args:
      losses: D's LossTerms.
      outputs: {slice: {output: tensor}} of D's call on `slices`.
      slices: D's slices (with `consistency_slices`).
      real_images, fake_images: the reals and (stop-gradient) fakes before
        D's augmentation.
      seed: the D step's [2] seed.
      step, disc_step: the G and D step counters (before this step).
      logits_fn: callable (images, y) -> D's [N, 1] logits (with its heads).
      augment: callable (images, stream) -> D's augmentation.
      adversarial_weight: the GAN's weight of its adversarial terms.
      lazy_with_cond: skip a lazy penalty's computation on its off steps (False
        when D couples the examples of a call, e.g. batch norm: then it is
        computed and multiplied by 0).
    """
    real_logits = outputs["real"]["logits"]
    fake_logits = outputs["fake"]["logits"]
    for options, source, images in ((self.r1, "real", real_images),
                                    (self.r2, "fake", fake_images)):
      if options.enabled:
        self._add_gradient_penalty(
            losses, options, images, slices[source].y,
            lambda x, s=source: augment(x, s), disc_step, logits_fn,
            adversarial_weight, lazy_with_cond)
    if self.lecam.enabled:
      self._add_lecam(losses, real_logits, fake_logits, step, disc_step,
                      adversarial_weight)
    c = self.consistency
    for term, name, source, weight in (
        ("consistency_real", REAL_CONSISTENCY, "real", c.real_term_weight),
        ("consistency_fake", FAKE_CONSISTENCY, "fake", c.fake_weight),
        ("consistency_latent", LATENT_CONSISTENCY, "fake", c.z_dis_weight)):
      if name in outputs:
        losses.add(term, mean_squared_difference(outputs[source]["logits"],
                                                 outputs[name]["logits"]),
                   weight * adversarial_weight)
    if self.overfitting_metrics:
      add_overfitting_metrics(losses, real_logits, fake_logits)
    elif self.augments and self.augmentation.adaptive:  # ADA's r_t.
      add_overfitting_metrics(losses, real_logits, fake_logits, rt_only=True)

  def _add_gradient_penalty(self, losses, options, images, y, transform,
                            disc_step, logits_fn, adversarial_weight,
                            lazy_with_cond):
    def compute():
      # A regularization pass: no spectral-norm / batch-norm state updates.
      with variable_store.no_state_updates():
        return gradient_penalty(lambda x: logits_fn(x, y), images, transform)
    name = options.name + "_penalty"
    weight = 0.5 * options.gamma * options.interval * adversarial_weight
    if options.interval == 1:
      losses.add(name, compute(), weight)
      return
    active = tf.equal(tf.math.floormod(tf.cast(disc_step, tf.int64),
                                       options.interval), 0)
    if lazy_with_cond:
      value = tf.cond(active, compute, lambda: tf.constant(0.0, tf.float32))
    else:
      value = compute() * tf.cast(active, tf.float32)
    losses.add(name, value, weight, active=active)

  def _add_lecam(self, losses, real_logits, fake_logits, step, disc_step,
                 adversarial_weight):
    options = self.lecam
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    totals = replica_sum(tf.stop_gradient(tf.stack([
        tf.reduce_sum(real_logits), tf.cast(tf.size(real_logits), tf.float32),
        tf.reduce_sum(fake_logits), tf.cast(tf.size(fake_logits), tf.float32)])))
    mean_real, mean_fake = totals[0] / totals[1], totals[2] / totals[3]
    started = tf.cast(step, tf.int64) >= options.start_step
    # Before start_step (and at the first D step) the anchors are the batch's.
    averaging = tf.logical_and(started, tf.cast(disc_step, tf.int64) > 0)
    decay = tf.where(averaging, options.decay, 0.0)
    anchor_real = decay * self._anchors["real"] + (1.0 - decay) * mean_real
    anchor_fake = decay * self._anchors["fake"] + (1.0 - decay) * mean_fake
    if variable_store.state_updates_enabled():
      self._anchors["real"].assign(anchor_real)
      self._anchors["fake"].assign(anchor_fake)
    weight = options.weight * adversarial_weight
    if options.start_step:
      weight = weight * tf.cast(started, tf.float32)
    losses.add("lecam", lecam_term(real_logits, fake_logits, anchor_real,
                                   anchor_fake), weight)
    losses.add_metric("lecam/anchor_real", anchor_real)
    losses.add_metric("lecam/anchor_fake", anchor_fake)

  def after_discriminator_step(self, summaries, micro_batches=1):
    """After a D step (its summaries, averaged over `micro_batches`): ADA's
    r_t sums."""
    if self.augments:
      self.augmentation.after_discriminator_step(summaries, replica_sum,
                                                 float(micro_batches))

  def after_step(self, global_step):
    """After a training step (`global_step` after it): ADA's p update; returns
    metrics to add to the step's ({} when none)."""
    if not self.augments:
      return {}
    return self.augmentation.after_step(global_step)

  # ---------------------------------------------------------------- G's step
  def generator_terms(self, losses, generated, perturbed, adversarial_weight=1.0):
    """zCR's G term: -z_gen_weight * mean over pixels of (G(z) - G(z + dz))^2
    in [-1, 1] (G is pushed to map nearby latents apart)."""
    if not self.consistency.latent:
      return
    value = mean_squared_difference(IMAGE_SCALE * generated,
                                    IMAGE_SCALE * perturbed)
    losses.add("consistency_latent", value,
               -self.consistency.z_gen_weight * adversarial_weight)


def add_overfitting_metrics(losses, real_logits, fake_logits, rt_only=False):
  """Ratio metrics (summed over replicas and steps by the loop) of D's outputs
  on the reals and fakes of its step: mean logit, sign accuracy (real: logit >
  0, fake: logit < 0) and r_t = E[sign(D(real))] (Karras et al., 2020)."""
  real_logits = tf.reshape(tf.cast(real_logits, tf.float32), [-1])
  fake_logits = tf.reshape(tf.cast(fake_logits, tf.float32), [-1])
  n_real = tf.cast(tf.size(real_logits), tf.float32)
  n_fake = tf.cast(tf.size(fake_logits), tf.float32)
  losses.add_ratio_metric(discriminator_augmentation.RT_METRIC,
                          tf.reduce_sum(tf.sign(real_logits)), n_real)
  if rt_only:
    return
  losses.add_ratio_metric("overfitting/logit_real", tf.reduce_sum(real_logits),
                          n_real)
  losses.add_ratio_metric("overfitting/logit_fake", tf.reduce_sum(fake_logits),
                          n_fake)
  losses.add_ratio_metric("overfitting/accuracy_real", tf.reduce_sum(
      tf.cast(real_logits > 0, tf.float32)), n_real)
  losses.add_ratio_metric("overfitting/accuracy_fake", tf.reduce_sum(
      tf.cast(fake_logits < 0, tf.float32)), n_fake)

