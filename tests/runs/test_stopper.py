"""stopper.py: one Ctrl-C stops every run handed its Stopper, also one that registers its target
after it; a later block in the same process starts with a Stopper nobody has stopped.

The targets are real soak children (the smoke scenario), ended by the Stopper's SIGTERM."""

import os
import signal

import pytest

from leakhunt.runs.stopper import Stopper, interrupts_stop_runs
from leakhunt.sampling.child import TargetProcess
from leakhunt.workload.scenario import load_scenario


def long_target(log_path) -> TargetProcess:
    config = {
        "scenario": load_scenario("smoke").to_dict(),
        "duration_s": 3600.0,
        "interval_s": 5.0,
        "probe_interval_s": None,
        "speed": None,
    }
    return TargetProcess(config, log_path)


def at_its_first_barrier(target: TargetProcess):
    messages = iter(target.messages())
    assert next(messages)["op"] == "ready"
    assert next(messages)["op"] == "sample"
    return messages


def test_stop_ends_every_registered_target_and_any_registered_after_it(tmp_path):
    stopper = Stopper()
    running = long_target(tmp_path / "running.log")
    messages = at_its_first_barrier(running)
    stopper.add(running)
    assert not stopper.stopped
    stopper.stop()
    assert stopper.stopped
    assert list(messages) == []  # its pipe closed: the run's loop ends
    late = long_target(tmp_path / "late.log")
    stopper.add(late)  # a run that picked its plan up as Ctrl-C came
    assert running.stop() == -signal.SIGTERM and late.stop() == -signal.SIGTERM


def test_a_discarded_target_is_left_running_by_a_later_stop(tmp_path):
    stopper = Stopper()
    target = long_target(tmp_path / "target.log")
    messages = at_its_first_barrier(target)
    stopper.add(target)
    stopper.discard(target)  # its run ended: its target is its own again
    stopper.stop()
    target.release()
    assert next(messages)["op"] == "sample"
    assert target.stop() == -signal.SIGTERM  # ended by stop() here, not before


def test_an_interrupt_in_the_block_stops_its_runs_and_the_next_block_starts_unstopped(tmp_path):
    target = long_target(tmp_path / "target.log")
    messages = at_its_first_barrier(target)
    with pytest.raises(KeyboardInterrupt), interrupts_stop_runs() as stopper:
        stopper.add(target)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next statement
        raise AssertionError("SIGTERM did not interrupt")
    assert stopper.stopped and list(messages) == []
    assert target.stop() == -signal.SIGTERM
    with interrupts_stop_runs() as after:
        assert not after.stopped
