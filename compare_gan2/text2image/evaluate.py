"""`python -m compare_gan2.text2image.evaluate`: a text-to-image model's scores.

  python -m compare_gan2.text2image.evaluate --model_dir=runs/t2i \
      --evaluator_dir=runs/clip_seed2 [--num=1800] [--truncation=1.0] \
      [--curve=1.0,0.8,0.6,0.4,0.2,0.0] [--curve_num=600]

One sample per caption of the first `num` test images (z seeded by the index),
scored against those images, apart for the captions of seen and of held-out
(shape, fill) pairs (captioned_polygons: compositional zero-shot):
- `fid`: FID on the features of the offline shape classifier
  (captioned_polygons_shapes_R; trained on first use);
- `clip_score`: StyleGAN-T's CLIP score (mean cosine of image and caption
  embeddings) by the evaluator pair (`--evaluator_dir`: a pair pre-trained
  with another seed than the one G was trained against), and
  `clip_score_mismatched` (each sample against a caption of another pair);
- `vertex_accuracy` (the classifier's prediction, chance 1/6) and
  `fill_accuracy` (fill colour from pixel statistics, chance 1/6);
- the same measures of the real images (`real_*`), the ceiling.
And the variation–alignment curve: FID against CLIP score over truncation psi
(StyleGAN-T, Figure 5), on the first `curve_num` captions; plotted to
`truncation_curve.png`. Everything goes to `<model_dir>/t2i_scores.json`.

Refused in one line, before anything is loaded: --num outside [100, 10000]
(seen and held-out captions each need samples; the test split), --curve_num
below 2, a --truncation or --curve value outside [0, 1], a negative --seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import os
import typing

from compare_gan2 import console

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from absl import flags  # noqa: E402

from compare_gan2 import flags_help  # noqa: E402

if typing.TYPE_CHECKING:  # TensorFlow loads after console.quiet_if_main.
  import numpy as np
  from compare_gan2.clip import model as clip_model_lib
  from compare_gan2.datasets import captioned_polygons
  from compare_gan2.text2image import gan as gan_lib

# {measure name: value per sample} (Scorer.measure).
Measures = dict[str, "np.ndarray"]

SCORES_FILE = "t2i_scores.json"
CURVE_FILE = "truncation_curve.png"


def mismatched_indices(pairs: Sequence[tuple[int, int]]) -> list[int]:
  """For each row, the next row (cyclically) with another (shape, fill)."""
  n = len(pairs)
  result = []
  for i in range(n):
    j = (i + 1) % n
    while pairs[j] == pairs[i] and j != i:
      j = (j + 1) % n
    result.append(j)
  return result


def generate(model: gan_lib.TextToImageGAN, captions: Sequence[str],
             truncation: float, seed: int, batch: int = 200) -> np.ndarray:
  """One sample per caption (z of row i seeded by [seed, i]), in [0, 1]."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import tensorflow as tf
  # pylint: enable=g-import-not-at-top
  out = []
  for start in range(0, len(captions), batch):
    rows = range(start, min(start + batch, len(captions)))
    z = tf.stack([tf.random.stateless_normal([model.generator.z_dim],
                                             seed=[seed, i]) for i in rows])
    text = model.embed_prompts([captions[i] for i in rows])
    out.append(model.generate(z, text, truncation).numpy())
  return np.concatenate(out)


