"""Per-series verdicts for a fleet, with what `predict_linear` would have said beside them.

Rules:
- Bytes or not: a memory series is whole numbers of bytes, and no process runs in less than a
  megabyte. A series whose largest value is under `MIN_PROCESS_BYTES`, or whose values are mostly
  fractions (`MAX_FRACTION_SHARE`: CPU seconds, ratios, rates), is refused with what was seen.
- Gaps: a step inside a series' span with no point (absent, stale, or "NaN") is a gap. The fit
  uses the points present, a gap ending a segment as a restart does; the gaps are listed per
  series, never filled with zeros.
- Restarts: a change of the start-time series (`process_start_time_seconds` beside a process
  metric, `container_start_time_seconds` beside a container one, or `--start-time-query`), or,
  from the curve alone, the drops analysis/restarts.py reads as restarts. Each stretch between
  restarts is fitted on its own there. The verdict and time to limit come from `judge`, as in
  `watch`, with the last value as the current RSS.
- Speed: each fit is `fit_growth` with watch's own `max_points` (1,000 bins); its binning takes
  the bins' medians in one numpy call per bin width, so 1,000 series x 1,441 points are judged
  in under 2 s on one core (benchmarks/results.md).
- predict_linear: least squares on the points of the last `window_s` before the end (the range
  selector takes points at or after end - window), x in seconds from the evaluation time, the
  value `intercept + slope * horizon_s`, as Prometheus' `funcPredictLinear` computes it (a
  constant series has slope 0; fewer than two points give nothing). It "alerts" when that value
  is above the limit; leakhunt "alerts" when its verdict is LEAK and the limit is reached within
  the same horizon. Where the two differ, the series counts as a disagreement.
- Ranking: LEAKs by time to limit (soonest first; without a limit, fastest first), then
  INCONCLUSIVE, BOUNDED, STABLE, each fastest growth first.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from leakhunt.analysis.criteria import Criterion, CriterionResult, evaluate, gate_passes
from leakhunt.analysis.growth import Growth
from leakhunt.analysis.restarts import (
    curve_reading,
    curve_restarts,
    fit_segments,
    fresh_start_text,
    fresh_start_to_limit_min,
    segment_start_bytes,
)
from leakhunt.analysis.verdict import STABLE_BOUND_BYTES_PER_MIN, Judgement, Verdict, judge, limit_text
from leakhunt.errors import UsageError
from leakhunt.fleet.prometheus import Series, Window

if TYPE_CHECKING:
    import pandas as pd

MIN_PROCESS_BYTES = 2**20
MAX_FRACTION_SHARE = 0.5
DEFAULT_PREDICT_WINDOW_S = 3600.0
DEFAULT_PREDICT_HORIZON_S = 4 * 3600.0
_RANK = {Verdict.LEAK: 0, Verdict.INCONCLUSIVE: 1, Verdict.BOUNDED: 2, Verdict.STABLE: 3}


@dataclass(frozen=True)
class FleetOptions:
    window: Window
    limit_bytes: float | None = None
    stable_bound_bytes_per_min: float = STABLE_BOUND_BYTES_PER_MIN
    predict_window_s: float = DEFAULT_PREDICT_WINDOW_S
    predict_horizon_s: float = DEFAULT_PREDICT_HORIZON_S
    criteria: tuple[Criterion, ...] = ()
    allow_unproven: bool = False


@dataclass(frozen=True)
class PredictLinear:
    window_s: float
    horizon_s: float
    value_bytes: float | None
    slope_bytes_per_min: float | None
    alerts: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_s": self.window_s,
            "horizon_s": self.horizon_s,
            "value_bytes": self.value_bytes,
            "slope_bytes_per_min": self.slope_bytes_per_min,
            "alerts": self.alerts,
        }


@dataclass
class SeriesResult:
    name: str
    labels: dict[str, str]
    t_s: np.ndarray
    rss_bytes: np.ndarray
    growth: Growth
    judgement: Judgement
    limit_bytes: float | None
    gaps: list[tuple[float, float]]
    restarts: list[dict[str, Any]]
    predict: PredictLinear
    criteria: list[CriterionResult] = field(default_factory=list)
    criteria_passed: bool = True
    # For a leak cut by restarts: how long a restarted process takes to reach the limit.
    restarted_to_limit_min: float | None = None

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict

    @property
    def leakhunt_alerts(self) -> bool | None:
        """LEAK and the limit reached within predict_linear's horizon; None without a limit."""
        if not self.limit_bytes:
            return None
        minutes = self.judgement.time_to_limit_min
        return bool(
            self.verdict == Verdict.LEAK and minutes is not None and minutes * 60 <= self.predict.horizon_s
        )

    @property
    def disagrees(self) -> bool:
        return self.predict.alerts is not None and self.predict.alerts != self.leakhunt_alerts

    @property
    def limit_hit_at_s(self) -> float | None:
        """Seconds from the first point to the first one at or above the limit, if any."""
        if not self.limit_bytes:
            return None
        above = np.flatnonzero(self.rss_bytes >= self.limit_bytes)
        return float(self.t_s[above[0]] - self.t_s[0]) if len(above) else None

    def events(self) -> list[dict[str, Any]]:
        """Restarts and gaps in watch's event form (kind, time, text), in time order."""
        first = float(self.t_s[0])
        events = [
            {
                "kind": "restart",
                "t_s": r["t_s"],
                "text": f"restart at {(r['t_s'] - first) / 60:.1f} min ({r['how']})",
            }
            for r in self.restarts
        ]
        events += [
            {
                "kind": "gap",
                "t_s": a,
                "text": f"gap from {(a - first) / 60:.1f} to {(b - first) / 60:.1f} min",
            }
            for a, b in self.gaps
        ]
        return sorted(events, key=lambda e: e["t_s"])

    def missing_s(self, step_s: float) -> float:
        return sum(b - a + step_s for a, b in self.gaps)

    def to_dict(self, step_s: float) -> dict[str, Any]:
        last = float(self.rss_bytes[-1])
        return {
            "name": self.name,
            "labels": self.labels,
            "n_points": len(self.t_s),
            "first_s": float(self.t_s[0]),
            "last_s": float(self.t_s[-1]),
            "gaps": [{"from_s": a, "to_s": b} for a, b in self.gaps],
            "missing_s": self.missing_s(step_s),
            "restarts": self.restarts,
            "events": self.events(),
            "growth": self.growth.to_dict(),
            "verdict": str(self.verdict),
            "verdict_label": self.judgement.label,
            "verdict_short": self.judgement.short_label,
            "pace": self.judgement.pace,
            "verdict_reason": self.judgement.reason,
            "method": self.growth.method,
            "time_to_limit_min": self.judgement.time_to_limit_min,
            "time_to_limit_range_min": self.judgement.time_to_limit_range_min,
            "to_limit": limit_text(
                self.judgement, limit_bytes=self.limit_bytes, limit_hit_at_s=self.limit_hit_at_s
            )
            + fresh_start_text(self.restarted_to_limit_min),
            "restarted_to_limit_min": self.restarted_to_limit_min,
            "memory_limit_bytes": self.limit_bytes,
            "final_rss_bytes": int(last),
            "peak_rss_bytes": int(np.max(self.rss_bytes)),
            "predict_linear": self.predict.to_dict(),
            "leakhunt_alerts": self.leakhunt_alerts,
            "disagrees": self.disagrees,
            "criteria": [r.to_dict() for r in self.criteria],
            "criteria_passed": self.criteria_passed,
        }


