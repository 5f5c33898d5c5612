"""The data-efficient components of the GAN step (gans/data_efficient.py): R1 /
R2 (lazy), LeCam, CR / bCR / zCR and the D-overfitting measures, against their
formulas; every component with every GAN class, under 2 replicas, gradient
accumulation and mixed precision; off by default."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_test_utils
from tf_test_utils import replica_batches as _replica_batches

from compare_gan2 import builder
from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.augmentation import diffaugment
from compare_gan2.gans import data_efficient as de
from compare_gan2.gans import self_supervision as ss_lib
from compare_gan2.gans import step_parts

SSGAN_BINDINGS = ("options.gan_class = @SSGAN", "SSGAN.rotated_batch_size = 8")
S3GAN_BINDINGS = ("options.gan_class = @S3GAN", "S3GAN.rotated_batch_fraction = 1",
                  "S3GAN.project_y = True", "S3GAN.use_predictor = True")
GAN_CLASSES = {"ModularGAN": (), "SSGAN": SSGAN_BINDINGS, "S3GAN": S3GAN_BINDINGS}

# Each component on, as a user would switch it on.
COMPONENTS = {
    "r1": ("r1.gamma = 10.0",),
    "r1_lazy": ("r1.gamma = 10.0", "r1.interval = 2"),
    "r2": ("r2.gamma = 1.0",),
    "lecam": ("lecam.weight = 0.3", "lecam.start_step = 0"),
    "cr": ('consistency.mode = "cr"',),
    "bcr": ('consistency.mode = "bcr"',),
    "zcr": ('consistency.mode = "zcr"',),
    "icr": ('consistency.mode = "icr"',),
    "overfitting": ("overfitting.metrics = True",),
    "diffaugment": ('augment.method = "diffaugment"',),
    "ada": ('augment.method = "ada"', "ada.initial_p = 0.5", "ada.interval = 1"),
}
ALL_ON = ("r1.gamma = 10.0", "r1.interval = 2", "r2.gamma = 1.0",
          "lecam.weight = 0.3", "lecam.start_step = 0", 'consistency.mode = "icr"',
          "overfitting.metrics = True", 'augment.method = "diffaugment"')


def _gan(model_dir, *bindings, build=True, **parameters):
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + list(bindings))
  ctx = builder.build_context(str(model_dir))
  gan = ctx.gan
  if parameters:
    gan = type(gan)(dataset=ctx.dataset, parameters=dict(ctx.options, **parameters),
                    model_dir=None)
  if build:
    gan.build()
  return gan


def _batch(gan):
  return next(iter(gan.input_fn(gan.batch_size * gan.num_sub_steps)))


def _state(gan):
  return {name: v.numpy() for name, v in gan.variables_to_save().items()}


class LinearD:
  """logit = <w, x> + b per example: d logit / d x = w."""

  def __init__(self, w, b=0.25):
    self.w = tf.Variable(w)
    self.b = tf.Variable(b)

  def __call__(self, x, y=None):
    del y
    return tf.reduce_sum(self.w * x, axis=[1, 2, 3])[:, None] + self.b


def _images(seed, shape=(4, 8, 8, 3)):
  return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _logits(seed, n=4):
  return np.random.default_rng(seed).normal(size=(n, 1)).astype(np.float32)


# ------------------------------------------------------------------ R1 / R2
def test_gradient_penalty_of_a_linear_d_is_its_weight_norm():
  """E ||d D / d x'||^2 with x' = 2x - 1: ||w||^2 / 4 for every example, also
  through a transform that permutes pixels (a flip)."""
  w = np.random.default_rng(0).normal(size=(8, 8, 3)).astype(np.float32)
  d = LinearD(w)
  expected = np.sum(w.astype(np.float64) ** 2) / 4
  assert float(de.gradient_penalty(d, _images(1))) == pytest.approx(expected, rel=1e-5)
  flipped = de.gradient_penalty(d, _images(1), lambda x: tf.reverse(x, [2]))
  assert float(flipped) == pytest.approx(expected, rel=1e-5)
  # Its gradient with respect to w (second order): d/dw ||w||^2 / 4 = w / 2.
  with tf.GradientTape() as tape:
    value = de.gradient_penalty(d, _images(1))
  np.testing.assert_allclose(tape.gradient(value, d.w), w / 2, rtol=1e-5)


def _terms(component, disc_step, logits_fn, graph=False):
  """({term: (value, weight)}, summaries) of `component`'s D terms on 4 reals
  and 4 fakes at D step `disc_step` (in a tf.function with `graph`)."""
  real, fake = _images(2), _images(3)
  slices = {"real": step_parts.Slice(real), "fake": step_parts.Slice(fake)}
  outputs = {"real": {"logits": _logits(4)}, "fake": {"logits": _logits(5)}}

  def terms(disc_step):
    losses = step_parts.LossTerms()
    component.discriminator_terms(
        losses, outputs, slices, real_images=real, fake_images=fake,
        seed=tf.constant([1, 2]), step=tf.constant(0, tf.int64),
        disc_step=disc_step, logits_fn=logits_fn, augment=lambda x, stream: x)
    values = {name: (losses.value(name), losses.weight(name))
              for name in losses.names}
    return values, losses.summaries()
  if graph:
    terms = tf.function(terms)
  return terms(tf.constant(disc_step, tf.int64))


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
def test_r1_and_r2_terms_are_gamma_over_2_times_the_norm_lazily(graph):
  """R1 on the reals, R2 on the fakes: value ||w||^2 / 4, weight gamma / 2 * k,
  computed on D steps that are multiples of k only (0 and a count of 0 else)."""
  w = np.random.default_rng(6).normal(size=(8, 8, 3)).astype(np.float32)
  d = LinearD(w)
  norm = np.sum(w.astype(np.float64) ** 2) / 4
  component = de.DataEfficient(r1=de.GradientPenaltyOptions("r1", 10.0, 3),
                               r2=de.GradientPenaltyOptions("r2", 2.0, 1))
  for disc_step in range(4):
    terms, summaries = _terms(component, disc_step, d, graph)
    on = disc_step % 3 == 0
    value, weight = terms["r1_penalty"]
    assert float(value) == pytest.approx(norm if on else 0.0, rel=1e-5)
    assert float(weight) == pytest.approx(10.0 / 2 * 3)
    assert float(summaries["r1_penalty@count"]) == float(on)
    assert "r1_penalty" not in summaries
    value, weight = terms["r2_penalty"]
    assert float(value) == pytest.approx(norm, rel=1e-5) and float(weight) == 1.0
    assert float(summaries["r2_penalty"]) == pytest.approx(norm, rel=1e-5)


def test_lazy_r1_gradient_goes_through_the_cond():
  """D's gradient of the lazy term (tf.cond in a tf.function): w / 2 * weight on
  an active step, 0 on the others."""
  w = np.random.default_rng(7).normal(size=(8, 8, 3)).astype(np.float32)
  d = LinearD(w)
  component = de.DataEfficient(r1=de.GradientPenaltyOptions("r1", 4.0, 2))

  @tf.function
  def gradient(disc_step):
    with tf.GradientTape() as tape:
      losses = step_parts.LossTerms()
      component.discriminator_terms(
          losses, {"real": {"logits": _logits(1)}, "fake": {"logits": _logits(2)}},
          {"real": step_parts.Slice(_images(2)), "fake": step_parts.Slice(_images(3))},
          real_images=_images(2), fake_images=_images(3), seed=tf.constant([1, 2]),
          step=tf.constant(0, tf.int64), disc_step=disc_step, logits_fn=d,
          augment=lambda x, stream: x)
      total = losses.total
    return tape.gradient(total, d.w)
  np.testing.assert_allclose(gradient(tf.constant(4, tf.int64)), 4.0 / 2 * 2 * w / 2,
                             rtol=1e-5)
  np.testing.assert_array_equal(gradient(tf.constant(5, tf.int64)), np.zeros_like(w))


def test_r1_in_the_gan_step_is_the_penalty_of_its_discriminator(tmp_path):
  """The GAN's d_r1_penalty is gradient_penalty of D (with heads) on the reals."""
  gan = _gan(tmp_path, *S3GAN_BINDINGS, "r1.gamma = 2.0", "penalty.fn = @no_penalty")
  features, labels = _batch(gan)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  generated = gan._generate(parts[0])  # pylint: disable=protected-access
  _, summaries = gan.discriminator_loss(parts[0], label_parts[0], generated,
                                        seed=tf.constant([3, 4]))
  y = gan.real_labels(label_parts[0])
  expected = de.gradient_penalty(lambda x: gan.discriminator_fn(x, y, True)[1],
                                 parts[0]["images"])
  assert float(summaries["d_r1_penalty"]) == pytest.approx(float(expected), rel=1e-5)
  assert float(expected) > 0


