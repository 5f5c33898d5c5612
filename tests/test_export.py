"""TF-Hub export: a small trained BigGAN exported as a TF1 Hub module,
loaded with tensorflow_hub 0.16 (`hub.load`) and the TF1 SavedModel loader, and
compared with the in-process generator / discriminator."""

import json
import os
import re
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import export_test_utils as etu
from compare_gan2.architectures import normalization
from compare_gan2.architectures import variable_store
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.export import cli
from compare_gan2.export import hub_export
from compare_gan2.export import module_writer
from compare_gan2.export import options as export_options
from compare_gan2.export import truncation_stats
from compare_gan2.training import checkpoints
from compare_gan2.training import runner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Z_DIM, NUM_CLASSES = 20, 6
GRID = export_options.default_truncation_grid()


@pytest.fixture(scope="module")
def biggan(tmp_path_factory):
  """Trains resnet_biggan (ch=8) for 2 steps and exports it via --schedule=export."""
  model_dir = str(tmp_path_factory.mktemp("biggan"))
  try:
    ctx, ckpt = etu.train(model_dir, etu.BIGGAN_BINDINGS)
    module_dir = hub_export.schedule_export(ctx)
  finally:
    gin.clear_config()
  return {"model_dir": model_dir, "ckpt": ckpt, "module": module_dir}


@pytest.fixture
def restored(biggan):
  """A fresh GAN of the same config holding the checkpoint's weights."""
  ctx = etu.context(biggan["model_dir"], etu.BIGGAN_BINDINGS)
  checkpoints.restore_gan(ctx.gan, biggan["ckpt"])
  return ctx.gan


@pytest.fixture(scope="module")
def signature(biggan):
  return hub.load(biggan["module"]).signatures["default"]


@pytest.fixture(scope="module")
def stats(biggan):
  return etu.module_statistics(biggan["module"])


def _inputs(batch, truncation=1.0, seed=0):
  rng = np.random.default_rng(seed)
  z = truncation * etu.truncnorm(rng, [batch, Z_DIM])
  labels = rng.integers(0, NUM_CLASSES, [batch])
  return z, np.eye(NUM_CLASSES, dtype=np.float32)[labels], labels


def _run(signature, z, y, truncation):
  return signature(z=tf.constant(z), y=tf.constant(y),
                   truncation=tf.constant(truncation, tf.float32))["default"].numpy()


def test_module_files_and_tag_sets(biggan):
  module = biggan["module"]
  assert module == os.path.join(biggan["model_dir"], "tfhub", "2")
  assert sorted(os.listdir(module)) == ["saved_model.pb", "tfhub_module.pb",
                                        "variables"]
  with open(os.path.join(module, "tfhub_module.pb"), "rb") as f:
    assert f.read() == b"\x08\x03"
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  saved_model = saved_model_pb2.SavedModel()
  with open(os.path.join(module, "saved_model.pb"), "rb") as f:
    saved_model.ParseFromString(f.read())
  tag_sets = sorted(tuple(sorted(m.meta_info_def.tags)) for m in saved_model.meta_graphs)
  expected = [()] + sorted((f"bs{bs}", model) for model in ("disc", "gen")
                           for bs in (8, 16, 32, 64, "None"))
  assert tag_sets == expected
  for meta_graph in saved_model.meta_graphs:
    assert list(meta_graph.signature_def) == ["default"]
    assert meta_graph.meta_info_def.stripped_default_attrs
    # Only the collections hub.Module supports.
    assert set(meta_graph.collection_def) <= {"variables", "trainable_variables"}
  # No temporary directories left beside the module.
  assert os.listdir(os.path.dirname(module)) == ["2"]


