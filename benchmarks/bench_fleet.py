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
- the whole `leakhunt fleet` command line, wall time, start-up included.
The target (issue 15): analysed in <= 10 s on 2 cores.
"""

import json
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
    requests = sum(1 for _ in client.chunks(query, window))
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
    "series": len(series), "points": int(sum(len(s.t_s) for s in series)), "requests": requests,
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
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "leakhunt", "fleet", "--prometheus", server.url, "--query", QUERY,
                 "--start", str(start_s), "--end", str(end_s), "--memory-limit", "2GB",
                 "--out", str(root / "cli")],
                capture_output=True, check=True,
            )  # fmt: skip
            cli_s = time.perf_counter() - started
        finally:
            server.stop()
    per_series_ms = figures["analyse_s"] / figures["series"] * 1000
    assert figures["series"] == N_SERIES and figures["points"] == N_SERIES * 1441
    assert np.isfinite(per_series_ms)
    return "\n".join(
        [
            f"## fleet: {N_SERIES:,} backfilled series x 6 h at 15 s, from a real Prometheus",
            "",
            "| measure | value |",
            "|---|---|",
            f"| series x points read | {figures['series']:,} x 1,441 = {figures['points']:,} |",
            f"| query_range requests (60 points, then chunks of <= 100,000) | {figures['requests']} |",
            f"| read (HTTP, JSON to arrays) | {figures['read_s']:.2f} s |",
            f"| analysis (every series judged and ranked; target <= 10 s) | {figures['analyse_s']:.2f} s "
            f"({per_series_ms:.2f} ms a series) |",
            f"| report (summary.json, report.html, worst.png) | {figures['report_s']:.2f} s "
            f"(report.html {figures['html_bytes'] / 1e6:.1f} MB) |",
            f"| peak RSS: after imports / after the read / after the analysis / at the end | "
            f"{figures['baseline_rss_bytes'] / 1e6:.0f} / {figures['read_peak_bytes'] / 1e6:.0f} / "
            f"{figures['analyse_peak_bytes'] / 1e6:.0f} / {figures['peak_rss_bytes'] / 1e6:.0f} MB |",
            f"| whole `leakhunt fleet` command, start-up included | {cli_s:.1f} s |",
            f"| LEAK verdicts / predict_linear disagreements (limit 2 GB) | {figures['leaks']} / "
            f"{figures['disagreements']} |",
            f"| sawtooth, step and restart series: called LEAK / predict_linear(x[1h], 4h) alerts | "
            f"{figures['fooling_leak']} / {figures['fooling_pl_alerts']} of {figures['fooling']} |",
            f"| backfill: OpenMetrics + promtool create-blocks (not leakhunt's cost) | {backfill_s:.1f} s |",
        ]
    )


if __name__ == "__main__":
    print(run())
