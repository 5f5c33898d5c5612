"""Training a ConSinGAN model directory, resumable at any iteration.

A model directory holds (compare_gan2/model_dir.py writes each file atomically):
  image.png               the training image at its max_size size
  consingan.json          options and the stage sizes (what sampling rebuilds)
  operative_config-0.gin  the gin settings used
  checkpoints/ckpt-<n>    every `save_every` iterations and at each stage's end
                          (n = stage * niter + iteration)
  samples/stage_<k>.png   8 samples and the reconstruction after stage k
  events.out.tfevents.*   every loss term, per iteration; sample grids
  TRAIN_DONE, TRAINING.lock, compare_gan2.log  as for the GANs
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
import typing

from absl import logging
import gin
import numpy as np
from PIL import Image
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import logs
from compare_gan2 import model_dir as model_dir_lib
from compare_gan2.singan import images as images_lib
from compare_gan2.singan import training
from compare_gan2.training import progress
from compare_gan2.training import run_lock
from compare_gan2.training import summaries

STATE_FILE = "consingan.json"
IMAGE_FILE = "image.png"
CHECKPOINT_DIR = "checkpoints"
NUM_SAMPLES = 8


def write_png(path: str, images: np.ndarray | tf.Tensor, columns: int | None = None
              ) -> str:
  """A grid of [N, H, W, 3] images in [-1, 1], written atomically."""
  grid = summaries.image_grid((np.asarray(images) + 1.0) / 2.0, columns)
  png = io.BytesIO()
  Image.fromarray(np.clip(grid * 255.0 + 0.5, 0, 255).astype(np.uint8)).save(
      png, format="PNG")
  model_dir_lib.makedirs(os.path.dirname(path))
  return model_dir_lib.atomic_write_bytes(path, png.getvalue())


def read_state(model_dir: str) -> dict[str, typing.Any]:
  """consingan.json of `model_dir` (ConfigError if it is not a ConSinGAN run)."""
  state = model_dir_lib.read_json(os.path.join(model_dir, STATE_FILE))
  if state is None:
    raise errors.ConfigError(f"{model_dir} holds no ConSinGAN run ({STATE_FILE} "
                             "is missing); train one with python -m "
                             "compare_gan2.singan --image ... --model_dir ...")
  return state


def load_model(model_dir: str, checkpoint: str | None = None
               ) -> tuple[training.SingleImageGAN, str]:
  """The SingleImageGAN of a model directory restored from `checkpoint`
  (default: the latest), with as many stages as that checkpoint trained."""
  state = read_state(model_dir)
  options = training.Options(**state["options"])
  image = images_lib.load_image(os.path.join(model_dir, IMAGE_FILE))
  gan = training.SingleImageGAN(image, options)
  path = checkpoint or tf.train.latest_checkpoint(
      os.path.join(model_dir, CHECKPOINT_DIR))
  if path is None:
    raise errors.ConfigError(f"{model_dir} has no checkpoint yet.")
  _restore(gan, path)
  return gan, path


def _restore(gan: training.SingleImageGAN, path: str) -> int:
  """Grows `gan` to the checkpoint's stage and restores everything."""
  reader = tf.train.load_checkpoint(path)
  stage = int(reader.get_tensor("stage/.ATTRIBUTES/VARIABLE_VALUE"))
  while gan.generator.num_stages < stage + 1:
    gan.generator.add_stage()
  gan._make_optimizers(stage)  # pylint: disable=protected-access
  gan.checkpoint().restore(path).assert_existing_objects_matched()
  return stage


