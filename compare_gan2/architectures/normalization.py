"""Normalization layers (compare_gan's `arch_ops` batch norm family and
`layer_norm`): `standardize_batch` (the statistics: batch moments, optionally
across replicas, moving averages or accumulated standing statistics),
`batch_norm`, `conditional_batch_norm`, `self_modulated_batch_norm`,
`no_batch_norm`, `layer_norm`.

`batch_stats_hook(fn)` lets callers see every `standardize_batch`'s batch
moments and substitute the statistics it normalizes with (TF-Hub export:
standing statistics per truncation value).

`is_training` arguments must be Python booleans.
"""

import contextlib
import threading

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import initializers
from compare_gan2.architectures import layers
from compare_gan2.architectures import names
from compare_gan2.architectures import precision
from compare_gan2.architectures import variable_store as vs

_local = threading.local()


def _hooks():
  """This thread's stack of batch-statistics hooks."""
  if not hasattr(_local, "hooks"):
    _local.hooks = []
  return _local.hooks


@contextlib.contextmanager
def batch_stats_hook(fn):
  """While active, `standardize_batch` reports its moments to `fn` (thread-local).

  `fn(layer_name, batch_mean, batch_variance)` is called once per
  `standardize_batch` call with the layer's full scope name (e.g.
  "generator/B1/bn1", the scope of the BN layer), and the float32 batch mean
  and biased variance of its input, each of shape [C] (computed whatever
  `is_training` is). It returns either None, to keep the normal behaviour
  (batch moments in training, moving averages / accumulators in inference),
  or a pair `(mean, variance)` (broadcastable to [C]) that the layer then
  normalizes with instead. Moving-average and accumulator variables are still
  created (and, in training, updated unless `no_state_updates`), so variable
  sets and checkpoints do not depend on the hook.

  Uses: record per-layer batch moments (run the generator with
  is_training=True and return None), or run inference with externally computed
  ("standing") statistics (return them). Hooks nest; the innermost wins.
  """
  stack = _hooks()
  stack.append(fn)
  try:
    yield fn
  finally:
    stack.pop()


def _current_batch_stats_hook():
  stack = _hooks()
  return stack[-1] if stack else None


def _group_mean(ctx, value, group_size):
  """Mean of `value` over this replica's group of `group_size` consecutive
  replicas (compare_gan's `tpu_ops.cross_replica_mean` with a group
  assignment): each replica writes its value into its group's row of a
  [num_groups, ...] tensor, the rows are summed across replicas, and the
  replica reads its group's row."""
  num_replicas = ctx.num_replicas_in_sync
  if group_size == num_replicas:
    return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, value)
  num_groups = num_replicas // group_size
  group = ctx.replica_id_in_sync_group // group_size
  one_hot = tf.reshape(tf.one_hot(group, num_groups, dtype=value.dtype),
                       [num_groups] + [1] * value.shape.rank)
  rows = ctx.all_reduce(tf.distribute.ReduceOp.SUM, one_hot * value[None])
  return tf.gather(rows, group) / tf.cast(group_size, value.dtype)


