"""The pytest plugin against pytest-memray's `limit_leaks`, on the same functions in one run.

Detection: a function that keeps `rate` bytes a call in a module-level list, RUNS runs per rate
at the plugin's default 1,000 calls and budget `<1KB/call`, and under pytest-memray with
`@pytest.mark.limit_leaks("1 KB")` (what its users write for the same intent). False alarms: 20
functions of the standard library that keep nothing (tests/test_pytest_plugin.py's panel), plus
the same functions with a warm-up (a cache filled on the first call) and an lru_cache.
Both run as real pytest sessions in subprocesses, as CI runs them.
"""

import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

RATES_B_PER_CALL = (0, 256, 512, 1024, 1536, 4096)
RUNS = 10
CALLS = 1000

LEAKS = """
import pytest

KEPT = []

@pytest.mark.parametrize("run", range({runs}))
@pytest.mark.parametrize("rate", {rates})
{marker}
def test_leak(rate, run):
    if rate:
        KEPT.append(bytearray(rate))
"""

NOT_LEAKS = """
import functools, json, re
import pytest

WARM = []

@functools.lru_cache(maxsize=128)
def cached(n):
    return bytearray(2000)

CASES = {{
    "warm-up": lambda: WARM or WARM.append(bytearray(5_000_000)),
    "lru_cache": lambda: cached(len(WARM) % 3),
    "json": lambda: json.loads(json.dumps({{"a": list(range(20))}})),
    "re": lambda: re.findall(r"[a-z]+\\d", "abc1 def2" * 5),
}}

@pytest.mark.parametrize("name", sorted(CASES))
{marker}
def test_case(name):
    CASES[name]()
"""


def _session(source: str, *args: str) -> tuple[dict[str, bool], float]:
    """Run one pytest session; which test ids failed, and its wall time."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_bench.py").write_text(textwrap.dedent(source))
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", *args, "test_bench.py"],
            cwd=folder, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        elapsed_s = time.perf_counter() - started
    outcomes = {}
    for line in result.stdout.splitlines():
        # pytest-memray reports its failures as MEMORY PROBLEMS, not FAILED.
        match = re.match(r"^(PASSED|FAILED|MEMORY PROBLEMS) test_bench.py::(\S+)", line)
        if match:
            outcomes[match.group(2)] = match.group(1) != "PASSED"
    return outcomes, elapsed_s


def _share_failed(outcomes: dict[str, bool], rate: int) -> float:
    """Of the runs keeping `rate` bytes a call (ids `test_leak[RATE-RUN]`), the share that failed."""
    prefix = "test_leak["
    ids = [k for k in outcomes if k.startswith(prefix) and k[len(prefix) :].split("-")[0] == str(rate)]
    return sum(outcomes[k] for k in ids) / len(ids) if ids else float("nan")


def run() -> str:
    leakhunt_marker = f'@pytest.mark.leakhunt(calls={CALLS}, growth="<1KB/call", probes=0)'
    memray_marker = '@pytest.mark.limit_leaks("1 KB")'
    rates = list(RATES_B_PER_CALL)
    ours, our_s = _session(LEAKS.format(runs=RUNS, rates=rates, marker=leakhunt_marker))
    theirs, their_s = _session(LEAKS.format(runs=RUNS, rates=rates, marker=memray_marker), "--memray")
    ours_ok, ours_ok_s = _session(NOT_LEAKS.format(marker=leakhunt_marker))
    theirs_ok, theirs_ok_s = _session(NOT_LEAKS.format(marker=memray_marker), "--memray")
    rows = [
        "| kept per call | leakhunt `<1KB/call`, 1,000 calls: failed |"
        ' pytest-memray `limit_leaks("1 KB")`: failed |',
        "|---|---|---|",
    ]
    for rate in rates:
        rows.append(f"| {rate} B | {_share_failed(ours, rate):.0%} | {_share_failed(theirs, rate):.0%} |")
    alarms = [
        "| not a leak | leakhunt | pytest-memray |",
        "|---|---|---|",
        *(
            f"| {name} | {'FAIL' if ours_ok.get(f'test_case[{name}]') else 'pass'} | "
            f"{'FAIL' if theirs_ok.get(f'test_case[{name}]') else 'pass'} |"
            for name in ("warm-up", "lru_cache", "json", "re")
        ),
    ]
    return "\n".join(
        [
            "## pytest plugin against pytest-memray (benchmarks/bench_plugin.py)",
            "",
            f"A function keeps N bytes a call in a module-level list; {RUNS} runs per N, each a test in one "
            "pytest session per tool, run in the same benchmark. leakhunt's budget is a rate; "
            "pytest-memray's `limit_leaks` is the bytes one call allocates and does not free.",
            "",
            *rows,
            "",
            *alarms,
            "",
            f"Wall time of the detection sessions ({len(rates) * RUNS} tests each): leakhunt {our_s:.0f} s, "
            f"pytest-memray {their_s:.0f} s; of the four non-leaks: {ours_ok_s:.0f} s and "
            f"{theirs_ok_s:.0f} s. "
            "The 20-function stdlib panel with no false alarm from leakhunt is tests/test_pytest_plugin.py.",
        ]
    )


if __name__ == "__main__":
    print(run())
