"""A warmed interpreter that forks soak targets: `python -P -m leakhunt.workload.server FD`.

compare runs fifteen targets of one seed; each fresh interpreter spends ~0.4 s of CPU importing
pandas before its model starts. This one imports what a target imports, once, then forks a target
per request, so each starts where a fresh one would be after its imports.

A forked child must measure what a fresh one measures. fork copies no page-table entries for
file-backed pages (the kernel leaves them to fault in), so a child's RSS would leave out the
library pages its parent had touched, start ~20 MB lower and climb in steps as the model reached
code the imports had run. Before its model starts, each child maps in again exactly the file pages
present in this process's page table at the fork (read from /proc/self/pagemap, then
madvise(MADV_POPULATE_READ), Linux 5.14+): its RSS is then this process's, as a fresh target's is
after the same imports (tests/e2e/test_compare.py measures both side by side). Where the kernel
cannot populate, the server says so at start and the parent starts fresh interpreters instead.

Protocol, over the Unix socket FD (SOCK_SEQPACKET: one JSON object a message):
- the server says {"op": "ready", "populate": bool} once its imports are done;
- a request {"op": "start", "config": CONFIG} comes with three file descriptors (SCM_RIGHTS): the
  target's stdin, stdout and stderr. The server answers {"op": "started", "pid": N}, or with
  "pid": null and "error" when it could not fork (leakhunt then starts that target afresh);
- when a target ends, {"op": "exited", "pid": N, "returncode": R} (R < 0: killed by signal -R,
  as subprocess says it);
- the socket closing ends the server; the targets still running are killed with it.

The server runs under its parent's PR_SET_PDEATHSIG, each target under the server's: a killed
leakhunt leaves neither.
"""

import contextlib
import ctypes
import json
import os
import select
import signal
import struct
import sys
import traceback
from collections.abc import Callable

from leakhunt.sampling.lifeline import dies_with_parent
from leakhunt.workload import target  # the imports every target makes, made once here

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63  # a pagemap entry's bit: the page is in the page table
MADV_POPULATE_READ = 22
MAX_MESSAGE_BYTES = 1 << 20
FDS_PER_TARGET = 3
_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


def present_file_ranges() -> list[tuple[int, int]]:
    """(start, bytes) of every run of file-backed pages present in this process's page table."""
    ranges: list[tuple[int, int]] = []
    with open("/proc/self/maps") as maps, open("/proc/self/pagemap", "rb", buffering=0) as pagemap:
        for line in maps:
            fields = line.split(maxsplit=5)
            # An inode names a file (or shared memory): the mappings fork does not copy.
            if len(fields) < 6 or fields[4] == "0" or not fields[1].startswith("r"):
                continue
            start, end = (int(edge, 16) for edge in fields[0].split("-"))
            pagemap.seek(start // PAGE_BYTES * 8)
            run_start = None
            for page, entry in enumerate(memoryview(pagemap.read((end - start) // PAGE_BYTES * 8)).cast("Q")):
                if entry & PRESENT and run_start is None:
                    run_start = page
                elif not entry & PRESENT and run_start is not None:
                    ranges.append((start + run_start * PAGE_BYTES, (page - run_start) * PAGE_BYTES))
                    run_start = None
            if run_start is not None:
                ranges.append((start + run_start * PAGE_BYTES, end - start - run_start * PAGE_BYTES))
    return ranges


def populate(ranges: list[tuple[int, int]]) -> bool:
    """Fault the pages in without reading them into anything; False where the kernel cannot."""
    ok = True
    for start, size in ranges:
        ok = _libc.madvise(start, size, MADV_POPULATE_READ) == 0 and ok
    return ok


def _run_target(
    config: dict, fds: list[int], arrange: Callable[[], None], ranges: list[tuple[int, int]]
) -> None:
    """In the forked child: become the target, as `python -m leakhunt.workload.target` would;
    `arrange` ties it to the server's life (sampling/lifeline.py)."""
    code = 1
    try:
        arrange()
        os.setsid()  # as start_new_session: Ctrl-C reaches leakhunt only
        for fd, std in zip(fds, (0, 1, 2), strict=True):
            os.dup2(fd, std)
            os.close(fd)
        populate(ranges)
        target.main(config)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve(fd: int, ranges: list[tuple[int, int]]) -> None:
    """Answer requests on the socket `fd` until it closes."""
    # _socket, not socket: the server's own imports stay in every target's RSS (about 0.1 MB
    # less), and their file pages are left out of `ranges`, taken before them.
    import _socket

    sock = _socket.socket(fileno=fd)
    arrange = dies_with_parent(signal.SIGKILL)  # each target dies with this server
    running: dict[int, int] = {}  # pidfd -> pid
    fds_bytes = _socket.CMSG_LEN(FDS_PER_TARGET * 4)

    def send(message: dict) -> None:
        sock.send(json.dumps(message).encode())

    send({"op": "ready", "populate": bool(ranges) and populate(ranges[:1])})
    try:
        while True:
            readable, _, _ = select.select([fd, *running], [], [])
            for pidfd in [each for each in readable if each in running]:
                pid = running.pop(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                send({"op": "exited", "pid": pid, "returncode": _returncode(status)})
            if fd not in readable:
                continue
            data, ancillary, _, _ = sock.recvmsg(MAX_MESSAGE_BYTES, fds_bytes)
            if not data:
                return
            fds = [
                fd_
                for level, kind, payload in ancillary
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
                for fd_ in struct.unpack(f"{len(payload) // 4}i", payload)
            ]
            try:
                pid = os.fork()
            except OSError as exc:  # no memory or no pids left: leakhunt starts this one afresh
                send({"op": "started", "pid": None, "error": str(exc)})
                pid = None
            if pid == 0:  # pragma: no cover - the child becomes the target and never returns
                sock.close()
                _run_target(json.loads(data)["config"], fds, arrange, ranges)
            for each in fds:
                os.close(each)
            if pid is not None:
                running[os.pidfd_open(pid)] = pid
                send({"op": "started", "pid": pid})
    finally:
        for pid in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def main() -> None:
    ranges = present_file_ranges()  # what a fresh target has after these imports
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        serve(int(sys.argv[1]), ranges)


if __name__ == "__main__":
    main()
