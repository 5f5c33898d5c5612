"""Zero-shot attribute recognition of a text–image pair on captioned polygons.

For each test image, the candidate captions keep its background, size,
position and phrasing and take each of the 36 (shape, fill) pairs; the pair
whose caption is most similar to the image is the prediction. Reported: shape
and fill accuracy (chance 1/6 each) on images of seen and of held-out pairs —
the compositional zero-shot test of the pair itself.
"""

import numpy as np
import tensorflow as tf

from compare_gan2.clip import loss as loss_lib
from compare_gan2.datasets import captioned_polygons as cp


def zero_shot_attributes(model, dataset, num=600, batch=100):
  """{"seen"|"held_out": {"shape_accuracy", "fill_accuracy", "num"}}."""
  images, _, attrs = dataset.render("test", range(num))
  pairs = [(s, f) for s in range(len(cp.SHAPES)) for f in range(len(cp.FILLS))]
  predicted = []
  for start in range(0, num, batch):
    image = loss_lib.normalize(model.encode_image(images[start:start + batch]))
    captions = [cp.caption(s, f, attrs["background"][j], attrs["size"][j],
                           attrs["position"][j], attrs["phrasing"][j])
                for j in range(start, min(start + batch, num)) for s, f in pairs]
    text = loss_lib.normalize(model.encode_strings(tf.constant(captions)))
    text = tf.reshape(text, [-1, len(pairs), text.shape[-1]])
    scores = tf.reduce_sum(image[:, None, :] * text, axis=-1)
    predicted.extend(np.argmax(scores.numpy(), axis=1).tolist())
  predicted = np.array([pairs[p] for p in predicted])
  held = np.array([cp.is_held_out(s, f) for s, f in zip(attrs["shape"],
                                                         attrs["fill"])])
  result = {}
  for key, select in (("seen", ~held), ("held_out", held)):
    result[key] = {
        "num": int(select.sum()),
        "shape_accuracy": float(np.mean(predicted[select, 0] ==
                                        attrs["shape"][select])),
        "fill_accuracy": float(np.mean(predicted[select, 1] ==
                                       attrs["fill"][select]))}
  return result
