"""Variable store and functional layers (compare_gan's `architectures/arch_ops.py`).

Layers are plain functions that fetch their variables by *full name* from the
active `VariableStore`, e.g. `generator/B1/bn1/condition/gamma/kernel`. This
keeps compare_gan's variable names and lets the same code run eagerly, inside
`tf.function`, inside `tf.distribute` replicas and in a `tf.compat.v1` graph.

    store = VariableStore("generator")
    with using_store(store), variable_scope("generator"):
      h = linear(z, 128, scope="fc")           # generator/fc/{kernel,bias}

- `using_store` / `variable_scope` are thread-local (MirroredStrategy runs
  replicas in threads); `get_variable` returns the existing variable of that
  full name or creates it (creation only outside replica context).
- `store.override({full_name: variable})` substitutes variables while active
  (EMA generator). Spectral-norm `u_var`s are looked up by the *requested*
  name, so the EMA weights share the raw weights' `u_var` (as compare_gan).
- `no_state_updates()` suppresses every assignment made by layers (SN `u_var`,
  BN moving averages and accumulators); the trainer builds networks inside it.
- `batch_stats_hook(fn)` lets callers see every `standardize_batch`'s batch
  moments and optionally substitute the statistics it normalizes with (TF-Hub
  export: standing statistics per truncation value).
- Variables assigned inside replicas use aggregation ONLY_FIRST_REPLICA
  (identical on every replica) or MEAN (moving statistics).

`is_training` arguments must be Python booleans.
"""

import contextlib
import threading

import gin
import tensorflow as tf

from compare_gan2 import errors
from compare_gan2.architectures import initializers

set_initialization_seed = initializers.set_initialization_seed
get_initialization_seed = initializers.get_initialization_seed

VariableAggregation = tf.VariableAggregation

# ----------------------------------------------------------------------------
# Variable store and scopes.
# ----------------------------------------------------------------------------

_local = threading.local()
_state_update_lock = threading.Lock()
_no_state_updates_depth = 0


def _stack(attr):
  if not hasattr(_local, attr):
    setattr(_local, attr, [])
  return getattr(_local, attr)


class VariableStore(tf.Module):
  """Owns variables in a dict keyed by full name (no ":0").

  `variables` / `trainable_variables` / `non_trainable_variables` list the
  variables in creation order. Checkpointing the store (a tf.Module) saves
  every variable; the dict keys are compare_gan's variable names.
  """

  _TF_MODULE_IGNORED_PROPERTIES = frozenset(
      tf.Module._TF_MODULE_IGNORED_PROPERTIES | {"_override_stack", "_lock"})

  def __init__(self, name=None):
    super().__init__(name=name)
    self.vars = {}
    # Not tracked: overrides (EMA shadows) belong to whoever owns them.
    object.__setattr__(self, "_override_stack", [])
    object.__setattr__(self, "_lock", threading.Lock())

  def __contains__(self, name):
    return name in self.vars

  def __getitem__(self, name):
    return self.vars[name]

  def __len__(self):
    return len(self.vars)

  def names(self):
    return list(self.vars.keys())

  @property
  def variables(self):
    return tuple(self.vars.values())

  @property
  def trainable_variables(self):
    return tuple(v for v in self.vars.values() if v.trainable)

  @property
  def non_trainable_variables(self):
    return tuple(v for v in self.vars.values() if not v.trainable)

  @contextlib.contextmanager
  def override(self, mapping):
    """While active, `get_variable(name)` returns `mapping[name]` if present.

    Args:
      mapping: dict full variable name -> variable (or tensor) to use instead.
    """
    self._override_stack.append(dict(mapping))
    try:
      yield self
    finally:
      self._override_stack.pop()

  def lookup_override(self, name):
    for mapping in reversed(self._override_stack):
      if name in mapping:
        return mapping[name]
    return None

  def get_or_create(self, name, shape, initializer, dtype=tf.float32,
                    trainable=True, aggregation=VariableAggregation.NONE):
    """Returns the variable `name`, creating it if needed (no overrides)."""
    shape = tf.TensorShape(shape)
    if not shape.is_fully_defined():
      raise ValueError("Variable {} needs a fully defined shape, got {}.".format(
          name, shape))
    with self._lock:
      variable = self.vars.get(name)
      if variable is None:
        variable = self._create(name, shape, initializer, dtype, trainable,
                                aggregation)
        self.vars[name] = variable
        return variable
    if variable.shape != shape:
      raise ValueError("Variable {} exists with shape {}, requested {}.".format(
          name, variable.shape, shape))
    return variable

  def _create(self, name, shape, initializer, dtype, trainable, aggregation):
    if (tf.distribute.has_strategy() and
        not tf.distribute.in_cross_replica_context() and
        tf.distribute.get_replica_context().num_replicas_in_sync > 1):
      raise RuntimeError(
          "Variable {} does not exist and cannot be created inside a replica "
          "of a distribution strategy. Build the networks once under "
          "strategy.scope() (cross-replica context) before strategy.run()."
          .format(name))
    shape_list = shape.as_list()

    def initial_value():
      return initializer(shape_list, dtype=dtype, name=name)

    with tf.init_scope():
      if tf.executing_eagerly():
        return tf.Variable(initial_value, name=name, dtype=dtype,
                           trainable=trainable, aggregation=aggregation)
      # TF1 graph: escape any enclosing name scope so the op is called `name`.
      with tf.compat.v1.get_default_graph().name_scope(None):
        return tf.Variable(initial_value, name=name, dtype=dtype,
                           trainable=trainable, aggregation=aggregation)


