"""Progress lines for long runs: step, steps/s, images/s and ETA."""

import time

from absl import logging


class ProgressReporter:
  """Logs `step/total (x%) | steps/s | images/s | ETA` after each host loop."""

  def __init__(self, total_steps, images_per_step, start_step=0, clock=time.time):
    self._total = total_steps
    self._images_per_step = images_per_step
    self._clock = clock
    self._last_step = start_step
    self._last_time = clock()

  def report(self, step):
    """Logs one progress line and returns its fields."""
    now = self._clock()
    elapsed = max(now - self._last_time, 1e-9)
    steps_per_sec = (step - self._last_step) / elapsed
    images_per_sec = steps_per_sec * self._images_per_step
    remaining = max(self._total - step, 0)
    eta_sec = remaining / steps_per_sec if steps_per_sec > 0 else float("inf")
    fields = {"step": step, "steps_per_sec": steps_per_sec,
              "images_per_sec": images_per_sec, "eta_sec": eta_sec}
    logging.info("step %d/%d (%.1f%%) | %.2f steps/s | %.1f images/s | ETA %s",
                 step, self._total, 100.0 * step / max(self._total, 1),
                 steps_per_sec, images_per_sec, format_duration(eta_sec))
    self._last_step, self._last_time = step, now
    return fields


def format_duration(seconds):
  if seconds == float("inf"):
    return "unknown"
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