# --------------------------------------------------------------------- LeCam
def test_lecam_anchors_follow_their_ema_and_the_term_is_the_formula():
  component = de.DataEfficient(lecam=de.LeCamOptions(weight=0.3, decay=0.9,
                                                     start_step=2))
  component.build()
  anchor_real = anchor_fake = None
  for t in range(5):  # G step t (one D step each).
    real, fake = _logits(10 + t), _logits(20 + t)
    losses = step_parts.LossTerms()
    component.discriminator_terms(
        losses, {"real": {"logits": real}, "fake": {"logits": fake}},
        {"real": step_parts.Slice(_images(0)), "fake": step_parts.Slice(_images(1))},
        real_images=None, fake_images=None, seed=None, step=tf.constant(t, tf.int64),
        disc_step=tf.constant(t, tf.int64), logits_fn=None, augment=None)
    decay = 0.9 if t >= 2 else 0.0   # Before start_step the anchors are the batch's.
    anchor_real = real.mean() if anchor_real is None else (
        decay * anchor_real + (1 - decay) * real.mean())
    anchor_fake = fake.mean() if anchor_fake is None else (
        decay * anchor_fake + (1 - decay) * fake.mean())
    saved = component.variables_to_save()
    assert float(saved["lecam/anchor_real"]) == pytest.approx(anchor_real, rel=1e-5)
    assert float(saved["lecam/anchor_fake"]) == pytest.approx(anchor_fake, rel=1e-5)
    expected = (np.mean(np.maximum(real - anchor_fake, 0) ** 2) +
                np.mean(np.maximum(anchor_real - fake, 0) ** 2))
    assert float(losses.value("lecam")) == pytest.approx(expected, rel=1e-5)
    assert float(losses.weight("lecam")) == pytest.approx(0.3 if t >= 2 else 0.0)
    assert float(losses.summaries()["lecam/anchor_real"]) == pytest.approx(
        anchor_real, rel=1e-5)