@contextlib.contextmanager
def using_store(store):
  """Makes `store` the current variable store (thread-local)."""
  stack = _stack("stores")
  stack.append(store)
  try:
    yield store
  finally:
    stack.pop()


def current_store():
  stack = _stack("stores")
  if not stack:
    raise RuntimeError("No active VariableStore: wrap the call in "
                       "`with arch_ops.using_store(store):`.")
  return stack[-1]


@contextlib.contextmanager
def variable_scope(name):
  """Appends `name` to the current (thread-local) variable scope."""
  if not name:
    raise ValueError("variable_scope needs a non-empty name.")
  stack = _stack("scopes")
  stack.append(name)
  try:
    yield full_name("")
  finally:
    stack.pop()


@contextlib.contextmanager
def root_scope(name=None):
  """Resets the scope to the top level (optionally entering `name`)."""
  saved = list(_stack("scopes"))
  _local.scopes = [name] if name else []
  try:
    yield full_name("")
  finally:
    _local.scopes = saved


def current_scope():
  return "/".join(_stack("scopes"))


def full_name(name):
  """The full variable name of `name` in the current scope."""
  parts = _stack("scopes") + ([name] if name else [])
  return "/".join(parts)


def get_variable(name, shape, initializer, dtype=tf.float32, trainable=True,
                 aggregation=VariableAggregation.NONE, full=False):
  """Returns the variable `name` of the current store (creating it if needed).

  Args:
    name: name relative to the current scope (or the full name if `full`).
    shape: fully defined shape.
    initializer: `initializers.Initializer`, called with the full name.
    dtype: variable dtype.
    trainable: whether the variable is trained.
    aggregation: tf.VariableAggregation for assignments inside replicas.
    full: `name` is already a full name.

  Returns:
    The override for the full name if `store.override` is active and has it,
    else the store's variable.
  """
  store = current_store()
  name = name if full else full_name(name)
  override = store.lookup_override(name)
  if override is not None:
    return override
  return store.get_or_create(name, shape, initializer, dtype=dtype,
                             trainable=trainable, aggregation=aggregation)


@contextlib.contextmanager
def no_state_updates():
  """Suppresses layer state assignments (SN u, BN statistics) while active.

  Process-wide (not thread-local) so it also covers replica threads.
  """
  global _no_state_updates_depth
  with _state_update_lock:
    _no_state_updates_depth += 1
  try:
    yield
  finally:
    with _state_update_lock:
      _no_state_updates_depth -= 1


def state_updates_enabled():
  return _no_state_updates_depth == 0


