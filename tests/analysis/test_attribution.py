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

from leakhunt.analysis.attribution import attribute, native_gap, rank_growing_lines, rank_growing_types
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
    assert ranked[0].first_size_bytes == 0 and ranked[0].first_count == 0


def traced(t_min: float, heap_bytes: float, types: list[tuple[str, int, int]], lines=None) -> dict:
    probe = {
        "t_sim_s": t_min * 60,
        "py_heap_bytes": heap_bytes,
        "probe_s": 0.1 * (t_min + 1),
        "objects": 1000 + int(t_min),
        "types": [{"type": name, "count": count, "size_bytes": size} for name, count, size in types],
    }
    if lines is not None:
        probe["tracemalloc"] = {"lines": [{"where": w, "count": c, "size_bytes": s} for w, c, s in lines]}
    return probe


def test_the_what_grows_section_in_full():
    probes = [
        traced(
            t,
            10e6 + 2e6 * t,
            [("dict", 10 + t, 1000 + 3000 * t), ("str", 5, 500)],
            [("app.py:9", t, 2000 * t)],
        )
        for t in (0, 1, 2, 3)
    ]
    probes[1]["tracemalloc"] = None  # a probe without tracemalloc is left out of the line ranking
    section = attribute(probes, 4e6, STABLE_BOUND)
    assert section == {
        "statement": "Python objects explain 50% of the RSS growth (2 MB/min of 4 MB/min): look at the "
        "growing types below.",
        "gap": {
            "rss_bytes_per_min": 4e6,
            "python_bytes_per_min": pytest.approx(2e6),
            "gap_bytes_per_min": pytest.approx(2e6),
            "python_share": pytest.approx(0.5),
            "statement": section["statement"],
        },
        "types": [
            {
                "name": "dict",
                "first_count": 10,
                "last_count": 13,
                "first_size_bytes": 1000,
                "last_size_bytes": 10000,
                "bytes_per_min": pytest.approx(3000.0),
                "share_of_rss_growth": pytest.approx(3000 / 4e6),
            }
        ],
        "lines": [
            {
                "name": "app.py:9",
                "first_count": 0,
                "last_count": 3,
                "first_size_bytes": 0,
                "last_size_bytes": 6000,
                "bytes_per_min": pytest.approx(2000.0),
                "share_of_rss_growth": pytest.approx(2000 / 4e6),
            }
        ],
        "probes": 4,
        "since_s": 0.0,
        "probe_s_mean": pytest.approx(0.25),
        "objects_last": 1003,
    }


def test_rates_are_theil_sen_over_probes_a_plain_difference_over_two_and_zero_over_one():
    sizes = [0, 1000, 2000, 1_000_000, 4000]  # one wild probe does not decide the rate
    probes = [traced(t, 0, [("list", 1, s)]) for t, s in enumerate(sizes)]
    assert rank_growing_types(probes)[0].bytes_per_min == pytest.approx(1000.0)
    three = [traced(t, 0, [("list", 1, s)]) for t, s in ((0, 0), (1, 1000), (2, 5000))]
    assert rank_growing_types(three)[0].bytes_per_min == pytest.approx(2500.0)  # not 1000 - 0
    two = [traced(1, 0, [("list", 1, 500)]), traced(3, 0, [("list", 1, 4500)])]
    assert rank_growing_types(two)[0].bytes_per_min == pytest.approx(2000.0)
    assert rank_growing_types(two[:1]) == []
    same_time = [traced(1, 0, [("list", 1, 500)]), traced(1, 0, [("list", 1, 4500)])]
    assert rank_growing_types(same_time) == []


def test_only_growing_types_are_ranked_ten_at_most_with_shares_of_a_growing_rss():
    growing = [(f"t{k}", 1, k + 1) for k in range(11)]  # t0 grows one byte per minute, t10 eleven
    probes = [traced(t, 0, [(n, c, s * t) for n, c, s in growing] + [("flat", 1, 9)]) for t in (0, 1)]
    ranked = rank_growing_types(probes, 0.5)
    assert [g.name for g in ranked] == [f"t{k}" for k in range(10, 0, -1)]
    assert ranked[-1].bytes_per_min == 2.0 and ranked[0].share_of_rss_growth == 22.0
    assert rank_growing_types(probes, 0.0)[0].share_of_rss_growth is None
    assert rank_growing_types(probes, None)[0].share_of_rss_growth is None
    assert [g.name for g in rank_growing_types(probes, top=12)][-1] == "t0"
    lines = [
        {**p, "tracemalloc": {"lines": [{"where": n, "count": c, "size_bytes": s} for n, c, s in t]}}
        for p, t in zip(
            probes, [[(n, 1, 0) for n, _, _ in growing], [(n, 1, s) for n, _, s in growing]], strict=True
        )
    ]
    assert len(rank_growing_lines(lines)) == 10


def gap_statement(rss_bytes_per_min: float, python_bytes_per_min: float) -> str:
    probes = [traced(0, 0, []), traced(1, python_bytes_per_min, [])]
    return native_gap(probes, rss_bytes_per_min, STABLE_BOUND).statement


def test_the_gap_statement_at_each_of_its_edges():
    tenth = 0.1 * STABLE_BOUND
    assert gap_statement(tenth, 0) == "RSS does not grow measurably (0.0833 MB/min): nothing to attribute."
    assert gap_statement(STABLE_BOUND, 0.5 * STABLE_BOUND) == (
        "Python objects explain 50% of the RSS growth (0.417 MB/min of 0.833 MB/min): look at the growing "
        "types below. It is within the stable bound, but it is growth."
    )
    assert gap_statement(2e6, 3e6) == (
        "Python objects explain 100% of the RSS growth (3 MB/min of 2 MB/min): look at the growing "
        "types below."
    )
    assert gap_statement(2e6, 0.5e6) == (
        "RSS grows 2 MB/min but the Python objects the probe sees grow 0.5 MB/min: 1.5 MB/min is not "
        "Python objects — native memory or allocator retention (NumPy/pandas buffers or C extensions "
        "outside pympler's view, glibc arenas holding freed memory). Try the cleanup with malloc_trim, "
        "or a native profiler such as memray with --native."
    )


def test_a_shrinking_rss_has_no_python_share_and_a_missing_heap_counts_as_zero():
    probes = [traced(0, 0, []), traced(1, 0, [])]
    del probes[1]["py_heap_bytes"]
    probes[0]["py_heap_bytes"] = 1e6
    gap = native_gap(probes, -1.0, STABLE_BOUND)
    assert gap.python_bytes_per_min == -1e6 and gap.python_share is None and gap.gap_bytes_per_min == 1e6 - 1
    assert native_gap(probes, 0.5, 0.0).python_share == -2e6
    assert native_gap(probes, 0.0, STABLE_BOUND).python_share is None


def test_rates_start_at_the_fitted_part_when_two_probes_lie_in_it():
    probes = [traced(t, 0, []) for t in (0, 1, 2, 3)]
    assert attribute(probes, 1e6, STABLE_BOUND, since_s=120.0)["since_s"] == 120.0
    assert attribute(probes, 1e6, STABLE_BOUND, since_s=121.0)["since_s"] == 0.0
    assert attribute(probes, 1e6, STABLE_BOUND, since_s=180.0)["probes"] == 4
    assert attribute(probes[:2], 1e6, STABLE_BOUND)["probes"] == 2
    del probes[2]["probe_s"]
    assert attribute(probes, 1e6, STABLE_BOUND)["probe_s_mean"] == pytest.approx((0.1 + 0.2 + 0.4) / 4)