def test_default_signature_interface(signature):
  args, kwargs = signature.structured_input_signature
  assert args == ()
  assert sorted(kwargs) == ["truncation", "y", "z"]
  assert kwargs["z"].dtype == tf.float32 and kwargs["z"].shape.as_list() == [None, Z_DIM]
  assert kwargs["y"].dtype == tf.float32
  assert kwargs["y"].shape.as_list() == [None, NUM_CLASSES]
  assert kwargs["truncation"].dtype == tf.float32
  assert kwargs["truncation"].shape.as_list() == []
  outputs = signature.structured_outputs
  assert list(outputs) == ["default"]
  assert outputs["default"].dtype == tf.float32
  assert outputs["default"].shape.as_list() == [None, 32, 32, 3]


def test_standing_statistics_are_generator_batch_moments(biggan, restored, stats):
  """The module's statistics are the EMA generator's training-mode batch moments
  on z = t * truncnorm(-2, 2) and uniform classes, averaged over batches."""
  assert len(stats) == 7  # B1-B3 bn1/bn2 (conditional BN) and final_norm.
  assert "generator/final_norm" in stats and "generator/B1/bn1" in stats
  for means, variances in stats.values():
    assert means.shape[0] == len(GRID) == 50 and variances.shape == means.shape
  options = hub_export.ExportOptions(GRID, 8, 2, 0, True)
  base, labels = truncation_stats.stats_inputs(Z_DIM, NUM_CLASSES, 8, 2, 0)
  for row in (0, 24, 49):
    recorded = {}

    def record(name, mean, variance):
      recorded.setdefault(name, []).append((mean.numpy(), variance.numpy()))

    mapping = restored.generator_variable_mapping()
    mapping.update(etu.svd_spectral_vectors(restored.generator.store, mapping))
    for b in range(options.stats_num_batches):
      with variable_store.no_state_updates(), \
          restored.generator.store.override(mapping), \
          normalization.batch_stats_hook(record):
        restored.generator(tf.constant(GRID[row] * base[b]),
                           tf.one_hot(labels[b], NUM_CLASSES), is_training=True)
    assert set(recorded) == set(stats)
    for name, pairs in recorded.items():
      np.testing.assert_allclose(stats[name][0][row], np.mean([p[0] for p in pairs], 0),
                                 rtol=1e-4, atol=1e-5, err_msg=name)
      np.testing.assert_allclose(stats[name][1][row], np.mean([p[1] for p in pairs], 0),
                                 rtol=1e-4, atol=1e-5, err_msg=name)
  # Statistics depend on the truncation (the point of per-truncation sets).
  means, variances = stats["generator/B1/bn1"]
  assert not np.allclose(variances[0], variances[-1])


@pytest.mark.parametrize("batch", [1, 8, 10])
def test_default_output_equals_in_process_ema_generator(signature, restored, stats,
                                                        batch):
  z, y, _ = _inputs(batch, seed=batch)
  got = _run(signature, z, y, 1.0)
  assert got.shape == (batch, 32, 32, 3)
  assert got.min() >= -1.0 and got.max() <= 1.0
  want = etu.reference_generator(restored, z, y, stats, row=len(GRID) - 1)
  np.testing.assert_allclose(got, want * 2.0 - 1.0, atol=2e-5)
  # The module uses the EMA weights: the raw weights give other images.
  raw = etu.reference_generator(restored, z, y, stats, row=len(GRID) - 1,
                                use_ema=False)
  assert np.abs(raw * 2.0 - 1.0 - got).max() > 1e-3


def test_truncation_interpolates_statistics(signature, restored, stats):
  z, y, _ = _inputs(5, truncation=0.5, seed=3)
  # On a grid point (0.50 is GRID[24]) and between 0.50 and 0.52.
  got = _run(signature, z, y, 0.5)
  want = etu.reference_generator(restored, z, y, stats, row=24)
  np.testing.assert_allclose(got, want * 2 - 1, atol=2e-5)
  got = _run(signature, z, y, 0.505)
  want = etu.reference_generator(restored, z, y, stats, weights={24: 0.75, 25: 0.25})
  np.testing.assert_allclose(got, want * 2 - 1, atol=2e-5)
  # Outside the grid the end points are used; z is never rescaled.
  np.testing.assert_allclose(_run(signature, z, y, 0.0), _run(signature, z, y, 0.02),
                             atol=1e-6)
  np.testing.assert_allclose(_run(signature, z, y, 1.7), _run(signature, z, y, 1.0),
                             atol=1e-6)
  assert np.abs(_run(signature, z, y, 0.2) - _run(signature, z, y, 1.0)).max() > 1e-3


