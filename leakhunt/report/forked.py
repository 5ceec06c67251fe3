"""Independent pieces of a report made side by side, each in a forked child.

A report is a few figures (memory, types, holders) and a comparison one report per run: each is a
function of files already written, drawn by matplotlib at the cost of a core for a fraction of a
second. Forked after the imports, a child starts drawing at once; it hands back a JSON value
through a pipe and leaves with os._exit. What a child cannot do is done again here, so a bug
shows its own traceback (with --debug) and a full disk its own WriteFailed. Where there is no
fork, one core, or we are a forked child already, everything runs here, in order.
"""

import json
import os
import select
import signal
from collections.abc import Callable, Sequence
from typing import Any

from leakhunt.sampling.lifeline import dies_with_parent
from leakhunt.sampling.probe import write_and_leave

_in_child = False  # a forked child runs its own pieces in order: no forks of forks


def workers() -> int:
    return 1 if _in_child or not hasattr(os, "fork") else os.cpu_count() or 1


def run_all(tasks: Sequence[Callable[[], Any]], jobs: int | None = None) -> list[Any]:
    """Each task's result as JSON would carry it, in order; at most `jobs` (default: the cores)
    at once. This process takes the first task itself while jobs - 1 children take others, then
    keeps `jobs` children drawing until every task is done."""
    jobs = min(jobs or workers(), workers(), len(tasks))
    if jobs <= 1:
        return [_plain(task()) for task in tasks]
    results: list[Any] = [None] * len(tasks)
    running: dict[int, tuple[int, int, list[bytes]]] = {}  # read fd -> (index, pid, chunks)
    redo: list[int] = []
    queue = list(range(1, len(tasks)))
    while queue and len(running) < jobs - 1:
        _start(tasks, queue.pop(0), running)
    try:
        results[0] = _plain(tasks[0]())
    except BaseException:
        _abandon(running)
        raise
    while running or queue:
        while queue and len(running) < jobs:
            _start(tasks, queue.pop(0), running)
        # Whichever child writes first is read first: one child's large answer never holds up another.
        readable, _, _ = select.select(list(running), [], [])
        for fd in readable:
            index, pid, chunks = running[fd]
            if chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
                continue
            del running[fd]
            ok, value = _collect(pid, fd, chunks)
            if ok:
                results[index] = value
            else:
                redo.append(index)
    for index in sorted(redo):
        results[index] = _plain(tasks[index]())  # here, where its error is said as it should be
    return results


def _plain(value: Any) -> Any:
    """The value as a child hands it back (tuples as lists, numbers as JSON numbers), whoever ran it."""
    return json.loads(json.dumps(value, default=str))


def _start(
    tasks: Sequence[Callable[[], Any]], index: int, running: dict[int, tuple[int, int, list[bytes]]]
) -> None:
    global _in_child
    read_fd, write_fd = os.pipe()
    arrange = dies_with_parent(signal.SIGKILL)  # a killed leakhunt leaves no child drawing
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: reports through the pipe, never returns
        _in_child = True
        code = 1
        try:
            arrange()
            os.close(read_fd)
            data = json.dumps(tasks[index](), default=str).encode()
            code = 0
        except BaseException:  # whatever happens, the child leaves by os._exit: it is redone here
            data = b""
        write_and_leave(write_fd, data, code)
    os.close(write_fd)
    running[read_fd] = (index, pid, [])


def _abandon(running: dict[int, tuple[int, int, list[bytes]]]) -> None:
    """Children whose answers nobody will read: stopped and waited for, so none is left behind."""
    for fd, (_, pid, _) in running.items():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    running.clear()


def _collect(pid: int, fd: int, chunks: list[bytes]) -> tuple[bool, Any]:
    """The answer of a child whose pipe has ended: (True, value), or (False, None) when it failed."""
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        return False, None
    return True, json.loads(b"".join(chunks))
