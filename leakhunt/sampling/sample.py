"""The Sample record every source (local PID, remote host, soak target) produces."""

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation of one process. Optional fields are None where the source cannot tell.

    `t_sim_s` is the target's simulated clock for soak runs and equals `t_wall_s` for live ones.
    """

    t_wall_s: float
    t_sim_s: float
    rss_bytes: int
    uss_bytes: int | None = None
    swap_bytes: int = 0
    cpu_percent: float = 0.0
    py_heap_bytes: int | None = None


SAMPLE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Sample))