# --------------------------------------------------------------- consistency
def test_cr_transform_flips_and_translates_with_reflection():
  """Each output is its image, maybe flipped, shifted by (dy, dx) in [-r, r]
  with reflection padding (r = 32 / 8 = 4); the draws cover the range."""
  images = _images(8, (64, 32, 32, 1))
  out = de.cr_transform(images, tf.constant([5, 6])).numpy()
  seen = set()
  for image, got in zip(images, out):
    matches = []
    for flip in (False, True):
      source = image[:, ::-1] if flip else image
      padded = np.pad(source, [(4, 4), (4, 4), (0, 0)], mode="reflect")
      for dy in range(-4, 5):
        for dx in range(-4, 5):
          if np.array_equal(padded[4 + dy:36 + dy, 4 + dx:36 + dx], got):
            matches.append((flip, dy, dx))
    assert len(matches) == 1
    seen.add(matches[0])
  assert {m[0] for m in seen} == {False, True}
  assert {m[1] for m in seen} >= {-4, 4} and {m[2] for m in seen} >= {-4, 4}
  np.testing.assert_array_equal(out, de.cr_transform(images, tf.constant([5, 6])))


@pytest.mark.parametrize("mode, terms", [
    ("cr", {"consistency_real": 10.0}),
    ("bcr", {"consistency_real": 10.0, "consistency_fake": 10.0}),
    ("zcr", {"consistency_latent": 5.0}),
    ("icr", {"consistency_real": 10.0, "consistency_fake": 10.0,
             "consistency_latent": 5.0})])
def test_consistency_terms_are_their_formulas(mode, terms):
  """D terms: mean (D(x) - D(T x))^2 with the paper's weights; the slices hold
  T(reals), T(fakes) and G(z + dz) as D sees them (augment of the source)."""
  component = de.DataEfficient(consistency=de.ConsistencyOptions(mode=mode))
  real, fake, perturbed = _images(1), _images(2), _images(3)
  y = np.eye(4, dtype=np.float32)
  slices = {"real": step_parts.Slice(real, y), "fake": step_parts.Slice(fake, y)}
  seed = tf.constant([7, 8])
  seen = []
  def augment(images, stream):
    seen.append(stream)
    return images + (1.0 if stream == "real" else 2.0)
  slices = component.consistency_slices(slices, real, fake, lambda: perturbed, seed,
                                        augment)
  expected_slices = {"real_consistency": de.cr_transform(
      real, de.stream_seed(seed, "consistency/real")) + 1.0,
                     "fake_consistency": de.cr_transform(
      fake, de.stream_seed(seed, "consistency/fake")) + 2.0,
                     "fake_latent_consistency": perturbed + 2.0}
  added = [name for name in slices if name not in ("real", "fake")]
  assert len(added) == len(terms)
  for name in added:
    np.testing.assert_allclose(slices[name].images, expected_slices[name])
    np.testing.assert_array_equal(slices[name].y, y)
  outputs = {name: {"logits": _logits(30 + i)} for i, name in enumerate(slices)}
  losses = step_parts.LossTerms()
  component.discriminator_terms(
      losses, outputs, slices, real_images=real, fake_images=fake, seed=seed,
      step=tf.constant(0, tf.int64), disc_step=tf.constant(0, tf.int64),
      logits_fn=None, augment=augment)
  assert set(losses.names) == set(terms)
  source = {"consistency_real": ("real", "real_consistency"),
            "consistency_fake": ("fake", "fake_consistency"),
            "consistency_latent": ("fake", "fake_latent_consistency")}
  for name, weight in terms.items():
    a, b = source[name]
    expected = np.mean((outputs[a]["logits"] - outputs[b]["logits"]) ** 2)
    assert float(losses.value(name)) == pytest.approx(expected, rel=1e-5)
    assert losses.weight(name) == weight


