"""The command line's own latency: `leakhunt --help` and each refusal of bad input, as a ratio to
`mprof --help` (memory_profiler's CLI, from the `bench` extra) measured in the same run.

Every case runs once per round, all cases in turn, REPEATS rounds: the machine's load falls on
each case alike, and the medians are compared. CPU time (user + system of the child) is the
steadier figure on a shared machine; wall time is what the user waits for.
"""

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 21
BIN = Path(sys.executable).parent
LEAKHUNT = str(BIN / "leakhunt")
PEER = ("`mprof --help` (the peer)", [str(BIN / "mprof"), "--help"])
TARGET_RATIO = 1.2
CASES = (
    ("`leakhunt --help`", [LEAKHUNT, "--help"]),
    ("`leakhunt soak -h`", [LEAKHUNT, "soak", "-h"]),
    ("`leakhunt --version`", [LEAKHUNT, "--version"]),
    ("unknown option", [LEAKHUNT, "soak", "--minuts", "3"]),
    ("not a number", [LEAKHUNT, "soak", "--minutes", "many"]),
    ("unknown scenario", [LEAKHUNT, "soak", "--scenario", "nope"]),
    ("bad --expect unit", [LEAKHUNT, "soak", "--expect", "growth < 50 MB/fortnight"]),
    ("bad --interval", [LEAKHUNT, "soak", "--interval", "soon"]),
    ("compare --repeat 0", [LEAKHUNT, "compare", "--baseline", "--repeat", "0"]),
    ("watch, bad --duration", [LEAKHUNT, "watch", "--pid", "1", "--duration", "soon"]),
    ("watch, no such PID", [LEAKHUNT, "watch", "--pid", "999999"]),
    ("report of a missing directory", [LEAKHUNT, "report", "/nonexistent"]),
)
REFERENCES = (
    ("python start, nothing imported", [sys.executable, "-c", "pass"]),
    ("import of typer alone", [sys.executable, "-c", "import typer"]),
)


def _once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall_s, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def run() -> str:
    if not Path(PEER[1][0]).exists():
        raise SystemExit("mprof is missing: pip install -e '.[bench]'")
    everything = (PEER, *CASES, *REFERENCES)
    walls: dict[str, list[float]] = {label: [] for label, _ in everything}
    cpus: dict[str, list[float]] = {label: [] for label, _ in everything}
    load_before = os.getloadavg()[0]
    for _ in range(REPEATS):
        for label, command in everything:
            wall_s, cpu_s = _once(command)
            walls[label].append(wall_s)
            cpus[label].append(cpu_s)
    load_after = os.getloadavg()[0]
    wall = {label: statistics.median(values) for label, values in walls.items()}
    cpu = {label: statistics.median(values) for label, values in cpus.items()}
    peer = PEER[0]

    def row(label: str) -> str:
        return (
            f"| {label} | {wall[label]:.3f} s | {cpu[label]:.3f} s | "
            f"{wall[label] / wall[peer]:.2f} | {cpu[label] / cpu[peer]:.2f} |"
        )

    rows = [row(peer)] + [row(label) for label, _ in CASES]
    rows += [row(f"{label}") for label, _ in REFERENCES]
    worst = max((label for label, _ in CASES), key=lambda label: cpu[label] / cpu[peer])
    return (
        f"## Command line: help and refusing bad input, against `mprof --help` (median of {REPEATS} "
        "rounds)\n\n"
        "| case | wall | CPU (user + sys) | wall / mprof | CPU / mprof |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        f"Worst case by CPU: {worst}, {cpu[worst] / cpu[peer]:.2f}x `mprof --help` "
        f"(wall {wall[worst] / wall[peer]:.2f}x; target <= {TARGET_RATIO}x). Each round runs every row "
        f"once, in turn; load average {load_before:.1f} at the start, {load_after:.1f} at the end, on "
        f"{os.cpu_count()} cores. Every refusal exits 2 with one line on stderr; help and refusals load "
        "no pandas, numpy, scipy, matplotlib, paramiko, pydantic, rich or psutil (tests/e2e/test_cli.py "
        "checks it). The floor is typer itself (the `import typer` row)."
    )


if __name__ == "__main__":
    print(run())