@gin.configurable(denylist=["inputs", "axis"], module=names.OPS_GIN_MODULE)
def cross_replica_moments(inputs, axis, parallel=True, group_size=None):
  """Batch mean and (biased) variance over the replicas of a group.

  compare_gan's `tpu_ops.cross_replica_moments`, used by batch norm when the
  moments are taken across replicas (`standardize_batch.use_cross_replica_mean`):

  - `parallel=True`: var = E_g[x^2] - E_g[x]^2, both averages in one round of
    communication (less stable numerically);
  - `parallel=False`: var = E_g[(x - E_g[x])^2], two rounds.

  E_g averages the replicas' local means over groups of `group_size`
  consecutive replicas (None or 0: all replicas), which must divide the
  replica count; equal local batches are assumed. compare_gan took the mean
  over all replicas whatever `group_size` (docs/compare_gan_quirks.md
  `cross-replica-mean`); here both moments are group moments.

  Args:
    inputs: a tensor in a replica context.
    axis: axes reduced (all but the channel axis).
    parallel: see above.
    group_size: replicas per group.
  """
  ctx = tf.distribute.get_replica_context()
  num_replicas = ctx.num_replicas_in_sync if ctx is not None else 1
  group_size = int(group_size or num_replicas)
  if group_size < 1 or num_replicas % group_size:
    raise errors.ConfigError(
        f"cross_replica_moments.group_size = {group_size} must divide the "
        f"{num_replicas} replicas.")
  mean = tf.reduce_mean(inputs, axis=axis)
  if group_size > 1:
    mean = _group_mean(ctx, mean, group_size)
  if parallel:
    mean_of_squares = tf.reduce_mean(tf.square(inputs), axis=axis)
    if group_size > 1:
      mean_of_squares = _group_mean(ctx, mean_of_squares, group_size)
    variance = tf.maximum(mean_of_squares - tf.square(mean), 0.0)
  else:
    variance = tf.reduce_mean(
        tf.math.squared_difference(inputs, tf.stop_gradient(mean)), axis=axis)
    if group_size > 1:
      variance = _group_mean(ctx, variance, group_size)
  return mean, variance


def _uses_cross_replica_moments(use_cross_replica_mean):
  """Whether batch moments are taken over replicas here (None: iff > 1 replica)."""
  ctx = tf.distribute.get_replica_context()
  num_replicas = ctx.num_replicas_in_sync if ctx is not None else 1
  if use_cross_replica_mean is None:
    use_cross_replica_mean = num_replicas > 1
  return bool(use_cross_replica_mean) and num_replicas > 1


def _fused_batch_standardize(x, epsilon):
  """(x - mean) / sqrt(var + epsilon) with the biased batch moments over all but
  the last axis, as one FusedBatchNormV3 op (and its fused gradient): the same
  values and gradients as the separate ops, a third of their time on CPUs.

  Returns (normalized x, batch mean, biased batch variance); the op's variance
  output is Bessel-corrected, so it is scaled back by (n - 1) / n.
  """
  shape = x.shape
  channels = int(shape[-1])
  x4 = x if shape.rank == 4 else tf.reshape(x, [-1, 1, 1, channels])
  y, mean, unbiased_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
      x=x4, scale=tf.ones([channels]), offset=tf.zeros([channels]),
      mean=tf.zeros([0]), variance=tf.zeros([0]), epsilon=epsilon,
      exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
  n = int(shape[:-1].num_elements())
  variance = unbiased_variance * ((n - 1) / n if n > 1 else 1.0)
  return tf.reshape(y, shape), mean, variance


def _batch_moments(inputs, reduction_axes, use_cross_replica_mean):
  """Biased (population) mean and variance, optionally over replicas
  (`cross_replica_moments`)."""
  ctx = tf.distribute.get_replica_context()
  num_replicas = ctx.num_replicas_in_sync if ctx is not None else 1
  if use_cross_replica_mean is None:
    use_cross_replica_mean = num_replicas > 1
  if not use_cross_replica_mean or num_replicas == 1:
    mean = tf.reduce_mean(inputs, axis=reduction_axes)
    variance = tf.reduce_mean(
        tf.math.squared_difference(inputs, tf.stop_gradient(mean)),
        axis=reduction_axes)
    return mean, variance
  return cross_replica_moments(inputs, reduction_axes)


