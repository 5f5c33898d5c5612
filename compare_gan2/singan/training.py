"""ConSinGAN training: stages trained concurrently on one image.

ConSinGAN (Hinz, Fisher, Wang, Wermter, WACV 2021; tohinz/ConSinGAN's
training_generation.py). For stage k = 0 .. train_stages - 1, `niter`
iterations of:

  D (d_steps times):  -mean D(x_k) + mean D(G(z)) + lambda_grad * GP
  G (one gradient, applied g_steps times):
                      -mean D(G(z)) + alpha * MSE(G(z_rec), x_k)

GP is SinGAN's: one mixing weight per image, the gradient's norm over channels
per pixel. Only the last `train_depth` blocks of G train, block k - j with
learning rate lr_g * lr_scale^j; G's head trains while k < train_depth (at
lr_g * lr_scale^k), its tail always (lr_g). Both learning rates drop by `gamma`
from iteration 0.8 * niter on. Fresh Adam states at every stage; D carries over.

The reconstruction input z_rec is fixed: the coarsest image itself at stage 0,
fixed Gaussian noise above. The noise amplitude of stage k is
noise_amp * sqrt(MSE(G(z_rec), x_k)) with stage k's noise off, measured when the
stage starts (and kept when a trained model is fine-tuned).

Randomness is stateless, so a run resumed from a checkpoint at any iteration
ends with the same weights as an uninterrupted one: the noise z_j of pyramid
level j at iteration i is drawn from the seed (seed * 1000 + 101 + j, i), the
same at every stage (stage k reuses stage k - 1's draws of levels 0 .. k - 1 at
the same iteration); the GP mixing weight of D step d from
(seed * 1000 + 303 + d, i); the fixed noise z_rec of level j from
(seed, 202 + j) (editing adds 0.1 x noise from (seed, 404) to level 0's); the
harmonization / editing inputs from (seed, stage, i)
(compare_gan2/singan/augment.py).
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import typing

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2.singan import augment
from compare_gan2.singan import networks
from compare_gan2.singan import schedule

CHECKPOINT_DIR = "checkpoints"
_SALT_NOISE, _SALT_FIXED, _SALT_GP, _SALT_EDIT = 101, 202, 303, 404
TRAIN_MODES = ("generation", "retarget", "harmonization", "editing")
# The largest seed whose derived stateless seeds (seed * 1000 + salt) fit int32.
MAX_SEED = 2_000_000


@dataclasses.dataclass(frozen=True)
class Options:
  """ConSinGAN's settings (the official defaults; docs in `consingan_options`)."""
  train_stages: int = 6
  train_depth: int = 3
  lr_scale: float = 0.1
  niter: int = 2000
  max_size: int = 250
  min_size: int = 25
  nfc: int = 64
  num_layer: int = 3
  lambda_grad: float = 0.1
  alpha: float = 10.0
  noise_amp: float = 0.1
  lr_g: float = 5e-4
  lr_d: float = 5e-4
  beta1: float = 0.5
  beta2: float = 0.999
  gamma: float = 0.1
  d_steps: int = 3
  g_steps: int = 3
  seed: int = 0
  save_every: int = 200
  sample_every: int = 500
  train_mode: str = "generation"
  batch_norm: bool = False
  lrelu_slope: float = 0.05


