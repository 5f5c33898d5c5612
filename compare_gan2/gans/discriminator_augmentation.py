"""Augmentation of what D sees, in the GAN step (gin `augment.*`, `ada.*`).

Off by default (`augment.method = "none"`). With "diffaugment" or "ada" the
GAN's real and fake slices (S3GAN's labelled reals too) are augmented before D,
in D's and in G's step, differentiably (G's gradient goes through the
augmentation), and before SSGAN / S3GAN rotate their images. Each step draws
from its own seeds: the step's seed (per step, replica and micro-batch, as the
penalties') with the slice's stream folded in, so the reals and the fakes get
independent draws, and every other user of a slice's images in the step (R1,
the consistency slices) can apply the same draws.

ModularGAN's images are in [0, 1]; the augmentations (compare_gan2/augmentation)
take [-1, 1]: images are mapped by 2x - 1, augmented, and mapped back.

| gin                       | default                    | source                |
|---------------------------|----------------------------|-----------------------|
| augment.method            | "none"                     | "diffaugment", "ada"  |
| augment.policy            | "color,translation,cutout" | DiffAugment's default |
| augment.translation_ratio | 0.125                      | DiffAugment           |
| augment.cutout_ratio      | 0.5                        | DiffAugment           |
| ada.initial_p             | 0.0                        | stylegan2-ada         |
| ada.target                | 0.6 (None: p stays fixed)  | stylegan2-ada         |
| ada.speed_kimg            | 500                        | stylegan2-ada         |
| ada.interval              | 4 (training steps)         | stylegan2-ada         |
| ada.transforms            | "bgc"                      | stylegan2-ada         |

ADA's p (adaptive target) is a checkpointed variable `ada/p`; every D step adds
the replica-summed sum of sign(D(real)) and count to `ada/rt_sum` /
`ada/rt_count` (checkpointed, so a resumed run continues the interval), and
every `interval` training steps p += sign(r_t - target) * images / (speed_kimg
* 1000), images = the reals D saw in the interval (`augmentation.ada.adjust_p`),
and the sums restart. p is the summary "augment/p", r_t the ratio metric
"overfitting/rt".
"""

import dataclasses
import typing

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.augmentation import ada
from compare_gan2.augmentation import diffaugment

METHODS = ("none", "diffaugment", "ada")

# The ratio metric whose sums ADA's heuristic reads (data_efficient.py).
RT_METRIC = "overfitting/rt"


@dataclasses.dataclass(frozen=True)
class AugmentOptions:
  """`augment.*`: the method and DiffAugment's settings."""
  method: str = "none"
  policy: str = "color,translation,cutout"
  translation_ratio: float = 0.125
  cutout_ratio: float = 0.5

  def __post_init__(self):
    errors.check(self.method in METHODS,
                 f"augment.method must be one of {METHODS}, got {self.method!r}.")
    if self.method == "diffaugment":
      diffaugment.parse_policy(self.policy)  # A ConfigError naming the policies.
      for name in ("translation_ratio", "cutout_ratio"):
        value = getattr(self, name)
        errors.check(0 <= value <= 1, f"augment.{name} must be in [0, 1], got {value}.")


@gin.configurable("augment", allowlist=["method", "policy", "translation_ratio",
                                        "cutout_ratio"])
def augment_options(method="none", policy="color,translation,cutout",
                    translation_ratio=0.125, cutout_ratio=0.5):
  """Augmentation of D's inputs (gin `augment.*`; method "none": off)."""
  return AugmentOptions(str(method), policy, float(translation_ratio),
                        float(cutout_ratio))


@dataclasses.dataclass(frozen=True)
class AdaOptions:
  """`ada.*`: ADA's p, its target and speed, and the transforms."""
  initial_p: float = 0.0
  target: typing.Optional[float] = 0.6
  speed_kimg: float = 500.0
  interval: int = 4
  transforms: typing.Any = "bgc"

  def __post_init__(self):
    errors.check(self.initial_p >= 0, f"ada.initial_p must be >= 0, got {self.initial_p}.")
    errors.check(self.target is None or 0 <= self.target <= 1,
                 f"ada.target must be in [0, 1] (or None: a fixed p), got {self.target}.")
    errors.check(self.speed_kimg > 0, f"ada.speed_kimg must be > 0, got {self.speed_kimg}.")
    errors.check(isinstance(self.interval, int) and self.interval >= 1,
                 f"ada.interval must be an integer >= 1, got {self.interval!r}.")
    ada.resolve_transforms(self.transforms)  # A ConfigError naming them.

  @property
  def adaptive(self):
    return self.target is not None


@gin.configurable("ada", allowlist=["initial_p", "target", "speed_kimg",
                                    "interval", "transforms"])
def ada_options(initial_p=0.0, target=0.6, speed_kimg=500.0, interval=4,
                transforms="bgc"):
  """ADA's settings (gin `ada.*`, read with `augment.method = "ada"`)."""
  return AdaOptions(float(initial_p), None if target is None else float(target),
                    float(speed_kimg), interval,
                    dict(transforms) if isinstance(transforms, dict) else transforms)


