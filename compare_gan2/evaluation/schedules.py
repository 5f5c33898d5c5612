"""Schedules `continuous_eval` and `eval_after_train` (wired in compare_gan2/main.py).

Flags (ctx.flags, from main.py): `eval_every_steps` (evaluate checkpoints whose
step is a multiple of it; 0 = every checkpoint including step 0; with > 0,
step 0 is skipped as compare_gan intended, and the final checkpoint
(step == options.training_steps) is evaluated too), `num_eval_averaging_runs`
(3), `score_filename` (scores.csv).

After-evaluation actions (e.g. the TF-Hub export): callables
`fn(ctx, step, checkpoint_path, scores)` passed as `after_evaluation`; each runs
after a checkpoint's scores are written, with the GAN in `ctx.gan` still
holding that checkpoint's weights. Their exceptions are logged, not raised.
"""

import time

from absl import logging
import gin
import tensorflow as tf

from compare_gan2 import errors as errors_lib
from compare_gan2 import logs
from compare_gan2 import model_dir as model_dir_lib
from compare_gan2.evaluation import evaluator as evaluator_lib
from compare_gan2.evaluation import scores as scores_lib
from compare_gan2.training import checkpoints
from compare_gan2.training import runner

@gin.configurable("continuous_eval")
def continuous_eval_options(poll_seconds=60, timeout_seconds=24 * 3600):
  """Gin `continuous_eval.*`: polling period and the give-up timeout (seconds
  without a new checkpoint while TRAIN_DONE is absent)."""
  return float(poll_seconds), float(timeout_seconds)


def wanted_step(step, every, final_step=None):
  if not every:
    return True
  if step == 0:
    return False
  return step % every == 0 or (final_step is not None and step == final_step)


class _EvalLoop:
  """Evaluates unevaluated checkpoints of ctx.model_dir, writing score files."""

  def __init__(self, ctx, evaluator=None, after_evaluation=()):
    self.ctx = ctx
    self.after_evaluation = tuple(after_evaluation)
    flags = ctx.flags
    self.every = int(flags.eval_every_steps or 0)
    self.final_step = (ctx.options or {}).get("training_steps")
    self.files = scores_lib.ScoreFiles(
        ctx.model_dir, flags.score_filename)
    self.evaluator = evaluator or evaluator_lib.Evaluator(
        ctx.gan, ctx.dataset,
        num_averaging_runs=int(flags.num_eval_averaging_runs))
    repaired = self.files.repair()
    if repaired:
      logging.info("Rebuilt %s from %s: it missed steps %s (an evaluation was "
                   "interrupted between the two writes).", self.files.csv_path,
                   self.files.jsonl_path, repaired)
    self.done = self.files.evaluated_steps()
    if self.done:
      logging.info("Resuming evaluation: %d checkpoints already have scores "
                   "in %s.", len(self.done), self.files.csv_path)

  def pending(self):
    return [p for p in checkpoints.all_checkpoints(self.ctx.model_dir)
            if checkpoints.step_of(p) not in self.done
            and wanted_step(checkpoints.step_of(p), self.every, self.final_step)]

  def evaluate(self, path):
    """Evaluates one checkpoint; returns its record, or None if it vanished."""
    step = checkpoints.step_of(path)
    start = time.time()
    logging.info("Evaluating %s (step %d).", path, step)
    try:
      with self.ctx.strategy.scope():
        scores, errors = self.evaluator.evaluate_checkpoint(path)
    except (checkpoints.CheckpointNotFoundError, tf.errors.NotFoundError,
            tf.errors.DataLossError) as e:
      if tf.io.gfile.exists(path + ".index"):
        raise
      logging.warning("Checkpoint %s was deleted (trainer retention?) while "
                      "being evaluated; skipping it. (%s)", path, e)
      self.done.add(step)
      return None
    record = self.files.add(path, step, scores, errors)
    self.done.add(step)
    logging.info("Evaluated step %d in %.1fs: %s", step, time.time() - start,
                 {k: v for k, v in scores.items() if k.endswith("_mean")})
    for action in self.after_evaluation:
      try:
        action(self.ctx, step, path, scores)
      except Exception:  # pylint: disable=broad-except
        logging.exception("After-evaluation action %r failed.", action)
    return record

  def run_pending(self):
    records = []
    for path in self.pending():
      records.append(self.evaluate(path))
    return records


