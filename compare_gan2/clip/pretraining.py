"""Contrastive pre-training of the offline CLIP (gin `clip_pretraining.*`).

Each step reads B captioned training images (image, caption ids), encodes both
and minimises CLIP's symmetric InfoNCE loss (loss.py) with a learned
temperature. The model has the Trainer's interface (trainer.TrainableModel), so
training is resumable, shows progress and writes TensorBoard scalars: `loss`,
`accuracy/image_to_text`, `accuracy/text_to_image` (the matching caption /
image has the largest logit in its row / column of the batch) and `scale`.
"""

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2 import optimizers
from compare_gan2.architectures import initializers
from compare_gan2.architectures import variable_store as vs
from compare_gan2.clip import encoders
from compare_gan2.clip import loss as loss_lib


def encoder_config(text_encoder, image_encoder, tokenizer, image_shape):
  """The JSON-able description a trained pair is rebuilt from (model.py)."""
  return {"vocabulary": list(tokenizer.words), "length": tokenizer.length,
          "image_shape": list(image_shape),
          "text_encoder": {"width": text_encoder.width,
                           "num_layers": text_encoder.num_layers,
                           "num_heads": text_encoder.num_heads,
                           "embed_dim": text_encoder.embed_dim},
          "image_encoder": {"widths": list(image_encoder.widths),
                            "embed_dim": image_encoder.embed_dim}}


def log_scale_variable(image_encoder):
  """CLIP's learned log temperature, kept in the image encoder's store."""
  with image_encoder.in_store("clip"):
    return vs.get_variable("log_scale", [],
                           initializers.constant(loss_lib.INITIAL_LOG_SCALE))


def _check_settings(**values):
  """ConfigError for a `clip_pretraining.*` number that cannot train."""
  def check(key, **bounds):
    errors.check_number(f"clip_pretraining.{key}", values[key], optional=False,
                        **bounds)
  check("batch_size", integer=True, minimum=2,
        hint="the contrastive loss contrasts the pairs of a batch")
  check("training_steps", integer=True, minimum=0)
  for key in ("learning_rate", "epsilon"):
    check(key, above=0)
  for key in ("beta1", "beta2"):
    check(key, minimum=0, below=1)


@gin.configurable("clip_pretraining", denylist=["dataset"])
class ClipPretraining:
  """The text and image encoders and their contrastive training step."""

  def __init__(self, dataset, batch_size=128, training_steps=3000,
               learning_rate=1e-3, beta1=0.9, beta2=0.98, epsilon=1e-6):
    if not getattr(dataset, "caption_length", None):
      raise errors.ConfigError(
          f"CLIP pre-training needs captions, but {dataset.name!r} has none. "
          "Choose a captioned dataset (captioned_polygons_32, "
          "captioned_polygons_64, or image_folder with image_folder.captions).")
    _check_settings(batch_size=batch_size, training_steps=training_steps,
                    learning_rate=learning_rate, beta1=beta1, beta2=beta2,
                    epsilon=epsilon)
    self._dataset = dataset
    self._batch_size = int(batch_size)
    self.training_steps = int(training_steps)
    self._learning_rate = float(learning_rate)
    self.tokenizer = dataset.tokenizer
    self.text_encoder = encoders.TextTransformer(self.tokenizer.vocab_size,
                                                 self.tokenizer.length)
    self.image_encoder = encoders.ImageEncoder()
    self.optimizer = optimizers.AdamOptimizer(
        self._learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
        name="clip_opt")
    self.global_step = None
    self.log_scale = None

  dataset = property(lambda self: self._dataset)
  batch_size = property(lambda self: self._batch_size)
  num_sub_steps = 1

  @property
  def learning_rates(self):
    return {"learning_rate": self._learning_rate}

  def config(self):
    return encoder_config(self.text_encoder, self.image_encoder,
                          self.tokenizer, self._dataset.image_shape)

  def input_fn(self, batch_size, start_index=0, input_context=None):
    """Batches of (images, caption ids)."""
    return self._dataset.train_batches(batch_size, start_index, input_context)

  def trainable_variables(self):
    return (self.text_encoder.trainable_variables +
            self.image_encoder.trainable_variables)

  def build(self):
    if self.global_step is not None:
      return
    self.global_step = tf.Variable(
        0, dtype=tf.int64, trainable=False, name="global_step",
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.text_encoder(tf.zeros([2, self.tokenizer.length], tf.int32))
    self.image_encoder(tf.zeros([2] + list(self._dataset.image_shape)))
    self.log_scale = log_scale_variable(self.image_encoder)
    self.optimizer.build(self.trainable_variables())

  def variables_to_save(self):
    result = {"global_step": self.global_step}
    for store in (self.text_encoder, self.image_encoder):
      result.update({v.name.split(":")[0]: v for v in store.variables})
    result.update(self.optimizer.variables_to_save())
    return result

  def losses(self, images, tokens):
    text = self.text_encoder(tokens)
    image = self.image_encoder(images)["embedding"]
    loss, logits = loss_lib.contrastive_loss(image, text, self.log_scale)
    target = tf.range(tf.shape(logits)[0], dtype=tf.int64)
    def hits(logits):
      return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), target),
                                    tf.float32))
    return {"loss": loss, "accuracy/image_to_text": hits(logits),
            "accuracy/text_to_image": hits(tf.transpose(logits)),
            "scale": tf.minimum(tf.exp(self.log_scale), loss_lib.MAX_SCALE)}

  def train_step(self, inputs):
    images, tokens = inputs
    variables = self.trainable_variables()
    with tf.GradientTape() as tape:
      metrics = self.losses(images, tokens)
    self.optimizer.apply(tape.gradient(metrics["loss"], variables), variables)
    self.global_step.assign_add(1)
    return metrics

  def summary_images(self):
    return {}, None

  def real_summary_images(self, num=16):
    _, images, _ = next(iter(self._dataset.train_examples().batch(num)))
    return images.numpy()
