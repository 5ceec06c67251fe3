"""forked.py: pieces of a report made side by side in forked children, handed back in order as
JSON carries them; a piece a child could not make is made again here, where its error is said."""

import multiprocessing
import os
from pathlib import Path

import pytest

from leakhunt.report import forked
from leakhunt.report.forked import run_all

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="side by side needs two cores")


def test_results_come_back_in_order_from_other_processes_as_json_carries_them():
    results = run_all([lambda k=k: (k, os.getpid()) for k in range(5)])
    assert [k for k, _ in results] == [0, 1, 2, 3, 4]
    assert all(isinstance(result, list) for result in results)  # a tuple comes back as a list
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) > 1  # the first here, the others in children


def test_at_most_jobs_run_at_once_and_one_job_runs_everything_here():
    assert {pid for pid in run_all([os.getpid] * 3, jobs=1)} == {os.getpid()}
    assert len(set(run_all([os.getpid] * 3, jobs=2))) == 3  # this process, then a child at a time


def test_after_its_own_piece_this_process_keeps_jobs_children_drawing_at_once():
    # Each child's piece waits for another child to reach the same point: pieces drawn one child
    # at a time would break the barrier (its timeout), fail in their children, and be redone
    # here, where the barrier breaks again and raises.
    barrier = multiprocessing.get_context("fork").Barrier(2)
    pids = run_all([os.getpid] + [lambda: (barrier.wait(timeout=60), os.getpid())[1]] * 4, jobs=2)
    assert pids[0] == os.getpid() and len(set(pids)) == 5


def test_a_failure_in_this_process_s_own_piece_leaves_no_child_behind():
    before = set(_children())

    def fails() -> None:
        raise ValueError("this figure cannot be drawn")

    with pytest.raises(ValueError, match="cannot be drawn"):
        run_all([fails, lambda: multiprocessing.get_context("fork").Event().wait(60)], jobs=2)
    assert set(_children()) == before


def test_a_piece_that_fails_in_its_child_is_made_again_here_and_raises_its_own_error(tmp_path: Path):
    tries = tmp_path / "tries"

    def fails() -> None:
        with tries.open("a") as log:
            log.write(f"{os.getpid()}\n")
        raise ValueError("this figure cannot be drawn")

    with pytest.raises(ValueError, match="cannot be drawn"):
        run_all([lambda: None, fails])
    pids = tries.read_text().split()
    assert len(pids) == 2 and pids[-1] == str(os.getpid())  # once in a child, again here


def test_a_forked_child_runs_its_own_pieces_in_order_without_forking_again(monkeypatch):
    monkeypatch.setattr(forked, "_in_child", True)
    assert forked.workers() == 1
    assert set(run_all([os.getpid] * 3)) == {os.getpid()}


def _children() -> list[int]:
    """This process's children, alive or not yet waited for (Linux's /proc task lists)."""
    task = f"/proc/{os.getpid()}/task"
    return [int(pid) for tid in os.listdir(task) for pid in Path(task, tid, "children").read_text().split()]


def test_with_two_jobs_one_child_draws_while_this_process_draws_its_own_piece():
    # Counted against the children this worker had already (a session's sshd or Prometheus).
    before = set(_children())
    during, *pids = run_all([_children] + [os.getpid] * 4, jobs=2)
    assert len(set(during) - before) == 1 and len(set(pids)) == 4
