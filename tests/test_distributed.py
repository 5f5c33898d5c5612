"""Distribution tested for real: 1 vs 2 replicas, gradient accumulation, per-replica
randomness, XLA steps, and a 2-process MultiWorkerMirroredStrategy run."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils
from tf_test_utils import replica_batches as _replica_batches
import export_test_utils as etu

from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner

# A BigGAN (conditional BN with cross-replica moments in G, SN in G and D,
# projection D) small enough for seconds on a CPU; SGD so the comparison of
# weights after a step is a comparison of gradients (Adam would turn rounding
# noise of a zero gradient into +-lr).
BIGGAN_BINDINGS = [
    "options.gan_class = @ModularGAN",
    'options.architecture = "resnet_biggan_arch"',
    "options.batch_size = 8",
    "options.training_steps = 1",
    "options.z_dim = 20",
    "options.disc_iters = 1",
    'dataset.name = "polygons_32"',
    "ModularGAN.conditional = True",
    "ModularGAN.g_optimizer_fn = @tf.train.GradientDescentOptimizer",
    "ModularGAN.g_lr = 0.1",
    "ModularGAN.d_lr = 0.1",
    "ModularGAN.g_use_ema = True",
    "ModularGAN.ema_start_step = 0",
    "ModularGAN.ema_decay = 0.9",
    "G.batch_norm_fn = @conditional_batch_norm",
    "G.spectral_norm = True",
    "D.spectral_norm = True",
    "loss.fn = @hinge",
    "penalty.fn = @no_penalty",
    "resnet_biggan.Generator.ch = 8",
    'resnet_biggan.Generator.blocks_with_attention = ""',
    "resnet_biggan.Discriminator.ch = 8",
    'resnet_biggan.Discriminator.blocks_with_attention = "B1"',
    "z.distribution_fn = @tf.random.normal",
    "run_config.tf_random_seed = 5",
]


_context = etu.context  # Parses the bindings after clearing gin; builds a Context.


def _new_gan(ctx, strategy, **parameters):
  builder.set_random_seeds(ctx.run_config.tf_random_seed)
  with strategy.scope():
    gan = type(ctx.gan)(dataset=ctx.dataset, parameters=dict(ctx.options, **parameters),
                        model_dir=None)
    gan.build()
  return gan


def _global_batch(gan):
  """One training step's batch of the whole job: [num_sub_steps * batch_size]."""
  ds = gan.input_fn(gan.batch_size * gan.num_sub_steps)
  return next(iter(ds))


def _state(gan):
  return {name: v.numpy() for name, v in gan.variables_to_save().items()}


def _assert_states_close(a, b, atol):
  assert a.keys() == b.keys()
  for name in a:
    np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=atol, err_msg=name)


def _assert_updates_close(initial, a, b, rtol=2e-3):
  """The change of every variable agrees with the reference to `rtol` of its own
  largest change plus 1e-5 of the largest change of any variable: gradients that
  are zero in exact arithmetic (a bias before batch norm) are rounding noise,
  different under XLA, across replicas and CPUs."""
  assert a.keys() == b.keys() == initial.keys()
  deltas = {n: (a[n].astype(np.float64) - initial[n],
                b[n].astype(np.float64) - initial[n]) for n in a}
  for name in a:
    if not np.issubdtype(a[name].dtype, np.floating):  # Step counters.
      np.testing.assert_array_equal(a[name], b[name], err_msg=name)
  overall = max(np.max(np.abs(deltas[n][0])) for n in a
                if np.issubdtype(a[n].dtype, np.floating) and a[n].size)
  for name, (da, db) in deltas.items():
    scale = np.max(np.abs(da)) if da.size else 0.0
    np.testing.assert_allclose(da, db, rtol=0, atol=rtol * scale + 1e-5 * overall,
                               err_msg=name)


def test_two_replicas_equal_one_replica_on_the_global_batch(tmp_path,
                                                            two_replica_strategy):
  ctx = _context(tmp_path, BIGGAN_BINDINGS)
  single = _new_gan(ctx, tf.distribute.get_strategy())
  batch = _global_batch(single)
  initial = _state(single)
  tf.function(single.train_step)(batch)

  strategy = two_replica_strategy
  double = _new_gan(ctx, strategy)
  _assert_states_close(initial, _state(double), atol=0)  # Same initial weights.
  shares = _replica_batches(double, batch, 2)
  per_replica = strategy.experimental_distribute_values_from_function(
      lambda c: shares[c.replica_id_in_sync_group])
  tf.function(lambda b: strategy.run(double.train_step, args=(b,)))(per_replica)

  after_single, after_double = _state(single), _state(double)
  changed = [n for n in initial if not np.array_equal(initial[n], after_single[n])]
  assert any("moving_mean" in n or "accu" in n for n in changed), changed
  assert any(n.endswith("u_var") for n in changed)
  _assert_updates_close(initial, after_single, after_double)


