"""A service's request loop paced by its own clock, for the helpers that leak as a service does.

The sleep is the thing under test here: a leak that happens in real time at a known rate, as in
production, for a watch to measure. Nothing waits on it for synchronisation.
"""

import time
from collections.abc import Callable


def serve_at_rate(handle: Callable[[int], None], rate_per_s: float, *, step_s: float, first: int = 0) -> None:
    """Call `handle(n)` for n = first, first + 1, ... at `rate_per_s`, `rate_per_s * step_s`
    calls a step, each step on the clock's schedule (a slow step is caught up, not drifted)."""
    started, n, k = time.monotonic(), first, 0
    while True:
        k += 1
        for _ in range(max(1, round(rate_per_s * step_s))):
            handle(n)
            n += 1
        time.sleep(max(0.0, started + k * step_s - time.monotonic()))  # the pace under test, not a wait