def check_writable(ctx):
  """A UserError, before an evaluation does any work, if the model directory
  cannot be written (its scores could not be saved)."""
  try:
    model_dir_lib.check_writable(ctx.model_dir)
  except OSError as e:
    raise errors_lib.UserError(
        f"Cannot write to {ctx.model_dir} ({e.strerror or e}): evaluation "
        f"writes its scores there ({model_dir_lib.SCORES_JSONL}, "
        f"{ctx.flags.score_filename}, {model_dir_lib.EVAL_RUN}/). Make the "
        "directory writable, or copy the model directory somewhere writable "
        "and evaluate the copy.") from e


def remove_stale_temp_files(ctx):
  """Removes the temporary files interrupted writes left in the model
  directory: old ones only, since another evaluation or the training may be
  writing next to this one (model_dir.remove_stale_temp_files)."""
  for path in model_dir_lib.remove_stale_temp_files(ctx.model_dir):
    logging.info("Removed %s, left by an interrupted write.", path)


def continuous_eval(ctx, sleep_fn=time.sleep, evaluator=None,
                    after_evaluation=()):
  """Evaluates new checkpoints as they appear; stops after TRAIN_DONE.

  Stops when TRAIN_DONE exists and no unevaluated checkpoint is left (checked
  in that order, so a checkpoint written just before TRAIN_DONE is not missed),
  or after `continuous_eval.timeout_seconds` without new checkpoints.
  Returns the list of records written.
  """
  poll, timeout = continuous_eval_options()
  check_writable(ctx)
  logs.start()
  remove_stale_temp_files(ctx)
  loop = _EvalLoop(ctx, evaluator, after_evaluation)
  records, last_activity = [], time.time()
  while True:
    training_done = checkpoints.is_training_done(ctx.model_dir)
    pending = loop.pending()
    if pending:
      for path in pending:
        record = loop.evaluate(path)
        if record is not None:
          records.append(record)
      last_activity = time.time()
      continue
    if training_done:
      logging.info("Training is done and every checkpoint is evaluated.")
      return records
    if time.time() - last_activity > timeout:
      logging.warning("No new checkpoint in %s for %.0fs and no %s; stopping.",
                      ctx.model_dir, timeout, checkpoints.TRAIN_DONE)
      return records
    sleep_fn(poll)


def steps_deleted_before_evaluation(ctx):
  """Wanted steps that checkpoint retention deletes before eval_after_train sees them.

  The trainer saves step 0, every multiple of `run_config.save_checkpoints_steps`
  and the last step, keeping the newest `run_config.keep_checkpoint_max`.
  """
  every = int(ctx.flags.eval_every_steps or 0)
  last = int(ctx.options["training_steps"])
  period = ctx.run_config.save_checkpoints_steps
  saved = sorted({0, last} | set(range(period, last + 1, period) if period else ()))
  kept = set(saved[-ctx.run_config.keep_checkpoint_max:])
  return [s for s in saved if s not in kept and wanted_step(s, every, last)]


def eval_after_train(ctx, evaluator=None, after_evaluation=()):
  """Trains (runner.schedule_train), then evaluates every wanted checkpoint."""
  check_writable(ctx)  # The training's start removes stale temporary files.
  lost = steps_deleted_before_evaluation(ctx)
  if lost:
    logging.warning(
        "eval_after_train will not evaluate steps %s: only the newest "
        "run_config.keep_checkpoint_max = %d checkpoints are kept. Raise it, or "
        "run --schedule=continuous_eval alongside training instead.",
        lost, ctx.run_config.keep_checkpoint_max)
  runner.schedule_train(ctx)
  loop = _EvalLoop(ctx, evaluator, after_evaluation)
  return [r for r in loop.run_pending() if r is not None]