def test_zcr_generator_term_and_latent_noise():
  """G term: weight -0.5, value mean over pixels of (2 G(z) - 2 G(z + dz))^2;
  dz ~ N(0, 0.03^2) from the seed."""
  component = de.DataEfficient(consistency=de.ConsistencyOptions(mode="zcr"))
  a, b = _images(1), _images(2)
  losses = step_parts.LossTerms()
  component.generator_terms(losses, a, b)
  assert float(losses.value("consistency_latent")) == pytest.approx(
      np.mean((2 * a - 2 * b) ** 2), rel=1e-5)
  assert losses.weight("consistency_latent") == -0.5
  z = tf.zeros([2000, 8])
  dz = component.perturbed_latents(z, tf.constant([1, 2])).numpy()
  assert np.std(dz) == pytest.approx(0.03, rel=0.05) and abs(np.mean(dz)) < 0.003
  assert not np.array_equal(dz, component.perturbed_latents(z, tf.constant([1, 3])))


# ---------------------------------------------------------------- overfitting
def test_overfitting_metrics_are_sums_and_counts():
  real = np.array([[1.5], [-0.5], [2.0], [0.25]], np.float32)
  fake = np.array([[-1.0], [0.5], [-3.0]], np.float32)
  losses = step_parts.LossTerms()
  de.add_overfitting_metrics(losses, real, fake)
  s = {k: float(v) for k, v in losses.summaries().items()}
  assert s["overfitting/logit_real@sum"] == 3.25 and s["overfitting/logit_real@count"] == 4
  assert s["overfitting/logit_fake@sum"] == -3.5 and s["overfitting/logit_fake@count"] == 3
  assert s["overfitting/accuracy_real@sum"] == 3 and s["overfitting/accuracy_fake@sum"] == 2
  assert s["overfitting/rt@sum"] == 2 and s["overfitting/rt@count"] == 4
  assert not losses.names  # Metrics only: nothing enters the loss.


# ------------------------------------------------------ every GAN, every part
def _train_steps(gan, steps=2, graph=False):
  """The last step's metrics after `steps` steps (eager: the tiny model's steps
  take less time than tracing them; `graph`: in a tf.function)."""
  batch = _batch(gan)
  step = tf.function(gan.train_step) if graph else gan.train_step
  for _ in range(steps):
    metrics = {k: float(v) for k, v in step(batch).items()}
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  return metrics


_EXPECTED_SUMMARIES = {
    "r1": {"d_r1_penalty"}, "r1_lazy": {"d_r1_penalty@sum", "d_r1_penalty@count"},
    "r2": {"d_r2_penalty"}, "lecam": {"d_lecam", "lecam/anchor_real"},
    "cr": {"d_consistency_real"}, "bcr": {"d_consistency_real", "d_consistency_fake"},
    "zcr": {"d_consistency_latent", "g_consistency_latent"},
    "icr": {"d_consistency_real", "d_consistency_fake", "d_consistency_latent",
            "g_consistency_latent"},
    "overfitting": {"overfitting/rt@sum", "overfitting/accuracy_fake@count"},
    "diffaugment": {"d_adversarial"},
    "ada": {"augment/p", "overfitting/rt@sum"},
}


def _params(gan_classes, components):
  """(gan class, component) pairs; SSGAN / S3GAN with each component alone
  are slow (test_all_components_together_... runs them all at once)."""
  result = []
  for gan_class in gan_classes:
    for component in components:
      marks = () if gan_class == "ModularGAN" else (pytest.mark.slow,)
      result.append(pytest.param(gan_class, component, marks=marks,
                                 id=f"{gan_class}-{component}"))
  return result


@pytest.mark.parametrize("gan_class, component",
                         _params(GAN_CLASSES, COMPONENTS))
def test_each_component_trains_with_each_gan_class(tmp_path, gan_class, component):
  gan = _gan(tmp_path, *GAN_CLASSES[gan_class], *COMPONENTS[component])
  metrics = _train_steps(gan)
  assert _EXPECTED_SUMMARIES[component] <= set(metrics), sorted(metrics)


@pytest.mark.parametrize("gan_class", list(GAN_CLASSES))
def test_all_components_together_train_with_each_gan_class(tmp_path, gan_class):
  """Every component at once; SSGAN / S3GAN keep their rotation terms."""
  gan = _gan(tmp_path, *GAN_CLASSES[gan_class], *ALL_ON)
  metrics = _train_steps(gan)
  expected = set().union(*(_EXPECTED_SUMMARIES[c] for c in
                           ("r1_lazy", "r2", "lecam", "icr", "overfitting")))
  if gan_class != "ModularGAN":
    expected |= {"d_rotation_loss_real", "g_rotation_loss_fake"}
  assert expected <= set(metrics), sorted(metrics)
  assert set(gan.data_efficient.variables_to_save()) == {"lecam/anchor_real",
                                                         "lecam/anchor_fake"}


@pytest.mark.parametrize("loss", [
    pytest.param("hinge", marks=pytest.mark.slow),
    pytest.param("non_saturating", marks=pytest.mark.slow),  # ALL_ON's tests.
    pytest.param("wasserstein", marks=pytest.mark.slow), "least_squares"])
def test_components_train_with_each_loss(tmp_path, loss):
  gan = _gan(tmp_path, f"loss.fn = @{loss}", "penalty.fn = @dragan_penalty", *ALL_ON)
  metrics = _train_steps(gan, steps=1)
  assert "d_penalty" in metrics and "d_lecam" in metrics


