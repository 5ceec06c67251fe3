"""A process on this host: by PID, by a pattern over command lines, or a systemd unit's MainPID.

Reads /proc/PID/status (RSS, swap) and /proc/PID/stat (CPU, start time) once per sample, on a
fixed schedule of monotonic deadlines, waiting on the stop event so Ctrl-C is prompt.

A unit is asked for its main process at every sample (`systemctl show`). A new MainPID, or a new
ExecMainStartTimestamp (a restart that got the same PID again), is a restart: an event, and
sampling follows the new process. Between stop and start systemd reports MainPID=0, and a
stopped main process may still be named for an instant: neither ends the watch, those due times
have no sample, and the restart event says how long the unit had no main process.
"""

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

from leakhunt.errors import UsageError
from leakhunt.sampling.procfs import (
    CLOCK_TICKS_PER_S,
    ProcStat,
    int_or_none,
    parse_stat,
    parse_status,
    parse_systemctl_show,
)
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event

UNIT_PROPERTIES = "MainPID,MemoryCurrent,MemoryMax,NRestarts,ExecMainStartTimestamp"
SHORT_WAIT_S = 1.0


def read_process(pid: int) -> tuple[ProcStat, int, int]:
    """(stat, rss_bytes, swap_bytes); FileNotFoundError/ProcessLookupError once it is gone."""
    with open(f"/proc/{pid}/stat") as stat_file:
        stat = parse_stat(stat_file.read())
    with open(f"/proc/{pid}/status") as status_file:
        rss_bytes, swap_bytes = parse_status(status_file.read())
    return stat, rss_bytes, swap_bytes


class ProcReader:
    """/proc/PID/stat and /proc/PID/status read through descriptors kept open (pread at offset
    0): a sample costs two reads and no path lookups. A descriptor stays bound to the process it
    was opened for, so once that process is reaped it reads as gone (ESRCH), even if its PID has
    been given to another."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            self._status_fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        except OSError:
            os.close(self._stat_fd)
            raise

    def read(self) -> tuple[ProcStat, int, int]:
        """(stat, rss_bytes, swap_bytes); ProcessLookupError once the process is gone."""
        stat = parse_stat(os.pread(self._stat_fd, 4096, 0).decode())
        rss_bytes, swap_bytes = parse_status(os.pread(self._status_fd, 16384, 0).decode())
        return stat, rss_bytes, swap_bytes

    def close(self) -> None:
        """Idempotent: a descriptor number closed twice could be another file's by then."""
        for fd in (self._stat_fd, self._status_fd):
            if fd >= 0:
                os.close(fd)
        self._stat_fd = self._status_fd = -1


def check_pid(pid: int) -> None:
    if pid <= 0 or not _is_process(pid):
        raise UsageError(f"no process with PID {pid}: check the PID with `ps` or `pgrep -af NAME`")
    try:
        if read_process(pid)[0].is_gone:
            raise UsageError(f"process {pid} has already exited (a zombie waiting for its parent)")
    except PermissionError:
        raise UsageError(f"permission denied reading /proc/{pid}: run as its user or as root") from None
    except (FileNotFoundError, ProcessLookupError):
        raise UsageError(f"process {pid} exited before sampling began") from None


def _is_process(pid: int) -> bool:
    """A process (not one of its threads, which /proc also answers for) exists with this PID.
    Read from /proc, as psutil.pid_exists does, without loading psutil for a PID check."""
    try:
        with open(f"/proc/{pid}/status") as status_file:
            for line in status_file:
                if line.startswith("Tgid:"):
                    return int(line.split()[1]) == pid
    except FileNotFoundError:
        return False
    except PermissionError:
        return True  # it exists; check_pid says what is denied
    return True


