"""Feature extractors: images in [0, 1] -> {"pool": [N, D], "logits": [N, K]}.

Two implementations behind one interface (`FeatureExtractor`):

* `InceptionExtractor(handle)`: the FID Inception network (tensorflow-gan's
  `https://tfhub.dev/tensorflow/tfgan/eval/inception/1`) loaded with
  `tensorflow_hub.load` from a TF-Hub handle or a local directory. Images are
  preprocessed as compare_gan / tfgan's `preprocess_image` did: scaled to
  [0, 255], bilinearly resized to 299x299 (TF1 `resize_bilinear`, no corner
  alignment) and mapped to [-1, 1] by `(x - 128) / 128`. The module is called
  as `module(images) -> {"pool_3": [N, (1, 1,) 2048], "logits": [N, 1008]}`
  (the outputs are flattened); "pool" is `pool_3`, "logits" the 1008 logits.
* `classifier.DatasetClassifier(dataset_name)` (evaluation/classifier.py): the
  cached small CNN of an embedded dataset (`polygons_*`, `mnist_5k_32`), trained
  by `python -m compare_gan2.evaluation.train_classifier --dataset=NAME`; its
  classes are the dataset's (`class_aligned = True`). A cached classifier whose
  test accuracy is below `polygons_classifier.min_test_accuracy` is refused.

`evaluator.get_feature_extractor(dataset_name)` picks one by gin `eval.feature_extractor`
("auto": the dataset's classifier for the embedded datasets, Inception
otherwise).
"""

import numpy as np
import tensorflow as tf

from compare_gan2 import errors

INCEPTION_TFHUB = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_IMAGE_SIZE = 299


class FeatureExtractorError(errors.UserError, RuntimeError):
  """A feature extractor could not be loaded (message says what to do)."""