# ----------------------------------------------------------- off by default
def test_off_by_default_nothing_changes(tmp_path):
  """No new bindings = every component explicitly off: the same losses,
  summaries, variables (values and checkpoint names) after two steps."""
  off = ("r1.gamma = 0.0", "r2.gamma = 0.0", "lecam.weight = 0.0",
         'consistency.mode = "none"', "overfitting.metrics = False")
  results = []
  for bindings in ((), off):
    gan = _gan(tmp_path, *SSGAN_BINDINGS, *bindings)
    assert not gan.data_efficient.enabled
    metrics = _train_steps(gan)
    results.append((metrics, _state(gan)))
  (metrics_a, state_a), (metrics_b, state_b) = results
  assert metrics_a == metrics_b
  assert state_a.keys() == state_b.keys()
  for name in state_a:
    np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)
  assert not any(name.startswith(("lecam", "ada", "augment")) for name in state_a)
  assert not any(k.startswith(("overfitting", "lecam", "augment")) or
                 "consistency" in k or "r1" in k or "r2" in k for k in metrics_a)


def test_ada_before_p_rises_trains_exactly_as_the_baseline(tmp_path):
  """ADA starts at p = 0 and its p rises only once r_t passes the target: until
  then D must see the reals and fakes themselves (not a [0, 1] -> [-1, 1] round
  trip that rounds), so the run is the baseline's, bit for bit on one machine."""
  states = []
  for bindings in ((), ('augment.method = "ada"',)):
    gan = _gan(tmp_path, *bindings)
    _train_steps(gan, steps=3, graph=True)
    states.append({k: v for k, v in _state(gan).items()
                   if not k.startswith(("ada", "augment"))})
  baseline, with_ada = states
  assert baseline.keys() == with_ada.keys()
  for name in baseline:
    np.testing.assert_array_equal(baseline[name], with_ada[name], err_msg=name)


def test_bad_values_are_config_errors(tmp_path):
  for binding, match in [("r1.interval = 0", "r1.interval"),
                         ("lecam.decay = 1.0", "lecam.decay"),
                         ('consistency.mode = "xcr"', "consistency.mode"),
                         ("r2.gamma = -1.0", "r2.gamma"),
                         ('augment.method = "mixup"', "augment.method"),
                         ('augment.method = "diffaugment"\naugment.policy = "blur"',
                          "blur"),
                         ("ada.target = 0.5", "augment.method"),
                         ('augment.method = "ada"\nada.transforms = "bgcfn"',
                          "bgcfn")]:
    with pytest.raises(errors.ConfigError, match=match):
      _gan(tmp_path, binding, build=False)


# ----------------------------------------------------------- distribution


def _reduced(strategy, per_replica):
  """The loop's reduction: @sum / @count summed over replicas, others averaged."""
  result = {}
  for name, value in per_replica.items():
    op = (tf.distribute.ReduceOp.SUM if name.endswith(("@sum", "@count"))
          else tf.distribute.ReduceOp.MEAN)
    result[name] = float(strategy.reduce(op, value, axis=None))
  return result


def _ratios(metrics):
  """The loop's report: each "<name>@sum" / "<name>@count" pair as "<name>"."""
  result = {k: v for k, v in metrics.items() if not k.endswith(("@sum", "@count"))}
  for name in [k[:-4] for k in metrics if k.endswith("@sum")]:
    count = metrics[name + "@count"]
    result[name] = metrics[name + "@sum"] / count if count else float("nan")
  return result


_REPLICA_BINDINGS = ("G.batch_norm_fn = @no_batch_norm", "penalty.fn = @no_penalty",
                     "options.batch_size = 8", "r1.gamma = 10.0", "r1.interval = 2",
                     "lecam.weight = 0.3", "lecam.start_step = 0",
                     "overfitting.metrics = True",
                     "ModularGAN.g_optimizer_fn = @tf.train.GradientDescentOptimizer",
                     "ModularGAN.g_lr = 0.1")