def test_dynamic_batch_is_per_example(signature):
  z, y, _ = _inputs(10, seed=7)
  together = _run(signature, z, y, 0.8)
  for sl in (slice(0, 1), slice(0, 8), slice(8, 10)):
    np.testing.assert_allclose(_run(signature, z[sl], y[sl], 0.8), together[sl],
                               atol=2e-5)


def test_blended_y(signature, restored, stats):
  z, _, _ = _inputs(4, seed=11)
  eye = np.eye(NUM_CLASSES, dtype=np.float32)
  y_a, y_b = eye[[0, 1, 2, 3]], eye[[5, 4, 3, 2]]
  blend = 0.3 * y_a + 0.7 * y_b
  got = _run(signature, z, blend, 1.0)
  assert np.isfinite(got).all()
  want = etu.reference_generator(restored, z, blend, stats, row=len(GRID) - 1)
  np.testing.assert_allclose(got, want * 2 - 1, atol=2e-5)
  assert np.abs(got - _run(signature, z, y_a, 1.0)).max() > 1e-4
  assert np.abs(got - _run(signature, z, y_b, 1.0)).max() > 1e-4


def _load_tf1(module, tags):
  graph = tf.Graph()
  session = tf.compat.v1.Session(graph=graph)
  with graph.as_default():
    meta_graph = tf.compat.v1.saved_model.load(session, tags, module)
  sig = meta_graph.signature_def["default"]
  inputs = {k: graph.get_tensor_by_name(v.name) for k, v in sig.inputs.items()}
  outputs = {k: graph.get_tensor_by_name(v.name) for k, v in sig.outputs.items()}
  return session, inputs, outputs


