"""Inside the target: a heap snapshot taken in a forked child, so the service only pauses to fork.

As Redis takes its background saves: the probe forks; the child holds a copy-on-write image of
the service at that instant, counts its objects (sampling/walk.py: types, and the containers that
hold the most, by path), writes one JSON line to a pipe and leaves with os._exit. Nothing the
walk allocates ever reaches the service's heap, and the service runs on while the child walks.
The service's cost is the fork itself (copying page tables: `probe_s`), plus reading one line.
Up to `in_flight` children walk at once (the soak target: one per core, at most two); a probe
due while that many still walk waits for the oldest first (`waited_s`, separate: at --speed max
simulated minutes pass faster than a walk; at speed 1 it is zero). Summaries come out in the
order of their forks whichever child ends first, and each child compares its types with the
latest summary collected when it was forked.

Every summary is stamped when its objects were counted: the fork (`t_sim_s`, `t_wall_s` given by
the caller at that moment, and `counted_unix_s`), never when the answer arrived.

The child's own cost is measured in the child and reported (`child`): wall time of the walk, its
Private_Dirty bytes at the end (pages it copied on write plus the tally), and its minor faults.

When not to fork: the host's MemAvailable must cover what a child may dirty (the last child's
Private_Dirty x 1.5, or the whole RSS before the first one) plus a reserve; otherwise the probe
is skipped and says why (`mode` "skipped", `error`): counting in-process would need the tally's
memory as well. Where fork is unavailable (or turned off) the count runs in-process, says so in
`mode_reason`, and returns what it freed to the OS with malloc_trim(0); what still stays is
measured in benchmarks/results.md. A child that does not answer within `timeout_s` is killed
and the probe reports the failure.

Imports: this module uses os, select, json and time only; sampling/walk.py is imported where
the count runs, in the child. The fork reinitialises the global import lock; a module's own lock
stays held in the child only if another thread was importing that very module at the fork, and
no service imports sampling/walk.py. The service never loads it, nor pympler, nor numpy. The
child never logs or takes a lock: only the thread that forked exists in it, and a lock another
thread held at the fork would never be released there. Should a pandas `__sizeof__` still block
(a lazy import that another thread had begun), the timeout kills the child and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import time
import traceback

# The defaults of sampling/walk.py, which this module imports only where the count runs (in the
# child): the agent keeps the service's own imports to a handful of small modules.
MAX_VISITED = 2_000_000
TOP_TYPES = 40
SAMPLE_TYPES = 4

RESERVE_BYTES = 64 * 2**20
CHILD_MARGIN = 1.5
_READ_BYTES = 1 << 20


def _read_proc_kb(path: str, field: bytes) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            text = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return None


def _minor_faults() -> int | None:
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[7])  # minflt, the 10th field of /proc/PID/stat
    except (OSError, IndexError, ValueError):
        return None


def write_and_leave(fd: int, data: bytes, code: int) -> None:
    """A forked child's last act: all of `data` down the pipe, then os._exit, never a return
    into the parent's code (its finalizers, its atexit) whatever the write does."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os._exit(code)


def host_memory() -> tuple[int | None, int | None]:
    """(MemAvailable of the host, this process's RSS) in bytes; None where /proc does not say."""
    return _read_proc_kb("/proc/meminfo", b"MemAvailable:"), _read_proc_kb("/proc/self/status", b"VmRSS:")


def fork_refusal(
    last_child_bytes: int | None, available: int | None = None, rss: int | None = None, children: int = 1
) -> str | None:
    """Why forking a snapshot child could hurt this host now; None when it cannot. A walk touches
    every object, and the kernel copies each page it touches: the first child may need as much
    as the service's RSS, later ones what the last one took; `children` walking at once (this
    one and those still in flight) each as much."""
    if available is None:
        available, rss = host_memory()
    if available is None:
        return None  # no /proc: nothing says memory is short
    need = children * (int(last_child_bytes * CHILD_MARGIN) if last_child_bytes else (rss or 0))
    if available < need + RESERVE_BYTES:
        return (
            f"the host has {available / 1e6:.0f} MB available and a snapshot child may need "
            f"{need / 1e6:.0f} MB: probe skipped"
        )
    return None


def _library_paths() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple({paths["stdlib"], paths["purelib"], "site-packages"})


def _own_frame(traceback: list, library: tuple[str, ...]) -> object:
    """The innermost frame in the user's own code: `concat.py:679` tells nobody which cache grows."""
    frames = list(traceback)  # oldest first, innermost last
    for frame in reversed(frames):
        if not any(part in frame.filename for part in library):
            return frame
    return frames[-1]


