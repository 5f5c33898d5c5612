"""Importing compare_gan checkpoints: one written the way compare_gan wrote them
(a tf.compat.v1 graph, tf.compat.v1.train.AdamOptimizer named d_opt / g_opt,
ExponentialMovingAverage, tf.compat.v1.train.Saver), converted, then one more
training step in compare_gan2 equals that step taken by the TF1 graph."""

import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import gin_setup
from compare_gan2 import import_checkpoint as importer
from compare_gan2.training import checkpoints
from compare_gan2 import builder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LR, BETA1, EMA_DECAY = 0.01, 0.5, 0.9
BINDINGS = [b for b in tf_test_utils.TINY_GAN_BINDINGS
            if not b.startswith(("G.batch_norm_fn", "penalty.fn"))] + [
    "G.batch_norm_fn = @no_batch_norm",  # No zero-gradient biases: see below.
    "penalty.fn = @no_penalty",
    f"ModularGAN.g_lr = {LR}",
    "ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer",
    f"tf.train.AdamOptimizer.beta1 = {BETA1}",
    "ModularGAN.g_use_ema = True",
    f"ModularGAN.ema_decay = {EMA_DECAY}",
    "ModularGAN.ema_start_step = 0",
]
BATCH = 4  # options.batch_size of TINY_GAN_BINDINGS.


def _batches(num, seed=0):
  """Fixed training batches (two sub-steps each: D then G)."""
  rng = np.random.default_rng(seed)
  n = 2 * BATCH
  return [({"images": rng.random((n, 32, 32, 3), dtype=np.float32),
            "z": rng.uniform(-1, 1, (n, 8)).astype(np.float32),
            "sampled_labels": rng.integers(0, 6, n).astype(np.int32)},
           rng.integers(0, 6, n).astype(np.int32)) for _ in range(num)]


def _tf1_training(ckpt_prefix, batches, save_after):
  """compare_gan's model_fn in a TF1 graph; saves after `save_after` steps and
  returns {TF1 name: value} after all of `batches`."""
  gin.clear_config()
  gin_setup.parse(bindings=BINDINGS)
  graph = tf.Graph()
  with graph.as_default():
    gan = builder.build_gan()
    ph = {"images": tf.compat.v1.placeholder(tf.float32, [2 * BATCH, 32, 32, 3]),
          "z": tf.compat.v1.placeholder(tf.float32, [2 * BATCH, 8]),
          "sampled_labels": tf.compat.v1.placeholder(tf.int32, [2 * BATCH])}
    labels = tf.compat.v1.placeholder(tf.int32, [2 * BATCH])
    parts, label_parts = gan._split(ph, labels)  # pylint: disable=protected-access
    global_step = tf.compat.v1.train.get_or_create_global_step()
    global_step_disc = tf.compat.v1.get_variable(
        "global_step_disc", [], tf.int32, tf.zeros_initializer(), trainable=False)
    # Discriminator sub-step (built first, as in compare_gan: its Adam owns
    # beta1_power; G's gets beta1_power_1).
    fakes = tf.stop_gradient(gan._generate(parts[0]))  # pylint: disable=protected-access
    d_loss, _, _ = gan.create_loss(parts[0], label_parts[0], fakes)
    d_opt = tf.compat.v1.train.AdamOptimizer(LR, beta1=BETA1, name="d_opt")
    d_train = d_opt.minimize(d_loss, var_list=gan.discriminator.trainable_variables,
                             global_step=global_step_disc)
    with tf.control_dependencies([d_train]):
      generated = gan._generate(parts[1])  # pylint: disable=protected-access
      _, g_loss, _ = gan.create_loss(parts[1], label_parts[1], generated,
                                     compute_penalty=False)
      g_opt = tf.compat.v1.train.AdamOptimizer(LR, beta1=BETA1, name="g_opt")
      g_train = g_opt.minimize(g_loss, var_list=gan.generator.trainable_variables,
                               global_step=global_step)
    with tf.control_dependencies([g_train]):
      decay = EMA_DECAY * tf.cast(global_step >= 0, tf.float32)
      ema = tf.compat.v1.train.ExponentialMovingAverage(decay=decay)
      train_op = ema.apply(gan.generator.trainable_variables)
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session(graph=graph) as session:
      session.run(tf.compat.v1.global_variables_initializer())
      for step, (features, batch_labels) in enumerate(batches, start=1):
        feed = {ph[k]: v for k, v in features.items()}
        feed[labels] = batch_labels
        session.run(train_op, feed)
        if step == save_after:
          saver.save(session, ckpt_prefix, global_step=global_step)
      return {v.op.name: session.run(v) for v in tf.compat.v1.global_variables()}


@pytest.fixture(scope="module")
def tf1_run(tmp_path_factory):
  directory = tmp_path_factory.mktemp("compare_gan_run")
  batches = _batches(3)
  final = _tf1_training(str(directory / "model.ckpt"), batches, save_after=2)
  gin.clear_config()
  return {"checkpoint": str(directory / "model.ckpt-2"), "batches": batches,
          "final": final}


def test_checkpoint_has_compare_gans_names(tf1_run):
  names = set(tf.train.load_checkpoint(tf1_run["checkpoint"])
              .get_variable_to_shape_map())
  assert {"global_step", "global_step_disc", "beta1_power", "beta2_power",
          "beta1_power_1", "beta2_power_1", "generator/fc1/kernel/g_opt",
          "generator/fc1/kernel/g_opt_1", "discriminator/fc1/kernel/d_opt",
          "generator/fc1/kernel/ExponentialMovingAverage"} <= names


