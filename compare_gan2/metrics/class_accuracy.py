"""Accuracy of conditional samples under a classifier, and of a classifier.

For a class-conditional generator, the fraction of samples that a (fixed,
separately trained) classifier assigns to the class the generator was
conditioned on; used with the classifiers of the embedded datasets.
`classifier_accuracy` scores a classifier itself (e.g. the predictor head a
S2GAN-CO / S3GAN discriminator trains) on labelled images.
"""

import numpy as np

from compare_gan2.metrics import _checks


def sample_class_accuracy(predictions, conditioned_labels):
  """Fraction of samples whose predicted class equals the conditioned class.

  Args:
    predictions: classifier output for each sample, either `[N, K]` logits /
      probabilities (the argmax is the prediction; ties go to the lowest index)
      or `[N]` integer predicted labels.
    conditioned_labels: the labels the samples were generated with, `[N]`
      integers or `[N, K]` one-hot (argmax).

  Returns:
    Accuracy in [0, 1] as a Python float.

  Raises:
    ValueError: empty, non-finite or non-integer inputs, or different N.
  """
  predicted = _checks.as_labels(predictions, "predictions")
  labels = _checks.as_labels(conditioned_labels, "conditioned_labels",
                             num_rows=predicted.shape[0])
  return float(np.mean(predicted == labels))


def classifier_accuracy(logits, labels):
  """(accuracy, number of distinct predicted classes) of a classifier.

  Args:
    logits: `[N, K]` scores (argmax = prediction, ties to the lowest index) or
      `[N]` integer predictions.
    labels: the true labels, `[N]` integers or `[N, K]` one-hot.

  Returns:
    (accuracy in [0, 1], count of classes that are predicted at least once), as
    Python float and int. A collapsed classifier predicts one class.
  """
  predicted = _checks.as_labels(logits, "logits")
  truth = _checks.as_labels(labels, "labels", num_rows=predicted.shape[0])
  return float(np.mean(predicted == truth)), int(len(np.unique(predicted)))