def test_cross_replica_batch_norm_is_what_makes_replicas_equal(tmp_path,
                                                               two_replica_strategy):
  """With per-replica moments (compare_gan's core BN on 2 cores) they differ."""
  ctx = _context(tmp_path, BIGGAN_BINDINGS +
                 ["standardize_batch.use_cross_replica_mean = False"])
  single = _new_gan(ctx, tf.distribute.get_strategy())
  batch = _global_batch(single)
  tf.function(single.train_step)(batch)
  double = _new_gan(ctx, two_replica_strategy)
  shares = _replica_batches(double, batch, 2)
  per_replica = two_replica_strategy.experimental_distribute_values_from_function(
      lambda c: shares[c.replica_id_in_sync_group])
  tf.function(lambda b: two_replica_strategy.run(double.train_step, args=(b,)))(
      per_replica)
  a, b = _state(single), _state(double)
  worst = max(np.max(np.abs(a[n] - b[n])) for n in a if "generator/B1" in n)
  assert worst > 1e-3


def _sequential_micro_batch_bindings():
  """The tiny GAN with SN, EMA and SGD and without batch norm (BigGAN's G always
  ends in batch norm, which normalises each micro-batch with its own moments)."""
  return list(tf_test_utils.TINY_GAN_BINDINGS) + [
      "G.batch_norm_fn = @no_batch_norm", "penalty.fn = @no_penalty",
      "G.spectral_norm = True", "D.spectral_norm = True",
      "ModularGAN.g_use_ema = True", "ModularGAN.ema_start_step = 0",
      "ModularGAN.g_optimizer_fn = @tf.train.GradientDescentOptimizer",
      "ModularGAN.g_lr = 0.1", "options.batch_size = 8"]


@pytest.mark.parametrize("steps", [2, 4])
def test_gradient_accumulation_equals_the_large_batch(tmp_path, steps):
  """k micro-batches give the update of the whole batch (no batch norm): SN
  vectors and EMA included; counters advance once per step."""
  ctx = _context(tmp_path, _sequential_micro_batch_bindings())
  whole = _new_gan(ctx, tf.distribute.get_strategy())
  batch = _global_batch(whole)
  initial = _state(whole)
  tf.function(whole.train_step)(batch)
  accumulated = _new_gan(ctx, tf.distribute.get_strategy(),
                         gradient_accumulation_steps=steps)
  assert accumulated.gradient_accumulation_steps == steps
  metrics = tf.function(accumulated.train_step)(batch)
  a, b = _state(whole), _state(accumulated)
  assert int(b["global_step"]) == 1 and int(b["d_opt/iterations"]) == 1
  _assert_updates_close(initial, a, b)
  assert np.isfinite(float(metrics["d_0"]))


def test_gradient_accumulation_with_batch_norm_trains(tmp_path):
  ctx = _context(tmp_path, BIGGAN_BINDINGS)
  gan = _new_gan(ctx, tf.distribute.get_strategy(), gradient_accumulation_steps=2)
  metrics = tf.function(gan.train_step)(_global_batch(gan))
  assert all(np.isfinite(float(v)) for v in metrics.values())


def test_accumulation_must_divide_the_batch(tmp_path):
  with pytest.raises(ValueError, match="gradient_accumulation_steps=3"):
    _train_tiny(tmp_path, "run_config.gradient_accumulation_steps = 3")


def _train_tiny(model_dir, *extra):
  ctx = _context(model_dir, list(tf_test_utils.TINY_GAN_BINDINGS) + list(extra))
  return runner.schedule_train(ctx)


def test_z_differs_across_replicas_and_steps(tmp_path, two_replica_strategy):
  """The latents of the input pipeline (the penalty's noise seeds:
  test_trainer.py::test_penalty_seeds_differ_per_step_and_replica)."""
  ctx = _context(tmp_path, list(tf_test_utils.TINY_GAN_BINDINGS))
  gan = ctx.gan
  strategy = two_replica_strategy
  from compare_gan2.training import trainer as trainer_lib  # pylint: disable=g-import-not-at-top
  trainer = trainer_lib.Trainer(gan, strategy, str(tmp_path), ctx.run_config, 2)

  def first_z(start_step):
    dist = strategy.distribute_datasets_from_function(trainer._dataset_fn(start_step))  # pylint: disable=protected-access
    features, _ = next(iter(dist))
    return [t["z"].numpy() if isinstance(t, dict) else t.numpy()
            for t in strategy.experimental_local_results(features["z"])]

  step0, step1, again = first_z(0), first_z(1), first_z(0)
  assert not np.allclose(step0[0], step0[1])  # Replicas draw different z.
  assert not np.allclose(step0[0], step1[0])  # Steps draw different z.
  np.testing.assert_array_equal(step0[0], again[0])  # Reproducible.
  np.testing.assert_array_equal(step0[1], again[1])


