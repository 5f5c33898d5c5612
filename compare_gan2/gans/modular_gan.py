"""ModularGAN: compare_gan's configurable GAN (losses, penalties, architectures by gin).

The estimator-style split of compare_gan is kept:
- `input_fn` turns dataset examples into `(features, labels)` batches; per-example
  randomness (z, sampled labels) is drawn here, statelessly from
  `(dataset.seed, example index)`, so a resumed run sees exactly the same inputs.
- `train_step` is the body of compare_gan's `model_fn` for one training step: the
  batch of `disc_iters + 1` sub-steps is split, D is updated on each of the first
  `disc_iters` parts, then G on the last part (compare_gan's "unrolled" TPU graph,
  used here on every device). It runs in a replica context of any tf.distribute
  strategy; the trainer owns the loop, checkpoints and summaries.

Its parts live next to it: latents and the input pipeline in gans/inputs.py,
the EMA generator in gans/ema.py, the step's pieces (slices, loss terms, the
batch split) in gans/step_parts.py, and compare_gan's `create_loss` route for
subclasses written against compare_gan in gans/create_loss_route.py (opt-in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import functools
import typing

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2 import random_ops
from compare_gan2.architectures import normalization
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store
from compare_gan2.architectures import get_architecture
from compare_gan2.gans import create_loss_route
from compare_gan2.gans import data_efficient
from compare_gan2.gans import ema as ema_lib
from compare_gan2.gans import inputs
from compare_gan2.gans import loss_lib
from compare_gan2.gans import penalty_lib
from compare_gan2.gans import regularizers
from compare_gan2.gans import step_parts

if typing.TYPE_CHECKING:
  from compare_gan2 import datasets

NUM_SUMMARY_IMAGES = 64

# `run_config.precision` (passed in `parameters`) -> the networks' compute dtype.
_PRECISION_DTYPES = {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16,
                     "mixed_float16": tf.float16}

# Folded into the penalties' stateless seeds (z and labels use 1, 2: inputs.py).
_SEED_PENALTY = 3
# Folded into the G step's seeds (data-efficient components only).
_SEED_GENERATOR_STEP = 4

Features = step_parts.Features
Outputs = step_parts.Outputs
Slices = dict[str, step_parts.Slice]
# (gradients, loss, summaries) of one D or G step on one batch.
Gradients = tuple[list[tf.Tensor | None], tf.Tensor, dict[str, tf.Tensor]]


def _prefixed(role: str, terms: step_parts.LossTerms) -> dict[str, tf.Tensor]:
  """Summaries of LossTerms `terms` of "d" or "g": "d_penalty", "g_adversarial";
  metric names with a "/" ("accuracy/rotation_real") are kept as they are."""
  return {(name if "/" in name else f"{role}_{name}"): value
          for name, value in terms.summaries().items()}


@gin.configurable(denylist=["dataset", "parameters", "model_dir"])
class ModularGAN:
  """GAN assembled from an architecture, a loss and a penalty (compare_gan's
  `gans/modular_gan.py`)."""

  def __init_subclass__(cls, **kwargs: typing.Any):
    """Refuses a `create_loss` override that training would not use."""
    super().__init_subclass__(**kwargs)
    if (cls.create_loss is not ModularGAN.create_loss and
        not issubclass(cls, create_loss_route.CreateLossRoute)):
      raise TypeError(
          f"{cls.__name__} overrides create_loss (compare_gan's route); to "
          "train through it, list create_loss_route.CreateLossRoute first "
          f"among its bases: class {cls.__name__}(CreateLossRoute, "
          f"{', '.join(b.__name__ for b in cls.__bases__)}).")

  def __init__(self,
               dataset: datasets.ImageDatasetSpec,
               parameters: Mapping[str, typing.Any],
               model_dir: str | None = None,
               deprecated_split_disc_calls: bool = False,
               experimental_joint_gen_for_disc: bool = False,
               experimental_force_graph_unroll: bool = False,
               g_use_ema: bool = False,
               ema_decay: float = 0.9999,
               ema_start_step: int = 40000,
               g_optimizer_fn: Callable[..., optimizers.Optimizer] = optimizers.AdamOptimizer,
               d_optimizer_fn: Callable[..., optimizers.Optimizer] | None = None,
               g_lr: float = 0.0002,
               d_lr: float | None = None,
               conditional: bool = False,
               fit_label_distribution: bool = False,
               cheap_generator_step: bool = True):
    del experimental_force_graph_unroll  # Every device runs the unrolled step.
    self._dataset = dataset
    self._parameters = dict(parameters)
    self._model_dir = model_dir
    self._deprecated_split_disc_calls = deprecated_split_disc_calls
    self._experimental_joint_gen_for_disc = experimental_joint_gen_for_disc
    self._g_use_ema = g_use_ema
    self._ema_decay = ema_decay
    self._ema_start_step = ema_start_step
    self._g_lr = g_lr
    self._d_lr = g_lr if d_lr is None else d_lr
    self._conditional = conditional
    self._fit_label_distribution = fit_label_distribution
    self._cheap_generator_step = bool(cheap_generator_step)
    if conditional and not dataset.num_classes:
      raise errors.ConfigError(
          f"ModularGAN.conditional=True needs a labelled dataset, but "
          f"{dataset.name!r} has no classes. Set ModularGAN.conditional = False "
          "or choose a labelled dataset.")
    self.z_dim = int(self._parameters.get("z_dim", 128))
    self.disc_iters = int(self._parameters.get("disc_iters", 1))
    self.penalty_weight = float(self._parameters.get("lambda", 1.0))
    gen_cls, disc_cls = get_architecture(self._parameters["architecture"])
    self.generator = gen_cls(image_shape=tuple(dataset.image_shape))
    self.discriminator = disc_cls()
    self.g_optimizer = g_optimizer_fn(self._g_lr, name="g_opt")
    self.d_optimizer = (d_optimizer_fn or g_optimizer_fn)(self._d_lr, name="d_opt")
    self.ema = ema_lib.GeneratorEMA(ema_decay, ema_start_step) if g_use_ema else None
    self._compute_dtype = _PRECISION_DTYPES[self._parameters.get("precision",
                                                                 "float32")]
    if self._compute_dtype == tf.float16:  # mixed_float16: dynamic loss scaling.
      self.g_optimizer.use_loss_scaling()
      self.d_optimizer.use_loss_scaling()
    # Created by `build` (None before).
    self.global_step: tf.Variable = None
    self.global_step_disc: tf.Variable = None
    # Data-efficient components (gin r1.*, lecam.*, augment.*, ...; all off by
    # default). ADA's speed counts the reals D sees per training step.
    self.data_efficient = data_efficient.DataEfficient(
        reals_per_step=self.disc_iters * self.batch_size)
    if (self.data_efficient.enabled and
        isinstance(self, create_loss_route.CreateLossRoute)):
      raise errors.ConfigError(
          f"{type(self).__name__} trains through create_loss (compare_gan's "
          "route), which the data-efficient components do not reach; unset "
          f"{sorted(self.data_efficient.describe())}.")

  # ---------------------------------------------------------------- properties
  @property
  def dataset(self) -> datasets.ImageDatasetSpec:
    return self._dataset

  @property
  def conditional(self) -> bool:
    return self._conditional

  @property
  def num_classes(self) -> int | None:
    return self._dataset.num_classes

  @property
  def num_sub_steps(self) -> int:
    """Sub-steps per training step: disc_iters D updates and one G update."""
    return self.disc_iters + 1

  @property
  def batch_size(self) -> int:
    """Global batch of one sub-step (`options.batch_size`)."""
    return int(self._parameters["batch_size"])

  @property
  def learning_rates(self) -> dict[str, float]:
    return {"g_lr": self._g_lr, "d_lr": self._d_lr}

  @property
  def g_use_ema(self) -> bool:
    return self._g_use_ema

  # ----------------------------------------------------------------- input_fn
  def _preprocess(self, index: tf.Tensor, image: tf.Tensor, label: tf.Tensor
                  ) -> tuple[Features, tf.Tensor]:
    """Adds z (and sampled labels) drawn statelessly from (dataset.seed, index)."""
    return inputs.example_features(
        index, image, label, self._dataset.seed, self.z_dim,
        num_classes=self.num_classes if self._conditional else None,
        fit_label_distribution=self._fit_label_distribution)

  def input_fn(self, batch_size: int, start_index: int = 0,
               input_context: tf.distribute.InputContext | None = None
               ) -> tf.data.Dataset:
    """Batches of `batch_size` examples (all sub-steps of one step on one replica).

    Args:
      batch_size: per-replica examples per training step, i.e. the per-replica
        sub-step batch times `num_sub_steps`.
      start_index: examples this pipeline consumed before (resume position).
      input_context: tf.distribute.InputContext for sharding, or None.
    """
    return inputs.training_batches(self._dataset, self._preprocess, batch_size,
                                   start_index, input_context)

  # ------------------------------------------------------------------ building
  def _one_hot(self, labels: tf.Tensor | None) -> tf.Tensor | None:
    """One-hot labels, or None when unconditional; label -1 gives a zero vector.

    Soft labels (float [bs, num_classes], e.g. soft_labeled_imagenet_128) pass
    through unchanged.
    """
    if not self._conditional or labels is None:
      return None
    if labels.dtype.is_floating and labels.shape.rank == 2:
      return labels
    return tf.one_hot(labels, self.num_classes, dtype=tf.float32)

  def build(self) -> None:
    """Creates every variable eagerly; call once under `strategy.scope()`."""
    if self.global_step is not None:
      return
    counter = functools.partial(
        tf.Variable, 0, dtype=tf.int64, trainable=False,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.global_step = counter(name="global_step")
    self.global_step_disc = counter(name="global_step_disc")
    y = self._one_hot(tf.zeros([2], tf.int32))
    self.call_networks(tf.zeros([2, self.z_dim]), y)
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)
    if self.ema is not None:
      self.ema.build(self.generator.trainable_variables)
    self.data_efficient.build()

  def call_networks(self, z: tf.Tensor, y: tf.Tensor | None) -> tf.Tensor:
    """G(z, y) and D with all its heads on the result, without state updates
    (the first call creates every variable); returns the images."""
    with variable_store.no_state_updates():
      images = self.generator(z, y, is_training=True)
      self.discriminator_outputs(images, y, is_training=True)
    return images

  def variables_to_save(self) -> dict[str, tf.Variable]:
    """{checkpoint name: variable}: everything a resumed run needs."""
    result = {"global_step": self.global_step,
              "global_step_disc": self.global_step_disc}
    for net in (self.generator, self.discriminator):
      result.update({ema_lib.variable_name(v): v for v in net.variables})
    result.update(self.g_optimizer.variables_to_save())
    result.update(self.d_optimizer.variables_to_save())
    if self.ema is not None:
      result.update(self.ema.variables_to_save())
    result.update(self.data_efficient.variables_to_save())
    return result

  # ------------------------------------------------- the step's three parts
  # 1. D's batch: named slices.  2. D and its heads per slice.  3. Loss terms.
  # Subclasses (SSGAN, S3GAN) override these; the D and G steps, the cheap G
  # step and `create_loss` are all built from them.

  def real_labels(self, labels: tf.Tensor | None) -> tf.Tensor | None:
    """One-hot (or soft) labels of the real images, or None."""
    return self._one_hot(labels)

  def discriminator_slices(self, features: Features, labels: tf.Tensor,
                           generated: tf.Tensor, seed: tf.Tensor | None = None
                           ) -> Slices:
    """{name: Slice} D sees in one step, in batch order: "real", "fake".

    `seed`: the step's [2] seed, which D's input augmentation (gin
    `augment.*`) draws from; the GAN passes it only when augmentation is on.
    """
    slices = {
        "real": step_parts.Slice(features["images"], self.real_labels(labels)),
        "fake": step_parts.Slice(
            generated, self._one_hot(features.get("sampled_labels"))),
    }
    return self.data_efficient.augment_slices(slices, seed)

  def _slices(self, features: Features, labels: tf.Tensor, generated: tf.Tensor,
              seed: tf.Tensor | None) -> Slices:
    """`discriminator_slices`, given the step's seed when D's inputs are
    augmented (so a subclass without the `seed` argument still works)."""
    if self.data_efficient.augments:
      return self.discriminator_slices(features, labels, generated, seed=seed)
    return self.discriminator_slices(features, labels, generated)

  def discriminator_outputs(self, x: tf.Tensor, y: tf.Tensor | None,
                            is_training: bool) -> Outputs:
    """D and its heads on one batch: {"probs", "logits", "features", ...}."""
    probs, logits, features = self.discriminator(x, y, is_training=is_training)
    return {"probs": probs, "logits": logits, "features": features}

  def discriminator_logits(self, images: tf.Tensor, labels: tf.Tensor | None = None
                           ) -> tf.Tensor:
    """D's adversarial logits [N] on unaugmented `images` (with their dataset
    `labels` when D is conditional), in inference mode without state updates:
    what evaluation's `d_overfitting` task compares on training reals, held-out
    reals and fakes (Karras et al. 2020, Figure 1)."""
    with variable_store.no_state_updates():
      outputs = self.discriminator_outputs(images, self.real_labels(labels),
                                           is_training=False)
    return tf.reshape(outputs["logits"], [-1])

  def discriminator_fn(self, x: tf.Tensor, y: tf.Tensor | None, is_training: bool
                       ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(probs, logits, features) of D with its heads (what penalties call)."""
    outputs = self.discriminator_outputs(x, y, is_training)
    return outputs["probs"], outputs["logits"], outputs["features"]

  def run_discriminator(self, slices: Mapping[str, step_parts.Slice],
                        is_training: bool = True) -> dict[str, Outputs]:
    """{slice name: {output: tensor}}: one D call on the concatenated slices
    (one call per slice with `deprecated_split_disc_calls`)."""
    if self._deprecated_split_disc_calls:
      return {name: self.discriminator_outputs(part.images, part.y, is_training)
              for name, part in slices.items()}
    x, y = step_parts.concat_slices(slices)
    return step_parts.split_outputs(
        self.discriminator_outputs(x, y, is_training), slices)

  @property
  def adversarial_weight(self) -> float:
    """Weight of the GAN and penalty terms (0: a self-supervised task alone)."""
    return 1.0

  def discriminator_loss_terms(self, outputs: Mapping[str, Outputs],
                               slices: Mapping[str, step_parts.Slice],
                               is_training: bool = True,
                               seed: tf.Tensor | None = None,
                               compute_penalty: bool = True
                               ) -> step_parts.LossTerms:
    """D's LossTerms: "adversarial" (loss.fn) and "penalty" (lambda * penalty.fn)."""
    losses = step_parts.LossTerms()
    real, fake = outputs["real"], outputs["fake"]
    d_loss, d_loss_real, d_loss_fake, _ = loss_lib.get_losses(
        d_real=real["probs"], d_fake=fake["probs"],
        d_real_logits=real["logits"], d_fake_logits=fake["logits"])
    losses.add("adversarial", d_loss, self.adversarial_weight)
    losses.add_metric("loss_real", d_loss_real)
    losses.add_metric("loss_fake", d_loss_fake)
    if compute_penalty:
      penalty = penalty_lib.get_penalty_loss(
          x=slices["real"].images, x_fake=slices["fake"].images,
          y=slices["real"].y, is_training=is_training,
          discriminator=self._discriminator_for_penalty(), seed=seed)
      losses.add("penalty", penalty, self.penalty_weight * self.adversarial_weight)
    return losses

  def generator_loss_terms(self, outputs: Mapping[str, Outputs]
                           ) -> step_parts.LossTerms:
    """G's LossTerms: "adversarial" (loss.fn's g_loss).

    Reads D(real) only if it is in `outputs` (then the full loss.fn runs);
    otherwise loss.fn must be one whose g_loss reads D(fake) alone.
    """
    losses = step_parts.LossTerms()
    fake = outputs["fake"]
    if "real" in outputs:
      *_, g_loss = loss_lib.get_losses(
          d_real=outputs["real"]["probs"], d_fake=fake["probs"],
          d_real_logits=outputs["real"]["logits"], d_fake_logits=fake["logits"])
    else:
      g_loss = loss_lib.generator_loss_from_fakes(fake["probs"], fake["logits"])
    losses.add("adversarial", g_loss, self.adversarial_weight)
    return losses

  def generator_reads(self) -> tuple[str, ...]:
    """The slices G's loss terms read: "fake", and "real" unless loss.fn's
    g_loss reads D(fake) alone."""
    if loss_lib.generator_loss_reads_fakes_only():
      return ("fake",)
    return ("real", "fake")

  def _discriminator_for_penalty(self) -> Callable[..., tuple[tf.Tensor, ...]]:
    """`discriminator_fn` plus D's `trainable_variables` (l2_penalty reads them)."""
    fn = functools.partial(self.discriminator_fn)
    # A partial takes attributes; its stub (typeshed) does not declare any.
    fn.trainable_variables = self.discriminator.trainable_variables  # type: ignore[attr-defined]
    return fn

  def create_loss(self, features: Features, labels: tf.Tensor, generated: tf.Tensor,
                  is_training: bool = True, compute_penalty: bool = True,
                  seed: tf.Tensor | None = None
                  ) -> tuple[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]]:
    """compare_gan's `create_loss`: D on every slice, then D's and G's terms.

    Not on the training step's route unless a subclass opts in with
    `create_loss_route.CreateLossRoute`.

    Returns:
      (d_loss, g_loss, {summary name: scalar}) with "d_*" and "g_*" summaries.
    """
    slices = self._slices(features, labels, generated, seed)
    outputs = self.run_discriminator(slices, is_training)
    d_terms = self.discriminator_loss_terms(outputs, slices, is_training, seed,
                                            compute_penalty)
    g_terms = self.generator_loss_terms(outputs)
    summaries = _prefixed("d", d_terms)
    summaries.update(_prefixed("g", g_terms))
    return d_terms.total, g_terms.total, summaries

  # ---------------------------------------------------------------- gradients
  def _with_static_batch(self, features: Features, labels: tf.Tensor
                         ) -> tuple[Features, tf.Tensor]:
    """Gives an unknown batch dimension its value (a multi-worker strategy's
    input loses it): the per-replica sub-step batch times num_sub_steps."""
    if features["images"].shape[0] is not None:
      return features, labels
    replica = tf.distribute.get_replica_context()
    replicas = 1 if replica is None else int(replica.num_replicas_in_sync)
    size = self.batch_size // replicas * self.num_sub_steps
    def static(t: tf.Tensor) -> tf.Tensor:
      t = tf.convert_to_tensor(t)
      return tf.ensure_shape(t, [size] + t.shape.as_list()[1:])
    return {k: static(v) for k, v in features.items()}, static(labels)

  def _split(self, features: Features, labels: tf.Tensor
             ) -> tuple[list[Features], list[tf.Tensor]]:
    """Splits a step's batch into num_sub_steps equal parts."""
    features, labels = self._with_static_batch(features, labels)
    return step_parts.split_batch(features, labels, self.num_sub_steps)

  def _generate(self, features: Features, is_training: bool = True) -> tf.Tensor:
    return self.generator(features["z"], self._one_hot(features.get("sampled_labels")),
                          is_training=is_training)

  def _step_seed(self, counter: tf.Variable, micro_batch: int = 0) -> tf.Tensor:
    replica = tf.distribute.get_replica_context()
    replica_id = 0 if replica is None else replica.replica_id_in_sync_group
    if micro_batch:
      return random_ops.derive_seed((_SEED_PENALTY, micro_batch), counter,
                                    replica_id)
    return random_ops.derive_seed((_SEED_PENALTY, 0), counter, replica_id)

  def discriminator_loss(self, features: Features, labels: tf.Tensor,
                         generated: tf.Tensor, seed: tf.Tensor | None = None
                         ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """(d_loss, summaries) of D's step on one batch: compare_gan's `create_loss`
    d_loss (D on every slice, then D's loss terms), plus the data-efficient
    components' slices and terms when any is on."""
    components = self.data_efficient
    slices = self._slices(features, labels, generated, seed)
    def augment(images: tf.Tensor, stream: int) -> tf.Tensor:
      return components.augment(images, seed, stream)
    if components.enabled:
      slices = components.consistency_slices(
          slices, features["images"], generated,
          lambda: self._perturbed_fakes(features, seed), seed, augment)
    outputs = self.run_discriminator(slices, is_training=True)
    terms = self.discriminator_loss_terms(outputs, slices, True, seed)
    if components.enabled:
      components.discriminator_terms(
          terms, outputs, slices, real_images=features["images"],
          fake_images=generated, seed=seed, step=self.global_step,
          disc_step=self.global_step_disc,
          logits_fn=lambda x, y: self.discriminator_fn(x, y, True)[1],
          augment=augment, adversarial_weight=self.adversarial_weight,
          lazy_with_cond=self._d_sees_examples_independently())
    return terms.total, _prefixed("d", terms)

  def _perturbed_fakes(self, features: Features, seed: tf.Tensor | None,
                       stop_gradient: bool = True) -> tf.Tensor:
    """G(z + dz, y) of the fakes' latents (zCR), without G state updates."""
    z = self.data_efficient.perturbed_latents(features["z"], seed)
    with variable_store.no_state_updates():
      images = self.generator(z, self._one_hot(features.get("sampled_labels")),
                              is_training=True)
    return tf.stop_gradient(images) if stop_gradient else images

  def discriminator_gradients(self, features: Features, labels: tf.Tensor,
                              generated: tf.Tensor, seed: tf.Tensor | None = None
                              ) -> Gradients:
    """(gradients for D's trainable variables, d_loss, summaries) on one batch:
    `discriminator_loss` plus D's regularizer; `generated` is not
    differentiated through and nothing is applied (`d_optimizer.apply` does
    that)."""
    variables = self.discriminator.trainable_variables
    with tf.GradientTape() as tape:
      generated = tf.stop_gradient(generated)
      d_loss, summaries = self.discriminator_loss(features, labels, generated, seed)
      d_loss += regularizers.discriminator_regularization(self.discriminator)
    return self.d_optimizer.gradients(tape, d_loss, variables), d_loss, summaries

  def _d_sees_examples_independently(self) -> bool:
    """True if D's output on one example does not depend on the others in its call.

    Batch norm in D couples the examples of a call; layer norm and spectral
    norm do not.
    """
    return self.discriminator.batch_norm_fn in (None, normalization.no_batch_norm)

  def uses_cheap_generator_step(self) -> bool:
    """True if the G step runs D only on the slices G's terms read.

    Exact (the same loss, gradients and spectral-norm updates as D on every
    slice) when D treats examples independently and makes one call per step;
    `ModularGAN.cheap_generator_step = False` turns it off (and
    `create_loss_route.CreateLossRoute`).
    """
    return (self._cheap_generator_step
            and self._d_sees_examples_independently()
            and not self._deprecated_split_disc_calls)

  def generator_loss(self, features: Features, labels: tf.Tensor, generated: tf.Tensor,
                     seed: tf.Tensor | None = None
                     ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """(g_loss, summaries) of G's step: compare_gan's `create_loss` g_loss.

    With the cheap step D sees only the slices `generator_reads` names (for a
    hinge-like loss the fakes, and e.g. their rotations): half the D work of
    compare_gan's generator step, and every G term is still computed.
    `seed`: the G step's [2] seed (used by the data-efficient components only).
    """
    slices = self._slices(features, labels, generated, seed)
    if self.uses_cheap_generator_step():
      reads = set(self.generator_reads())
      slices = {name: part for name, part in slices.items() if name in reads}
    outputs = self.run_discriminator(slices, is_training=True)
    terms = self.generator_loss_terms(outputs)
    if self.data_efficient.uses_generator_step:
      self.data_efficient.generator_terms(
          terms, generated,
          self._perturbed_fakes(features, seed, stop_gradient=False),
          self.adversarial_weight)
    return terms.total, _prefixed("g", terms)

  def generator_gradients(self, features: Features, labels: tf.Tensor,
                          seed: tf.Tensor | None = None) -> Gradients:
    """(gradients for G's trainable variables, g_loss, summaries): G(z, y) on
    `features`, then `generator_loss` plus G's regularizer."""
    variables = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      generated = self._generate(features)
      if seed is None:
        g_loss, summaries = self.generator_loss(features, labels, generated)
      else:
        g_loss, summaries = self.generator_loss(features, labels, generated, seed)
      g_loss += regularizers.generator_regularization(self.generator)
    return self.g_optimizer.gradients(tape, g_loss, variables), g_loss, summaries

  def _generator_step_seed(self, micro_batch: int) -> tf.Tensor | None:
    """The G step's [2] seed, or None when no component draws in G's step."""
    if not self.data_efficient.uses_generator_step:
      return None
    replica = tf.distribute.get_replica_context()
    replica_id = 0 if replica is None else replica.replica_id_in_sync_group
    return random_ops.derive_seed((_SEED_GENERATOR_STEP, micro_batch),
                                  self.global_step, replica_id)

  # ------------------------------------------------------------ training step
  @property
  def gradient_accumulation_steps(self) -> int:
    """Micro-batches per optimizer step (`run_config.gradient_accumulation_steps`,
    passed in `parameters`)."""
    return int(self._parameters.get("gradient_accumulation_steps", 1))

  def _accumulated(self, compute: Callable[[Features, tf.Tensor, int], Gradients],
                   features: Features, labels: tf.Tensor) -> Gradients:
    """`compute(features, labels, micro_batch)` -> (grads, loss, summaries) on each
    of `gradient_accumulation_steps` equal micro-batches; returns their means.

    The mean of the micro-batches' mean losses is the loss of the whole batch, so
    for a network without batch norm the update equals one batch k times larger.
    Layer state (spectral-norm vectors, batch-norm moving statistics) is updated by
    the last micro-batch only: every micro-batch reads the same spectral-norm
    vectors, so sigma (and the stored u) are those of the whole batch; batch norm
    normalises each micro-batch with its own moments (docs/distributed_training.md).
    """
    k = self.gradient_accumulation_steps
    if k == 1:
      return compute(features, labels, 0)
    micro_features, micro_labels = step_parts.split_batch(features, labels, k)
    total_grads: list[tf.Tensor | None] = []
    total_loss = 0.0
    total_summaries: dict[str, tf.Tensor] = {}
    for i in range(k):
      if i < k - 1:
        with variable_store.no_state_updates():
          grads, loss, summaries = compute(micro_features[i], micro_labels[i], i)
      else:
        grads, loss, summaries = compute(micro_features[i], micro_labels[i], i)
      if i == 0:
        total_grads = list(grads)
      else:
        total_grads = [None if t is None else t + g
                       for t, g in zip(total_grads, grads)]
      total_loss += loss
      for name, value in summaries.items():
        total_summaries[name] = total_summaries.get(name, 0.0) + value
    scale = 1.0 / k
    return ([None if g is None else g * scale for g in total_grads],
            total_loss * scale,
            {name: value * scale for name, value in total_summaries.items()})

  def _train_discriminator(self, features: Features, labels: tf.Tensor,
                           generated: tf.Tensor | None
                           ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    def compute(micro_features: Features, micro_labels: tf.Tensor,
                micro_batch: int) -> Gradients:
      micro_generated = generated
      if generated is None:
        micro_generated = self._generate(micro_features)
      seed = self._step_seed(self.global_step_disc, micro_batch)
      return self.discriminator_gradients(micro_features, micro_labels,
                                          micro_generated, seed)
    if generated is not None and self.gradient_accumulation_steps > 1:
      raise ValueError("ModularGAN.experimental_joint_gen_for_disc cannot be "
                       "combined with run_config.gradient_accumulation_steps > 1.")
    grads, d_loss, summaries = self._accumulated(compute, features, labels)
    self.d_optimizer.apply(grads, self.discriminator.trainable_variables)
    self.global_step_disc.assign_add(1)
    self.data_efficient.after_discriminator_step(
        summaries, self.gradient_accumulation_steps)
    return d_loss, summaries

  def _train_generator(self, features: Features, labels: tf.Tensor
                       ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    grads, g_loss, summaries = self._accumulated(
        lambda f, y, m: self.generator_gradients(f, y,
                                                 self._generator_step_seed(m)),
        features, labels)
    self.g_optimizer.apply(grads, self.generator.trainable_variables)
    self.global_step.assign_add(1)
    if self.ema is not None:
      self.ema.update(self.generator.trainable_variables, self.global_step)
    return g_loss, summaries

  @property
  def compute_dtype(self) -> tf.DType:
    """The networks' compute dtype in training (`run_config.precision`)."""
    return self._compute_dtype

  def train_step(self, inputs: tuple[Features, tf.Tensor]) -> dict[str, tf.Tensor]:
    """One training step (disc_iters D updates, one G update) in a replica context.

    Under mixed precision G and D compute in bfloat16 / float16 (variables,
    losses, penalties and optimizer updates stay float32).

    Returns:
      dict of scalar tensors: `d_{i}` per D sub-step, `g`, and loss terms.
    """
    if self._compute_dtype == tf.float32:
      return self._train_step(inputs)
    with precision.mixed_precision(self._compute_dtype):
      return self._train_step(inputs)

  def _train_step(self, inputs: tuple[Features, tf.Tensor]) -> dict[str, tf.Tensor]:
    features, labels = inputs
    parts, label_parts = self._split(features, labels)
    d_parts = parts[:self.disc_iters]
    if self._experimental_joint_gen_for_disc:
      joint = {k: tf.concat([p[k] for p in d_parts], 0) for k in d_parts[0]}
      generated_parts = tf.split(self._generate(joint), self.disc_iters)
    else:
      generated_parts = [None] * self.disc_iters
    metrics = {}
    for i in range(self.disc_iters):
      d_loss, summaries = self._train_discriminator(d_parts[i], label_parts[i],
                                                    generated_parts[i])
      metrics[f"d_{i}"] = d_loss
      if i == 0:
        metrics.update(summaries)
    metrics["g"], summaries = self._train_generator(parts[-1], label_parts[-1])
    metrics.update(summaries)
    metrics.update(self.data_efficient.after_step(self.global_step))
    return metrics

  # ------------------------------------------------------------------ sampling
  def fixed_summary_z(self, num: int) -> tf.Tensor:
    """The same `num` latents every time (for comparable sample grids)."""
    return inputs.z_generator([num, self.z_dim], name="summary_z",
                       seed=tf.constant([7, 11], tf.int32))

  def summary_images(self, num: int = NUM_SUMMARY_IMAGES
                     ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({grid name: images}, sample sheet) written at every checkpoint.

    The same z every time; conditional rows hold one class each. Grids:
    "fake_images" (raw G) and "fake_images_ema"; the sheet is the EMA one if
    there is one.
    """
    z = self.fixed_summary_z(num)
    labels = None
    if self.conditional:
      columns = int(np.ceil(np.sqrt(num)))
      num_classes = typing.cast(int, self.num_classes)  # Conditional: labelled.
      labels = tf.constant([(i // columns) % num_classes for i in range(num)],
                           tf.int32)
    grids = {"fake_images": self.generate(z, labels, use_ema=False,
                                          is_training=True).numpy()}
    if self.g_use_ema:
      grids["fake_images_ema"] = self.generate(z, labels, use_ema=True,
                                               is_training=True).numpy()
    return grids, grids.get("fake_images_ema", grids["fake_images"])

  def real_summary_images(self, num: int = NUM_SUMMARY_IMAGES) -> np.ndarray:
    """The first `num` training images."""
    _, images, _ = next(iter(self._dataset.train_examples(start_index=0).batch(num)))
    return images.numpy()

  def generator_variable_mapping(self, use_ema: bool = True) -> dict[str, tf.Variable]:
    """{raw variable name: shadow} when sampling with the EMA generator, else {}."""
    if use_ema and self.ema is not None:
      return dict(self.ema.shadows)
    return {}

  def generate(self, z: tf.Tensor, labels: tf.Tensor | None = None,
               use_ema: bool = True, is_training: bool = False) -> tf.Tensor:
    """Samples G(z, y) in [0, 1] without changing any state.

    With `use_ema` and `g_use_ema`, the EMA weights are used. `is_training=True`
    uses batch statistics in batch norm (what training-time summaries show).
    """
    y = self._one_hot(labels)
    with variable_store.no_state_updates():
      with self.generator.store.override(self.generator_variable_mapping(use_ema)):
        return self.generator(z, y, is_training=is_training)