def _assert_equal_but_for_rounding(ours, theirs, name):
  """Equal to rounding on all but 1% of elements, and within Adam's step on those.

  The two graphs round differently (other kernels); where a gradient is
  near zero, Adam's m / sqrt(v) turns that rounding into a visible part of
  the learning rate. A wrong mapping (slots swapped, step count off) moves
  most elements by about the learning rate.
  """
  ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
  close = np.abs(ours - theirs) <= 1e-4 * np.abs(theirs) + 1e-5 * max(
      np.abs(theirs).max(), 1e-3)
  assert close.mean() >= 0.99, (name, close.mean())
  np.testing.assert_allclose(ours, theirs, atol=2 * LR, err_msg=name)


def test_one_step_after_import_equals_the_tf1_step(tf1_run, tmp_path):
  """Weights, Adam slots and counters, EMA shadows and step counters after one
  more step equal the TF1 graph's (Adam on non-zero gradients, so rounding
  noise stays rounding noise)."""
  gin_setup.parse(bindings=BINDINGS)
  model_dir = str(tmp_path / "imported")
  gan = builder.build_gan(model_dir)
  path = importer.import_checkpoint(gan, tf1_run["checkpoint"], model_dir)
  assert path == os.path.join(model_dir, "model.ckpt-2")
  assert int(gan.g_optimizer.iterations.numpy()) == 2
  assert int(gan.d_optimizer.iterations.numpy()) == 2
  # A fresh GAN restored from the written checkpoint takes the third step.
  gin.clear_config()
  gin_setup.parse(bindings=BINDINGS)
  gan = builder.build_gan(model_dir)
  checkpoints.restore_gan(gan, path)
  features, labels = tf1_run["batches"][2]
  gan.train_step(({k: tf.constant(v) for k, v in features.items()},
                  tf.constant(labels)))
  final = tf1_run["final"]
  ours = {k: v.numpy() for k, v in gan.variables_to_save().items()}
  assert ours["global_step"] == final["global_step"] == 3
  assert ours["global_step_disc"] == final["global_step_disc"] == 3
  assert ours["g_opt/iterations"] == ours["d_opt/iterations"] == 3
  assert final["beta1_power_1"] == pytest.approx(BETA1 ** 4)
  compared = 0
  for tf1_name, value in final.items():
    name = {"g_opt": "Adam", "g_opt_1": "Adam_1", "d_opt": "Adam",
            "d_opt_1": "Adam_1"}.get(tf1_name.rpartition("/")[2])
    name = f"{tf1_name.rpartition('/')[0]}/{name}" if name else tf1_name
    if name not in ours or name in ("global_step", "global_step_disc"):
      continue
    _assert_equal_but_for_rounding(ours[name], value, tf1_name)
    compared += 1
  assert compared == len(ours) - 4  # Everything but the four counters.


def test_unknown_and_missing_variables_are_listed(tf1_run, tmp_path):
  gin_setup.parse(bindings=BINDINGS + ["ModularGAN.g_use_ema = False",
                                       "ModularGAN.conditional = False"])
  gan = builder.build_gan()
  with pytest.raises(importer.CheckpointImportError) as error:
    importer.import_checkpoint(gan, tf1_run["checkpoint"], str(tmp_path / "out"))
  message = str(error.value)
  assert "unknown to the configured model" in message
  assert "ExponentialMovingAverage" in message and "embed_y" in message
  assert "operative_config" in message
  assert not os.path.exists(tmp_path / "out" / "checkpoint")


def test_model_variables_missing_from_the_checkpoint_are_listed(tf1_run, tmp_path):
  gin_setup.parse(bindings=BINDINGS + ["D.spectral_norm = True"])
  gan = builder.build_gan()
  with pytest.raises(importer.CheckpointImportError) as error:
    importer.import_checkpoint(gan, tf1_run["checkpoint"], str(tmp_path / "out"))
  assert "model variables missing from the checkpoint" in str(error.value)
  assert "discriminator/fc1/kernel/u_var" in str(error.value)


def test_adam_settings_that_do_not_fit_are_an_error(tf1_run, tmp_path):
  gin_setup.parse(bindings=BINDINGS + ["tf.train.AdamOptimizer.beta1 = 0.9"])
  gan = builder.build_gan()
  with pytest.raises(importer.CheckpointImportError, match="beta1"):
    importer.import_checkpoint(gan, tf1_run["checkpoint"], str(tmp_path / "out"))


def test_command_line(tf1_run, tmp_path):
  model_dir = tmp_path / "imported"
  args = [sys.executable, "-m", "compare_gan2.import_checkpoint",
          f"--checkpoint={tf1_run['checkpoint']}", f"--model_dir={model_dir}"]
  args += [f"--gin_bindings={b}" for b in BINDINGS]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip() == str(model_dir / "model.ckpt-2")
  assert (model_dir / "operative_config-2.gin").exists()
  # The written checkpoint holds compare_gan's values (a copy: bit for bit).
  imported = checkpoints.read_variables(str(model_dir / "model.ckpt-2"))
  reader = tf.train.load_checkpoint(tf1_run["checkpoint"])
  names = [n for n in imported if reader.has_tensor(n)]
  assert {"global_step", "generator/fc1/kernel", "discriminator/fc2/bias"} <= set(names)
  for name in names:
    np.testing.assert_array_equal(imported[name], reader.get_tensor(name), err_msg=name)
  np.testing.assert_array_equal(imported["generator/fc1/kernel/Adam"],
                                reader.get_tensor("generator/fc1/kernel/g_opt"))
  # Importing again into the same directory is refused; nothing is overwritten.
  again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300, check=False)
  assert again.returncode == 1
  assert again.stderr.strip().splitlines()[-1].startswith(
      "python -m compare_gan2.import_checkpoint: error:")
  assert "already holds checkpoints" in again.stderr
