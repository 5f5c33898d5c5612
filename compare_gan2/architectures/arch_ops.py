"""Transitional aliases of the layer API under compare_gan's module name.

The layers now live in one module per concern:
  variable_store  VariableStore, using_store, variable_scope, root_scope,
                  full_name, get_variable, no_state_updates
  precision       mixed_precision, network_precision, compute_dtype, compute_cast
  initializers    weight_initializer (gin "weights")
  weight_ops      spectral_norm, orthogonal_regularization
  layers          linear, conv2d, conv1x1, deconv2d, lrelu, class_projection
  normalization   batch_stats_hook, standardize_batch, batch_norm,
                  conditional_batch_norm, self_modulated_batch_norm, layer_norm
  attention       attention, non_local_block

Import those. This module only re-exports them for code written against the
former `arch_ops` while it is being moved over; it registers nothing (the gin
names `arch_ops.*` are registered by the modules above, see
`names.OPS_GIN_MODULE`). Delete it when nothing imports it.
"""

# pylint: disable=unused-import
from compare_gan2.architectures.attention import ATTENTION_QUERY_BLOCK
from compare_gan2.architectures.attention import attention
from compare_gan2.architectures.attention import non_local_block
from compare_gan2.architectures.initializers import get_initialization_seed
from compare_gan2.architectures.initializers import set_initialization_seed
from compare_gan2.architectures.initializers import weight_initializer
from compare_gan2.architectures.layers import conv1x1
from compare_gan2.architectures.layers import conv2d
from compare_gan2.architectures.layers import conv_kernel_and_bias
from compare_gan2.architectures.layers import deconv2d
from compare_gan2.architectures.layers import linear
from compare_gan2.architectures.layers import lrelu
from compare_gan2.architectures.normalization import batch_norm
from compare_gan2.architectures.normalization import batch_stats_hook
from compare_gan2.architectures.normalization import conditional_batch_norm
from compare_gan2.architectures.normalization import cross_replica_moments
from compare_gan2.architectures.normalization import layer_norm
from compare_gan2.architectures.normalization import no_batch_norm
from compare_gan2.architectures.normalization import self_modulated_batch_norm
from compare_gan2.architectures.normalization import standardize_batch
from compare_gan2.architectures.precision import compute_cast
from compare_gan2.architectures.precision import compute_dtype
from compare_gan2.architectures.precision import mixed_precision
from compare_gan2.architectures.precision import network_precision
from compare_gan2.architectures.variable_store import VariableAggregation
from compare_gan2.architectures.variable_store import VariableStore
from compare_gan2.architectures.variable_store import current_scope
from compare_gan2.architectures.variable_store import current_store
from compare_gan2.architectures.variable_store import full_name
from compare_gan2.architectures.variable_store import get_variable
from compare_gan2.architectures.variable_store import no_state_updates
from compare_gan2.architectures.variable_store import root_scope
from compare_gan2.architectures.variable_store import state_updates_enabled
from compare_gan2.architectures.variable_store import using_store
from compare_gan2.architectures.variable_store import variable_scope
from compare_gan2.architectures.weight_ops import orthogonal_regularization
from compare_gan2.architectures.weight_ops import spectral_norm
