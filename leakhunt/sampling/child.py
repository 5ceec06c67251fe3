"""The parent's end of a soak: start the target child, read its RSS from outside at each barrier.

RSS and swap come from /proc/PID/status (one read gives both), CPU from /proc/PID/stat through
psutil; never from the target about itself.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from leakhunt.errors import RunError
from leakhunt.sampling.lifeline import dies_with_parent
from leakhunt.sampling.procfs import parse_status


def read_status_bytes(pid: int) -> tuple[int, int]:
    """(rss_bytes, swap_bytes) of a live process from one read of /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        return parse_status(status.read())


class ProcessMeter:
    """Reads one process's RSS, swap and CPU, and accounts for what the reading costs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._process = psutil.Process(pid)
        self._last_cpu_s, self._last_wall_s = self._cpu_s(), time.monotonic()
        self.cost_cpu_s = 0.0
        self.reads = 0

    def _cpu_s(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def read(self) -> tuple[int, int, float]:
        """(rss_bytes, swap_bytes, cpu_percent since the previous read)."""
        started_cpu_s = time.thread_time()
        rss_bytes, swap_bytes = read_status_bytes(self.pid)
        cpu_s, wall_s = self._cpu_s(), time.monotonic()
        elapsed_s = wall_s - self._last_wall_s
        cpu_percent = 100.0 * (cpu_s - self._last_cpu_s) / elapsed_s if elapsed_s > 0 else 0.0
        self._last_cpu_s, self._last_wall_s = cpu_s, wall_s
        self.cost_cpu_s += time.thread_time() - started_cpu_s
        self.reads += 1
        return rss_bytes, swap_bytes, cpu_percent


class TargetProcess:
    """The soak target as a child process speaking the barrier protocol of workload.target."""

    def __init__(self, config: dict[str, Any], log_path: Path) -> None:
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "leakhunt.workload.target", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            # Its own session: Ctrl-C reaches the parent only, which stops the child cleanly.
            start_new_session=True,
            # A SIGKILLed parent stops nobody: the kernel does, instead of the next barrier.
            preexec_fn=dies_with_parent(signal.SIGKILL),
            # The same seed must draw the same curve: string hashes order sets and dicts, and
            # so the allocations the model makes.
            env={**os.environ, "PYTHONHASHSEED": str(config["scenario"].get("seed", 0))},
        )
        self.pid = self.process.pid

    def messages(self) -> Iterator[dict[str, Any]]:
        """Protocol messages until the child closes its end."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                raise RunError(f"the target wrote an unreadable line: {line[:80]!r}") from None

    def release(self) -> None:
        """Let the child go on from a barrier."""
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def terminate(self) -> None:
        """Ask the child to end; safe from any thread, while another reads its pipe."""
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Terminate (then kill) the child; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                # A broken pipe on close means the child is gone, which is what we want.
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()
        return self.process.returncode
