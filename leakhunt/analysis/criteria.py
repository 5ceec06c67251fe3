"""`--expect` success criteria: `METRIC OP VALUE[@TIME]`, evaluated with the measured value shown.

Metrics: rss (size; at TIME after the start if `@` is given, else the last sample), peak (size),
growth (rate such as 50MB/h, against the fitted slope), swap (size, the most seen), cpu (percent,
the mean), uptime (duration), restarts (count). OP is one of < <= > >= == !=.
"""

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from leakhunt.analysis.growth import Growth
from leakhunt.errors import UsageError
from leakhunt.units import (
    format_bytes,
    format_duration,
    parse_duration_s,
    parse_rate_bytes_per_min,
    parse_size_bytes,
)

GRAMMAR = (
    "METRIC OP VALUE[@TIME], e.g. rss<2GB@30m, peak<2.5GB, growth<50MB/h, swap==0, cpu<40%, "
    "uptime>8h, restarts==0"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_PATTERN = re.compile(r"^\s*([a-z]+)\s*(<=|>=|==|!=|<|>)\s*([^@<>=!\s]+)\s*(?:@\s*(\S+))?\s*$")


def _percent(text: str, what: str) -> float:
    try:
        return float(text.removesuffix("%"))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a percentage such as 40%") from None


def _count(text: str, what: str) -> float:
    if not text.isdigit():
        raise UsageError(f"{what}: {text!r} is not a whole number")
    return float(text)


_PARSERS: dict[str, Callable[[str, str], float]] = {
    "rss": parse_size_bytes,
    "peak": parse_size_bytes,
    "swap": parse_size_bytes,
    "growth": parse_rate_bytes_per_min,
    "cpu": _percent,
    "uptime": parse_duration_s,
    "restarts": _count,
}


@dataclass(frozen=True)
class Criterion:
    text: str
    metric: str
    op: str
    threshold: float
    at_s: float | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    measured: float | None
    passed: bool
    detail: str

    def to_dict(self) -> dict:
        return {
            "text": self.criterion.text,
            "metric": self.criterion.metric,
            "measured": self.measured,
            "threshold": self.criterion.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }


def parse_expect(text: str) -> Criterion:
    """One criterion; anything malformed is a usage error that shows the grammar."""
    match = _PATTERN.match(text)
    if not match:
        raise UsageError(f"--expect {text!r} is not understood; write {GRAMMAR}")
    metric, op, value, at = match.groups()
    if metric not in _PARSERS:
        raise UsageError(f"--expect {text!r}: unknown metric {metric!r}; write {GRAMMAR}")
    if at is not None and metric != "rss":
        raise UsageError(f"--expect {text!r}: only rss takes @TIME; write {GRAMMAR}")
    try:
        threshold = _PARSERS[metric](value, f"--expect {text!r}")
        at_s = parse_duration_s(at, f"--expect {text!r}") if at is not None else None
    except UsageError as exc:
        raise UsageError(f"{exc.message}; write {GRAMMAR}") from None
    return Criterion(text=text.strip(), metric=metric, op=op, threshold=float(threshold), at_s=at_s)


def _show(metric: str, value: float) -> str:
    if metric in ("rss", "peak", "swap"):
        return format_bytes(value)
    if metric == "growth":
        return f"{value / 1e6:.3g} MB/min ({value * 60 / 1e6:.3g} MB/h)"
    if metric == "cpu":
        return f"{value:.1f}%"
    if metric == "uptime":
        return format_duration(value)
    return f"{value:g}"


def _measure(
    criterion: Criterion, samples: pd.DataFrame, growth: Growth, restarts: int, uptime_s: float | None
) -> tuple[float | None, str]:
    metric = criterion.metric
    if samples.empty and metric not in ("restarts", "uptime", "growth"):
        return None, "no samples"
    if metric == "rss":
        if criterion.at_s is None:
            return float(samples["rss_bytes"].iloc[-1]), "rss at the end"
        elapsed_s = samples["t_sim_s"] - samples["t_sim_s"].iloc[0]
        if elapsed_s.iloc[-1] < criterion.at_s - 1e-6:
            return None, f"not reached: the run covers {format_duration(float(elapsed_s.iloc[-1]))}"
        nearest = (elapsed_s - criterion.at_s).abs().idxmin()
        return float(samples["rss_bytes"].loc[nearest]), f"rss at {elapsed_s.loc[nearest] / 60:.1f} min"
    if metric == "peak":
        return float(samples["rss_bytes"].max()), "peak rss"
    if metric == "swap":
        return float(samples["swap_bytes"].fillna(0).max()), "most swap seen"
    if metric == "cpu":
        return float(samples["cpu_percent"].fillna(0).mean()), "mean cpu"
    if metric == "growth":
        return growth.slope_bytes_per_min, "growth"
    if metric == "uptime":
        return uptime_s, "uptime" if uptime_s is not None else "uptime unknown"
    return float(restarts), "restarts"


def evaluate(
    criteria: Sequence[Criterion],
    samples: pd.DataFrame,
    growth: Growth,
    *,
    restarts: int = 0,
    uptime_s: float | None = None,
) -> list[CriterionResult]:
    results = []
    for criterion in criteria:
        measured, what = _measure(criterion, samples, growth, restarts, uptime_s)
        if measured is None:
            results.append(CriterionResult(criterion, None, False, what))
            continue
        passed = _OPS[criterion.op](measured, criterion.threshold)
        detail = (
            f"{what} = {_show(criterion.metric, measured)} {criterion.op} "
            f"{_show(criterion.metric, criterion.threshold)}"
        )
        if (
            criterion.metric == "growth"
            and passed
            and criterion.op in ("<", "<=")
            and growth.ci_high_bytes_per_min > criterion.threshold
        ):
            detail += " (but the 95 % CI reaches above it)"
        results.append(CriterionResult(criterion, measured, passed, detail))
    return results
