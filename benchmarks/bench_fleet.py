"""`leakhunt fleet` at scale: 1,000 backfilled series x 6 h at a 15 s step (1,441 points each).

What is measured, in one run:
- the backfill: OpenMetrics written from the test shapes (leaks at known rates, sawtooth, step,
  restart, a quarter each) and `promtool tsdb create-blocks-from openmetrics` (not leakhunt's
  cost; said for whoever reruns it);
- a real Prometheus (the distribution's package) on 127.0.0.1 serving those blocks;
- in a child process of its own, so its peak RSS is leakhunt's alone: the read (query_range in
  chunks, JSON to arrays), the analysis (every series judged, ranked), and the report (table,
  summary.json, report.html with 1,000 small curves, the worst drawn large), each timed, and the
  child's peak RSS;
- the whole `leakhunt fleet` command line, wall time, start-up included, against a bare
  fetch-and-parse of the same range: a Python process of its own that sends the very same
  query_range requests with urllib and turns each answer into arrays with `json.loads`, nothing
  else. The two are run in turn, `ROUNDS` times each, and the ratio is of their medians; the load
  average is given beside them, since the machine is shared.
The target (issue 21): the whole command within 5x the bare fetch-and-parse.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.helpers import fleet_series as fs
from tests.helpers.prometheus_server import Backfilled, PrometheusServer, backfill

N_SERIES = 1000
QUERY = 'svc_memory_bytes{job="bench"}'
ROUNDS = 3
TARGET_RATIO = 5.0

# The baseline: the same requests, urllib and json.loads into arrays, nothing else.
_BARE = r"""
import json, sys, urllib.parse, urllib.request
import numpy as np
url, query, step = sys.argv[1], sys.argv[2], sys.argv[3]
points = 0
for start, end in json.loads(sys.argv[4]):
    form = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
    with urllib.request.urlopen(url + "/api/v1/query_range", urllib.parse.urlencode(form).encode()) as answer:
        body = json.loads(answer.read())
    for item in body["data"]["result"]:
        points += len(np.array(item["values"], dtype=float))
print(points)
"""

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from leakhunt.fleet.analyse import FleetOptions, analyse_series, check_bytes, rank
from leakhunt.fleet.prometheus import PrometheusClient, aligned_window
from leakhunt.fleet.run import summarize
from leakhunt.report.fleet import write_fleet_report
url, query, out = sys.argv[1], sys.argv[2], Path(sys.argv[5])
start_s, end_s = float(sys.argv[3]), float(sys.argv[4])
window = aligned_window(start_s, end_s, 15.0)
options = FleetOptions(window=window, limit_bytes=2e9)
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import matplotlib.pyplot  # the report's import: part of the baseline, not of the series
baseline = peak()
t0 = time.perf_counter()
with PrometheusClient(url) as client:
    plan = [(chunk.start_s, chunk.end_s) for chunk, _ in client.chunks(query, window)]
    t_requests = time.perf_counter()
    series = client.fetch(query, window)
t1 = time.perf_counter()
read_peak = peak()
check_bytes(series, query)
results = rank([analyse_series(one, options) for one in series])
summary = summarize(results, query, options, url, None, None)
t2 = time.perf_counter()
analyse_peak = peak()
out.mkdir(parents=True, exist_ok=True)
(out / "summary.json").write_text(json.dumps(summary, default=str))
write_fleet_report(summary, results, out)
t3 = time.perf_counter()
# Every fourth series is a leak, the others a sawtooth, a step or a restart (see _series).
fooling = [r for r in results if int(r.labels["instance"][5:]) % 4]
print(json.dumps({
    "fooling": len(fooling), "fooling_leak": sum(str(r.verdict) == "LEAK" for r in fooling),
    "fooling_pl_alerts": sum(bool(r.predict.alerts) for r in fooling),
    "series": len(series), "points": int(sum(len(s.t_s) for s in series)), "plan": plan,
    "read_s": t1 - t_requests, "analyse_s": t2 - t1, "report_s": t3 - t2,
    "peak_rss_bytes": peak(), "baseline_rss_bytes": baseline, "read_peak_bytes": read_peak,
    "analyse_peak_bytes": analyse_peak,
    "leaks": summary["counts"]["LEAK"], "disagreements": summary["predict_linear"]["disagreements"],
    "html_bytes": (out / "report.html").stat().st_size,
}))
"""


