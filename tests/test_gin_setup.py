"""Gin surface: compare_gan's TF names resolve; bad bindings fail early and clearly."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import gin_setup
from compare_gan2 import optimizers
from compare_gan2 import random_ops
from compare_gan2.gans import inputs


def test_tf1_names_resolve():
  gin_setup.parse(bindings=[
      "ModularGAN.g_optimizer_fn = @tf.train.AdamOptimizer",
      "tf.train.AdamOptimizer.beta1 = 0.0",
      "tf.train.AdamOptimizer.beta2 = 0.9",
      "z.distribution_fn = @tf.random.normal",
      "eval_z.distribution_fn = @tf.random.uniform",
  ], finalize=False)
  opt = gin.query_parameter("ModularGAN.g_optimizer_fn").scoped_configurable_fn(
      0.1, name="g_opt")
  assert isinstance(opt, optimizers.AdamOptimizer)
  assert (opt.beta1, opt.beta2, opt.name) == (0.0, 0.9, "g_opt")
  z = inputs.z_generator([1000], seed=tf.constant([1, 2]))
  assert abs(float(tf.math.reduce_std(z)) - 1.0) < 0.1  # N(0, 1), not U[-1, 1].
  z_again = inputs.z_generator([1000], seed=tf.constant([1, 2]))
  assert bool(tf.reduce_all(z == z_again))


def test_default_z_is_uniform_minus_one_one():
  z = inputs.z_generator([2000], seed=tf.constant([3, 4]))
  assert float(tf.reduce_min(z)) >= -1.0 and float(tf.reduce_max(z)) <= 1.0
  assert float(tf.reduce_min(z)) < -0.9 and float(tf.reduce_max(z)) > 0.9


def test_unknown_binding_names_file(tmp_path):
  config = tmp_path / "bad.gin"
  config.write_text("options.batch_size = 4\noptions.batch_sise = 8\n")
  with pytest.raises(gin_setup.GinConfigError) as info:
    gin_setup.parse([str(config)])
  message = str(info.value)
  assert message.startswith("Gin binding `options.batch_sise = 8` (")
  assert f"{config}, line 2): Configurable 'options' doesn't have a parameter " \
      "named 'batch_sise'." in message
  assert "`python -m compare_gan2.describe --list_configurables options`" in message
  assert "\n" not in message


def test_unknown_configurable_lists_everything():
  with pytest.raises(gin_setup.GinConfigError) as info:
    gin_setup.parse(bindings=["optionz.batch_size = 3"])
  message = str(info.value)
  assert message.startswith("Gin binding `optionz.batch_size = 3` "
                            "(--gin_bindings): No configurable matching 'optionz'.")
  assert message.endswith("`python -m compare_gan2.describe "
                          "--list_configurables` lists what exists.")


def test_list_configurables():
  text = gin_setup.list_configurables("options")
  lines = text.splitlines()
  assert lines[0].startswith("data_options  (compare_gan2.")
  assert "options  (compare_gan2.builder.get_options_dict)" in lines
  assert "    options.batch_size = <required>" in lines
  assert "    options.z_dim = 128" in lines
  assert "    options.lamba = 1" in lines
  everything = gin_setup.list_configurables()
  for name in ("ModularGAN", "S3GAN", "run_config", "dataset", "eval", "hub_export",
               "resnet_biggan.Generator", "spectral_norm"):
    assert f"\n{name}  (" in "\n" + everything, name
  assert "macro  (gin" not in everything


def test_unknown_configurable_in_binding():
  with pytest.raises(gin_setup.GinConfigError, match="NoSuchGAN"):
    gin_setup.parse(bindings=["options.gan_class = @NoSuchGAN"])


def test_missing_config_file():
  with pytest.raises(gin_setup.GinConfigError, match="not found"):
    gin_setup.parse(["/nonexistent/config.gin"])


def test_derive_seed_folds_in_each_value_of_a_tensor_base():
  base = tf.constant([1, 2])
  direct = tf.random.experimental.stateless_fold_in(
      tf.random.experimental.stateless_fold_in(tf.constant([1, 2], tf.int64),
                                               tf.constant(3, tf.int64)),
      tf.constant(4, tf.int64))
  derived = random_ops.derive_seed(base, 3, 4)
  assert derived.dtype == tf.int32
  np.testing.assert_array_equal(derived.numpy(), tf.cast(direct, tf.int32).numpy())
  a, b = random_ops.derive_seed(base, 1), random_ops.derive_seed(base, 2)
  assert not np.array_equal(a.numpy(), b.numpy())


def test_derive_seed_is_stateless_fold_in_and_takes_large_integers():
  """derive_seed((a, b), c) == fold_in([a, b], c); int64 arithmetic, so seeds
  beyond int32 (e.g. eval.seed * salt) do not overflow."""
  direct = tf.random.experimental.stateless_fold_in(
      tf.constant([5, 2**40], tf.int64), tf.constant(7, tf.int64))
  derived = random_ops.derive_seed((5, 2**40), 7, dtype=tf.int64)
  np.testing.assert_array_equal(derived.numpy(), direct.numpy())
  assert random_ops.derive_seed((10**12, 3)).dtype == tf.int32
  a = random_ops.derive_seed((2148, 101), 0, 0)
  b = random_ops.derive_seed((2149, 101), 0, 0)
  assert not np.array_equal(a.numpy(), b.numpy())


def test_describe_lists_configurables(capsys):
  from compare_gan2 import describe  # pylint: disable=g-import-not-at-top
  assert describe.main(["--list_configurables", "run_config"]) == 0
  out = capsys.readouterr().out
  assert "    run_config.log_every_seconds = 60.0" in out
  assert "ModularGAN" not in out


@pytest.mark.parametrize("binding, reason", [
    ("options.batch_size = (4", "EOF in multi-line statement"),
    ('options.architecture = "resnet', "Unable to parse value"),
    ("options.batch_size = 4 5", "Expected newline"),
])
def test_syntax_errors_name_the_binding_or_the_file(tmp_path, binding, reason):
  """A binding gin cannot parse is an error of that binding, not of the gin
  file parsed before it; a file's own syntax error names the file and line."""
  config = tmp_path / "ok.gin"
  config.write_text("options.z_dim = 8\n")
  with pytest.raises(gin_setup.GinConfigError) as error:
    gin_setup.parse([str(config)], ["options.training_steps = 1", binding])
  assert str(error.value).startswith(
      f"Gin binding `{binding}` (--gin_bindings) cannot be parsed: {reason}.")
  assert "ok.gin" not in str(error.value)
  bad = tmp_path / "bad.gin"
  bad.write_text("options.z_dim = 8\n" + binding + "\n")
  gin.clear_config()
  with pytest.raises(gin_setup.GinConfigError) as error:
    gin_setup.parse([str(bad)], [])
  assert f"({bad}" in str(error.value) and reason in str(error.value)
