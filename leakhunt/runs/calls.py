"""A function called many times in a forked child, its RSS read after every call and its heap
summarised at a few calls: the per-call growth a CI test can gate on (the pytest plugin).

The child is a fork of the caller, so fixtures and imports are the caller's and nothing the calls
allocate outlives them. RSS is read from /proc/self/statm after each call (one read, a few
microseconds), and the bytes Python has allocated from tracemalloc's total (exact, where RSS moves
in pages and arenas); heap snapshots (sampling/probe.py) are taken at `probes` calls spread over the run,
in a forked grandchild as a watch's agent takes them. The child writes JSON lines to a pipe
(each heap snapshot as it is taken, then the readings); a child that raises sends its traceback,
one that overruns `deadline_s` is killed: the caller always gets an answer.

Growth is judged as `watch` judges growth per minute, on an axis of calls: the analysis sees call
k at "minute" k, so its bytes per minute are bytes per call (`per_call` converts the names).
"""

import json
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leakhunt.errors import RunError

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
DEFAULT_PROBES = 5
DEFAULT_DEADLINE_S = 600.0


@dataclass
class CallsRun:
    """What the child measured: RSS after each call (index 0: before the first), Python's live
    allocated blocks at the same moments, and the heap snapshots."""

    calls: int
    rss_bytes: list[int]
    allocated_blocks: list[int]
    traced_bytes: list[int]
    summaries: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0


def _rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


def _probe_points(calls: int, probes: int) -> set[int]:
    """Calls after which a snapshot is taken: spread over the run, the last call included."""
    if probes <= 0:
        return set()
    return {round(calls * (k + 1) / probes) for k in range(probes)}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _child(func: Callable[[], Any], calls: int, probes: int, write_fd: int) -> None:
    """In the forked child: call, measure, send JSON lines, exit without cleanup.

    What is measured must not grow with the calls itself: the readings go into arrays allocated
    before the first call, and each heap snapshot goes down the pipe as the probe's own JSON line
    the moment it is taken, never kept or parsed here."""
    code = 0
    try:
        import tracemalloc
        from array import array

        from leakhunt.sampling.probe import Probe

        probe = Probe() if probes else None
        points = _probe_points(calls, probes)
        rss, blocks, traced = (array("q", bytes(8 * (calls + 1))) for _ in range(3))
        # One frame is enough: only the total is read, and deeper stacks cost every allocation.
        if not tracemalloc.is_tracing():
            tracemalloc.start(1)
        rss[0], blocks[0] = _rss_bytes(), sys.getallocatedblocks()
        traced[0] = tracemalloc.get_traced_memory()[0]
        started_s = time.monotonic()
        for call in range(1, calls + 1):
            func()
            rss[call] = _rss_bytes()
            blocks[call] = sys.getallocatedblocks()
            traced[call] = tracemalloc.get_traced_memory()[0]
            if probe is not None and call in points:
                # The probe's t_sim_s is the call index in "minutes": rates come out per call. No
                # frames: the roots are the modules, not this loop's locals.
                line = probe.take_line(t_sim_s=call * 60.0, t_wall_s=time.monotonic() - started_s, frames=[])
                _write_all(write_fd, line.rstrip(b"\n") + b"\n")
        payload = {
            "final": {
                "rss_bytes": rss.tolist(),
                "allocated_blocks": blocks.tolist(),
                "traced_bytes": traced.tolist(),
                "wall_s": time.monotonic() - started_s,
            }
        }
    except BaseException as exc:  # everything the calls raise goes back to the caller
        payload = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        code = 1
    _write_all(write_fd, json.dumps(payload).encode() + b"\n")
    os.close(write_fd)
    os._exit(code)


def run_calls(
    func: Callable[[], Any],
    calls: int,
    *,
    probes: int = DEFAULT_PROBES,
    deadline_s: float = DEFAULT_DEADLINE_S,
) -> CallsRun:
    """Call `func` `calls` times in a forked child and return what it measured.

    Raises RunError with the child's own error when a call raises, and when the child has not
    finished within `deadline_s` (it is then killed)."""
    if calls < 10:
        raise RunError(f"calls={calls}: at least 10 calls are needed to fit a growth per call")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's own lines are measured through its output
        os.close(read_fd)
        _child(func, calls, probes, write_fd)
    os.close(write_fd)
    chunks: list[bytes] = []
    end_s = time.monotonic() + deadline_s
    try:
        while True:
            remaining_s = end_s - time.monotonic()
            if remaining_s <= 0 or not select.select([read_fd], [], [], remaining_s)[0]:
                os.kill(pid, signal.SIGKILL)
                raise RunError(
                    f"the calls did not finish within {deadline_s:g} s (deadline_s): the child was "
                    "killed; give fewer calls or a longer deadline"
                )
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if not chunks:
        raise RunError("the child running the calls died without a word (killed, or out of memory?)")
    *summary_lines, last = b"".join(chunks).rstrip(b"\n").split(b"\n")
    payload = json.loads(last)
    if "error" in payload:
        raise RunError(f"a call raised {payload['error']}\n{payload['traceback']}")
    final = payload["final"]
    return CallsRun(
        calls=calls,
        rss_bytes=final["rss_bytes"],
        allocated_blocks=final["allocated_blocks"],
        traced_bytes=final["traced_bytes"],
        summaries=[json.loads(line) for line in summary_lines],
        wall_s=final["wall_s"],
    )
