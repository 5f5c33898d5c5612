"""ConSinGAN as a TF Hub module (TF2 SavedModel).

  python -m compare_gan2.singan.export --model_dir=runs/photo [--output=DIR]

  module = hub.load(path)
  images = module(num=4, scale_h=1.0, scale_w=2.0, seed=[0, 0])  # [4, H, 2W, 3]

The signature (also `serving_default`) takes the number of images, the scale of
every stage's size (as `python -m compare_gan2.singan.sample`: each stage is
int(H_k * scale_h) x int(W_k * scale_w)) and a stateless noise seed [2] int32,
and returns images in [-1, 1]. The same seed gives the same images as
`SingleImageGAN.sample` (a batch-norm model, as there, runs G on one image at a
time). The module holds G's variables, the noise amplitudes and the training
sizes; it is written to a temporary directory and renamed into place (default:
<model_dir>/tfhub/<checkpoint number>).
"""

from __future__ import annotations

from collections.abc import Sequence
import os
import shutil
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402
import tensorflow as tf  # noqa: E402

from compare_gan2 import errors  # noqa: E402
from compare_gan2 import flags_help  # noqa: E402
from compare_gan2 import logs  # noqa: E402
from compare_gan2 import model_dir as model_dir_lib  # noqa: E402
from compare_gan2.singan import runner  # noqa: E402

if typing.TYPE_CHECKING:
  from compare_gan2.singan import training

_SIGNATURE = [tf.TensorSpec([], tf.int32, name="num"),
              tf.TensorSpec([], tf.float32, name="scale_h"),
              tf.TensorSpec([], tf.float32, name="scale_w"),
              tf.TensorSpec([2], tf.int32, name="seed")]


class ConSinGANModule(tf.Module):
  """The exported generator: `__call__(num, scale_h, scale_w, seed)`."""

  def __init__(self, gan: training.SingleImageGAN):
    super().__init__(name="consingan_module")
    self.generator = gan.generator
    self.batch_norm = gan.options.batch_norm
    self.noise_amp = tf.Variable(gan.noise_amp.numpy(), trainable=False,
                                 name="noise_amp")
    self.sizes = tf.Variable(tf.constant(gan.sizes, tf.float32), trainable=False,
                             name="stage_sizes")

  @tf.function(input_signature=_SIGNATURE)
  def __call__(self, num: tf.Tensor, scale_h: tf.Tensor, scale_w: tf.Tensor,
               seed: tf.Tensor) -> tf.Tensor:
    sizes, noises = [], []
    for k in range(self.generator.num_stages):
      h = tf.cast(self.sizes[k, 0] * scale_h, tf.int32)  # int(), as the official
      w = tf.cast(self.sizes[k, 1] * scale_w, tf.int32)
      sizes.append((h, w))
      shape = self.generator.noise_shape(k, (h, w))
      noises.append(tf.random.stateless_normal(
          tf.stack([num, shape[0], shape[1], shape[2]]),
          tf.stack([seed[0] + k, seed[1]])))
    if not self.batch_norm:
      return self.generator(noises, sizes, self.noise_amp)
    # Batch norm: one image at a time, as SingleImageGAN.sample.
    return tf.map_fn(
        lambda i: self.generator([z[i:i + 1] for z in noises], sizes,
                                 self.noise_amp)[0],
        tf.range(num), fn_output_signature=tf.float32)


def export(model_dir: str, output: str | None = None,
           checkpoint: str | None = None) -> str:
  """Writes the module of `model_dir`'s checkpoint; returns its path."""
  gan, path = runner.load_model(model_dir, checkpoint)
  if gan.generator.num_stages < gan.options.train_stages:
    raise errors.ConfigError(
        f"{path} is from stage {gan.generator.num_stages} of "
        f"{gan.options.train_stages}: finish the training first (run the same "
        "training command again to resume it).")
  step = int(path.rsplit("-", 1)[-1])
  output = output or model_dir_lib.export_path(model_dir, step)
  module = ConSinGANModule(gan)
  tmp = f"{output}.tmp"
  if os.path.exists(tmp):
    shutil.rmtree(tmp)
  tf.saved_model.save(module, tmp, signatures={
      "serving_default": module.__call__.get_concrete_function()})
  if os.path.exists(output):
    shutil.rmtree(output)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  os.replace(tmp, output)
  return output


def _define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained ConSinGAN model directory.")
  flags.DEFINE_string("output", None, "Module directory (default: "
                      "<model_dir>/tfhub/<checkpoint number>).")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.mark_flag_as_required("model_dir")


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  f = flags.FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.singan.export",
                                   model_dir=f.model_dir):
    print(export(f.model_dir, f.output, f.checkpoint))


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