def test_two_replicas_equal_one_replica_on_the_global_batch(tmp_path,
                                                            two_replica_strategy):
  """Lazy R1 (its tf.cond in a replica), LeCam (anchors from replica-summed
  means) and the overfitting ratio metrics: 2 replicas give the state and
  statistics of 1 on the same batch."""
  single = _gan(tmp_path / "one", *_REPLICA_BINDINGS)
  batch = _batch(single)
  initial = _state(single)
  one = {k: float(v) for k, v in single.train_step(batch).items()}

  strategy = two_replica_strategy
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) +
                  list(_REPLICA_BINDINGS))
  ctx = builder.build_context(str(tmp_path / "two"))
  builder.set_random_seeds(ctx.run_config.tf_random_seed)
  with strategy.scope():
    double = type(ctx.gan)(dataset=ctx.dataset, parameters=ctx.options, model_dir=None)
    double.build()
  shares = _replica_batches(double, batch, 2)
  per_replica = strategy.experimental_distribute_values_from_function(
      lambda c: shares[c.replica_id_in_sync_group])
  two = _reduced(strategy, tf.function(
      lambda b: strategy.run(double.train_step, args=(b,)))(per_replica))
  assert one.keys() == two.keys()
  assert two["overfitting/rt@count"] == one["overfitting/rt@count"] == 8
  one, two = _ratios(one), _ratios(two)
  for name in one:
    assert two[name] == pytest.approx(one[name], rel=1e-4, abs=1e-6), name
  after_one, after_two = _state(single), _state(double)
  assert after_one["lecam/anchor_real"] != initial["lecam/anchor_real"]
  for name in after_one:
    np.testing.assert_allclose(after_two[name], after_one[name], rtol=1e-4,
                               atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_every_component_trains_under_two_replicas(tmp_path, two_replica_strategy):
  """All components (lazy R1's tf.cond, CR's and zCR's per-replica draws) in a
  2-replica step of the trainer's loop."""
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + list(ALL_ON) +
                  ["options.batch_size = 8"])
  ctx = builder.build_context(str(tmp_path))
  strategy = two_replica_strategy
  with strategy.scope():
    gan = type(ctx.gan)(dataset=ctx.dataset, parameters=ctx.options, model_dir=None)
    gan.build()
  batch = _batch(gan)
  shares = _replica_batches(gan, batch, 2)
  per_replica = strategy.experimental_distribute_values_from_function(
      lambda c: shares[c.replica_id_in_sync_group])
  step = tf.function(lambda b: strategy.run(gan.train_step, args=(b,)))
  for _ in range(2):
    metrics = _reduced(strategy, step(per_replica))
  assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert metrics["d_r1_penalty@count"] == 0  # D step 1 of interval 2: skipped.
  assert metrics["overfitting/rt@count"] == 8


# ------------------------------------------- accumulation and mixed precision
def test_components_train_with_accumulation_and_mixed_precision(tmp_path):
  """Every component at once, 2 micro-batches, float16 with loss scaling."""
  gan = _gan(tmp_path, *ALL_ON, "options.batch_size = 8",
             gradient_accumulation_steps=2, precision="mixed_float16")
  assert gan.gradient_accumulation_steps == 2
  metrics = _train_steps(gan)
  assert {"d_r1_penalty@count", "d_lecam", "g_consistency_latent"} <= set(metrics)
  assert metrics["overfitting/rt@count"] == 4  # The mean of 2 micro-batches of 4.


@pytest.mark.parametrize("augmentation", [
    ('augment.method = "diffaugment"',),
    ('augment.method = "ada"', "ada.initial_p = 0.5")])
def test_components_train_in_mixed_bfloat16(tmp_path, augmentation):
  """Every component at once under mixed_bfloat16 (TPUs): the augmentations and
  terms compute in float32 from D's bfloat16 layers; the step is finite, every
  term is reported, and ADA's p and LeCam's anchors stay float32."""
  bindings = [b for b in ALL_ON if not b.startswith("augment.")]
  gan = _gan(tmp_path, *bindings, *augmentation, "options.batch_size = 4",
             precision="mixed_bfloat16")
  assert gan.compute_dtype == tf.bfloat16
  metrics = _train_steps(gan)
  assert {"d_r1_penalty@count", "d_lecam", "g_consistency_latent",
          "overfitting/rt@count"} <= set(metrics)
  state = gan.data_efficient.variables_to_save()
  assert state and all(v.dtype == tf.float32 for v in state.values())


# -------------------------------------------------------------- augmentation
def _seeded_slices(gan, seed=(3, 4)):
  features, labels = _batch(gan)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  fakes = tf.random.stateless_uniform([4, 32, 32, 3], seed=[9, 9])
  seed = tf.constant(seed)
  return parts[0], label_parts[0], fakes, seed, gan.discriminator_slices(
      parts[0], label_parts[0], fakes, seed=seed)


def _diff_augmented(images, seed, stream, policy="color,translation,cutout"):
  """The library's DiffAugment in [0, 1] with the step's stream seed."""
  x = diffaugment.diff_augment(images * 2.0 - 1.0, de.stream_seed(seed, stream),
                               policy)
  return (x + 1.0) * 0.5


def test_diffaugment_slices_then_rotations(tmp_path):
  """SSGAN: the real and fake slices are the library's DiffAugment (own stream
  each, in [0, 1]); the rotated slices are rotations of the augmented images."""
  gan = _gan(tmp_path, *SSGAN_BINDINGS, 'augment.method = "diffaugment"')
  features, _, fakes, seed, slices = _seeded_slices(gan)
  real = _diff_augmented(features["images"], seed, "augment/real")
  fake = _diff_augmented(fakes, seed, "augment/fake")
  np.testing.assert_allclose(slices["real"].images, real, atol=1e-6)
  np.testing.assert_allclose(slices["fake"].images, fake, atol=1e-6)
  assert not np.allclose(slices["real"].images, features["images"], atol=1e-3)
  np.testing.assert_array_equal(
      slices["real_rotated"].images,
      ss_lib.rotate_images(slices["real"].images[-2:], rotations=(1, 2, 3)))
  np.testing.assert_array_equal(
      slices["fake_rotated"].images,
      ss_lib.rotate_images(slices["fake"].images[-2:], rotations=(1, 2, 3)))
  other = gan.discriminator_slices(features, None, fakes, seed=tf.constant([3, 5]))
  assert not np.allclose(other["real"].images, slices["real"].images, atol=1e-3)


