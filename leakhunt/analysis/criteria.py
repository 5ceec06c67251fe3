"""`--expect` success criteria: `METRIC OP VALUE[@TIME]`, evaluated with the measured value shown.

Metrics: rss (size; at TIME after the start if `@` is given, else the last sample), peak (size),
growth (rate such as 50MB/h, against the fitted slope), swap (size, the most seen), cpu (percent,
the mean), uptime (duration), restarts (count). OP is one of < <= > >= == !=.
"""

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from leakhunt.analysis.growth import Growth
from leakhunt.analysis.verdict import rate_text
from leakhunt.expect import parse_expectation
from leakhunt.units import (
    format_bytes,
    format_duration,
)

if TYPE_CHECKING:
    import pandas as pd

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Criterion:
    text: str
    metric: str
    op: str
    threshold: float
    at_s: float | None
    value_text: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    # Could not be judged: too little data, an interval that reaches past the threshold, a run
    # that ended early, a time never reached. It gates like a failure unless --allow-unproven.
    NOT_PROVEN = "NOT PROVEN"


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    measured: float | None
    status: Status
    detail: str

    @property
    def passed(self) -> bool:
        return self.status == Status.PASS

    def to_dict(self) -> dict:
        return {
            "text": self.criterion.text,
            "metric": self.criterion.metric,
            "measured": self.measured,
            "threshold": self.criterion.threshold,
            "status": str(self.status),
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Observed:
    """What the criteria read from a run's samples. A finished run's come from its samples file
    (`observe`); a live view keeps them up to date sample by sample (analysis/live.py)."""

    n_samples: int
    covered_s: float  # from the first sample to the last
    last_rss_bytes: float
    peak_rss_bytes: float
    max_swap_bytes: float
    mean_cpu_percent: float
    # RSS at the moments `rss@T` criteria ask about: T -> (elapsed s of the nearest sample, RSS).
    rss_near: dict[float, tuple[float, float]] = field(default_factory=dict)


def observe(samples: "pd.DataFrame", at_s: Iterable[float] = ()) -> Observed:
    if samples.empty:
        return Observed(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    elapsed_s = samples["t_sim_s"] - samples["t_sim_s"].iloc[0]
    rss = samples["rss_bytes"]
    near = {}
    for t_s in at_s:
        nearest = (elapsed_s - t_s).abs().idxmin()  # the first of equally near samples
        near[t_s] = (float(elapsed_s.loc[nearest]), float(rss.loc[nearest]))
    return Observed(
        n_samples=len(samples),
        covered_s=float(elapsed_s.iloc[-1]),
        last_rss_bytes=float(rss.iloc[-1]),
        peak_rss_bytes=float(rss.max()),
        max_swap_bytes=float(samples["swap_bytes"].fillna(0).max()),
        mean_cpu_percent=float(samples["cpu_percent"].fillna(0).mean()),
        rss_near=near,
    )


def parse_expect(text: str) -> Criterion:
    """One criterion; anything malformed is a usage error that shows the grammar (leakhunt.expect,
    the one grammar, which the command line checks before the analysis loads)."""
    parsed = parse_expectation(text)
    return Criterion(
        text=parsed.text,
        metric=parsed.metric,
        op=parsed.op,
        threshold=parsed.threshold,
        at_s=parsed.at_s,
        value_text=re.sub(r"\s+", "", parsed.value_text),
    )


def _show(metric: str, value: float) -> str:
    if metric in ("rss", "peak", "swap"):
        return format_bytes(value)
    if metric == "growth":
        return rate_text(value)
    if metric == "cpu":
        return f"{value:.1f}%"
    if metric == "uptime":
        return format_duration(value)
    return f"{value:g}"


def _show_threshold(criterion: Criterion) -> str:
    """The threshold as the user wrote it (50MB/h stays 50 MB/h), spaced for reading."""
    if criterion.metric in ("growth", "rss", "peak", "swap") and criterion.value_text:
        return re.sub(r"^([0-9.eE+-]+)([A-Za-z])", r"\1 \2", criterion.value_text)
    return _show(criterion.metric, criterion.threshold)


def _measure(
    criterion: Criterion, seen: Observed, growth: Growth, restarts: int, uptime_s: float | None
) -> tuple[float | None, str]:
    metric = criterion.metric
    if not seen.n_samples and metric not in ("restarts", "uptime", "growth"):
        return None, "no samples: nothing was measured"
    if metric == "rss":
        if criterion.at_s is None:
            return seen.last_rss_bytes, "rss at the end"
        if seen.covered_s < criterion.at_s - 1e-6:
            covered = format_duration(seen.covered_s)
            return None, (
                f"rss at {format_duration(criterion.at_s)} not reached: the run covers {covered}; "
                f"run for at least {format_duration(criterion.at_s)}"
            )
        at_s, rss_bytes = seen.rss_near[criterion.at_s]
        return rss_bytes, f"rss at {at_s / 60:.1f} min"
    if metric == "peak":
        return seen.peak_rss_bytes, "peak rss"
    if metric == "swap":
        return seen.max_swap_bytes, "most swap seen"
    if metric == "cpu":
        return seen.mean_cpu_percent, "mean cpu"
    if metric == "growth":
        if growth.shape == "too_few":
            return None, (
                f"growth unknown: only {growth.n_fit_points} points to fit after warm-up; "
                "sample longer or more often"
            )
        return growth.slope_bytes_per_min, "growth"
    if metric == "uptime":
        if uptime_s is None:
            return None, "uptime unknown: the target's start time was not read"
        return uptime_s, "uptime"
    return float(restarts), "restarts"


def _growth_status(criterion: Criterion, growth: Growth, point_passes: bool) -> tuple[Status, str]:
    """A growth gate is decided by its whole 95 % interval, not the slope alone: PASS when all of
    it passes, FAIL when all of it fails, NOT PROVEN when it straddles the threshold, whichever
    side the slope is on (the slope alone proves little)."""
    low, high = growth.ci_low_bytes_per_min, growth.ci_high_bytes_per_min
    test = _OPS[criterion.op]
    low_passes, high_passes = test(low, criterion.threshold), test(high, criterion.threshold)
    if low_passes and high_passes:
        return Status.PASS, ", its whole 95 % CI too"
    if not (low_passes or high_passes):
        return Status.FAIL, ""
    # The end on the other side of the threshold from the slope.
    edge = (low if not low_passes else high) if point_passes else (low if low_passes else high)
    return Status.NOT_PROVEN, (
        f", but its 95 % CI reaches {rate_text(edge)}: run longer or sample more often to decide"
    )


def evaluate(
    criteria: Sequence[Criterion],
    samples: "pd.DataFrame | Observed",
    growth: Growth,
    *,
    restarts: int = 0,
    uptime_s: float | None = None,
    ended_early: str | None = None,
) -> list[CriterionResult]:
    """Each criterion PASS, FAIL or NOT PROVEN. `ended_early` says why a run stopped before its
    end (interrupted, the target died): what passed so far is then not proven for the whole run,
    while a failure already seen stays a failure."""
    if isinstance(samples, Observed):
        seen = samples
    else:
        seen = observe(samples, [c.at_s for c in criteria if c.metric == "rss" and c.at_s is not None])
    results = []
    for criterion in criteria:
        measured, what = _measure(criterion, seen, growth, restarts, uptime_s)
        if measured is None:
            results.append(CriterionResult(criterion, None, Status.NOT_PROVEN, what))
            continue
        point_passes = _OPS[criterion.op](measured, criterion.threshold)
        shown = f"{what} {_show(criterion.metric, measured)}"
        threshold = _show_threshold(criterion)
        status, note = (Status.PASS, "") if point_passes else (Status.FAIL, "")
        if criterion.metric == "growth":
            status, note = _growth_status(criterion, growth, point_passes)
        if point_passes:
            detail = f"{shown} {criterion.op} {threshold}{note}"
        else:
            detail = f"{shown} is not {criterion.op} {threshold}{note}"
        measured_to_the_end = criterion.metric == "rss" and criterion.at_s is not None
        if status == Status.PASS and ended_early and not measured_to_the_end:
            status = Status.NOT_PROVEN
            detail += f", but {ended_early}: rerun to the end to prove it"
        results.append(CriterionResult(criterion, measured, status, detail))
    return results


def gate_passes(results: Sequence[CriterionResult], *, allow_unproven: bool = False) -> bool:
    """What the exit code says: every criterion passed (or, if allowed, at least did not fail)."""
    accepted = {Status.PASS, Status.NOT_PROVEN} if allow_unproven else {Status.PASS}
    return all(result.status in accepted for result in results)
