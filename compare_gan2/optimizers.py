"""Optimizers with TF1 `tf.train.*Optimizer` semantics, built on tf.Module.

compare_gan configs name `@tf.train.AdamOptimizer` (with `beta1`/`beta2`) and the
GANs call `optimizer_fn(learning_rate, name=...)`. Keras 3 optimizers cannot run in
the `tf.compat.v1` graphs we also need, so these small optimizers reproduce the TF1
update rules exactly and run eagerly, in `tf.function` and under any
`tf.distribute` strategy (gradients are averaged across replicas, updates are
applied once per variable through `strategy.extended.update`).

Slot variables are named like TF1's: `<var>/Adam`, `<var>/Adam_1`, `<var>/Momentum`,
`<var>/RMSProp`, so checkpoints stay readable.
"""

import typing

import tensorflow as tf


def _var_name(var):
  return var.name.split(":")[0]


class Optimizer(tf.Module):
  """Base class: slot bookkeeping and the distributed apply."""

  _SLOT_NAMES: typing.ClassVar[tuple[str, ...]] = ()

  def __init__(self, learning_rate, name):
    super().__init__(name=name)
    self.learning_rate = learning_rate
    self.slots = {}  # "<var name>/<slot>" -> tf.Variable
    self.iterations = None
    self.loss_scale = None  # A DynamicLossScale under mixed_float16.

  def use_loss_scaling(self):
    """Turns on dynamic loss scaling (call before `build`)."""
    if self.loss_scale is None:
      self.loss_scale = DynamicLossScale(f"{self.name}/loss_scale")

  def build(self, var_list):
    """Creates the step counter and slots; call eagerly under strategy.scope()."""
    if self.iterations is None:
      self.iterations = tf.Variable(
          0, dtype=tf.int64, trainable=False, name=f"{self.name}/iterations",
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    for var in var_list:
      for slot in self._SLOT_NAMES:
        key = f"{_var_name(var)}/{slot}"
        if key not in self.slots:
          self.slots[key] = tf.Variable(
              tf.zeros(var.shape, var.dtype), trainable=False, name=key,
              aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    if self.loss_scale is not None:
      self.loss_scale.build()

  def variables_to_save(self):
    """{checkpoint name: variable} for this optimizer's state."""
    result = {f"{self.name}/iterations": self.iterations}
    result.update(self.slots)
    if self.loss_scale is not None:
      result.update(self.loss_scale.variables_to_save())
    return result

  def gradients(self, tape, loss, var_list):
    """d loss / d var_list, through the loss scale when there is one."""
    if self.loss_scale is None:
      return tape.gradient(loss, var_list)
    with tape:  # The scaling is recorded too.
      scaled = self.loss_scale.scale_loss(loss)
    return self.loss_scale.unscale(tape.gradient(scaled, var_list))

  def apply(self, grads, var_list):
    """One optimizer step: `grads` averaged over replicas, then applied to `var_list`.

    Gradients come from the caller (e.g. `ModularGAN.discriminator_gradients`);
    None entries are skipped. In a replica context the cross-replica merge takes
    TensorFlow's `maybe_merge_call` route (what its own optimizers do): a
    `merge_call` normally, an all-reduce inside the replica where the strategy
    has no merge call (XLA-compiled replicas on GPUs).
    """
    grads, var_list = list(grads), list(var_list)
    if len(grads) != len(var_list):
      raise ValueError(f"{self.name}.apply: {len(grads)} gradients for "
                       f"{len(var_list)} variables.")
    pairs = [(g, v) for g, v in zip(grads, var_list) if g is not None]
    strategy = tf.distribute.get_strategy()
    if tf.distribute.in_cross_replica_context():
      return self._distributed_apply(strategy, pairs)
    return tf.__internal__.distribute.interim.maybe_merge_call(
        self._distributed_apply, strategy, pairs)

  def _reduce(self, strategy, grads_and_vars):
    """The replicas' mean of each gradient."""
    if tf.distribute.in_cross_replica_context():
      return strategy.extended.batch_reduce_to(
          tf.distribute.ReduceOp.MEAN, list(grads_and_vars))
    return tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.MEAN, [g for g, _ in grads_and_vars])

  def _distributed_apply(self, strategy, grads_and_vars):
    if not grads_and_vars:
      return tf.no_op()
    reduced = self._reduce(strategy, grads_and_vars)
    step = tf.cast(self.iterations + 1, tf.float32)
    lr = tf.convert_to_tensor(self.learning_rate, tf.float32)
    finite = None
    if self.loss_scale is not None:  # Skip the step if a gradient overflowed.
      finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in reduced])
      self.loss_scale.update(strategy, finite)
    for grad, (_, var) in zip(reduced, grads_and_vars):
      slots = [self.slots[f"{_var_name(var)}/{s}"] for s in self._SLOT_NAMES]
      strategy.extended.update(
          var, self._update, args=(grad, lr, step, finite, *slots), group=False)
    increment = 1 if finite is None else tf.cast(finite, tf.int64)
    return strategy.extended.update(
        self.iterations, lambda it: it.assign_add(increment), args=(), group=False)

  def _update(self, var, grad, lr, step, finite, *slots):
    """Assigns `_new_values` to the variable and its slots (kept if not finite).

    Without loss scaling, TensorFlow's fused kernel for the rule (the one TF1's
    optimizer ran: one op per variable instead of a dozen) does the update.
    """
    if finite is None and self._fused_update(var, grad, lr, step, *slots):
      return
    new_values = self._new_values(var, grad, lr, step, *slots)
    for target, value in zip((var,) + tuple(slots), new_values):
      if finite is not None:
        value = tf.where(finite, value, target)
      target.assign(value)

  def _new_values(self, var, grad, lr, step, *slots):
    """(new variable value, new slot values...) of the update rule."""
    raise NotImplementedError

  def _fused_update(self, var, grad, lr, step, *slots):
    """Runs the update as TensorFlow's fused ResourceApply* op; False if the rule
    has none."""
    del var, grad, lr, step, slots
    return False