def _moving_moments_for_inference(mean, variance, is_training, decay):
  """Moving averages of the batch moments (used at inference).

  Creates `moving_mean` (zeros) and `moving_variance` (ones), non-trainable
  with MEAN aggregation. In training, updates them with
  v <- v - (1 - decay) * (v - batch_value) (no zero-debiasing) and returns the
  batch moments; in inference returns the moving statistics. In a TF1 graph the
  update ops go into tf.GraphKeys.UPDATE_OPS, as in compare_gan.
  """
  shape = mean.shape
  moving_mean = vs.get_variable(
      "moving_mean", shape, initializers.zeros(), trainable=False,
      aggregation=vs.VariableAggregation.MEAN)
  moving_variance = vs.get_variable(
      "moving_variance", shape, initializers.ones(), trainable=False,
      aggregation=vs.VariableAggregation.MEAN)
  if not is_training:
    return tf.identity(moving_mean), tf.identity(moving_variance)
  if vs.state_updates_enabled():
    updates = [
        moving_mean.assign_sub((moving_mean - mean) * (1.0 - decay),
                               read_value=False),
        moving_variance.assign_sub((moving_variance - variance) * (1.0 - decay),
                                   read_value=False),
    ]
    if vs.in_tf1_graph():
      for op in vs.control_inputs(*updates):
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, op)
  return mean, variance


def _accumulated_moments_for_inference(mean, variance, is_training):
  """Standing statistics: averages of per-batch moments (used at inference).

  Scope `accu/`: `accu_mean` (0), `accu_variance` (0), `accu_counter`
  (1e-12) and `update_accus` (int32 0). In training the batch moments pass
  through and the accumulators are untouched. In inference, if
  `update_accus == 1` the batch mean, variance and 1 are added to the
  accumulators; the result is `accu_mean / accu_counter`,
  `accu_variance / accu_counter` (after the update).
  """
  with vs.variable_scope("accu"):
    first = vs.VariableAggregation.ONLY_FIRST_REPLICA
    accu_mean = vs.get_variable("accu_mean", mean.shape, initializers.zeros(),
                                trainable=False, aggregation=first)
    accu_variance = vs.get_variable("accu_variance", variance.shape,
                                    initializers.zeros(), trainable=False,
                                    aggregation=first)
    accu_counter = vs.get_variable("accu_counter", [],
                                   initializers.constant(1e-12),
                                   trainable=False, aggregation=first)
    update_accus = vs.get_variable("update_accus", [], initializers.zeros(),
                                   dtype=tf.int32, trainable=False,
                                   aggregation=first)
  if is_training:
    return mean, variance
  deps = []
  if vs.state_updates_enabled():
    # Branch-free (no tf.cond) so aggregated assignments work in replicas.
    flag = tf.cast(tf.equal(update_accus, 1), accu_mean.dtype)
    deps = vs.control_inputs(
        accu_mean.assign_add(flag * mean, read_value=False),
        accu_variance.assign_add(flag * variance, read_value=False),
        accu_counter.assign_add(flag, read_value=False))
  with tf.control_dependencies(deps):
    return (accu_mean.read_value() / accu_counter.read_value(),
            accu_variance.read_value() / accu_counter.read_value())


@gin.configurable(allowlist=["decay", "epsilon", "use_cross_replica_mean",
                             "use_moving_averages"],
                 module=names.OPS_GIN_MODULE)
