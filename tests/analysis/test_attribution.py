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
from tests.helpers.processes import spawn

LEAKER = Path(__file__).resolve().parents[1] / "helpers" / "probed_leaker.py"
STABLE_BOUND = 50e6 / 60


def run_leaker(kind: str, per_step: int, steps: int = 8) -> tuple[list[dict], float]:
    """Drive the leaker step by step; return its summaries and the RSS slope in bytes/min."""
    process = spawn(
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


def test_probe_cost_sums_the_waits_and_averages_the_pauses_and_the_childrens_walks():
    from leakhunt.analysis.attribution import probe_cost

    summaries = [
        {
            "probe_s": 0.002,
            "waited_s": 0.5,
            "child": {"walk_s": 1.0, "private_dirty_bytes": 10, "minor_faults": 4},
        },
        {
            "probe_s": 0.004,
            "waited_s": 0.25,
            "child": {"walk_s": 3.0, "private_dirty_bytes": 30, "minor_faults": 0},
        },
        {"probe_s": 0.6, "mode": "in-process", "mode_reason": "fork unavailable"},
    ]
    assert probe_cost(summaries) == {
        "pause_s_mean": pytest.approx(0.202),
        "pause_s_max": 0.6,
        "waited_s": 0.75,
        "child_walk_s_mean": 2.0,
        "child_private_dirty_bytes_max": 30,
        "child_minor_faults_mean": 4.0,  # a child that reported no faults is not averaged in
        "in_process": 1,
        "in_process_reason": "fork unavailable",
    }
    assert probe_cost([]) == {
        "pause_s_mean": None,
        "pause_s_max": None,
        "waited_s": 0.0,
        "child_walk_s_mean": None,
        "child_private_dirty_bytes_max": None,
        "child_minor_faults_mean": None,
        "in_process": 0,
        "in_process_reason": None,
    }


def test_the_gap_between_rss_and_python_objects_is_measured_and_put_in_words():
    from leakhunt.analysis.attribution import native_gap

    heap = [summary(t, 5000, 10**7 + 400_000 * t) for t in range(4)]  # objects grow 0.4 MB/min
    explained = native_gap(heap, 500_000.0, STABLE_BOUND)
    assert (explained.python_bytes_per_min, explained.gap_bytes_per_min) == (
        pytest.approx(400_000),
        pytest.approx(100_000),
    )
    assert explained.python_share == pytest.approx(0.8) and explained.measurable
    assert explained.statement == (
        "Python objects explain 80% of the RSS growth (0.4 MB/min of 0.5 MB/min): look at the growing "
        "types below."
    )  # the verdict says how fast; what grows does not judge it a second time
    native = native_gap(heap, 4_000_000.0, STABLE_BOUND)
    assert native.python_share == pytest.approx(0.1)
    assert native.statement.startswith(
        "RSS grows 4 MB/min but the Python objects the probe sees grow 0.4 MB/min: "
        "3.6 MB/min is not Python objects"
    )
    # At exactly a tenth of the stable bound growth is still noise; just above it, it is growth.
    flat = [summary(t, 5000, 10**7) for t in range(4)]
    assert not native_gap(flat, 0.1 * STABLE_BOUND, STABLE_BOUND).measurable
    assert native_gap(flat, 0.1 * STABLE_BOUND + 1, STABLE_BOUND).measurable


ADVICE = "Run with --probe-interval 100s (or leave --probe-interval at auto)."
FAILED_EVENT = {"kind": "probe_failed", "text": "no answer"}


@pytest.mark.parametrize(
    ("meta", "summaries", "expected"),
    [
        ({"command": "watch"}, [], "No inside view: this watch had no agent. Start the service under"),
        ({"command": "soak", "probe_interval_s": 0}, [],
         f"No inside view: probes were off (--probe-interval 0). {ADVICE}"),
        ({"command": "soak", "probe_interval_s": 60}, [{"error": "boom"}],
         "Every probe failed (boom): nothing to attribute."),
        ({"command": "watch", "agent": True, "probe_interval_s": 300, "events": [FAILED_EVENT]}, [],
         "Every probe failed (no answer): nothing to attribute."),
        ({"command": "soak", "probe_interval_s": 300}, [{"types": []}],
         f"Only 1 probe(s) in 10.0 min (one every 300 s): at least 2 are needed and 6 give a rate. {ADVICE}"),
    ],
)  # fmt: skip
def test_when_nothing_is_attributed_the_reason_names_what_to_change(meta, summaries, expected):
    from leakhunt.analysis.attribution import unavailable

    found = unavailable(meta, summaries, span_s=600.0)
    assert found["statement"].startswith(expected)
    assert (found["unavailable"], found["types"], found["lines"]) == (True, [], [])
    assert found["probes"] == sum("types" in s for s in summaries)


def test_an_accumulation_point_is_reported_whole_its_fastest_member_as_the_example():
    def probe(t: int) -> dict:
        row = summary(t, 5000, 10**7)
        row["holders"] = [
            # Two caches of one pattern growing at different rates; the slower one's item type
            # changes at the last probe, the faster one's never does.
            {"path": "m.cache['a']", "type": "list", "count": 10 * (t + 1), "bytes": 3000 * (t + 1),
             "item_type": "dict"},
            {"path": "m.cache['b']", "type": "list" if t < 3 else "deque", "count": 5 * (t + 1),
             "bytes": 1000 * (t + 1), "item_type": "tuple" if t < 3 else "list"},
            {"path": "m.idle", "type": "list", "count": 50 + t, "bytes": 5000},  # more items, no bytes
        ]  # fmt: skip
        return row

    probes = [probe(t) for t in range(4)]
    [point] = accumulation_points(probes, 4000.0, 8000.0)
    assert point == {
        "pattern": "m.cache[*]",
        "example": "m.cache['a']",
        "members": 2,
        "type": "list",
        "item_type": "dict",
        "first_count": 15,
        "last_count": 60,
        "first_bytes": 4000,
        "last_bytes": 16000,
        "bytes_per_min": pytest.approx(4000.0),
        "count_per_min": pytest.approx(15.0),
        "share_of_rss_growth": pytest.approx(0.5),
        "probes": 4,
        "series": [{"t_s": 60.0 * t, "count": 15 * (t + 1), "bytes": 4000 * (t + 1)} for t in range(4)],
    }
    assert accumulation_points(probes, 4000.0, 0.0)[0]["share_of_rss_growth"] is None
    assert accumulation_points(probes, 4000.0, None)[0]["share_of_rss_growth"] is None


def test_the_whole_section_says_who_holds_it_what_the_search_missed_and_which_probes_failed():
    def probe(t: int) -> dict:
        row = probe_with_holders(
            t, {"app.LOG": (1000 * (t + 1), 200_000 * (t + 1))}, heap_bytes=10**7 + 200_000 * t
        )
        row.update(probe_s=0.01 * (t + 1), objects=1000 + t)
        row["tracemalloc"] = {"lines": [{"where": "app.py:7", "count": t, "size_bytes": 150_000 * t}]}
        if t >= 3:
            row["holder_search"] = {"bound_hit": True, "max_visited": 2_000_000 + t}
        return row

    summaries = [probe(t) for t in range(6)] + [{"t_sim_s": 400.0, "error": "fork failed"}]
    # Fitted from t = 2 min: the probe at exactly 120 s is in, the two before are not.
    found = attribute(summaries, 250_000.0, STABLE_BOUND, since_s=120.0)
    assert (found["probes"], found["since_s"]) == (4, 120.0)
    assert found["statement"].endswith(" Held by app.LOG (+0.2 MB/min).")
    assert found["lines"][0]["name"] == "app.py:7"
    assert found["lines"][0]["share_of_rss_growth"] == pytest.approx(0.6)
    assert found["accumulation_points"][0]["share_of_rss_growth"] == pytest.approx(0.8)
    assert found["notes"] == [
        "The reference search stopped at 2,000,003 objects in 3 of 4 probes: containers beyond that "
        "bound are not named.",
        "1 probe(s) gave no count: fork failed.",
    ]
    assert found["probe_s_mean"] == pytest.approx(0.045)
    assert found["objects_last"] == 1005
    # Only one probe at or after since_s: the rates cover every probe instead.
    assert attribute(summaries, 250_000.0, STABLE_BOUND, since_s=300.0)["probes"] == 6
    # A share of exactly 100 % needs no explanation; above it, it does.
    exact = attribute(summaries[:6], 200_000.0, STABLE_BOUND)
    assert exact["accumulation_points"][0]["share_of_rss_growth"] == pytest.approx(1.0)
    assert not any(note.startswith("Shares above 100 %") for note in exact["notes"])
