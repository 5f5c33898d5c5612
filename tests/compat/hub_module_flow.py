"""The classic TF-Hub BigGAN notebook flow, run by tests/test_export_compat.py.

Runs in the compat environment (Python 3.11, tensorflow 2.15, tensorflow_hub
0.15; `make compat-env`), NOT in the main venv: `hub.Module` does not exist in
tensorflow_hub >= 0.16. Usage:

  .venv-compat/bin/python tests/compat/hub_module_flow.py MODULE_DIR OUT.npz \
      [--num_samples N] [--truncation T] [--seed S]

Mirrors the notebook: tf.compat.v1 graph mode, hub.Module(path),
get_input_info_dict() -> one placeholder per input, module(inputs),
global_variables_initializer() only, sess.run over batches of 8 with a smaller
last batch, z = truncation * truncnorm(-2, 2), one-hot y. It also runs the
compare_gan tag sets {"gen","bsNone"} and {"disc","bsNone"} as compare_gan's
s3gan/ssgan demo notebooks do. Writes the inputs and outputs to OUT.npz.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402
import tensorflow_hub as hub  # noqa: E402


def truncated_z_sample(batch_size, dim_z, truncation, seed):
  state = np.random.RandomState(seed)
  values = state.standard_normal((batch_size, dim_z))
  outside = np.abs(values) > 2
  while outside.any():
    values[outside] = state.standard_normal(outside.sum())
    outside = np.abs(values) > 2
  return (truncation * values).astype(np.float32)


def one_hot(index, vocab_size):
  index = np.asarray(index)
  output = np.zeros((index.shape[0], vocab_size), dtype=np.float32)
  output[np.arange(index.shape[0]), index] = 1
  return output


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("module_dir")
  parser.add_argument("out")
  parser.add_argument("--num_samples", type=int, default=10)
  parser.add_argument("--truncation", type=float, default=0.4)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()
  tf.disable_v2_behavior()
  print("tensorflow", tf.__version__ if hasattr(tf, "__version__") else "?",
        "tensorflow_hub", hub.__version__, "python", sys.version.split()[0])

  results = {}
  # --- The BigGAN notebook: default tag set and signature. ---
  tf.reset_default_graph()
  module = hub.Module(args.module_dir)
  inputs = {k: tf.placeholder(v.dtype, v.get_shape().as_list(), k)
            for k, v in module.get_input_info_dict().items()}
  output = module(inputs)
  assert sorted(inputs) == ["truncation", "y", "z"], sorted(inputs)
  input_z, input_y = inputs["z"], inputs["y"]
  input_trunc = inputs["truncation"]
  dim_z = input_z.shape.as_list()[1]
  vocab_size = input_y.shape.as_list()[1]
  print("dim_z", dim_z, "vocab_size", vocab_size, "output", output.shape)
  initializer = tf.global_variables_initializer()
  sess = tf.Session()
  sess.run(initializer)

  z = truncated_z_sample(args.num_samples, dim_z, args.truncation, args.seed)
  labels = np.arange(args.num_samples) % vocab_size
  y = one_hot(labels, vocab_size)
  ims = []
  batch_size = 8
  for start in range(0, args.num_samples, batch_size):
    s = slice(start, min(args.num_samples, start + batch_size))
    feed = {input_z: z[s], input_y: y[s], input_trunc: args.truncation}
    ims.append(sess.run(output, feed_dict=feed))
  ims = np.concatenate(ims, axis=0)
  assert ims.shape[0] == args.num_samples, ims.shape
  results.update(z=z, y=y, labels=labels, default=ims,
                 truncation=np.float32(args.truncation))
  # The notebook's post-processing assumes [-1, 1].
  ims_uint8 = np.uint8(np.clip(((ims + 1) / 2.0) * 256, 0, 255))
  results["default_uint8"] = ims_uint8

  # --- compare_gan's demo notebooks: {"gen","bsNone"} and {"disc","bsNone"}. ---
  tf.reset_default_graph()
  gen = hub.Module(args.module_dir, name="gen_module", tags={"gen", "bsNone"})
  gen_inputs = {k: tf.placeholder(v.dtype, v.get_shape().as_list(), k)
                for k, v in gen.get_input_info_dict().items()}
  generated = gen(inputs=gen_inputs, as_dict=True)["generated"]
  disc = hub.Module(args.module_dir, name="disc_module", tags={"disc", "bsNone"})
  disc_inputs = {k: tf.placeholder(v.dtype, v.get_shape().as_list(), k)
                 for k, v in disc.get_input_info_dict().items()}
  prediction = disc(inputs=disc_inputs, as_dict=True)["prediction"]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    feed = {gen_inputs["z"]: z}
    if "labels" in gen_inputs:
      feed[gen_inputs["labels"]] = labels.astype(np.int32)
    gen_images = sess.run(generated, feed)
    feed = {disc_inputs["images"]: gen_images}
    if "labels" in disc_inputs:
      feed[disc_inputs["labels"]] = labels.astype(np.int32)
    results["generated"] = gen_images
    results["prediction"] = sess.run(prediction, feed)
  np.savez(args.out, **results)
  print("OK", {k: v.shape for k, v in results.items()})


if __name__ == "__main__":
  main()