def _series(end_s: float) -> list[Backfilled]:
    t_s = fs.grid(end_s)
    shapes = (
        lambda i: fs.leak(t_s, (1 + i % 9) * fs.MB, i),
        lambda i: fs.sawtooth(t_s, i),
        lambda i: fs.step(t_s, i),
        lambda i: fs.restart(t_s, i),
    )
    return [
        Backfilled("svc_memory_bytes", {"job": "bench", "instance": f"host-{i:04d}"}, t_s, shapes[i % 4](i))
        for i in range(N_SERIES)
    ]


def _timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def run() -> str:
    end_s = fs.end_of_backfill_s()
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        server = PrometheusServer(root)
        started = time.perf_counter()
        backfill(server.data_dir, _series(end_s), root)
        backfill_s = time.perf_counter() - started
        server.start()
        try:
            start_s = end_s - fs.SPAN_S
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, server.url, QUERY, str(start_s), str(end_s), str(root / "in")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures = json.loads(child.stdout)
            plan = figures["plan"]  # the very requests leakhunt sent
            bare = [sys.executable, "-c", _BARE, server.url, QUERY, "15", json.dumps(plan)]
            cli = [
                sys.executable, "-m", "leakhunt", "fleet", "--prometheus", server.url, "--query", QUERY,
                "--start", str(start_s), "--end", str(end_s), "--memory-limit", "2GB",
                "--out", str(root / "cli"),
            ]  # fmt: skip
            load_before = os.getloadavg()[0]
            bare_s, cli_s = [], []
            for _ in range(ROUNDS):  # in turn, so a change in the machine's load hits both
                elapsed_s, out = _timed(bare)
                assert int(out) == N_SERIES * 1441
                bare_s.append(elapsed_s)
                cli_s.append(_timed(cli)[0])
            load_after = os.getloadavg()[0]
        finally:
            server.stop()
    per_series_ms = figures["analyse_s"] / figures["series"] * 1000
    assert figures["series"] == N_SERIES and figures["points"] == N_SERIES * 1441
    ratio = statistics.median(cli_s) / statistics.median(bare_s)
    assert np.isfinite(per_series_ms)
    return "\n".join(
        [
            f"## fleet: {N_SERIES:,} backfilled series x 6 h at 15 s, from a real Prometheus",
            "",
            "| measure | value |",
            "|---|---|",
            f"| series x points read | {figures['series']:,} x 1,441 = {figures['points']:,} |",
            f"| query_range requests (60 points, then chunks of <= 100,000) | {len(plan)} |",
            f"| read (HTTP, JSON to arrays) | {figures['read_s']:.2f} s |",
            f"| analysis (every series judged and ranked; target <= 10 s) | {figures['analyse_s']:.2f} s "
            f"({per_series_ms:.2f} ms a series) |",
            f"| report (summary.json, report.html, worst.png) | {figures['report_s']:.2f} s "
            f"(report.html {figures['html_bytes'] / 1e6:.1f} MB) |",
            f"| peak RSS: after imports / after the read / after the analysis / at the end | "
            f"{figures['baseline_rss_bytes'] / 1e6:.0f} / {figures['read_peak_bytes'] / 1e6:.0f} / "
            f"{figures['analyse_peak_bytes'] / 1e6:.0f} / {figures['peak_rss_bytes'] / 1e6:.0f} MB |",
            f"| bare fetch-and-parse: the same {len(plan)} requests, urllib + json.loads into arrays, "
            f"its own process (median of {ROUNDS}) | {statistics.median(bare_s):.2f} s "
            f"({', '.join(f'{x:.2f}' for x in bare_s)}) |",
            f"| whole `leakhunt fleet` command, start-up and report included (median of {ROUNDS}, in turn "
            f"with the bare) | {statistics.median(cli_s):.2f} s ({', '.join(f'{x:.2f}' for x in cli_s)}) |",
            f"| **whole command / bare fetch-and-parse (target <= {TARGET_RATIO:g}x)** | **{ratio:.1f}x** |",
            f"| load average (1 min) before / after those runs, on {os.cpu_count()} cores | "
            f"{load_before:.1f} / {load_after:.1f} |",
            f"| LEAK verdicts / predict_linear disagreements (limit 2 GB) | {figures['leaks']} / "
            f"{figures['disagreements']} |",
            f"| sawtooth, step and restart series: called LEAK / predict_linear(x[1h], 4h) alerts | "
            f"{figures['fooling_leak']} / {figures['fooling_pl_alerts']} of {figures['fooling']} |",
            f"| backfill: OpenMetrics + promtool create-blocks (not leakhunt's cost) | {backfill_s:.1f} s |",
        ]
    )


if __name__ == "__main__":
    print(run())
