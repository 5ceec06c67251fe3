"""attribution.py: what grows, by type and by who holds it, how much of RSS growth is not Python
objects, and why nothing is attributed when nothing can be.

The leaking targets are real child processes that probe themselves (tests/helpers/probed_leaker.py);
RSS is read from outside with psutil, as leakhunt does.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leakhunt.analysis.attribution import accumulation_points, attribute, rank_growing_types, what_grows
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


def test_objects_that_grow_while_rss_stays_flat_are_still_attributed_to_who_holds_them():
    # The allocator can serve new objects from memory freed earlier, so RSS stays flat for a
    # while: the growth is still there (a pandas frame re-made by each concat, seen in CI).
    summaries = [
        probe_with_holders(
            t, {"app.history": (1000 * (t + 1), 100_000 * (t + 1))}, heap_bytes=10**7 + 100_000 * t
        )
        for t in range(6)
    ]
    report = attribute(summaries, 0.0, STABLE_BOUND)
    assert "RSS does not grow measurably yet" in report["statement"]
    assert "the Python objects do (0.1 MB/min)" in report["statement"]
    assert [p["pattern"] for p in report["accumulation_points"]] == ["app.history"]
    # Just under the noise floor of the bound (10 % of it), neither RSS nor objects count.
    still = [
        probe_with_holders(t, {"app.history": (1000 * (t + 1), 100 * (t + 1))}, heap_bytes=10**7 + t * 8_000)
        for t in range(6)
    ]
    report = attribute(still, 0.0, STABLE_BOUND)
    assert "nothing to attribute" in report["statement"] and report["accumulation_points"] == []


def test_a_type_missing_from_early_probes_counts_from_zero_so_its_rate_is_a_lower_bound():
    summaries = [summary(t, 5000, 10**7) for t in range(4)]
    summaries[2]["types"].append({"type": "bytes", "count": 1, "size_bytes": 4_000_000})
    summaries[3]["types"].append({"type": "bytes", "count": 2, "size_bytes": 8_000_000})
    ranked = rank_growing_types(summaries, 4e6)
    assert ranked[0].name == "bytes"
    assert ranked[0].first_size_bytes == 0


def probe_with_holders(t_min: float, holders: dict[str, tuple[int, int]], heap_bytes: int = 10**7) -> dict:
    """A summary whose holders are {path: (count, bytes)}."""
    row = summary(t_min, 5000, heap_bytes)
    row["holders"] = [
        {"path": path, "type": "list", "count": count, "bytes": size, "item_type": "dict"}
        for path, (count, size) in holders.items()
    ]
    return row


def test_a_container_whose_count_and_bytes_grow_is_the_accumulation_point_and_a_sawtooth_is_not():
    sawtooth = [100, 600, 300, 800, 200, 700]
    summaries = [
        probe_with_holders(
            t,
            {
                "app.REQUEST_LOG": (1000 * (t + 1), 200_000 * (t + 1)),
                "app.BUFFER": (sawtooth[t], 2000 * sawtooth[t]),
                "app.LRU": (500, 1_000_000),
            },
            heap_bytes=10**7 + 200_000 * t,
        )
        for t in range(6)
    ]
    points = accumulation_points(summaries, 200_000.0, 210_000.0)
    assert [p["pattern"] for p in points] == ["app.REQUEST_LOG"]
    assert points[0]["bytes_per_min"] == pytest.approx(200_000)
    assert (points[0]["first_count"], points[0]["last_count"]) == (1000, 6000)
    assert [row["count"] for row in points[0]["series"]] == [1000, 2000, 3000, 4000, 5000, 6000]
    assert points[0]["series"][-1] == {"t_s": 300.0, "count": 6000, "bytes": 1_200_000}
    assert points[0]["share_of_rss_growth"] == pytest.approx(200_000 / 210_000)


def test_caches_per_key_are_one_pattern_and_their_parent_dict_is_not_named_again():
    def holders(t: int) -> dict[str, tuple[int, int]]:
        rows = {"m.cache": (2, 0)}
        for symbol in ("'BTC'", "'ETH'", "'SOL'"):
            for timeframe in ("'1m'", "'5m'"):
                rows[f"m.cache[{symbol}]['ohlcv'][{timeframe}]"] = (100 * (t + 1), 10_000 * (t + 1))
            rows[f"m.cache[{symbol}]['oi']"] = (50 * (t + 1), 1_000 * (t + 1))
        rows["m.cache"] = (3, sum(size for path, (_, size) in rows.items() if path != "m.cache"))
        return rows

    points = accumulation_points([probe_with_holders(t, holders(t)) for t in range(5)], 63_000.0, 63_000.0)
    assert [(p["pattern"], p["members"]) for p in points] == [
        ("m.cache[*]['ohlcv'][*]", 6),
        ("m.cache[*]['oi']", 3),
    ]
    assert points[0]["bytes_per_min"] == pytest.approx(60_000)


def test_a_share_above_100_percent_comes_with_its_reason():
    summaries = [summary(t, 10_000_000 * (t + 1), 10**7 + 10_000_000 * t) for t in range(4)]
    report = attribute(summaries, 5e6, STABLE_BOUND)
    assert report["types"][0]["share_of_rss_growth"] == pytest.approx(2.0)
    assert any("Shares above 100 %" in note for note in report["notes"])
    calm = attribute([summary(t, 1_000_000 * (t + 1), 10**7) for t in range(4)], 5e6, STABLE_BOUND)
    assert calm["notes"] == []


def test_when_nothing_can_be_attributed_the_section_says_why_and_which_option_fixes_it():
    def why(meta: dict, summaries: list, span_s: float = 60.0) -> str:
        return what_grows(summaries, meta, 1e6, STABLE_BOUND, None, span_s)["statement"]

    assert "this watch had no agent" in why({"command": "watch", "agent": False}, [])
    assert "--probe-interval 0" in why({"command": "soak", "probe_interval_s": None}, [])
    one = why({"command": "watch", "agent": True, "probe_interval_s": 300.0}, [summary(0, 1, 1)])
    assert "Only 1 probe(s) in 1.0 min (one every 300 s)" in one and "--probe-interval 10s" in one
    failed = [{"error": "the snapshot child took over 300 s: killed"}]
    assert "killed" in why({"command": "watch", "agent": True, "probe_interval_s": 10.0}, failed)


def test_a_cache_that_filled_to_its_cap_early_is_not_where_growth_is_held():
    capped = [min(672, 200 * (t + 1)) for t in range(6)]  # full from the fourth probe on
    summaries = [
        probe_with_holders(
            t, {"app.CACHE": (capped[t], 2000 * capped[t]), "app.LOG": (100 * (t + 1), 9000 * (t + 1))}
        )
        for t in range(6)
    ]
    assert [point["pattern"] for point in accumulation_points(summaries, 9000.0, 9000.0)] == ["app.LOG"]
