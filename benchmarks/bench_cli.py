"""The command line's own latency: how fast bad input is refused (target <= 0.3 s), against the
interpreter's start and the heavy imports that checks must not wait for."""

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 15
LEAKHUNT = str(Path(sys.executable).parent / "leakhunt")
CASES = (
    ("`leakhunt --version`", [LEAKHUNT, "--version"]),
    ("`leakhunt soak -h`", [LEAKHUNT, "soak", "-h"]),
    ("unknown scenario", [LEAKHUNT, "soak", "--scenario", "nope"]),
    ("bad --expect unit", [LEAKHUNT, "soak", "--expect", "growth < 50 MB/fortnight"]),
    ("bad --interval", [LEAKHUNT, "soak", "--interval", "soon"]),
    ("unknown option", [LEAKHUNT, "soak", "--minuts", "3"]),
    ("compare --repeat 0", [LEAKHUNT, "compare", "--baseline", "--repeat", "0"]),
    ("watch, bad --duration", [LEAKHUNT, "watch", "--pid", "1", "--duration", "soon"]),
    ("watch, no such PID", [LEAKHUNT, "watch", "--pid", "999999"]),
    ("report of a missing directory", [LEAKHUNT, "report", "/nonexistent"]),
)
REFERENCES = (
    ("python start, nothing imported", [sys.executable, "-c", "pass"]),
    ("import of the analysis (pandas, scipy)", [sys.executable, "-c", "import leakhunt.analysis.criteria"]),
)


def timed(command: list[str]) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of REPEATS runs."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def run() -> str:
    rows = []
    worst_s = 0.0
    for label, command in CASES:
        wall_s, cpu_s = timed(command)
        if label not in ("`leakhunt --version`", "`leakhunt soak -h`"):
            worst_s = max(worst_s, wall_s)
        rows.append(f"| {label} | {wall_s:.3f} s | {cpu_s:.3f} s |")
    for label, command in REFERENCES:
        wall_s, cpu_s = timed(command)
        rows.append(f"| reference: {label} | {wall_s:.3f} s | {cpu_s:.3f} s |")
    # Wall times on a shared machine follow its load; CPU time is the steadier figure.
    load_1min = os.getloadavg()[0]
    return (
        f"## Command line: refusing bad input (median of {REPEATS} runs each)\n\n"
        "| case | wall | CPU (user + sys) |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Slowest refusal of bad input: {worst_s:.3f} s (target <= 0.3 s), at a load average of "
        f"{load_1min:.1f} on {os.cpu_count()} cores. Every refusal exits 2 with one line on stderr; the "
        "checks load no pandas, numpy, scipy, matplotlib or paramiko (tests/e2e/test_cli.py checks it)."
    )


if __name__ == "__main__":
    print(run())
