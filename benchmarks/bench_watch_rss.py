"""A watch's own memory (issue 21): leakhunt's RSS while it samples, beside mprof's and
psrecord's, all three attached to the same leaking child at 10 Hz at the same time.

The benchmark reads each sampler's VmRSS from /proc every RSS_EVERY_S. While sampling: the peak
(start-up included) and the median of the first and of the last STEADY_S of the sampling, which
say whether it is flat. leakhunt then writes its report (pandas and matplotlib load only
then): that peak is shown apart, as it is not the sampling's. The long run of the same peers is
benchmarks/bench_watch.py (ten minutes); this one takes WATCH_S.

`python -m benchmarks.run bench_watch_rss` (needs the `bench` extra: mprof, psrecord).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.run import table
from leakhunt.sampling.procfs import parse_status

WATCH_S = 120
RSS_EVERY_S = 0.5
STEADY_S = 15.0  # after start-up: the first window starts at STEADY_S
END_MARGIN_S = 3.0  # sampling is over by WATCH_S (plus leakhunt's start-up): leave a margin
TARGET_MB = 40.0
LEAK_BYTES_PER_TICK = 17_476  # every 0.1 s: 10 MiB/min, in chunks below glibc's mmap threshold
LEAKER = f"""
import time
kept, started, k = [], time.monotonic(), 0
print("ready", flush=True)
while True:
    kept.append(b"x" * {LEAK_BYTES_PER_TICK})
    k += 1
    time.sleep(max(0.0, started + k * 0.1 - time.monotonic()))  # paced by its own clock
"""


def start_leaker() -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", LEAKER], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def sampler_commands(pid: int, watch_s: int, tmp: Path) -> dict[str, list[str]]:
    """leakhunt, mprof and psrecord on the same PID at 10 Hz for watch_s, each writing into tmp."""
    bin_dir = Path(sys.executable).parent
    for tool in ("mprof", "psrecord"):
        if not (bin_dir / tool).exists():
            raise SystemExit(f"{tool} is missing: pip install -e '.[bench]'")
    return {
        "leakhunt": [str(bin_dir / "leakhunt"), "watch", "--pid", str(pid), "--interval", "0.1s",
                     "--duration", f"{watch_s}s", "--out", str(tmp / "watch")],
        "mprof": [str(bin_dir / "mprof"), "attach", "-T", "0.1", "-t", str(watch_s),
                  "-o", str(tmp / "mprof.dat"), str(pid)],
        "psrecord": [str(bin_dir / "psrecord"), str(pid), "--interval", "0.1", "--duration", str(watch_s),
                     "--log", str(tmp / "psrecord.log")],
    }  # fmt: skip


class RssLog:
    """Each process's VmRSS every RSS_EVERY_S, from a thread, until stop() or all have exited."""

    def __init__(self, processes: dict[str, subprocess.Popen]) -> None:
        self.processes = processes
        self.started = time.monotonic()
        self.rows: dict[str, list[tuple[float, int]]] = {name: [] for name in processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            alive = 0
            for name, process in self.processes.items():
                try:
                    rss_bytes, _ = parse_status(Path(f"/proc/{process.pid}/status").read_text())
                except (FileNotFoundError, ProcessLookupError):
                    continue
                if process.poll() is None:
                    alive += 1
                    self.rows[name].append((time.monotonic() - self.started, rss_bytes))
            if not alive:
                return
            self._stop.wait(RSS_EVERY_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self, name: str, watch_s: float) -> dict[str, float]:
        """MB: peak while sampling, median of the first and the last STEADY_S, peak after."""
        end_s = watch_s - END_MARGIN_S
        during = [(t, rss) for t, rss in self.rows[name] if t <= end_s]
        after = [rss for t, rss in self.rows[name] if t > end_s]
        first = [rss for t, rss in during if STEADY_S <= t < 2 * STEADY_S]
        last = [rss for t, rss in during if t >= end_s - STEADY_S]
        return {
            "peak": max(rss for _, rss in during) / 1e6,
            "first": statistics.median(first) / 1e6,
            "last": statistics.median(last) / 1e6,
            "after": max(after) / 1e6 if after else float("nan"),
        }


def rss_rows(log: RssLog, watch_s: float) -> list[tuple[str, str]]:
    """The table rows of the three samplers' own RSS, and leakhunt's against the target."""
    figures = {name: log.figures(name, watch_s) for name in log.rows}
    rows = [
        (
            f"{name}: own RSS while sampling: peak; first {STEADY_S:g} s, last {STEADY_S:g} s (median)",
            f"{f['peak']:.1f} MB; {f['first']:.1f} MB, {f['last']:.1f} MB ({f['last'] - f['first']:+.1f} MB)",
        )
        for name, f in figures.items()
    ]
    ours = figures["leakhunt"]
    rows += [
        (
            f"leakhunt's peak while sampling against the target (≤ {TARGET_MB:g} MB, flat)",
            f"{ours['peak']:.1f} MB: {'within' if ours['peak'] <= TARGET_MB else 'OVER'}; "
            f"{ours['peak'] / figures['mprof']['peak']:.2f}x mprof's, "
            f"{ours['peak'] / figures['psrecord']['peak']:.2f}x psrecord's",
        ),
        (
            "leakhunt's peak once sampling is over, writing its report (pandas, matplotlib)",
            f"{ours['after']:.1f} MB",
        ),
    ]
    return rows


def run() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="bench-watch-rss-"))
    load_before = os.getloadavg()[0]
    child = start_leaker()
    try:
        running = {
            name: subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, args in sampler_commands(child.pid, WATCH_S, tmp).items()
        }
        log = RssLog(running)
        for process in running.values():
            process.wait(timeout=WATCH_S + 300)
        log.stop()
    finally:
        child.kill()
        child.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    heading = f"A watch's own RSS beside mprof and psrecord ({WATCH_S} s at 10 Hz)"
    lines = table(heading, rss_rows(log, WATCH_S))
    lines.append(
        f"\nThe three sampled the same child (it leaks 10 MiB/min) at the same time; each one's VmRSS read "
        f"from /proc every {RSS_EVERY_S:g} s. The target is the RSS while sampling: the report at the end "
        "loads pandas and matplotlib, and its RSS is the last row. Load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