class Scorer:
  """The measures of samples for given captions (module doc)."""

  def __init__(self, model: gan_lib.TextToImageGAN,
               evaluator: clip_model_lib.TextImageModel, num: int,
               classifier_options: Mapping[str, typing.Any] | None = None):
    # pylint: disable=g-import-not-at-top
    import numpy as np
    from compare_gan2.datasets import captioned_polygons as cp
    from compare_gan2.evaluation import classifier
    from compare_gan2.metrics import text_to_image
    # pylint: enable=g-import-not-at-top
    self.np, self.cp, self.t2i = np, cp, text_to_image
    # captioned_polygons_*: `evaluate` checked the name.
    dataset = typing.cast("captioned_polygons.CaptionedPolygonsDataset", model.dataset)
    self.images, self.captions, self.attrs = dataset.render("test", range(num))
    self.pairs = list(zip(self.attrs["shape"].tolist(),
                          self.attrs["fill"].tolist()))
    self.held = np.array([cp.is_held_out(s, f) for s, f in self.pairs])
    self.mismatched = mismatched_indices(self.pairs)
    self.classifier = classifier.DatasetClassifier(
        dataset.name.replace("captioned_polygons_", "captioned_polygons_shapes_"),
        **(classifier_options or {}))
    self.evaluator = evaluator
    self.text_embeddings = self._encode_text(self.captions)
    self.real = self.measure(self.images, rows=None)

  def _encode_text(self, captions: Sequence[str], batch: int = 500) -> np.ndarray:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return self.np.concatenate([
        self.evaluator.encode_strings(tf.constant(captions[i:i + batch])).numpy()
        for i in range(0, len(captions), batch)])

  def _encode_images(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
    return self.np.concatenate([
        self.evaluator.encode_image(images[i:i + batch]).numpy()
        for i in range(0, len(images), batch)])

  def measure(self, images: np.ndarray, rows: Sequence[int] | np.ndarray | None = None
              ) -> Measures:
    """Per-row measures of images for the captions `rows` (default: all)."""
    np = self.np
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    features = self.classifier(images)
    embeddings = self._encode_images(images)
    return {"pool": features["pool"],
            "vertex": np.argmax(features["logits"], 1),
            "fill": self.t2i.fill_colours(images, self.cp.FILL_RGB),
            "embedding": embeddings, "rows": rows}

  def summary(self, fake: Measures, select: np.ndarray) -> dict[str, float | int]:
    """The scores of the samples `fake` (from `measure`) in `select` rows."""
    np, real = self.np, self.real
    from compare_gan2.metrics import fid  # pylint: disable=g-import-not-at-top
    rows = fake["rows"][select]
    mismatched = [self.mismatched[r] for r in rows]
    return {
        "num": int(select.sum()),
        "fid": float(fid.frechet_distance_from_activations(
            real["pool"][rows], fake["pool"][select])),
        "clip_score": self.t2i.clip_score(fake["embedding"][select],
                                          self.text_embeddings[rows]),
        "clip_score_mismatched": self.t2i.clip_score(
            fake["embedding"][select], self.text_embeddings[mismatched]),
        "vertex_accuracy": float(np.mean(fake["vertex"][select] ==
                                         self.attrs["shape"][rows])),
        "fill_accuracy": float(np.mean(fake["fill"][select] ==
                                       self.attrs["fill"][rows])),
    }

  def report(self, fake: Measures) -> dict[str, dict[str, float | int]]:
    np = self.np
    held = self.held[fake["rows"]]
    result = {"all": self.summary(fake, np.ones_like(held)),
              "seen": self.summary(fake, ~held),
              "held_out": self.summary(fake, held)}
    return result


def check_options(num: int, truncation: float, curve: Sequence[float],
                  curve_num: int, seed: int) -> None:
  """ConfigError for a value of --num, --truncation, --curve, --curve_num or
  --seed that cannot be evaluated (the test split's size is checked once the
  model is loaded)."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import errors
  from compare_gan2.text2image import checks
  # pylint: enable=g-import-not-at-top
  errors.check_number("--num", num, integer=True, minimum=checks.MIN_EVAL_NUM,
                      maximum=checks.MAX_EVAL_NUM, optional=False,
                      hint="one sample per test caption (captioned_polygons "
                      f"has {checks.MAX_EVAL_NUM}); the seen and the held-out "
                      "captions each need samples")
  checks.truncation("--truncation", truncation)
  for psi in curve:
    checks.truncation("--curve", psi)
  errors.check_number("--curve_num", curve_num, integer=True, minimum=2,
                      optional=False, hint="FID needs at least 2 samples")
  checks.seed("--seed", seed)


def parse_curve(values: Sequence[str]) -> tuple[float, ...]:
  """The --curve list as floats; ConfigError for a value that is not one."""
  from compare_gan2 import errors  # pylint: disable=g-import-not-at-top
  try:
    return tuple(float(c) for c in values)
  except ValueError:
    raise errors.ConfigError(
        f"--curve must be comma-separated numbers in [0, 1], got "
        f"{','.join(values)!r}.") from None


def evaluate(model_dir: str, evaluator_dir: str, num: int = 1800,
             truncation: float = 1.0,
             curve: Sequence[float] = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0),
             curve_num: int = 600, seed: int = 0,
             gin_bindings: Sequence[str] = ()) -> dict[str, typing.Any]:
  """The scores dict (also written to <model_dir>/t2i_scores.json).
  `gin_bindings` may set the classifier's `polygons_classifier.*`."""
  check_options(num, truncation, curve, curve_num, seed)
  # pylint: disable=g-import-not-at-top
  import gin
  from compare_gan2 import errors
  from compare_gan2 import gin_setup
  from compare_gan2.evaluation import evaluator as evaluator_lib
  from compare_gan2 import model_dir as model_dir_lib
  from compare_gan2.clip import model as clip_model
  from compare_gan2.text2image import loader
  # pylint: enable=g-import-not-at-top
  from compare_gan2 import logs  # pylint: disable=g-import-not-at-top
  model, path = loader.load_model(model_dir)
  test_size = model.dataset.eval_test_samples
  if test_size and num > test_size:
    raise errors.ConfigError(
        f"--num={num} is more than the {test_size} test images of "
        f"{model.dataset.name}.")
  if os.path.realpath(evaluator_dir) == os.path.realpath(model.clip_dir):
    raise errors.ConfigError(
        f"--evaluator_dir={evaluator_dir} is the pair the GAN was trained "
        "against; score with a pair pre-trained with another seed (python -m "
        "compare_gan2.clip --gin_bindings='run_config.tf_random_seed = 2').")
  if not model.dataset.name.startswith("captioned_polygons"):
    raise errors.ConfigError(
        f"evaluate measures attributes of captioned_polygons samples; "
        f"{model_dir} was trained on {model.dataset.name}.")
  evaluator = clip_model.TextImageModel.load(evaluator_dir)
  logs.start()
  gin_setup.parse(bindings=gin_bindings)   # After the model's own config.
  try:
    classifier_options = evaluator_lib.polygons_classifier_options()
  finally:
    gin.clear_config()
  scorer = Scorer(model, evaluator, num, classifier_options)
  fake = scorer.measure(generate(model, scorer.captions, truncation, seed))
  scores: dict[str, typing.Any] = {"checkpoint": path, "evaluator": evaluator.checkpoint,
            "truncation": truncation, "seed": seed,
            "samples": scorer.report(fake),
            "real": {k: scorer.summary(scorer.real, s) for k, s in (
                ("seen", ~scorer.held), ("held_out", scorer.held))}}
  curve_rows = scorer.np.arange(min(curve_num, num))
  points = []
  for psi in curve:
    images = generate(model, [scorer.captions[i] for i in curve_rows], psi, seed)
    measured = scorer.measure(images, curve_rows)
    summary = scorer.summary(measured, scorer.np.ones(len(curve_rows), bool))
    points.append({"truncation": psi, "fid": summary["fid"],
                   "clip_score": summary["clip_score"]})
  scores["truncation_curve"] = points
  model_dir_lib.atomic_write_json(os.path.join(model_dir, SCORES_FILE), scores)
  plot_curve(points, os.path.join(model_dir, CURVE_FILE))
  return scores


def plot_curve(points: Sequence[Mapping[str, float]], path: str) -> None:
  """FID (y) against CLIP score (x), each point labelled with its psi."""
  # pylint: disable=g-import-not-at-top
  import io
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt
  from compare_gan2 import model_dir as model_dir_lib
  # pylint: enable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(4.5, 3.5))
  xs = [p["clip_score"] for p in points]
  ys = [p["fid"] for p in points]
  ax.plot(xs, ys, "o-")
  for p in points:
    ax.annotate(f"ψ={p['truncation']:g}", (p["clip_score"], p["fid"]),
                textcoords="offset points", xytext=(4, 4), fontsize=8)
  ax.set_xlabel("CLIP score (evaluator pair)")
  ax.set_ylabel("FID (shape-classifier features)")
  ax.set_title("Variation–alignment trade-off")
  fig.tight_layout()
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=120)
  plt.close(fig)
  model_dir_lib.atomic_write_bytes(path, buffer.getvalue())


