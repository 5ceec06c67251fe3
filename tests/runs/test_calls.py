"""calls.py: a function is called N times in a forked child that reads RSS, Python's allocated
blocks and tracemalloc's total before the first call and after each, and takes heap snapshots at
calls spread over the run, the last included; nothing the calls keep outlives the child. A call
that raises, a child that dies without a word and one that overruns its deadline each end in a
RunError saying which; fewer than 10 calls are refused."""

import itertools
import os
import select
import signal
import threading

import pytest

from leakhunt.errors import RunError
from leakhunt.runs.calls import PAGE_BYTES, CallsRun, _probe_points, _rss_bytes, _write_all, run_calls

KEPT: list[bytearray] = []
KEPT_BYTES = 100_000  # a call's leak: 100 kB on the Python heap, exact to its object header


def keep_100_kb() -> None:
    KEPT.append(bytearray(b"x") * KEPT_BYTES)  # written: its pages are resident


@pytest.fixture
def leaking_run() -> CallsRun:
    """A real leak of 100 kB a call over 20 calls, without heap snapshots (a tenth of a second;
    each test makes its own: mutmut maps a test to the code its own run calls)."""
    run = run_calls(keep_100_kb, 20, probes=0, deadline_s=300.0)
    assert KEPT == []  # the calls kept their bytes in the child, which is gone
    return run


def test_each_reading_is_taken_before_the_first_call_and_after_every_call(leaking_run):
    assert leaking_run.calls == 20
    lengths = {len(leaking_run.rss_bytes), len(leaking_run.allocated_blocks), len(leaking_run.traced_bytes)}
    assert lengths == {21}
    assert 0 < leaking_run.wall_s < 300


def test_what_a_call_keeps_is_in_the_python_heap_and_the_rss_readings(leaking_run):
    traced = leaking_run.traced_bytes
    per_call = [after - before for before, after in itertools.pairwise(traced)]
    # Each call's bytearray and its list slot: 100 kB and a few dozen bytes (a snapshot's own
    # leftovers land in the call after it).
    assert all(grown >= KEPT_BYTES for grown in per_call), per_call
    assert sorted(per_call)[10] < KEPT_BYTES + 200, per_call
    rss = leaking_run.rss_bytes
    assert all(r % PAGE_BYTES == 0 for r in rss)  # read in pages
    # In pages, and positive; whether they grow depends on the free memory the heap held already.
    assert all(r > 0 for r in rss)
    blocks = leaking_run.allocated_blocks
    assert blocks[0] > 0 and blocks[-1] > blocks[0]  # the first reading is before the first call


def test_heap_snapshots_are_taken_at_calls_spread_over_the_run_the_last_included():
    run = run_calls(keep_100_kb, 20, probes=1, deadline_s=300.0)
    # Call k is "minute" k on the snapshot's clock: rates come out per call.
    [summary] = run.summaries
    assert summary["t_sim_s"] == 20 * 60.0 and 0 <= summary["t_wall_s"] <= run.wall_s
    assert len(run.rss_bytes) == 21
    assert _probe_points(20, 4) == {5, 10, 15, 20}
    assert _probe_points(10, 3) == {3, 7, 10}
    assert _probe_points(10, 0) == set() and _probe_points(10, -1) == set()


def test_without_probes_there_are_no_snapshots():
    run = run_calls(lambda: None, 10, probes=0)
    assert run.summaries == [] and len(run.rss_bytes) == 11


def test_fewer_than_ten_calls_are_refused():
    with pytest.raises(RunError) as raised:
        run_calls(keep_100_kb, 9)
    assert raised.value.message == "calls=9: at least 10 calls are needed to fit a growth per call"
    run_calls(lambda: None, 10, probes=0)  # ten are enough


def test_a_call_that_raises_is_reported_with_its_error_and_traceback():
    made = []

    def fails_at_the_third_call() -> None:
        made.append(None)  # in the child: the parent's list stays empty
        if len(made) == 3:
            raise ValueError("the third call fails")

    with pytest.raises(RunError) as raised:
        run_calls(fails_at_the_third_call, 10, probes=0)
    first, _, traceback = raised.value.message.partition("\n")
    assert first == "a call raised ValueError: the third call fails"
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.rstrip().endswith("ValueError: the third call fails")


def test_a_child_killed_mid_run_says_it_died_without_a_word():
    def killed() -> None:  # as the OOM killer would
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(RunError) as raised:
        run_calls(killed, 10, probes=0)
    assert raised.value.message == (
        "the child running the calls died without a word (killed, or out of memory?)"
    )


def test_a_child_past_its_deadline_is_killed_and_says_what_to_do():
    def hangs() -> None:
        # Far past the 0.2 s deadline; then the child ends, so that a deadline not kept fails
        # this test in seconds ("died without a word") instead of hanging it.
        select.select([], [], [], 20.0)
        os._exit(3)

    with pytest.raises(RunError) as raised:
        run_calls(hangs, 10, probes=0, deadline_s=0.2)
    assert raised.value.message == (
        "the calls did not finish within 0.2 s (deadline_s): the child was killed; "
        "give fewer calls or a longer deadline"
    )


def test_a_payload_larger_than_a_pipe_arrives_whole():
    """The readings of a long run are one JSON line of megabytes: a pipe takes 64 kB a write."""
    read_fd, write_fd = os.pipe()
    payload = bytes(range(256)) * 4096  # 1 MiB, sixteen pipe buffers
    received = bytearray()

    def read_to_the_end() -> None:
        while chunk := os.read(read_fd, 1 << 16):
            received.extend(chunk)

    reader = threading.Thread(target=read_to_the_end)
    reader.start()
    try:
        _write_all(write_fd, payload)
    finally:
        os.close(write_fd)
        reader.join()
        os.close(read_fd)
    assert bytes(received) == payload


def test_rss_is_read_in_bytes_from_statm():
    with open("/proc/self/status") as status:
        vm_rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert abs(_rss_bytes() - vm_rss_kb * 1024) < 8 * 2**20  # the same process, moments apart


def children_of_this_process() -> set[int]:
    pids = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as children:
            pids |= {int(pid) for pid in children.read().split()}
    return pids


def test_a_long_run_arrives_whole_and_leaves_no_child_behind():
    before = children_of_this_process()
    run = run_calls(lambda: None, 20_000, probes=0)  # readings of several pipe buffers
    assert len(run.rss_bytes) == len(run.allocated_blocks) == len(run.traced_bytes) == 20_001
    assert children_of_this_process() == before  # reaped, not left a zombie
