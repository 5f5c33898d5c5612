"""Measures of single-image GANs (NumPy in, float out).

- `diversity` (SinGAN, Shaham et al. 2019, section 4; ConSinGAN, Hinz et al.
  2021, section 4.1): the standard deviation of every pixel and channel across
  the samples, averaged over pixels and channels, divided by the standard
  deviation of the training image's pixel values. 0: every sample is the same
  image.
- `patch_fid`: the Fréchet distance between the distributions of all k x k RGB
  patches of the training image and of a sample (flattened, k*k*3 dimensions),
  averaged over samples. It needs no network: the single-image analogue of FID
  on the statistics a patch GAN is trained to match (SIFID uses Inception's
  first pooling features instead).
- `sifid`: SinGAN's single-image FID on the spatial feature vectors of a
  network's feature map (Inception's first pooling layer in the paper).
"""

import numpy as np

from compare_gan2.metrics import fid as fid_lib


def diversity(samples, image):
  """samples [N, H, W, C], image [H, W, C] (same value range) -> float."""
  samples = np.asarray(samples, np.float64)
  image = np.asarray(image, np.float64)
  if samples.ndim != 4 or len(samples) < 2:
    raise ValueError(f"diversity needs [N >= 2, H, W, C] samples, got "
                     f"{samples.shape}.")
  spread = float(np.std(image))
  if spread == 0:
    raise ValueError("diversity: the training image is constant.")
  return float(np.mean(np.std(samples, axis=0)) / spread)


def patches(image, size=7, stride=1):
  """All size x size patches of image [H, W, C], flattened: [P, size*size*C]."""
  image = np.asarray(image, np.float64)
  windows = np.lib.stride_tricks.sliding_window_view(image, (size, size),
                                                     axis=(0, 1))
  windows = windows[::stride, ::stride]  # [H', W', C, size, size]
  return windows.transpose(0, 1, 3, 4, 2).reshape(-1, size * size * image.shape[2])


def patch_fid(samples, image, size=7, stride=1):
  """Mean over samples of FD(patches of the image, patches of the sample)."""
  real = patches(image, size, stride)
  return float(np.mean([fid_lib.frechet_distance_from_activations(
      real, patches(sample, size, stride)) for sample in samples]))


def sifid(real_maps, fake_maps):
  """SIFID (SinGAN, Shaham et al. 2019): the Fréchet distance between the
  feature vectors at every position of the real image's feature map [h, w, C]
  and a sample's, averaged over samples [N, h', w', C] (SinGAN uses
  Inception's first pooling layer, C = 64)."""
  real = np.asarray(real_maps, np.float64)
  real = real.reshape(-1, real.shape[-1])
  return float(np.mean([fid_lib.frechet_distance_from_activations(
      real, np.asarray(f, np.float64).reshape(-1, real.shape[-1]))
                        for f in fake_maps]))
