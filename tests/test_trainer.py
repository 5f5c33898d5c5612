"""The training spine: step counters, batch split, checkpoints, EMA, determinism,
kill-and-resume, non-finite losses, files in model_dir, and a 2-replica run."""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils

from compare_gan2 import gin_setup
from compare_gan2.architectures import variable_store
from compare_gan2.training import checkpoints
from compare_gan2 import builder
from compare_gan2.training import runner
from compare_gan2.training import trainer as trainer_lib

BASE_BINDINGS = list(tf_test_utils.TINY_GAN_BINDINGS)


def _context(model_dir, *extra):
  gin.clear_config()
  gin_setup.parse(bindings=BASE_BINDINGS + list(extra))
  return builder.build_context(str(model_dir))


def _train(model_dir, *extra, on_checkpoint=None):
  ctx = _context(model_dir, *extra)
  runner.schedule_train(ctx, on_checkpoint=on_checkpoint)
  return ctx


def _weights(model_dir):
  path = checkpoints.latest_checkpoint(str(model_dir), required=True)
  return checkpoints.read_variables(path)


@pytest.mark.parametrize("disc_iters", [1, 2, 3])
def test_step_counters(tmp_path, disc_iters):
  ctx = _train(tmp_path, f"options.disc_iters = {disc_iters}",
               "options.training_steps = 3", "run_config.save_checkpoints_steps = 1",
               "run_config.iterations_per_loop = 1")
  assert int(ctx.gan.global_step.numpy()) == 3
  assert int(ctx.gan.global_step_disc.numpy()) == 3 * disc_iters
  steps = [checkpoints.step_of(p) for p in checkpoints.all_checkpoints(str(tmp_path))]
  assert steps == [0, 1, 2, 3]
  values = _weights(tmp_path)
  assert values["global_step_disc"] == 3 * disc_iters
  assert int(values["d_opt/iterations"]) == 3 * disc_iters
  assert int(values["g_opt/iterations"]) == 3


def _record_discriminator_batch_sizes(gan):
  """Wraps gan.discriminator_outputs; returns the list it appends each call's batch size to."""
  seen = []
  original = gan.discriminator_outputs
  def recording_discriminator(x, y, is_training):
    seen.append(x.shape[0])
    return original(x, y, is_training)
  gan.discriminator_outputs = recording_discriminator
  return seen


def test_batch_is_split_into_disc_iters_plus_one_parts(tmp_path):
  ctx = _context(tmp_path, "options.disc_iters = 2", "options.batch_size = 6")
  gan = ctx.gan
  features, labels = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
  assert features["images"].shape == (18, 32, 32, 3)
  assert features["z"].shape == (18, 8)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  assert len(parts) == 3 and all(p["images"].shape[0] == 6 for p in parts)
  np.testing.assert_array_equal(tf.concat(label_parts, 0), labels)
  # D sees real and fake of one sub-step in one call: 2 * batch_size.
  gan.build()
  seen = _record_discriminator_batch_sizes(gan)
  gan.train_step((features, labels))
  # Per D sub-step: one D call for the loss and one for the WGAN-GP penalty; G
  # step: D on the fakes only (D has no batch norm and hinge-like g_loss).
  assert seen == [12, 6, 12, 6, 6]


def _tiny_gan(model_dir, *extra, fakes_only=None):
  """A built tiny GAN and one step's batch; `fakes_only=False` forces D(real)."""
  if fakes_only is False:
    extra += ("ModularGAN.cheap_generator_step = False",)
  ctx = _context(model_dir, "penalty.fn = @no_penalty", *extra)
  gan = ctx.gan
  batch = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
  gan.build()
  return gan, batch


def _one_step_variables(model_dir, *extra, fakes_only=None):
  """All variables after one training step; `fakes_only=False` forces D(real)."""
  gan, batch = _tiny_gan(model_dir, *extra, fakes_only=fakes_only)
  seen = _record_discriminator_batch_sizes(gan)
  metrics = gan.train_step(batch)
  values = {v.name: v.numpy() for v in gan.generator.variables + gan.discriminator.variables}
  return float(metrics["g"]), values, seen


