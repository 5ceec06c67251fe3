"""per_call.py: budgets as users write them, and a check decided by both measures' intervals."""

import numpy as np
import pytest

from leakhunt.analysis.per_call import Budget, judge_calls, parse_budget, per_call
from leakhunt.errors import UsageError


def test_budgets_read_as_written():
    assert parse_budget("<1KB/call") == Budget("<", 1000.0, "<1KB/call")
    assert parse_budget("<= 512 B / call") == Budget("<=", 512.0, "<=512B/call")
    assert parse_budget("<2KiB/call").bytes_per_call == 2048.0
    for wrong in ("1KB/call", "<1KB/min", "<lots/call", ">1KB/call"):
        with pytest.raises(UsageError, match="give a per-call budget such as '<1KB/call'"):
            parse_budget(wrong)


def test_rates_per_call_read_as_people_read_them():
    assert per_call(1530.0) == "1.53 kB/call"
    assert per_call(-12.0) == "-12 B/call"


def readings(rss_per_call: float, heap_per_call: float, calls: int = 600, noise_bytes: float = 0.0):
    rng = np.random.default_rng(0)
    k = np.arange(calls + 1)
    rss = (100e6 + rss_per_call * k + rng.normal(0, noise_bytes, len(k))).astype(int).tolist()
    heap = (1e6 + heap_per_call * k).astype(int).tolist()
    return rss, [1000] * (calls + 1), heap


@pytest.mark.parametrize(
    ("rss_per_call", "heap_per_call", "noise_bytes", "status"),
    [
        (0.0, 0.0, 0.0, "PASS"),
        (0.0, 1500.0, 0.0, "FAIL"),  # RSS absorbs it, the heap does not
        (4096.0, 0.0, 0.0, "FAIL"),  # outside Python: RSS alone shows it
        (999.0, 0.0, 0.0, "PASS"),
        (1000.0, 0.0, 0.0, "FAIL"),  # `<` : the budget itself is over
        (800.0, 0.0, 200_000.0, "NOT PROVEN"),  # RSS too noisy to tell in 600 calls
    ],
)
def test_a_check_fails_on_either_measure_and_passes_only_on_both(
    rss_per_call, heap_per_call, noise_bytes, status
):
    measured = readings(rss_per_call, heap_per_call, noise_bytes=noise_bytes)
    verdict = judge_calls(*measured, [], parse_budget("<1KB/call"))
    assert verdict.status == status
    head = f"leakhunt: {status} growth<1KB/call over 600 calls (60 of warm-up left out)"
    assert verdict.lines[0].startswith(head)
    assert ("would decide it" in "\n".join(verdict.lines)) is (status == "NOT PROVEN")


def test_growth_outside_python_is_named_and_python_objects_nothing_holds_too():
    rss, blocks, heap = readings(4096.0, 0.0)
    outside = judge_calls(rss, blocks, heap, [], parse_budget("<1KB/call"))
    assert outside.lines[-1] == "what grows: too few heap snapshots to tell (probes=0?)"
