"""target_server.py: compare's targets forked from one warmed interpreter speak the soak's
protocol, measure what fresh targets measure, end with their own exit codes and leave nothing
behind; where the server cannot serve, a target starts afresh and says its own error.

Every target here is the real `leakhunt.workload.target`, forked by the real server."""

import json
import subprocess
import sys

import psutil
import pytest

from leakhunt.sampling.child import Target, TargetProcess, read_status_bytes
from leakhunt.sampling.target_server import ForkedTarget, target_server
from leakhunt.workload.scenario import load_scenario
from tests.helpers.pids_cgroup import pids_cgroup
from tests.helpers.processes import spawn, wait_for_exit

MB = 1e6
SEED = 20251030


def config(seed: int = SEED, duration_s: float = 60.0) -> dict:
    data = {**load_scenario("smoke").to_dict(), "seed": seed}
    return {
        "scenario": data,
        "duration_s": duration_s,
        "interval_s": 5.0,
        "probe_interval_s": None,
        "speed": None,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with target_server(SEED, tmp_path_factory.mktemp("server") / "target-server.log") as started:
        assert started.serves(), "this kernel cannot populate: every other test here would test fresh targets"
        yield started


def run_through(target: Target) -> tuple[list[dict], list[int]]:
    """Every message to the end, each barrier answered; the target's RSS read at each sample."""
    messages, rss = [], []
    for message in target.messages():
        messages.append(message)
        if message["op"] == "sample":
            rss.append(read_status_bytes(target.pid)[0])
        if message["op"] in ("sample", "cleanup_begin", "cleanup_end"):
            target.release()
    return messages, rss


def test_a_forked_target_runs_its_config_to_the_end_and_its_exit_code_comes_from_the_server(server, tmp_path):
    target = server.start(config(), tmp_path / "target.log")
    assert isinstance(target, ForkedTarget)
    messages, _ = run_through(target)
    assert messages[0] == {"op": "ready", "pid": target.pid}
    assert [m["t_sim_s"] for m in messages if m["op"] == "sample"] == [k * 5.0 for k in range(13)]
    assert messages[-1]["op"] == "done" and messages[-1]["fetches"] > 0
    assert target.stop() == 0


def test_a_forked_target_measures_the_rss_a_fresh_one_measures(server, tmp_path):
    fresh = TargetProcess(config(duration_s=120.0), tmp_path / "fresh.log")
    forked = server.start(config(duration_s=120.0), tmp_path / "forked.log")
    (fresh_messages, fresh_rss), (forked_messages, forked_rss) = run_through(fresh), run_through(forked)
    assert fresh.stop() == 0 and forked.stop() == 0
    assert fresh_messages[-1] == forked_messages[-1]  # the same data served, the same caches
    # Without the server's file pages mapped back, a forked target starts ~20 MB lower.
    assert abs(forked_rss[0] - fresh_rss[0]) < 1 * MB
    assert max(abs(a - b) for a, b in zip(forked_rss, fresh_rss, strict=True)) < 1.5 * MB


def test_a_terminated_target_ends_by_its_signal_and_its_messages_end(server, tmp_path):
    target = server.start(config(duration_s=3600.0), tmp_path / "target.log")
    messages = iter(target.messages())
    assert next(messages)["op"] == "ready"
    assert next(messages)["op"] == "sample"  # waiting at its first barrier
    target.terminate()
    assert list(messages) == []
    assert target.stop() == -15


def test_a_target_of_another_seed_starts_afresh(server, tmp_path):
    target = server.start(config(seed=SEED + 1), tmp_path / "target.log")
    assert isinstance(target, TargetProcess)
    assert next(iter(target.messages()))["op"] == "ready"
    assert target.stop() == -15


def test_closing_the_server_ends_the_targets_it_still_runs(tmp_path):
    with target_server(SEED, tmp_path / "target-server.log") as own:
        target = own.start(config(duration_s=3600.0), tmp_path / "target.log")
        messages = iter(target.messages())
        assert next(messages)["op"] == "ready"
    assert list(messages) == []  # its stdout closed: the target is gone
    assert target.stop() is None  # nobody is left to say how it ended
    assert not (tmp_path / "target-server.log").exists()  # it had nothing to say


def test_a_server_that_cannot_start_leaves_each_target_to_start_afresh_and_say_its_own_error(
    tmp_path, broken_pandas
):
    log = tmp_path / "target.log"
    with target_server(SEED, tmp_path / "target-server.log") as broken:
        assert not broken.serves()
        target = broken.start(config(), log)
    assert isinstance(target, TargetProcess)
    assert next(iter(target.messages()), None) is None
    code = target.stop()
    assert target.start_failure(code) == (
        "the target process did not start (exit code 1): "
        f"ImportError: this pandas is broken on purpose; its output: {log}"
    )
    assert "this pandas is broken on purpose" in (tmp_path / "target-server.log").read_text()


# Holds a server and one of its targets, says their pids, and waits to be killed.
KEEPER = """
import json, sys
from pathlib import Path
from leakhunt.sampling.target_server import target_server
config, folder = json.loads(sys.argv[1]), Path(sys.argv[2])
with target_server(config["scenario"]["seed"], folder / "target-server.log") as server:
    target = server.start(config, folder / "target.log")
    assert next(iter(target.messages()))["op"] == "ready"
    print(server.process.pid, target.pid, flush=True)
    sys.stdin.read()
"""


def test_a_sigkilled_leakhunt_takes_its_server_and_the_servers_targets_with_it(tmp_path):
    keeper = spawn(
        [sys.executable, "-c", KEEPER, json.dumps(config(duration_s=3600.0)), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid, target_pid = map(int, keeper.stdout.readline().split())
    assert psutil.Process(target_pid).ppid() == server_pid  # forked by the server, not by leakhunt
    keeper.kill()
    keeper.wait()
    assert wait_for_exit(server_pid) and wait_for_exit(target_pid)


def test_a_server_that_cannot_fork_has_that_target_start_afresh_and_forks_the_next_once_it_can(tmp_path):
    with target_server(SEED, tmp_path / "target-server.log") as own, pids_cgroup() as group:
        assert own.serves()
        group.admit(own.process.pid)
        group.no_new_tasks()  # the server's next fork gets EAGAIN, as on a host out of pids
        refused = own.start(config(duration_s=3600.0), tmp_path / "refused.log")
        group.unlimited()
        forked = own.start(config(duration_s=3600.0), tmp_path / "forked.log")
        assert isinstance(refused, TargetProcess)
        assert refused.pid not in {child.pid for child in psutil.Process(own.process.pid).children()}
        assert next(iter(refused.messages()))["op"] == "ready"
        assert isinstance(forked, ForkedTarget)
        assert psutil.Process(forked.pid).ppid() == own.process.pid
        assert next(iter(forked.messages()))["op"] == "ready"
        assert refused.stop() == -15 and forked.stop() == -15
