"""The probe: pause per summary against live object count, and what the default cadence costs."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from leakhunt.runs.soak import DEFAULT_PROBE_INTERVAL_S

CHILD = """
import json, sys, time
from leakhunt.sampling.probe import Probe
kept = [{"i": i} for i in range(int(sys.argv[1]))]
probe = Probe(tracemalloc_frames=int(sys.argv[2]))
pauses = []
for _ in range(3):
    started = time.perf_counter()
    summary = probe.take(t_sim_s=0.0, t_wall_s=0.0)
    pauses.append(time.perf_counter() - started)
print(json.dumps({"objects": summary["objects"], "pause_s": min(pauses)}))
"""


def pause(extra_objects: int, tracemalloc_frames: int = 0) -> dict:
    # A fresh process per size: the count is the live objects of a real interpreter plus the load.
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(extra_objects), str(tracemalloc_frames)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def run() -> str:
    lines = ["## Probe (sampling/probe.py)", "", "| live objects | pause per summary |", "|---|---|"]
    for extra in (10**4, 10**5, 10**6):
        measured = pause(extra)
        lines.append(f"| {measured['objects']:,} | {measured['pause_s']:.3f} s |")
    traced = pause(10**5, tracemalloc_frames=8)
    lines.append(f"| {traced['objects']:,}, tracemalloc 8 frames | {traced['pause_s']:.3f} s |")
    # The default soak: what its probes cost at speed 1 (the cadence is in simulated time).
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run(
            [sys.executable, "-m", "leakhunt", "soak", "--minutes", "30", "--out", str(out)],
            check=True,
            capture_output=True,
        )
        summaries = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    mean_pause_s = sum(s["probe_s"] for s in summaries) / len(summaries)
    lines += [
        "",
        f"Default soak: {len(summaries)} probes, mean pause {mean_pause_s:.3f} s every "
        f"{DEFAULT_PROBE_INTERVAL_S:.0f} simulated s: at speed 1 the target is paused "
        f"{mean_pause_s / DEFAULT_PROBE_INTERVAL_S:.3%} of the time (target < 5 %); "
        "at --speed max the pauses "
        "dominate the run's wall time (see the soak table), which is why their cadence is separate.",
        "For reference (design section 10): pympler's get_objects() + summarize() takes about 3.5 s at 10^6 "
        "objects.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