def _generator_gradients(model_dir, *extra, fakes_only=None):
  """(g_loss, {G variable: gradient}) at initialisation, without state updates."""
  gan, (features, labels) = _tiny_gan(model_dir, *extra, fakes_only=fakes_only)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  vars_ = gan.generator.trainable_variables
  with variable_store.no_state_updates(), tf.GradientTape() as tape:
    generated = gan._generate(parts[-1])  # pylint: disable=protected-access
    g_loss, _ = gan.generator_loss(parts[-1], label_parts[-1], generated)
  grads = tape.gradient(g_loss, vars_)
  return float(g_loss), {v.name: g.numpy() for v, g in zip(vars_, grads)}


_FAKES_ONLY_CASES = [
    ("hinge", []), ("non_saturating", []), ("wasserstein", []),
    ("least_squares", ["D.batch_norm_fn = @no_batch_norm"])]


@pytest.mark.parametrize("loss, d_norm", _FAKES_ONLY_CASES)
def test_generator_step_on_fakes_only_has_the_same_gradients(tmp_path, loss, d_norm):
  """Skipping D(real) in the G step computes compare_gan's g_loss and gradients.

  Compared to the scale of the gradients, not bit for bit: the two D calls have
  other batch shapes, so oneDNN may round differently (and a bias feeding batch
  norm has a true gradient of zero, i.e. pure rounding noise).
  """
  extra = [f"loss.fn = @{loss}", "D.spectral_norm = True"] + d_norm
  loss_fast, fast = _generator_gradients(tmp_path / "fast", *extra)
  loss_full, full = _generator_gradients(tmp_path / "full", *extra, fakes_only=False)
  assert loss_fast == pytest.approx(loss_full, rel=1e-5, abs=1e-6)
  assert fast.keys() == full.keys()
  scale = max(np.abs(g).max() for g in full.values())
  assert scale > 0
  for name in fast:
    np.testing.assert_allclose(fast[name], full[name], rtol=1e-4, atol=1e-5 * scale,
                               err_msg=name)


@pytest.mark.parametrize("loss, d_norm", _FAKES_ONLY_CASES)
def test_generator_step_on_fakes_only_is_exact(tmp_path, loss, d_norm):
  """One training step with plain SGD: same g_loss, weights and spectral-norm
  vectors as compare_gan's joint D(real, fake) call, to float32 rounding.

  (SGD, not Adam: Adam's update of a zero gradient's rounding noise is +-lr.)
  """
  extra = [f"loss.fn = @{loss}", "D.spectral_norm = True",
           "ModularGAN.g_optimizer_fn = @tf.train.GradientDescentOptimizer",
           "ModularGAN.g_lr = 0.1"] + d_norm
  g_fast, fast, seen_fast = _one_step_variables(tmp_path / "fast", *extra)
  g_full, full, seen_full = _one_step_variables(tmp_path / "full", *extra,
                                                fakes_only=False)
  assert seen_fast == [8, 4] and seen_full == [8, 8]
  assert g_fast == pytest.approx(g_full, rel=1e-5, abs=1e-6)
  assert fast.keys() == full.keys()
  for name in fast:
    np.testing.assert_allclose(fast[name], full[name], rtol=1e-4, atol=1e-6,
                               err_msg=name)


def _generator_loss_reading_real(d_real_logits, d_fake_logits):
  """A relativistic-style loss: its g_loss needs D(real)."""
  d_loss = tf.reduce_mean(tf.nn.softplus(d_fake_logits - d_real_logits))
  g_loss = tf.reduce_mean(tf.nn.softplus(d_real_logits - d_fake_logits))
  return d_loss, d_loss, d_loss, g_loss


gin.external_configurable(_generator_loss_reading_real,
                          name="relativistic_test_loss")