def standardize_batch(inputs, is_training, decay=0.999, epsilon=1e-3,
                      data_format="NHWC", use_moving_averages=True,
                      use_cross_replica_mean=None):
  """Batch normalization without scale or offset (Ioffe & Szegedy, 2015).

  y = (x - mean) / sqrt(var + epsilon), with the biased batch variance in
  training, computed in float32 over all axes but the channel axis.

  Args:
    inputs: rank 2 ([N, C]) or rank 4 tensor.
    is_training: Python bool; use batch moments (and update the moving
      averages) if True, else the moving averages / accumulators.
    decay: decay of the moving averages.
    epsilon: added to the variance.
    data_format: "NHWC" or "NCHW" (rank 4 only).
    use_moving_averages: moving averages (True) or accumulated standing
      statistics (False) for inference.
    use_cross_replica_mean: compute the moments over the global batch of all
      replicas. None: only when running in a replica of a strategy with more
      than one replica (TPU-like default of compare_gan).

  An active `batch_stats_hook` sees the batch moments and may replace the
  statistics used for normalization.

  Returns:
    The normalized tensor, same shape and dtype as `inputs`.
  """
  if data_format not in ("NHWC", "NCHW"):
    raise ValueError("Invalid data_format {}. Allowed: NCHW, NHWC.".format(
        data_format))
  inputs = tf.convert_to_tensor(inputs)
  inputs_dtype = inputs.dtype
  inputs_shape = inputs.shape
  rank = inputs_shape.rank
  if rank not in (2, 4):
    raise ValueError("standardize_batch expects rank 2 or 4, got shape "
                     "{}.".format(inputs_shape))
  channel_axis = 1 if (data_format == "NCHW" and rank == 4) else rank - 1
  num_channels = inputs_shape[channel_axis]
  if num_channels is None:
    raise ValueError("The channel dimension must be known.")
  x = tf.cast(inputs, tf.float32)
  reduction_axes = [i for i in range(rank) if i != channel_axis]
  hook = _current_batch_stats_hook()
  fused = None
  if (is_training and hook is None and channel_axis == rank - 1
      and not _uses_cross_replica_moments(use_cross_replica_mean)
      and inputs_shape[:-1].is_fully_defined()):
    fused = _fused_batch_standardize(x, epsilon)
    mean, variance = fused[1], fused[2]
  else:
    mean, variance = _batch_moments(x, reduction_axes, use_cross_replica_mean)
  batch_mean, batch_variance = mean, variance
  if use_moving_averages:
    mean, variance = _moving_moments_for_inference(
        mean=mean, variance=variance, is_training=is_training, decay=decay)
  else:
    mean, variance = _accumulated_moments_for_inference(
        mean=mean, variance=variance, is_training=is_training)
  if fused is not None:  # Training: normalized with the batch moments.
    return tf.ensure_shape(tf.cast(fused[0], inputs_dtype), inputs_shape)
  if hook is not None:
    substitute = hook(vs.full_name(""), batch_mean, batch_variance)
    if substitute is not None:
      mean, variance = (tf.cast(t, tf.float32) for t in substitute)
  if channel_axis == 1 and rank == 4:
    mean = tf.reshape(mean, [1, -1, 1, 1])
    variance = tf.reshape(variance, [1, -1, 1, 1])
  outputs = (x - mean) * tf.math.rsqrt(variance + epsilon)
  outputs = tf.cast(outputs, inputs_dtype)
  outputs.set_shape(inputs_shape)
  return outputs


@gin.configurable(denylist=["inputs"], module=names.OPS_GIN_MODULE)
def no_batch_norm(inputs):
  """Identity."""
  return inputs


@gin.configurable(denylist=["inputs", "is_training", "center", "scale", "name"],
                 module=names.OPS_GIN_MODULE)
def batch_norm(inputs, is_training, center=True, scale=True, name="batch_norm"):
  """`standardize_batch` followed by a learned per-channel `gamma` and `beta`.

  Variables (scope `name`): moving statistics or accumulators, `gamma` (ones),
  `beta` (zeros).
  """
  with vs.variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = layers.num_channels(inputs)
    if scale:
      outputs *= precision.compute_cast(
          vs.get_variable("gamma", [num_channels], initializers.ones()))
    if center:
      outputs += precision.compute_cast(
          vs.get_variable("beta", [num_channels], initializers.zeros()))
    return outputs


def _broadcast_per_example(params, outputs):
  """Reshapes [N, C] parameters to broadcast against rank-2 or rank-4 outputs."""
  if outputs.shape.rank == 4:
    return params[:, None, None, :]
  return params


