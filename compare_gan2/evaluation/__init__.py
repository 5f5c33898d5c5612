"""Evaluation (issue 4): feature extractors, tasks, evaluator, score files and the
`continuous_eval` / `eval_after_train` schedules. User docs: docs/evaluation.md.

Importing this package registers the schedules with the runner and the gin
configurables (`eval`, `polygons_classifier`, `continuous_eval`, `*_task`).
"""

from compare_gan2.evaluation import evaluator
from compare_gan2.evaluation import feature_extractors
from compare_gan2.evaluation import scores
from compare_gan2.evaluation import schedules
from compare_gan2.evaluation import tasks
from compare_gan2.evaluation.evaluator import Evaluator
from compare_gan2.evaluation.schedules import ON_CHECKPOINT_EVALUATED

__all__ = ["Evaluator", "ON_CHECKPOINT_EVALUATED", "evaluator",
           "feature_extractors", "scores", "schedules", "tasks"]