class DynamicLossScale(tf.Module):
  """Dynamic loss scaling for float16 (Micikevicius et al., 2018, "Mixed
  Precision Training"): gradients of loss * scale, divided by scale; a step
  whose gradients are not finite is skipped and halves the scale; 2000 finite
  steps in a row double it (TensorFlow's LossScaleOptimizer defaults)."""

  def __init__(self, name, initial_scale=2.0 ** 15, growth_steps=2000):
    super().__init__(name=name.replace("/", "_"))
    self.var_name = name
    self.initial_scale, self.growth_steps = initial_scale, growth_steps
    self.scale = self.good_steps = None

  def build(self):
    if self.scale is None:
      agg = tf.VariableAggregation.ONLY_FIRST_REPLICA
      self.scale = tf.Variable(self.initial_scale, dtype=tf.float32,
                               trainable=False, name=self.var_name,
                               aggregation=agg)
      self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False,
                                    name=self.var_name + "_good_steps",
                                    aggregation=agg)

  def variables_to_save(self):
    return {self.var_name: self.scale,
            self.var_name + "_good_steps": self.good_steps}

  def scale_loss(self, loss):
    return loss * tf.cast(self.scale, loss.dtype)

  def unscale(self, grads):
    inverse = 1.0 / self.scale
    return [None if g is None else g * tf.cast(inverse, g.dtype) for g in grads]

  def update(self, strategy, finite):
    """Halves the scale on overflow, doubles it after growth_steps good steps."""
    grow = tf.logical_and(finite, self.good_steps + 1 >= self.growth_steps)
    new_scale = tf.where(finite, tf.where(grow, self.scale * 2.0, self.scale),
                         tf.maximum(self.scale * 0.5, 1.0))
    new_good = tf.where(tf.logical_and(finite, tf.logical_not(grow)),
                        self.good_steps + 1, tf.zeros([], tf.int64))
    strategy.extended.update(self.scale, lambda v, x: v.assign(x),
                             args=(new_scale,), group=False)
    strategy.extended.update(self.good_steps, lambda v, x: v.assign(x),
                             args=(new_good,), group=False)


