"""One worker of the 2-process MultiWorkerMirroredStrategy test (test_distributed.py).

Usage: python multiworker_job.py MODEL_DIR TRAINING_STEPS [KILL_AT_STEP]
$TF_CONFIG names the cluster and this task. With KILL_AT_STEP the process dies
(os._exit, no clean-up) right after the checkpoint of that step.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

sys.path.insert(0, os.path.dirname(__file__))

import tf_test_utils  # noqa: E402  pylint: disable=g-import-not-at-top

from compare_gan2 import gin_setup  # noqa: E402
from compare_gan2 import builder  # noqa: E402
from compare_gan2.training import runner  # noqa: E402


def main(model_dir, training_steps, kill_at=None):
  gin_setup.parse(bindings=list(tf_test_utils.TINY_GAN_BINDINGS) + [
      f"options.training_steps = {training_steps}",
      "run_config.save_checkpoints_steps = 2",
      "run_config.iterations_per_loop = 1",
      "standardize_batch.use_cross_replica_mean = True",
  ])
  ctx = builder.build_context(model_dir)
  assert ctx.strategy.num_replicas_in_sync == 2, ctx.strategy

  def kill(step, path):
    del path
    if kill_at is not None and step == kill_at:
      os._exit(17)  # pylint: disable=protected-access

  runner.schedule_train(ctx, on_checkpoint=kill)


if __name__ == "__main__":
  main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
