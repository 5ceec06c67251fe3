"""probe.py: what a summary holds, what it counts, and that taking one changes nothing.

The probe runs inside the process it measures, so these tests run it in the test process itself
(and stop tracemalloc again where they start it): each summary is counted by a real forked child
of the test process. The two whose cost grows with the heap walked (twenty summaries; tracemalloc
tracing the walk) run it in a fresh interpreter instead (tests/helpers/lean_probe.py): a test
worker's heap holds every test module collected. Transparency for a whole service is in
tests/test_agent.py and tests/e2e/test_what_grows.py.
"""

import ctypes
import gc
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leakhunt.sampling.probe import Probe, fork_refusal
from tests.helpers.processes import run

REPO = Path(__file__).resolve().parents[2]
HELPERS = REPO / "tests" / "helpers"


def take(probe: Probe | None = None) -> dict:
    return (probe or Probe(holders=False)).take(t_sim_s=60.0, t_wall_s=1.5)


def by_type(summary: dict) -> dict[str, dict]:
    return {row["type"]: row for row in summary["types"]}


def test_a_summary_is_one_json_line_with_the_types_largest_first():
    summary = take()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["kind"] == "heap"
    assert (summary["t_sim_s"], summary["t_wall_s"]) == (60.0, 1.5)
    assert summary["probe_s"] > 0
    assert summary["mode"] == "fork" and summary["mode_reason"] is None
    assert summary["objects"] > 10_000  # a real interpreter with pandas loaded
    sizes = [row["size_bytes"] for row in summary["types"]]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == 40
    assert summary["py_heap_bytes"] >= sum(sizes)
    assert summary["tracemalloc"] is None


class Marker:
    pass


def test_the_probe_does_not_collect_cyclic_garbage_it_measures_it():
    gc.collect()
    gc.disable()  # so that only the probe could collect the cycle
    try:
        first, second = Marker(), Marker()
        first.other, second.other = second, first
        del first, second
        summary = take(Probe(top_types=100_000))
        assert by_type(summary)[f"{__name__}.Marker"]["count"] == 2
    finally:
        gc.enable()
    assert gc.collect() >= 2  # still there for the next collection: the probe left it alone