# ----------------------------------------------------------------------------
# Mixed precision: networks compute in bfloat16 / float16, variables stay float32.
# ----------------------------------------------------------------------------

_mixed_precision = {"depth": 0, "dtype": tf.float32}


@contextlib.contextmanager
def mixed_precision(dtype):
  """Networks called while active compute in `dtype` (process-wide, so replica
  threads see it; the training step enters it, sampling and export do not).

  Variables, spectral-norm power iterations, batch-norm statistics, attention
  softmax and every network output stay float32.
  """
  dtype = tf.as_dtype(dtype)
  with _state_update_lock:
    if _mixed_precision["depth"] and _mixed_precision["dtype"] != dtype:
      raise ValueError(f"mixed_precision({dtype.name}) inside "
                       f"mixed_precision({_mixed_precision['dtype'].name}).")
    _mixed_precision["depth"] += 1
    _mixed_precision["dtype"] = dtype
  try:
    yield
  finally:
    with _state_update_lock:
      _mixed_precision["depth"] -= 1
      if not _mixed_precision["depth"]:
        _mixed_precision["dtype"] = tf.float32


@contextlib.contextmanager
def network_precision():
  """Entered by a network's __call__: its layers compute in the mixed-precision
  dtype (thread-local, so heads outside the network stay float32)."""
  dtype = _mixed_precision["dtype"] if _mixed_precision["depth"] else tf.float32
  stack = _stack("compute_dtypes")
  stack.append(dtype)
  try:
    yield dtype
  finally:
    stack.pop()


def compute_dtype():
  """The dtype layers compute in here (float32 unless in a mixed network)."""
  stack = _stack("compute_dtypes")
  return stack[-1] if stack else tf.float32


def compute_cast(value):
  """`value` in the compute dtype (floating tensors and variables only)."""
  dtype = compute_dtype()
  if dtype == tf.float32 or not value.dtype.is_floating or value.dtype == dtype:
    return value
  return tf.cast(value, dtype)


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
  stack = _stack("batch_stats_hooks")
  stack.append(fn)
  try:
    yield fn
  finally:
    stack.pop()


def _current_batch_stats_hook():
  stack = _stack("batch_stats_hooks")
  return stack[-1] if stack else None


def _in_tf1_graph():
  """True when building a tf.compat.v1 graph (not eager, not a tf.function)."""
  if tf.executing_eagerly():
    return False
  return not getattr(tf.compat.v1.get_default_graph(), "building_function",
                     False)


def _ops(*items):
  """Filters assignment results down to what control_dependencies accepts."""
  return [i for i in items if i is not None and not tf.executing_eagerly()]


def _assign(variable, value):
  return variable.assign(value, read_value=False)


def _assign_add(variable, value):
  return variable.assign_add(value, read_value=False)


def _num_channels(inputs):
  channels = inputs.shape[-1]
  if channels is None:
    raise ValueError("The channel dimension of {} must be known.".format(
        inputs.shape))
  return int(channels)


# ----------------------------------------------------------------------------
# Initializers.
# ----------------------------------------------------------------------------


@gin.configurable("weights")
def weight_initializer(initializer=initializers.NORMAL_INIT, stddev=0.02):
  """Returns the weight initializer called `initializer`.

  Quirk kept from compare_gan (docs/compare_gan_quirks.md `weights-stddev`): `linear`, `conv2d` and
  `deconv2d` pass `stddev=0.02` explicitly, so a `weights.stddev` binding does
  not affect them.

  Args:
    initializer: "normal", "truncated" (normal
      truncated at 2 std) or "orthogonal" (gain 1; ignores stddev).
    stddev: standard deviation for "normal" and "truncated".
  """
  if initializer == initializers.NORMAL_INIT:
    return initializers.normal(stddev)
  if initializer == initializers.TRUNCATED_INIT:
    return initializers.truncated(stddev)
  if initializer == initializers.ORTHOGONAL_INIT:
    return initializers.orthogonal()
  raise ValueError("Unknown weight initializer {!r}; known: {}.".format(
      initializer, initializers.INITIALIZER_NAMES))