class FeatureExtractor:
  """Interface: `extractor(images) -> {"pool": [N, D], "logits": [N, K]}`.

  Attributes:
    name: short identifier (used in logs and score files).
    class_aligned: True if the logits' classes are the dataset's classes
      (then sample class accuracy is meaningful).
    batch_size: images per forward pass.
  """

  name = "abstract"
  class_aligned = False
  batch_size = 64
  channels = 3  # Image channels the network reads; 1-channel images are tiled.

  def _forward(self, images):
    """[B, H, W, C] float32 in [0, 1] (tensor) -> dict of tensors."""
    raise NotImplementedError

  def __call__(self, images):
    """Features of `images` ([N, H, W, C] in [0, 1], NumPy or tensor).

    Returns:
      {"pool": float32 [N, D], "logits": float32 [N, K]} as NumPy arrays.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
      raise ValueError(f"{self.name}: expected [N, H, W, C] images, got shape "
                       f"{images.shape}.")
    if images.shape[-1] == 1 and self.channels == 3:
      images = np.tile(images, [1, 1, 1, 3])
    pools, logits = [], []
    for start in range(0, len(images), self.batch_size):
      out = self._forward(tf.constant(images[start:start + self.batch_size]))
      pools.append(np.asarray(out["pool"], np.float32))
      logits.append(np.asarray(out["logits"], np.float32))
    if not pools:
      raise ValueError(f"{self.name}: no images.")
    return {"pool": np.concatenate(pools), "logits": np.concatenate(logits)}


# --------------------------------------------------------------------------
# Inception (TF-Hub).
# --------------------------------------------------------------------------


def preprocess_for_inception(images):
  """[N, H, W, 3] in [0, 1] -> [N, 299, 299, 3] in [-1, 1] (tfgan's recipe)."""
  images = tf.cast(images, tf.float32) * 255.0
  resized = tf.compat.v1.image.resize_bilinear(
      images, [INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE], align_corners=False)
  return (resized - 128.0) / 128.0


def _load_hub_module(handle):
  try:
    import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise FeatureExtractorError(
        "tensorflow-hub is needed to load the Inception network "
        f"({handle!r}); pip install tensorflow-hub.") from e
  try:
    return hub.load(handle)
  except Exception as e:  # pylint: disable=broad-except
    raise FeatureExtractorError(
        f"Could not load the Inception network from eval.inception_handle = "
        f"{handle!r}: {type(e).__name__}: {e}\n"
        "Without network access, download the module on a machine that has it "
        f"(e.g. {INCEPTION_TFHUB}?tf-hub-format=compressed, then untar it), "
        "copy the directory here and point at it with the gin binding "
        "`eval.inception_handle = \"/path/to/inception\"` (e.g. "
        "--gin_bindings='eval.inception_handle = \"/path/to/inception\"'). "
        "For the embedded polygons_* datasets, use the offline classifier "
        "instead: `eval.feature_extractor = \"polygons\"`.") from e


class InceptionExtractor(FeatureExtractor):
  """The FID Inception network from a TF-Hub handle or local path."""

  name = "inception"

  def __init__(self, handle=INCEPTION_TFHUB, batch_size=64):
    self.handle = handle
    self.batch_size = int(batch_size)
    self._module = _load_hub_module(handle)
    module = self._module

    @tf.function(reduce_retracing=True)
    def forward(images):
      out = module(preprocess_for_inception(images))
      if not isinstance(out, dict) or "pool_3" not in out or "logits" not in out:
        raise FeatureExtractorError(
            f"The module at {handle!r} does not return a dict with 'pool_3' "
            "and 'logits' (the tfgan Inception module's outputs).")
      def flat(t):
        return tf.reshape(t, [tf.shape(t)[0], -1])
      return {"pool": flat(out["pool_3"]), "logits": flat(out["logits"])}
    self._forward_fn = forward

  def _forward(self, images):
    return self._forward_fn(images)


# --------------------------------------------------------------------------
# Inception's first pooling layer (SinGAN's SIFID features).
# --------------------------------------------------------------------------


def _first_max_pool(graph_def):
  """Name of the MaxPool node of `graph_def` with no MaxPool upstream."""
  nodes = {node.name: node for node in graph_def.node}
  def upstream_pools(name):
    seen, stack = set(), [name]
    while stack:
      for parent in nodes[stack.pop()].input:
        parent = parent.lstrip("^").split(":")[0]
        if parent in seen or parent not in nodes:
          continue
        if nodes[parent].op == "MaxPool":
          return True
        seen.add(parent)
        stack.append(parent)
    return False
  firsts = [node.name for node in graph_def.node if node.op == "MaxPool"
            and not upstream_pools(node.name)]
  if len(firsts) != 1:
    raise FeatureExtractorError(
        f"Expected one first max-pooling layer in the Inception network, "
        f"found {len(firsts)} ({firsts}); SIFID needs Inception v3 (e.g. "
        f"{INCEPTION_TFHUB}).")
  return firsts[0]


class InceptionFirstPoolMaps:
  """images [N, H, W, 3] in [0, 1] -> Inception's first max-pooling feature
  maps [N, 73, 73, 64]: the features of SinGAN's SIFID (Shaham et al. 2019,
  pytorch-fid's block 0: three convolutions and a max pool).

  The network is the one of `eval.inception_handle`, preprocessed as for FID
  (`preprocess_for_inception`). Its call is frozen (variables become
  constants, nested functions inlined) and pruned at the MaxPool that has no
  other MaxPool upstream.
  """

  def __init__(self, handle=INCEPTION_TFHUB, batch_size=16):
    # pylint: disable=g-import-not-at-top
    from tensorflow.python.framework import convert_to_constants
    # pylint: enable=g-import-not-at-top
    self.handle = handle
    self.batch_size = int(batch_size)
    module = _load_hub_module(handle)
    spec = tf.TensorSpec([None, INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE, 3],
                         tf.float32)
    try:
      call = module.__call__.get_concrete_function(spec)
    except (AttributeError, ValueError, TypeError) as e:
      raise FeatureExtractorError(
          f"The module at eval.inception_handle = {handle!r} has no call on "
          f"images [N, {INCEPTION_IMAGE_SIZE}, {INCEPTION_IMAGE_SIZE}, 3] "
          f"(tfgan's Inception module has): {e}") from e
    frozen = convert_to_constants.convert_variables_to_constants_v2(call)
    graph_def = frozen.graph.as_graph_def()
    pool = _first_max_pool(graph_def)
    imported = tf.compat.v1.wrap_function(
        lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
    self._maps = imported.prune(
        feeds=imported.graph.get_tensor_by_name(frozen.inputs[0].name),
        fetches=imported.graph.get_tensor_by_name(pool + ":0"))

  def __call__(self, images):
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f"Expected [N, H, W, 3] images, got {images.shape}.")
    return np.concatenate([
        self._maps(preprocess_for_inception(images[i:i + self.batch_size]))
        .numpy() for i in range(0, len(images), self.batch_size)])