def lean_probe(check: str) -> dict:
    """A check of tests/helpers/lean_probe.py, in a fresh interpreter of its own."""
    result = run(
        [sys.executable, str(HELPERS / "lean_probe.py"), check],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_taking_summaries_keeps_nothing_alive():
    found = lean_probe("keeps-nothing-alive")
    assert found["references_added"] == 0
    assert found["objects_added"] < 50
    # The heap the probe sees does not climb from call to call (a few kB of noise at most).
    heaps = found["py_heap_bytes"]
    assert len(heaps) == 20 and max(heaps[10:]) - min(heaps[:10]) < 64 * 1024
    assert found["holder_kept"]


def test_objects_the_gc_does_not_track_are_counted_too():
    # A dict of floats is untracked, and so are the floats: gc.get_objects() alone sees neither.
    probe = Probe(top_types=100_000, holders=False)

    def counts() -> tuple[int, int]:
        types = by_type(take(probe))
        return types["dict"]["count"], types.get("float", {"count": 0})["count"]

    dicts_before, floats_before = counts()
    rows = [{"price": i + 0.5, "size": i * 2.5} for i in range(50_000)]
    dicts_after, floats_after = counts()
    assert dicts_after - dicts_before == pytest.approx(50_000, rel=0.01)
    assert floats_after - floats_before == pytest.approx(100_000, rel=0.01)
    assert rows


def test_a_numpy_buffer_counts_once_even_behind_a_view_whose_owner_nothing_else_holds():
    before = take()["py_heap_bytes"]
    every_other = np.ones(2_000_000)[::2]  # 16 MB buffer, 8 MB logical, only the view is named
    after = take()["py_heap_bytes"]
    assert after - before == pytest.approx(16e6, rel=0.02)
    assert every_other.base is not None


def test_a_dataframe_is_counted_at_its_deep_size_and_its_arrays_not_again():
    before = by_type(take())
    frame = pd.DataFrame(
        {"open": np.arange(500_000, dtype=float), "close": np.arange(500_000, dtype=float)},
        index=pd.date_range("2025-10-30", periods=500_000, freq="min"),
    )
    deep_bytes = int(frame.memory_usage(deep=True).sum())  # 12 MB: two float columns and the index
    after = by_type(take())
    grown = {
        name: after[name]["size_bytes"] - before.get(name, {"size_bytes": 0})["size_bytes"] for name in after
    }
    assert grown["pandas.DataFrame"] == pytest.approx(deep_bytes, rel=0.01)
    assert abs(grown.get("numpy.ndarray", 0)) < 0.01 * deep_bytes
    assert abs(grown.get("pandas.DatetimeIndex", 0)) < 0.01 * deep_bytes


def test_with_tracemalloc_the_allocating_line_comes_first_with_its_traceback():
    found = lean_probe("tracemalloc-line")
    traced, line = found["traced"], found["line"]
    top = traced["lines"][0]
    assert top["where"] == line
    assert top["size_bytes"] >= 5_000 * 1000
    assert top["count"] >= 5_000
    assert top["traceback"][-1] == line
    assert traced["traced_bytes"] >= top["size_bytes"] and traced["peak_bytes"] >= traced["traced_bytes"]
    assert found["kept"] == 5_000


def test_the_allocator_counts_python_objects_nothing_holds_and_the_gc_does_not_track():
    probe = Probe(holders=False)
    before = take(probe)
    for i in range(20_000):
        # A str of 200 bytes whose reference C code keeps: the GC never tracks a str.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(f"{i:08d}" + "x" * 143))
    after = take(probe)
    assert after["allocated_blocks"] - before["allocated_blocks"] >= 20_000
    # Each str lives in a 208-byte block: the bytes in live blocks grow by that, give or take the
    # probe's own few objects.
    assert after["pymalloc_bytes"] - before["pymalloc_bytes"] == pytest.approx(20_000 * 208, rel=0.05)
    assert abs(after["py_heap_bytes"] - before["py_heap_bytes"]) < 20_000 * 208 / 10
    # Counting in-process cannot borrow descriptor 2 (the service's stderr): no allocator bytes.
    in_process = take(Probe(fork=False, holders=False))
    assert in_process["pymalloc_bytes"] is None and in_process["allocated_blocks"] > 0


def test_the_compiled_extensions_loaded_are_listed_with_their_versions():
    extensions = {row["package"]: row for row in take()["extensions"]}
    assert extensions["numpy"]["version"] == np.__version__
    assert extensions["pandas"]["version"] == pd.__version__
    assert not {"_json", "math", "_socket", "json"} & set(extensions)  # the interpreter's own


def test_the_service_pauses_for_the_fork_only_and_the_child_reports_what_it_cost():
    kept = [{"i": i} for i in range(200_000)]
    summary = take()
    child = summary["child"]
    # The walk runs in the child: the service's pause is a small part of it.
    assert summary["probe_s"] < child["walk_s"] / 3
    # The child's copy-on-write pages and its own tally are memory of the host, not of the service.
    assert child["private_dirty_bytes"] > child["private_dirty_before_bytes"]
    assert child["minor_faults"] > 0
    assert kept


def test_a_summary_is_stamped_when_its_objects_were_counted_not_when_it_arrived():
    before = time.time()
    summary = take()
    after = time.time()
    assert before <= summary["counted_unix_s"] <= after - summary["child"]["walk_s"]


def test_a_host_short_of_memory_skips_the_probe_and_says_why():
    reason = fork_refusal(last_child_bytes=10**15)  # a child that would need a petabyte
    assert reason is not None and "MB available" in reason and "skipped" in reason
    assert fork_refusal(last_child_bytes=1) is None
    probe = Probe()
    probe.last_child_bytes = 10**15
    summary = take(probe)
    assert (summary["kind"], summary["mode"]) == ("error", "skipped")
    assert "MB available" in summary["error"] and summary["t_sim_s"] == 60.0
    assert summary["allocated_blocks"] > 0  # read for free, so the growth of live objects still shows


def test_the_child_is_measured_against_the_service_and_stops_at_its_memory_budget():
    kept = [{"i": i, "v": i + 0.5} for i in range(300_000)]
    summary = take()
    # The child's copy against the service's size, and the budget it was given (the host's).
    assert summary["service_rss_bytes"] > 300_000 * 100
    assert summary["child"]["private_dirty_bytes"] < summary["child_budget_bytes"]
    # A budget the walk's first copied pages exceed: it stops before counting, and says so.
    stopped = take(Probe(child_budget_bytes=summary["child"]["private_dirty_before_bytes"] + 2**20))
    assert stopped["kind"] == "error" and "reached its memory budget of" in stopped["error"]
    assert "objects listed" in stopped["error"]
    assert kept


def test_without_fork_the_count_runs_in_process_and_says_so():
    summary = take(Probe(fork=False, holders=False))
    assert (summary["mode"], summary["mode_reason"]) == ("in-process", "fork turned off")
    assert summary["child"] is None
    assert by_type(summary)["dict"]["count"] > 1000


def our_children() -> list[str]:
    """The states of this process's children (Z for one nobody reaped), read from /proc."""
    states = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == os.getpid():
                states.append(fields[0])
    return states


def test_a_child_that_does_not_answer_in_time_is_killed_and_the_failure_said():
    children_before = our_children()
    summary = take(Probe(timeout_s=0.0))
    assert summary["kind"] == "error" and "killed" in summary["error"]
    assert summary["t_sim_s"] == 60.0  # still on the time axis, for the report to place
    # Killed and reaped: as many children as before and no zombie (the others' states may change).
    after = our_children()
    assert len(after) == len(children_before) and after.count("Z") == children_before.count("Z")


def test_two_children_may_walk_at_once_a_third_probe_waits_for_the_oldest_and_lines_keep_fork_order():
    for in_flight, waited in ((1, [False, True, True]), (2, [False, False, True])):
        probe = Probe(holders=False, in_flight=in_flight)
        for k in range(3):  # no ready() between: each start finds the earlier children walking
            probe.start(t_sim_s=60.0 * k, t_wall_s=float(k))
        summaries = [json.loads(line) for line in probe.finish()]
        assert [s["t_sim_s"] for s in summaries] == [0.0, 60.0, 120.0]
        assert all(s["kind"] == "heap" for s in summaries), [s.get("error") for s in summaries]
        assert [s["waited_s"] > 0 for s in summaries] == waited, in_flight


def test_children_walking_at_once_each_need_the_memory_one_would():
    available = 3 * 10**9
    assert fork_refusal(10**9, available, children=1) is None  # 1.5 GB and the reserve fit in 3 GB
    assert "skipped" in fork_refusal(10**9, available, children=2)


def test_summaries_started_without_waiting_come_out_in_order_and_stamped_with_their_fork():
    probe = Probe(holders=False)
    lines = []
    for k in range(3):
        probe.start(t_sim_s=60.0 * k, t_wall_s=float(k))
        lines += probe.ready()
    lines += probe.finish()
    summaries = [json.loads(line) for line in lines]
    assert [s["t_sim_s"] for s in summaries] == [0.0, 60.0, 120.0]
    assert all(s["waited_s"] >= 0 and s["probe_s"] > 0 for s in summaries)
    assert probe.finish() == []