class AdamOptimizer(Optimizer):
  """Adam (Kingma and Ba, 2015) exactly as TF1's `tf.train.AdamOptimizer`:

  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
  w -= lr_t * m / (sqrt(v) + epsilon)      (epsilon is the "epsilon hat" of the paper)
  """

  _SLOT_NAMES = ("Adam", "Adam_1")

  def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
               use_locking=False, name="Adam"):
    del use_locking  # TF1 argument, meaningless here.
    super().__init__(learning_rate, name)
    self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

  def _new_values(self, var, grad, lr, step, m, v):
    b1, b2 = tf.constant(self.beta1, tf.float32), tf.constant(self.beta2, tf.float32)
    lr_t = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
    m_t = b1 * m + (1.0 - b1) * grad
    v_t = b2 * v + (1.0 - b2) * tf.square(grad)
    return var - lr_t * m_t / (tf.sqrt(v_t) + self.epsilon), m_t, v_t

  def _fused_update(self, var, grad, lr, step, m, v):
    b1, b2 = tf.constant(self.beta1, tf.float32), tf.constant(self.beta2, tf.float32)
    tf.raw_ops.ResourceApplyAdam(
        var=var.handle, m=m.handle, v=v.handle, beta1_power=tf.pow(b1, step),
        beta2_power=tf.pow(b2, step), lr=lr, beta1=b1, beta2=b2,
        epsilon=tf.constant(self.epsilon, tf.float32), grad=grad)
    return True


class GradientDescentOptimizer(Optimizer):
  """Plain SGD: w -= lr * g."""

  def __init__(self, learning_rate=0.01, use_locking=False, name="GradientDescent"):
    del use_locking
    super().__init__(learning_rate, name)

  def _new_values(self, var, grad, lr, step):
    return (var - lr * grad,)

  def _fused_update(self, var, grad, lr, step):
    tf.raw_ops.ResourceApplyGradientDescent(var=var.handle, alpha=lr, delta=grad)
    return True


class MomentumOptimizer(Optimizer):
  """TF1 momentum: a = mu a + g; w -= lr a (Nesterov: w -= lr (g + mu a))."""

  _SLOT_NAMES = ("Momentum",)

  def __init__(self, learning_rate=0.01, momentum=0.9, use_locking=False,
               name="Momentum", use_nesterov=False):
    del use_locking
    super().__init__(learning_rate, name)
    self.momentum, self.use_nesterov = momentum, use_nesterov

  def _new_values(self, var, grad, lr, step, accum):
    a = self.momentum * accum + grad
    if self.use_nesterov:
      return var - lr * (grad + self.momentum * a), a
    return var - lr * a, a

  def _fused_update(self, var, grad, lr, step, accum):
    tf.raw_ops.ResourceApplyMomentum(
        var=var.handle, accum=accum.handle, lr=lr, grad=grad,
        momentum=tf.constant(self.momentum, tf.float32),
        use_nesterov=self.use_nesterov)
    return True


class RMSPropOptimizer(Optimizer):
  """TF1 RMSProp (uncentred): ms = d ms + (1-d) g^2; mom = mu mom + lr g / sqrt(ms + eps)."""

  _SLOT_NAMES = ("RMSProp", "Momentum")

  def __init__(self, learning_rate=0.001, decay=0.9, momentum=0.0, epsilon=1e-10,
               use_locking=False, centered=False, name="RMSProp"):
    del use_locking
    if centered:
      raise ValueError("RMSPropOptimizer(centered=True) is not supported; "
                       "use centered=False.")
    super().__init__(learning_rate, name)
    self.decay, self.momentum, self.epsilon = decay, momentum, epsilon

  def build(self, var_list):
    super().build(var_list)
    # TF1 initialises the mean-square slot with ones.
    for var in var_list:
      self.slots[f"{_var_name(var)}/RMSProp"].assign(tf.ones(var.shape, var.dtype))

  def _new_values(self, var, grad, lr, step, ms, mom):
    ms_t = self.decay * ms + (1.0 - self.decay) * tf.square(grad)
    mom_t = self.momentum * mom + lr * grad / tf.sqrt(ms_t + self.epsilon)
    return var - mom_t, ms_t, mom_t

  def _fused_update(self, var, grad, lr, step, ms, mom):
    tf.raw_ops.ResourceApplyRMSProp(
        var=var.handle, ms=ms.handle, mom=mom.handle, lr=lr,
        rho=tf.constant(self.decay, tf.float32),
        momentum=tf.constant(self.momentum, tf.float32),
        epsilon=tf.constant(self.epsilon, tf.float32), grad=grad)
    return True
