"""Strategy resolution rules (TPU / multi-worker / multi-GPU / default)."""

import json

import pytest
import tensorflow as tf

from compare_gan2 import strategy as strategy_lib


def test_use_tpu_flag_follows_tpu_name(monkeypatch):
  monkeypatch.delenv("TPU_NAME", raising=False)
  assert strategy_lib.use_tpu_from_flag(None) is False
  monkeypatch.setenv("TPU_NAME", "my-tpu")
  assert strategy_lib.use_tpu_from_flag(None) is True
  assert strategy_lib.use_tpu_from_flag(False) is False


def test_tf_config_worker_count(monkeypatch):
  monkeypatch.setenv("TF_CONFIG", json.dumps({
      "cluster": {"worker": ["a:1", "b:2"], "chief": ["c:3"]},
      "task": {"type": "worker", "index": 0}}))
  assert strategy_lib._num_workers_in_tf_config() == 3  # pylint: disable=protected-access
  monkeypatch.setenv("TF_CONFIG", "{not json")
  with pytest.raises(ValueError, match="TF_CONFIG"):
    strategy_lib._num_workers_in_tf_config()  # pylint: disable=protected-access


def test_cpu_resolves_to_default_strategy(monkeypatch):
  monkeypatch.delenv("TPU_NAME", raising=False)
  monkeypatch.delenv("TF_CONFIG", raising=False)
  strategy = strategy_lib.resolve_strategy()
  assert strategy is tf.distribute.get_strategy()
  assert strategy.num_replicas_in_sync == 1
