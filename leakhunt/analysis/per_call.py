"""Growth per call, judged as `watch` judges growth per minute, and the words a failing test prints.

The calls are the time axis: call k sits at "minute" k, so `fit_growth`'s bytes per minute are
bytes per call, its warm-up (the first 10 % of the calls, at most 300 of them) is left out, a
filled cache is a plateau, and `judge` gives the same verdict words against a per-call budget.
The budget is a growth criterion decided by the whole 95 % interval, as `--expect` decides one:
PASS when all of it is within, FAIL when none of it is, NOT PROVEN when it straddles (too few
calls to tell), with how many calls would likely decide it.

What grows comes from the heap snapshots (analysis/attribution.py): the growing types and where
the growth is held. RSS growth the objects do not explain, while Python's live allocated blocks
stay flat, is memory outside Python's allocator (a C extension's malloc); blocks rising while
the objects the walk reaches do not are Python objects nothing reachable holds.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leakhunt.analysis.attribution import attribute
from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.verdict import Judgement, judge
from leakhunt.errors import UsageError
from leakhunt.units import format_bytes, parse_size_bytes

# `<1KB/call`, `<= 512 B/call`, `< 2 KiB / call`
_BUDGET = re.compile(r"^\s*(<=?)\s*([0-9.eE+-]+\s*[A-Za-z]*)\s*/\s*call\s*$")
# The calls left out as warm-up: imports, caches and first-call set-up.
WARMUP_SHARE = 0.10
# A pymalloc block is at most 512 bytes; Python objects nothing holds are counted in blocks.
_BLOCKS_PER_CALL_NOISE = 0.5


@dataclass(frozen=True)
class Budget:
    op: str
    bytes_per_call: float
    text: str


def parse_budget(text: str) -> Budget:
    """`<1KB/call` -> Budget("<", 1000.0); anything else is refused with the expected form."""
    match = _BUDGET.match(str(text))
    if not match:
        raise UsageError(f"growth={text!r}: give a per-call budget such as '<1KB/call' or '<=512B/call'")
    size = parse_size_bytes(match.group(2).replace(" ", ""), "growth")
    return Budget(match.group(1), float(size), f"{match.group(1)}{match.group(2).replace(' ', '')}/call")


def per_call(size_bytes: float) -> str:
    """`1.02 KB/call`, `-12 B/call`: bytes per call as a person reads them."""
    sign = "-" if size_bytes < 0 else ""
    return f"{sign}{format_bytes(abs(size_bytes))}/call"


@dataclass
class CallsVerdict:
    growth: Growth
    judgement: Judgement
    budget: Budget
    status: str  # PASS, FAIL or NOT PROVEN
    blocks_per_call: float
    attribution: dict[str, Any] | None
    lines: list[str] = field(default_factory=list)
    heap_growth: Growth | None = None

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def _calls_to_decide(growth: Growth, budget: Budget, calls: int) -> int:
    """Calls that would likely shrink the interval clear of the budget: its half-width falls at
    least as fast as 1 / sqrt(calls) (a random walk; steadier noise falls faster)."""
    half = (growth.ci_high_bytes_per_min - growth.ci_low_bytes_per_min) / 2
    distance = abs(growth.slope_bytes_per_min - budget.bytes_per_call)
    if not np.isfinite(half) or distance <= 0:
        return calls * 4
    return int(np.ceil(calls * max(2.0, (half / distance) ** 2) / 100) * 100)


def _status(growth: Growth, budget: Budget) -> str:
    def within(value: float) -> bool:
        return value < budget.bytes_per_call if budget.op == "<" else value <= budget.bytes_per_call

    low_ok, high_ok = within(growth.ci_low_bytes_per_min), within(growth.ci_high_bytes_per_min)
    if growth.shape == "too_few":
        return "NOT PROVEN"
    return "PASS" if low_ok and high_ok else "FAIL" if not (low_ok or high_ok) else "NOT PROVEN"


def _what_grows_lines(attribution: dict[str, Any] | None, blocks_per_call: float, slope: float) -> list[str]:
    if attribution is None:
        return ["what grows: too few heap snapshots to tell (probes=0?)"]
    lines = []
    gap = attribution["gap"]
    python = gap["python_bytes_per_min"]
    if slope > 0 and python < 0.5 * slope and blocks_per_call <= _BLOCKS_PER_CALL_NOISE:
        lines.append(
            f"what grows: not Python objects: RSS grows {per_call(slope)} while the objects the heap "
            f"walk sees grow {per_call(python)} and Python's allocated blocks stay flat "
            f"({blocks_per_call:+.2f} a call): memory allocated outside Python (a C extension's "
            "malloc, ctypes, a native library)"
        )
    elif slope > 0 and python < 0.5 * slope:
        lines.append(
            f"what grows: Python objects nothing reachable holds: {blocks_per_call:+.1f} allocated "
            f"blocks a call while the objects the heap walk reaches grow {per_call(python)}: a "
            "reference-count leak in a C extension"
        )
    else:
        lines.append(f"what grows: Python objects, {per_call(python)} (RSS {per_call(slope)})")
    for point in attribution.get("accumulation_points", [])[:3]:
        lines.append(f"  held by {point['pattern']}: {per_call(point['bytes_per_min'])}")
    growing = [t for t in attribution.get("types", []) if t["bytes_per_min"] > 0][:5]
    if growing:
        shown = ", ".join(f"{t['name']} {per_call(t['bytes_per_min'])}" for t in growing)
        lines.append(f"  growing types: {shown}")
    return lines


def _fit(values: list[int]) -> Growth:
    calls_axis_s = np.arange(len(values), dtype=float) * 60.0
    warmup_s = WARMUP_SHARE * calls_axis_s[-1] if len(values) > 1 else 0.0
    return fit_growth(calls_axis_s, np.asarray(values, dtype=float), warmup_s=warmup_s)


def _combined(rss_status: str, heap_status: str) -> str:
    """FAIL when either measure's whole interval is over the budget, PASS when both are within,
    NOT PROVEN otherwise. RSS alone misses small leaks (the allocator's free space absorbs them)
    and the Python heap alone misses memory allocated outside Python: each can fail the check."""
    if "FAIL" in (rss_status, heap_status):
        return "FAIL"
    return "PASS" if rss_status == heap_status == "PASS" else "NOT PROVEN"


def _interval(growth: Growth) -> str:
    return (
        f"{per_call(growth.slope_bytes_per_min)} (95 % CI {per_call(growth.ci_low_bytes_per_min)} to "
        f"{per_call(growth.ci_high_bytes_per_min)})"
    )


def judge_calls(
    rss_bytes: list[int],
    allocated_blocks: list[int],
    traced_bytes: list[int],
    summaries: list[dict[str, Any]],
    budget: Budget,
) -> CallsVerdict:
    """The verdict, the gate and the words for one function's calls: `rss_bytes[k]`,
    `allocated_blocks[k]` and `traced_bytes[k]` after call k (0: before the first), heap
    `summaries` at some calls."""
    calls = len(rss_bytes) - 1
    growth = _fit(rss_bytes)
    heap = _fit(traced_bytes)
    judgement = judge(growth, stable_bound_bytes_per_min=budget.bytes_per_call)
    fitted_from = round(growth.warmup_s / 60)
    blocks = np.asarray(allocated_blocks, dtype=float)
    blocks_per_call = (
        float(np.polyfit(np.arange(fitted_from, len(blocks)), blocks[fitted_from:], 1)[0])
        if len(blocks) - fitted_from >= 2
        else 0.0
    )
    attribution = attribute(summaries, growth.slope_bytes_per_min, budget.bytes_per_call, growth.warmup_s)
    status = _combined(_status(growth, budget), _status(heap, budget))
    lines = [
        f"leakhunt: {status} growth{budget.text} over {calls:,} calls ({fitted_from:,} of warm-up left "
        f"out): RSS grows {_interval(growth)}, {judgement.verdict}"
        + (f" ({judgement.pace})" if judgement.pace else "")
        + f"; the Python heap (tracemalloc) {_interval(heap)}",
        f"fit: {growth.shape} over {growth.n_fit_points:,} points",
    ]
    if status == "NOT PROVEN":
        lines.append(
            "not proven: the interval straddles the budget; about "
            f"calls={_calls_to_decide(growth, budget, calls):,} would decide it"
        )
    if status != "PASS" or judgement.verdict == "LEAK":
        lines += _what_grows_lines(attribution, blocks_per_call, growth.slope_bytes_per_min)
    return CallsVerdict(growth, judgement, budget, status, blocks_per_call, attribution, lines, heap)
