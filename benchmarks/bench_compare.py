"""compare --baseline --ablation: what parallelism buys, and that parallel runs measure the same."""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_soak import soak_once


def compare_once(out: Path, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "leakhunt",
            "compare",
            "--baseline",
            "--ablation",
            "--minutes",
            "30",
            "--jobs",
            str(jobs),
            "--repeat",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def slopes(out: Path) -> dict[str, float]:
    comparison = json.loads((out / "comparison.json").read_text())
    return {e["label"]: e["growth"]["slope_bytes_per_min"] for e in comparison["runs"]}


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        one_s = soak_once(Path(tmp) / "one")
        serial_s = compare_once(Path(tmp) / "serial", jobs=1)
        parallel_s = compare_once(Path(tmp) / "parallel", jobs=2)
        serial, parallel = slopes(Path(tmp) / "serial"), slopes(Path(tmp) / "parallel")
    # Absolute, and against the baseline's rate: a relative error of a near-zero slope means nothing.
    worst = max(abs(parallel[k] - serial[k]) for k in serial)
    baseline = abs(serial["fixes off"]) or 1.0
    lines = [
        "## compare --baseline --ablation --repeat 1 (default scenario, 30 simulated minutes, 5 runs)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| one soak | {one_s:.1f} s |",
        f"| five runs, --jobs 1 | {serial_s:.1f} s ({serial_s / one_s:.2f}x one soak) |",
        f"| five runs, --jobs 2 | {parallel_s:.1f} s ({parallel_s / one_s:.2f}x one soak; target <= 3x) |",
        f"| parallel speed-up | {serial_s / parallel_s:.2f}x |",
        f"| largest slope difference, parallel vs serial | {worst / 1e6:.4f} MB/min "
        f"({worst / baseline:.1%} of the baseline's rate) |",
    ]
    for label in serial:
        lines.append(
            f"| slope {label}: serial / parallel | {serial[label] / 1e6:+.4f} / "
            f"{parallel[label] / 1e6:+.4f} MB/min |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
