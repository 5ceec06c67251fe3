"""The probe: what a snapshot costs the service (the fork) and the host (the child), against live
object count; pympler's own summarize in the same run; what probes do to the default soak and to
an idle web server under the agent."""

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from leakhunt.agent import request_summary
from leakhunt.sampling.child import read_status_bytes

MB = 1e6
PROBES = 5

CHILD = """
import json, sys, time
from leakhunt.sampling.probe import Probe
kept = [{"i": i, "v": i + 0.5} for i in range(int(sys.argv[1]))]
probe = Probe()
runs = [probe.take(t_sim_s=0.0, t_wall_s=0.0) for _ in range(int(sys.argv[2]))]
from pympler import muppy, summary
started = time.perf_counter()
rows = summary.summarize(muppy.get_objects())
pympler_s = time.perf_counter() - started
print(json.dumps({
    "objects": runs[-1]["objects"],
    "pause_s": sorted(r["probe_s"] for r in runs)[len(runs) // 2],
    "pause_max_s": max(r["probe_s"] for r in runs),
    "walk_s": min(r["child"]["walk_s"] for r in runs),
    "count_s": min(r["count_s"] for r in runs),
    "search_s": min(r["holder_search"]["search_s"] for r in runs),
    "visited": runs[-1]["holder_search"]["visited"],
    "dirty_bytes": max(r["child"]["private_dirty_bytes"] for r in runs),
    "faults": max(r["child"]["minor_faults"] for r in runs),
    "pympler_s": pympler_s,
    "rss_bytes": int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024,
}))
"""


IN_PROCESS = """
import json, os
from leakhunt.sampling.probe import Probe
from leakhunt.sampling.child import read_status_bytes
kept = [{"i": i, "v": i + 0.5} for i in range(200_000)]
probe = Probe(fork=False)
rss, pauses = [], []
for _ in range(8):
    pauses.append(probe.take(t_sim_s=0.0, t_wall_s=0.0)["probe_s"])
    rss.append(read_status_bytes(os.getpid())[0])
print(json.dumps({"per_probe_bytes": (rss[-1] - rss[1]) / 6, "pause_s": min(pauses)}))
"""


