"""TextToImageGAN: StyleGAN-T's training recipe (training/loss.py,
ProjectedGANLoss) as a Trainer model (gin `text_to_image_gan.*`).

Each step reads B captioned images (in [0, 1]) and their caption ids. The
caption's text embedding t comes from the frozen text encoder (the offline
CLIP of `clip_dir`, or an external encoder `text_encoder`, fed the decoded
caption strings). Then, as StyleGAN-T:

  D step: hinge loss, mean(relu(1 - D(x, t))) + mean(relu(1 + D(G(z, t), t)))
  G step: mean(-D(G(z', t), t)) + clip_weight * mean(arccos(<e_I, e_T>)^2)

with fresh z, z' ~ N(0, I) per phase, D(x, t) = the projected heads
(networks.ProjectedDiscriminator) on the frozen image encoder's maps of
DiffAugment(blur(x)) (augment.py), and e_I, e_T the L2-normalised embeddings of
G's image and of the caption by the frozen pair (CLIP guidance; spherical
distance). Only G's and D's heads are updated: the pair's variables are not
trained (its gradients reach G's images only). Adam (lr 0.002, betas 0 and
0.99) for both; G's EMA copy with StyleGAN-T's half-life (10k images per 32 of
batch, i.e. 312.5 steps) and ramp-up (0.05 x images seen).

StyleGAN-T divides the adversarial term by the per-GPU batch but not the CLIP
term; here both are means, so StyleGAN-T's clip_weight w with batch_gpu 8 is
clip_weight = 8 w here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import os
import typing

import gin
import numpy as np
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2 import random_ops
from compare_gan2.architectures import variable_store as vs
from compare_gan2.clip import loss as clip_loss_lib
from compare_gan2.clip import model as clip_model
from compare_gan2.gans import ema as ema_lib
from compare_gan2.text2image import augment
from compare_gan2.text2image import networks

if typing.TYPE_CHECKING:
  from compare_gan2.datasets import base as datasets_base

_SALT_D, _SALT_G, _SALT_AUG_REAL, _SALT_AUG_FAKE, _SALT_AUG_G = range(1, 6)


def head_mean(fn: Callable[[tf.Tensor], tf.Tensor], logits: Sequence[tf.Tensor]
              ) -> tf.Tensor:
  """Mean over heads of the mean of fn(logits) of each head."""
  return tf.add_n([tf.reduce_mean(fn(head)) for head in logits]) / len(logits)


def spherical_distance(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """arccos(<a, b>)^2 of L2-normalised rows (StyleGAN-T's CLIP loss)."""
  cosine = tf.reduce_sum(clip_loss_lib.normalize(a) * clip_loss_lib.normalize(b),
                         -1)
  return tf.square(tf.acos(tf.clip_by_value(cosine, -1.0 + 1e-6, 1.0 - 1e-6)))


def ema_decay(step: tf.Tensor, batch_size: float, half_life_images: float,
              rampup: float) -> tf.Tensor:
  """StyleGAN-T's G_ema decay: 0.5^(batch / min(half-life, rampup * seen)),
  `seen` the images before this step (0 at the first: the copy is G)."""
  seen = tf.cast(step, tf.float32) * batch_size
  half_life = tf.minimum(float(half_life_images), rampup * seen)
  return tf.pow(0.5, batch_size / tf.maximum(half_life, 1e-8))


def _check_settings(**values: float) -> None:
  """ConfigError for a `text_to_image_gan.*` number that cannot train."""
  def check(key: str, **bounds: typing.Any) -> None:
    errors.check_number(f"text_to_image_gan.{key}", values[key],
                        optional=False, **bounds)
  check("batch_size", integer=True, minimum=1)
  check("training_steps", integer=True, minimum=0)
  for key in ("g_lr", "d_lr"):
    check(key, above=0)
  for key in ("beta1", "beta2"):
    check(key, minimum=0, below=1)
  for key in ("clip_weight", "blur_init_sigma", "ema_rampup"):
    check(key, minimum=0)
  check("blur_fade_images", integer=True, minimum=0)


@gin.configurable("text_to_image_gan", denylist=["dataset"])
class TextToImageGAN:
  """The generator, the discriminator heads, the frozen pair, their step."""

  def __init__(self, dataset: datasets_base.ImageDatasetSpec,
               clip_dir: str = gin.REQUIRED, text_encoder: str | None = None,
               batch_size: int = 64, training_steps: int = 3000,
               g_lr: float = 0.002, d_lr: float = 0.002, beta1: float = 0.0,
               beta2: float = 0.99, clip_weight: float = 1.0,
               use_augment: bool = True, blur_init_sigma: float = 0.0,
               blur_fade_images: int = 0, ema_rampup: float = 0.05,
               seed: int | None = None, clip_checkpoint: str | None = None):
    if not getattr(dataset, "caption_length", None):
      raise errors.ConfigError(
          f"A text-to-image GAN trains on captions, but {dataset.name!r} has "
          "none. Choose captioned_polygons_32 / _64 or image_folder with "
          "image_folder.captions.")
    _check_settings(batch_size=batch_size, training_steps=training_steps,
                    g_lr=g_lr, d_lr=d_lr, beta1=beta1, beta2=beta2,
                    clip_weight=clip_weight, blur_init_sigma=blur_init_sigma,
                    blur_fade_images=blur_fade_images, ema_rampup=ema_rampup)
    # Captioned: checked above.
    self._dataset = typing.cast("datasets_base.CaptionedDatasetSpec", dataset)
    self.clip = clip_model.TextImageModel.load(clip_dir, clip_checkpoint)
    if self.clip.tokenizer.words != self._dataset.tokenizer.words:
      raise errors.ConfigError(
          f"The text–image pair of {clip_dir} was trained with another "
          f"vocabulary than {dataset.name}'s; pre-train it on this dataset.")
    self.clip_dir = clip_dir
    self.text_encoder_handle = text_encoder
    self.text_encoder = (clip_model.load_text_encoder(text_encoder)
                         if text_encoder else self.clip)
    self._batch_size = int(batch_size)
    self.training_steps = int(training_steps)
    self.g_lr, self.d_lr = float(g_lr), float(d_lr)
    self.clip_weight = float(clip_weight)
    self.use_augment = bool(use_augment)
    self.blur_init_sigma = float(blur_init_sigma)
    self.blur_fade_images = int(blur_fade_images)
    self.ema_half_life_images = 10000.0 * self._batch_size / 32.0
    self.ema_rampup = float(ema_rampup)
    if seed is None:  # The run's seed (0 if the run has none).
      from compare_gan2 import builder  # pylint: disable=g-import-not-at-top
      seed = builder.get_run_config().tf_random_seed or 0
    self.seed = int(seed)
    resolution = int(dataset.image_shape[0])
    self.generator = networks.TextConditionalGenerator(
        resolution, self.text_encoder.embed_dim)
    self.discriminator = networks.ProjectedDiscriminator(
        self.text_encoder.embed_dim)
    self.g_optimizer = optimizers.AdamOptimizer(
        self.g_lr, beta1=beta1, beta2=beta2, epsilon=1e-8, name="g_opt")
    self.d_optimizer = optimizers.AdamOptimizer(
        self.d_lr, beta1=beta1, beta2=beta2, epsilon=1e-8, name="d_opt")
    self.ema = ema_lib.GeneratorEMA(0.0, 0)
    self.global_step: tf.Variable = None  # Created by `build`.
    self._batch_size_per_replica: int  # Set by each `train_step`.

  # ----------------------------------------------------- training interface
  @property
  def dataset(self) -> datasets_base.CaptionedDatasetSpec:
    return self._dataset

  @property
  def batch_size(self) -> int:
    return self._batch_size

  num_sub_steps = 1

  @property
  def learning_rates(self) -> dict[str, float]:
    return {"generator": self.g_lr, "discriminator": self.d_lr}

  def input_fn(self, batch_size: int, start_index: int = 0,
               input_context: tf.distribute.InputContext | None = None
               ) -> tf.data.Dataset:
    """Batches of (images, caption ids)."""
    return self._dataset.train_batches(batch_size, start_index, input_context)

  def build(self) -> None:
    if self.global_step is not None:
      return
    self.global_step = tf.Variable(
        0, dtype=tf.int64, trainable=False, name="global_step",
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    tokens = tf.zeros([8, self._dataset.caption_length], tf.int32)
    text = self.text_embeddings(tokens)
    with vs.no_state_updates():
      fake = self.generator(tf.zeros([8, self.generator.z_dim]), text)
      self.discriminator(self.features(fake), text)
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.discriminator.trainable_variables)
    self.ema.build(self.generator.trainable_variables)

  def variables_to_save(self) -> dict[str, tf.Variable]:
    result = {"global_step": self.global_step}
    for net in (self.generator, self.discriminator):
      result.update({ema_lib.variable_name(v): v for v in net.variables})
    result.update(self.g_optimizer.variables_to_save())
    result.update(self.d_optimizer.variables_to_save())
    result.update(self.ema.variables_to_save())
    return result

  # ------------------------------------------------------------------ parts
  def text_embeddings(self, tokens: tf.Tensor) -> tf.Tensor:
    """The frozen, L2-normalised conditioning embeddings [N, T] of caption
    ids [N, L] (StyleGAN-T conditions G and D on the normalised CLIP text
    embedding)."""
    if self.text_encoder is self.clip:
      text = self.clip.encode_text(tokens)
    else:
      strings = self._dataset.tokenizer.tf_decode(tokens)
      text = self.text_encoder.encode_strings(strings)
    return tf.stop_gradient(clip_loss_lib.normalize(text))

  def embed_prompts(self, prompts: Sequence[str]) -> tf.Tensor:
    """The conditioning embeddings of prompt strings, through the same
    tokenisation as training (unknown words, case, punctuation)."""
    tokens = self._dataset.tokenizer.tf_encode(tf.constant(list(prompts)))
    return self.text_embeddings(tokens)

  def features(self, images_pm1: tf.Tensor, seed: tf.Tensor | None = None,
               images_seen: tf.Tensor | None = None) -> list[tf.Tensor]:
    """The frozen encoder's maps of images in [-1, 1], blurred and augmented
    as StyleGAN-T's D input."""
    x = images_pm1
    if self.blur_init_sigma > 0 and images_seen is not None:
      sigma = augment.blur_sigma(images_seen, self.blur_init_sigma,
                                 self.blur_fade_images)
      x = augment.blur(x, sigma, self.blur_init_sigma)
    if self.use_augment and seed is not None:
      x = augment.diff_augment(x, seed)
    return self.clip.image_features((x + 1.0) / 2.0)

  def _step_seed(self, salt: int) -> tf.Tensor:
    """A stateless seed per (step, salt, replica)."""
    replica = tf.distribute.get_replica_context()
    replica_id = 0 if replica is None else replica.replica_id_in_sync_group
    return random_ops.derive_seed((self.seed, 0), self.global_step, salt,
                                  replica_id)

  def _z(self, salt: int) -> tf.Tensor:
    return tf.random.stateless_normal([self._batch_size_per_replica,
                                       self.generator.z_dim],
                                      seed=self._step_seed(salt))

  def discriminator_loss(self, images: tf.Tensor, text: tf.Tensor
                         ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    seen = self.global_step * self._batch_size
    fake = self.generator(self._z(_SALT_D), text, update_average=True)
    real_logits = self.discriminator(
        self.features(images * 2.0 - 1.0, self._step_seed(_SALT_AUG_REAL), seen),
        text)
    fake_logits = self.discriminator(
        self.features(tf.stop_gradient(fake), self._step_seed(_SALT_AUG_FAKE),
                      seen), text)
    loss_real = head_mean(lambda logit: tf.nn.relu(1.0 - logit), real_logits)
    loss_fake = head_mean(lambda logit: tf.nn.relu(1.0 + logit), fake_logits)
    return loss_real + loss_fake, {
        "d_loss_real": loss_real, "d_loss_fake": loss_fake,
        "d_real_logits": head_mean(tf.identity, real_logits),
        "d_fake_logits": head_mean(tf.identity, fake_logits)}

  def generator_loss(self, tokens: tf.Tensor, text: tf.Tensor
                     ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    seen = self.global_step * self._batch_size
    fake = self.generator(self._z(_SALT_G), text, update_average=True)
    logits = self.discriminator(
        self.features(fake, self._step_seed(_SALT_AUG_G), seen), text)
    adversarial = head_mean(tf.negative, logits)
    guidance = tf.reduce_mean(spherical_distance(
        self.clip.encode_image((fake + 1.0) / 2.0), self.clip.encode_text(tokens)))
    loss = adversarial + self.clip_weight * guidance
    return loss, {"g_adversarial": adversarial, "clip_loss": guidance}

  def train_step(self, inputs: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
    images, tokens = inputs
    self._batch_size_per_replica = int(images.shape[0])
    text = self.text_embeddings(tokens)
    d_vars = self.discriminator.trainable_variables
    with tf.GradientTape() as tape:
      d_loss, metrics = self.discriminator_loss(images, text)
    self.d_optimizer.apply(tape.gradient(d_loss, d_vars), d_vars)
    g_vars = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      g_loss, g_metrics = self.generator_loss(tokens, text)
    self.g_optimizer.apply(tape.gradient(g_loss, g_vars), g_vars)
    decay = ema_decay(self.global_step, float(self._batch_size),
                      self.ema_half_life_images, self.ema_rampup)
    for var in g_vars:
      shadow = self.ema.shadows[ema_lib.variable_name(var)]
      shadow.assign(decay * shadow + (1.0 - decay) * var)
    self.global_step.assign_add(1)
    metrics.update(g_metrics)
    metrics.update({"d_0": d_loss, "g": g_loss, "ema_decay": decay})
    return metrics

  # ---------------------------------------------------------------- sampling
  def generate(self, z: tf.Tensor, text: tf.Tensor, truncation: float = 1.0,
               use_ema: bool = True) -> tf.Tensor:
    """Images in [0, 1] of z [N, z_dim] and text embeddings [N, T]."""
    mapping = dict(self.ema.shadows) if use_ema else {}
    with vs.no_state_updates():
      with self.generator.store.override(mapping):
        images = self.generator(z, text, truncation=truncation)
    return tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)

  def prompt_grid(self, prompts: Sequence[str], columns: int = 8,
                  truncation: float = 1.0, seed: int = 0, use_ema: bool = True
                  ) -> np.ndarray:
    """[rows * columns, R, R, 3]: row i holds `columns` samples of prompt i
    (the same z in every row)."""
    text = self.embed_prompts(prompts)
    z = tf.random.stateless_normal([columns, self.generator.z_dim],
                                   seed=[seed, 0])
    z = tf.tile(z, [len(prompts), 1])
    text = tf.repeat(text, columns, axis=0)
    return self.generate(z, text, truncation, use_ema).numpy()

  def summary_prompts(self) -> list[str] | None:
    from compare_gan2.datasets import captioned_polygons  # pylint: disable=g-import-not-at-top
    if self._dataset.name.startswith("captioned_polygons"):
      prompts = captioned_polygons.prompts()
      return ([p for p, _, _ in prompts["seen"][::6]] +
              [p for p, _, _ in prompts["held_out"][:2]])
    return None

  def summary_images(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
    prompts = self.summary_prompts()
    if not prompts:
      _, _, tokens = next(iter(self._dataset.train_examples().batch(8)))
      prompts = [self._dataset.tokenizer.decode(t) for t in tokens.numpy()]
    grids = {"fake_images": self.prompt_grid(prompts, use_ema=False),
             "fake_images_ema": self.prompt_grid(prompts, use_ema=True)}
    return grids, grids["fake_images_ema"]

  def real_summary_images(self, num: int = 64) -> np.ndarray:
    _, images, _ = next(iter(self._dataset.train_examples().batch(num)))
    return images.numpy()

  def config(self) -> dict[str, typing.Any]:
    """What sampling, evaluation and export rebuild the model from."""
    return {"dataset": self._dataset.name,
            "clip_dir": os.path.abspath(self.clip_dir),
            "clip_checkpoint": os.path.abspath(self.clip.checkpoint),
            "text_encoder": self.text_encoder_handle,
            "resolution": self.generator.resolution,
            "z_dim": self.generator.z_dim}


def num_parameters(network: tf.Module) -> int:
  return int(sum(np.prod(v.shape) for v in network.trainable_variables))

