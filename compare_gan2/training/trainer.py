"""The training loop: compare_gan's TPUEstimator.train() on tf.distribute.

`run_config.iterations_per_loop` steps run inside one `tf.function` call (the TPU
host loop). Between calls the host writes summaries, logs progress and saves
checkpoints on exact multiples of `save_checkpoints_steps` (and at the last step).
A non-finite loss stops training with `NonFiniteLossError` naming the step; no
checkpoint is written after it, so the last good one stays.
"""

import os

from absl import logging
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.training import checkpoints
from compare_gan2.training import progress
from compare_gan2.training import summaries

class NonFiniteLossError(errors.UserError, RuntimeError):
  """A loss became NaN or infinite (the message says what to try)."""


def _check_divisible(batch_size, num_replicas):
  if batch_size % num_replicas:
    raise ValueError(
        f"options.batch_size={batch_size} is not divisible by the {num_replicas} "
        "replicas of this strategy; choose a multiple of the replica count.")


class Trainer:
  """Runs `gan.train_step` under `strategy` until `max_steps` generator steps.

  `gan` is any model with the training interface of ModularGAN: `batch_size`,
  `num_sub_steps`, `input_fn`, `build`, `variables_to_save`, `global_step`,
  `train_step`, `learning_rates`, `summary_images`, `real_summary_images`
  (the S2GAN feature extractor trains through it too).
  """

  def __init__(self, gan, strategy, model_dir, run_config, max_steps,
               on_checkpoint=None):
    self.gan = gan
    self.strategy = strategy
    self.model_dir = model_dir
    self.run_config = run_config
    self.max_steps = int(max_steps)
    self._on_checkpoint = on_checkpoint
    self._checkpoint = self._manager = self._restored = None
    _check_divisible(gan.batch_size, strategy.num_replicas_in_sync)

  # ------------------------------------------------------------------ inputs
  def _dataset_fn(self, start_step):
    gan = self.gan

    def dataset_fn(ctx):
      per_replica_sub_batch = ctx.get_per_replica_batch_size(gan.batch_size)
      per_replica_step_batch = per_replica_sub_batch * gan.num_sub_steps
      replicas_per_pipeline = ctx.num_replicas_in_sync // ctx.num_input_pipelines
      start_index = start_step * per_replica_step_batch * replicas_per_pipeline
      return gan.input_fn(per_replica_step_batch, start_index=start_index,
                          input_context=ctx)

    return dataset_fn

  # -------------------------------------------------------------- host loop
  def _make_loop(self, iterator):
    strategy, gan = self.strategy, self.gan

    def run_step():
      per_replica = strategy.run(gan.train_step, args=(next(iterator),))
      metrics = {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                 for k, v in per_replica.items()}
      finite = tf.reduce_all(tf.math.is_finite(tf.stack(list(metrics.values()))))
      return metrics, finite

    @tf.function
    def loop(num_steps):
      """Runs num_steps steps; returns last metrics and the first bad step or -1."""
      bad_step = tf.constant(-1, tf.int64)
      for _ in tf.range(num_steps - 1):
        _, finite = run_step()
        if not finite:
          bad_step = gan.global_step.read_value()
          break
      metrics, finite = run_step()  # The last step also yields the metrics.
      if bad_step < 0 and not finite:
        bad_step = gan.global_step.read_value()
      return metrics, bad_step

    return loop

  def _loop_length(self, step):
    every = self.run_config.save_checkpoints_steps or self.max_steps
    next_save = (step // every + 1) * every
    return max(1, min(self.run_config.iterations_per_loop, next_save - step,
                      self.max_steps - step))

  def _should_save(self, step):
    every = self.run_config.save_checkpoints_steps
    return step == self.max_steps or (every and step % every == 0)

  # ---------------------------------------------------------------- summaries
  def _write_images(self, step):
    """The model's image grids to TensorBoard, its sample sheet to
    `samples/step_<step>.png`."""
    grids, sheet = self.gan.summary_images()
    for name, value in grids.items():
      summaries.write_image_grid(name, value, step)
    if sheet is not None:
      sample_dir = os.path.join(self.model_dir, "samples")
      tf.io.gfile.makedirs(sample_dir)
      summaries.save_png(sheet, os.path.join(sample_dir, f"step_{step}.png"))

  def _write_real_images(self, step):
    """A grid of training images (what the model sees), once per run."""
    images = self.gan.real_summary_images()
    if images is not None:
      summaries.write_image_grid("real_images", images, step)

  def _write_scalars(self, metrics, step):
    for name, value in metrics.items():  # "accuracy/..." keeps its own group.
      tf.summary.scalar(name if "/" in name else f"loss/{name}", value, step=step)
    for name, value in self.gan.learning_rates.items():
      tf.summary.scalar(f"lr/{name}", value, step=step)

  # --------------------------------------------------------------------- train
  def restore(self):
    """Builds the GAN and restores the newest checkpoint; returns global_step."""
    if self._manager is None:
      with self.strategy.scope():
        self.gan.build()
        self._checkpoint = checkpoints.make_checkpoint(self.gan.variables_to_save())
      self._manager = checkpoints.make_manager(
          self._checkpoint, self.model_dir, self.run_config.keep_checkpoint_max)
      self._restored = checkpoints.restore_for_training(
          self._checkpoint, self.gan.variables_to_save(), self.model_dir)
      if self._restored:
        logging.info("Restored %s.", self._restored)
    return int(self.gan.global_step.numpy())

  def train(self):
    """Trains to max_steps, resuming from the latest checkpoint in model_dir."""
    gan, strategy = self.gan, self.strategy
    step = self.restore()
    manager = self._manager
    writer = tf.summary.create_file_writer(self.model_dir)
    if step >= self.max_steps:
      logging.info("global_step %d >= training_steps %d: nothing to train.", step,
                   self.max_steps)
      return step
    if self._restored is None:
      manager.save(checkpoint_number=step)
    examples_per_step = gan.batch_size * gan.num_sub_steps
    dist_dataset = strategy.distribute_datasets_from_function(self._dataset_fn(step))
    loop = self._make_loop(iter(dist_dataset))
    reporter = progress.ProgressReporter(self.max_steps, examples_per_step, step)
    logging.info("Training from step %d to %d (%d images per step).", step,
                 self.max_steps, examples_per_step)
    with writer.as_default():
      self._write_real_images(step)
      while step < self.max_steps:
        metrics, bad_step = loop(tf.constant(self._loop_length(step)))
        bad_step = int(bad_step)
        if bad_step >= 0:
          raise NonFiniteLossError(
              f"Non-finite loss at step {bad_step} "
              f"({ {k: float(v) for k, v in metrics.items()} }). Training stopped; "
              f"the last good checkpoint in {self.model_dir} is "
              f"{manager.latest_checkpoint}. Lower the learning rates or check the "
              "data.")
        step = int(gan.global_step.numpy())
        self._write_scalars(metrics, step)
        reporter.report(step)
        if self._should_save(step):
          path = manager.save(checkpoint_number=step)
          logging.info("Saved %s.", path)
          self._write_images(step)
          if self._on_checkpoint:
            self._on_checkpoint(step, path)
      writer.flush()
    return step
