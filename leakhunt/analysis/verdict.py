"""LEAK / BOUNDED / STABLE / INCONCLUSIVE from a Growth, never a guess.

Rules, in order (shown in every report):
1. Fewer than 10 points to fit: INCONCLUSIVE.
2. The curve flattens to a plateau (its late interval holds zero, its early one does not): BOUNDED,
   unless its whole-span interval lies inside the negligible band: STABLE.
3. The low end of the 95 % interval above the negligible band: the growth is established, LEAK,
   with its pace beside it: "slow" when the whole interval is at or below the stable bound
   (default the incident's 50 MB/h; a `growth<50MB/h` gate still passes it), "fast" when its low
   end is above the bound, otherwise "near" the bound.
4. The whole interval at or below the stable bound, and holding zero or inside the negligible
   band: STABLE.
5. Otherwise INCONCLUSIVE: the interval straddles the bound, or it excludes zero by less than the
   negligible band; "sample longer or more often".
The negligible band is 2 MB/h (never above the stable bound): the smallest whole figure above
every low end seen on 1,000 flat AR(1) curves over 30 minutes (docs/decisions.md). For a
sawtooth it is at least the slope its sampling alone can draw (`Growth.alias_bytes_per_min`).
Time to limit is given for every LEAK with a known limit: (limit - last RSS) / slope, with the
range the interval allows; a limit already reached is reported as reached, with its time.
"""

from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np

from leakhunt.analysis.growth import Growth
from leakhunt.units import format_mb

MB = 1e6
STABLE_BOUND_BYTES_PER_MIN = 50 * MB / 60  # the incident's criterion: growth < 50 MB/h
# Growth a flat curve's interval can still show: the highest low end on 1,000 flat AR(1) curves
# (phi 0.5-0.98, sigma up to 3 MB) over 30 min at 5 s was 1.83 MB/h (tests/analysis/test_verdict.py).
NEGLIGIBLE_BYTES_PER_MIN = 2 * MB / 60


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
    # The time to limit at the interval's high and low slopes (soonest, latest; None: never).
    time_to_limit_range_min: tuple[float, float | None] | None = None
    # A LEAK's speed against the stable bound: "slow" (under it), "near" (straddling), "fast".
    pace: str | None = None

    @property
    def label(self) -> str:
        """The verdict as a headline says it: `LEAK (slow: under the 50 MB/h bound)`."""
        if self.pace is None:
            return str(self.verdict)
        bound = f"{format_mb(self.stable_bound_bytes_per_min * 60)} MB/h bound"
        return f"{self.verdict} ({self.pace}: {_PACE_WORDS[self.pace]} the {bound})"

    @property
    def short_label(self) -> str:
        """The verdict as a table cell says it: `LEAK, slow`."""
        return str(self.verdict) if self.pace is None else f"{self.verdict}, {self.pace}"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["verdict"] = str(self.verdict)
        data["label"] = self.label
        data["short_label"] = self.short_label
        return data


_PACE_WORDS = {"slow": "under", "near": "its interval straddles", "fast": "above"}


def rate_text(bytes_per_min: float) -> str:
    """`17.6 MB/min (1,056 MB/h)`: both units, plain numbers."""
    if not np.isfinite(bytes_per_min):
        return "unbounded"
    return f"{format_mb(bytes_per_min)} MB/min ({format_mb(bytes_per_min * 60)} MB/h)"


def _rate(value: float) -> str:
    return f"{format_mb(value)} MB/min" if np.isfinite(value) else "unbounded"


def _minutes_to(limit_bytes: float, last_rss_bytes: float, slope: float) -> float | None:
    return max(0.0, (limit_bytes - last_rss_bytes) / slope) if slope > 0 else None


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
    bound_text = f"the stable bound of {rate_text(bound)}"
    negligible = min(max(NEGLIGIBLE_BYTES_PER_MIN, growth.alias_bytes_per_min), bound)
    if growth.alias_bytes_per_min > NEGLIGIBLE_BYTES_PER_MIN:
        band_text = f"the {rate_text(negligible)} that sampling alone can draw through these teeth"
    else:
        band_text = f"the negligible band of {rate_text(negligible)}"
    pace = None
    if growth.shape == "too_few":
        verdict = Verdict.INCONCLUSIVE
        reason = f"only {growth.n_fit_points} points to fit after warm-up; need at least 10: sample longer"
    elif growth.shape == "plateau" and growth.whole_ci_high_bytes_per_min > negligible:
        verdict = Verdict.BOUNDED
        reason = (
            f"growth flattens to a plateau: {_rate(growth.early_slope_bytes_per_min)} early, now {interval}"
        )
    elif growth.shape == "plateau":
        verdict = Verdict.STABLE
        reason = (
            f"grows at most {_rate(growth.whole_ci_high_bytes_per_min)} over the run and flattens, "
            f"now {interval}: within {band_text}"
        )
    elif low > negligible:
        verdict = Verdict.LEAK
        if low > bound:
            pace, reason = "fast", f"grows {interval}, above {bound_text}"
        elif high <= bound:
            pace = "slow"
            reason = (
                f"grows {interval}: it does grow (the interval is clear of zero), all of it under "
                f"{bound_text}"
            )
        else:
            pace = "near"
            reason = (
                f"grows {interval}: it does grow (the interval is clear of zero), and the interval "
                f"straddles {bound_text}: sample longer to tell which side"
            )
    elif high <= bound and (low <= 0 or high <= negligible):
        verdict = Verdict.STABLE
        reason = f"grows {interval}, within {bound_text}"
    elif high <= bound:
        verdict = Verdict.INCONCLUSIVE
        reason = f"grows {interval}: above zero, but not clear of {band_text}: sample longer or more often"
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = f"grows {interval}, an interval that straddles {bound_text}: sample longer or more often"
    if growth.shape == "sawtooth" and verdict != Verdict.INCONCLUSIVE:
        reason += "; judged on the sawtooth's envelope"
    if growth.shape == "step":
        reason += f"; a one-off step of {format_mb(growth.step_bytes)} MB was taken out"
    time_to_limit_min, time_range = None, None
    if limit_bytes and last_rss_bytes is not None and verdict == Verdict.LEAK:
        time_to_limit_min = _minutes_to(limit_bytes, last_rss_bytes, slope)
        soonest = _minutes_to(limit_bytes, last_rss_bytes, high)
        time_range = (soonest, _minutes_to(limit_bytes, last_rss_bytes, low)) if soonest is not None else None
    return Judgement(verdict, reason, bound, time_to_limit_min, time_range, pace)


def limit_text(
    judgement: Judgement, *, limit_bytes: float | None, limit_hit_at_s: float | None = None
) -> str:
    """What the table's "to limit" column says: never a bare "never" or "0.0 min"."""
    if not limit_bytes:
        return "no limit set"
    if limit_hit_at_s is not None:
        return f"reached at {limit_hit_at_s / 60:.1f} min"
    if judgement.verdict == Verdict.INCONCLUSIVE:
        return "unknown"
    if judgement.time_to_limit_min is None:
        return "not approaching"
    minutes = judgement.time_to_limit_min
    return f"~{minutes:.1f} min" if minutes < 10 else f"~{minutes:,.0f} min"


def reduction_percent(baseline_bytes_per_min: float, fixed_bytes_per_min: float) -> float | None:
    """How much of the baseline's growth a fix removes; None when the baseline does not grow.

    A fixed run that shrinks removes more than 100 %: the number is not clipped.
    """
    if baseline_bytes_per_min <= 0:
        return None
    return 100.0 * (baseline_bytes_per_min - fixed_bytes_per_min) / baseline_bytes_per_min
