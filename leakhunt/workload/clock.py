"""A simulated clock: simulated seconds advance `speed` times faster than wall seconds.

speed 1 is real time, N is N times faster, None ("max") never waits, so a run's simulated time
is bounded only by the work it does.
"""

import math
import time

from leakhunt.errors import UsageError


def parse_speed(text: str | float | None) -> float | None:
    """`max` (or None) -> None; a positive number -> that factor."""
    if text is None or str(text).strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise UsageError(f"--speed {text!r} is not a number or 'max': use 1, 60 or max") from None
    if not (speed > 0 and math.isfinite(speed)):
        raise UsageError(f"--speed must be a positive number or 'max', got {text}")
    return speed


class SimClock:
    """Maps simulated time to wall time; `wait_until` is the only place the model waits."""

    def __init__(self, speed: float | None) -> None:
        self.speed = speed
        self._wall_start_s = time.monotonic()

    def wall_elapsed_s(self) -> float:
        return time.monotonic() - self._wall_start_s

    def wait_until(self, t_sim_s: float) -> None:
        """Block until wall time catches up with `t_sim_s` (no-op at max speed)."""
        if self.speed is None:
            return
        remaining_s = t_sim_s / self.speed - self.wall_elapsed_s()
        if remaining_s > 0:
            # Pacing the model at a chosen speed is this clock's job, not synchronisation.
            time.sleep(remaining_s)
