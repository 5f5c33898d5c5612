"""Evaluation: feature extractors, tasks, evaluator, score files and the
`continuous_eval` / `eval_after_train` schedules. User docs: docs/evaluation.md.

Importing this package defines its gin configurables (`eval`,
`polygons_classifier`, `continuous_eval`, `*_task`).
"""

from compare_gan2.evaluation import classifier
from compare_gan2.evaluation import evaluator
from compare_gan2.evaluation import feature_extractors
from compare_gan2.evaluation import scores
from compare_gan2.evaluation import schedules
from compare_gan2.evaluation import tasks
from compare_gan2.evaluation.evaluator import Evaluator

__all__ = ["Evaluator", "classifier", "evaluator",
           "feature_extractors", "scores", "schedules", "tasks"]
