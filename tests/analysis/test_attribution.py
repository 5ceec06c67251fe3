"""attribution.py: what grows, by type, and how much of RSS growth is not Python objects.

The leaking targets are real child processes that probe themselves (tests/helpers/probed_leaker.py);
RSS is read from outside with psutil, as leakhunt does.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leakhunt.analysis.attribution import attribute, rank_growing_types
from leakhunt.sampling.child import read_status_bytes

LEAKER = Path(__file__).resolve().parents[1] / "helpers" / "probed_leaker.py"
STABLE_BOUND = 50e6 / 60


def run_leaker(kind: str, per_step: int, steps: int = 8) -> tuple[list[dict], float]:
    """Drive the leaker step by step; return its summaries and the RSS slope in bytes/min."""
    process = subprocess.Popen(
        [sys.executable, str(LEAKER), kind, str(per_step)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    summaries, rss_bytes = [], []
    try:
        for _ in range(steps):
            process.stdin.write("\n")
            process.stdin.flush()
            summaries.append(json.loads(process.stdout.readline()))
            rss_bytes.append(read_status_bytes(process.pid)[0])
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    minutes = np.arange(steps, dtype=float)
    return summaries, float(np.polyfit(minutes[1:], rss_bytes[1:], 1)[0])


def test_a_list_of_dicts_leaking_at_a_known_rate_is_ranked_first_within_10_percent():
    per_step = 20_000
    summaries, rss_slope = run_leaker("dicts", per_step)
    ranked = rank_growing_types(summaries, rss_slope)
    expected_bytes_per_min = per_step * sys.getsizeof({"timestamp": 0, "value": 1.5})
    assert ranked[0].name == "dict"
    assert ranked[0].bytes_per_min == pytest.approx(expected_bytes_per_min, rel=0.10)
    assert ranked[0].last_count - ranked[0].first_count >= per_step * 7
    report = attribute(summaries, rss_slope, STABLE_BOUND)
    assert "Python objects explain" in report["statement"]


def test_memory_no_python_object_holds_is_reported_as_not_python_objects():
    summaries, rss_slope = run_leaker("native", 20 * 2**20)
    assert rss_slope > 15 * 2**20
    report = attribute(summaries, rss_slope, STABLE_BOUND)
    assert "not Python objects" in report["statement"]
    assert report["gap"]["gap_bytes_per_min"] > 0.8 * rss_slope


def summary(t_min: float, dicts_bytes: int, heap_bytes: int) -> dict:
    return {
        "t_sim_s": t_min * 60,
        "py_heap_bytes": heap_bytes,
        "probe_s": 0.1,
        "types": [
            {"type": "dict", "count": dicts_bytes // 100, "size_bytes": dicts_bytes},
            {"type": "str", "count": 10, "size_bytes": 1000},
        ],
    }


def test_growth_too_small_to_measure_is_not_attributed_and_one_probe_is_not_enough():
    flat = [summary(t, 5000, 10**7) for t in range(5)]
    assert "nothing to attribute" in attribute(flat, 1000.0, STABLE_BOUND)["statement"]
    assert attribute(flat[:1], 1e6, STABLE_BOUND) is None


def test_a_type_missing_from_early_probes_counts_from_zero_so_its_rate_is_a_lower_bound():
    summaries = [summary(t, 5000, 10**7) for t in range(4)]
    summaries[2]["types"].append({"type": "bytes", "count": 1, "size_bytes": 4_000_000})
    summaries[3]["types"].append({"type": "bytes", "count": 2, "size_bytes": 8_000_000})
    ranked = rank_growing_types(summaries, 4e6)
    assert ranked[0].name == "bytes"
    assert ranked[0].first_size_bytes == 0
