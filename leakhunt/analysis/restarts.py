"""Where one process ends and the next begins, and one growth over the stretches between.

A leak cut by restarts (the incident's service climbed and was restarted every ~25 minutes) is
still a leak: each stretch between restarts is fitted on its own and the stretches' slopes are
combined. Restarts come from what was recorded (a watch's restart events, a changed
`process_start_time_seconds`) or, without that, from the curve alone:
- a sharp drop to under half the level just before it (`RESTART_DROP_FRACTION`: a new process
  starts small), or back to the level the series started at (within `START_LEVEL_SHARE` of the
  climb since then, by a drop of at least `RESTART_RANGE_SHARE` of the series' range: the new
  process warms up to where the old one began);
- followed by a new climb (`CLIMB_SHARE` of the drop);
- at most `MAX_CURVE_RESTARTS` of them. More such drops are a sawtooth, a cleanup that frees what
  accumulated, which analysis/growth.py judges on its envelope. The curve alone cannot tell a few
  drops to the start level from a slow cleanup: the method says which reading was taken and what
  would settle it (a start-time series, or watching the unit).

Segments: each is fitted by `fit_growth` (its warm-up left out, as a restarted process warms up
again); the slope is the inverse-variance mean of the segments that have one, its 95 % interval
the combined one.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from leakhunt.analysis.growth import Growth, fit_growth

RESTART_DROP_FRACTION = 0.5
# A drop "back to the start level" lands within this share of the climb above that level.
START_LEVEL_SHARE = 0.25
# ... by a drop of at least this share of the whole series' range.
RESTART_RANGE_SHARE = 0.5
# The level a series started at: the median of its first points (this share, at least 3).
START_LEVEL_POINTS_SHARE = 0.02
MAX_CURVE_RESTARTS = 2
# A restart's new climb: the segment after the drop ends this share of the drop above its start.
CLIMB_SHARE = 0.1
# Smaller drops are allocator noise, not a process ending (a few pages handed back).
MIN_DROP_BYTES = 2**20
MAX_FIT_POINTS = 1000


def curve_restarts(rss_bytes: np.ndarray) -> list[int]:
    """Indices where a new process starts, from the curve alone (see the rules)."""
    y = np.asarray(rss_bytes, dtype=float)
    if len(y) < 8:
        return []
    start_level = float(np.median(y[: max(3, int(START_LEVEL_POINTS_SHARE * len(y)))]))
    before, after = y[:-1], y[1:]
    to_small = after < RESTART_DROP_FRACTION * before
    climbed = before - start_level
    # Back to the start level, and by a drop that is most of the series' range: a gc tooth a few
    # megabytes high early in a climb lands near the start level too.
    to_start = (
        (climbed > 0)
        & (after <= start_level + START_LEVEL_SHARE * climbed)
        & (before - after >= RESTART_RANGE_SHARE * float(np.ptp(y)))
    )
    drops = np.flatnonzero((to_small | to_start) & (before - after >= MIN_DROP_BYTES)) + 1
    if len(drops) > MAX_CURVE_RESTARTS:
        return []
    bounds = [*drops.tolist(), len(y)]
    starts = []
    for start, end in itertools.pairwise(bounds):
        stretch = y[start:end]
        tail = stretch[-max(1, len(stretch) // 3) :]
        if float(np.median(tail)) > y[start] + CLIMB_SHARE * (y[start - 1] - y[start]):
            starts.append(start)
    return starts


def event_restarts(t_s: np.ndarray, restart_t_s: Sequence[float]) -> list[int]:
    """Indices of the first samples of the processes that recorded restarts started."""
    index = np.searchsorted(t_s, np.asarray(restart_t_s, dtype=float), side="left")
    return sorted({int(i) for i in index if 0 < i < len(t_s)})


def fit_segments(t_s: np.ndarray, rss_bytes: np.ndarray, cuts: Sequence[int]) -> Growth:
    """One Growth over the segments between restarts (see the rules)."""
    bounds = [0, *sorted(cuts), len(t_s)]
    fits = [
        fit_growth(t_s[a:b], rss_bytes[a:b], max_points=MAX_FIT_POINTS)
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    if len(fits) == 1:
        return fits[0]
    usable = [
        g
        for g in fits
        if g.shape != "too_few"
        and math.isfinite(g.ci_low_bytes_per_min)
        and math.isfinite(g.ci_high_bytes_per_min)
    ]
    longest = max(usable or fits, key=lambda g: g.n_samples)
    if len(usable) <= 1:
        return replace(
            longest,
            method=longest.method
            + f"; {len(fits)} segments between restarts, only the longest one could be fitted",
        )
    half = np.array([(g.ci_high_bytes_per_min - g.ci_low_bytes_per_min) / 2 for g in usable])
    weights = 1.0 / np.maximum(half, 1e-9) ** 2
    slopes = np.array([g.slope_bytes_per_min for g in usable])
    slope = float(weights @ slopes / weights.sum())
    combined_half = float(1.0 / np.sqrt(weights.sum()))
    return replace(
        longest,
        slope_bytes_per_min=slope,
        ci_low_bytes_per_min=slope - combined_half,
        ci_high_bytes_per_min=slope + combined_half,
        n_samples=sum(g.n_samples for g in fits),
        n_fit_points=sum(g.n_fit_points for g in usable),
        method=f"{len(usable)} segments between restarts or gaps, each fitted on its own and weighted by its "
        f"interval; the longest: {longest.method}",
    )


def curve_reading(n_curve_restarts: int, confirm: str) -> str:
    """What a restart read from the curve alone rests on, and what would settle it."""
    drops = "1 drop" if n_curve_restarts == 1 else f"{n_curve_restarts} drops"
    return (
        f"{n_curve_restarts + 1} segments: {drops} to the start level or below half read as restarts "
        f"(a slow cleanup would look the same; {confirm} to confirm)"
    )


def segment_start_bytes(rss_bytes: np.ndarray, cuts: Sequence[int]) -> float:
    """Where the current process started: the first value of the last segment."""
    return float(rss_bytes[max(cuts)]) if cuts else float(rss_bytes[0])


def fresh_start_to_limit_min(
    limit_bytes: float | None, start_bytes: float, slope_bytes_per_min: float
) -> float | None:
    """How long a restarted process lasts before it reaches the limit: for a service restarted
    when it dies, how often it will die. None without a limit or growth."""
    if not limit_bytes or slope_bytes_per_min <= 0 or start_bytes >= limit_bytes:
        return None
    return (limit_bytes - start_bytes) / slope_bytes_per_min


def fresh_start_text(minutes: float | None) -> str:
    return "" if minutes is None else f"; a restarted process reaches it in ~{minutes:,.0f} min"