# ----------------------------------------------------------------------------
# Batch normalization family.
# ----------------------------------------------------------------------------


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


@gin.configurable(denylist=["inputs", "axis"])
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
  moving_mean = get_variable(
      "moving_mean", shape, initializers.zeros(), trainable=False,
      aggregation=VariableAggregation.MEAN)
  moving_variance = get_variable(
      "moving_variance", shape, initializers.ones(), trainable=False,
      aggregation=VariableAggregation.MEAN)
  if not is_training:
    return tf.identity(moving_mean), tf.identity(moving_variance)
  if state_updates_enabled():
    updates = [
        moving_mean.assign_sub((moving_mean - mean) * (1.0 - decay),
                               read_value=False),
        moving_variance.assign_sub((moving_variance - variance) * (1.0 - decay),
                                   read_value=False),
    ]
    if _in_tf1_graph():
      for op in _ops(*updates):
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
  with variable_scope("accu"):
    first = VariableAggregation.ONLY_FIRST_REPLICA
    accu_mean = get_variable("accu_mean", mean.shape, initializers.zeros(),
                             trainable=False, aggregation=first)
    accu_variance = get_variable("accu_variance", variance.shape,
                                 initializers.zeros(), trainable=False,
                                 aggregation=first)
    accu_counter = get_variable("accu_counter", [],
                                initializers.constant(1e-12), trainable=False,
                                aggregation=first)
    update_accus = get_variable("update_accus", [], initializers.zeros(),
                                dtype=tf.int32, trainable=False,
                                aggregation=first)
  if is_training:
    return mean, variance
  deps = []
  if state_updates_enabled():
    # Branch-free (no tf.cond) so aggregated assignments work in replicas.
    flag = tf.cast(tf.equal(update_accus, 1), accu_mean.dtype)
    deps = _ops(
        _assign_add(accu_mean, flag * mean),
        _assign_add(accu_variance, flag * variance),
        _assign_add(accu_counter, flag))
  with tf.control_dependencies(deps):
    return (accu_mean.read_value() / accu_counter.read_value(),
            accu_variance.read_value() / accu_counter.read_value())


@gin.configurable(allowlist=["decay", "epsilon", "use_cross_replica_mean",
                             "use_moving_averages"])
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
    substitute = hook(full_name(""), batch_mean, batch_variance)
    if substitute is not None:
      mean, variance = (tf.cast(t, tf.float32) for t in substitute)
  if channel_axis == 1 and rank == 4:
    mean = tf.reshape(mean, [1, -1, 1, 1])
    variance = tf.reshape(variance, [1, -1, 1, 1])
  outputs = (x - mean) * tf.math.rsqrt(variance + epsilon)
  outputs = tf.cast(outputs, inputs_dtype)
  outputs.set_shape(inputs_shape)
  return outputs


@gin.configurable(denylist=["inputs"])
def no_batch_norm(inputs):
  """Identity."""
  return inputs


@gin.configurable(denylist=["inputs", "is_training", "center", "scale", "name"])
def batch_norm(inputs, is_training, center=True, scale=True, name="batch_norm"):
  """`standardize_batch` followed by a learned per-channel `gamma` and `beta`.

  Variables (scope `name`): moving statistics or accumulators, `gamma` (ones),
  `beta` (zeros).
  """
  with variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = _num_channels(inputs)
    if scale:
      outputs *= compute_cast(
          get_variable("gamma", [num_channels], initializers.ones()))
    if center:
      outputs += compute_cast(
          get_variable("beta", [num_channels], initializers.zeros()))
    return outputs


def _broadcast_per_example(params, outputs):
  """Reshapes [N, C] parameters to broadcast against rank-2 or rank-4 outputs."""
  if outputs.shape.rank == 4:
    return params[:, None, None, :]
  return params