def check_bytes(series: Sequence[Series], query: str) -> None:
    """Refuse a query whose values cannot be bytes, saying what was seen (see the rules)."""
    for one in series:
        values = one.values
        if not len(values):
            continue
        largest = float(np.max(np.abs(values)))
        fractions = float(np.mean(values != np.round(values)))
        if largest < MIN_PROCESS_BYTES or fractions > MAX_FRACTION_SHARE:
            seen = f"the largest value is {largest:.6g}"
            if fractions > MAX_FRACTION_SHARE:
                seen += (
                    f" and {fractions:.0%} are fractions (e.g. {values[values != np.round(values)][0]:.6g})"
                )
            raise UsageError(
                f"{one.name} from {query!r} does not look like memory in bytes: {seen}; give a memory "
                "series such as process_resident_memory_bytes or container_memory_working_set_bytes "
                "(an average of bytes: wrap it in round())"
            )


def find_gaps(t_s: np.ndarray, step_s: float) -> list[tuple[float, float]]:
    """Runs of missing grid points between the first and last point present: (first, last) missing."""
    if len(t_s) < 2:
        return []
    jumps = np.flatnonzero(np.diff(t_s) > 1.5 * step_s)
    return [(float(t_s[i] + step_s), float(t_s[i + 1] - step_s)) for i in jumps]


def start_time_restarts(t_s: np.ndarray, start_t_s: np.ndarray, start_values: np.ndarray) -> list[int]:
    """Indices of `t_s` at which process_start_time_seconds has changed since the point before."""
    if len(start_values) < 2:
        return []
    changed_at = start_t_s[1:][np.diff(start_values) != 0]
    index = np.searchsorted(t_s, changed_at, side="left")
    return sorted({int(i) for i in index if 0 < i < len(t_s)})


