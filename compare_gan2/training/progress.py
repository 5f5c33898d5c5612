"""Progress lines for long runs: step, losses, steps/s, images/s and ETA."""

import re
import time

from absl import logging




class ProgressReporter:
  """Logs `step/total (x%) | D loss | G loss | steps/s | images/s | ETA` after
  each host loop (losses of the loop's last step; D's averaged over its
  `disc_iters` steps, metrics "d_0", "d_1", ...; G's is metric "g").

  The first loop includes tracing and compiling the step function: its line
  says so and gives its duration, and rates and ETA start from the next loop.
  """

  def __init__(self, total_steps, images_per_step, start_step=0, clock=time.time):
    self._total = total_steps
    self._images_per_step = images_per_step
    self._clock = clock
    self._last_step = start_step
    self._last_time = clock()
    self._compiled = False

  @staticmethod
  def _losses(metrics):
    metrics = metrics or {}
    d_losses = [float(v) for k, v in metrics.items() if re.fullmatch(r"d_\d+", k)]
    text = f" | D loss {sum(d_losses) / len(d_losses):.4g}" if d_losses else ""
    return text + (f" | G loss {float(metrics['g']):.4g}" if "g" in metrics else "")

  def report(self, step, metrics=None):
    """Logs one progress line and returns its fields."""
    now = self._clock()
    elapsed = max(now - self._last_time, 1e-9)
    where = (f"step {step}/{self._total} "
             f"({100.0 * step / max(self._total, 1):.1f}%){self._losses(metrics)}")
    self._last_time = now
    if not self._compiled:
      self._compiled = True
      self._last_step = step
      logging.info("%s | first loop, compilation included: %s", where,
                   format_duration(elapsed))
      return {"step": step, "steps_per_sec": None, "images_per_sec": None,
              "eta_sec": float("inf"), "first_loop_sec": elapsed}
    steps_per_sec = (step - self._last_step) / elapsed
    images_per_sec = steps_per_sec * self._images_per_step
    remaining = max(self._total - step, 0)
    eta_sec = remaining / steps_per_sec if steps_per_sec > 0 else float("inf")
    logging.info("%s | %.2f steps/s | %.1f images/s | ETA %s", where,
                 steps_per_sec, images_per_sec, format_duration(eta_sec))
    self._last_step = step
    return {"step": step, "steps_per_sec": steps_per_sec,
            "images_per_sec": images_per_sec, "eta_sec": eta_sec}


def format_duration(seconds):
  if seconds == float("inf"):
    return "unknown"
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
