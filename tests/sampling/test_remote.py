"""remote.py and ssh.py against a real OpenSSH server on 127.0.0.1 (tests/sampling/sshd.py).

The only stand-in is `systemctl` for --unit (systemd cannot run here): tests/helpers/systemctl.py,
first on the remote PATH, answers `systemctl show` for a real child process the test controls.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from leakhunt.errors import LeakhuntError, RunError, UsageError
from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.remote import MIN_READ_DEADLINE_S, RemoteSource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event
from leakhunt.sampling.ssh import HostSpec, connect, resolve_host
from tests.conftest import start
from tests.helpers.ports import refusing_port
from tests.helpers.processes import stop, wait_for_exit
from tests.helpers.systemctl import install_systemctl
from tests.sampling.conftest import collect
from tests.sampling.sshd import keygen, start_sshd


def remote(server, **target) -> RemoteSource:
    return RemoteSource(
        "vps", ssh_config_path=server.ssh_config, known_hosts_path=server.known_hosts, **target
    )


def slope_bytes_per_s(items: list) -> float:
    samples = [i for i in items if isinstance(i, Sample)]
    return float(np.polyfit([s.t_wall_s for s in samples], [s.rss_bytes for s in samples], 1)[0])


def test_a_real_leak_has_the_same_slope_over_ssh_as_locally(trusted_sshd, leaker):
    local = slope_bytes_per_s(collect(LocalSource(pid=leaker.pid), 40))
    over_ssh = slope_bytes_per_s(collect(remote(trusted_sshd, pid=leaker.pid), 40))
    assert local == pytest.approx(20 * 2**20, rel=0.10)
    assert over_ssh == pytest.approx(local, rel=0.05)


def sampling_loop_cpu_s(server) -> float:
    """What the kernel says the remote loop has spent: its own CPU and that of its reaped children."""
    import psutil

    for pid in server.session_processes():
        for process in psutil.Process(pid).children(recursive=True):
            if "@E" in " ".join(process.cmdline()):
                times = process.cpu_times()
                return times.user + times.system + times.children_user + times.children_system
    raise AssertionError("no remote sampling loop found under sshd")


def test_the_remote_loop_reports_its_own_cpu_as_the_kernel_counts_it(trusted_sshd, idle):
    # A `sleep` first on the remote PATH that burns ~60 ms of CPU before sleeping: the loop's cost
    # becomes large enough to compare with the kernel's figure, not lost in clock-tick rounding.
    burner = trusted_sshd.bin_dir / "sleep"
    burner.write_text(
        f'#!/bin/sh\ni=0; while [ $i -lt 80000 ]; do i=$((i+1)); done\nexec {shutil.which("sleep")} "$@"\n'
    )
    burner.chmod(0o755)
    kernel_cpu_s: list[float] = []
    source = remote(trusted_sshd, pid=idle.pid)
    try:
        # Read while the loop sleeps after its 10th block, before it reaps another child.
        collect(
            source, 10, on_sample=lambda k: k == 10 and kernel_cpu_s.append(sampling_loop_cpu_s(trusted_sshd))
        )
    finally:
        burner.unlink()
    cost = source.cost()
    assert cost["samples"] == 10
    assert kernel_cpu_s[0] > 0.3
    assert cost["remote_cpu_s"] == pytest.approx(kernel_cpu_s[0], abs=0.05)


def test_an_unknown_host_key_is_refused_with_what_to_do(sshd, idle):
    sshd.known_hosts.write_text("")
    with pytest.raises(RunError, match=r"is not known.*--accept-new-host-key") as error:
        remote(sshd, pid=idle.pid)
    assert error.value.exit_code == 1


def test_a_changed_host_key_is_refused_even_with_accept_new(sshd, idle, tmp_path):
    other = tmp_path / "other_key"
    keygen(other)
    sshd.known_hosts.write_text(sshd.known_hosts_line(other))
    for accept in (False, True):
        with pytest.raises(RunError, match="CHANGED"):
            remote(sshd, pid=idle.pid, accept_new_host_key=accept)


def test_accept_new_host_key_works_once_and_is_then_remembered(sshd, idle):
    sshd.known_hosts.write_text("")
    collect(remote(sshd, pid=idle.pid, accept_new_host_key=True), 2)
    assert str(sshd.port) in sshd.known_hosts.read_text()
    assert len([i for i in collect(remote(sshd, pid=idle.pid), 2) if isinstance(i, Sample)]) == 2


def test_a_killed_connection_is_resumed_with_a_gap_and_nothing_lost(trusted_sshd, idle):
    def kill_sessions(k: int) -> None:
        if k == 5:
            for pid in trusted_sshd.session_processes():
                subprocess.run(["kill", "-9", str(pid)], check=False)

    items = collect(remote(trusted_sshd, pid=idle.pid), 12, on_sample=kill_sessions)
    kinds = [i.kind for i in items if isinstance(i, Event)]
    assert kinds[:2] == ["connection_lost", "gap"]
    samples = [i for i in items if isinstance(i, Sample)]
    assert len(samples) == 12
    assert [s.t_wall_s for s in samples] == sorted(s.t_wall_s for s in samples)


def test_a_stalled_connection_is_noticed_by_its_read_deadline_and_its_gap_has_its_true_length(
    trusted_sshd, idle
):
    stalled: list[int] = []

    def stall_sessions(k: int) -> None:
        if k == 5:  # alive but silent: the sshd session stops, its TCP connection stays open
            stalled.extend(trusted_sshd.session_processes())
            for pid in stalled:
                os.kill(pid, signal.SIGSTOP)

    try:
        items = collect(remote(trusted_sshd, pid=idle.pid), 10, on_sample=stall_sessions)
    finally:
        for pid in stalled:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGCONT)
    events = [i for i in items if isinstance(i, Event)]
    assert [e.kind for e in events] == ["connection_lost", "gap"]
    gap = events[1].detail
    at = items.index(events[1])
    last_before, first_after = items[at - 2], items[at + 1]  # connection_lost sits between
    assert (gap["from_s"], gap["to_s"]) == (last_before.t_wall_s, first_after.t_wall_s)
    # The hole lasted at least until the deadline noticed it (the old record said 0.6 s).
    assert gap["to_s"] - gap["from_s"] >= MIN_READ_DEADLINE_S


QUIET_EVENTS = "sh -c 'echo started $$; exec sleep 1000'"  # says its pid once, then nothing


def started_pids(follower) -> list[int]:
    return [int(e.detail["line"].split()[1]) for e in follower.drain()]


def test_a_quiet_remote_events_command_does_not_outlive_the_run(trusted_sshd, idle):
    source = remote(trusted_sshd, pid=idle.pid)
    follower = source.follow(QUIET_EVENTS, "started")
    collect(source, 3)  # closes the source
    follower.close()
    (pid,) = started_pids(follower)
    assert wait_for_exit(pid)


def test_remote_events_are_reopened_after_a_reconnect(trusted_sshd, idle):
    source = remote(trusted_sshd, pid=idle.pid)
    follower = source.follow(QUIET_EVENTS, "started")
    # Sampled until the reopened command has said its pid (a loaded host takes a while to
    # reconnect); 600 samples only bound a hang.
    stop, items, samples, pids = threading.Event(), [], 0, []
    for item in source.stream(0.1, stop):
        items.append(item)
        if isinstance(item, Sample):
            samples += 1
            if samples == 3:
                for pid in trusted_sshd.session_processes():
                    subprocess.run(["kill", "-9", str(pid)], check=False)
            pids += started_pids(follower)
            if len(pids) >= 2 or samples >= 600:
                stop.set()
    source.close()
    follower.close()
    first, second = (pids + started_pids(follower))[:2]
    assert first != second
    assert wait_for_exit(first) and wait_for_exit(second)  # neither is left on the host
    gap = next(i for i in items if isinstance(i, Event) and i.kind == "gap")
    assert "--events reopened" in gap.detail["text"]


def test_a_host_that_stays_unreachable_is_given_up_on_after_the_set_time(idle):
    server = start_sshd()  # its own: this test takes it down for good
    server.trust()

    def take_the_host_down(k: int) -> None:
        if k == 3:
            sessions = server.session_processes()
            server.process.kill()  # nothing listens any more; its files stay for the retries
            server.process.wait()
            for pid in sessions:
                subprocess.run(["kill", "-9", str(pid)], check=False)

    try:
        source = RemoteSource(
            "vps",
            pid=idle.pid,
            ssh_config_path=server.ssh_config,
            known_hosts_path=server.known_hosts,
            give_up_after_s=1.0,
        )
        items = collect(source, 10, on_sample=take_the_host_down)
    finally:
        server.stop()
    assert [i.kind for i in items if isinstance(i, Event)] == ["connection_lost", "connection_failed"]
    assert "gave up reconnecting to vps after 1 s" in items[-1].detail["text"]
    # Blocks already on their way when the host went down are still read; then nothing more.
    assert 3 <= len([i for i in items if isinstance(i, Sample)]) < 10


def test_a_unit_name_that_is_a_shell_command_is_rejected_before_connecting(trusted_sshd):
    with pytest.raises(UsageError, match="not a systemd unit name"):
        remote(trusted_sshd, unit="x; touch /tmp/owned")
    assert not Path("/tmp/owned").exists()


def test_a_unit_is_followed_across_a_restart_to_its_new_main_pid(trusted_sshd, idle):
    successor = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    stand_in = install_systemctl(
        trusted_sshd.bin_dir, "virtuoso-trading.service", (idle.pid, successor.pid), restart_after_calls=3
    )
    try:
        items = collect(remote(trusted_sshd, unit="virtuoso-trading.service"), 8)
    finally:
        stop(successor)
        stand_in.remove()
    restarts_seen = [i for i in items if isinstance(i, Event) and i.kind == "restart"]
    assert len(restarts_seen) == 1
    assert restarts_seen[0].detail["new_pid"] == successor.pid
    assert restarts_seen[0].detail["restarts"] == 1
    assert [i for i in items if isinstance(i, Sample)][-1].rss_bytes > 0
    calls = stand_in.calls()
    assert len(calls) >= 8 and set(calls) == {stand_in.expected_call()}


def test_match_on_the_remote_host_needs_exactly_one_process(trusted_sshd, idle):
    with pytest.raises(UsageError, match="no remote process matches"):
        remote(trusted_sshd, match="no-such-process-anywhere-[0-9]{40}")


def test_an_unknown_alias_is_a_usage_error(sshd):
    with pytest.raises(UsageError, match="unknown host alias 'nosuchhost'"):
        resolve_host("nosuchhost", sshd.ssh_config)


def test_authentication_failure_says_what_to_do(trusted_sshd, tmp_path):
    stranger = tmp_path / "stranger"
    keygen(stranger)
    spec = HostSpec(
        "vps", "127.0.0.1", trusted_sshd.port, "root", identity_files=[str(stranger)], identity_agent="none"
    )
    with pytest.raises(RunError, match=r"authentication to root@127\.0\.0\.1.* failed"):
        connect(spec, known_hosts_path=trusted_sshd.known_hosts)


def test_an_unreachable_port_is_one_clear_line(trusted_sshd):
    with refusing_port() as port, pytest.raises(LeakhuntError, match=r"cannot reach root@127\.0\.0\.1"):
        spec = HostSpec("vps", "127.0.0.1", port, "root", identity_files=[str(trusted_sshd.user_key)])
        connect(spec, known_hosts_path=trusted_sshd.known_hosts, timeout_s=5)