@pytest.mark.parametrize("extra, calls", [
    ("D.batch_norm_fn = @batch_norm", [8, 8]),
    ("ModularGAN.deprecated_split_disc_calls = True", [4, 4, 4, 4]),
    ("loss.fn = @relativistic_test_loss", [8, 8])])
def test_generator_step_sees_reals_when_needed(tmp_path, extra, calls):
  """D(real) stays in the G step when batch norm couples D's examples, when
  calls are split as in compare_gan, and for a loss whose g_loss reads D(real)."""
  _, _, seen = _one_step_variables(tmp_path, extra)
  assert seen == calls


def test_files_in_model_dir(tmp_path):
  _train(tmp_path)
  names = set(os.listdir(tmp_path))
  assert {"TRAIN_DONE", "checkpoint", "operative_config-0.gin",
          "operative_config-4.gin", "samples"} <= names
  assert {"model.ckpt-0.index", "model.ckpt-2.index", "model.ckpt-4.index"} <= names
  assert any(n.startswith("events.out.tfevents") for n in names)
  assert os.path.exists(tmp_path / "samples" / "step_4.png")
  operative = (tmp_path / "operative_config-4.gin").read_text()
  assert "options.batch_size = 4" in operative and "dummy_arch" in operative


def test_keep_checkpoint_max(tmp_path):
  _train(tmp_path, "run_config.keep_checkpoint_max = 2",
         "run_config.save_checkpoints_steps = 1", "run_config.iterations_per_loop = 1")
  steps = [checkpoints.step_of(p) for p in checkpoints.all_checkpoints(str(tmp_path))]
  assert steps == [3, 4]


def test_ema_shadows_in_checkpoint(tmp_path):
  """After G step t, shadow = w_t before ema_start_step, then 0.5 shadow + 0.5 w_t:
  at step 4, w1/8 + w2/8 + w3/4 + w4/2 (the weights from each step's checkpoint)."""
  ctx = _train(tmp_path, "ModularGAN.g_use_ema = True", "ModularGAN.ema_start_step = 2",
               "ModularGAN.ema_decay = 0.5", "run_config.save_checkpoints_steps = 1",
               "run_config.iterations_per_loop = 1")
  by_step = {checkpoints.step_of(p): checkpoints.read_variables(p)
             for p in checkpoints.all_checkpoints(str(tmp_path))}
  assert sorted(by_step) == [0, 1, 2, 3, 4]
  values = by_step[4]
  trainable = {v.name.split(":")[0] for v in ctx.gan.generator.trainable_variables}
  shadows = {k[:-len("/ExponentialMovingAverage")] for k in values
             if k.endswith("/ExponentialMovingAverage")}
  assert shadows == trainable
  assert "generator/fc1/kernel" in shadows
  for name in shadows:
    w = [by_step[t][name].astype(np.float64) for t in range(5)]
    shadow = lambda t, name=name: by_step[t][name + "/ExponentialMovingAverage"]
    np.testing.assert_array_equal(shadow(0), w[0], err_msg=name)
    np.testing.assert_array_equal(shadow(1), w[1], err_msg=name)  # Not started.
    expected = w[1] / 8 + w[2] / 8 + w[3] / 4 + w[4] / 2
    np.testing.assert_allclose(shadow(4), expected, rtol=1e-5,
                               atol=1e-6 * np.abs(expected).max(), err_msg=name)
  assert not np.allclose(values["generator/fc1/kernel"],
                         values["generator/fc1/kernel/ExponentialMovingAverage"])


def test_same_seed_same_weights_and_different_seed_differs(tmp_path):
  _train(tmp_path / "a")
  _train(tmp_path / "b")
  _train(tmp_path / "c", "run_config.tf_random_seed = 4")
  a, b, c = (_weights(tmp_path / d) for d in "abc")
  assert a.keys() == b.keys()
  for name in a:
    np.testing.assert_array_equal(a[name], b[name], err_msg=name)
  assert not np.array_equal(a["generator/fc1/kernel"], c["generator/fc1/kernel"])


class _Killed(Exception):
  pass


