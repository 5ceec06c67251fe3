"""local.py: a process on this host, how its end is told apart from a PID's reuse, and a unit
followed across a restart (through the systemctl stand-in, which answers as systemd does)."""

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event
from tests.conftest import start
from tests.helpers.processes import stop
from tests.helpers.systemctl import install_systemctl
from tests.sampling.conftest import collect

NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def start_with_pid(pid: int):
    """A new process given `pid` by the kernel: the next PID handed out follows ns_last_pid.

    Other processes on the host fork too and may take it first, so try again until it lands.
    """
    for _ in range(200):
        try:
            NS_LAST_PID.write_text(str(pid - 1))
        except PermissionError:
            pytest.skip("writing ns_last_pid needs CAP_SYS_ADMIN (root): PID reuse cannot be made here")
        process = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
        if process.pid == pid:
            return process
        stop(process)
    raise AssertionError(f"the kernel never handed out PID {pid} again")


def kinds(items: list) -> list[str]:
    """Samples and events in order, without "missed" gaps: a callback that forks until it gets a
    PID, or a loaded host, can hold the sampler past a due time, which is no part of the check."""
    shown = [i for i in items if getattr(i, "kind", "") != "missed"]
    return ["sample" if isinstance(i, Sample) else i.kind for i in shown]


def test_a_pid_taken_by_a_new_process_ends_the_watch_as_pid_reused_not_a_jump_in_rss(idle):
    watched_pid, successor = idle.pid, []

    def replace_the_process(k: int) -> None:
        # The stream is paused while this runs: the next read is of whatever holds the PID then.
        if k == 2:
            stop(idle)
            successor.append(start_with_pid(watched_pid))

    try:
        items = collect(LocalSource(pid=watched_pid), 5, on_sample=replace_the_process)
    finally:
        for process in successor:
            stop(process)
    assert successor and successor[0].pid == watched_pid
    assert kinds(items) == ["sample", "sample", "pid_reused"]
    assert items[-1].detail["pid"] == watched_pid


def test_a_process_that_exits_is_an_exited_event_even_before_its_parent_reaps_it():
    process = start("-c", "import sys; print('ready', flush=True); sys.stdin.readline()")

    def let_it_exit(k: int) -> None:
        if k == 2:
            process.stdin.write("\n")
            process.stdin.flush()
            # Waits until it has exited but leaves it a zombie: its /proc entry is still there.
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)

    try:
        items = collect(LocalSource(pid=process.pid), 5, on_sample=let_it_exit)
    finally:
        process.wait()
    assert kinds(items) == ["sample", "sample", "exited"]


def test_a_sampler_held_up_records_the_samples_it_missed_as_a_gap_not_a_burst_of_reads(idle):
    interval_s = 0.01

    held_s = []

    def hold_up(k: int) -> None:
        # The consumer stays busy for ten intervals at least (as a long probe or a stalled host
        # would), whatever this machine's speed: the fault itself, not a wait for an event.
        if k == 3:
            started_s, chunk = time.monotonic(), bytes(1_000_000)
            while time.monotonic() - started_s < 10 * interval_s:
                hashlib.sha256(chunk).digest()
            held_s.append(time.monotonic() - started_s)

    items = collect(LocalSource(pid=idle.pid), 8, interval_s=interval_s, on_sample=hold_up)
    times = [item.t_wall_s for item in items if isinstance(item, Sample)]
    gaps = [item.detail for item in items if isinstance(item, Event)]
    assert len(times) == 8 and {item.kind for item in items if isinstance(item, Event)} == {"missed"}
    # The hold-up is one gap, right after the third sample, of the due times it was held over. A
    # loaded host delays the sampler by more than an interval elsewhere too (10 ms here): those
    # are gaps of their own, counted the same way, so it is the missed samples that add up, not
    # the number of gaps.
    third = [i for i, item in enumerate(items) if isinstance(item, Sample)][2]
    held = items[third + 1]
    assert isinstance(held, Event) and held.detail["missed"] >= held_s[0] / interval_s - 2
    for gap in gaps:
        # The missed count is the due times that passed while held up, give or take the one taken.
        assert abs(gap["missed"] - (gap["to_s"] - gap["from_s"]) / interval_s) <= 1
    # No back-to-back rows standing in for the missed ones: at most one sample per due time, and
    # every due time up to the last is a sample or a missed one.
    due_slots = [int(t_s / interval_s) for t_s in times]
    assert len(set(due_slots)) == len(due_slots)
    assert len(times) + sum(gap["missed"] for gap in gaps) == pytest.approx(due_slots[-1] + 1, abs=1)


UNIT = "virtuoso-trading.service"


def test_a_unit_is_followed_across_a_restart_with_no_main_process_in_between(idle, tmp_path, monkeypatch):
    successor = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    # Calls: 1 from the constructor, 2-3 for the first two samples; 4-5 between stop and start.
    install_systemctl(tmp_path, UNIT, (idle.pid, successor.pid), restart_after_calls=3, stopped_calls=2)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    try:
        items = collect(LocalSource(unit=UNIT), 5)
    finally:
        stop(successor)
    assert kinds(items) == ["sample", "sample", "restart", "sample", "sample", "sample"]
    restart = next(i for i in items if getattr(i, "kind", "") == "restart").detail
    assert (restart["old_pid"], restart["new_pid"], restart["restarts"]) == (idle.pid, successor.pid, 1)
    assert "no main process for" in restart["text"]
    assert idle.wait(timeout=30) == -15  # the stand-in stopped it, as systemd stops a main process


def test_a_restart_that_gets_the_same_pid_again_is_told_by_its_start_timestamp(idle, tmp_path, monkeypatch):
    pid, successor = idle.pid, []
    # No call between stop and start (stopped_calls=0): the new process, with the old PID, is
    # the unit's main process at call 4, with a new ExecMainStartTimestamp.
    install_systemctl(tmp_path, UNIT, (pid, pid), restart_after_calls=3, stopped_calls=0)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    def restart_with_the_same_pid(k: int) -> None:
        if k == 2:  # the stream is paused: the next call finds the new process
            stop(idle)
            successor.append(start_with_pid(pid))

    source, stopped, items = LocalSource(unit=UNIT), threading.Event(), []
    # Only against a hang: a restart missed here leaves a reader of the dead process, no samples.
    guard = threading.Timer(120, stopped.set)
    guard.start()
    try:
        for item in source.stream(0.1, stopped):
            items.append(item)
            samples = sum(isinstance(i, Sample) for i in items)
            if isinstance(item, Sample):
                restart_with_the_same_pid(samples)
            if samples == 4:
                break
    finally:
        guard.cancel()
        for process in successor:
            stop(process)
    assert kinds(items) == ["sample", "sample", "restart", "sample", "sample"]
    restart = next(i for i in items if getattr(i, "kind", "") == "restart").detail
    assert restart["old_pid"] == restart["new_pid"] == pid