def test_gen_and_disc_tag_sets(biggan, restored, stats, signature):
  """{gen, bsNone} is the generator evaluation measures (EMA weights, converged
  spectral norm, moving averages: this G keeps no accumulators); {disc, bsNone}
  is the raw D with converged spectral norm."""
  z, y, labels = _inputs(6, seed=5)
  session, inputs, outputs = _load_tf1(biggan["module"], ["gen", "bsNone"])
  with session:
    assert sorted(inputs) == ["labels", "z"] and list(outputs) == ["generated"]
    assert inputs["labels"].dtype == tf.int32 and inputs["labels"].shape.as_list() == [None]
    assert inputs["z"].shape.as_list() == [None, Z_DIM]
    generated = session.run(outputs["generated"],
                            {inputs["z"]: z, inputs["labels"]: labels})
  assert generated.min() >= 0.0 and generated.max() <= 1.0
  np.testing.assert_allclose(generated, etu.reference_generator(restored, z, y),
                             atol=2e-5)
  evaluated = evaluator_lib.Evaluator(restored).prepare_generator()
  np.testing.assert_allclose(generated, evaluated(tf.constant(z), tf.constant(labels)),
                             atol=1e-5)

  session, inputs, outputs = _load_tf1(biggan["module"], ["disc", "bsNone"])
  with session:
    assert sorted(inputs) == ["images", "labels"] and list(outputs) == ["prediction"]
    assert inputs["images"].shape.as_list() == [None, 32, 32, 3]
    prediction = session.run(outputs["prediction"],
                             {inputs["images"]: generated, inputs["labels"]: labels})
  assert prediction.shape == (6, 1)
  np.testing.assert_allclose(prediction, etu.reference_discriminator(restored, generated, y),
                             rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_size", [8, 64])
def test_fixed_batch_tag_sets(biggan, batch_size):
  """compare_gan's {gen|disc, bs<N>} variants: static batch N, same outputs as
  bsNone."""
  z, _, labels = _inputs(batch_size, seed=batch_size)
  results = {}
  for bs in (batch_size, None):
    session, inputs, outputs = _load_tf1(biggan["module"], ["gen", f"bs{bs}"])
    with session:
      assert inputs["z"].shape.as_list() == [bs, Z_DIM]
      assert inputs["labels"].shape.as_list() == [bs]
      results[bs] = session.run(outputs["generated"],
                                {inputs["z"]: z, inputs["labels"]: labels})
  np.testing.assert_allclose(results[batch_size], results[None], atol=1e-5)
  predictions = {}
  for bs in (batch_size, None):
    session, inputs, outputs = _load_tf1(biggan["module"], ["disc", f"bs{bs}"])
    with session:
      assert inputs["images"].shape.as_list() == [bs, 32, 32, 3]
      predictions[bs] = session.run(outputs["prediction"],
                                    {inputs["images"]: results[None],
                                     inputs["labels"]: labels})
  assert predictions[batch_size].shape == (batch_size, 1)
  np.testing.assert_allclose(predictions[batch_size], predictions[None], rtol=1e-5,
                             atol=1e-6)


def test_main_wires_the_export_schedule_and_evaluation_action():
  from compare_gan2 import main  # pylint: disable=g-import-not-at-top
  schedules = main.build_schedules()
  assert set(schedules) == {"train", "continuous_eval", "eval_after_train", "export"}
  assert schedules["export"].fn is hub_export.schedule_export
  assert not schedules["export"].needs_data and schedules["train"].needs_data
  for name in ("continuous_eval", "eval_after_train"):
    assert hub_export.on_checkpoint_evaluated in schedules[name].fn.keywords[
        "after_evaluation"]


# ------------------------------------------------- unconditional / dummy models


@pytest.fixture(scope="module")
def uncond(tmp_path_factory):
  """Unconditional resnet_biggan (BN, no EMA), trained 2 steps; not exported."""
  model_dir = str(tmp_path_factory.mktemp("uncond"))
  try:
    _, ckpt = etu.train(model_dir, etu.UNCOND_BINDINGS)
  finally:
    gin.clear_config()
  return {"model_dir": model_dir, "ckpt": ckpt}


@pytest.fixture(scope="module")
def dummy(tmp_path_factory):
  """dummy_arch trained 2 steps (for the error tests)."""
  model_dir = str(tmp_path_factory.mktemp("dummy"))
  try:
    _, ckpt = etu.train(model_dir, etu.DUMMY_BINDINGS)
  finally:
    gin.clear_config()
  return {"model_dir": model_dir, "ckpt": ckpt}


def test_unconditional_model_cli_and_eval_hook(uncond, tmp_path):
  # `python -m compare_gan2.export --model_dir D`: gin from D's operative config.
  out = str(tmp_path / "module")
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.export", "--model_dir", uncond["model_dir"],
       "--output", out] + [f"--gin_bindings={b}" for b in etu.UNCOND_BINDINGS
                           if b.startswith("hub_export.")],
      capture_output=True, text=True, cwd=REPO, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().splitlines()[-1] == out
  sig = hub.load(out).signatures["default"]
  kwargs = sig.structured_input_signature[1]
  assert sorted(kwargs) == ["truncation", "y", "z"]
  assert kwargs["y"].shape.as_list() == [None, NUM_CLASSES]  # Taken, ignored.
  rng = np.random.default_rng(0)
  z = etu.truncnorm(rng, [3, 8])
  eye = np.eye(NUM_CLASSES, dtype=np.float32)
  a = _run(sig, z, eye[[0, 1, 2]], 1.0)
  np.testing.assert_allclose(a, _run(sig, z, eye[[5, 5, 5]] * 0.5, 1.0), atol=1e-6)
  # Equals the in-process (raw-weight) generator with the module's statistics.
  ctx = etu.context(uncond["model_dir"], etu.UNCOND_BINDINGS)
  checkpoints.restore_gan(ctx.gan, uncond["ckpt"])
  stats = etu.module_statistics(out)
  assert "generator/B1/bn1" in stats and "generator/final_norm" in stats
  assert stats["generator/B1/bn1"][0].shape == (10, 16)
  want = etu.reference_generator(ctx.gan, z, None, stats, row=9)
  np.testing.assert_allclose(a, want * 2 - 1, atol=2e-5)
  # gen / disc tag sets of an unconditional model have no labels input.
  for tags, names in ((["gen", "bsNone"], ["z"]), (["disc", "bsNone"], ["images"])):
    session, inputs, _ = _load_tf1(out, tags)
    session.close()
    assert sorted(inputs) == names
  # The evaluation hook is off by default (it doubles evaluation time); when
  # switched on it exports to model_dir/tfhub/<step>.
  assert hub_export.on_checkpoint_evaluated(ctx, 2, uncond["ckpt"], {}) is None
  assert not os.path.exists(os.path.join(uncond["model_dir"], "tfhub"))
  with gin.unlock_config():
    gin.bind_parameter("hub_export.export_evaluated_checkpoints", True)
  path = hub_export.on_checkpoint_evaluated(ctx, 2, uncond["ckpt"], {})
  assert path == os.path.join(uncond["model_dir"], "tfhub", "2")
  assert os.path.exists(os.path.join(path, "saved_model.pb"))


