"""Exponential moving average of the generator's weights (BigGAN's EMA
generator; compare_gan/gans/modular_gan.py `g_use_ema`)."""

import tensorflow as tf

EMA_SUFFIX = "/ExponentialMovingAverage"


def variable_name(var):
  """A variable's full name without the `:0`."""
  return var.name.split(":")[0]


class GeneratorEMA(tf.Module):
  """Exponential moving average of G's trainable weights (BigGAN's EMA generator).

  shadow <- decay * shadow + (1 - decay) * w with decay = ema_decay * [gen_step >=
  ema_start_step], so before the start step the shadow equals the weights
  (compare_gan's formulation, no num_updates). Shadows are checkpointed as
  `<var>/ExponentialMovingAverage`.
  """

  def __init__(self, decay, start_step):
    super().__init__(name="generator_ema")
    self.decay, self.start_step = decay, start_step
    self.shadows = {}

  def build(self, variables):
    for var in variables:
      key = variable_name(var)
      if key not in self.shadows:
        self.shadows[key] = tf.Variable(
            var.read_value(), trainable=False,
            name=key + EMA_SUFFIX,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def update(self, variables, gen_step):
    on = tf.cast(gen_step >= self.start_step, tf.float32)
    decay = self.decay * on
    for var in variables:
      shadow = self.shadows[variable_name(var)]
      shadow.assign(decay * shadow + (1.0 - decay) * var)

  def variables_to_save(self):
    return {k + EMA_SUFFIX: v for k, v in self.shadows.items()}