def test_kill_and_resume_equals_uninterrupted(tmp_path):
  _train(tmp_path / "full")

  def kill_at_2(step, path):
    del path
    if step == 2:
      raise _Killed()

  with pytest.raises(_Killed):
    _train(tmp_path / "resumed", on_checkpoint=kill_at_2)
  assert not os.path.exists(tmp_path / "resumed" / "TRAIN_DONE")
  _train(tmp_path / "resumed")
  full, resumed = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
  for name in full:
    np.testing.assert_array_equal(full[name], resumed[name], err_msg=name)


@gin.configurable(allowlist=[])
def _nan_loss(d_real_logits, d_fake_logits, d_real=None, d_fake=None):
  del d_real, d_fake
  nan = tf.constant(np.nan, tf.float32)
  return (nan + tf.reduce_mean(d_real_logits), nan, nan,
          nan + tf.reduce_mean(d_fake_logits))


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
  _train(tmp_path, "options.training_steps = 2")
  before = _weights(tmp_path)
  with pytest.raises(trainer_lib.NonFiniteLossError, match="step 3"):
    _train(tmp_path, "loss.fn = @_nan_loss")
  assert checkpoints.step_of(checkpoints.latest_checkpoint(str(tmp_path))) == 2
  after = _weights(tmp_path)
  for name in before:
    np.testing.assert_array_equal(before[name], after[name])


def test_two_replica_mirrored_strategy_trains(tmp_path, two_replica_strategy):
  ctx = _context(tmp_path, "options.training_steps = 2",
                 "standardize_batch.use_cross_replica_mean = True")
  strategy = two_replica_strategy
  with strategy.scope():
    gan = type(ctx.gan)(dataset=ctx.dataset, parameters=ctx.options,
                        model_dir=str(tmp_path))
  trainer = trainer_lib.Trainer(gan, strategy, str(tmp_path), ctx.run_config, 2)
  assert trainer.train() == 2
  assert int(gan.global_step_disc.numpy()) == 2
  by_step = {checkpoints.step_of(p): checkpoints.read_variables(p)
             for p in checkpoints.all_checkpoints(str(tmp_path))}
  assert sorted(by_step) == [0, 2]
  values = by_step[2]
  assert int(values["g_opt/iterations"]) == 2 and int(values["d_opt/iterations"]) == 2
  # The checkpoint holds the trained (mirrored) weights.
  for name, var in gan.variables_to_save().items():
    np.testing.assert_array_equal(values[name], var.numpy(), err_msg=name)
  for name in ("generator/fc1/kernel", "discriminator/fc1/kernel"):
    assert np.all(np.isfinite(values[name]))
    assert not np.array_equal(values[name], by_step[0][name]), name


def test_unknown_dataset_is_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match="polygons_32"):
    _context(tmp_path, 'dataset.name = "cifar100000"')


def test_batch_not_divisible_by_replicas(tmp_path, two_replica_strategy):
  ctx = _context(tmp_path, "options.batch_size = 3")
  strategy = two_replica_strategy
  with pytest.raises(ValueError, match="not divisible"):
    trainer_lib.Trainer(ctx.gan, strategy, str(tmp_path), ctx.run_config, 2)


def test_restore_gan_and_mismatch_errors(tmp_path):
  ctx = _train(tmp_path, "options.training_steps = 2")
  path = checkpoints.latest_checkpoint(str(tmp_path))
  other = _context(tmp_path / "other")  # Same config, fresh weights.
  checkpoints.restore_gan(other.gan, path)
  np.testing.assert_array_equal(other.gan.generator.trainable_variables[0].numpy(),
                                ctx.gan.generator.trainable_variables[0].numpy())
  values = checkpoints.read_variables(path)
  for name, var in other.gan.variables_to_save().items():  # Every variable.
    np.testing.assert_array_equal(var.numpy(), values[name], err_msg=name)
  wider = _context(tmp_path / "wider", "options.z_dim = 9")
  with pytest.raises(checkpoints.CheckpointMismatchError, match="shape"):
    checkpoints.restore_gan(wider.gan, path)
  with pytest.raises(checkpoints.CheckpointNotFoundError):
    checkpoints.restore_gan(other.gan, str(tmp_path / "model.ckpt-999"))
  with pytest.raises(checkpoints.CheckpointNotFoundError, match="Train first"):
    checkpoints.latest_checkpoint(str(tmp_path / "empty"), required=True)


