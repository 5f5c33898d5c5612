"""Pre-training of the offline text–image pair, the work of
`python -m compare_gan2.clip` (see its docstring)."""

import os

EVAL_FILE = "clip_eval.json"


def train(model_dir):
  """Trains (or resumes) the pair of the parsed gin config; returns the
  zero-shot evaluation dict (or None for datasets other than the polygons)."""
  # pylint: disable=g-import-not-at-top
  from compare_gan2 import builder
  from compare_gan2 import datasets
  from compare_gan2 import model_dir as model_dir_lib
  from compare_gan2.clip import evaluation
  from compare_gan2.clip import model as model_lib
  from compare_gan2.clip import pretraining
  from compare_gan2 import strategy as strategy_lib
  from compare_gan2.training import trainer as trainer_lib
  # pylint: enable=g-import-not-at-top
  dataset = datasets.get_dataset()
  run_config = builder.get_run_config()
  builder.set_random_seeds(run_config.tf_random_seed)
  strategy = strategy_lib.resolve_strategy(None, None, run_config.single_core)
  with strategy.scope():
    model = pretraining.ClipPretraining(dataset=dataset)
  trainer_lib.train_to_end(model, strategy, model_dir, run_config,
                           {model_lib.CONFIG_FILE: model.config()})
  if not dataset.name.startswith("captioned_polygons"):
    return None
  pair = model_lib.TextImageModel.load(model_dir)
  result = evaluation.zero_shot_attributes(pair, dataset)
  model_dir_lib.atomic_write_json(os.path.join(model_dir, EVAL_FILE), result)
  return result