@gin.configurable(allowlist=["num_hidden"])
def self_modulated_batch_norm(inputs, z, is_training, use_sn, center=True,
                              scale=True, name="batch_norm", num_hidden=32):
  """Self-modulated batch normalization (Chen et al., 2019, arXiv:1810.01365).

  gamma(z) and beta(z) are computed per example by an MLP on z (scope
  `name/sbn`): h = relu(linear(z, num_hidden, "hidden")) if num_hidden > 0,
  gamma = linear(h, C, "gamma", bias_start=1), beta = linear(h, C, "beta").
  """
  if z is None:
    raise ValueError("You must provide z for self modulation.")
  with variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = _num_channels(inputs)
    with variable_scope("sbn"):
      h = z
      if num_hidden > 0:
        h = tf.nn.relu(linear(h, num_hidden, scope="hidden", use_sn=use_sn))
      if scale:
        gamma = linear(h, num_channels, scope="gamma", bias_start=1.0,
                       use_sn=use_sn)
        outputs *= _broadcast_per_example(gamma, outputs)
      if center:
        beta = linear(h, num_channels, scope="beta", use_sn=use_sn)
        outputs += _broadcast_per_example(beta, outputs)
    return outputs


@gin.configurable(allowlist=["use_bias", "gamma_offset"])
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
      compare_gan, whose gamma has no offset (docs/compare_gan_quirks.md `cbn-gamma`: initial scale
      ~0). `conditional_batch_norm.gamma_offset = 0.0` reproduces compare_gan
      exactly. The offset is a constant, not a parameter.
  """
  if y is None:
    raise ValueError("You must provide y for conditional batch normalization.")
  if y.shape.rank != 2:
    raise ValueError("Conditioning must have rank 2, got {}.".format(y.shape))
  with variable_scope(name):
    outputs = standardize_batch(inputs, is_training=is_training)
    num_channels = _num_channels(inputs)
    with variable_scope("condition"):
      if scale:
        gamma = linear(y, num_channels, scope="gamma", use_sn=use_sn,
                       use_bias=use_bias)
        if gamma_offset:
          gamma = gamma + gamma_offset
        outputs *= _broadcast_per_example(gamma, outputs)
      if center:
        beta = linear(y, num_channels, scope="beta", use_sn=use_sn,
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
  with variable_scope(scope):
    x = tf.convert_to_tensor(input_)
    dtype = x.dtype
    x = tf.cast(x, tf.float32)  # Statistics in float32 (no-op in float32).
    num_channels = _num_channels(x)
    axes = list(range(1, x.shape.rank))
    mean, variance = tf.nn.moments(x, axes, keepdims=True)
    beta = get_variable("beta", [num_channels], initializers.zeros())
    gamma = get_variable("gamma", [num_channels], initializers.ones())
    return tf.cast(tf.nn.batch_normalization(x, mean, variance, offset=beta,
                                             scale=gamma, variance_epsilon=1e-12),
                   dtype)


# ----------------------------------------------------------------------------
# Spectral normalization.
# ----------------------------------------------------------------------------


def _variable_name(tensor):
  if not isinstance(tensor, tf.Variable):
    return None
  name = tensor.name.split(":")[0]
  return name.replace("/ExponentialMovingAverage", "")


@gin.configurable(denylist=["inputs", "name"])
def spectral_norm(inputs, epsilon=1e-12, singular_value="left", name=None):
  """Spectral normalization W / sigma(W) (Miyato et al., 2018, arXiv:1802.05957).

  W is reshaped to [-1, C_out]. sigma = u^T W v is estimated with one power
  iteration per call from the persistent vector `<name>/u_var`
  (non-trainable, N(0, 1) init, shape [rows, 1] for "left" or [1, C_out] for
  "right"; "auto" picks "left" if rows <= C_out). `u_var` is assigned on every
  call (unless `no_state_updates`); u and v are not differentiated through.

  Args:
    inputs: the weight tensor (rank >= 2).
    epsilon: epsilon of the L2 normalizations.
    singular_value: "left", "right" or "auto".
    name: full name of the weight variable; `u_var` is `<name>/u_var` in the
      current store. Defaults to the variable name of `inputs` (with any
      "/ExponentialMovingAverage" removed). Layers pass the name they
      requested, so EMA overrides share the raw weight's `u_var`.

  Returns:
    The normalized weight, same shape as `inputs`.
  """
  if inputs.shape.rank is None or inputs.shape.rank < 2:
    raise ValueError(
        "Spectral norm can only be applied to multi-dimensional tensors")
  if singular_value not in ("left", "right", "auto"):
    raise ValueError("singular_value must be left, right or auto, got "
                     "{!r}.".format(singular_value))
  name = name or _variable_name(inputs)
  if not name:
    raise ValueError("spectral_norm needs `name` (the weight's full variable "
                     "name) when `inputs` is not a named variable.")
  w = tf.reshape(inputs, [-1, inputs.shape[-1]])
  rows, cols = int(w.shape[0]), int(w.shape[1])
  if singular_value == "auto":
    singular_value = "left" if rows <= cols else "right"
  u_shape = [rows, 1] if singular_value == "left" else [1, cols]
  u_var = get_variable(name + "/u_var", u_shape, initializers.normal(1.0),
                       dtype=w.dtype, trainable=False, full=True,
                       aggregation=VariableAggregation.ONLY_FIRST_REPLICA)
  u = tf.convert_to_tensor(u_var)
  # One round of power iteration.
  if singular_value == "left":
    v = tf.math.l2_normalize(tf.matmul(w, u, transpose_a=True), epsilon=epsilon)
    u = tf.math.l2_normalize(tf.matmul(w, v), epsilon=epsilon)
  else:
    v = tf.math.l2_normalize(tf.matmul(u, w, transpose_b=True), epsilon=epsilon)
    u = tf.math.l2_normalize(tf.matmul(v, w), epsilon=epsilon)
  deps = _ops(_assign(u_var, u)) if state_updates_enabled() else []
  with tf.control_dependencies(deps):
    u = tf.identity(u)
  u = tf.stop_gradient(u)
  v = tf.stop_gradient(v)
  if singular_value == "left":
    sigma = tf.matmul(tf.matmul(u, w, transpose_a=True), v)
  else:
    sigma = tf.matmul(tf.matmul(v, w), u, transpose_b=True)
  shape = inputs.shape if inputs.shape.is_fully_defined() else tf.shape(inputs)
  return tf.reshape(w / sigma, shape)


# ----------------------------------------------------------------------------
# Linear layers.
# ----------------------------------------------------------------------------


def linear(inputs, output_size, scope=None, stddev=0.02, bias_start=0.0,
           use_sn=False, use_bias=True):
  """inputs @ kernel (+ bias). Variables `<scope>/kernel` and `<scope>/bias`.

  The kernel uses the gin `weights` initializer with stddev=0.02 passed
  explicitly (docs/compare_gan_quirks.md `weights-stddev`); the bias is the constant `bias_start`.
  """
  inputs = compute_cast(tf.convert_to_tensor(inputs))
  with variable_scope(scope or "linear"):
    kernel = get_variable("kernel", [int(inputs.shape[1]), output_size],
                          weight_initializer(stddev=stddev))
    if use_sn:
      kernel = spectral_norm(kernel, name=full_name("kernel"))
    outputs = tf.matmul(inputs, compute_cast(kernel))
    if use_bias:
      outputs += compute_cast(get_variable("bias", [output_size],
                                           initializers.constant(bias_start)))
    return outputs


def conv_kernel_and_bias(in_channels, output_dim, k_h, k_w, stddev=0.02,
                         use_sn=False, use_bias=True):
  """(kernel [k_h, k_w, in_channels, output_dim], bias or None) of a convolution in
  the current scope, in the compute dtype; the kernel spectrally normalized if
  `use_sn`. Variables `kernel` and `bias` as `conv2d` makes them."""
  w = get_variable("kernel", [k_h, k_w, in_channels, output_dim],
                   weight_initializer(stddev=stddev))
  if use_sn:
    w = spectral_norm(w, name=full_name("kernel"))
  bias = None
  if use_bias:
    bias = compute_cast(get_variable("bias", [output_dim], initializers.zeros()))
  return compute_cast(w), bias


def conv2d(inputs, output_dim, k_h, k_w, d_h, d_w, stddev=0.02, name="conv2d",
           use_sn=False, use_bias=True):
  """2-D convolution, SAME padding; kernel [k_h, k_w, C_in, output_dim]."""
  inputs = compute_cast(tf.convert_to_tensor(inputs))
  with variable_scope(name):
    w, bias = conv_kernel_and_bias(_num_channels(inputs), output_dim, k_h, k_w,
                                   stddev=stddev, use_sn=use_sn, use_bias=use_bias)
    outputs = tf.nn.conv2d(inputs, w, strides=[1, d_h, d_w, 1], padding="SAME")
    if bias is not None:
      outputs += bias
  return outputs


def conv1x1(inputs, output_dim, name="conv2d", use_sn=False, use_bias=True,
            stddev=0.02):
  """1x1 convolution with stride 1 (`conv2d` with k=1, d=1)."""
  return conv2d(inputs, output_dim, k_h=1, k_w=1, d_h=1, d_w=1, stddev=stddev,
                name=name, use_sn=use_sn, use_bias=use_bias)


def deconv2d(inputs, output_shape, k_h, k_w, d_h, d_w, stddev=0.02,
             name="deconv2d", use_sn=False):
  """Transposed 2-D convolution (SAME); kernel [k_h, k_w, C_out, C_in] + bias."""
  inputs = compute_cast(tf.convert_to_tensor(inputs))
  with variable_scope(name):
    w = get_variable("kernel",
                     [k_h, k_w, int(output_shape[-1]), _num_channels(inputs)],
                     weight_initializer(stddev=stddev))
    if use_sn:
      w = spectral_norm(w, name=full_name("kernel"))
    deconv = tf.nn.conv2d_transpose(inputs, compute_cast(w),
                                    output_shape=output_shape,
                                    strides=[1, d_h, d_w, 1], padding="SAME")
    bias = compute_cast(get_variable("bias", [int(output_shape[-1])],
                                     initializers.zeros()))
    return tf.reshape(tf.nn.bias_add(deconv, bias), tf.shape(deconv))


def lrelu(inputs, leak=0.2, name="lrelu"):
  """Leaky ReLU max(x, leak * x)."""
  return tf.maximum(inputs, leak * inputs, name=name)


# ----------------------------------------------------------------------------
# Self-attention.
# ----------------------------------------------------------------------------


# Queries per block of the blocked attention (measured best on 2 CPU cores for
# BigGAN's 64x64 attention maps).
ATTENTION_QUERY_BLOCK = 64


def _attention_weights(queries, keys):
  """softmax(queries keys^T) over the keys, in float32 (any input dtype)."""
  return tf.nn.softmax(tf.cast(tf.matmul(queries, keys, transpose_b=True),
                               tf.float32))


def attention(queries, keys, values, query_block=None):
  """softmax(queries keys^T) values: [b, q, d] x [b, k, d] x [b, k, v] -> [b, q, v].

  The softmax runs in float32; the result has the inputs' dtype. With more than
  `query_block` (default ATTENTION_QUERY_BLOCK) queries it is computed block by
  block of queries, and the gradient recomputes each block's weights instead of
  keeping the [b, q, k] matrix ("memory-efficient attention", Rabe & Staats,
  2021): the same values and gradients (to float rounding), with the big matrix
  never in memory at once.
  """
  query_block = query_block or ATTENTION_QUERY_BLOCK
  num_queries = int(queries.shape[1])
  if num_queries <= query_block or num_queries % query_block:
    weights = _attention_weights(queries, keys)
    return tf.matmul(tf.cast(weights, values.dtype), values)
  return _blocked_attention(queries, keys, values, num_queries // query_block)


def _blocked_attention(queries, keys, values, num_blocks):
  """`attention` over `num_blocks` blocks of queries, gradient by recomputation."""
  dtype = values.dtype

  @tf.custom_gradient
  def blocked(queries, keys, values):
    blocks = tf.split(queries, num_blocks, axis=1)
    outputs = tf.concat(
        [tf.matmul(tf.cast(_attention_weights(q, keys), dtype), values)
         for q in blocks], axis=1)

    def grad(d_outputs):
      d_queries, d_keys, d_values = [], [], []
      for q, d_out in zip(blocks, tf.split(d_outputs, num_blocks, axis=1)):
        weights = _attention_weights(q, keys)  # float32, recomputed.
        d_weights = tf.cast(tf.matmul(d_out, values, transpose_b=True), tf.float32)
        # Softmax backward: dL/dlogits = w * (dL/dw - sum_k w dL/dw).
        d_logits = weights * (d_weights - tf.reduce_sum(
            d_weights * weights, axis=-1, keepdims=True))
        d_logits = tf.cast(d_logits, dtype)
        d_queries.append(tf.matmul(d_logits, keys))
        d_keys.append(tf.matmul(d_logits, q, transpose_a=True))
        d_values.append(tf.matmul(tf.cast(weights, dtype), d_out, transpose_a=True))
      return tf.concat(d_queries, axis=1), tf.add_n(d_keys), tf.add_n(d_values)

    return outputs, grad

  return blocked(queries, keys, values)


def non_local_block(x, name, use_sn):
  """SAGAN self-attention block (Zhang et al., 2019, arXiv:1805.08318).

  theta = conv1x1(x, C/8), phi = maxpool2x2(conv1x1(x, C/8)),
  g = maxpool2x2(conv1x1(x, C/2)); attn = softmax(theta phi^T) over the HW/4
  pooled positions; o = conv1x1(attn g, C). Returns x + sigma * o with the
  scalar `sigma` initialised to 0. All convs have no bias and use the gin
  `weights` initializer. `attention` computes attn g (blocked on large maps).
  """
  channels = x.shape[-1]
  if channels is not None and channels < 8:
    raise ValueError(
        f"Attention block {name!r} needs at least 8 input channels (it projects "
        f"to C/8), got {channels}. Increase the width `ch` or remove the block "
        "from `blocks_with_attention`.")
  def flatten_spatial(t):
    return tf.reshape(t, [-1, t.shape[1] * t.shape[2], t.shape[3]])

  with variable_scope(name):
    h, w, num_channels = x.shape.as_list()[1:]
    channels_attn = num_channels // 8
    channels_g = num_channels // 2
    theta = conv1x1(x, channels_attn, name="conv2d_theta", use_sn=use_sn,
                    use_bias=False)
    theta = flatten_spatial(theta)
    phi = conv1x1(x, channels_attn, name="conv2d_phi", use_sn=use_sn,
                  use_bias=False)
    phi = flatten_spatial(tf.nn.max_pool2d(phi, 2, 2, "VALID"))
    g = conv1x1(x, channels_g, name="conv2d_g", use_sn=use_sn, use_bias=False)
    g = flatten_spatial(tf.nn.max_pool2d(g, 2, 2, "VALID"))
    attn_g = tf.reshape(attention(theta, phi, g), [-1, h, w, channels_g])
    sigma = compute_cast(get_variable("sigma", [], initializers.zeros()))
    attn_g = conv1x1(attn_g, num_channels, name="conv2d_attn_g", use_sn=use_sn,
                     use_bias=False)
    return x + sigma * attn_g


# ----------------------------------------------------------------------------
# Regularization.
# ----------------------------------------------------------------------------


@gin.configurable("orthogonal_regularization", denylist=["variables"])
def orthogonal_regularization(variables, beta=1e-4):
  """BigGAN orthogonal regularization (Brock et al., 2019, eq. 3).

  beta * sum_W ||W^T W * (1 - I)||_F^2 over every variable whose name ends in
  "kernel" (rank >= 2), with W reshaped to [-1, C_out].
  """
  terms = []
  for variable in variables:
    name = variable.name.split(":")[0]
    if not name.endswith("kernel") or variable.shape.rank < 2:
      continue
    w = tf.reshape(variable, [-1, variable.shape[-1]])
    gram = tf.matmul(w, w, transpose_a=True)
    off_diagonal = gram * (1.0 - tf.eye(int(w.shape[-1]), dtype=gram.dtype))
    terms.append(tf.reduce_sum(tf.square(off_diagonal)))
  if not terms:
    return tf.constant(0.0)
  return beta * tf.add_n(terms)