def in_process_residue() -> dict:
    """The fallback: RSS it leaves per probe (after the first) and its pause, at ~6e5 objects."""
    result = subprocess.run([sys.executable, "-c", IN_PROCESS], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def snapshot_costs(extra_objects: int) -> dict:
    # A fresh process per size: the count is the live objects of a real interpreter plus the load.
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(extra_objects), str(PROBES)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def soak(probe_interval: str, out: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    args = ["soak", "--minutes", "30", "--probe-interval", probe_interval, "--out", str(out), "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "leakhunt", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout), time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def idle_server_cost(tmp: Path) -> tuple[float, float, float]:
    """(MB the agent adds to an idle http.server after 6 probes, MB those probes added, pause ms)."""

    def serve(*prefix: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, *prefix, "-m", "http.server", str(free_port()), "--bind", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        process.stdout.readline()  # "Serving HTTP ...": it listens
        return process

    socket_path = tmp / "agent.sock"
    plain = serve()
    served = serve("-u", "-m", "leakhunt.agent", "--socket", str(socket_path), "--")
    try:
        before = read_status_bytes(served.pid)[0]
        pauses = [request_summary(socket_path)["probe_s"] for _ in range(6)]
        after = read_status_bytes(served.pid)[0]
        added = after - read_status_bytes(plain.pid)[0]
    finally:
        for process in (plain, served):
            process.kill()
            process.wait()
    return added / MB, (after - before) / MB, float(np.median(pauses)) * 1e3


HEAP_CHILD = """
import json, sys
from leakhunt.sampling.probe import Probe
target_bytes = float(sys.argv[1])
kept = [{"i": i, "v": i + 0.5} for i in range(int(target_bytes / 232))]  # 232 B a row, measured
summary = Probe().take(t_sim_s=0.0, t_wall_s=0.0)
search = summary["holder_search"]
top = summary["holders"][0] if summary["holders"] else {}
print(json.dumps({
    "service_rss_bytes": summary["service_rss_bytes"],
    "objects": summary["objects"],
    "walk_s": summary["child"]["walk_s"],
    "count_s": summary["count_s"],
    "search_s": search["search_s"],
    "bound_hit": search["bound_hit"],
    "dirty_bytes": summary["child"]["private_dirty_bytes"],
    "holder": top.get("path"), "holder_bytes": top.get("bytes"), "estimated": bool(top.get("estimated")),
    "kept_bytes": sys.getsizeof(kept) + len(kept) * (sys.getsizeof(kept[0]) + 24),
}))
"""
HEAP_SIZES_BYTES = (0.1e9, 0.5e9, 1.5e9)


def _available_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))


def heap_costs() -> str:
    """The snapshot child's memory and walk time against the service's heap: 0.1, 0.5, 1.5 GB.
    A size is skipped (and said so) when the host cannot hold the service and its child twice."""
    lines = [
        "| service heap (RSS) | live objects | child private memory (share of RSS) | child walk "
        "| of which count / search | search bound hit | holder named (bytes) |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in HEAP_SIZES_BYTES:
        if _available_bytes() < 2.5 * size + 4e9:
            lines.append(
                f"| {size / 1e9:g} GB | skipped: {_available_bytes() / 1e9:.1f} GB available | | | | | |"
            )
            continue
        result = subprocess.run(
            [sys.executable, "-c", HEAP_CHILD, str(size)], check=True, capture_output=True, text=True
        )
        m = json.loads(result.stdout)
        share = m["dirty_bytes"] / m["service_rss_bytes"]
        holder = f"{m['holder']} ({m['holder_bytes'] / MB:,.0f} MB{', estimated' if m['estimated'] else ''})"
        lines.append(
            f"| {m['service_rss_bytes'] / 1e9:.2f} GB | {m['objects']:,} | {m['dirty_bytes'] / 1e9:.2f} GB "
            f"({share:.0%}) | {m['walk_s']:.1f} s | {m['count_s']:.1f} s / {m['search_s']:.1f} s "
            f"| {'yes' if m['bound_hit'] else 'no'} | {holder} |"
        )
    return "\n".join(lines)


def run() -> str:
    lines = [
        "## Probe (sampling/probe.py, sampling/walk.py)",
        "",
        "A snapshot forks; the service pauses for the fork only, the child counts and exits. "
        f"Median (pause) or best (child) of {PROBES} probes per size; pympler's "
        "`summarize(muppy.get_objects())` in the same process, once.",
        "",
        "| live objects | service pause (median / max) | child walk | of which count / path search "
        "| objects the search visited | child private memory | child minor faults "
        "| pympler summarize | service RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # Each item is a dict, an int and a float: about 10^5 and 10^6 objects with the interpreter.
    for extra in (0, 25_000, 325_000):
        m = snapshot_costs(extra)
        lines.append(
            f"| {m['objects']:,} | {m['pause_s'] * 1e3:.1f} ms / {m['pause_max_s'] * 1e3:.1f} ms "
            f"| {m['walk_s']:.2f} s | {m['count_s']:.2f} s / {m['search_s']:.2f} s | {m['visited']:,} "
            f"| {m['dirty_bytes'] / MB:.0f} MB | {m['faults']:,} | {m['pympler_s']:.2f} s "
            f"| {m['rss_bytes'] / MB:.0f} MB |"
        )
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        probed, probed_wall_s = soak("1m", tmp_path / "probed")
        default, default_wall_s = soak("auto", tmp_path / "default")
        unprobed, unprobed_wall_s = soak("0", tmp_path / "unprobed")
        added_mb, probes_added_mb, idle_pause_ms = idle_server_cost(tmp_path)
    residue = in_process_residue()
    cost = default["attribution"]["cost"]
    rss_delta_mb = (probed["final_rss_bytes"] - unprobed["final_rss_bytes"]) / MB
    slope = probed["growth"]["slope_bytes_per_min"] / unprobed["growth"]["slope_bytes_per_min"] - 1
    lines += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| default soak (auto: every 5 simulated min), probes | {default['attribution']['probes']} fitted; "
        f"pause {cost['pause_s_mean'] * 1e3:.1f} ms mean, child walk {cost['child_walk_s_mean']:.2f} s, "
        f"child memory up to {cost['child_private_dirty_bytes_max'] / MB:.0f} MB |",
        "| default soak wall time: auto probes / probes off | "
        f"{default_wall_s:.1f} s / {unprobed_wall_s:.1f} s "
        f"(probes every simulated minute: {probed_wall_s:.1f} s; at --speed max a probe waits for the "
        "previous child) |",
        f"| transparency: final RSS, probes every 1m minus off | {rss_delta_mb:+.2f} MB "
        "(target within 1 MB) |",
        f"| transparency: slope, probes every 1m against off | {slope:+.1%} "
        f"({probed['growth']['slope_bytes_per_min'] / MB:.3f} vs "
        f"{unprobed['growth']['slope_bytes_per_min'] / MB:.3f} MB/min; target within 5 %) |",
        f"| idle `http.server`: RSS the agent adds, after 6 probes | {added_mb:+.2f} MB (target <= 2 MB) |",
        f"| idle `http.server`: RSS the 6 probes themselves added | {probes_added_mb:+.3f} MB, "
        f"pause {idle_pause_ms:.2f} ms each |",
        "| in-process fallback (memory short), ~6e5 objects: RSS left per probe, pause | "
        f"{residue['per_probe_bytes'] / MB:+.2f} MB (after malloc_trim), {residue['pause_s']:.2f} s |",
    ]
    lines += [
        "",
        "The snapshot child against the service's heap (one probe each, a list of small dicts; "
        "sizes the host cannot hold twice over are skipped):",
        "",
        heap_costs(),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    # `python -m benchmarks.bench_probe heaps`: the heap-size table alone (minutes, GBs of memory).
    print(heap_costs() if sys.argv[1:] == ["heaps"] else run())
