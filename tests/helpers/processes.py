"""Processes the tests start, none of which outlives the test run however it ends.

A test starts the CLI, the agent or a helper service with `spawn` (a Popen) or `run` (as
subprocess.run). Each such child:
- leads a process group of its own, which is killed (SIGKILL) when `run` returns or raises, and
  when the test that spawned it ends (tests/conftest.py): whatever the child started in its
  group goes too, and a Ctrl-C meant for pytest does not reach it first;
- dies with the test process (PR_SET_PDEATHSIG SIGKILL, leakhunt.sampling.lifeline), for when
  no finalizer can run: pytest or its xdist worker killed with SIGKILL, or the OOM killer. A
  killed `leakhunt` takes its own children with it the same way (the soak targets, --events).
`sigterm_interrupts` makes SIGTERM act as Ctrl-C in pytest, so finalizers run. An xdist worker
whose controller is killed ends by itself when its channel closes (measured: a worker left to the
kernel's PR_SET_PDEATHSIG instead changed nothing). A group is killed only while its leader is
not yet reaped: until then its PID, the group's id, cannot be given to another process.

Module and session fixtures own their servers (sshd, Prometheus): they stop them themselves and
start them with `dies_with_parent`, as spawn would.
"""

import contextlib
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from leakhunt.sampling.lifeline import dies_with_parent

_running: list[subprocess.Popen] = []


def spawn(
    args: Sequence[str] | str, *, also_in_child: Callable[[], None] | None = None, **popen_kwargs: Any
) -> subprocess.Popen:
    """subprocess.Popen, in a session and process group of its own that dies with this process;
    `also_in_child` runs in the child after that, before its program (e.g. to take a terminal)."""
    arrange = dies_with_parent(signal.SIGKILL)

    def in_child() -> None:
        arrange()
        if also_in_child is not None:
            also_in_child()

    process = subprocess.Popen(args, start_new_session=True, preexec_fn=in_child, **popen_kwargs)
    _running.append(process)
    return process


def under_agent(helper: str, *args: str) -> subprocess.Popen:
    """A helper service of tests/helpers run under `python -m leakhunt.agent`, spoken to on its
    stdin and stdout (text); its stderr dropped."""
    service = [sys.executable, "-m", "leakhunt.agent", "--", str(Path(__file__).parent / helper), *args]
    return spawn(service, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def stop(process: subprocess.Popen) -> None:
    """Kill the process's group (unless it was reaped already) and reap it."""
    if process.returncode is None:
        # Not reaped: even if it has exited, its PID still names its group and nothing else.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()  # should the group be gone, the process itself at least
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(ValueError):
        _running.remove(process)


def stop_all() -> None:
    """Every process spawned and not stopped yet: at the end of each test."""
    for process in list(_running):
        stop(process)


def run(
    args: Sequence[str] | str,
    *,
    timeout: float | None = None,
    check: bool = False,
    capture_output: bool = False,
    input: str | bytes | None = None,  # subprocess.run's name
    **popen_kwargs: Any,
) -> subprocess.CompletedProcess:
    """subprocess.run through `spawn`: the group is killed however the call ends."""
    if capture_output:
        popen_kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        popen_kwargs["stdin"] = subprocess.PIPE
    process = spawn(args, **popen_kwargs)
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    finally:
        stop(process)
    if check and process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, stdout, stderr)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def sigterm_interrupts() -> None:
    """SIGTERM acts as Ctrl-C in pytest (and in each xdist worker): KeyboardInterrupt, so the
    fixtures' finalizers run (a tmpfs is unmounted, a server stopped) before it exits."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)


# A bound on waiting, not a measured time: without the lifeline the child lives for minutes.
DEATH_DEADLINE_S = 30.0


def wait_for_exit(pid: int, deadline_s: float = DEATH_DEADLINE_S) -> bool:
    """True once `pid` has exited (a pidfd becomes readable), False at the deadline."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], deadline_s)[0])
    finally:
        os.close(pidfd)