@gin.configurable("consingan")
def consingan_options(train_stages: int = 6, train_depth: int = 3,
                      lr_scale: float = 0.1, niter: int = 2000,
                      max_size: int = 250, min_size: int = 25, nfc: int = 64,
                      num_layer: int = 3, lambda_grad: float = 0.1,
                      alpha: float = 10.0, noise_amp: float = 0.1,
                      lr_g: float = 5e-4, lr_d: float = 5e-4, beta1: float = 0.5,
                      beta2: float = 0.999, gamma: float = 0.1, d_steps: int = 3,
                      g_steps: int = 3, seed: int = 0, save_every: int = 200,
                      sample_every: int = 500, train_mode: str = "generation",
                      batch_norm: bool = False, lrelu_slope: float = 0.05
                      ) -> Options:
  """gin `consingan.*` (defaults: tohinz/ConSinGAN's config.py).

  train_stages: stages of the pyramid (>= 2); train_depth: blocks trained at
  once; lr_scale: learning-rate factor per block back; niter: iterations per
  stage; max_size / min_size: the image's long side is at most max_size, the
  coarsest stage's short side min_size; nfc / num_layer: channels and
  convolutions per block; lambda_grad: WGAN-GP weight; alpha: reconstruction
  weight; noise_amp: noise amplitude per unit of reconstruction RMSE; lr_g /
  lr_d / beta1 / beta2: Adam; gamma: learning-rate decay at 80% of a stage;
  d_steps / g_steps: D updates and G steps (on one gradient) per iteration;
  seed: weights and noise (0 .. 2,000,000); save_every / sample_every:
  iterations between checkpoints / sample grids; train_mode: one of the
  official modes: "generation"; "retarget" (for samples of other sizes: the
  padded forward and noise of each stage's own size, otherwise as generation;
  gin_configs/consingan_retarget.gin); "harmonization" / "editing" (the padded
  forward, an augmented first input, harmonization with SinGAN's geometric
  schedule; the official README trains harmonization with 3 stages, min_size
  120, batch_norm, lrelu_slope 0.3 and 1000 iterations:
  gin_configs/consingan_harmonization.gin); batch_norm: batch norm in G;
  lrelu_slope: LeakyReLU's negative slope.
  """
  options = Options(int(train_stages), int(train_depth), float(lr_scale),
                    int(niter), int(max_size), int(min_size), int(nfc),
                    int(num_layer), float(lambda_grad), float(alpha),
                    float(noise_amp), float(lr_g), float(lr_d), float(beta1),
                    float(beta2), float(gamma), int(d_steps), int(g_steps),
                    int(seed), int(save_every), int(sample_every),
                    str(train_mode), bool(batch_norm), float(lrelu_slope))
  check_options(options)
  return options


def check_options(options: Options) -> None:
  """ConfigError naming the first `consingan.*` value training cannot use."""
  def refuse(name: str, rule: str) -> typing.NoReturn:
    raise errors.ConfigError(f"consingan.{name} must be {rule}, got "
                             f"{getattr(options, name)!r}.")
  def check(name: str, **bounds: typing.Any) -> None:
    errors.check_number(f"consingan.{name}", getattr(options, name),
                        optional=False, **bounds)
  if options.train_mode not in TRAIN_MODES:
    refuse("train_mode", f"one of {TRAIN_MODES}")
  for name in ("train_depth", "niter", "nfc", "num_layer", "d_steps", "g_steps",
               "save_every", "sample_every", "min_size", "max_size"):
    check(name, integer=True, minimum=1)
  check("train_stages", integer=True, minimum=2)
  check("seed", integer=True, minimum=0, maximum=MAX_SEED)
  for name in ("lr_g", "lr_d"):
    check(name, above=0, below=1)
  for name in ("beta1", "beta2"):
    check(name, minimum=0, below=1)
  check("gamma", above=0, maximum=1)
  for name in ("lr_scale", "lambda_grad", "alpha", "noise_amp", "lrelu_slope"):
    check(name, minimum=0)
  smallest = 2 * (options.num_layer + 2) + 1
  if options.min_size < smallest:
    refuse("min_size", f">= 2 * (num_layer + 2) + 1 = {smallest} (the "
           "discriminator's receptive field at the coarsest stage)")
  if options.min_size > options.max_size:
    refuse("min_size", f"<= consingan.max_size ({options.max_size})")


