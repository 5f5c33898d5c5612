"""Helpers shared by test files (importable because tests/ has no __init__.py)."""

import tensorflow as tf

_STRATEGY = []


def two_replica_strategy():
  """The process-wide MirroredStrategy over the two logical CPUs of conftest.py.

  Several MirroredStrategy objects using collective ops in one process clash on
  collective instance keys (tensorflow#62790: "Shape mismatch in the collective
  instance 100"), so every test uses this one, reducing through one device.
  """
  if not _STRATEGY:
    _STRATEGY.append(tf.distribute.MirroredStrategy(
        ["/cpu:0", "/cpu:1"],
        cross_device_ops=tf.distribute.ReductionToOneDevice()))
  return _STRATEGY[0]


# A tiny conditional GAN on the embedded polygons_32 data: trains in seconds.
TINY_GAN_BINDINGS = (
    "options.gan_class = @ModularGAN",
    'options.architecture = "dummy_arch"',
    "options.batch_size = 4",
    "options.training_steps = 4",
    "options.z_dim = 8",
    'dataset.name = "polygons_32"',
    "run_config.save_checkpoints_steps = 2",
    "run_config.iterations_per_loop = 2",
    "run_config.tf_random_seed = 3",
    "ModularGAN.conditional = True",
    "G.batch_norm_fn = @batch_norm",
    "penalty.fn = @wgangp_penalty",
)


def replica_batches(gan, batch, num_replicas):
  """Replica r's share of every sub-step of `batch`, as the replica's batch."""
  features, labels = batch
  def share(t, r):
    parts = tf.split(t, gan.num_sub_steps)
    return tf.concat([tf.split(p, num_replicas)[r] for p in parts], 0)
  return [({k: share(v, r) for k, v in features.items()}, share(labels, r))
          for r in range(num_replicas)]


def assert_one_line_error(result, program, *fragments):
  """A finished command failed with exit 1 and one `<program>: error: ...`
  line (no traceback) holding every fragment."""
  assert result.returncode == 1, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"{program}: error: "), last
  for fragment in fragments:
    assert fragment in last, last
