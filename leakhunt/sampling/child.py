"""The parent's end of a soak: start the target child, read its RSS from outside at each barrier.

RSS and swap come from /proc/PID/status (one read gives both), CPU from /proc/PID/stat through
psutil; never from the target about itself.

The child runs the very package its parent runs, whatever the working directory: `python -m`
would put the working directory first on sys.path, and a folder named leakhunt there (the
project's own checkout, or any user project's) would be imported instead. `-P` (Python 3.11+)
adds nothing; the parent's package root is put on PYTHONPATH only where the child's own sys.path
would not find it (the parent ran from a checkout with `python -m leakhunt`).
"""

import contextlib
import json
import os
import re
import signal
import site
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil

import leakhunt
from leakhunt.errors import RunError
from leakhunt.sampling.lifeline import dies_with_parent
from leakhunt.sampling.procfs import parse_status


def read_status_bytes(pid: int) -> tuple[int, int]:
    """(rss_bytes, swap_bytes) of a live process from one read of /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        return parse_status(status.read())


class ProcessGone(Exception):
    """The measured process has ended: nothing of it is left to read."""


class ProcessMeter:
    """Reads one process's RSS, swap and CPU, and accounts for what the reading costs.

    A target can end between its message and the read (Ctrl-C stops it from another thread; the
    fork server reaps its targets at once): the read then raises ProcessGone, never a sample."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self._process = psutil.Process(pid)
            self._last_cpu_s, self._last_wall_s = self._cpu_s(), time.monotonic()
        except psutil.NoSuchProcess:  # ZombieProcess too
            raise ProcessGone(pid) from None
        self.cost_cpu_s = 0.0
        self.reads = 0

    def _cpu_s(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def read(self) -> tuple[int, int, float]:
        """(rss_bytes, swap_bytes, cpu_percent since the previous read)."""
        started_cpu_s = time.thread_time()
        try:
            rss_bytes, swap_bytes = read_status_bytes(self.pid)
            cpu_s, wall_s = self._cpu_s(), time.monotonic()
        except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
            raise ProcessGone(self.pid) from None
        if rss_bytes == 0:  # a zombie's status has no VmRSS; a live interpreter always has some
            raise ProcessGone(self.pid)
        elapsed_s = wall_s - self._last_wall_s
        cpu_percent = 100.0 * (cpu_s - self._last_cpu_s) / elapsed_s if elapsed_s > 0 else 0.0
        self._last_cpu_s, self._last_wall_s = cpu_s, wall_s
        self.cost_cpu_s += time.thread_time() - started_cpu_s
        self.reads += 1
        return rss_bytes, swap_bytes, cpu_percent


# PYTHONHASHSEED takes 0 .. 2**32 - 1; any other seed would stop the child's interpreter at start.
HASH_SEEDS = 2**32
LOG_LINE_CHARS = 300
_ERROR_LINE = re.compile(r"^(Fatal Python error|[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b)")


def package_root() -> Path:
    """The folder holding the leakhunt package this process runs."""
    return Path(leakhunt.__file__).resolve().parent.parent


def _site_dirs() -> set[Path]:
    """Folders every interpreter of this environment has on sys.path (a venv's base too)."""
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    dirs += [d for d in sys.path if d.endswith(("site-packages", "dist-packages"))]
    return {Path(d).resolve() for d in dirs if d}


def python_command(module: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """argv and environment of a child running `module` from this process's leakhunt.

    In a site-packages folder (pip, pipx) the child finds it there; an editable install leaves a
    .pth file or finder there too. Only a package found elsewhere (a checkout run as `python -m
    leakhunt`, or one on PYTHONPATH already) needs its root named, and then before the rest.
    """
    root = package_root()
    child_env = dict(env)
    if root not in _site_dirs():
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return [sys.executable, "-P", "-m", module], child_env


def error_line(log_text: str) -> str:
    """The line of a child's output that says what went wrong: the exception of its traceback,
    or Python's own fatal error; else its last line."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    if not lines:
        return "it wrote nothing"
    chosen = next((line for line in reversed(lines) if _ERROR_LINE.match(line)), lines[-1])
    return chosen if len(chosen) <= LOG_LINE_CHARS else chosen[: LOG_LINE_CHARS - 3] + "..."


def hash_seed_env(seed: int) -> dict[str, str]:
    """The environment of a target of `seed`: the same seed must draw the same curve, and string
    hashes order sets and dicts, and so the allocations the model makes."""
    return {**os.environ, "PYTHONHASHSEED": str(seed % HASH_SEEDS)}


class Target:
    """The parent's end of a soak target speaking the barrier protocol of workload.target, over
    `stdin` and `stdout` (text, line-buffered); `pid` is the process sampled from outside."""

    pid: int
    log_path: Path
    stdin: IO[str]
    stdout: IO[str]

    def messages(self) -> Iterator[dict[str, Any]]:
        """Protocol messages until the child closes its end."""
        for line in self.stdout:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                raise RunError(f"the target wrote an unreadable line: {line[:80]!r}") from None

    def start_failure(self, returncode: int | None) -> str:
        """What to tell the user of a child that ended before it was ready: its error, its log."""
        try:
            said = error_line(self.log_path.read_text(errors="replace"))
        except OSError as exc:
            said = f"its log cannot be read ({exc.strerror})"
        return (
            f"the target process did not start (exit code {returncode}): {said}; its output: {self.log_path}"
        )

    def release(self) -> None:
        """Let the child go on from a barrier; nothing when it is gone (stopped by Ctrl-C in
        another thread, or dead): the end of its pipe then ends the run's loop."""
        with contextlib.suppress(BrokenPipeError):
            self.stdin.write("\n")
            self.stdin.flush()

    def terminate(self) -> None:
        """Ask the child to end; safe from any thread, while another reads its pipe."""
        raise NotImplementedError

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Terminate (then kill) the child; its exit code."""
        raise NotImplementedError

    def _close_streams(self) -> None:
        for stream in (self.stdin, self.stdout):
            # A broken pipe on close means the child is gone, which is what we want.
            with contextlib.suppress(OSError):
                stream.close()


class TargetProcess(Target):
    """The soak target as a fresh interpreter: `python -P -m leakhunt.workload.target CONFIG`."""

    def __init__(self, config: dict[str, Any], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        env = hash_seed_env(int(config["scenario"].get("seed", 0)))
        argv, env = python_command("leakhunt.workload.target", env)
        self.process = subprocess.Popen(
            [*argv, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            # Its own session: Ctrl-C reaches the parent only, which stops the child cleanly.
            start_new_session=True,
            # A SIGKILLed parent stops nobody: the kernel does, instead of the next barrier.
            preexec_fn=dies_with_parent(signal.SIGKILL),
            env=env,
        )
        self.pid = self.process.pid
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self, timeout_s: float = 5.0) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_streams()
        self._log.close()
        return self.process.returncode
