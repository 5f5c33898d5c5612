"""Chooses the tf.distribute strategy: one training code path for every device.

Resolution order (compare_gan ran TPUEstimator; we run the same step everywhere):
1. TPU: `--use_tpu`, or `--use_tpu` unset and `$TPU_NAME` set -> TPUStrategy
   (`run_config.single_core` restricts it to one core).
2. `$TF_CONFIG` naming several workers -> MultiWorkerMirroredStrategy.
3. More than one GPU -> MirroredStrategy.
4. Otherwise the default strategy (one CPU or GPU).
"""

import json
import os

from absl import logging
import tensorflow as tf


def _num_workers_in_tf_config():
  config = os.environ.get("TF_CONFIG")
  if not config:
    return 0
  try:
    cluster = json.loads(config).get("cluster", {})
  except ValueError as e:
    raise ValueError(f"$TF_CONFIG is not valid JSON: {e}") from e
  return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def use_tpu_from_flag(use_tpu):
  """compare_gan's rule: None means 'use a TPU iff $TPU_NAME is set'."""
  if use_tpu is None:
    return bool(os.environ.get("TPU_NAME"))
  return bool(use_tpu)


def _tpu_strategy(tpu, single_core):
  resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
      tpu=tpu or os.environ.get("TPU_NAME"), zone=os.environ.get("TPU_ZONE"))
  tf.config.experimental_connect_to_cluster(resolver)
  topology = tf.tpu.experimental.initialize_tpu_system(resolver)
  if single_core:
    assignment = tf.tpu.experimental.DeviceAssignment.build(topology, num_replicas=1)
    return tf.distribute.TPUStrategy(resolver, experimental_device_assignment=assignment)
  return tf.distribute.TPUStrategy(resolver)


def resolve_strategy(use_tpu=None, tpu=None, single_core=False):
  """Returns the strategy for this machine (see the module docstring)."""
  if use_tpu_from_flag(use_tpu):
    strategy = _tpu_strategy(tpu, single_core)
  elif _num_workers_in_tf_config() > 1:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
  elif len(tf.config.list_logical_devices("GPU")) > 1 and not single_core:
    strategy = tf.distribute.MirroredStrategy()
  else:
    strategy = tf.distribute.get_strategy()
  logging.info("Strategy: %s with %d replica(s).", type(strategy).__name__,
               strategy.num_replicas_in_sync)
  return strategy
