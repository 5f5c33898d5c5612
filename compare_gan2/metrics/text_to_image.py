"""Measures of text-to-image samples on captioned polygons (NumPy in, out).

- `fill_colours`: the fill colour of each image from pixel statistics: the
  background is the median colour of the one-pixel border; the pixels farther
  than `threshold` (max over channels) from it are the polygon; the palette
  colour nearest (Euclidean, RGB) to their median is the fill; -1 if no pixel
  differs (no polygon drawn).
- `clip_score`: StyleGAN-T's (metrics/clip_score.py): the mean cosine
  similarity of image and caption embeddings (raw, not x100, not clipped).
"""

import numpy as np


def fill_colours(images, palette, threshold=0.2):
  """images [N, H, W, 3] in [0, 1], palette [K, 3] -> int [N] (-1: none)."""
  images = np.asarray(images, np.float32)
  palette = np.asarray(palette, np.float32)
  border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0],
                           images[:, :, -1]], axis=1)          # [N, 4W, 3]
  background = np.median(border, axis=1)                        # [N, 3]
  result = np.full(len(images), -1, np.int64)
  for i, (image, bg) in enumerate(zip(images, background)):
    polygon = image[np.abs(image - bg).max(-1) > threshold]
    if len(polygon):
      fill = np.median(polygon, axis=0)
      result[i] = int(np.argmin(np.sum((palette - fill) ** 2, axis=1)))
  return result


def clip_score(image_embeddings, text_embeddings):
  """Mean cosine similarity of matching rows [N, E], [N, E]."""
  a = np.asarray(image_embeddings, np.float64)
  b = np.asarray(text_embeddings, np.float64)
  a /= np.linalg.norm(a, axis=1, keepdims=True)
  b /= np.linalg.norm(b, axis=1, keepdims=True)
  return float(np.mean(np.sum(a * b, axis=1)))
