"""Repeatability: the same seed run again, and what `compare --repeat` costs.

The soak child's hash seed is pinned; what is left between runs of one seed (allocator and mmap
placement) is measured here, with probes off and on, as the largest RSS difference at any
sample and the spread of the fitted slopes.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.bench_compare import slopes
from benchmarks.bench_soak import soak_once

RERUNS = 3


def _reruns(tmp: Path, name: str, *extra: str) -> tuple[float, list[float]]:
    frames, fitted = [], []
    for k in range(RERUNS):
        out = tmp / f"{name}-{k}"
        soak_once(out, *extra)
        frames.append(pd.read_csv(out / "samples.csv")["rss_bytes"].to_numpy())
        fitted.append(json.loads((out / "summary.json").read_text())["growth"]["slope_bytes_per_min"])
    n = min(len(f) for f in frames)
    worst = max(abs(f[:n] - frames[0][:n]).max() for f in frames[1:])
    return float(worst), fitted


def _compare_s(out: Path, repeat: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "leakhunt", "compare", "--baseline", "--ablation", "--repeat", str(repeat),
         "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def run() -> str:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        off_worst, off_slopes = _reruns(tmp, "off", "--probe-interval", "0")
        on_worst, on_slopes = _reruns(tmp, "on")
        one_s = _compare_s(tmp / "r1", 1)
        three_s = _compare_s(tmp / "r3", 3)
        conclusions = [
            json.loads((tmp / r / "comparison.json").read_text())["conclusion"] for r in ("r1", "r3")
        ]
        spread = slopes(tmp / "r3")
    lines = [
        f"## Repeatability: the default soak, same seed, {RERUNS} runs",
        "",
        "| measure | value |",
        "|---|---|",
        f"| largest RSS difference at any sample, probes off | {off_worst / 1e3:,.0f} kB |",
        f"| slopes, probes off | {', '.join(f'{s / 1e6:+.4f}' for s in off_slopes)} MB/min |",
        f"| largest RSS difference at any sample, probes every 5 min | {on_worst / 1e3:,.0f} kB |",
        f"| slopes, probes every 5 min | {', '.join(f'{s / 1e6:+.4f}' for s in on_slopes)} MB/min |",
        f"| `compare --baseline --ablation`, wall time --repeat 1 / 3 | {one_s:.1f} s / {three_s:.1f} s |",
        f"| same conclusion with --repeat 1 and --repeat 3 | {conclusions[0] == conclusions[1]} |",
        f"| --repeat 3 fixes-off slope | {spread['fixes off'] / 1e6:+.4f} MB/min |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