def learning_rates(stage: int, options: Options) -> dict[str, float]:
  """{"head" | "tail" | "stage<j>": learning rate} of G's trained parts at
  `stage` (parts not listed do not train)."""
  rates = {"tail": options.lr_g}
  trained = list(range(max(0, stage + 1 - options.train_depth), stage + 1))
  for j in trained:
    rates[f"stage{j}"] = options.lr_g * options.lr_scale ** (stage - j)
  if stage < options.train_depth:
    rates["head"] = options.lr_g * options.lr_scale ** stage
  return rates


def image_pyramid(image: np.ndarray | tf.Tensor, sizes: Sequence[Sequence[int]]
                  ) -> list[tf.Tensor]:
  """[1, H_k, W_k, 3] images of `image` ([H, W, 3] in [-1, 1]) at each size:
  bicubic with antialiasing from the max_size image, clipped to [-1, 1]."""
  image = tf.convert_to_tensor(image, tf.float32)[None]
  full = tf.image.resize(image, sizes[-1], "bicubic", antialias=True)
  return [tf.clip_by_value(tf.image.resize(full, size, "bicubic", antialias=True)
                           if tuple(size) != tuple(sizes[-1]) else full, -1.0, 1.0)
          for size in sizes]


class SingleImageGAN(tf.Module):
  """The networks, the pyramid and the training state of one image."""

  def __init__(self, image: np.ndarray | tf.Tensor, options: Options):
    super().__init__(name="consingan")
    self.options = options
    height, width = int(image.shape[0]), int(image.shape[1])
    # A tuple: tf.Module would wrap a list (ListWrapper).
    self.sizes = tuple(schedule.stage_sizes(
        height, width, options.train_stages, options.max_size, options.min_size,
        geometric=options.train_mode == "harmonization"))
    self.reals = image_pyramid(image, self.sizes)
    self.generator = networks.Generator(
        options.seed, options.nfc, options.num_layer,
        batch_norm=options.batch_norm,
        generation=options.train_mode == "generation", slope=options.lrelu_slope)
    self.discriminator = networks.Discriminator(
        options.seed + 1, options.nfc, options.num_layer, slope=options.lrelu_slope)
    self.stage = tf.Variable(0, dtype=tf.int64, trainable=False, name="stage")
    self.iteration = tf.Variable(0, dtype=tf.int64, trainable=False,
                                 name="iteration")
    self.noise_amp = tf.Variable(tf.zeros([options.train_stages]),
                                 trainable=False, name="noise_amp")
    # name -> (optimizer, base learning rate, its variables); `_make_optimizers`.
    self.optimizers: dict[
        str, tuple[optimizers.AdamOptimizer, float, list[tf.Variable]]] = {}

  # ------------------------------------------------------------------ noise
  def fixed_noise(self, stage: int) -> tf.Tensor:
    """z_rec of `stage`: the coarsest image at 0 (plus 0.1 * fixed noise when
    editing), fixed Gaussian noise above."""
    if stage == 0:
      if self.options.train_mode == "editing":
        return self.reals[0] + 0.1 * tf.random.stateless_normal(
            self.reals[0].shape, [self.options.seed, _SALT_EDIT])
      return self.reals[0]
    shape = (1,) + self.generator.noise_shape(stage, self.sizes[stage])
    return tf.random.stateless_normal(shape, [self.options.seed, _SALT_FIXED + stage])

  def reconstruction(self, stages: int) -> tf.Tensor:
    """G(z_rec) through `stages` stages."""
    return self.generator([self.fixed_noise(k) for k in range(stages)],
                          self.sizes[:stages], self.noise_amp)

  def random_noise(self, stages: int, seed: Sequence[int] | tf.Tensor,
                   sizes: Sequence[tuple[int, int]] | None = None,
                   batch: int = 1) -> list[tf.Tensor]:
    """Fresh z_0..z_{stages-1} from the stateless `seed` ([2] int): z_j from
    (seed[0] + j, seed[1])."""
    sizes = sizes or self.sizes
    seed = tf.convert_to_tensor(seed, tf.int32)
    return [tf.random.stateless_normal(
        (batch,) + self.generator.noise_shape(k, sizes[k]),
        tf.stack([seed[0] + k, seed[1]])) for k in range(stages)]

  def sample(self, num: int, seed: Sequence[int] | tf.Tensor, scale_h: float = 1.0,
             scale_w: float = 1.0, stages: int | None = None) -> tf.Tensor:
    """`num` images [num, H, W, 3] in [-1, 1]; other sizes scale every stage's
    size (int(H_k * scale_h), int(W_k * scale_w)) as the official code does.

    With batch norm, G runs on one image at a time (the official code samples
    one at a time, so no batch statistics are shared): image i is G of the
    i-th noises alone.
    """
    stages = stages or self.generator.num_stages
    sizes = [(int(h * scale_h), int(w * scale_w)) for h, w in self.sizes]
    noises = self.random_noise(stages, seed, sizes, batch=num)
    if not self.options.batch_norm:
      return self.generator(noises, sizes[:stages], self.noise_amp)
    return tf.concat([self.generator([z[i:i + 1] for z in noises],
                                     sizes[:stages], self.noise_amp)
                      for i in range(num)], axis=0)

  def first_input(self, stage: int, iteration: int) -> tf.Tensor | None:
    """The first stage's training input of the harmonization / editing modes
    (an augmented copy of the coarsest image, compare_gan2/singan/augment.py),
    or None in the generation and retarget modes (fresh noise)."""
    mode = self.options.train_mode
    if mode not in ("harmonization", "editing"):
      return None
    coarsest = self.reals[0][0].numpy()
    make = (augment.harmonization_input if mode == "harmonization"
            else augment.editing_input)
    return tf.constant(make(coarsest, self.options.seed, stage, iteration)[None])

  # --------------------------------------------------------------- one stage
  def start_stage(self, stage: int, measure_noise_amp: bool = True) -> None:
    """Grows G to `stage` + 1 blocks, creates the stage's optimizers (fresh Adam
    states) and, with `measure_noise_amp`, measures the stage's noise
    amplitude (its own noise off). Fine-tuning a trained model keeps the
    trained amplitude (tohinz/ConSinGAN training_harmonization_editing.py
    loads noise_amp.pth)."""
    while self.generator.num_stages < stage + 1:
      self.generator.add_stage()
    if stage > 0 and measure_noise_amp:
      amp = self.noise_amp.numpy()
      amp[stage] = 0.0
      self.noise_amp.assign(amp)
      rec = self.reconstruction(stage + 1)
      rmse = tf.sqrt(tf.reduce_mean(tf.square(rec - self.reals[stage])))
      amp[stage] = self.options.noise_amp * float(rmse)
      self.noise_amp.assign(amp)
    self._make_optimizers(stage)

  def _make_optimizers(self, stage: int) -> None:
    o = self.options
    parts = {"head": self.generator.head, "tail": self.generator.tail}
    parts.update({f"stage{j}": block for j, block in enumerate(self.generator.body)})
    self.optimizers = {}
    for name, lr in learning_rates(stage, o).items():
      opt = optimizers.AdamOptimizer(tf.Variable(lr, trainable=False,
                                                 name=f"lr/{name}"),
                                     o.beta1, o.beta2, name=f"g_{name}")
      opt.build(parts[name].trainable_variables)
      self.optimizers[name] = (opt, lr, list(parts[name].trainable_variables))
    opt = optimizers.AdamOptimizer(tf.Variable(o.lr_d, trainable=False, name="lr/d"),
                                   o.beta1, o.beta2, name="d")
    opt.build(self.discriminator.trainable_variables)
    self.optimizers["discriminator"] = (opt, o.lr_d,
                                        list(self.discriminator.trainable_variables))

  def set_learning_rates(self, iteration: int, niter: int | None = None) -> None:
    """Decays every learning rate by gamma from iteration 0.8 * niter on
    (default niter: the stage's; fine-tuning passes its own). As the official
    MultiStepLR(milestones=[0.8 * niter]) of the PyTorch it pins (1.1.0:
    bisect_right, so a fractional milestone decays from the next iteration)."""
    milestone = 0.8 * (niter or self.options.niter)
    factor = self.options.gamma if iteration >= milestone else 1.0
    for opt, base, _ in self.optimizers.values():
      opt.learning_rate.assign(base * factor)

  def gradient_penalty(self, real: tf.Tensor, fake: tf.Tensor, seed: tf.Tensor
                       ) -> tf.Tensor:
    """SinGAN's WGAN-GP: mean over pixels of (||dD/dx||_channels - 1)^2."""
    mix = tf.random.stateless_uniform([], seed)
    mixed = mix * real + (1.0 - mix) * fake
    with tf.GradientTape() as tape:
      tape.watch(mixed)
      out = tf.reduce_sum(self.discriminator(mixed))
    grad = tape.gradient(out, mixed)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=-1))
    return tf.reduce_mean(tf.square(norm - 1.0))

  def train_step(self, stage: int, iteration: tf.Tensor,
                 first_input: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
    """One iteration of stage `stage`; returns its losses.

    `first_input` [1, H_0, W_0, 3] replaces z_0 (harmonization and editing
    fine-tune G on a naive or edited image given at the coarsest stage).
    """
    o = self.options
    stages = stage + 1
    real = self.reals[stage]
    seed = tf.stack([tf.constant(o.seed * 1000 + _SALT_NOISE, tf.int32),
                     tf.cast(iteration, tf.int32)])
    noises = self.random_noise(stages, seed)
    if first_input is not None:
      noises[0] = first_input
    fake = tf.stop_gradient(self.generator(noises, self.sizes[:stages],
                                           self.noise_amp))
    d_opt, _, d_vars = self.optimizers["discriminator"]
    for j in range(o.d_steps):
      gp_seed = tf.stack([tf.constant(o.seed * 1000 + _SALT_GP + j, tf.int32),
                          tf.cast(iteration, tf.int32)])
      with tf.GradientTape() as tape:
        d_real = -tf.reduce_mean(self.discriminator(real))
        d_fake = tf.reduce_mean(self.discriminator(fake))
        penalty = self.gradient_penalty(real, fake, gp_seed)
        d_loss = d_real + d_fake + o.lambda_grad * penalty
      d_opt.apply(tape.gradient(d_loss, d_vars), d_vars)
    g_parts = [(opt, variables) for name, (opt, _, variables)
               in self.optimizers.items() if name != "discriminator"]
    g_vars = [v for _, variables in g_parts for v in variables]
    with tf.GradientTape() as tape:
      g_adv = -tf.reduce_mean(self.discriminator(
          self.generator(noises, self.sizes[:stages], self.noise_amp)))
      rec = self.reconstruction(stages)
      rec_loss = tf.reduce_mean(tf.square(rec - real))
      g_loss = g_adv + o.alpha * rec_loss
    grads = dict(zip([v.ref() for v in g_vars], tape.gradient(g_loss, g_vars)))
    for _ in range(o.g_steps):  # The official code steps thrice on one gradient.
      for opt, variables in g_parts:
        opt.apply([grads[v.ref()] for v in variables], variables)
    return {"d_loss": d_loss, "d_real": d_real, "d_fake": d_fake,
            "gradient_penalty": penalty, "g_adversarial": g_adv,
            "reconstruction": rec_loss, "g_loss": g_loss}

  # ------------------------------------------------------------ checkpoints
  def checkpoint(self) -> tf.train.Checkpoint:
    """A tf.train.Checkpoint of everything training needs to resume."""
    opts = {name: opt for name, (opt, _, _) in self.optimizers.items()}
    return tf.train.Checkpoint(generator=self.generator,
                               discriminator=self.discriminator,
                               stage=self.stage, iteration=self.iteration,
                               noise_amp=self.noise_amp, **{
                                   f"optimizer_{name}": opt
                                   for name, opt in opts.items()})
