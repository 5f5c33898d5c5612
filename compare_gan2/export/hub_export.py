"""Export a trained generator (and discriminator) as a TF1 Hub format module.

The module directory (`model_dir/tfhub/<step>/` by default) holds one
`saved_model.pb` with eleven graph variants, a `variables/` checkpoint shared by
all of them, and the marker `tfhub_module.pb` (ModuleDef format 3, the bytes
08 03). See docs/hub_export.md for users; in short:

- tags `{}` (the empty set), signature `default` -- the interface of
  DeepMind's biggan-* modules: inputs `z` float32 [None, z_dim], `y` float32
  [None, num_classes] (one-hot or any blend; ignored by unconditional models,
  which still take it; 1 column if the dataset has no labels), `truncation`
  float32 []; output `default` float32 [None, H, W, 3] in [-1, 1]. The
  generator uses the EMA weights when the model keeps them, spectral norm
  converged on the exported weights, and batch norm in
  inference mode with *standing statistics per truncation value*: for each t
  on a grid (default 0.02, 0.04, ..., 1.00) the generator is run in
  training-mode BN on batches of z = t * truncnorm(-2, 2) with uniformly random
  one-hot classes; each BN layer's batch mean and variance are averaged over
  the batches and stored as non-trainable variables
  `standing_statistics/<layer>/{mean,variance}` [grid, C]. The module
  interpolates them linearly at `truncation` (clamped to the grid's range). z
  is never rescaled inside the module: the caller passes z already truncated.
- tags `{"gen", "bs<N>"}` (compare_gan's; N = 8, 16, 32, 64 or None): inputs
  `z` and, if conditional, `labels` int32 [N]; output `generated` in [0, 1].
  The generator evaluation measures (compare_gan2/inference_generator.py's
  `InferenceGenerator`, loaded by `load_inference_generator`): same weights
  and spectral norm, batch norm with the moving averages or evaluation's
  standing statistics (`evaluation_statistics/<layer>/{mean,variance}` [C]).
- tags `{"disc", "bs<N>"}` (compare_gan's): inputs `images` float32 [N,
  H, W, C] in [0, 1] and, if conditional, `labels` int32 [N]; output
  `prediction`, D's sigmoid probability [N, 1] (raw weights with converged
  spectral norm, inference mode). For SSGAN / S3GAN it is D with its heads
  (S3GAN's projection; label -1 means "unlabelled": D's predicted class is
  projected), and `{disc, bsNone}` also returns `rotation_logits` [N, 4] and
  `predictor_logits` [N, num_classes] when the model has those heads
  (compare_gan exported the base D only).

Where each part lives:
- `options.py`: gin `hub_export.*` (`ExportOptions`, `get_export_options`).
- `model_info.py`: the variable specs and checkpoint values to export
  (`ModelInfo`), checked against the configured model; `ExportError`.
- `truncation_stats.py`: the batch-norm statistics per truncation value, their
  variables and the interpolating `batch_stats_hook`.
- `graph_variants.py`: the eleven graph variants (one `tf.compat.v1.Graph`
  each, networks on graph variables through `VariableStore.override`).
- `module_writer.py`: the shared variables checkpoint, `saved_model.pb`,
  `tfhub_module.pb`, written into a temporary sibling directory renamed into
  place (`export_checkpoint`).
- this file: the schedule glue.

Entry points: `export_checkpoint(ctx_or_gan, checkpoint_path, output_dir=None)`,
the `export` schedule (`schedule_export`, `--schedule=export`),
`python -m compare_gan2.export`, and `on_checkpoint_evaluated`, the
after-evaluation action that compare_gan2/main.py gives the evaluation schedules
(it exports only with `hub_export.export_evaluated_checkpoints = True`).
`export_checkpoint`, `get_export_options`, `ExportOptions` and `ExportError` are
importable from here, the one module the package's callers use.
"""

from compare_gan2 import logs
from compare_gan2.export import model_info
from compare_gan2.export import module_writer
from compare_gan2.export import options as options_lib
from compare_gan2.training import checkpoints

ExportError = model_info.ExportError
ExportOptions = options_lib.ExportOptions
get_export_options = options_lib.get_export_options
export_checkpoint = module_writer.export_checkpoint


def schedule_export(ctx):
  """`--schedule=export`: exports ctx.flags.checkpoint or the latest one.

  ctx.flags.checkpoint (a checkpoint path) and ctx.flags.export_output (the
  module directory) default as in `export_checkpoint`.
  """
  path = ctx.flags.checkpoint or checkpoints.latest_checkpoint(
      ctx.model_dir, required=True)
  logs.start()
  return module_writer.export_checkpoint(ctx, path, ctx.flags.export_output)


def on_checkpoint_evaluated(ctx, step, checkpoint_path, scores):
  """After-evaluation action: exports the checkpoint to model_dir/tfhub/<step>.

  Only with `hub_export.export_evaluated_checkpoints = True` (compare_gan's
  behaviour; off by default); returns the module path or None.
  """
  del step, scores
  options = options_lib.get_export_options()
  if not options.export_evaluated_checkpoints:
    return None
  return module_writer.export_checkpoint(ctx, checkpoint_path, options=options)
