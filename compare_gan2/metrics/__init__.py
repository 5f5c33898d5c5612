"""Evaluation metrics: the math, as functions of NumPy arrays.

Every function takes NumPy arrays (activations, logits, images or points),
validates them (non-finite values raise ``ValueError``) and returns Python
floats or NumPy arrays. The evaluation tasks that produce the inputs (Inception
activations, generated samples) are built on top of these.

TensorFlow (via tensorflow-gan) is imported only when FID or IS is computed.
"""

from compare_gan2.metrics.class_accuracy import classifier_accuracy
from compare_gan2.metrics.class_accuracy import sample_class_accuracy
from compare_gan2.metrics.fid import frechet_distance_from_activations
from compare_gan2.metrics.fid import intra_class_fid
from compare_gan2.metrics.fid import IntraClassFID
from compare_gan2.metrics.fractal_dimension import fractal_dimension
from compare_gan2.metrics.inception_score import inception_score
from compare_gan2.metrics.kid import kid
from compare_gan2.metrics.ms_ssim import ms_ssim_diversity
from compare_gan2.metrics.ms_ssim import ms_ssim_matrix
from compare_gan2.metrics.ms_ssim import multiscale_ssim
from compare_gan2.metrics.precision_recall import knn_radii
from compare_gan2.metrics.precision_recall import precision_recall
from compare_gan2.metrics.prd import compute_prd
from compare_gan2.metrics.prd import compute_prd_from_embedding
from compare_gan2.metrics.prd import prd_to_f_beta
from compare_gan2.metrics.prd import prd_to_max_f_beta_pair

__all__ = [
    "IntraClassFID",
    "compute_prd",
    "compute_prd_from_embedding",
    "fractal_dimension",
    "frechet_distance_from_activations",
    "inception_score",
    "intra_class_fid",
    "kid",
    "knn_radii",
    "ms_ssim_diversity",
    "ms_ssim_matrix",
    "multiscale_ssim",
    "precision_recall",
    "prd_to_f_beta",
    "prd_to_max_f_beta_pair",
    "sample_class_accuracy",
    "classifier_accuracy",
]