def tracemalloc_lines(
    top_lines: int, frames: int, library: tuple[str, ...], stop: bool = False
) -> dict | None:
    """The allocating lines of the user's own code, largest first (one row per line).

    `stop`: stop tracing once the snapshot is taken (in the snapshot child: tracing the rest of
    the work would make it several times slower, measured, and the tracer hides the allocator's
    statistics behind its hooks)."""
    tracemalloc = sys.modules.get("tracemalloc")  # imported by whoever started tracing, or nobody
    if tracemalloc is None or not tracemalloc.is_tracing():
        return None
    snapshot = tracemalloc.take_snapshot()
    traced_bytes, peak_bytes = tracemalloc.get_traced_memory()
    if stop:
        tracemalloc.stop()
    stats = snapshot.statistics("traceback" if frames > 1 else "lineno")
    by_line: dict[str, dict] = {}
    for stat in stats:
        frame = _own_frame(stat.traceback, library)
        where = f"{frame.filename}:{frame.lineno}"
        row = by_line.setdefault(where, {"where": where, "size_bytes": 0, "count": 0, "largest": 0})
        row["size_bytes"] += stat.size
        row["count"] += stat.count
        if stat.size > row["largest"]:
            row["largest"] = stat.size
            row["traceback"] = [f"{f.filename}:{f.lineno}" for f in stat.traceback]
    lines = sorted(by_line.values(), key=lambda row: row["size_bytes"], reverse=True)[:top_lines]
    for row in lines:
        del row["largest"]
    return {"traced_bytes": traced_bytes, "peak_bytes": peak_bytes, "lines": lines}


_ALLOCATED_BLOCKS_LINE = b"# bytes in allocated blocks"


def pymalloc_bytes() -> int | None:
    """Bytes in the small-object allocator's live blocks: every Python object of 512 bytes or
    less, whoever holds it, the GC's untracked ones too. Read from sys._debugmallocstats, which
    writes to file descriptor 2: only in the snapshot child, where that descriptor is closed and
    is borrowed for the read (in the service it would print into its log)."""
    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None or not hasattr(os, "memfd_create"):
        return None
    try:
        os.fstat(2)
        return None  # descriptor 2 is someone's: not ours to borrow
    except OSError:
        pass
    fd = os.memfd_create("leakhunt-mallocstats")
    try:
        os.dup2(fd, 2)
        try:
            stats()
        finally:
            os.close(2)
        text = os.pread(fd, 1 << 20, 0)
    finally:
        os.close(fd)
    for line in text.splitlines():
        if line.startswith(_ALLOCATED_BLOCKS_LINE):
            return int(line.split(b"=")[1].strip().replace(b",", b""))
    return None


