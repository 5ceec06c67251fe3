"""How often to probe: at least MIN_PROBES in any run long enough for a verdict.

`--probe-interval auto` (the default) resolves to the run's duration / MIN_PROBES, at most
MAX_INTERVAL_S (a 60 s watch probes every 10 s; the 30-minute soak every 5 simulated minutes). A
watch without a duration does not know its length: it probes every FIRST_INTERVAL_S and doubles
the interval after every MIN_PROBES probes, up to MAX_INTERVAL_S, so a run stopped at any
moment after its first minute has had at least MIN_PROBES. A forked probe pauses the service for
the fork only (milliseconds), so a short interval costs the service little; the host pays one
short-lived child per probe.
"""

from dataclasses import dataclass

from leakhunt.errors import UsageError
from leakhunt.units import parse_duration_s

AUTO = "auto"
# How long a watch's probe may take before its child is killed: half the watch, between these.
MIN_DEADLINE_S = 5.0
MAX_DEADLINE_S = 300.0
MIN_PROBES = 6
MAX_INTERVAL_S = 300.0
FIRST_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Cadence:
    """`interval_s` None: probes off. `adaptive`: the doubling schedule of an open-ended watch."""

    interval_s: float | None
    adaptive: bool = False
    text: str = ""

    def next_after(self, t_s: float, probes_so_far: int) -> float:
        """When the next probe is due, after one taken at t_s (the probes_so_far-th)."""
        if self.interval_s is None:
            return float("inf")
        if not self.adaptive:
            return t_s + self.interval_s
        doublings = probes_so_far // MIN_PROBES
        return t_s + min(MAX_INTERVAL_S, self.interval_s * 2**doublings)


# A watch's own sampling interval (`--interval auto`): its duration over this many samples, from
# MIN_SAMPLE_INTERVAL_S to DEFAULT_SAMPLE_INTERVAL_S, which is also an open-ended watch's.
TARGET_SAMPLES = 120
MIN_SAMPLE_INTERVAL_S = 0.5
DEFAULT_SAMPLE_INTERVAL_S = 5.0


def sample_interval_s(text: str, duration_s: float | None, option: str = "--interval") -> float:
    """The RSS sampling interval for `--interval TEXT`: auto gives a short watch enough points
    for a verdict (a 60 s watch every 0.5 s, 120 points, where every 5 s gave 13)."""
    if text.strip().lower() == AUTO:
        if duration_s is None:
            return DEFAULT_SAMPLE_INTERVAL_S
        return min(DEFAULT_SAMPLE_INTERVAL_S, max(MIN_SAMPLE_INTERVAL_S, duration_s / TARGET_SAMPLES))
    interval_s = parse_duration_s(text, option)
    if interval_s <= 0:
        raise UsageError(f"{option} must be positive, got {text}")
    return interval_s


def probe_deadline_s(duration_s: float | None) -> float:
    """A probe's deadline in a watch of `duration_s` (None: open-ended): a watch ends at most
    this much after its duration, waiting for the probe in flight."""
    if duration_s is None:
        return MAX_DEADLINE_S
    return min(MAX_DEADLINE_S, max(MIN_DEADLINE_S, duration_s / 2))


def resolve(text: str, duration_s: float | None, option: str = "--probe-interval") -> Cadence:
    """The cadence for `--probe-interval TEXT` in a run of `duration_s` (None: open-ended)."""
    if text.strip().lower() == AUTO:
        if duration_s is None:
            return Cadence(FIRST_INTERVAL_S, adaptive=True, text="auto: every 10 s, doubling every 6 probes")
        interval_s = min(MAX_INTERVAL_S, duration_s / MIN_PROBES)
        return Cadence(interval_s, text=f"auto: every {interval_s:g} s ({MIN_PROBES} or more probes)")
    interval_s = parse_duration_s(text, option)
    if interval_s < 0:
        raise UsageError(f"{option} must be >= 0 (0 turns probes off) or auto, got {text}")
    return Cadence(interval_s or None, text=f"every {interval_s:g} s" if interval_s else "off")