def test_s3gan_augments_its_labelled_reals(tmp_path):
  gan = _gan(tmp_path, *S3GAN_BINDINGS, "S3GAN.labelled_batch_size = 4",
             'augment.method = "diffaugment"', 'augment.policy = "translation"',
             'dataset.name = "mnist_5k_32"', "replace_labels.file_pattern = None")
  features, _, _, seed, slices = _seeded_slices(gan)
  np.testing.assert_allclose(
      slices["labelled"].images,
      _diff_augmented(features["labelled_images"], seed, "augment/labelled",
                      "translation"), atol=1e-6)


def test_generator_loss_goes_through_the_augmentation(tmp_path):
  """G's loss is the loss of D on the augmented fakes (G step's seed), its
  gradient reaches G through the augmentation, and the cheap G step (D on the
  fakes only) equals the full one."""
  gan = _gan(tmp_path, 'augment.method = "diffaugment"', "loss.fn = @hinge",
             "ModularGAN.conditional = False")
  features, labels = _batch(gan)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  seed = gan._generator_step_seed(0)  # pylint: disable=protected-access
  with tf.GradientTape() as tape:
    generated = gan._generate(parts[-1])  # pylint: disable=protected-access
    g_loss, _ = gan.generator_loss(parts[-1], label_parts[-1], generated, seed)
    seen = _diff_augmented(generated, seed, "augment/fake")
    expected = -tf.reduce_mean(gan.discriminator(seen, None, is_training=True)[1])
  grads = tape.gradient(g_loss, gan.generator.trainable_variables)
  assert float(g_loss) == pytest.approx(float(expected), rel=1e-5)
  assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
  assert gan.uses_cheap_generator_step()
  gan._cheap_generator_step = False  # pylint: disable=protected-access
  full, _ = gan.generator_loss(parts[-1], label_parts[-1], generated, seed)
  assert float(full) == pytest.approx(float(g_loss), rel=1e-6)


def test_generator_step_seeds_differ_per_step_replica_and_micro_batch(
    tmp_path, two_replica_strategy):
  strategy = two_replica_strategy
  gin.clear_config()
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) +
                  ['augment.method = "diffaugment"'])
  ctx = builder.build_context(str(tmp_path))
  with strategy.scope():
    gan = type(ctx.gan)(dataset=ctx.dataset, parameters=ctx.options, model_dir=None)
    gan.build()

  @tf.function
  def seeds(micro_batch):
    return strategy.run(lambda: tf.stack([
        gan._generator_step_seed(micro_batch),  # pylint: disable=protected-access
        gan._step_seed(gan.global_step_disc)]))  # pylint: disable=protected-access
  def local(micro_batch):
    return [t.numpy().tolist() for t in
            strategy.experimental_local_results(seeds(micro_batch))]
  a, b = local(0), local(1)
  gan.global_step.assign_add(1)
  c = local(0)
  all_seeds = [tuple(s) for group in (a, b, c) for replica in group for s in
               replica[:1]]
  assert len(set(all_seeds)) == 6  # 3 (step, micro-batch) x 2 replicas.
  assert a[0][0] != a[0][1]  # G's seed is not D's.


def test_r1_is_taken_through_the_augmentation(tmp_path):
  """R1 = E ||d D(A(x)) / d x'||^2 with the real slice's draws of A."""
  gan = _gan(tmp_path, "r1.gamma = 1.0", 'augment.method = "diffaugment"',
             'augment.policy = "color,translation"', "penalty.fn = @no_penalty")
  features, labels = _batch(gan)
  parts, label_parts = gan._split(features, labels)  # pylint: disable=protected-access
  seed = tf.constant([5, 6])
  _, summaries = gan.discriminator_loss(parts[0], label_parts[0],
                                        gan._generate(parts[0]), seed)  # pylint: disable=protected-access
  y = gan.real_labels(label_parts[0])
  expected = de.gradient_penalty(
      lambda x: gan.discriminator_fn(x, y, True)[1], parts[0]["images"],
      lambda x: _diff_augmented(x, seed, "augment/real", "color,translation"))
  assert float(summaries["d_r1_penalty"]) == pytest.approx(float(expected), rel=1e-5)


_ADA = ('augment.method = "ada"', "ada.initial_p = 0.3", "ada.interval = 2",
        "ada.speed_kimg = 0.1", "overfitting.metrics = True")