def _tree(path):
  return sorted(os.path.relpath(os.path.join(d, f), path)
                for d, dirs, files in os.walk(path) for f in dirs + files)


def test_no_checkpoint_fails_cleanly(tmp_path, dummy):
  empty = tmp_path / "empty"
  empty.mkdir()
  with open(os.path.join(dummy["model_dir"], "operative_config-2.gin")) as f:
    (empty / "operative_config-0.gin").write_text(f.read())
  before = _tree(str(empty))
  with pytest.raises(checkpoints.CheckpointNotFoundError, match="No checkpoint in"):
    cli.export_model_dir(str(empty))
  with pytest.raises(checkpoints.CheckpointNotFoundError, match="not found"):
    cli.export_model_dir(str(empty), checkpoint=str(empty / "model.ckpt-7"))
  ctx = etu.context(str(empty), etu.DUMMY_BINDINGS)
  with pytest.raises(checkpoints.CheckpointNotFoundError):
    hub_export.export_checkpoint(ctx, str(empty / "model.ckpt-3"))
  with pytest.raises(checkpoints.CheckpointNotFoundError, match="No checkpoint"):
    hub_export.schedule_export(ctx)
  assert _tree(str(empty)) == before


def test_checkpoint_of_another_architecture_fails_cleanly(tmp_path, dummy, biggan):
  before = _tree(dummy["model_dir"])
  with pytest.raises(checkpoints.CheckpointMismatchError,
                     match="another architecture or gin config"):
    cli.export_model_dir(dummy["model_dir"], checkpoint=biggan["ckpt"],
                         output=str(tmp_path / "a" / "b"))
  assert _tree(dummy["model_dir"]) == before
  assert not os.path.exists(tmp_path / "a")
  # Same architecture, other config (z_dim): also refused.
  ctx = etu.context(tmp_path / "other", etu.DUMMY_BINDINGS + ["options.z_dim = 12"])
  with pytest.raises(checkpoints.CheckpointMismatchError, match="shape"):
    hub_export.export_checkpoint(ctx, dummy["ckpt"], str(tmp_path / "m"))
  assert not os.path.exists(tmp_path / "m")