def test_jit_compiled_step_equals_the_graph_step(tmp_path):
  ctx = _context(tmp_path, BIGGAN_BINDINGS)
  plain = _new_gan(ctx, tf.distribute.get_strategy())
  batch = _global_batch(plain)
  initial = _state(plain)
  tf.function(plain.train_step)(batch)
  compiled = _new_gan(ctx, tf.distribute.get_strategy())
  tf.function(compiled.train_step, jit_compile=True)(batch)
  _assert_updates_close(initial, _state(plain), _state(compiled))


def test_jit_compile_trains_through_the_trainer(tmp_path):
  _train_tiny(tmp_path, "run_config.jit_compile = True",
              "penalty.fn = @no_penalty")
  assert checkpoints.is_training_done(str(tmp_path))


# ------------------------------------------------- 2 worker processes (MWMS)
def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _run_two_workers(model_dir, training_steps, kill_at=None, timeout=240):
  """Runs the 2-worker job on 127.0.0.1; returns both exit codes."""
  script = os.path.join(os.path.dirname(__file__), "multiworker_job.py")
  workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
  procs = []
  for index in range(2):
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="2",
               TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                     "task": {"type": "worker", "index": index}}))
    args = [sys.executable, script, str(model_dir), str(training_steps)]
    if kill_at is not None:
      args.append(str(kill_at))
    procs.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True))
  try:
    outputs = [p.communicate(timeout=timeout)[0] for p in procs]
  finally:
    for p in procs:
      p.kill()
  return [p.returncode for p in procs], outputs


def _files(model_dir):
  return sorted(os.path.relpath(os.path.join(d, f), model_dir)
                for d, _, files in os.walk(model_dir) for f in files)


def test_two_worker_processes_chief_writes_and_resume_equals_uninterrupted(tmp_path):
  """MultiWorkerMirroredStrategy, 2 processes: only worker 0 writes model_dir; both
  killed after step 2's checkpoint, both resume from it and end with the weights
  of an uninterrupted 2-worker run."""
  full, resumed = tmp_path / "full", tmp_path / "resumed"
  codes, outputs = _run_two_workers(full, 4)
  assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
  files = _files(full)
  assert "TRAIN_DONE" in files and "operative_config-4.gin" in files
  assert sum(f.startswith("events.out.tfevents") for f in files) == 1, files
  assert "samples/step_4.png" in files
  assert not any(".worker_tmp" in f for f in files), files  # Removed after training,
  assert not os.path.exists(full / ".worker_tmp")  # the empty directory too.
  assert checkpoints.step_of(checkpoints.latest_checkpoint(str(full))) == 4

  codes, outputs = _run_two_workers(resumed, 4, kill_at=2)
  assert codes == [17, 17], outputs
  assert not os.path.exists(resumed / "TRAIN_DONE")
  assert checkpoints.step_of(checkpoints.latest_checkpoint(str(resumed))) == 2
  codes, outputs = _run_two_workers(resumed, 4)
  assert codes == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
  a = checkpoints.read_variables(checkpoints.latest_checkpoint(str(full)))
  b = checkpoints.read_variables(checkpoints.latest_checkpoint(str(resumed)))
  assert a.keys() == b.keys() and int(b["global_step"]) == 4
  for name in a:
    np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_jit_compile_on_several_cpu_replicas_is_a_clear_error(tmp_path,
                                                             two_replica_strategy):
  """TensorFlow compiles a replica's merge_call with XLA only on GPUs; on CPU
  replicas the step would fail deep inside TensorFlow, so the trainer says so."""
  from compare_gan2.training import trainer as trainer_lib  # pylint: disable=g-import-not-at-top
  ctx = _context(tmp_path, list(tf_test_utils.TINY_GAN_BINDINGS) +
                 ["run_config.jit_compile = True"])
  with pytest.raises(ValueError, match="jit_compile"):
    trainer_lib.Trainer(ctx.gan, two_replica_strategy, str(tmp_path),
                        ctx.run_config, 2)