class Run:
  """One training of `image` into `model_dir` (see the module docstring)."""

  def __init__(self, model_dir: str, image_spec: str, options: training.Options):
    self.model_dir = model_dir
    self.options = options
    self.image_spec = image_spec
    image = images_lib.load_image(image_spec)  # Bad input fails here...
    self.gan = training.SingleImageGAN(image, options)  # ...or here.
    self.checkpoint_dir = os.path.join(model_dir, CHECKPOINT_DIR)

  def _write_state(self) -> None:
    model_dir_lib.makedirs(self.model_dir)
    write_png(os.path.join(self.model_dir, IMAGE_FILE), self.gan.reals[-1])
    model_dir_lib.atomic_write_json(os.path.join(self.model_dir, STATE_FILE), {
        "image": self.image_spec, "sizes": [list(s) for s in self.gan.sizes],
        "options": dataclasses.asdict(self.options)})
    model_dir_lib.atomic_write_text(
        model_dir_lib.operative_config_path(self.model_dir, 0),
        gin.operative_config_str())

  def _check_resume(self) -> None:
    """ConfigError if the directory holds a run of other options or image."""
    state = model_dir_lib.read_json(os.path.join(self.model_dir, STATE_FILE))
    if state is None:
      return
    if (state["options"] != dataclasses.asdict(self.options)
        or [tuple(s) for s in state["sizes"]] != list(self.gan.sizes)):
      raise errors.ConfigError(
          f"{self.model_dir} holds a ConSinGAN run with other options or another "
          "image; resume it with the same --image and gin settings, or train "
          "into another --model_dir.")

  def train(self, stop_at: int | None = None) -> dict[str, float]:
    """Trains every stage (resuming from the latest checkpoint); returns the
    last losses. With `stop_at`, stops after global iteration `stop_at`
    (stage * niter + iteration) with a checkpoint, to be resumed later."""
    o = self.options
    self._check_resume()
    model_dir_lib.makedirs(self.model_dir)  # Inputs and options were checked.
    with run_lock.training_lock(self.model_dir):
      logs.start()
      latest = tf.train.latest_checkpoint(self.checkpoint_dir)
      stage, iteration = 0, 0
      if latest:
        stage = _restore(self.gan, latest)
        iteration = int(self.gan.iteration.numpy())
        logging.info("Resuming %s at stage %d, iteration %d.", latest, stage,
                     iteration)
      else:
        self._write_state()
      logging.info("ConSinGAN stages (H x W): %s",
                   ", ".join(f"{h}x{w}" for h, w in self.gan.sizes))
      writer = tf.summary.create_file_writer(self.model_dir)
      losses: dict[str, float] = {}
      with writer.as_default():
        while stage < o.train_stages:
          if iteration >= o.niter:
            stage, iteration = stage + 1, 0
            continue
          if iteration == 0:
            self.gan.start_stage(stage)
            self.gan.stage.assign(stage)
            self.gan.iteration.assign(0)
          losses, stopped = self._train_stage(stage, iteration, stop_at)
          if stopped:
            return losses
          iteration = o.niter
      model_dir_lib.atomic_write_text(
          os.path.join(self.model_dir, model_dir_lib.TRAIN_DONE), "")
    return losses

  def _train_stage(self, stage: int, start: int, stop_at: int | None = None
                   ) -> tuple[dict[str, float], bool]:
    o = self.options
    manager = tf.train.CheckpointManager(
        self.gan.checkpoint(), self.checkpoint_dir, max_to_keep=2,
        checkpoint_name="ckpt")
    step = tf.function(lambda it, first: self.gan.train_step(stage, it, first))
    logging.info("Stage %d/%d (%dx%d), iterations %d..%d; noise amplitude "
                 "%.4f; learning rates %s", stage + 1, o.train_stages,
                 *self.gan.sizes[stage], start, o.niter,
                 float(self.gan.noise_amp[stage]),
                 {k: float(f"{v:.3g}") for k, v in
                  training.learning_rates(stage, o).items()})
    reporter = progress.ProgressReporter(o.niter, 1, start)
    last_report, losses = time.time(), {}
    for iteration in range(start, o.niter):
      self.gan.set_learning_rates(iteration)
      losses = step(tf.constant(iteration, tf.int64),
                    self.gan.first_input(stage, iteration))
      done = iteration + 1
      self.gan.iteration.assign(done)
      global_step = stage * o.niter + done
      if done % 10 == 0 or done == o.niter:
        for name, value in losses.items():
          tf.summary.scalar(f"loss/{name}", value, step=global_step)
      stop = stop_at is not None and global_step >= stop_at
      if done % o.save_every == 0 or done == o.niter or stop:
        manager.save(checkpoint_number=global_step)
      if done % o.sample_every == 0 or done == o.niter:
        self._write_samples(stage, global_step)
      if time.time() - last_report > 30 or done == o.niter:
        last_report = time.time()
        reporter.report(done, {"d_0": losses["d_loss"], "g": losses["g_loss"]})
      if stop:
        return {k: float(v) for k, v in losses.items()}, True
    return {k: float(v) for k, v in losses.items()}, False

  def _write_samples(self, stage: int, global_step: int) -> None:
    seed = [self.options.seed, 77]
    fakes = self.gan.sample(NUM_SAMPLES, seed, stages=stage + 1).numpy()
    rec = self.gan.reconstruction(stage + 1).numpy()
    grid = np.concatenate([self.gan.reals[stage].numpy(), rec, fakes])
    write_png(os.path.join(self.model_dir, model_dir_lib.SAMPLES_DIR,
                           f"stage_{stage}.png"), grid, columns=5)
    summaries.write_image_grid(f"samples/stage_{stage}", (grid + 1.0) / 2.0,
                               global_step, columns=5)
