"""The offline CLIP: loss, encoders, pre-training, loading (issue 23)."""

import json
import os
import re
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import datasets
from compare_gan2 import errors
from compare_gan2 import gin_setup
from compare_gan2.clip import encoders
from compare_gan2.clip import loss as loss_lib
from compare_gan2.clip import model as model_lib
from compare_gan2.clip import pretraining
from compare_gan2.text import tokenizer as tokenizer_lib


def _numpy_clip_loss(image, text, log_scale):
  image = image / np.linalg.norm(image, axis=1, keepdims=True)
  text = text / np.linalg.norm(text, axis=1, keepdims=True)
  logits = min(np.exp(log_scale), 100.0) * image @ text.T
  def ce(l):
    l = l - l.max(axis=1, keepdims=True)
    log_p = l - np.log(np.exp(l).sum(axis=1, keepdims=True))
    return -np.mean(np.diag(log_p))
  return 0.5 * (ce(logits) + ce(logits.T))


@pytest.mark.parametrize("log_scale", [0.0, loss_lib.INITIAL_LOG_SCALE, 6.0])
def test_contrastive_loss_equals_numpy(log_scale):
  rng = np.random.default_rng(0)
  image = rng.normal(size=(9, 5))
  text = rng.normal(size=(9, 5))
  loss, logits = loss_lib.contrastive_loss(
      tf.constant(image, tf.float32), tf.constant(text, tf.float32),
      tf.constant(log_scale, tf.float32))
  assert float(loss) == pytest.approx(_numpy_clip_loss(image, text, log_scale),
                                      rel=1e-5)
  assert logits.shape == (9, 9)
  # Matching pairs that are far more similar than the rest: loss near 0.
  loss, _ = loss_lib.contrastive_loss(tf.eye(4) * 5, tf.eye(4) * 3,
                                      tf.constant(6.0))
  assert float(loss) < 1e-6


def test_text_embedding_reads_up_to_eos_only():
  tok = tokenizer_lib.Tokenizer(["a", "red", "triangle", "blue"], 8)
  encoder = encoders.TextTransformer(tok.vocab_size, tok.length, width=16,
                                     num_layers=2, num_heads=2, embed_dim=8)
  tokens = tok.encode(["a red triangle", "a blue triangle"])
  out = encoder(tokens).numpy()
  assert out.shape == (2, 8)
  assert not np.allclose(out[0], out[1])
  garbage = tokens.copy()
  garbage[:, 5:] = 4                     # after <eos>: ignored (causal mask)
  np.testing.assert_allclose(encoder(garbage).numpy(), out, atol=1e-5)


def test_image_encoder_returns_embedding_and_stage_maps():
  encoder = encoders.ImageEncoder(widths=(8, 16), embed_dim=12)
  out = encoder(tf.zeros([3, 32, 32, 3]))
  assert out["embedding"].shape == (3, 12)
  assert [f.shape.as_list() for f in out["features"]] == [
      [3, 32, 32, 8], [3, 16, 16, 8], [3, 8, 8, 16]]


def _train(model_dir, steps, seed=1):
  from compare_gan2.clip import runner as clip_runner  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin_setup.parse(["gin_configs/clip_captioned_polygons_32.gin"], [
      f"clip_pretraining.training_steps = {steps}",
      "clip_pretraining.batch_size = 32", f"run_config.tf_random_seed = {seed}",
      "clip_text_encoder.width = 32", "clip_image_encoder.widths = (16, 32)",
      "run_config.save_checkpoints_steps = 20"])
  try:
    return clip_runner.train(model_dir)
  finally:
    gin.clear_config()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp("clip") / "run")
  result = _train(model_dir, 80)
  return model_dir, result


def test_pretraining_learns_and_the_pair_loads(trained):
  model_dir, result = trained
  # 80 steps of 32 images: colour words are learned first (chance 1/6).
  assert result["seen"]["fill_accuracy"] > 0.5
  assert set(result) == {"seen", "held_out"} and result["held_out"]["num"] > 0
  with open(os.path.join(model_dir, "clip_eval.json")) as f:
    assert json.load(f) == result
  pair = model_lib.TextImageModel.load(model_dir)
  assert pair.checkpoint.endswith("-80")
  assert pair.embed_dim == 64 and pair.tokenizer.length == 16
  dataset = datasets.get_dataset("captioned_polygons_32")
  images, captions, _ = dataset.render("test", range(8))
  tokens = dataset.tokenizer.encode(captions)
  np.testing.assert_allclose(pair.encode_strings(tf.constant(captions)).numpy(),
                             pair.encode_text(tokens).numpy(), atol=1e-5)
  image = pair.encode_image(images).numpy()
  text = pair.encode_text(tokens).numpy()
  np.testing.assert_allclose(
      pair.similarity(images, tokens).numpy(),
      np.sum(image * text, 1) / (np.linalg.norm(image, axis=1) *
                                 np.linalg.norm(text, axis=1)), atol=1e-5)
  assert len(pair.image_features(images)) == 3


