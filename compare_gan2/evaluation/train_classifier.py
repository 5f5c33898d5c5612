"""Trains and caches the classifier of an embedded dataset (offline evaluation).

  python -m compare_gan2.evaluation.train_classifier --dataset=polygons_32 \
      [--output=DIR] [--steps=3000] [--batch_size=64]

Datasets: polygons_32 .. polygons_256 and mnist_5k_32.
DIR defaults to `$COMPARE_GAN2_CACHE/classifiers/<dataset>` (else
`~/.cache/compare_gan2/classifiers/<dataset>`), where evaluation looks for it.
Trains on the dataset's train split with Adam, prints progress, then the
accuracy on the test split, and writes
`classifier.json` (metadata, test accuracy) and a tf.train.Checkpoint: the CLI of
`classifier.train` (compare_gan2/evaluation/classifier.py).
"""

import sys

from compare_gan2 import console
from compare_gan2 import errors

console.quiet_if_main(__name__)  # Before TensorFlow loads.

from compare_gan2.evaluation import classifier  # noqa: E402


def main(argv=None):
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(
      prog=errors.program_name(
          "python -m compare_gan2.evaluation.train_classifier"),
      description="Train and cache an embedded dataset's classifier for "
      "evaluation.")
  parser.add_argument("--dataset", default="polygons_32",
                      help="polygons_32, polygons_64, polygons_128, "
                      "polygons_256 or mnist_5k_32 (default: %(default)s)")
  parser.add_argument("--output", default=None,
                      help="directory (default: the cache evaluation reads, "
                      "$COMPARE_GAN2_CACHE/classifiers/<dataset>, else "
                      "~/.cache/compare_gan2/classifiers/<dataset>)")
  parser.add_argument("--steps", type=int, default=3000,
                      help="training steps, one batch each, on the train split "
                      "(default: %(default)s)")
  parser.add_argument("--batch_size", type=int, default=64,
                      help="images per step (default: %(default)s)")
  parser.add_argument("--learning_rate", type=float, default=2e-3,
                      help="initial Adam learning rate, cosine-decayed to 5%% "
                      "of it (default: %(default)s)")
  args = parser.parse_args(argv)
  errors.check_arguments(parser, args, {
      "steps": dict(integer=True, minimum=1),
      "batch_size": dict(integer=True, minimum=1, maximum=65536),
      "learning_rate": dict(above=0.0, maximum=1.0)})
  output = args.output or classifier.classifier_dir(args.dataset)
  classifier.train(args.dataset, output, steps=args.steps,
                   batch_size=args.batch_size,
                   learning_rate=args.learning_rate,
                   print_fn=lambda msg: print(msg, flush=True))
  return 0


if __name__ == "__main__":
  sys.exit(main())
