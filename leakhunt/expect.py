"""The `--expect` grammar, checked on the command line before any heavy import.

`METRIC OP VALUE[@TIME]`, spaces allowed anywhere (`growth < 50 MB/hour`); every error quotes the
criterion as typed. analysis/criteria.py evaluates the criteria; it loads pandas, so the command
line cannot wait for it just to refuse a typo.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from leakhunt.errors import UsageError
from leakhunt.units import parse_duration_s, parse_rate_bytes_per_min, parse_size_bytes

GRAMMAR = (
    "METRIC OP VALUE[@TIME], e.g. rss<2GB@30m, peak<2.5GB, growth<50MB/h, swap==0, cpu<40%, "
    "uptime>8h, restarts==0"
)
OPS = ("<=", ">=", "==", "!=", "<", ">")
_PATTERN = re.compile(r"^\s*([a-z]+)\s*(<=|>=|==|!=|<|>)\s*([^@<>=!]+?)\s*(?:@\s*([^@<>=!]+?))?\s*$")


def _percent(text: str, what: str) -> float:
    try:
        percent = float(text.removesuffix("%").strip())
    except ValueError:
        percent = math.nan
    if not (math.isfinite(percent) and percent >= 0):
        raise UsageError(f"{what}: {text!r} is not a percentage such as 40%")
    return percent


def _count(text: str, what: str) -> float:
    if not text.isdigit():
        raise UsageError(f"{what}: {text!r} is not a whole number")
    return float(text)


PARSERS: dict[str, Callable[[str, str], float]] = {
    "rss": parse_size_bytes,
    "peak": parse_size_bytes,
    "swap": parse_size_bytes,
    "growth": parse_rate_bytes_per_min,
    "cpu": _percent,
    "uptime": parse_duration_s,
    "restarts": _count,
}


@dataclass(frozen=True)
class Expectation:
    """One parsed criterion: the threshold in SI base units (bytes, bytes/min, s, %, count)."""

    text: str
    metric: str
    op: str
    threshold: float
    at_s: float | None
    value_text: str = ""


def parse_expectation(text: str) -> Expectation:
    """One criterion, or a UsageError that quotes `text` and shows the grammar."""
    match = _PATTERN.match(text)
    if not match:
        raise UsageError(f"--expect {text!r} is not understood; write {GRAMMAR}")
    metric, op, value, at = match.groups()
    if metric not in PARSERS:
        raise UsageError(f"--expect {text!r}: unknown metric {metric!r}; write {GRAMMAR}")
    if at is not None and metric != "rss":
        raise UsageError(f"--expect {text!r}: only rss takes @TIME; write {GRAMMAR}")
    try:
        threshold = PARSERS[metric](value, f"--expect {text!r}")
        at_s = parse_duration_s(at, f"--expect {text!r}") if at is not None else None
    except UsageError as exc:
        raise UsageError(f"{exc.message}; write {GRAMMAR}") from None
    return Expectation(
        text=text.strip(), metric=metric, op=op, threshold=float(threshold), at_s=at_s, value_text=value
    )


def check_expectations(texts: list[str]) -> None:
    """Refuse the first malformed criterion before anything runs."""
    for text in texts:
        parse_expectation(text)