@pytest.mark.slow  # Two more pre-trainings (~18 s).
def test_resumed_pretraining_ends_where_an_uninterrupted_one_does(tmp_path, trained):
  model_dir, _ = trained
  resumed = str(tmp_path / "resumed")
  _train(resumed, 40)
  _train(resumed, 80)
  a = model_lib.TextImageModel.load(model_dir)
  b = model_lib.TextImageModel.load(resumed)
  # Attention's key biases have an exactly zero gradient (softmax ignores a
  # constant per query); Adam turns its rounding noise into steps up to lr.
  for va, vb in zip(a.variables_to_freeze(), b.variables_to_freeze()):
    np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-4, rtol=1e-4,
                               err_msg=va.name)


class _StandInTextEncoder(tf.Module):
  """An external text encoder: strings -> hashed bag-of-words embeddings."""

  def __init__(self):
    super().__init__()
    self.table = tf.Variable(np.random.default_rng(0).normal(
        size=(64, 6)).astype(np.float32))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def __call__(self, strings):
    words = tf.strings.split(tf.strings.lower(strings))
    ids = tf.strings.to_hash_bucket_fast(words, 64)
    return tf.reduce_mean(tf.gather(self.table, ids), axis=1)


def test_an_external_text_encoder_loads_through_the_same_interface(tmp_path, trained):
  handle = str(tmp_path / "external")
  stand_in = _StandInTextEncoder()
  tf.saved_model.save(stand_in, handle)
  encoder = model_lib.load_text_encoder(handle)
  assert isinstance(encoder, model_lib.ExternalTextEncoder)
  assert encoder.embed_dim == 6
  prompts = tf.constant(["a red triangle", "A blue square"])
  np.testing.assert_allclose(encoder.encode_strings(prompts).numpy(),
                             stand_in(prompts).numpy(), atol=1e-6)
  ours = model_lib.load_text_encoder(trained[0])
  assert isinstance(ours, model_lib.TextImageModel)
  assert ours.encode_strings(prompts).shape == (2, 64)
  with pytest.raises(errors.ConfigError, match="Could not load the text encoder"):
    model_lib.load_text_encoder(str(tmp_path / "missing"))


def test_pretraining_needs_captions():
  with pytest.raises(errors.ConfigError, match="needs captions"):
    pretraining.ClipPretraining(dataset=datasets.get_dataset("polygons_32"))
  captioned = datasets.get_dataset("captioned_polygons_32")
  for setting, fragment in [
      ({"batch_size": 1}, "clip_pretraining.batch_size must be an integer >= 2, "
       "got 1; the contrastive loss contrasts the pairs of a batch."),
      ({"batch_size": True}, "batch_size must be an integer >= 2, got True"),
      ({"batch_size": None}, "batch_size must be an integer >= 2, got None"),
      ({"training_steps": -5}, "training_steps must be an integer >= 0"),
      ({"training_steps": 2.5}, "training_steps must be an integer >= 0"),
      ({"learning_rate": 0.0}, "learning_rate must be a number > 0"),
      ({"beta2": 1.0}, "beta2 must be a number in [0, 1)"),
      ({"epsilon": -1e-6}, "epsilon must be a number > 0")]:
    with pytest.raises(errors.ConfigError, match=re.escape(fragment)):
      pretraining.ClipPretraining(dataset=captioned, **setting)
  with pytest.raises(errors.ConfigError, match="not a pre-trained"):
    model_lib.TextImageModel.load("/no/such/dir")


def test_a_bad_number_is_refused_in_one_line_before_the_model_dir(tmp_path):
  model_dir = str(tmp_path / "clip")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run(
      [sys.executable, "-m", "compare_gan2.clip", f"--model_dir={model_dir}",
       "--gin_config=gin_configs/clip_captioned_polygons_32.gin",
       "--gin_bindings=clip_pretraining.learning_rate = -0.001"],
      capture_output=True, text=True, cwd=root, timeout=600, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 1 and "Traceback" not in result.stderr, (
      result.stderr[-3000:])
  assert result.stderr.strip().splitlines()[-1] == (
      "python -m compare_gan2.clip: error: clip_pretraining.learning_rate must "
      "be a number > 0, got -0.001.")
  assert not os.path.exists(model_dir)
