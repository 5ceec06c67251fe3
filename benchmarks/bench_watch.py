"""Long watches at constant cost (issue 14), and the peers users already have, in the same run.

1. Eight simulated hours at 10 Hz (288,000 samples) through the same watch loop as a live watch
   (sampling/replay.py, the live line off a terminal, samples written): CPU per sample in the
   first and the last 10 %, and the report of all of them rendered.
2. A real 10-minute watch at 10 Hz of a child that leaks on a straight line at a known rate, with
   mprof and psrecord attached to the same child at the same interval at the same time. Each
   sampler's CPU is read from /proc over the same steady window (start-up and the end left out).
   Each one's least-squares slope is compared with the child's own allocation rate.
3. Each sampler's own RSS over the whole watch, read from /proc (benchmarks/bench_watch_rss.py
   measures the same in two minutes), and a second leakhunt watching the first one: its peak RSS
   and its verdict on itself.

`python -m benchmarks.run bench_watch` (about 11 minutes; needs the `bench` extra: mprof, psrecord).
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from benchmarks.bench_watch_rss import (
    LEAK_BYTES_PER_TICK,
    TARGET_MB,
    RssLog,
    rss_rows,
    sampler_commands,
    start_leaker,
)
from benchmarks.run import table
from leakhunt.analysis.growth import least_squares_slope_bytes_per_min
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.commands.progress import live_watch
from leakhunt.report.console import WatchView
from leakhunt.runs.finish import finish_run
from leakhunt.runs.watch import WatchOptions, run_watch
from leakhunt.sampling.child import read_status_bytes
from leakhunt.sampling.procfs import CLOCK_TICKS_PER_S, parse_stat
from leakhunt.sampling.replay import ReplaySource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir

MIB = 2**20
WATCH_S = 600
WINDOW_S = (60, 560)  # the steady part every sampler is judged on


def _replay_8h(tmp: Path) -> list[tuple[str, str]]:
    t_s, rss_bytes, _ = service_at_rest(21, 0.0, minutes=480, interval_s=0.1)
    n = len(t_s)
    marks = {n // 10: "first_end", n - n // 10: "last_start"}
    cpu_at: dict[str, float] = {}
    rss_at: dict[str, int] = {}
    view = WatchView([])
    console = Console(file=io.StringIO(), force_terminal=False)

    def samples():
        cpu_at["start"] = time.process_time()
        for k, (t, rss) in enumerate(zip(t_s, rss_bytes, strict=True)):
            if k in marks:
                cpu_at[marks[k]] = time.process_time()
                rss_at[marks[k]] = read_status_bytes(os.getpid())[0]
            yield Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss), cpu_percent=1.0)
        cpu_at["end"] = time.process_time()
        rss_at["end"] = read_status_bytes(os.getpid())[0]

    run_dir = RunDir.create("watch", "replay", tmp / "replay")
    options = WatchOptions(label="replay", duration_s=None, interval_s=0.1)
    with live_watch(console, view) as on_sample:
        run_watch(options, ReplaySource(samples(), "8 h at 10 Hz"), run_dir=run_dir, on_sample=on_sample)
    tenth = n // 10
    first_us = (cpu_at["first_end"] - cpu_at["start"]) / tenth * 1e6
    last_us = (cpu_at["end"] - cpu_at["last_start"]) / tenth * 1e6
    started = time.perf_counter()
    finish_run(run_dir)
    render_s = time.perf_counter() - started
    return [
        ("8 h at 10 Hz replayed (288,001 samples): CPU per sample, first 10 %", f"{first_us:.0f} µs"),
        ("... last 10 %", f"{last_us:.0f} µs"),
        ("... ratio last / first (target ≤ 1.2)", f"{last_us / first_us:.2f}"),
        ("... live view: buckets held, refits", f"{view.analysis.rss.closed}, {view.analysis.fits:,}"),
        (
            "... the benchmark process's RSS (pandas, matplotlib loaded) after 10 %, 90 %, at the end",
            ", ".join(f"{rss_at[mark] / 1e6:.1f} MB" for mark in ("first_end", "last_start", "end")),
        ),
        ("report of those 288,001 samples rendered (target ≤ 10 s)", f"{render_s:.1f} s"),
    ]


def _cpu_ticks(pid: int) -> int:
    """The process's own CPU and its waited-for children's, in clock ticks."""
    stat = parse_stat(Path(f"/proc/{pid}/stat").read_text())
    return stat.cpu_ticks + stat.children_cpu_ticks


def _slope_of(t_s: np.ndarray, rss_bytes: np.ndarray) -> float:
    keep = (t_s >= WINDOW_S[0]) & (t_s <= WINDOW_S[1])
    return least_squares_slope_bytes_per_min(t_s[keep], rss_bytes[keep])


def _real_watch(tmp: Path) -> list[tuple[str, str]]:
    bin_dir = Path(sys.executable).parent
    child = start_leaker()
    out = tmp / "watch"
    running = {
        name: subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, args in sampler_commands(child.pid, WATCH_S, tmp).items()
    }
    started = time.monotonic()
    rss_log = RssLog(running)
    # leakhunt watched by leakhunt, through the sampling part of its run (its report comes after).
    self_watch = subprocess.Popen(
        [str(bin_dir / "leakhunt"), "watch", "--pid", str(running["leakhunt"].pid), "--interval", "1s",
         "--duration", f"{WATCH_S - 30}s", "--out", str(tmp / "self"), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    ticks: dict[str, list[int]] = {name: [] for name in running}
    for at_s in WINDOW_S:
        time.sleep(max(0.0, started + at_s - time.monotonic()))  # a benchmark may wait: not a test
        for name, process in running.items():
            ticks[name].append(_cpu_ticks(process.pid))
    window_s = WINDOW_S[1] - WINDOW_S[0]
    for process in running.values():
        process.wait(timeout=WATCH_S + 300)
    rss_log.stop()
    self_summary = json.loads(self_watch.communicate(timeout=WATCH_S)[0])
    child.kill()
    child.wait()

    truth = LEAK_BYTES_PER_TICK * 600.0  # bytes per minute
    leakhunt_rows = pd.read_csv(out / "samples.csv")
    mprof_rows = [
        line.split() for line in (tmp / "mprof.dat").read_text().splitlines() if line.startswith("MEM")
    ]
    mprof_t = np.array([float(r[2]) for r in mprof_rows])
    psrecord = np.loadtxt(tmp / "psrecord.log", skiprows=1, usecols=(0, 2))
    slopes = {
        "leakhunt": _slope_of(
            leakhunt_rows["t_wall_s"].to_numpy(), leakhunt_rows["rss_bytes"].to_numpy(float)
        ),
        "mprof": _slope_of(mprof_t - mprof_t[0], np.array([float(r[1]) for r in mprof_rows]) * MIB),
        "psrecord": _slope_of(psrecord[:, 0], psrecord[:, 1] * MIB),
    }
    share = {name: (t[1] - t[0]) / CLOCK_TICKS_PER_S / window_s for name, t in ticks.items()}
    cost = json.loads((out / "meta.json").read_text())["cost"]
    rows = [(f"{name}: CPU at 10 Hz, steady window", f"{share[name]:.3%} of a core") for name in running]
    rows += [
        ("leakhunt / mprof, leakhunt / psrecord (CPU)",
         f"{share['leakhunt'] / share['mprof']:.2f}, {share['leakhunt'] / share['psrecord']:.2f}"),
        ("leakhunt's own cost line, whole run (target ≤ 0.5 %)",
         f"{cost['leakhunt_core_fraction']:.3%} of a core, "
         f"{cost['leakhunt_cpu_s_per_sample'] * 1e6:.0f} µs per sample, {cost['missed_samples']} missed"),
    ]  # fmt: skip
    rows += [
        (
            f"{name}: slope error on a straight line (10 MiB/min), least squares",
            f"{slopes[name] / truth - 1:+.3%}",
        )
        for name in running
    ]
    rows += rss_rows(rss_log, WATCH_S)
    peak_mb = self_summary["peak_rss_bytes"] / 1e6
    rows += [
        (
            f"leakhunt's own RSS while sampling, watched by leakhunt: peak (target ≤ {TARGET_MB:g} MB)",
            f"{peak_mb:.1f} MB",
        ),
        ("... its verdict on itself", f"{self_summary['verdict']} ({self_summary['verdict_reason']})"),
    ]
    return rows


def run() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    try:
        rows = _replay_8h(tmp) + _real_watch(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = table("Long watches and the peers (runs/watch.py, analysis/live.py)", rows)
    lines.append(
        "\nmprof (`mprof attach -T 0.1`) and psrecord (`psrecord --interval 0.1`) ran on the same child at "
        "the same time as leakhunt; CPU is each process's own plus its children's, from /proc, over "
        f"t = {WINDOW_S[0]}-{WINDOW_S[1]} s."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