def _define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A trained text-to-image model.")
  flags.DEFINE_string("evaluator_dir", None, "The evaluator text–image pair "
                      "(python -m compare_gan2.clip with another seed).")
  flags.DEFINE_integer("num", 1800, "Test captions (one sample each), at "
                       "least 100.")
  flags.DEFINE_float("truncation", 1.0, "Truncation psi of the main scores, 0 "
                     "to 1.")
  flags.DEFINE_list("curve", ["1.0", "0.8", "0.6", "0.4", "0.2", "0.0"],
                    "Truncation values of the variation–alignment curve.")
  flags.DEFINE_integer("curve_num", 600, "Captions per point of the curve "
                       "(at least 2).")
  flags.DEFINE_integer("seed", 0, "Seed of the samples' z (0 to 2^31-1).")
  flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. "
                            "'polygons_classifier.cache_dir = \"/tmp/c\"'.")
  flags.mark_flags_as_required(["model_dir", "evaluator_dir"])


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise SystemExit(f"Unexpected arguments: {argv[1:]}")
  # pylint: disable=g-import-not-at-top
  import json
  from compare_gan2 import errors
  from compare_gan2 import logs
  # pylint: enable=g-import-not-at-top
  f = flags.FLAGS
  logs.setup(f.model_dir)
  with errors.reported_as_one_line("python -m compare_gan2.text2image.evaluate",
                                   model_dir=f.model_dir):
    scores = evaluate(f.model_dir, f.evaluator_dir, f.num, f.truncation,
                      parse_curve(f.curve), f.curve_num, f.seed, f.gin_bindings)
  print(json.dumps(scores, indent=1))


if __name__ == "__main__":
  _define_flags()
  flags_help.run(main, __doc__)
