"""Variable store and scopes (compare_gan's `tf.compat.v1.variable_scope` use).

Layers fetch their variables by *full name* from the active `VariableStore`,
e.g. `generator/B1/bn1/condition/gamma/kernel`. This keeps compare_gan's
variable names and lets the same code run eagerly, inside `tf.function`,
inside `tf.distribute` replicas and in a `tf.compat.v1` graph.

    store = VariableStore("generator")
    with using_store(store), variable_scope("generator"):
      h = layers.linear(z, 128, scope="fc")    # generator/fc/{kernel,bias}

- `using_store` / `variable_scope` are thread-local (MirroredStrategy runs
  replicas in threads); `get_variable` returns the existing variable of that
  full name or creates it (creation only outside replica context).
- `store.override({full_name: variable})` substitutes variables while active
  (EMA generator). Spectral-norm `u_var`s are looked up by the *requested*
  name, so the EMA weights share the raw weights' `u_var` (as compare_gan).
- `no_state_updates()` suppresses every assignment made by layers (SN `u_var`,
  BN moving averages and accumulators); the trainer builds networks inside it.
- Variables assigned inside replicas use aggregation ONLY_FIRST_REPLICA
  (identical on every replica) or MEAN (moving statistics).
"""

import contextlib
import threading

import tensorflow as tf

VariableAggregation = tf.VariableAggregation

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
                       "`with variable_store.using_store(store):`.")
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


def in_tf1_graph():
  """True when building a tf.compat.v1 graph (not eager, not a tf.function)."""
  if tf.executing_eagerly():
    return False
  return not getattr(tf.compat.v1.get_default_graph(), "building_function",
                     False)


def control_inputs(*items):
  """Filters assignment results down to what control_dependencies accepts."""
  return [i for i in items if i is not None and not tf.executing_eagerly()]
