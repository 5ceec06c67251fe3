"""What every pattern service shares: a steady request loop in real time, and its own truth.

A pattern module defines `handle(n)` (one request) and, for leaks, `EXPECTED_PATH`. Before
serving, `serve()` measures what one request keeps: tracemalloc's traced bytes over
CALIBRATION requests after CALIBRATION others (each end after a full collection, so one-off
costs cancel), divided by their number (container growth amortised), then stops tracing.
It prints one JSON line {"truth_bytes_per_min", "path"} and serves RATE requests a second on its
own clock until killed: a service leaking at a rate the test knows.
"""

import gc
import json
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

# A pattern runs as a script from this folder; the pacing lives one folder up, beside the other paced helpers.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paced import serve_at_rate

CALIBRATION = 2_000


def serve(handle: Callable[[int], None], rate_per_s: float, path: str | None, leaks: bool = True) -> None:
    for n in range(200):
        handle(n)  # warm: first-call caches, dict resizes of the first few hundred entries
    tracemalloc.start()
    traced = []
    for rounds in range(3):
        gc.collect()  # what requests keep, not the cycles they leave for the collector
        traced.append(tracemalloc.get_traced_memory()[0])
        if rounds < 2:
            for n in range(200 + rounds * CALIBRATION, 200 + (rounds + 1) * CALIBRATION):
                handle(n)
    # The second round against the first: one-off costs (a first cache, an index type) cancel.
    kept_per_request = (traced[2] - traced[1]) / CALIBRATION
    tracemalloc.stop()
    truth = kept_per_request * rate_per_s * 60 if leaks else 0.0
    print(json.dumps({"truth_bytes_per_min": truth, "path": path}), flush=True)
    serve_at_rate(handle, rate_per_s, step_s=0.05, first=200 + 2 * CALIBRATION)
