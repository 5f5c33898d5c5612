"""What StyleGAN-T does to images before its discriminator, seeded statelessly
(a [2] seed per step), so training resumes exactly.

- `diff_augment` (Zhao et al., "Differentiable Augmentation for Data-Efficient
  GAN Training", 2020; StyleGAN-T's policy "color,translation,cutout"), on
  images in [-1, 1], per sample: brightness + U(-0.5, 0.5); saturation: the
  deviation from the pixel's channel mean times U(0, 2); contrast: the
  deviation from the image mean times U(0.5, 1.5); translation by integers up
  to round(0.125 size) in each axis, zero padding; cutout of a square of side
  round(0.2 size) (StyleGAN-T's ratio) at a random place, zeroed.
- `blur` (StyleGAN-T training/loss.py): a separable filter 2^(-(x/sigma)^2)
  for |x| <= floor(3 sigma), normalised, zero padding; sigma fades linearly
  from `blur_init_sigma` to 0 over `blur_fade_images` images (`blur_sigma`).
"""

import tensorflow as tf

from compare_gan2 import random_ops


def _uniform(seed, salt, n, low, high):
  return tf.random.stateless_uniform([n, 1, 1, 1], random_ops.derive_seed(
      seed, salt), low, high)


def _shift_zero_padded(x, dx, dy):
  """Translates each image by integers dx, dy [N] with zero fill."""
  h, w = tf.shape(x)[1], tf.shape(x)[2]
  rows = tf.range(h)[None, :] - dy[:, None]                         # [N, H]
  cols = tf.range(w)[None, :] - dx[:, None]                         # [N, W]
  valid = ((rows >= 0) & (rows < h))[:, :, None] & (
      (cols >= 0) & (cols < w))[:, None, :]
  gathered = tf.gather(x, tf.clip_by_value(rows, 0, h - 1), axis=1,
                       batch_dims=1)
  gathered = tf.gather(gathered, tf.clip_by_value(cols, 0, w - 1), axis=2,
                       batch_dims=1)
  return gathered * tf.cast(valid, x.dtype)[..., None]


def translate(x, seed, ratio=0.125):
  """DiffAugment's rand_translation: integer shifts in
  [-round(ratio size), round(ratio size)] per axis and sample, zero fill."""
  size = int(x.shape[1])
  shift = int(size * ratio + 0.5)
  if not shift:
    return x
  n = tf.shape(x)[0]
  d = tf.random.stateless_uniform([2, n], seed, -shift, shift + 1,
                                  dtype=tf.int32)
  return _shift_zero_padded(x, d[0], d[1])


def cutout(x, seed, ratio=0.2):
  """DiffAugment's rand_cutout: a square of side round(ratio size) covering
  rows [o - side // 2, o - side // 2 + side) (clipped to the image), o uniform
  in [0, size + (1 - side % 2)), likewise for columns, set to 0."""
  size = int(x.shape[1])
  side = int(size * ratio + 0.5)
  if not side:
    return x
  n = tf.shape(x)[0]
  offset = tf.random.stateless_uniform([2, n], seed, 0, size + (1 - side % 2),
                                       dtype=tf.int32)
  coords = tf.range(size)[None, :]
  start = offset - side // 2                                        # [2, N]
  rows = (coords >= start[0][:, None]) & (coords < start[0][:, None] + side)
  cols = (coords >= start[1][:, None]) & (coords < start[1][:, None] + side)
  hole = rows[:, :, None] & cols[:, None, :]
  return x * (1.0 - tf.cast(hole, x.dtype))[..., None]


def diff_augment(images, seed, translation=0.125, cutout_ratio=0.2):
  """StyleGAN-T's DiffAugment policy on images [N, H, W, C] in [-1, 1]."""
  x = tf.convert_to_tensor(images, tf.float32)
  n = tf.shape(x)[0]
  x = x + _uniform(seed, 1, n, -0.5, 0.5)
  mean = tf.reduce_mean(x, axis=3, keepdims=True)
  x = (x - mean) * _uniform(seed, 2, n, 0.0, 2.0) + mean
  mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
  x = (x - mean) * _uniform(seed, 3, n, 0.5, 1.5) + mean
  x = translate(x, random_ops.derive_seed(seed, 4), translation)
  return cutout(x, random_ops.derive_seed(seed, 5), cutout_ratio)


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
