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

import tensorflow as tf


def _var_name(var):
  return var.name.split(":")[0]


class Optimizer(tf.Module):
  """Base class: slot bookkeeping and the distributed apply."""

  _SLOT_NAMES = ()

  def __init__(self, learning_rate, name):
    super().__init__(name=name)
    self.learning_rate = learning_rate
    self.slots = {}  # "<var name>/<slot>" -> tf.Variable
    self.iterations = None

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

  def variables_to_save(self):
    """{checkpoint name: variable} for this optimizer's state."""
    result = {f"{self.name}/iterations": self.iterations}
    result.update(self.slots)
    return result

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
    for grad, (_, var) in zip(reduced, grads_and_vars):
      slots = [self.slots[f"{_var_name(var)}/{s}"] for s in self._SLOT_NAMES]
      strategy.extended.update(
          var, self._update, args=(grad, lr, step, *slots), group=False)
    return strategy.extended.update(
        self.iterations, lambda it: it.assign_add(1), args=(), group=False)

  def _update(self, var, grad, lr, step, *slots):
    raise NotImplementedError


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

  def _update(self, var, grad, lr, step, m, v):
    b1, b2 = tf.constant(self.beta1, tf.float32), tf.constant(self.beta2, tf.float32)
    lr_t = lr * tf.sqrt(1.0 - tf.pow(b2, step)) / (1.0 - tf.pow(b1, step))
    m_t = m.assign(b1 * m + (1.0 - b1) * grad)
    v_t = v.assign(b2 * v + (1.0 - b2) * tf.square(grad))
    return var.assign_sub(lr_t * m_t / (tf.sqrt(v_t) + self.epsilon))


class GradientDescentOptimizer(Optimizer):
  """Plain SGD: w -= lr * g."""

  def __init__(self, learning_rate=0.01, use_locking=False, name="GradientDescent"):
    del use_locking
    super().__init__(learning_rate, name)

  def _update(self, var, grad, lr, step):
    return var.assign_sub(lr * grad)


class MomentumOptimizer(Optimizer):
  """TF1 momentum: a = mu a + g; w -= lr a (Nesterov: w -= lr (g + mu a))."""

  _SLOT_NAMES = ("Momentum",)

  def __init__(self, learning_rate=0.01, momentum=0.9, use_locking=False,
               name="Momentum", use_nesterov=False):
    del use_locking
    super().__init__(learning_rate, name)
    self.momentum, self.use_nesterov = momentum, use_nesterov

  def _update(self, var, grad, lr, step, accum):
    a = accum.assign(self.momentum * accum + grad)
    if self.use_nesterov:
      return var.assign_sub(lr * (grad + self.momentum * a))
    return var.assign_sub(lr * a)


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

  def _update(self, var, grad, lr, step, ms, mom):
    ms_t = ms.assign(self.decay * ms + (1.0 - self.decay) * tf.square(grad))
    mom_t = mom.assign(self.momentum * mom + lr * grad / tf.sqrt(ms_t + self.epsilon))
    return var.assign_sub(mom_t)
