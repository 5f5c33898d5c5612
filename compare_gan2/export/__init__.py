"""TF Hub export (issue 5): trained generators as TF1 Hub format modules.

User docs: docs/hub_export.md. Importing this package registers
- the `export` schedule with the runner (`--schedule=export`),
- the gin selector `hub_export` (standing-statistics settings),
- `hub_export.on_checkpoint_evaluated` in
  `compare_gan2.evaluation.ON_CHECKPOINT_EVALUATED`, so the evaluation schedules
  export every evaluated checkpoint to `model_dir/tfhub/<step>/`.
"""

from compare_gan2.export import hub_export
from compare_gan2.export.hub_export import ExportError
from compare_gan2.export.hub_export import ExportOptions
from compare_gan2.export.hub_export import export_checkpoint
from compare_gan2.export.hub_export import get_export_options
from compare_gan2.export.hub_export import on_checkpoint_evaluated
from compare_gan2.export.hub_export import schedule_export
from compare_gan2.training import runner as _runner

__all__ = ["ExportError", "ExportOptions", "export_checkpoint",
           "get_export_options", "hub_export", "on_checkpoint_evaluated",
           "schedule_export"]

_runner.register_schedule("export", schedule_export, needs_data=False)


def _register_evaluation_hook():
  from compare_gan2 import evaluation  # pylint: disable=g-import-not-at-top
  if on_checkpoint_evaluated not in evaluation.ON_CHECKPOINT_EVALUATED:
    evaluation.ON_CHECKPOINT_EVALUATED.append(on_checkpoint_evaluated)


_register_evaluation_hook()