def _check_unused_bindings(method):
  """A ConfigError for `ada.*` / DiffAugment bindings the method ignores."""
  unused = []
  if method != "ada":
    unused += [f"ada.{k}" for k in ("initial_p", "target", "speed_kimg",
                                    "interval", "transforms")
               if gin_setup.is_bound(f"ada.{k}")]
  if method != "diffaugment":
    unused += [f"augment.{k}" for k in ("policy", "translation_ratio",
                                        "cutout_ratio")
               if gin_setup.is_bound(f"augment.{k}")]
  errors.check(not unused, f"{', '.join(unused)} set, but augment.method = {method!r} "
               "does not read them (set augment.method = \"ada\" or \"diffaugment\").")


def _state_variable(name, value=0.0):
  """A float32 scalar the step assigns identically on every replica."""
  return tf.Variable(value, dtype=tf.float32, trainable=False, name=name,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class DiscriminatorAugmentation:
  """D's input augmentation: `augment(images, seed)`, and ADA's p state."""

  def __init__(self, options, ada_settings=None, reals_per_step=None):
    self.options = options
    self.ada_settings = ada_settings if options.method == "ada" else None
    if self.adaptive and not reals_per_step:
      raise ValueError("Adaptive ADA needs reals_per_step (the reals D sees "
                       "per training step, all replicas).")
    self._reals_per_step = reals_per_step
    self._p = self._rt_sum = self._rt_count = None

  @classmethod
  def from_gin(cls, reals_per_step):
    """The configured augmentation, or None when `augment.method = "none"`."""
    options = augment_options()
    _check_unused_bindings(options.method)
    if options.method == "none":
      return None
    settings = ada_options() if options.method == "ada" else None
    return cls(options, settings, reals_per_step)

  @property
  def adaptive(self):
    """Whether ADA adjusts p (then D's step must report r_t's sums)."""
    return self.ada_settings is not None and self.ada_settings.adaptive

  def build(self):
    if self.adaptive and self._p is None:
      self._p = _state_variable("ada/p", self.ada_settings.initial_p)
      self._rt_sum = _state_variable("ada/rt_sum")
      self._rt_count = _state_variable("ada/rt_count")

  def variables_to_save(self):
    if self._p is None:
      return {}
    return {"ada/p": self._p, "ada/rt_sum": self._rt_sum,
            "ada/rt_count": self._rt_count}

  @property
  def p(self):
    """ADA's current p (a float for a fixed p)."""
    if self._p is not None:
      return self._p.read_value()
    return self.ada_settings.initial_p

  def augment(self, images, seed):
    """Images [N, H, W, C] in [0, 1] augmented with the [2] `seed`."""
    if self.ada_settings is not None:
      return self._ada(tf.convert_to_tensor(images, tf.float32), seed)
    x = tf.convert_to_tensor(images, tf.float32) * 2.0 - 1.0
    o = self.options
    x = diffaugment.diff_augment(x, seed, policy=o.policy,
                                 translation_ratio=o.translation_ratio,
                                 cutout_ratio=o.cutout_ratio)
    return (tf.cast(x, tf.float32) + 1.0) * 0.5

  def _ada(self, images, seed):
    """ADA on images in [0, 1]; at p <= 0 the images themselves (bit for bit:
    the [0, 1] -> [-1, 1] -> [0, 1] round trip rounds), so ADA before p rises
    trains exactly as the baseline."""
    p = self.p

    def augmented():
      x = ada.ada_augment(images * 2.0 - 1.0, seed, p,
                          transforms=self.ada_settings.transforms)
      return (tf.cast(x, tf.float32) + 1.0) * 0.5
    if isinstance(p, (int, float)):
      return augmented() if p > 0 else images
    return tf.cond(p > 0.0, augmented, lambda: images)

  def after_discriminator_step(self, summaries, replica_sum, scale=1.0):
    """Adds a D step's r_t sums (its summaries' `RT_METRIC` pair, times
    `scale`: the micro-batches they are a mean of), summed over replicas."""
    if not self.adaptive:
      return
    totals = replica_sum(scale * tf.stack([summaries[RT_METRIC + "@sum"],
                                           summaries[RT_METRIC + "@count"]]))
    self._rt_sum.assign_add(totals[0])
    self._rt_count.assign_add(totals[1])

  def after_step(self, global_step):
    """Every `interval` training steps (global_step, after the step), p moves
    towards the target by the interval's r_t; returns {"augment/p": p}."""
    if self.ada_settings is None:
      return {}
    if not self.adaptive:
      return {"augment/p": tf.constant(self.ada_settings.initial_p, tf.float32)}
    due = tf.equal(tf.math.floormod(tf.cast(global_step, tf.int64),
                                    self.ada_settings.interval), 0)
    count = self._rt_count.read_value()
    rt = self._rt_sum.read_value() / tf.maximum(count, 1.0)
    settings = self.ada_settings
    adjusted = ada.adjust_p(self._p.read_value(), rt, settings.target,
                            batch_size=self._reals_per_step,
                            interval=settings.interval,
                            speed_kimg=settings.speed_kimg)
    due = tf.logical_and(due, count > 0)
    p = tf.where(due, adjusted, self._p.read_value())
    self._p.assign(p)
    self._rt_sum.assign(tf.where(due, 0.0, self._rt_sum.read_value()))
    self._rt_count.assign(tf.where(due, 0.0, count))
    return {"augment/p": p}
