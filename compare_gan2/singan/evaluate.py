"""`python -m compare_gan2.singan.evaluate`: measures of a ConSinGAN model.

  python -m compare_gan2.singan.evaluate --model_dir=runs/photo [--num=50]

Draws `num` samples at the training size (noise seed 0) and writes
<model_dir>/scores.json (atomically): `diversity` (SinGAN's: per-pixel standard
deviation across samples over the image's), `patch_fid` (Fréchet distance of
the 7x7 RGB patches of the image and of each sample, averaged; no network
needed), both also for samples at twice the width (`*_wide`, against the
image: retargeting keeps patch statistics), and the checkpoint. With --sifid,
also `sifid` (SinGAN's SIFID on the first max-pooling feature maps of the
Inception network of `eval.inception_handle`; without network access, point it
at a local copy: --gin_bindings='eval.inception_handle = "/path/to/inception"').
See docs/evaluation.md ("Single-image GANs").
"""

from __future__ import annotations

from collections.abc import Sequence
import os
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

SCORES_FILE = "scores.json"
MAX_NUM = 1000  # The samples are held in memory.


def evaluate(model_dir: str, num: int = 50, checkpoint: str | None = None,
             batch: int = 10, inception_handle: str | None = None
             ) -> dict[str, typing.Any]:
  """The scores dict of `model_dir` (also written to its scores.json); with
  `inception_handle`, also `sifid` on that Inception's first pooling maps."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  from compare_gan2 import errors
  from compare_gan2 import model_dir as model_dir_lib
  from compare_gan2.evaluation import feature_extractors
  from compare_gan2.metrics import single_image
  from compare_gan2.singan import runner
  # pylint: enable=g-import-not-at-top
  errors.check_number("--num", num, integer=True, minimum=2, maximum=MAX_NUM,
                      optional=False, hint="diversity compares samples")
  gan, path = runner.load_model(model_dir, checkpoint)
  image = gan.reals[gan.generator.num_stages - 1][0].numpy()
  scores: dict[str, typing.Any] = {"checkpoint": path, "num_samples": int(num)}
  for suffix, scale_w in (("", 1.0), ("_wide", 2.0)):
    samples = np.concatenate([
        gan.sample(min(batch, num - i), [0, i], 1.0, scale_w).numpy()
        for i in range(0, num, batch)])
    if scale_w == 1.0:
      scores["diversity"] = single_image.diversity(samples, image)
    else:  # Against the image's own spread: the samples are wider.
      scores["diversity_wide"] = float(np.mean(np.std(samples, axis=0)) /
                                       np.std(image))
    scores["patch_fid" + suffix] = single_image.patch_fid(samples, image,
                                                          stride=2)
    if inception_handle and scale_w == 1.0:
      features = feature_extractors.InceptionFirstPoolMaps(inception_handle)
      scores["sifid"] = single_image.sifid(
          features((image[None] + 1.0) / 2.0)[0],
          features((samples + 1.0) / 2.0))
  model_dir_lib.atomic_write_json(os.path.join(model_dir, SCORES_FILE), scores)
  return scores


def _define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained ConSinGAN model directory.")
  flags.DEFINE_integer("num", 50, f"Samples to measure (2 .. {MAX_NUM}; the "
                       "papers use 50).")
  flags.DEFINE_string("checkpoint", None, "Checkpoint (default: the latest).")
  flags.DEFINE_bool("sifid", False, "Also SIFID, on the Inception network of "
                    "gin `eval.inception_handle` (needs that network).")
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. "
                            "'eval.inception_handle = \"/path/to/inception\"'.")
  flags.mark_flag_as_required("model_dir")


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  from compare_gan2 import logs
  from compare_gan2.evaluation import evaluator
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.singan.evaluate",
                                   model_dir=f.model_dir):
    gin_setup.parse(bindings=f.gin_bindings)
    handle = evaluator.eval_options().inception_handle if f.sifid else None
    scores = evaluate(f.model_dir, f.num, f.checkpoint,
                      inception_handle=handle)
  print(scores)


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
