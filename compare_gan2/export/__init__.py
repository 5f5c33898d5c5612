"""TF Hub export: trained generators as TF1 Hub format modules.

User docs: docs/hub_export.md. `schedule_export` is the `--schedule=export`
and `on_checkpoint_evaluated` the after-evaluation action that
compare_gan2/main.py wires; importing this package defines the gin selector
`hub_export`.
"""

from compare_gan2.export import hub_export
from compare_gan2.export.hub_export import ExportError
from compare_gan2.export.hub_export import ExportOptions
from compare_gan2.export.hub_export import export_checkpoint
from compare_gan2.export.hub_export import get_export_options
from compare_gan2.export.hub_export import on_checkpoint_evaluated
from compare_gan2.export.hub_export import schedule_export

__all__ = ["ExportError", "ExportOptions", "export_checkpoint",
           "get_export_options", "hub_export", "on_checkpoint_evaluated",
           "schedule_export"]
