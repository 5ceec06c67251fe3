"""compare --baseline --ablation: its 15 runs (5 variants x 3 replicates, the defaults) against one
soak measured in the same run; what parallelism buys, and that parallel runs measure the same."""

import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_soak import load_average, soak_once

TARGET_RATIO = 3.0  # issue 21: the 15 runs in at most 3x one soak


def compare_once(out: Path, jobs: int | None, repeat: int = 1, *extra: str) -> float:
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
            *(("--jobs", str(jobs)) if jobs else ()),
            "--repeat",
            str(repeat),
            "--out",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def slopes(out: Path) -> dict[str, float]:
    comparison = json.loads((out / "comparison.json").read_text())
    return {e["label"]: e["growth"]["slope_bytes_per_min"] for e in comparison["runs"]}


def rss_bytes(run_dir: Path) -> list[int]:
    with (run_dir / "samples.csv").open() as rows:
        return [int(row["rss_bytes"]) for row in csv.DictReader(rows)]


ROUNDS = 3  # one soak and the full comparison in turn: a median of each, as the load moves


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        load_before = load_average()
        ones, fulls = [], []
        for k in range(ROUNDS):
            ones.append(soak_once(Path(tmp) / f"one-{k}"))
            fulls.append(compare_once(Path(tmp) / f"full-{k}", jobs=None, repeat=3))
        one_s, full_s = statistics.median(ones), statistics.median(fulls)
        unprobed_one_s = soak_once(Path(tmp) / "one-unprobed", "--probe-interval", "0")
        unprobed_full_s = compare_once(Path(tmp) / "full-unprobed", None, 3, "--probe-interval", "0")
        # compare's targets are forked by its server, a lone soak's is a fresh interpreter.
        fresh = rss_bytes(Path(tmp) / "one-unprobed")
        forked = [rss_bytes(Path(tmp) / "full-unprobed" / f"baseline-r{k}") for k in (1, 2, 3)]
        serial_s = compare_once(Path(tmp) / "serial", jobs=1)
        parallel_s = compare_once(Path(tmp) / "parallel", jobs=2)
        serial, parallel = slopes(Path(tmp) / "serial"), slopes(Path(tmp) / "parallel")
        load_after = load_average()
    # Absolute, and against the baseline's rate: a relative error of a near-zero slope means nothing.
    worst = max(abs(parallel[k] - serial[k]) for k in serial)
    baseline = abs(serial["fixes off"]) or 1.0
    lines = [
        "## compare --baseline --ablation (default scenario, 30 simulated minutes)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| load average before / after | {load_before} / {load_after} |",
        f"| one soak (median of {ROUNDS}) | {one_s:.2f} s ({', '.join(f'{s:.2f}' for s in ones)}) |",
        f"| 15 runs (5 variants x 3 replicates, the defaults; --jobs = cores; median of {ROUNDS}) | "
        f"{full_s:.2f} s ({', '.join(f'{s:.2f}' for s in fulls)}): "
        f"{full_s / one_s:.2f}x one soak; target <= {TARGET_RATIO:g}x |",
        "| RSS of compare's forked fixes-off runs against a fresh soak's, same seed, no probes: "
        f"first sample / largest difference at any sample | "
        f"{', '.join(f'{(f[0] - fresh[0]) / 1e6:+.2f}' for f in forked)} MB / "
        f"{max(max(abs(a - b) for a, b in zip(f, fresh, strict=True)) for f in forked) / 1e6:.2f} MB |",
        f"| the same with --probe-interval 0, against one soak with it | {unprobed_full_s:.1f} s / "
        f"{unprobed_one_s:.1f} s ({unprobed_full_s / unprobed_one_s:.2f}x) |",
        f"| five runs (--repeat 1), --jobs 1 | {serial_s:.1f} s ({serial_s / one_s:.2f}x one soak) |",
        f"| five runs (--repeat 1), --jobs 2 | {parallel_s:.1f} s ({parallel_s / one_s:.2f}x one soak) |",
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
