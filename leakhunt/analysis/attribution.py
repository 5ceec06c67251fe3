"""What grows: type and line rankings from probe summaries, and RSS growth not in Python objects.

Input is summaries.jsonl (one pympler summary per probe, see sampling/probe.py). Rates are
Theil-Sen slopes over the probes (a plain difference with only two), so one noisy probe does not
decide the ranking. A type absent from a probe's top list counts as zero there: its rate is then
a lower bound, which is the safe side for a ranking of what grows.
"""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import theilslopes

MB = 1e6
# Below this share of the RSS growth, Python objects are said not to explain it.
PYTHON_EXPLAINS_SHARE = 0.5
NEGLIGIBLE_SHARE_OF_BOUND = 0.1


@dataclass(frozen=True)
class Growing:
    name: str
    first_count: int
    last_count: int
    first_size_bytes: int
    last_size_bytes: int
    bytes_per_min: float
    share_of_rss_growth: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate_bytes_per_min(t_min: np.ndarray, values: np.ndarray) -> float:
    if len(t_min) < 2 or np.ptp(t_min) == 0:
        return 0.0
    if len(t_min) == 2:
        return float((values[1] - values[0]) / (t_min[1] - t_min[0]))
    return float(theilslopes(values, t_min)[0])


def _rank(
    summaries: list[dict[str, Any]], rows_of: Any, key: str, rss_slope: float | None, top: int
) -> list[Growing]:
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    tables = [{row[key]: row for row in rows_of(s)} for s in summaries]
    names = set().union(*tables)
    ranked = []
    for name in names:
        sizes = np.array([t.get(name, {}).get("size_bytes", 0) for t in tables], dtype=float)
        counts = [t.get(name, {}).get("count", 0) for t in tables]
        rate = _rate_bytes_per_min(t_min, sizes)
        share = rate / rss_slope if rss_slope and rss_slope > 0 else None
        ranked.append(Growing(name, counts[0], counts[-1], int(sizes[0]), int(sizes[-1]), rate, share))
    ranked.sort(key=lambda g: g.bytes_per_min, reverse=True)
    return [g for g in ranked[:top] if g.bytes_per_min > 0]


def rank_growing_types(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float | None = None, top: int = 10
) -> list[Growing]:
    return _rank(summaries, lambda s: s.get("types") or [], "type", rss_slope_bytes_per_min, top)


def rank_growing_lines(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float | None = None, top: int = 10
) -> list[Growing]:
    traced = [s for s in summaries if s.get("tracemalloc")]
    return _rank(traced, lambda s: s["tracemalloc"]["lines"], "where", rss_slope_bytes_per_min, top)


@dataclass(frozen=True)
class Gap:
    rss_bytes_per_min: float
    python_bytes_per_min: float
    gap_bytes_per_min: float
    python_share: float | None
    statement: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def native_gap(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float, stable_bound_bytes_per_min: float
) -> Gap:
    """RSS growth minus the growth of the Python objects the probe sees, and what that means."""
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    heap = np.array([s.get("py_heap_bytes", 0) for s in summaries], dtype=float)
    python_rate = _rate_bytes_per_min(t_min, heap)
    gap = rss_slope_bytes_per_min - python_rate
    share = python_rate / rss_slope_bytes_per_min if rss_slope_bytes_per_min > 0 else None
    rss_text, py_text = f"{rss_slope_bytes_per_min / MB:.3g} MB/min", f"{python_rate / MB:.3g} MB/min"
    # Below the stable bound growth is still attributed (a slow leak is a leak); only growth too
    # small to tell from noise is not.
    if rss_slope_bytes_per_min <= NEGLIGIBLE_SHARE_OF_BOUND * stable_bound_bytes_per_min:
        statement = f"RSS does not grow measurably ({rss_text}): nothing to attribute."
    elif share is not None and share >= PYTHON_EXPLAINS_SHARE:
        statement = (
            f"Python objects explain {min(share, 1.0):.0%} of the RSS growth "
            f"({py_text} of {rss_text}): look at the growing types below."
        )
        if rss_slope_bytes_per_min <= stable_bound_bytes_per_min:
            statement += " It is within the stable bound, but it is growth."
    else:
        statement = (
            f"RSS grows {rss_text} but the Python objects the probe sees grow {py_text}: "
            f"{gap / MB:.3g} MB/min is not Python objects — native memory or allocator "
            "retention (NumPy/pandas buffers or C extensions outside pympler's view, glibc "
            "arenas holding freed memory). Try the cleanup with malloc_trim, or a native "
            "profiler such as memray with --native."
        )
    return Gap(rss_slope_bytes_per_min, python_rate, gap, share, statement)


def attribute(
    summaries: list[dict[str, Any]],
    rss_slope_bytes_per_min: float,
    stable_bound_bytes_per_min: float,
    since_s: float | None = None,
) -> dict[str, Any] | None:
    """The "What grows" section of a report; None with fewer than two probes.

    `since_s` limits the rates to the part of the run the RSS slope was fitted on (after warm-up,
    or the last third of a plateau), so a cache filling up to its cap is not called growth.
    """
    usable = sorted((s for s in summaries if "t_sim_s" in s), key=lambda s: s["t_sim_s"])
    if since_s is not None and sum(s["t_sim_s"] >= since_s for s in usable) >= 2:
        usable = [s for s in usable if s["t_sim_s"] >= since_s]
    if len(usable) < 2:
        return None
    gap = native_gap(usable, rss_slope_bytes_per_min, stable_bound_bytes_per_min)
    probe_s = [s.get("probe_s", 0.0) for s in usable]
    return {
        "statement": gap.statement,
        "gap": gap.to_dict(),
        "types": [g.to_dict() for g in rank_growing_types(usable, rss_slope_bytes_per_min)],
        "lines": [g.to_dict() for g in rank_growing_lines(usable, rss_slope_bytes_per_min)],
        "probes": len(usable),
        "since_s": usable[0]["t_sim_s"] if usable else None,
        "probe_s_mean": float(np.mean(probe_s)),
        "objects_last": usable[-1].get("objects"),
    }
