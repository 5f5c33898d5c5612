"""What StyleGAN-T does to images before its discriminator, seeded statelessly
(a [2] seed per step), so training resumes exactly.

- `diff_augment`: DiffAugment (Zhao et al., "Differentiable Augmentation for
  Data-Efficient GAN Training", 2020) with StyleGAN-T's policy
  "color,translation,cutout" and cutout ratio 0.2, through the package's one
  implementation (compare_gan2/augmentation/diffaugment.py), on images in
  [-1, 1], per sample: brightness + U(-0.5, 0.5); saturation: the deviation
  from the pixel's channel mean times U(0, 2); contrast: the deviation from
  the image mean times U(0.5, 1.5); translation by integers up to
  round(0.125 size) in each axis, zero padding; cutout of a square of side
  round(0.2 size) (StyleGAN-T's ratio) at a random place, zeroed.
- `blur` (StyleGAN-T training/loss.py): a separable filter 2^(-(x/sigma)^2)
  for |x| <= floor(3 sigma), normalised, zero padding; sigma fades linearly
  from `blur_init_sigma` to 0 over `blur_fade_images` images (`blur_sigma`).
"""

import tensorflow as tf

from compare_gan2 import random_ops
from compare_gan2.augmentation import diffaugment

# StyleGAN-T's cutout ratio (DiffAugment's official default is 0.5).
CUTOUT_RATIO = 0.2


def _uniform(seed, salt, n, low, high):
  """The [n, 1, 1, 1] U(low, high) draw of the colour op `salt` (1
  brightness, 2 saturation, 3 contrast) in `diff_augment(images, seed)`."""
  return tf.random.stateless_uniform([n, 1, 1, 1], random_ops.derive_seed(
      seed, salt), low, high)


def translate(x, seed, ratio=0.125):
  """DiffAugment's rand_translation (diffaugment.translation)."""
  return diffaugment.translation(x, seed, ratio)


def cutout(x, seed, ratio=CUTOUT_RATIO):
  """DiffAugment's rand_cutout with StyleGAN-T's ratio (diffaugment.cutout)."""
  return diffaugment.cutout(x, seed, ratio)


def diff_augment(images, seed, translation=0.125, cutout_ratio=CUTOUT_RATIO):
  """StyleGAN-T's DiffAugment policy on images [N, H, W, C] in [-1, 1]."""
  return diffaugment.diff_augment(
      tf.convert_to_tensor(images, tf.float32), seed,
      "color,translation,cutout", translation_ratio=translation,
      cutout_ratio=cutout_ratio)


def blur_sigma(images_seen, blur_init_sigma, blur_fade_images):
  """StyleGAN-T's schedule: max(1 - seen / fade, 0) * init."""
  if blur_fade_images <= 0:
    return tf.constant(0.0)
  seen = tf.cast(images_seen, tf.float32)
  return tf.maximum(1.0 - seen / float(blur_fade_images), 0.0) * blur_init_sigma


def blur(images, sigma, max_sigma):
  """Blurs [N, H, W, C] with the filter of `sigma` (a scalar tensor <=
  max_sigma); identity when sigma is 0."""
  radius = int(3 * max_sigma)
  if radius < 1:
    return images
  taps = tf.range(-radius, radius + 1, dtype=tf.float32)
  safe = tf.maximum(sigma, 1e-8)
  f = tf.pow(2.0, -tf.square(taps / safe))
  f = tf.where(tf.abs(taps) <= tf.floor(3.0 * sigma), f, 0.0)
  f /= tf.reduce_sum(f)
  channels = int(images.shape[-1])
  kx = tf.tile(tf.reshape(f, [1, -1, 1, 1]), [1, 1, channels, 1])
  ky = tf.tile(tf.reshape(f, [-1, 1, 1, 1]), [1, 1, channels, 1])
  out = tf.nn.depthwise_conv2d(images, kx, [1, 1, 1, 1], "SAME")
  out = tf.nn.depthwise_conv2d(out, ky, [1, 1, 1, 1], "SAME")
  return tf.where(sigma > 0, out, images)