def find_by_pattern(pattern: str) -> int:
    """The one process whose command line matches `pattern` (a regex), not leakhunt itself."""
    import psutil  # here only: the sampling loop reads /proc itself

    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"--match {pattern!r} is not a regular expression: {exc}") from None
    own = {os.getpid(), os.getppid()}
    candidates = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["pid"] not in own and cmdline and regex.search(cmdline):
            candidates.append((process.info["pid"], cmdline))
    if not candidates:
        raise UsageError(f"no process matches --match {pattern!r}: check with `pgrep -af {pattern}`")
    if len(candidates) > 1:
        listed = "; ".join(f"{pid}: {cmd[:60]}" for pid, cmd in candidates[:8])
        raise UsageError(
            f"--match {pattern!r} matches {len(candidates)} processes ({listed}): "
            "narrow the pattern or use --pid"
        )
    return candidates[0][0]


def systemctl_show(unit: str) -> dict[str, str]:
    if shutil.which("systemctl") is None:
        raise UsageError("--unit needs systemctl, which this host does not have: use --pid or --match")
    result = subprocess.run(
        ["systemctl", "show", "-p", UNIT_PROPERTIES, "--", unit], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise UsageError(f"systemctl show {unit} failed: {result.stderr.strip() or result.returncode}")
    return parse_systemctl_show(result.stdout)


class LocalSource:
    """Sample a local process; follow a unit's MainPID across restarts."""

    def __init__(self, *, pid: int | None = None, match: str | None = None, unit: str | None = None) -> None:
        if sum(x is not None for x in (pid, match, unit)) != 1:
            raise UsageError("give exactly one of --pid, --unit or --match")
        self.unit = unit
        self._main_started = ""  # a unit's ExecMainStartTimestamp for the process sampled
        if unit is not None:
            validate_unit(unit)
            pid, self._main_started, _ = self._main_process()
            if not pid:
                raise UsageError(f"unit {unit} has no running main process (MainPID=0): is it started?")
        elif match is not None:
            pid = find_by_pattern(match)
        assert pid is not None
        check_pid(pid)
        self.pid = pid
        self.description = f"unit {unit} (pid {pid})" if unit else f"pid {pid}"
        self._cost_cpu_s = 0.0
        self._samples = 0
        self.missed = 0

    def _main_process(self) -> tuple[int, str, int | None]:
        """The unit's MainPID (0 between stop and start), when that process started, NRestarts."""
        shown = systemctl_show(self.unit or "")
        pid = int_or_none(shown.get("MainPID")) or 0
        return pid, shown.get("ExecMainStartTimestamp", ""), int_or_none(shown.get("NRestarts"))

    def stream(self, interval_s: float, stop: threading.Event) -> Iterator[Sample | Event]:
        started_s = time.monotonic()
        self._reader = ProcReader(self.pid)
        try:
            yield from self._stream(started_s, interval_s, stop)
        finally:
            self._reader.close()

    def _stream(self, started_s: float, interval_s: float, stop: threading.Event) -> Iterator[Sample | Event]:
        first_stat, _, _ = self._reader.read()
        start_ticks = first_stat.start_ticks
        last_ticks, last_wall_s = first_stat.cpu_ticks, started_s
        slot = 0  # samples are due at started_s + slot * interval_s
        no_main_since_s: float | None = None  # a unit's first due time without a main process
        while True:
            delay_s = started_s + slot * interval_s - time.monotonic()
            # time.sleep costs half of Event.wait per wake-up (measured: ~50 against ~90 µs), and
            # at 10 Hz the wake-up is much of a sample's cost. A stop comes from this thread or
            # as KeyboardInterrupt, which ends a sleep at once; long waits still watch the event.
            if delay_s > SHORT_WAIT_S:
                stop.wait(delay_s)
            elif delay_s > 0:
                time.sleep(delay_s)
            if stop.is_set():
                return
            begin_cpu_s = time.thread_time()
            now_s = time.monotonic()
            t_s = now_s - started_s
            # Held up past the next due time (a stalled machine, a busy consumer): the samples
            # not taken are a gap, never a burst of back-to-back reads standing in for them.
            late_slots = int(t_s / interval_s) - slot if interval_s > 0 else 0
            if late_slots > 0:
                self.missed += late_slots
                yield Event(t_s, "missed", _missed_detail(late_slots, slot * interval_s, t_s))
                slot += late_slots
            slot += 1
            if self.unit is not None:
                main_pid, main_started, restarts = self._main_process()
                if not main_pid:
                    no_main_since_s = t_s if no_main_since_s is None else no_main_since_s
                    continue  # between stop and start: nothing to sample at this due time
                if main_pid != self.pid or main_started != self._main_started:
                    reader = _open_live(main_pid)
                    if reader is None:
                        continue  # gone again already: the unit says what runs at the next due time
                    stat, _, _ = reader.read()
                    yield self._restart(t_s, main_pid, restarts, no_main_since_s)
                    self._reader.close()
                    self._reader, self.pid, self._main_started = reader, main_pid, main_started
                    start_ticks, last_ticks, last_wall_s = stat.start_ticks, stat.cpu_ticks, now_s
                no_main_since_s = None
            try:
                stat, rss_bytes, swap_bytes = self._reader.read()
                if stat.is_gone:
                    raise ProcessLookupError(self.pid)
            except (FileNotFoundError, ProcessLookupError):
                if self.unit is not None:
                    # Stopped, and systemd does not say so yet: the next due time asks again.
                    no_main_since_s = t_s if no_main_since_s is None else no_main_since_s
                    continue
                yield self._ended(t_s, start_ticks)
                return
            elapsed_s = now_s - last_wall_s
            cpu_percent = (
                100.0 * (stat.cpu_ticks - last_ticks) / CLOCK_TICKS_PER_S / elapsed_s if elapsed_s else 0.0
            )
            last_ticks, last_wall_s = stat.cpu_ticks, now_s
            self._cost_cpu_s += time.thread_time() - begin_cpu_s
            self._samples += 1
            yield Sample(
                t_wall_s=t_s, t_sim_s=t_s, rss_bytes=rss_bytes, swap_bytes=swap_bytes, cpu_percent=cpu_percent
            )

    def _restart(
        self, t_s: float, new_pid: int, restarts: int | None, no_main_since_s: float | None
    ) -> Event:
        text = f"restart at t = {t_s / 60:.1f} min: pid {self.pid} -> {new_pid}"
        if no_main_since_s is not None:
            text += f" (no main process for {t_s - no_main_since_s:.1f} s)"
        return Event(
            t_s, "restart", {"old_pid": self.pid, "new_pid": new_pid, "restarts": restarts, "text": text}
        )

    def _ended(self, t_s: float, start_ticks: int) -> Event:
        """The watched process is gone; say so, and whether its PID already names another."""
        try:
            reused = read_process(self.pid)[0].start_ticks != start_ticks
        except (FileNotFoundError, ProcessLookupError):
            reused = False
        if reused:
            text = f"pid {self.pid} now belongs to another process: the watched one exited"
            return Event(t_s, "pid_reused", {"pid": self.pid, "text": text})
        text = f"process {self.pid} exited at t = {t_s / 60:.1f} min"
        return Event(t_s, "exited", {"pid": self.pid, "text": text})

    def cost(self) -> dict[str, Any]:
        return {
            "sampler_cpu_s": self._cost_cpu_s,
            "remote_cpu_s": None,
            "samples": self._samples,
            "missed_samples": self.missed,
        }

    def close(self) -> None:
        """Nothing held open between samples."""


def _open_live(pid: int) -> ProcReader | None:
    """A reader of `pid`, or None if it has exited already (gone, or a zombie)."""
    try:
        reader = ProcReader(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    try:
        if not reader.read()[0].is_gone:
            return reader
    except (FileNotFoundError, ProcessLookupError):
        pass
    reader.close()
    return None


def _missed_detail(missed: int, due_s: float, t_s: float) -> dict[str, Any]:
    return {
        "missed": missed,
        "from_s": due_s,
        "to_s": t_s,
        "text": f"{missed} sample(s) missed at t = {due_s / 60:.1f} min: the sampler was held up "
        f"{t_s - due_s:.2f} s",
    }


_UNIT = re.compile(r"^[A-Za-z0-9@._:\\-]+$")


def validate_unit(unit: str) -> str:
    """A systemd unit name, or a usage error: nothing else ever reaches a shell or systemctl."""
    if not _UNIT.match(unit) or unit.startswith("-"):
        raise UsageError(f"--unit {unit!r} is not a systemd unit name (letters, digits, @ . _ : \\ -)")
    return unit