def test_failure_while_writing_leaves_nothing(tmp_path, uncond, monkeypatch):
  ctx = etu.context(uncond["model_dir"], etu.UNCOND_BINDINGS)
  out = tmp_path / "x" / "module"

  def boom(*args, **kwargs):
    raise OSError("disk full")

  monkeypatch.setattr(module_writer, "write_variables", boom)
  with pytest.raises(OSError, match="disk full"):
    hub_export.export_checkpoint(ctx, uncond["ckpt"], str(out))
  assert not os.path.exists(tmp_path / "x")
  # An existing module is left intact by a failed re-export ...
  out.parent.mkdir()
  out.mkdir()
  (out / "keep").write_text("old")
  with pytest.raises(OSError):
    hub_export.export_checkpoint(ctx, uncond["ckpt"], str(out))
  assert _tree(str(out.parent)) == ["module", "module/keep"]
  # ... and replaced by a successful one.
  monkeypatch.undo()
  hub_export.export_checkpoint(ctx, uncond["ckpt"], str(out))
  assert os.listdir(out.parent) == ["module"]  # No .tmp-* / .old-* left.
  assert sorted(os.listdir(out)) == ["saved_model.pb", "tfhub_module.pb", "variables"]


def test_docs_example_runs(biggan):
  """The TF2 example of docs/hub_export.md runs on an exported module."""
  with open(os.path.join(REPO, "docs", "hub_export.md")) as f:
    blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
  # The page's TF2 example (the "In short" block above it is a subset).
  code = next(b for b in blocks if "uint8_frames" in b)
  code = code.replace('"runs/demo_polygons32/tfhub/15000"', repr(biggan["module"]))
  namespace = {}
  exec(compile(code, "docs/hub_export.md", "exec"), namespace)  # pylint: disable=exec-used
  assert namespace["images"].shape == (8, 32, 32, 3)
  assert namespace["uint8_frames"].shape == (8, 32, 32, 3)


def test_notebook_runs(biggan, tmp_path):
  """examples/hub_sampling.ipynb: valid nbformat JSON; its code runs as a script."""
  with open(os.path.join(REPO, "examples", "hub_sampling.ipynb")) as f:
    notebook = json.load(f)
  assert notebook["nbformat"] == 4 and notebook["cells"]
  code = "\n\n".join("".join(c["source"]) for c in notebook["cells"]
                     if c["cell_type"] == "code")
  env = dict(os.environ, MODULE_PATH=biggan["module"], OUTPUT_DIR=str(tmp_path))
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=REPO, env=env, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ("samples.png", "truncation.png", "interpolation.png"):
    assert os.path.getsize(tmp_path / name) > 0
  # examples/hub_sampling.py is the same code.
  with open(os.path.join(REPO, "examples", "hub_sampling.py")) as f:
    script = f.read()
  for cell in notebook["cells"]:
    if cell["cell_type"] == "code":
      assert "".join(cell["source"]) in script


def test_gen_variant_with_accumulators_is_the_evaluated_generator(tmp_path):
  """A G with compare_gan's accumulators: the {gen, bsNone} variant normalizes
  with the standing statistics evaluation measures from eval_z latents, and
  gives the evaluator's images."""
  bindings = etu.UNCOND_BINDINGS + [
      "standardize_batch.use_moving_averages = False",
      "eval.standing_stats_examples = 64", "eval.batch_size = 32"]
  model_dir = str(tmp_path / "model")
  try:
    _, ckpt = etu.train(model_dir, bindings)
    ctx = etu.context(model_dir, bindings)
    module = hub_export.export_checkpoint(ctx, ckpt, str(tmp_path / "module"))
    checkpoints.restore_gan(ctx.gan, ckpt)
    evaluated = evaluator_lib.Evaluator(ctx.gan).prepare_generator()
  finally:
    gin.clear_config()
  assert evaluated.statistics and "generator/B1/bn1" in evaluated.statistics
  z = etu.truncnorm(np.random.default_rng(1), [5, 8])
  session, inputs, outputs = _load_tf1(module, ["gen", "bsNone"])
  with session:
    assert sorted(inputs) == ["z"]
    generated = session.run(outputs["generated"], {inputs["z"]: z})
  np.testing.assert_allclose(generated, evaluated(tf.constant(z)).numpy(), atol=1e-5)
  np.testing.assert_allclose(
      generated, etu.reference_generator(ctx.gan, z, None, evaluated.statistics),
      atol=2e-5)
