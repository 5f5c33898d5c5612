"""Trains and caches the classifier of an embedded dataset (offline evaluation).

  python -m compare_gan2.evaluation.train_classifier --dataset=polygons_32 \
      [--output=DIR] [--steps=3000] [--batch_size=64]

Datasets: polygons_32 .. polygons_256 and mnist_5k_32.
DIR defaults to `$COMPARE_GAN2_CACHE/classifiers/<dataset>` (else
`~/.cache/compare_gan2/classifiers/<dataset>`), where evaluation looks for it.
Trains on the dataset's train split with Adam, prints progress, then the
accuracy on the test split, and writes
`classifier.json` (metadata, test accuracy) and a tf.train.Checkpoint.
"""

import json
import os
import sys
import time

from absl import logging
import numpy as np
import tensorflow as tf

from compare_gan2 import optimizers
from compare_gan2.evaluation import feature_extractors as fe


def evaluate_accuracy(net, dataset, num_examples=None, batch_size=500):
  """Top-1 accuracy of `net` on the first `num_examples` of the test split."""
  forward = tf.function(net.__call__, reduce_retracing=True)
  ds = dataset.load(dataset.eval_split)
  if num_examples:
    ds = ds.take(num_examples)
  correct = total = 0
  for images, labels in ds.batch(batch_size):
    pred = tf.argmax(forward(images)["logits"], axis=1, output_type=tf.int32)
    correct += int(tf.reduce_sum(tf.cast(pred == labels, tf.int32)))
    total += int(labels.shape[0])
  return correct / max(total, 1)


def train(dataset_name, output_dir, steps=3000, batch_size=64,
          learning_rate=2e-3, seed=0, log_every=250, eval_examples=None,
          print_fn=None):
  """Trains a ClassifierNet on `dataset_name` and saves it to `output_dir`.

  Returns:
    The metadata dict written to `output_dir/classifier.json`.
  """
  from compare_gan2 import datasets  # pylint: disable=g-import-not-at-top
  say = print_fn or (lambda msg: logging.info("%s", msg))
  # Default dataset seed: the classifier does not depend on gin's dataset.seed.
  dataset = datasets.DATASETS[dataset_name]()
  tf.random.set_seed(seed)
  net = fe.build_classifier_net(dataset_name, seed=seed)
  variables = list(net.trainable_variables)
  lr_var = tf.Variable(learning_rate, dtype=tf.float32, trainable=False)
  optimizer = optimizers.AdamOptimizer(lr_var, name="classifier_adam")
  optimizer.build(variables)

  @tf.function
  def train_step(images, labels, lr):
    lr_var.assign(lr)
    with tf.GradientTape() as tape:
      logits = net(images)["logits"]
      loss = tf.reduce_mean(
          tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    optimizer.apply(tape.gradient(loss, variables), variables)
    acc = tf.reduce_mean(tf.cast(
        tf.argmax(logits, 1, output_type=tf.int32) == labels, tf.float32))
    return loss, acc

  ds = dataset.train_examples(start_index=0).map(
      lambda i, x, y: (x, tf.cast(y, tf.int32))).batch(batch_size).prefetch(4)
  start = time.time()
  losses, accs = [], []
  for step, (images, labels) in enumerate(ds.take(steps), start=1):
    # Cosine decay to 5% of the initial rate.
    frac = (step - 1) / max(steps - 1, 1)
    lr = learning_rate * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))
    loss, acc = train_step(images, labels, tf.constant(lr, tf.float32))
    losses.append(float(loss))
    accs.append(float(acc))
    if step % log_every == 0 or step == steps:
      say(f"[{dataset_name} classifier] step {step}/{steps}  "
          f"loss {np.mean(losses):.4f}  train acc {np.mean(accs):.4f}  "
          f"{time.time() - start:.0f}s")
      losses, accs = [], []
  train_seconds = time.time() - start
  accuracy = evaluate_accuracy(net, dataset, eval_examples)
  say(f"[{dataset_name} classifier] test accuracy {accuracy:.4f} "
      f"(trained {steps} steps in {train_seconds:.0f}s)")
  tf.io.gfile.makedirs(output_dir)
  prefix = tf.train.Checkpoint(net=net).write(
      os.path.join(output_dir, "classifier"))
  meta = {
      "version": fe._CLASSIFIER_VERSION,  # pylint: disable=protected-access
      "dataset": dataset_name,
      "checkpoint": os.path.basename(prefix),
      "steps": int(steps),
      "batch_size": int(batch_size),
      "test_accuracy": float(accuracy),
      "test_examples": int(eval_examples or dataset.eval_test_samples),
      "train_seconds": round(train_seconds, 1),
      "feature_scale": fe.feature_scale(net, dataset_name,
                                        eval_examples or 2000),
  }
  tmp = os.path.join(output_dir, "classifier.json.tmp")
  with tf.io.gfile.GFile(tmp, "w") as f:
    json.dump(meta, f, indent=1)
  tf.io.gfile.rename(tmp, os.path.join(output_dir, "classifier.json"),
                     overwrite=True)
  say(f"[{dataset_name} classifier] saved to {output_dir}")
  return meta


def main(argv=None):
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(
      prog="python -m compare_gan2.evaluation.train_classifier",
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
  output = args.output or fe.classifier_dir(args.dataset)
  train(args.dataset, output, steps=args.steps, batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        print_fn=lambda msg: print(msg, flush=True))
  return 0


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  sys.exit(main())
