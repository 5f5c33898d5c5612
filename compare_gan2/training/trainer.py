"""The trainer: compare_gan's TPUEstimator.train() on tf.distribute, in Orbit's parts.

- inner loop (training/loop.py): `run_config.iterations_per_loop` steps in one
  `tf.function` call (the TPU host loop), XLA-compiled per replica with
  `run_config.jit_compile`;
- controller (training/controller.py): loops up to the last step, cut at every
  checkpoint step, then the due actions (training/actions.py): scalars, progress,
  checkpoint, the model's sample grids, an `on_checkpoint` hook.

Checkpoints are saved on exact multiples of `save_checkpoints_steps` (and at the
last step). A non-finite loss stops training with `NonFiniteLossError` naming
the step; no checkpoint is written after it, so the last good one stays. Under a
multi-worker strategy only the chief writes `model_dir` (training/workers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import typing

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2.training import actions as actions_lib
from compare_gan2.training import checkpoints
from compare_gan2.training import controller as controller_lib
from compare_gan2.training import loop as loop_lib
from compare_gan2.training import summaries
from compare_gan2.training import workers

if typing.TYPE_CHECKING:
  from compare_gan2 import builder

NonFiniteLossError = controller_lib.NonFiniteLossError


@typing.runtime_checkable
class TrainableModel(typing.Protocol):
  """What the Trainer needs of a model (ModularGAN and its subclasses, the
  S2GAN feature extractor's pre-training model). Optional:
  `gradient_accumulation_steps` (1 if absent)."""

  # Read-only properties here, so that a plain attribute, a class constant or a
  # property of the model all fit.
  @property
  def batch_size(self) -> int:
    """Global examples per sub-step."""

  @property
  def num_sub_steps(self) -> int:
    """Sub-batches per training step (disc_iters + 1 for the GANs)."""

  @property
  def global_step(self) -> tf.Variable:
    """Generator steps (int64, checkpointed); None before `build`."""

  def build(self) -> None:
    """Creates every variable (under the strategy's scope)."""

  def input_fn(self, batch_size: int, start_index: int = 0,
               input_context: tf.distribute.InputContext | None = None
               ) -> tf.data.Dataset:
    """The per-pipeline tf.data.Dataset of training batches, resumable at
    `start_index` examples."""

  def train_step(self, inputs: typing.Any) -> dict[str, tf.Tensor]:
    """One training step on a replica; returns {metric name: scalar}."""

  def variables_to_save(self) -> dict[str, tf.Variable]:
    """{checkpoint name: variable}."""

  @property
  def learning_rates(self) -> Mapping[str, float]:
    """{name: learning rate} written to TensorBoard as lr/<name>."""

  def summary_images(self) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """({grid name: images}, sample sheet or None) at each checkpoint."""

  def real_summary_images(self) -> np.ndarray | None:
    """A grid of training images, or None."""


class SelfScheduledModel(TrainableModel, typing.Protocol):
  """A TrainableModel that knows how long it trains (`train_to_end`'s models:
  the text-to-image GAN, the CLIP pre-training)."""

  @property
  def training_steps(self) -> int:
    """Generator steps to train to."""


def check_trainable(model: object) -> None:
  """TypeError naming the missing parts unless `model` is a TrainableModel."""
  missing = [name for name in ("batch_size", "num_sub_steps", "global_step",
                               "build", "input_fn", "train_step",
                               "variables_to_save", "learning_rates",
                               "summary_images", "real_summary_images")
             if not hasattr(model, name)]
  if missing:
    raise TypeError(f"{type(model).__name__} cannot be trained by the Trainer: it "
                    f"lacks {missing} (see training.trainer.TrainableModel).")


def _check_divisible(batch_size: int, num_replicas: int,
                     accumulation_steps: int = 1) -> None:
  if batch_size % (num_replicas * accumulation_steps):
    raise ValueError(
        f"options.batch_size={batch_size} is not divisible by the {num_replicas} "
        f"replicas of this strategy times run_config.gradient_accumulation_steps="
        f"{accumulation_steps}; choose a multiple of {num_replicas * accumulation_steps}.")


def _check_jit_compile(jit_compile: bool, strategy: tf.distribute.Strategy) -> None:
  """XLA-compiled replicas of a mirrored strategy need GPUs (TensorFlow drops the
  optimizers' merge_call for XLA on GPUs only)."""
  if not jit_compile or strategy.num_replicas_in_sync == 1:
    return
  if isinstance(strategy, (tf.distribute.TPUStrategy,)):
    return
  devices = getattr(strategy.extended, "worker_devices", ())
  if any("GPU" not in d.upper() for d in devices):
    raise ValueError(
        f"run_config.jit_compile = True with {strategy.num_replicas_in_sync} replicas "
        f"on {list(devices)}: TensorFlow compiles a mirrored replica's step with XLA "
        "only on GPUs and TPUs. Set run_config.jit_compile = False for CPU replicas.")


class Trainer:
  """Runs `gan.train_step` under `strategy` until `max_steps` generator steps.

  `gan` is a `TrainableModel` (ModularGAN and its subclasses; the S2GAN
  feature extractor trains through it too).
  """

  def __init__(self, gan: TrainableModel, strategy: tf.distribute.Strategy,
               model_dir: str, run_config: builder.RunConfig, max_steps: int,
               on_checkpoint: Callable[[int, str | None], object] | None = None):
    self.gan = gan
    self.strategy = strategy
    self.model_dir = model_dir
    self.run_config = run_config
    self.max_steps = int(max_steps)
    self._on_checkpoint = on_checkpoint
    self._checkpoint: tf.train.Checkpoint | None = None
    self._manager: tf.train.CheckpointManager | None = None
    self._restored: str | None = None
    check_trainable(gan)
    self.is_chief = workers.is_chief(strategy)
    _check_divisible(gan.batch_size, strategy.num_replicas_in_sync,
                     getattr(gan, "gradient_accumulation_steps", 1))
    _check_jit_compile(run_config.jit_compile, strategy)

  # ------------------------------------------------------------------ inputs
  def _dataset_fn(self, start_step: int
                  ) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
    gan = self.gan

    def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
      per_replica_sub_batch = ctx.get_per_replica_batch_size(gan.batch_size)
      per_replica_step_batch = per_replica_sub_batch * gan.num_sub_steps
      replicas_per_pipeline = ctx.num_replicas_in_sync // ctx.num_input_pipelines
      start_index = start_step * per_replica_step_batch * replicas_per_pipeline
      return gan.input_fn(per_replica_step_batch, start_index=start_index,
                          input_context=ctx)

    return dataset_fn

  # ------------------------------------------------------------------ actions
  def _actions(self, start_step: int
               ) -> tuple[list[actions_lib.Action], actions_lib.EveryNSteps]:
    """The actions between loops, in order; writers only on the chief."""
    every_save = actions_lib.EveryNSteps(self.run_config.save_checkpoints_steps,
                                         self.max_steps)
    save = actions_lib.SaveCheckpoint(self._manager, every_save)
    result: list[actions_lib.Action] = [
        actions_lib.WriteScalars(self.gan.learning_rates),
        actions_lib.LogProgress(self.max_steps,
                                self.gan.batch_size * self.gan.num_sub_steps,
                                start_step),
        save,
    ]
    if self.is_chief:
      result.append(actions_lib.WriteSampleGrids(self.gan, self.model_dir,
                                                 every_save))
    if self._on_checkpoint:
      result.append(actions_lib.CallAfterCheckpoint(self._on_checkpoint, save))
    return result, every_save

  def _write_real_images(self, step: int) -> None:
    """A grid of training images (what the model sees), once per run."""
    images = self.gan.real_summary_images()
    if images is not None:
      summaries.write_image_grid("real_images", images, step)

  # --------------------------------------------------------------------- train
  def restore(self) -> int:
    """Builds the GAN and restores the newest checkpoint; returns global_step."""
    if self._manager is None:
      with self.strategy.scope():
        self.gan.build()
        self._checkpoint = checkpoints.make_checkpoint(self.gan.variables_to_save())
      self._manager = checkpoints.make_manager(
          self._checkpoint, workers.checkpoint_dir(self.model_dir, self.strategy),
          self.run_config.keep_checkpoint_max)
      self._restored = checkpoints.restore_for_training(
          self._checkpoint, self.gan.variables_to_save(), self.model_dir)
      if self._restored:
        logging.info("Restored %s.", self._restored)
    return int(self.gan.global_step.numpy())

  def train(self) -> int:
    """Trains to max_steps, resuming from the latest checkpoint in model_dir."""
    gan, strategy = self.gan, self.strategy
    step = self.restore()
    if step >= self.max_steps:
      logging.info("global_step %d >= training_steps %d: nothing to train.", step,
                   self.max_steps)
      return step
    if self._restored is None:
      checkpoints.save(self._manager, step)
    dist_dataset = strategy.distribute_datasets_from_function(self._dataset_fn(step))
    loop = loop_lib.StepLoop(gan, strategy, iter(dist_dataset),
                             jit_compile=self.run_config.jit_compile)
    actions, every_save = self._actions(step)
    controller = controller_lib.Controller(
        loop, gan.global_step, self.max_steps, self.run_config.iterations_per_loop,
        every_save, actions,
        describe_last_checkpoint=lambda: (
            f"the last good checkpoint in {self.model_dir} is "
            f"{checkpoints.latest_checkpoint(self.model_dir)}."),
        # Workers of a multi-worker job must run equal loops: no time cuts.
        max_loop_seconds=(self.run_config.log_every_seconds
                          if workers.task_of(strategy)[0] is None else None))
    logging.info("Training from step %d to %d (%d images per step).", step,
                 self.max_steps, gan.batch_size * gan.num_sub_steps)
    writer = workers.summary_writer(self.model_dir, strategy)
    with writer.as_default():
      if self.is_chief:
        self._write_real_images(step)
      step = controller.train()
      writer.flush()
    workers.remove_worker_dir(self.model_dir, strategy)
    return step


def train_to_end(model: SelfScheduledModel, strategy: tf.distribute.Strategy,
                 model_dir: str, run_config: builder.RunConfig,
                 records: Mapping[str, object]) -> None:
  """Writes `records` ({file name: JSON value}) and the operative gin config
  into `model_dir`, trains `model` to its `training_steps` (resuming from the
  latest checkpoint) and marks the directory TRAIN_DONE."""
  import os  # pylint: disable=g-import-not-at-top
  import gin  # pylint: disable=g-import-not-at-top
  from compare_gan2 import model_dir as model_dir_lib  # pylint: disable=g-import-not-at-top
  os.makedirs(model_dir, exist_ok=True)
  for name, value in records.items():
    model_dir_lib.atomic_write_json(os.path.join(model_dir, name), value)
  model_dir_lib.atomic_write_text(
      os.path.join(model_dir, "operative_config.gin"), gin.operative_config_str())
  Trainer(model, strategy, model_dir, run_config, model.training_steps).train()
  checkpoints.mark_training_done(model_dir)
