"""Operations on weight matrices: spectral normalization (compare_gan's
`arch_ops.spectral_norm`; the layers apply it to their kernels) and BigGAN's
orthogonal regularization (a loss on the kernels)."""

import gin
import tensorflow as tf

from compare_gan2.architectures import initializers
from compare_gan2.architectures import names
from compare_gan2.architectures import variable_store as vs


def _variable_name(tensor):
  if not isinstance(tensor, tf.Variable):
    return None
  name = tensor.name.split(":")[0]
  return name.replace("/ExponentialMovingAverage", "")


@gin.configurable(denylist=["inputs", "name"], module=names.OPS_GIN_MODULE)
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
  u_var = vs.get_variable(name + "/u_var", u_shape, initializers.normal(1.0),
                          dtype=w.dtype, trainable=False, full=True,
                          aggregation=vs.VariableAggregation.ONLY_FIRST_REPLICA)
  u = tf.convert_to_tensor(u_var)
  # One round of power iteration.
  if singular_value == "left":
    v = tf.math.l2_normalize(tf.matmul(w, u, transpose_a=True), epsilon=epsilon)
    u = tf.math.l2_normalize(tf.matmul(w, v), epsilon=epsilon)
  else:
    v = tf.math.l2_normalize(tf.matmul(u, w, transpose_b=True), epsilon=epsilon)
    u = tf.math.l2_normalize(tf.matmul(v, w), epsilon=epsilon)
  deps = (vs.control_inputs(u_var.assign(u, read_value=False))
          if vs.state_updates_enabled() else [])
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


@gin.configurable("orthogonal_regularization", denylist=["variables"],
                 module=names.OPS_GIN_MODULE)
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