def test_joint_gen_for_disc_generates_the_d_steps_fakes_in_one_call(tmp_path):
  """experimental_joint_gen_for_disc: one G call on the z of all disc_iters D
  parts (G does not change during the D steps) instead of one per D step; with
  no batch norm in G the fakes, so the losses, are those of separate calls."""
  results = {}
  for joint in (False, True):
    ctx = _context(tmp_path / str(joint), "options.disc_iters = 2",
                   "G.batch_norm_fn = @no_batch_norm",
                   f"ModularGAN.experimental_joint_gen_for_disc = {joint}")
    gan = ctx.gan
    batch = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
    gan.build()
    sizes, original = [], gan._generate  # pylint: disable=protected-access
    def recording(features, is_training=True, original=original, sizes=sizes):
      sizes.append(int(features["z"].shape[0]))
      return original(features, is_training)
    gan._generate = recording  # pylint: disable=protected-access
    metrics = gan.train_step(batch)
    results[joint] = sizes, {k: float(metrics[k]) for k in ("d_0", "d_1", "g")}
  assert results[False][0] == [4, 4, 4]  # D step 1, D step 2, G step.
  assert results[True][0] == [8, 4]
  for name, value in results[False][1].items():
    assert results[True][1][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name


def test_penalty_seeds_differ_per_step_and_replica(tmp_path, two_replica_strategy):
  ctx = _context(tmp_path)
  with two_replica_strategy.scope():
    gan = type(ctx.gan)(dataset=ctx.dataset, parameters=ctx.options,
                        model_dir=str(tmp_path))
    gan.build()

  @tf.function
  def seeds(step):
    return two_replica_strategy.run(lambda: gan._step_seed(step))  # pylint: disable=protected-access

  a = [t.numpy().tolist() for t in two_replica_strategy.experimental_local_results(
      seeds(tf.constant(5, tf.int64)))]
  b = [t.numpy().tolist() for t in two_replica_strategy.experimental_local_results(
      seeds(tf.constant(6, tf.int64)))]
  assert a[0] != a[1] and a[0] != b[0]
  assert a == [t.numpy().tolist() for t in two_replica_strategy.experimental_local_results(
      seeds(tf.constant(5, tf.int64)))]


def test_conditional_needs_labels():
  from types import SimpleNamespace  # pylint: disable=g-import-not-at-top
  from compare_gan2.gans import modular_gan  # pylint: disable=g-import-not-at-top
  unlabelled = SimpleNamespace(name="celeb_a", num_classes=None,
                               image_shape=(64, 64, 3))
  with pytest.raises(ValueError, match="conditional"):
    modular_gan.ModularGAN(dataset=unlabelled, conditional=True, parameters={
        "architecture": "dummy_arch", "batch_size": 2, "z_dim": 4})


def test_soft_labels_pass_through_as_y(tmp_path):
  ctx = _context(tmp_path)
  gan = ctx.gan
  index = tf.constant(3, tf.int64)
  soft = tf.constant([0.1, 0.2, 0.3, 0.4, 0.0, 0.0])
  features, labels = gan._preprocess(index, tf.zeros([32, 32, 3]), soft)  # pylint: disable=protected-access
  assert labels.dtype == tf.float32
  np.testing.assert_allclose(gan._one_hot(labels[None]), soft[None])  # pylint: disable=protected-access
  assert features["sampled_labels"].dtype == tf.int32
  hard = gan._one_hot(tf.constant([2, -1]))  # pylint: disable=protected-access
  np.testing.assert_array_equal(hard, [[0, 0, 1, 0, 0, 0], [0] * 6])


def test_generator_regularizer_enters_g_loss(tmp_path):
  """Same seed, same D step: G's loss differs by beta * sum_W ||W^T W (1 - I)||^2
  over G's kernels as they were before the G update."""
  losses = {}
  for name, extra in [("plain", []), ("ortho", [
      "G_regularizer.fn = @orthogonal_regularization",
      "orthogonal_regularization.beta = 10.0"])]:
    ctx = _context(tmp_path / name, *extra)
    gan = ctx.gan
    batch = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
    gan.build()
    kernels = [v.numpy().astype(np.float64) for v in gan.generator.trainable_variables
               if v.name.split(":")[0].endswith("kernel")]
    losses[name] = float(gan.train_step(batch)["g"])
  assert len(kernels) >= 2
  expected = 0.0
  for w in kernels:
    w = w.reshape(-1, w.shape[-1])
    expected += np.sum((w.T @ w * (1 - np.eye(w.shape[-1]))) ** 2)
  expected *= 10.0
  assert expected > 1e-3
  assert losses["ortho"] - losses["plain"] == pytest.approx(
      expected, rel=1e-4, abs=1e-5 * abs(losses["plain"]))


def test_create_loss_written_against_compare_gan_drives_both_steps(tmp_path):
  """A subclass that overrides create_loss (compare_gan style) and opts into
  its route gets the full G step: its extra G term is not lost to the cheap
  path."""
  from compare_gan2.gans import create_loss_route  # pylint: disable=g-import-not-at-top
  from compare_gan2.gans import modular_gan  # pylint: disable=g-import-not-at-top

  class ExtraTermGAN(create_loss_route.CreateLossRoute, modular_gan.ModularGAN):

    def create_loss(self, features, labels, generated, is_training=True,
                    compute_penalty=True, seed=None):
      d_loss, g_loss, summaries = super().create_loss(
          features, labels, generated, is_training, compute_penalty, seed)
      extra = tf.reduce_mean(tf.square(generated))
      summaries["g_extra"] = extra
      return d_loss + 1.0, g_loss + extra, summaries

  ctx = _context(tmp_path, "penalty.fn = @no_penalty")
  gan = ExtraTermGAN(dataset=ctx.gan.dataset, parameters=ctx.options,
                     model_dir=str(tmp_path))
  assert not gan.uses_cheap_generator_step()
  batch = next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))
  gan.build()
  seen = _record_discriminator_batch_sizes(gan)
  metrics = gan.train_step(batch)
  assert seen == [8, 8]  # D and G steps both see reals and fakes.
  assert float(metrics["g"]) == pytest.approx(
      float(metrics["g_adversarial"]) + float(metrics["g_extra"]), rel=1e-5)
  assert float(metrics["d_0"]) == pytest.approx(
      float(metrics["d_adversarial"]) + 1.0, rel=1e-5)


def test_create_loss_override_without_its_route_is_refused():
  """Overriding create_loss alone would not reach training: a TypeError at
  class definition names the opt-in."""
  from compare_gan2.gans import modular_gan  # pylint: disable=g-import-not-at-top

  with pytest.raises(TypeError, match="CreateLossRoute"):

    class Unrouted(modular_gan.ModularGAN):  # pylint: disable=unused-variable

      def create_loss(self, *args, **kwargs):
        return super().create_loss(*args, **kwargs)


def test_models_satisfy_the_trainer_protocol(tmp_path):
  ctx = _context(tmp_path)
  assert isinstance(ctx.gan, trainer_lib.TrainableModel)
  trainer_lib.check_trainable(ctx.gan)

  class NotAGAN:
    batch_size = 4
    num_sub_steps = 2
  with pytest.raises(TypeError, match=r"NotAGAN cannot be trained by the "
                     r"Trainer: it lacks \['global_step', 'build'"):
    trainer_lib.Trainer(NotAGAN(), ctx.strategy, str(tmp_path), ctx.run_config, 4)
