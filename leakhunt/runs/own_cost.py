"""What a run cost leakhunt's own process: every thread's CPU while it sampled (the live view,
writing, asking for probes), start-up and the final report left out, and so the report's imports
taken in a thread while the run goes on (runs/warm.py)."""

import time
from typing import Any

from leakhunt.runs.warm import imports_cpu_s


class OwnCpu:
    """Started when sampling starts; `cost()` when it ends."""

    def __init__(self) -> None:
        self.started_cpu_s = time.process_time() - imports_cpu_s()

    def cost(self, wall_s: float, samples: int) -> dict[str, Any]:
        cpu_s = max(0.0, time.process_time() - imports_cpu_s() - self.started_cpu_s)
        return {
            "leakhunt_cpu_s": cpu_s,
            "leakhunt_core_fraction": cpu_s / wall_s if wall_s else None,
            "leakhunt_cpu_s_per_sample": cpu_s / samples if samples else None,
        }
