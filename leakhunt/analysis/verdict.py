"""LEAK / BOUNDED / STABLE / INCONCLUSIVE from a Growth, never a guess.

Rules, in order (shown in every report):
1. Fewer than 10 points to fit: INCONCLUSIVE.
2. The curve flattens to a plateau: BOUNDED.
3. The whole 95 % interval at or below the stable bound (default the incident's 50 MB/h): STABLE.
4. The low end of the interval above the stable bound: LEAK.
5. Otherwise the interval straddles the bound: INCONCLUSIVE, "sample longer or more often".
Time to limit is given for a growing series with a known limit: (limit - last RSS) / slope.
"""

from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from leakhunt.analysis.growth import Growth
from leakhunt.units import format_mb

MB = 1e6
STABLE_BOUND_BYTES_PER_MIN = 50 * MB / 60  # the incident's criterion: growth < 50 MB/h


class Verdict(StrEnum):
    LEAK = "LEAK"
    BOUNDED = "BOUNDED"
    STABLE = "STABLE"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    stable_bound_bytes_per_min: float
    time_to_limit_min: float | None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        return data


def _rate(value: float) -> str:
    return f"{format_mb(value)} MB/min" if np.isfinite(value) else "unbounded"


def judge(
    growth: Growth,
    *,
    stable_bound_bytes_per_min: float = STABLE_BOUND_BYTES_PER_MIN,
    limit_bytes: float | None = None,
    last_rss_bytes: float | None = None,
) -> Judgement:
    slope, low, high = growth.slope_bytes_per_min, growth.ci_low_bytes_per_min, growth.ci_high_bytes_per_min
    bound = stable_bound_bytes_per_min
    interval = f"{_rate(slope)} (95 % CI {_rate(low)} to {_rate(high)})"
    bound_text = f"the stable bound of {_rate(bound)} ({bound * 60 / MB:.3g} MB/h)"
    if growth.shape == "too_few":
        verdict = Verdict.INCONCLUSIVE
        reason = f"only {growth.n_fit_points} points to fit after warm-up; need at least 10: sample longer"
    elif growth.shape == "plateau":
        verdict = Verdict.BOUNDED
        reason = f"growth flattens to a plateau: now {interval}"
    elif high <= bound:
        verdict = Verdict.STABLE
        reason = f"grows {interval}, within {bound_text}"
        if low > 0:
            reason += "; it does grow (the interval excludes zero): a slow leak under the bound"
    elif low > bound:
        verdict = Verdict.LEAK
        reason = f"grows {interval}, above {bound_text}"
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = f"grows {interval}, an interval that straddles {bound_text}: sample longer or more often"
    if growth.shape == "sawtooth" and verdict != Verdict.INCONCLUSIVE:
        reason += "; judged on the sawtooth's envelope"
    time_to_limit_min = None
    if limit_bytes and last_rss_bytes is not None and verdict == Verdict.LEAK and slope > 0:
        time_to_limit_min = max(0.0, (limit_bytes - last_rss_bytes) / slope)
    return Judgement(verdict, reason, bound, time_to_limit_min)


def reduction_percent(baseline_bytes_per_min: float, fixed_bytes_per_min: float) -> float | None:
    """How much of the baseline's growth a fix removes; None when the baseline does not grow."""
    if baseline_bytes_per_min <= 0:
        return None
    return 100.0 * (baseline_bytes_per_min - max(fixed_bytes_per_min, 0.0)) / baseline_bytes_per_min