def extension_versions(limit: int = 20) -> list[dict]:
    """The compiled extensions loaded from outside the standard library, one row per package with
    its installed version where a dist-info folder or `__version__` tells it: what a reference
    count leak is most likely in."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    found: dict[str, dict] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith((".so", ".pyd")):
            continue
        if path.startswith(stdlib) and "-packages" not in path[len(stdlib) :]:
            continue  # lib-dynload: the interpreter's own
        top = name.split(".")[0].lstrip("_") or name
        if top in found:
            continue
        found[top] = {"package": top, "version": _version_of(top, path), "module": name}
        if len(found) >= limit:
            break
    return sorted(found.values(), key=lambda row: row["package"])


def _version_of(top: str, path: str) -> str | None:
    version = getattr(sys.modules.get(top), "__version__", None)
    if isinstance(version, str):
        return version
    wanted = top.lower().replace("_", "-")
    folder = os.path.dirname(path)
    for _ in range(3):  # the extension's folder, its package's, site-packages
        try:
            entries = os.listdir(folder)
        except OSError:
            return None
        for entry in entries:
            if entry.endswith(".dist-info") and "-" in entry:
                dist, _, rest = entry[: -len(".dist-info")].partition("-")
                if dist.lower().replace("_", "-") == wanted:
                    return rest
        folder = os.path.dirname(folder)
    return None


class Probe:
    """Heap snapshots of this process: `take()` waits for one; `start()`/`ready()` do not."""

    def __init__(
        self,
        *,
        tracemalloc_frames: int = 0,
        top_types: int = TOP_TYPES,
        top_lines: int = 30,
        holders: bool = True,
        max_visited: int = MAX_VISITED,
        fork: bool = True,
        timeout_s: float = 300.0,
        child_budget_bytes: int | None = None,
        in_flight: int = 1,
    ) -> None:
        self.top_types = top_types
        self.top_lines = top_lines
        self.holders = holders
        self.max_visited = max_visited
        self.fork = fork
        self.timeout_s = timeout_s
        self.child_budget_bytes = child_budget_bytes  # at most this, whatever the host has
        self.tracemalloc_frames = tracemalloc_frames
        self._library: tuple[str, ...] = ()
        if tracemalloc_frames > 0:
            import tracemalloc  # only when asked for: it imports pickle into the service

            self._library = _library_paths()
            if not tracemalloc.is_tracing():
                tracemalloc.start(tracemalloc_frames)
        self.last_child_bytes: int | None = None
        # The previous summary's types, as the bytes of its line: the next child reads what grew
        # since (parsing it here would allocate in the service).
        self._last_types: bytes | None = None
        self.in_flight = max(1, in_flight)
        self._pending: list[_Child] = []  # oldest first
        self._done: list[bytes] = []

    # --- what is measured, in whichever process measures it ---------------------------------
    def _measure(self, header: dict, frames: list, over_budget: object = None) -> dict:
        from leakhunt.sampling.walk import count_objects, find_holders

        summary = dict(header)
        # The allocator and tracemalloc first: the walk's own allocations would count otherwise.
        summary["allocated_blocks"] = sys.getallocatedblocks()
        forked = header["mode"] == "fork"
        summary["tracemalloc"] = tracemalloc_lines(
            self.top_lines, self.tracemalloc_frames, self._library, stop=forked
        )
        summary["pymalloc_bytes"] = pymalloc_bytes() if forked else None
        counted = count_objects(
            frames,
            self.top_types,
            sample_types=SAMPLE_TYPES if self.holders else 0,
            before=self._types_before(),
            over_budget=over_budget,
        )
        sample = counted.pop("_sample", None)
        summary.update(counted)
        if self.holders:
            search = find_holders(
                frames, max_visited=self.max_visited, sample=sample, over_budget=over_budget
            )
            summary["holders"] = search.pop("holders")
            summary["holder_search"] = search
        summary["extensions"] = extension_versions()
        return summary

    def _types_before(self) -> dict[str, int]:
        """Bytes by type at the previous summary (read where the count runs)."""
        if self._last_types is None:
            return {}
        try:
            return {row["type"]: row["size_bytes"] for row in json.loads(self._last_types)}
        except (ValueError, KeyError, TypeError):
            return {}

    def _header(self, t_sim_s: float, t_wall_s: float, mode: str, reason: str | None) -> dict:
        return {
            "kind": "heap",
            "t_sim_s": t_sim_s,
            "t_wall_s": t_wall_s,
            "counted_unix_s": time.time(),
            "mode": mode,
            "mode_reason": reason,
        }

    # --- synchronous ----------------------------------------------------------------------------
    def take(self, *, t_sim_s: float, t_wall_s: float, frames: list | None = None) -> dict:
        """One summary, waited for."""
        return json.loads(self.take_line(t_sim_s=t_sim_s, t_wall_s=t_wall_s, frames=frames))

    def take_line(self, *, t_sim_s: float, t_wall_s: float, frames: list | None = None) -> bytes:
        """One summary as a JSON line, never parsed in this process (the agent forwards it)."""
        frames = frames if frames is not None else [("MainThread", sys._getframe(1))]
        self._wait_pending()
        child = self._start(t_sim_s, t_wall_s, frames)
        if isinstance(child, bytes):
            return child
        child.line = self._collect(child, block=True)
        return self._accepted(child) or b""

    # --- asynchronous (the soak target: the service runs on while the child walks) -------------
    def start(self, *, t_sim_s: float, t_wall_s: float) -> None:
        """Fork a snapshot now; its line comes out of ready() or finish() later."""
        waited_s = self._wait_pending(keep=self.in_flight - 1)
        child = self._start(t_sim_s, t_wall_s, [("MainThread", sys._getframe(1))], waited_s)
        if isinstance(child, bytes):
            self._wait_pending()  # behind the children still walking: in fork order
            self._done.append(child)
        else:
            self._pending.append(child)

    def ready(self) -> list[bytes]:
        """Summaries finished since the last call, as JSON lines, in fork order; never blocks."""
        for child in self._pending:
            if child.line is None:
                child.line = self._collect(child, block=False)
        while self._pending and self._pending[0].line is not None:
            self._hand_out(self._pending.pop(0))
        done, self._done = self._done, []
        return done

    def finish(self) -> list[bytes]:
        """Wait for the snapshots in flight; every summary not yet handed out."""
        self._wait_pending()
        return self.ready()

    def _wait_pending(self, keep: int = 0) -> float:
        """Wait for the oldest children until at most `keep` walk; how long that took."""
        if len(self._pending) <= keep:
            return 0.0
        started = time.perf_counter()
        while len(self._pending) > keep:
            child = self._pending.pop(0)
            if child.line is None:
                child.line = self._collect(child, block=True)
            self._hand_out(child)
        return time.perf_counter() - started

    def _hand_out(self, child: _Child) -> None:
        line = self._accepted(child)
        if line:
            self._done.append(line)

    def _accepted(self, child: _Child) -> bytes | None:
        """A finished child's line; taken in fork order, so the next children compare with it."""
        if child.succeeded and child.line:
            self.last_child_bytes = _private_dirty_of(child.line)
            self._last_types = _types_of(child.line)
        return child.line

    # --- fork, or count here --------------------------------------------------------------------
    def _start(self, t_sim_s: float, t_wall_s: float, frames: list, waited_s: float = 0.0) -> _Child | bytes:
        if not self.fork or not hasattr(os, "fork"):
            reason = "fork turned off" if not self.fork else "this platform has no fork()"
            return self._in_process(t_sim_s, t_wall_s, frames, reason)
        available, rss = host_memory()
        walking = len(self._pending)
        refusal = fork_refusal(self.last_child_bytes, available, rss, children=walking + 1)
        if refusal is not None:
            # Counting here would need the tally's memory too, and leave some of it in RSS. The
            # allocator's block count costs nothing to read: the growth of live objects still shows.
            skipped = {**self._header(t_sim_s, t_wall_s, "skipped", refusal), "kind": "error"}
            skipped.update(allocated_blocks=sys.getallocatedblocks(), service_rss_bytes=rss)
            return json.dumps({**skipped, "error": refusal, "probe_s": 0.0}).encode() + b"\n"
        header = self._header(t_sim_s, t_wall_s, "fork", None)
        header["service_rss_bytes"] = rss
        # The child stops before it takes its share of what the host has left, less the reserve.
        share = available and (available - RESERVE_BYTES) // (walking + 1)
        budgets = [b for b in (self.child_budget_bytes, share) if b]
        header["child_budget_bytes"] = min(budgets) if budgets else None
        read_fd, write_fd = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: measured, never returns
            self._child(write_fd, header, frames)
        pause_s = time.perf_counter() - started
        os.close(write_fd)
        child = _Child(pid, read_fd, pause_s, waited_s, time.monotonic() + self.timeout_s)
        child.header = header
        return child

    def _child(self, write_fd: int, header: dict, frames: list) -> None:
        code = 1
        try:
            # Hold nothing of the service's: its sockets, pipes and the protocol's stdout.
            os.closerange(0, write_fd)
            os.closerange(write_fd + 1, 1 << 20)
            dirty_before = _read_proc_kb("/proc/self/smaps_rollup", b"Private_Dirty:")
            faults_before = _minor_faults()
            started = time.perf_counter()
            from leakhunt.sampling.walk import OverBudget

            try:
                try:
                    summary = self._measure(header, frames, _budget(header.get("child_budget_bytes")))
                except RuntimeError as exc:
                    if "changed size during iteration" not in str(exc):
                        raise
                    # Something the walk looked at ran code that grew a container (a lazy
                    # attribute, a __sizeof__): seen in a pytest-xdist worker's heap. Once more.
                    summary = self._measure(header, frames, _budget(header.get("child_budget_bytes")))
            except OverBudget as exc:
                budget_mb = header["child_budget_bytes"] / 1e6
                reason = (
                    f"the snapshot child reached its memory budget of {budget_mb:.0f} MB (at most what "
                    f"the host had available, less a {RESERVE_BYTES / 2**20:.0f} MB reserve) after {exc}: "
                    "stopped before counting; a walk copies every page it touches"
                )
                summary = {**header, "kind": "error", "error": reason}
            faults_after = _minor_faults()
            dirty_after = _read_proc_kb("/proc/self/smaps_rollup", b"Private_Dirty:")
            summary["child"] = {
                "walk_s": time.perf_counter() - started,
                "private_dirty_bytes": dirty_after,
                "private_dirty_before_bytes": dirty_before,
                "minor_faults": faults_after - faults_before
                if faults_after is not None and faults_before is not None
                else None,
            }
            data = json.dumps(summary, default=str).encode()
            code = 0
        except BaseException as exc:  # whatever happens, the child must leave by os._exit
            where = traceback.extract_tb(exc.__traceback__)[-1:]
            at = f" (at {where[0].filename}:{where[0].lineno})" if where else ""
            data = json.dumps({"error": f"{type(exc).__name__}: {exc}{at}"}).encode()
        write_and_leave(write_fd, data, code)

    def _in_process(self, t_sim_s: float, t_wall_s: float, frames: list, reason: str) -> bytes:
        started = time.perf_counter()
        summary = self._measure(self._header(t_sim_s, t_wall_s, "in-process", reason), frames)
        del frames
        summary["trimmed"] = _malloc_trim()
        summary["probe_s"] = time.perf_counter() - started
        summary["child"] = None
        return json.dumps(summary, default=str).encode() + b"\n"

    def _collect(self, child: _Child, *, block: bool) -> bytes | None:
        """The child's line with the pause spliced in, once it has all arrived; None before."""
        while True:
            remaining_s = child.deadline_s - time.monotonic()
            timeout_s = max(0.0, remaining_s) if block else 0.0
            readable, _, _ = select.select([child.fd], [], [], timeout_s)
            if not readable:
                if not block:
                    return None
                child.kill()
                return self._failed(child, f"the snapshot child took over {self.timeout_s:g} s: killed")
            chunk = os.read(child.fd, _READ_BYTES)
            if chunk:
                child.chunks.append(chunk)
                continue
            child.reap()
            data = b"".join(child.chunks)
            child.chunks.clear()
            if not data.startswith(b'{"kind"'):
                reason = data.decode(errors="replace")[:200] or f"exit status {child.status}"
                return self._failed(child, f"the snapshot child failed: {reason}")
            child.succeeded = True
            return data[:-1] + b', "probe_s": %.6f, "waited_s": %.6f}\n' % (child.pause_s, child.waited_s)

    def _failed(self, child: _Child, reason: str) -> bytes:
        failure = {**child.header, "kind": "error", "error": reason, "probe_s": child.pause_s}
        return json.dumps(failure).encode() + b"\n"


