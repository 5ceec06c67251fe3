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
from scipy.stats import theilslopes

from leakhunt.analysis.attribution import (
    accumulation_points,
    attribute,
    rank_growing_types,
    theil_sen_slope,
    what_grows,
)
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
    # Shares are shown in whole percent: 100.4 % reads "100 %" and is not explained as above it.
    for dicts_per_min, explained in ((5_020_000, False), (5_030_000, True)):
        shares = attribute([summary(t, dicts_per_min * (t + 1), 10**7) for t in range(4)], 5e6, STABLE_BOUND)
        assert f"{shares['types'][0]['share_of_rss_growth']:.0%}" == ("100%" if not explained else "101%")
        assert any("Shares above 100 %" in note for note in shares["notes"]) is explained


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
            "service_rss_bytes": 100,
            "child": {"walk_s": 1.0, "private_dirty_bytes": 10, "minor_faults": 4},
        },
        {
            "probe_s": 0.004,
            "waited_s": 0.25,
            "service_rss_bytes": 60,
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
        "child_share_of_service_max": 0.5,  # the second child: 30 bytes of a 60-byte service
        "service_rss_bytes_max": 100,
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
        "child_share_of_service_max": None,
        "service_rss_bytes_max": None,
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
        "The reference search stopped at its bound of 2,000,003 objects in 3 of 4 probes: containers "
        "beyond it are not named. Raise it with --search-limit OBJECTS (the snapshot child needs about "
        "200 bytes per object searched).",
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


def inside_probe(
    t_min: float,
    *,
    heap_bytes: int,
    pymalloc_bytes: int | None,
    reachable_bytes: int | None,
    unreached: dict | None = None,
    lines: list | None = None,
) -> dict:
    """A summary with the allocator's and the reference search's views beside the GC's."""
    row = summary(t_min, 5000, heap_bytes)
    row.update(
        pymalloc_bytes=pymalloc_bytes,
        allocated_blocks=None if pymalloc_bytes is None else pymalloc_bytes // 200,
    )
    row["holder_search"] = {
        "bound_hit": reachable_bytes is None,
        "max_visited": 2_000_000,
        "reachable_bytes": reachable_bytes,
        "unreached": unreached,
    }
    row["extensions"] = [{"package": "ujson", "version": "5.9.0", "module": "ujson"}]
    if lines is not None:
        row["tracemalloc"] = {"traced_bytes": pymalloc_bytes, "peak_bytes": pymalloc_bytes, "lines": lines}
    return row


def test_python_memory_that_grows_while_nothing_reachable_does_is_a_c_extension_leak_not_native():
    from leakhunt.analysis.attribution import UNHELD_HEAD

    # ujson 5.9.0's leak: strs the GC does not track, 1 MB/min of live blocks, nothing reachable.
    def probe(t: int, traced: bool) -> dict:
        lines = [{"where": "svc.py:26", "count": 5000 * t, "size_bytes": 1_000_000 * t}] if traced else None
        return inside_probe(
            t,
            heap_bytes=10**7,
            pymalloc_bytes=5 * 10**6 + 1_000_000 * t,
            reachable_bytes=8 * 10**6,
            lines=lines,
        )

    traced = attribute([probe(t, True) for t in range(6)], 1_200_000.0, STABLE_BOUND)
    statement = traced["statement"]
    assert statement.startswith(UNHELD_HEAD + ", not native memory.")
    assert traced["gap"]["kind"] == "unheld"
    assert traced["gap"]["unheld_bytes_per_min"] == pytest.approx(1_000_000)
    assert "ujson 5.9.0" in statement and "Allocated at svc.py:26 (+1 MB/min)" in statement
    assert "The GC does not list them" in statement
    assert "native memory or allocator retention" not in statement and "Try the cleanup" not in statement
    untraced = attribute([probe(t, False) for t in range(6)], 1_200_000.0, STABLE_BOUND)["statement"]
    assert untraced.startswith(UNHELD_HEAD) and "--tracemalloc 8" in untraced
    # The same RSS growth with no allocator view, or a search that stopped at its bound: the GC's
    # objects do not grow, and what grows cannot be told from native memory.
    for blind in (
        [inside_probe(t, heap_bytes=10**7, pymalloc_bytes=None, reachable_bytes=8 * 10**6) for t in range(6)],
        [inside_probe(t, heap_bytes=10**7, pymalloc_bytes=5 * 10**6 + 10**6 * t, reachable_bytes=None)
         for t in range(6)],
    ):  # fmt: skip
        gap = attribute(blind, 1_200_000.0, STABLE_BOUND)["gap"]
        assert gap["kind"] == "native" and "not Python objects" in gap["statement"]


def test_objects_the_gc_lists_that_no_root_reaches_are_a_leak_when_held_from_outside_and_cycles_when_not():
    from leakhunt.analysis.attribution import CYCLES_HEAD, UNHELD_HEAD

    def probe(t: int, held_from_outside: int) -> dict:
        unreached = {
            "objects": 1000 + 4000 * t,
            "bytes": 100_000 + 400_000 * t,
            "held_from_outside": held_from_outside * t + 10,
            "types": [{"type": "list", "count": 1000 + 4000 * t, "size_bytes": 100_000 + 400_000 * t}],
        }
        return inside_probe(
            t,
            heap_bytes=10**7 + 400_000 * t,
            pymalloc_bytes=5 * 10**6 + 420_000 * t,
            reachable_bytes=8 * 10**6,
            unreached=unreached,
        )

    leak = attribute([probe(t, 4000) for t in range(6)], 500_000.0, STABLE_BOUND)["statement"]
    assert leak.startswith(UNHELD_HEAD)
    assert "The GC lists them but no root reaches them: list +20,000" in leak
    assert "+4,000 objects/min hold references no Python object has" in leak
    cycles = attribute([probe(t, 0) for t in range(6)], 500_000.0, STABLE_BOUND)["statement"]
    assert cycles.startswith(CYCLES_HEAD) and "gc.collect() frees them" in cycles
    assert "ujson" not in cycles  # no extension is to blame for garbage the collector has not run on


def test_a_leak_the_roots_reach_is_python_objects_held_even_though_the_allocator_grows_too():
    # A list of small dicts: the allocator's blocks grow with it (a block is rounded up to 16 bytes).
    summaries = [
        inside_probe(
            t,
            heap_bytes=10**7 + 400_000 * t,
            pymalloc_bytes=5 * 10**6 + 480_000 * t,
            reachable_bytes=8 * 10**6 + 400_000 * t,
        )
        for t in range(6)
    ]
    gap = attribute(summaries, 500_000.0, STABLE_BOUND)["gap"]
    assert gap["kind"] == "python" and gap["statement"].startswith("Python objects explain 80%")
    assert gap["unheld_bytes_per_min"] == pytest.approx(80_000)


def test_a_bounded_run_names_the_container_that_filled_and_says_why_when_none_did():
    from leakhunt.analysis.attribution import filled_containers

    capped = [100, 300, 512, 512, 511, 512, 512]  # re's cache: full at the third probe
    summaries = [
        probe_with_holders(
            t,
            {
                "re._cache": (capped[t], 15_000 * capped[t]),
                "app.sessions": (1000, 400_000),  # never grew
                "app.LOG": (100 * (t + 1), 2_000 * (t + 1)),  # still growing: not filled
            },
        )
        for t in range(7)
    ]
    [filled] = filled_containers(summaries)
    assert (filled["path"], filled["first_count"], filled["last_count"]) == ("re._cache", 100, 512)
    assert filled["gained_bytes"] == 15_000 * 412 and filled["full_at_s"] == 120.0
    # The plateau's own rates (the last third) are flat: the section is told what filled before.
    found = what_grows(summaries, {"command": "watch"}, 0.0, STABLE_BOUND, 240.0, 360.0, verdict="BOUNDED")
    assert found["statement"].startswith(
        "RSS levels off (BOUNDED): what filled is re._cache (list of dict), 100 -> 512 items (+6.18 MB), "
        "full by 2.0 min and the same size since"
    )
    assert "nothing to attribute" not in found["statement"]
    flat = [probe_with_holders(t, {"app.sessions": (1000, 400_000)}) for t in range(7)]
    none = what_grows(flat, {"command": "watch"}, 0.0, STABLE_BOUND, 240.0, 360.0, verdict="BOUNDED")
    assert none["statement"].startswith(
        "RSS levels off (BOUNDED), and no container the 7 probe(s) saw filled"
    )
    # Any other verdict keeps the attribution's own words.
    assert (
        "nothing to attribute"
        in what_grows(flat, {}, 0.0, STABLE_BOUND, None, 360.0, verdict="STABLE")["statement"]
    )


def test_a_missing_holder_always_comes_with_its_reason():
    from leakhunt.analysis.attribution import holder_missing

    def probes(n: int, holders: dict | None = None, bound_hit: bool = False) -> list[dict]:
        rows = []
        for t in range(n):
            row = probe_with_holders(
                t, holders or {"app.sessions": (1000, 400_000)}, heap_bytes=10**7 + 500_000 * t
            )
            row["holder_search"] = {"bound_hit": bound_hit, "max_visited": 2_000_000}
            row["child"] = {"walk_s": 31.0 if t else 12.0, "private_dirty_bytes": 1, "minor_faults": 1}
            rows.append(row)
        return rows

    def why(summaries: list[dict], meta: dict | None = None) -> str:
        found = what_grows(summaries, meta or {"command": "watch"}, 500_000.0, STABLE_BOUND, None, 360.0)
        assert found["holder_missing"] in found["notes"]
        return found["holder_missing"]

    assert why(probes(6)).startswith(
        "No holder named: no container's contents grew steadily across the 6 probes"
    )
    assert why(probes(6, bound_hit=True)).startswith(
        "No holder named: the reference search stopped at its bound of 2,000,000 objects in 6 of 6 probes"
    )
    late = {"command": "watch", "probe_counts": {"asked": 2, "answered": 2, "failed": 0, "late": 4}}
    assert why(probes(2), late) == (
        "No holder named: who holds it takes 3 probes in the fitted part of the run, and 2 completed "
        "there: of the others, 4 came due while the previous one was still counting (each walk took "
        "31 s at most), and were not asked. Probe more often (--probe-interval) or watch longer."
    )
    blind = probes(6)
    for row in blind:
        del row["holders"]
    assert why(blind) == "No holder named: these probes did not search for holders."
    # A holder named, or growth that is not Python objects: no such note.
    growing = probes(6, {"app.LOG": (100, 0)})
    for t, row in enumerate(growing):
        row["holders"][0].update(count=1000 * (t + 1), bytes=500_000 * (t + 1))
    assert holder_missing(attribute(growing, 500_000.0, STABLE_BOUND), growing, {}) is None
    flat_heap = probes(6)
    for row in flat_heap:
        row["py_heap_bytes"] = 10**7
    assert holder_missing(attribute(flat_heap, 5e6, STABLE_BOUND), flat_heap, {}) is None  # native


def test_a_python_share_above_100_percent_is_shown_as_measured_with_its_reason():
    summaries = [summary(t, 5000, 10**7 + 93_900_000 * t) for t in range(4)]
    found = attribute(summaries, 62_000_000.0, STABLE_BOUND)
    assert found["statement"].startswith(
        "Python objects explain 151% of the RSS growth (93.9 MB/min of 62 MB/min)"
    )
    assert any(note.startswith("Shares above 100 %") for note in found["notes"])


def test_the_theil_sen_slope_is_scipys_on_ties_steps_outliers_and_repeated_times():
    rng = np.random.default_rng(7)
    cases = [
        (np.arange(6.0), np.array([0, 5, 5, 5, 5, 5.0])),  # a step: most pairs flat
        (np.array([0, 1, 1, 2, 3, 3, 4.0]), rng.normal(size=7)),  # repeated times are left out
        (np.arange(8.0), np.arange(8.0) * 3 + np.array([0, 0, 0, 0, 0, 0, 0, 1e9])),  # an outlier
    ]
    cases += [(np.sort(rng.uniform(0, 60, n)), rng.normal(0, 1e6, n).cumsum()) for n in range(3, 40)]
    for t, values in cases:
        assert theil_sen_slope(t, values) == pytest.approx(theilslopes(values, t)[0], rel=1e-12, abs=1e-12)
