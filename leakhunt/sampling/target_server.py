"""compare's targets forked from one warmed interpreter (workload/server.py), not started afresh.

Each of compare's runs is a target of the same seed; a fresh interpreter spends ~0.4 s of CPU on
its imports before the model starts, six seconds of an ablation's fifteen runs. The server makes
those imports once and forks a target per run; a forked target maps in again the file pages its
server had, so it measures what a fresh one measures (workload/server.py says how). Wherever the
server cannot serve (no MADV_POPULATE_READ, it failed to start, another seed) a target starts
afresh, as a lone soak's does: the fork server only ever saves time.

The parent talks to the server over a SOCK_SEQPACKET socket: a request carries the target's
stdin, stdout and stderr; the server answers with the pid and, later, the exit code. The parent
signals a target through a pidfd, so a pid reused after the target ended is never signalled.
"""

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from leakhunt.sampling.child import Target, TargetProcess, hash_seed_env, python_command
from leakhunt.sampling.lifeline import dies_with_parent

MAX_MESSAGE_BYTES = 1 << 16
READY_TIMEOUT_S = 120.0  # its imports take a second; a loaded machine can make that a minute


class ForkedTarget(Target):
    """A target forked by the server: not this process's child, so its end comes from the server."""

    def __init__(
        self, server: "TargetServer", pid: int, stdin_fd: int, stdout_fd: int, log_path: Path
    ) -> None:
        self._server = server
        self.pid, self.log_path = pid, log_path
        self.stdin = os.fdopen(stdin_fd, "w", buffering=1)
        self.stdout = os.fdopen(stdout_fd, "r")
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None  # it has ended already: the server says how

    def _signal(self, sig: signal.Signals) -> None:
        if self._pidfd is not None and self._server.returncode(self.pid) is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 5.0) -> int | None:
        self.terminate()
        if not self._server.wait_exit(self.pid, timeout_s):
            self._signal(signal.SIGKILL)
            self._server.wait_exit(self.pid, None)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._close_streams()
        return self._server.returncode(self.pid)


class TargetServer:
    """One warmed interpreter for targets of `seed`; `start` is run_soak's `start_target`."""

    def __init__(self, seed: int, log_path: Path) -> None:
        self.seed, self.log_path = seed, log_path
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv, env = python_command("leakhunt.workload.server", hash_seed_env(seed))
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*argv, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches leakhunt, which stops the targets
                preexec_fn=dies_with_parent(signal.SIGKILL),
                env=env,
            )
        theirs.close()
        self._sock = ours
        self._request_lock = threading.Lock()  # one request in flight: the next "started" is its answer
        self._started: queue.Queue[int | None] = queue.Queue()
        self._ready = threading.Event()
        self._populates = False
        self._gone = False
        self._exits: dict[int, int] = {}
        self._exit_changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="target-server", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while data := self._sock.recv(MAX_MESSAGE_BYTES):
                message = json.loads(data)
                if message["op"] == "ready":
                    self._populates = bool(message["populate"])
                    self._ready.set()
                elif message["op"] == "started":
                    self._started.put(message["pid"])
                elif message["op"] == "exited":
                    with self._exit_changed:
                        self._exits[message["pid"]] = message["returncode"]
                        self._exit_changed.notify_all()
        except (OSError, ValueError):
            pass  # a closed socket or a server gone mad: every wait below ends either way
        finally:
            with self._exit_changed:
                self._gone = True
                self._exit_changed.notify_all()
            self._ready.set()
            self._started.put(None)

    def serves(self) -> bool:
        """True once the server is ready to fork targets that measure as fresh ones do."""
        self._ready.wait(READY_TIMEOUT_S)
        return self._ready.is_set() and self._populates and not self._gone

    def start(self, config: dict[str, Any], log_path: Path) -> Target:
        """A target for `config`: forked by the server where it can, else a fresh interpreter."""
        if int(config["scenario"].get("seed", 0)) != self.seed or not self.serves():
            return TargetProcess(config, log_path)
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        with log_path.open("ab") as log, self._request_lock:
            try:
                message = json.dumps({"op": "start", "config": config}).encode()
                socket.send_fds(self._sock, [message], [stdin_read, stdout_write, log.fileno()])
                pid = self._started.get()
            except OSError:
                pid = None
            finally:
                os.close(stdin_read)
                os.close(stdout_write)
        if pid is None:  # the server could not fork it, or ended between ready and this request
            os.close(stdin_write)
            os.close(stdout_read)
            return TargetProcess(config, log_path)
        return ForkedTarget(self, pid, stdin_write, stdout_read, log_path)

    def returncode(self, pid: int) -> int | None:
        with self._exit_changed:
            return self._exits.get(pid)

    def wait_exit(self, pid: int, timeout_s: float | None) -> bool:
        """True once `pid` has ended (or nobody can say any more: the server is gone)."""
        with self._exit_changed:
            return self._exit_changed.wait_for(lambda: pid in self._exits or self._gone, timeout_s)

    def close(self) -> None:
        """End the server; targets it still runs end with it."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._reader.join()
        self._sock.close()
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size == 0:
                self.log_path.unlink()  # it had nothing to say


@contextlib.contextmanager
def target_server(seed: int, log_path: Path) -> Iterator[TargetServer]:
    server = TargetServer(seed, log_path)
    try:
        yield server
    finally:
        server.close()
