"""`python -m compare_gan2.text2image.export`: the Hub module of a text-to-image
model (a TF2 SavedModel, loadable with `tensorflow_hub.load`).

  python -m compare_gan2.text2image.export --model_dir=runs/t2i [--out=DIR]

The module (default: <model_dir>/hub_module) holds the EMA generator, the text
encoder and its vocabulary:

  module = hub.load(DIR)
  images = module(prompts, z, truncation)   # string [N], float [N, z_dim],
                                            # float [] -> [N, R, R, 3] in [-1, 1]
  module.tokenize(prompts)                  # int32 [N, L]: the graph's ids
  module.embed(prompts)                     # [N, T] normalised text embeddings
  module.generate_from_embedding(text, z, truncation)  # e.g. interpolations
  module.z_dim, module.resolution           # int variables

Prompts are tokenised inside the graph (lower-cased, split on characters other
than a-z0-9, a fixed vocabulary; text/tokenizer.py), exactly as in training.
Truncation psi pulls each sample towards its caption's mean style. A prompt with
no word (empty, blank, punctuation only) is refused by the graph
(InvalidArgumentError naming it), as the sample command refuses it.

Serving signatures (saved_model_cli, TensorFlow Serving, the converters,
`hub.KerasLayer(..., signature=...)`), each equal to the method of its name:

  serving_default          prompts string [N], z float32 [N, z_dim],
                           truncation float32 [] -> images [N, R, R, 3]
  embed                    prompts string [N] -> embeddings [N, T]
  generate_from_embedding  embeddings [N, T], z, truncation -> images
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import os
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

from compare_gan2.text import tokenizer as tokenizer_lib  # noqa: E402

if typing.TYPE_CHECKING:  # TensorFlow loads after console.quiet_if_main.
  import tensorflow as tf
  from compare_gan2.text2image import gan as gan_lib

DEFAULT_DIR = "hub_module"
EMPTY_PROMPT_ERROR = ("compare_gan2 text-to-image module: a prompt has no word "
                      "(empty, blank or punctuation only); give every prompt "
                      "at least one word. Prompts refused:")


def build_module(model: gan_lib.TextToImageGAN
                 ) -> tuple[tf.Module, dict[str, Callable[..., dict[str, tf.Tensor]]]]:
  """(tf.Module, {signature key: concrete-function source}) exported for
  `model` (a restored TextToImageGAN)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  if model.text_encoder is not model.clip:
    raise errors.ConfigError(
        "Export embeds the package's text encoder; a model conditioned on an "
        f"external encoder ({model.text_encoder_handle}) is not exported.")
  z_dim = model.generator.z_dim
  text_dim = model.generator.text_dim
  resolution = model.generator.resolution

  class TextToImageModule(tf.Module):
    """prompts, z, truncation -> images (see the module docstring)."""

    def __init__(self) -> None:
      super().__init__(name="text_to_image")
      self.clip = model.clip
      self.generator_variables = list(model.generator.variables)
      self.ema_variables = list(model.ema.shadows.values())
      self.z_dim = tf.Variable(z_dim, trainable=False, name="z_dim")
      self.resolution = tf.Variable(model.generator.resolution,
                                    trainable=False, name="resolution")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(self, prompts: tf.Tensor) -> tf.Tensor:
      return self.clip.tokenize(prompts)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def embed(self, prompts: tf.Tensor) -> tf.Tensor:
      tokens = self.clip.tokenize(prompts)
      # A prompt without words tokenises to <eos> first: refuse it.
      empty = tf.equal(tokens[:, 0], tokenizer_lib.EOS)
      tf.debugging.Assert(tf.logical_not(tf.reduce_any(empty)), [
          EMPTY_PROMPT_ERROR, tf.boolean_mask(prompts, empty)])
      return model.text_embeddings(tokens)

    @tf.function(input_signature=[tf.TensorSpec([None, text_dim], tf.float32),
                                  tf.TensorSpec([None, z_dim], tf.float32),
                                  tf.TensorSpec([], tf.float32)])
    def generate_from_embedding(self, text: tf.Tensor, z: tf.Tensor,
                                truncation: tf.Tensor) -> tf.Tensor:
      images = model.generate(z, text, truncation) * 2.0 - 1.0
      return tf.ensure_shape(images, [None, resolution, resolution, 3])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string),
                                  tf.TensorSpec([None, z_dim], tf.float32),
                                  tf.TensorSpec([], tf.float32)])
    def __call__(self, prompts: tf.Tensor, z: tf.Tensor, truncation: tf.Tensor
                 ) -> tf.Tensor:
      return self.generate_from_embedding(self.embed(prompts), z, truncation)

  module = TextToImageModule()
  text = tf.TensorSpec([None], tf.string, name="prompts")
  latents = tf.TensorSpec([None, z_dim], tf.float32, name="z")
  psi = tf.TensorSpec([], tf.float32, name="truncation")
  embeddings = tf.TensorSpec([None, text_dim], tf.float32, name="embeddings")

  @tf.function(input_signature=[text, latents, psi])
  def serving_default(prompts: tf.Tensor, z: tf.Tensor, truncation: tf.Tensor
                      ) -> dict[str, tf.Tensor]:
    return {"images": module(prompts, z, truncation)}

  @tf.function(input_signature=[text])
  def embed(prompts: tf.Tensor) -> dict[str, tf.Tensor]:
    return {"embeddings": module.embed(prompts)}

  @tf.function(input_signature=[embeddings, latents, psi])
  def generate_from_embedding(embeddings: tf.Tensor, z: tf.Tensor,
                              truncation: tf.Tensor) -> dict[str, tf.Tensor]:
    return {"images": module.generate_from_embedding(embeddings, z, truncation)}

  signatures = {"serving_default": serving_default, "embed": embed,
                "generate_from_embedding": generate_from_embedding}
  return module, signatures


def export(model_dir: str, out: str | None = None, checkpoint: str | None = None
           ) -> str:
  """Writes the module; returns its directory."""
  # pylint: disable=g-import-not-at-top
  import shutil
  import tensorflow as tf
  from compare_gan2.text2image import loader
  # pylint: enable=g-import-not-at-top
  model, _ = loader.load_model(model_dir, checkpoint)
  out = out or os.path.join(model_dir, DEFAULT_DIR)
  module, signatures = build_module(model)
  staging = out.rstrip("/") + ".partial"
  if os.path.exists(staging):
    shutil.rmtree(staging)
  tf.saved_model.save(module, staging, signatures=signatures)
  if os.path.exists(out):
    shutil.rmtree(out)
  os.replace(staging, out)
  return out


def _define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained text-to-image model.")
  flags.DEFINE_string("out", None, "Module directory (default: "
                      f"<model_dir>/{DEFAULT_DIR}).")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.mark_flag_as_required("model_dir")


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(None)
  with errors.reported_as_one_line("python -m compare_gan2.text2image.export",
                                   model_dir=f.model_dir):
    out = export(f.model_dir, f.out, f.checkpoint)
  print(f"Exported {out}")


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