@gin.configurable(allowlist=["num_hidden"], module=names.OPS_GIN_MODULE)
def self_modulated_batch_norm(inputs, z, is_training, use_sn, center=True,
                              scale=True, name="batch_norm", num_hidden=32):
  """Self-modulated batch normalization (Chen et al., 2019, arXiv:1810.01365).

  gamma(z) and beta(z) are computed per example by an MLP on z (scope
  `name/sbn`): h = relu(linear(z, num_hidden, "hidden")) if num_hidden > 0,
  gamma = linear(h, C, "gamma", bias_start=1), beta = linear(h, C, "beta").
  """
  if z is None:
    raise ValueError("You must provide z for self modulation.")
  with vs.variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = layers.num_channels(inputs)
    with vs.variable_scope("sbn"):
      h = z
      if num_hidden > 0:
        h = tf.nn.relu(layers.linear(h, num_hidden, scope="hidden",
                                     use_sn=use_sn))
      if scale:
        gamma = layers.linear(h, num_channels, scope="gamma", bias_start=1.0,
                              use_sn=use_sn)
        outputs *= _broadcast_per_example(gamma, outputs)
      if center:
        beta = layers.linear(h, num_channels, scope="beta", use_sn=use_sn)
        outputs += _broadcast_per_example(beta, outputs)
    return outputs


@gin.configurable(allowlist=["use_bias", "gamma_offset"],
                 module=names.OPS_GIN_MODULE)
def conditional_batch_norm(inputs, y, is_training, use_sn, center=True,
                           scale=True, name="batch_norm", use_bias=False,
                           gamma_offset=1.0):
  """Conditional batch normalization (de Vries et al., 2017; Miyato, 2018).

  out = x_hat * (gamma_offset + linear(y, C, "gamma")) + linear(y, C, "beta"),
  variables in scope `name/condition` (`gamma/kernel`, `beta/kernel`, plus
  biases if `use_bias`).

  Args:
    inputs: rank 2 or 4 tensor.
    y: rank-2 conditioning (one-hot labels, possibly concatenated with z).
    is_training: Python bool.
    use_sn: spectral normalization on the two linear maps.
    center, scale: use beta / gamma.
    name: variable scope.
    use_bias: biases in the two linear maps (gin).
    gamma_offset: constant added to the predicted scale (gin). Default 1.0 is
      the BigGAN formulation (Brock et al., 2019: gains centred at 1), a fix of
      compare_gan, whose gamma has no offset (docs/compare_gan_quirks.md
      `cbn-gamma`: initial scale ~0). `conditional_batch_norm.gamma_offset =
      0.0` reproduces compare_gan exactly. The offset is a constant, not a
      parameter.
  """
  if y is None:
    raise ValueError("You must provide y for conditional batch normalization.")
  if y.shape.rank != 2:
    raise ValueError("Conditioning must have rank 2, got {}.".format(y.shape))
  with vs.variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = layers.num_channels(inputs)
    with vs.variable_scope("condition"):
      if scale:
        gamma = layers.linear(y, num_channels, scope="gamma", use_sn=use_sn,
                              use_bias=use_bias)
        if gamma_offset:
          gamma = gamma + gamma_offset
        outputs *= _broadcast_per_example(gamma, outputs)
      if center:
        beta = layers.linear(y, num_channels, scope="beta", use_sn=use_sn,
                             use_bias=use_bias)
        outputs += _broadcast_per_example(beta, outputs)
    return outputs


def layer_norm(input_, is_training, scope):
  """Layer normalization (Ba et al., 2016) as tf.contrib.layers.layer_norm.

  Normalizes over all non-batch axes (epsilon 1e-12) followed by a learned
  per-channel `beta` (zeros) and `gamma` (ones) in scope `scope`.
  Deviation: compare_gan made beta/gamma trainable only when `is_training`;
  here the store creates them once, always trainable.
  """
  del is_training
  with vs.variable_scope(scope):
    x = tf.convert_to_tensor(input_)
    dtype = x.dtype
    x = tf.cast(x, tf.float32)  # Statistics in float32 (no-op in float32).
    num_channels = layers.num_channels(x)
    axes = list(range(1, x.shape.rank))
    mean, variance = tf.nn.moments(x, axes, keepdims=True)
    beta = vs.get_variable("beta", [num_channels], initializers.zeros())
    gamma = vs.get_variable("gamma", [num_channels], initializers.ones())
    return tf.cast(tf.nn.batch_normalization(x, mean, variance, offset=beta,
                                             scale=gamma, variance_epsilon=1e-12),
                   dtype)