def _budget(limit_bytes: int | None) -> object:
    """The child's look at its own memory, a function true once its Private_Dirty passes
    `limit_bytes` (None without a limit). Untyped here: typing would load into the service."""
    if limit_bytes is None:
        return None

    def over_budget() -> bool:
        dirty = _read_proc_kb("/proc/self/smaps_rollup", b"Private_Dirty:")
        return dirty is not None and dirty > limit_bytes

    return over_budget


def _types_of(data: bytes) -> bytes | None:
    """The `"types": [...]` array of a summary line, cut out without parsing it."""
    start = data.find(b'"types": [')
    end = data.find(b"]", start)
    return data[start + len(b'"types": ') : end + 1] if start >= 0 and end > start else None


def _private_dirty_of(data: bytes) -> int | None:
    """The child's Private_Dirty, read from its line without parsing it all."""
    marker = b'"private_dirty_bytes": '
    at = data.rfind(marker)
    if at < 0:
        return None
    end = data.find(b",", at)
    with contextlib.suppress(ValueError):
        return int(data[at + len(marker) : end])
    return None


_LIBC: list = []  # one handle: every ctypes.CDLL(None) makes new function-pointer classes


def _malloc_trim() -> bool | None:
    """Give freed heap back to the OS (glibc); None where there is no malloc_trim."""
    try:
        if not _LIBC:
            import ctypes

            _LIBC.append(ctypes.CDLL(None))
        return bool(_LIBC[0].malloc_trim(0))
    except (OSError, AttributeError):
        return None


class _Child:
    """A snapshot child in flight: its pid, the read end of its pipe, what it cost to fork."""

    def __init__(self, pid: int, fd: int, pause_s: float, waited_s: float, deadline_s: float) -> None:
        self.pid, self.fd, self.deadline_s = pid, fd, deadline_s
        self.pause_s = pause_s  # the fork: what the service stood still for
        self.waited_s = waited_s  # for the previous child, when probes come faster than walks
        self.chunks: list[bytes] = []
        self.line: bytes | None = None  # the summary, once it has all arrived
        self.succeeded = False  # a summary, not a failure said for it
        self.status: int | None = None
        self.header: dict = {}

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 9)
        self.reap()

    def reap(self) -> None:
        os.close(self.fd)
        _, self.status = os.waitpid(self.pid, 0)
