"""The naive composite of the harmonization example: a 28x28 crop of
scikit-image's coffee.png pasted into the training image (rocket.jpg at 86x128),
and its mask (white where pasted).

  .venv/bin/python experiments/results/consingan_rocket/make_composite.py \
      runs/consingan_rocket/image.png experiments/results/consingan_rocket
"""

import os
import sys

import numpy as np
from PIL import Image

from compare_gan2.singan import images


def main(image_path, out_dir):
  base = np.asarray(Image.open(image_path).convert("RGB")).copy()
  coffee = Image.open(images.resolve("skimage:coffee")).convert("RGB")
  patch = np.asarray(coffee.resize((100, 75), Image.BICUBIC))[20:48, 30:58]
  top, left = 40, 20
  base[top:top + 28, left:left + 28] = patch
  mask = np.zeros(base.shape[:2], np.uint8)
  mask[top:top + 28, left:left + 28] = 255
  Image.fromarray(base).save(os.path.join(out_dir, "naive.png"))
  Image.fromarray(mask).save(os.path.join(out_dir, "naive_mask.png"))


if __name__ == "__main__":
  main(*sys.argv[1:3])
