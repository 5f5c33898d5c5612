"""What the export writes: the networks' variable specs and the checkpoint's
values, checked against the configured model (`ModelInfo`)."""

import dataclasses

import tensorflow as tf

from compare_gan2 import inference_generator
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.gans import ema
from compare_gan2.training import checkpoints


class ExportError(RuntimeError):
  """The export could not be written (nothing was left behind)."""


@dataclasses.dataclass
class VarSpec:
  shape: tuple
  dtype: tf.DType
  trainable: bool


@dataclasses.dataclass
class ModelInfo:
  """Everything the graph builders need; no reference to eager variables."""
  gan: object
  g_specs: dict  # raw G name -> VarSpec
  d_specs: dict
  g_values: dict  # raw G name -> value (EMA value for EMA'd weights)
  d_values: dict
  uses_ema: bool
  z_dim: int
  num_classes: int  # columns of the default signature's y (>= 1)
  conditional: bool
  image_shape: tuple


def specs(store):
  """{full name: VarSpec} of a VariableStore's variables."""
  return {name: VarSpec(tuple(v.shape.as_list()), v.dtype.base_dtype,
                        bool(v.trainable))
          for name, v in store.vars.items()}


def model_info(gan, checkpoint_path, strategy=None):
  """Builds `gan` if needed and reads the checkpoint values it needs.

  Raises:
    CheckpointNotFoundError: no such checkpoint.
    CheckpointMismatchError: the checkpoint does not fit the configured model.
  """
  values = checkpoints.read_variables(checkpoint_path)
  if getattr(gan, "global_step", None) is None:
    if strategy is not None:
      with strategy.scope():
        gan.build()
    else:
      gan.build()
  g_specs = specs(gan.generator.store)
  d_specs = specs(gan.discriminator.store)
  ema_names = set(gan.generator_variable_mapping(
      use_ema=inference_generator.use_ema(gan, evaluator_lib.eval_options())))
  wanted = {}  # checkpoint name -> (network, raw name)
  for name in g_specs:
    wanted[name + ema.EMA_SUFFIX if name in ema_names else name] = ("g", name)
  for name in d_specs:
    wanted[name] = ("d", name)
  missing = sorted(n for n in wanted if n not in values)
  wrong = []
  for ckpt_name, (net, name) in wanted.items():
    spec = (g_specs if net == "g" else d_specs)[name]
    if ckpt_name in values and tuple(values[ckpt_name].shape) != spec.shape:
      wrong.append(f"{ckpt_name} {tuple(values[ckpt_name].shape)} vs {spec.shape}")
  if missing or wrong:
    details = []
    if missing:
      details.append(f"missing: {missing[:5]}")
    if wrong:
      details.append("shape mismatch: " + ", ".join(sorted(wrong)[:5]))
    raise checkpoints.CheckpointMismatchError(
        f"Cannot export checkpoint {checkpoint_path!r}: it does not match the "
        f"configured model ({len(missing)} variables missing, {len(wrong)} with "
        f"other shapes; {'; '.join(details)}). Was it written with another "
        "architecture or gin config? Export with the gin config the model was "
        "trained with (the model_dir's operative_config-<step>.gin, the default "
        "of `python -m compare_gan2.export`).")
  g_values, d_values = {}, {}
  for ckpt_name, (net, name) in wanted.items():
    (g_values if net == "g" else d_values)[name] = values[ckpt_name]
  num_classes = gan.num_classes if gan.conditional else (gan.num_classes or 1)
  return ModelInfo(
      gan=gan, g_specs=g_specs, d_specs=d_specs, g_values=g_values,
      d_values=d_values, uses_ema=bool(ema_names), z_dim=int(gan.z_dim),
      num_classes=int(num_classes), conditional=bool(gan.conditional),
      image_shape=tuple(int(d) for d in gan.dataset.image_shape))


def measured_generator(info):
  """The generator evaluation measures, with the checkpoint's values (and the
  standing statistics of `eval.*` if G keeps accumulators)."""
  generator = inference_generator.InferenceGenerator(info.gan)
  return inference_generator.load_inference_generator(
      generator, info.g_values, evaluator_lib.eval_options())
