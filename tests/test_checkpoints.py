"""Checkpoint listing: relative and moved model directories."""

import os
import shutil

import tensorflow as tf

from compare_gan2.training import checkpoints


def _save_steps(model_dir, steps):
  step = tf.Variable(0, dtype=tf.int64)
  ckpt = checkpoints.make_checkpoint({"global_step": step})
  manager = checkpoints.make_manager(ckpt, model_dir, keep_checkpoint_max=10)
  for value in steps:
    step.assign(value)
    manager.save(checkpoint_number=value)


def test_all_checkpoints_with_relative_model_dir(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  _save_steps(os.path.join("runs", "demo"), [0, 10, 20])
  paths = checkpoints.all_checkpoints(os.path.join("runs", "demo"))
  assert [checkpoints.step_of(p) for p in paths] == [0, 10, 20]
  assert all(os.path.exists(p + ".index") for p in paths)


def test_all_checkpoints_after_moving_the_run(tmp_path):
  _save_steps(str(tmp_path / "before"), [0, 5])
  shutil.move(str(tmp_path / "before"), str(tmp_path / "after"))
  paths = checkpoints.all_checkpoints(str(tmp_path / "after"))
  assert [checkpoints.step_of(p) for p in paths] == [0, 5]
  assert all(p.startswith(str(tmp_path / "after")) for p in paths)
