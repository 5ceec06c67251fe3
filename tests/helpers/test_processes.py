"""processes.py: no process of the tool outlives a test run that is killed, however it is killed.

Each case runs a pytest of its own (as `make test` runs it, or with one xdist worker) on
tests/helpers/killed_run.py, whose test starts a command that would run for ten hours the way
the suite starts the CLI, and says on a FIFO once it has begun. Then pytest, or its worker, gets
the signal. Every process of the run must then exit: pytest, the worker, `leakhunt` and the
runs it started, found as pytest's descendants before the signal and by a token in their
environment after it. Each is waited for on a pidfd, never polled, up to a bound only a survivor
reaches.
"""

import contextlib
import os
import select
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from tests.helpers.processes import wait_for_exit

REPO = Path(__file__).resolve().parents[2]
INNER = REPO / "tests" / "helpers" / "killed_run.py"
# A bound on waiting, not a measured time: a survivor would live for hours.
EXIT_DEADLINE_S = 60.0
READY_DEADLINE_S = 300.0
LONG = ("--minutes", "600", "--speed", "1", "--interval", "1s", "--probe-interval", "0")
COMMANDS = {
    # The compare says what it will run, then starts its runs; the soak prints its first sample.
    "compare": (("compare", "--baseline", "--ablation", "--repeat", "1", *LONG), "compare "),
    "soak": (("soak", *LONG), "sim "),
}
CASES = [
    ("compare", "pytest", signal.SIGTERM),
    ("compare", "pytest", signal.SIGINT),
    ("compare", "pytest", signal.SIGKILL),
    ("compare", "worker", signal.SIGTERM),
    ("compare", "worker", signal.SIGKILL),
    ("compare", "controller", signal.SIGKILL),
    ("soak", "pytest", signal.SIGTERM),
    ("soak", "worker", signal.SIGKILL),
]


def carrying(token: str) -> list[psutil.Process]:
    """Live processes whose environment holds the run's token: the run and all it started."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("LEAKHUNT_KILLED_RUN_TOKEN") == token and process.status() != "zombie":
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def kill_survivors(survivors: list[psutil.Process]) -> None:
    """A failing case must not leave what it found running for the rest of the day."""
    for process in survivors:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def inner_env(tmp_path: Path, command: str, token: str) -> dict[str, str]:
    args, ready = COMMANDS[command]
    return {
        **os.environ,
        "LEAKHUNT_KILLED_RUN_TOKEN": token,
        "LEAKHUNT_KILLED_RUN_FIFO": str(tmp_path / "ready"),
        "LEAKHUNT_KILLED_RUN_COMMAND": " ".join([*args, "--out", str(tmp_path / "run")]),
        "LEAKHUNT_KILLED_RUN_READY": ready,
    }


def inner_pytest(tmp_path: Path, env: dict[str, str], *options: str) -> subprocess.Popen:
    # Not through processes.spawn: this pytest is the one to be killed, and no finalizer or
    # kernel must kill it for us.
    with (tmp_path / "pytest.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options, str(INNER)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_test_that_times_out_takes_what_it_started_with_it_before_the_next_test(tmp_path):
    os.mkfifo(tmp_path / "ready")
    token = uuid.uuid4().hex
    fifo_fd = os.open(tmp_path / "ready", os.O_RDONLY | os.O_NONBLOCK)  # so the writer never blocks
    try:
        env = inner_env(tmp_path, "compare", token)
        inner = inner_pytest(tmp_path, env, "-p", "no:xdist", "--timeout", "15")
        inner.wait(timeout=READY_DEADLINE_S)
    finally:
        os.close(fifo_fd)
    log = (tmp_path / "pytest.log").read_text()
    survivors = [p for p in carrying(token) if not wait_for_exit(p.pid, EXIT_DEADLINE_S)]
    kill_survivors(survivors)
    assert "1 failed, 1 passed" in log and "Timeout" in log, log[-3000:]
    assert survivors == [], [(p.pid, p.cmdline()[:4]) for p in survivors]


@pytest.mark.parametrize(("command", "whom", "sig"), CASES, ids=[f"{c}-{s.name}-to-{w}" for c, w, s in CASES])
def test_a_killed_test_run_leaves_no_process_of_the_tool_behind(tmp_path, command, whom, sig):
    fifo, token = tmp_path / "ready", uuid.uuid4().hex
    os.mkfifo(fifo)
    xdist = ["-n", "1"] if whom in ("worker", "controller") else ["-p", "no:xdist"]
    fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # no writer yet: not readable until one writes
    inner = inner_pytest(tmp_path, inner_env(tmp_path, command, token), *xdist, "-k", "left_running")
    try:
        pidfd = os.pidfd_open(inner.pid)
        readable, _, _ = select.select([fifo_fd, pidfd], [], [], READY_DEADLINE_S)
        os.close(pidfd)
        assert fifo_fd in readable, (tmp_path / "pytest.log").read_text()[-3000:]
        cli_pid = int(os.read(fifo_fd, 64).decode().split()[0])
        tree = [psutil.Process(inner.pid), *psutil.Process(inner.pid).children(recursive=True)]
        assert cli_pid in {p.pid for p in tree}
        victim = psutil.Process(cli_pid).ppid() if whom == "worker" else inner.pid
        assert victim != inner.pid or whom != "worker"
        os.kill(victim, sig)
        inner.wait(timeout=READY_DEADLINE_S)
    finally:
        os.close(fifo_fd)
        if inner.poll() is None:
            inner.kill()
            inner.wait()
    # The processes seen before the signal (an xdist worker's environment is overwritten by its
    # process title, so the token does not find it) and any the run started afterwards.
    watched = {p.pid: p for p in [*tree, *carrying(token)]}
    survivors = [p for p in watched.values() if p.is_running() and not wait_for_exit(p.pid, EXIT_DEADLINE_S)]
    kill_survivors(survivors)
    assert survivors == [], [(p.pid, p.cmdline()[:4]) for p in survivors]
    if whom == "pytest" and sig in (signal.SIGTERM, signal.SIGINT):
        # SIGTERM as Ctrl-C: an interrupted run whose finalizers ran, not a killed one.
        assert "KeyboardInterrupt" in (tmp_path / "pytest.log").read_text()