def predict_linear(
    t_s: np.ndarray, values: np.ndarray, *, end_s: float, window_s: float, horizon_s: float
) -> tuple[float | None, float | None]:
    """Prometheus' predict_linear(x[window], horizon) evaluated at `end_s`: (value, slope per s)."""
    keep = (t_s >= end_s - window_s) & (t_s <= end_s)
    x = t_s[keep] - end_s
    y = values[keep]
    if len(y) < 2:
        return None, None
    if np.all(y == y[0]):
        return float(y[0]), 0.0
    n = float(len(y))
    sum_x, sum_y = float(x.sum()), float(y.sum())
    cov_xy = float(x @ y) - sum_x * sum_y / n
    var_x = float(x @ x) - sum_x * sum_x / n
    slope = cov_xy / var_x
    intercept = sum_y / n - slope * sum_x / n
    return intercept + slope * horizon_s, slope


def _samples(t_s: np.ndarray, rss_bytes: np.ndarray) -> "pd.DataFrame":
    """The shape `evaluate` reads; swap and cpu are not in a memory series (refused earlier)."""
    # pandas only for --expect: without it, a fleet never pays its import (0.6 s on a busy machine).
    import pandas as pd

    return pd.DataFrame(
        {"t_sim_s": t_s - t_s[0], "rss_bytes": rss_bytes, "swap_bytes": np.nan, "cpu_percent": np.nan}
    )


def analyse_series(
    series: Series,
    options: FleetOptions,
    *,
    limit_bytes: float | None = None,
    start_times: tuple[np.ndarray, np.ndarray] | None = None,
) -> SeriesResult:
    t_s, rss_bytes = series.t_s, series.values
    limit = limit_bytes if limit_bytes else options.limit_bytes
    # A start-time series settles which drops are restarts; without one the curve is read.
    from_curve = curve_restarts(rss_bytes) if start_times is None else []
    cuts = set(from_curve)
    how = dict.fromkeys(cuts, "drop and new climb")
    gaps = find_gaps(t_s, options.window.step_s)
    # A gap also ends a segment: levels either side of a hole are not one stretch of curve (the
    # fit's windows would straddle it and read the hole as a random walk).
    gap_cuts = {int(np.searchsorted(t_s, after_s, side="right")) for _, after_s in gaps}
    if start_times is not None:
        for index in start_time_restarts(t_s, *start_times):
            how[index] = "process_start_time_seconds changed"
            cuts.add(index)
    growth = fit_segments(t_s, rss_bytes, sorted(cuts | gap_cuts))
    if from_curve:
        reading = curve_reading(len(from_curve), "--start-time-query")
        growth = replace(growth, method=f"{growth.method}; {reading}")
    last = float(rss_bytes[-1])
    judgement = judge(
        growth,
        stable_bound_bytes_per_min=options.stable_bound_bytes_per_min,
        limit_bytes=limit,
        last_rss_bytes=last,
    )
    value, slope = predict_linear(
        t_s,
        rss_bytes,
        end_s=options.window.end_s,
        window_s=options.predict_window_s,
        horizon_s=options.predict_horizon_s,
    )
    predict = PredictLinear(
        options.predict_window_s,
        options.predict_horizon_s,
        value,
        slope * 60 if slope is not None else None,
        (value > limit) if (limit and value is not None) else None,
    )
    restarts = [{"t_s": float(t_s[i]), "how": how[i]} for i in sorted(cuts)]
    restarted_to_limit_min = None
    if cuts and judgement.verdict == Verdict.LEAK:
        restarted_to_limit_min = fresh_start_to_limit_min(
            limit, segment_start_bytes(rss_bytes, sorted(cuts)), growth.slope_bytes_per_min
        )
    result = SeriesResult(
        series.name, series.labels, t_s, rss_bytes, growth, judgement, limit,
        gaps, restarts, predict, restarted_to_limit_min=restarted_to_limit_min,
    )  # fmt: skip
    if options.criteria:
        uptime_s = None
        if start_times is not None and len(start_times[1]):
            uptime_s = float(t_s[-1] - start_times[1][-1])
        result.criteria = evaluate(
            options.criteria, _samples(t_s, rss_bytes), growth, restarts=len(restarts), uptime_s=uptime_s
        )
        result.criteria_passed = gate_passes(result.criteria, allow_unproven=options.allow_unproven)
    return result


def rank_key(result: SeriesResult) -> tuple[int, float, float]:
    minutes = result.judgement.time_to_limit_min
    first = minutes if (result.verdict == Verdict.LEAK and minutes is not None) else math.inf
    return (_RANK[result.verdict], first, -result.growth.slope_bytes_per_min)


def rank(results: list[SeriesResult]) -> list[SeriesResult]:
    return sorted(results, key=rank_key)
