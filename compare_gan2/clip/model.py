"""A frozen text–image encoder pair behind one interface (`TextImageModel`).

- `TextImageModel.load(model_dir)`: a pair pre-trained by
  `python -m compare_gan2.clip` (its `clip_config.json` and latest checkpoint).
- `ExternalTextEncoder(handle)`: a pretrained text encoder from a TF Hub handle
  or SavedModel directory whose call maps a string tensor [N] to embeddings
  [N, E] (e.g. a CLIP text tower exported to TF); `load_text_encoder(handle)`
  picks one of the two, so a text-to-image GAN can condition on either.

Text encoders have `embed_dim` and `encode_strings(string [N]) -> [N, E]`
(unnormalised); the pair also `encode_text(tokens)`, `encode_image(images)`,
`image_features(images)` (the image encoder's feature maps) and `score`.
"""

import json
import os

import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.clip import encoders
from compare_gan2.clip import loss as loss_lib
from compare_gan2.clip import pretraining
from compare_gan2.text import tokenizer as tokenizer_lib
from compare_gan2.training import checkpoints

CONFIG_FILE = "clip_config.json"


class TextImageModel(tf.Module):
  """A trained offline CLIP. Frozen by use: the GANs that load it never pass
  its variables to an optimizer (gradients may flow through it to images)."""

  def __init__(self, config):
    super().__init__(name="clip")
    self.config = config
    self.tokenizer = tokenizer_lib.Tokenizer(config["vocabulary"],
                                             config["length"])
    self.text_encoder = encoders.TextTransformer(
        self.tokenizer.vocab_size, self.tokenizer.length,
        **config["text_encoder"])
    self.image_encoder = encoders.ImageEncoder(**config["image_encoder"])
    self.embed_dim = int(config["text_encoder"]["embed_dim"])
    self.text_encoder(tf.zeros([1, self.tokenizer.length], tf.int32))
    self.image_encoder(tf.zeros([1] + list(config["image_shape"])))
    self.log_scale = pretraining.log_scale_variable(self.image_encoder)
    self._table = self.tokenizer.tf_table()

  @classmethod
  def load(cls, model_dir, checkpoint=None):
    """The pair of a `python -m compare_gan2.clip` model directory."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not tf.io.gfile.exists(path):
      raise errors.ConfigError(
          f"{model_dir!r} is not a pre-trained text–image model (no "
          f"{CONFIG_FILE}); train one with python -m compare_gan2.clip "
          f"--model_dir={model_dir}.")
    with tf.io.gfile.GFile(path) as f:
      model = cls(json.load(f))
    checkpoint = checkpoint or checkpoints.latest_checkpoint(model_dir,
                                                             required=True)
    values = checkpoints.read_variables(checkpoint)
    for variable in model.text_encoder.variables + model.image_encoder.variables:
      name = variable.name.split(":")[0]
      if name not in values:
        raise checkpoints.CheckpointMismatchError(
            f"{checkpoint} has no {name}: it was not written by this "
            f"model's {CONFIG_FILE}.")
      variable.assign(values[name])
    model.checkpoint = checkpoint
    return model

  def variables_to_freeze(self):
    return self.text_encoder.variables + self.image_encoder.variables

  def tokenize(self, strings):
    """string tensor [N] -> token ids int32 [N, length] (in the graph)."""
    return self.tokenizer.tf_encode(strings, self._table)

  def encode_text(self, tokens):
    return self.text_encoder(tokens)

  def encode_strings(self, strings):
    return self.encode_text(self.tokenize(tf.convert_to_tensor(strings)))

  def encode_image(self, images):
    return self.image_encoder(images)["embedding"]

  def image_features(self, images):
    return self.image_encoder(images)["features"]

  def similarity(self, images, tokens):
    """Cosine similarity [N] of each image with its own caption's tokens."""
    image = loss_lib.normalize(self.encode_image(images))
    text = loss_lib.normalize(self.encode_text(tokens))
    return tf.reduce_sum(image * text, axis=-1)


class ExternalTextEncoder:
  """A pretrained text encoder from a TF Hub handle / SavedModel directory:
  `module(strings [N]) -> [N, E]` (or a dict holding "default")."""

  def __init__(self, handle):
    import tensorflow_hub as hub  # pylint: disable=g-import-not-at-top
    try:
      self._module = hub.load(handle)
    except Exception as e:  # pylint: disable=broad-except
      raise errors.ConfigError(
          f"Could not load the text encoder {handle!r}: {type(e).__name__}: "
          f"{e}. Give a SavedModel / TF Hub directory whose call maps strings "
          "[N] to embeddings [N, E], or a python -m compare_gan2.clip model "
          "directory.") from e
    self.handle = handle
    probe = self.encode_strings(tf.constant(["a"]))
    if probe.shape.rank != 2:
      raise errors.ConfigError(
          f"The text encoder {handle!r} returns shape {probe.shape} for one "
          "string; expected [1, E].")
    self.embed_dim = int(probe.shape[-1])

  def encode_strings(self, strings):
    out = self._module(tf.convert_to_tensor(strings))
    if isinstance(out, dict):
      out = out["default"]
    return tf.cast(out, tf.float32)


def load_text_encoder(handle):
  """Our pair's text side (a compare_gan2.clip model directory) or an
  external encoder (any other handle)."""
  if tf.io.gfile.exists(os.path.join(handle, CONFIG_FILE)):
    return TextImageModel.load(handle)
  return ExternalTextEncoder(handle)