def test_ada_p_moves_by_the_interval_r_t_at_the_paper_rate(tmp_path):
  """Over interval 2 the accumulators hold the D steps' sign sums; then p +=
  sign(r_t - 0.6) * reals * interval / (speed_kimg * 1000), 4 * 2 / 100 here,
  and the sums restart; "augment/p" is p after the step."""
  gan = _gan(tmp_path, *_ADA)
  batch = _batch(gan)
  state = gan.data_efficient.variables_to_save()
  assert set(state) == {"ada/p", "ada/rt_sum", "ada/rt_count"}
  p, interval_sum, moves = 0.3, 0.0, set()
  for step in range(4):
    metrics = gan.train_step(batch)
    interval_sum += float(metrics["overfitting/rt@sum"])  # The step's D step.
    if step % 2 == 0:
      assert float(state["ada/rt_sum"]) == interval_sum
      assert float(state["ada/rt_count"]) == 4
    else:
      move = np.sign(interval_sum / 8 - 0.6) * 4 * 2 / 100.0
      moves.add(move)
      p = max(0.0, p + move)
      interval_sum = 0.0
      assert float(state["ada/rt_sum"]) == 0 and float(state["ada/rt_count"]) == 0
    assert float(state["ada/p"]) == pytest.approx(p, abs=1e-6)
    assert float(metrics["augment/p"]) == pytest.approx(p, abs=1e-6)
  assert moves  # (Which direction depends on D.)


def test_ada_sums_r_t_over_replicas(two_replica_strategy):
  """Each replica's D step adds the sum over all replicas (identical state)."""
  from compare_gan2.gans import discriminator_augmentation as da  # pylint: disable=g-import-not-at-top
  strategy = two_replica_strategy
  with strategy.scope():
    augmentation = da.DiscriminatorAugmentation(
        da.AugmentOptions("ada"), da.AdaOptions(), reals_per_step=8)
    augmentation.build()

  @tf.function
  def add():
    def replica_fn():
      r = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group,
                  tf.float32)
      augmentation.after_discriminator_step(
          {"overfitting/rt@sum": 1.0 + r, "overfitting/rt@count": 4.0},
          de.replica_sum, scale=2.0)
    strategy.run(replica_fn)
  add()
  state = augmentation.variables_to_save()
  for name, expected in (("ada/rt_sum", 2.0 * (1 + 2)), ("ada/rt_count", 16.0)):
    values = [float(v) for v in strategy.experimental_local_results(state[name])]
    assert values == [expected, expected], name


def test_ada_counts_the_reals_of_every_d_sub_step(tmp_path):
  gan = _gan(tmp_path, *_ADA, "options.disc_iters = 2")
  gan.train_step(_batch(gan))
  assert float(gan.data_efficient.variables_to_save()["ada/rt_count"]) == 8


def test_ada_rotations_with_a_rotation_task_are_warned_about(tmp_path):
  from absl import logging  # pylint: disable=g-import-not-at-top
  seen = []
  original = logging.warning
  logging.warning = lambda message, *args: seen.append(message % args)
  try:
    _gan(tmp_path, *SSGAN_BINDINGS, 'augment.method = "ada"', build=False)
    _gan(tmp_path, *SSGAN_BINDINGS, 'augment.method = "ada"',
         'ada.transforms = "color"', build=False)
  finally:
    logging.warning = original
  assert len(seen) == 1 and "['rotate', 'rotate90', 'xflip']" in seen[0]


def test_ada_fixed_p_has_no_state(tmp_path):
  """ada.target = None: p stays ada.initial_p, no variables, no r_t sums."""
  gan = _gan(tmp_path, 'augment.method = "ada"', "ada.initial_p = 0.4",
             "ada.target = None")
  assert gan.data_efficient.variables_to_save() == {}
  metrics = gan.train_step(_batch(gan))
  assert float(metrics["augment/p"]) == pytest.approx(0.4)
  assert "overfitting/rt@sum" not in metrics


def test_ada_and_lecam_resume_exactly(tmp_path):
  """p, the interval's sums and LeCam's anchors are checkpointed: 1 step, save
  (mid-interval), restore into a new GAN, 2 steps = 3 steps."""
  from compare_gan2.training import checkpoints  # pylint: disable=g-import-not-at-top
  bindings = _ADA + ("ada.initial_p = 0.5", "lecam.weight = 0.3",
                     "lecam.start_step = 1")
  whole = _gan(tmp_path, *bindings)
  batch = _batch(whole)
  whole.train_step(batch)
  path = checkpoints.make_checkpoint(whole.variables_to_save()).save(
      str(tmp_path / "ckpt"))
  saved = checkpoints.read_variables(path)
  assert {"ada/p", "ada/rt_sum", "ada/rt_count", "lecam/anchor_real"} <= set(saved)
  assert saved["ada/rt_count"] == 4  # Mid-interval.
  for _ in range(2):
    whole.train_step(batch)
  resumed = _gan(tmp_path, *bindings)
  checkpoints.make_checkpoint(resumed.variables_to_save()).restore(path)
  for _ in range(2):
    resumed.train_step(batch)
  a, b = _state(whole), _state(resumed)
  assert a["ada/p"] != 0.5 and a["lecam/anchor_real"] != 0
  for name in a:
    np.testing.assert_array_equal(a[name], b[name], err_msg=name)
