"""A process on another host, sampled over one SSH connection with nothing installed there.

One long-lived POSIX sh loop on the remote host prints a block per sample (its clock, the raw
/proc/PID/stat and the VmRSS/VmSwap lines of /proc/PID/status, `systemctl show` for a unit, and
the loop's own /proc/$$/stat so its CPU cost is known); the blocks are read as a stream and parsed
with procfs.py exactly as local files are. No user value reaches the remote shell unchecked: a PID
is an int, a unit name matches a strict pattern and is quoted, a pattern is quoted.

A dropped connection is retried with back-off; the gap is recorded as events and nothing sampled
before it is lost. A connection that stays up but goes silent (a stalled host or sshd) is caught
by a read deadline of READ_DEADLINE_INTERVALS intervals (at least MIN_READ_DEADLINE_S): keepalives
alone cannot see it, as paramiko sends them without waiting for an answer. The gap is recorded
on the remote host's own clock, from the last sample before it to the first sample after it,
not from when the silence was noticed to when the connection came back.
"""

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko

from leakhunt.errors import LeakhuntError, UsageError
from leakhunt.sampling.local import UNIT_PROPERTIES, validate_unit
from leakhunt.sampling.logs import LogFollower
from leakhunt.sampling.procfs import CLOCK_TICKS_PER_S, int_or_none, parse_stat, parse_status
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event
from leakhunt.sampling.ssh import Connection, Connector, HostSpec, Warn, resolve_host

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
DEFAULT_GIVE_UP_S = 300.0
READ_DEADLINE_INTERVALS = 3
MIN_READ_DEADLINE_S = 5.0  # the remote loop's first block, over a busy link, may take this long


def read_deadline_s(interval_s: float) -> float:
    return max(MIN_READ_DEADLINE_S, READ_DEADLINE_INTERVALS * interval_s)


def sampling_script(*, pid: int | None, unit: str | None, interval_s: float) -> str:
    """The remote loop. Only an int PID and a validated, quoted unit name are interpolated.

    Files are read with the shell's own `read` (no process per file), the clock is /proc/uptime:
    the only process a plain-PID sample starts is `sleep`, which keeps the loop's own CPU small.
    """
    interval = f"{max(interval_s, 0.0):.3f}"
    if unit is not None:
        find_pid = (
            f"u=$(systemctl show -p {UNIT_PROPERTIES} -- {shlex.quote(validate_unit(unit))})\n"
            'while IFS=\'=\' read -r k v; do echo "@U $k=$v"; [ "$k" = MainPID ] && pid=$v; done <<EOF\n'
            "$u\nEOF\n"
        )
    else:
        find_pid = f"pid={int(pid or 0)}\n"
    return (
        "while :; do\n"
        f"{find_pid}"
        'read -r up idle < /proc/uptime; echo "@S $up"\n'
        'if [ "$pid" != 0 ] && read -r st < /proc/$pid/stat; then\n'
        '  echo "@P $st"\n'
        '  while read -r k v rest; do case $k in VmRSS:|VmSwap:) echo "@M $k $v kB";; esac; '
        "done < /proc/$pid/status\n"
        'else echo "@X"; fi 2>/dev/null\n'
        'read -r self < /proc/$$/stat; echo "@C $self"; echo "@E"\n'
        f"sleep {interval}\n"
        "done\n"
    )


def events_command(command: str) -> str:
    """The user's log command, ended when its channel closes or its connection drops.

    sshd starts a session without a pty in a process group of its own; the command runs in the
    background while `cat` waits for the end of the channel's input, then `kill 0` ends the
    group, pipelines included. A quiet command never writes, so it would never meet SIGPIPE.
    """
    return f"{{ {command}\n}} </dev/null & cat >/dev/null; kill 0"


def find_remote_pid(client: Connection, pattern: str) -> int:
    """The one remote process whose command line matches `pattern` (not the shell asking)."""
    command = (
        f'for p in $(pgrep -f -- {shlex.quote(pattern)}); do [ "$p" != "$$" ] && '
        "echo \"$p $(tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null)\"; done; true"
    )
    output = client.run(command, timeout_s=30)
    candidates = [line.split(" ", 1) for line in output.splitlines() if line.strip()]
    if not candidates:
        raise UsageError(f"no remote process matches --match {pattern!r}: check with `pgrep -af`")
    if len(candidates) > 1:
        listed = "; ".join(f"{c[0]}: {c[-1][:60]}" for c in candidates[:8])
        raise UsageError(
            f"--match {pattern!r} matches {len(candidates)} remote processes ({listed}): "
            "narrow the pattern or use --pid"
        )
    return int(candidates[0][0])


class RemoteSource:
    def __init__(
        self,
        host: str | HostSpec,
        *,
        pid: int | None = None,
        unit: str | None = None,
        match: str | None = None,
        ssh_config_path: Path | None = None,
        known_hosts_path: Path | None = None,
        accept_new_host_key: bool = False,
        give_up_after_s: float = DEFAULT_GIVE_UP_S,
        on_warning: Warn | None = None,
    ) -> None:
        if sum(x is not None for x in (pid, unit, match)) != 1:
            raise UsageError("give exactly one of --pid, --unit or --match")
        if unit is not None:
            validate_unit(unit)  # before any connection: a bad name never reaches the host
        if pid is not None and (not isinstance(pid, int) or pid <= 0):
            raise UsageError(f"--pid must be a positive whole number, got {pid!r}")
        self.spec = host if isinstance(host, HostSpec) else resolve_host(host, ssh_config_path)
        # Every local check and warning before the first connection; the connector then serves
        # each reconnect too.
        self._connector = Connector(
            self.spec,
            known_hosts_path=known_hosts_path,
            accept_new_host_key=accept_new_host_key,
            ssh_config_path=ssh_config_path,
            on_warning=on_warning,
        )
        self.unit = unit
        self.give_up_after_s = give_up_after_s
        self.client = self._connector.connect()
        try:
            self.pid = find_remote_pid(self.client, match) if match is not None else pid
        except BaseException:
            self.client.close()
            raise
        self.description = f"{'unit ' + unit if unit else 'pid ' + str(self.pid)} on {self.spec.alias}"
        self._sampler_cpu_s = 0.0
        self._samples = 0
        self._remote_ticks = 0
        self._channel: paramiko.Channel | None = None
        self._events_command: str | None = None
        self._follower: LogFollower | None = None

    def _open(self, interval_s: float) -> Iterator[str]:
        transport = self.client.get_transport()
        if not transport.is_active():
            self.client = self._connector.connect()
            transport = self.client.get_transport()
        channel = transport.open_session()
        channel.settimeout(read_deadline_s(interval_s))
        channel.exec_command(sampling_script(pid=self.pid, unit=self.unit, interval_s=interval_s))
        self._channel = channel
        buffer = b""
        while True:
            chunk = channel.recv(65536)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")

    def stream(self, interval_s: float, stop: threading.Event) -> Iterator[Sample | Event]:
        state: dict[str, Any] = {"first_ts": None, "start_ticks": None, "last": None}
        started_s = time.monotonic()
        while not stop.is_set():
            try:
                for item in self._blocks(self._open(interval_s), state):
                    yield item
                    if isinstance(item, Event) and item.kind in ("exited", "pid_reused"):
                        return
                    if stop.is_set():
                        return
            except (TimeoutError, OSError, EOFError, paramiko.SSHException):
                pass  # handled below as a lost connection
            if stop.is_set():
                return
            lost_at_s = self._now(state, started_s)
            yield Event(
                lost_at_s,
                "connection_lost",
                {"text": f"connection to {self.spec.alias} lost at t = {lost_at_s / 60:.1f} min"},
            )
            if not self._reconnect(stop):
                yield Event(
                    self._now(state, started_s),
                    "connection_failed",
                    {"text": f"gave up reconnecting to {self.spec.alias} after {self.give_up_after_s:.0f} s"},
                )
                return
            self._reopen_events()
            # The gap event waits for the first sample after it: only then is its end known.
            state["gap_from_s"] = state["last"]["t_s"] if state["last"] is not None else lost_at_s

    def _now(self, state: dict[str, Any], started_s: float) -> float:
        if state["last"] is not None:
            return state["last"]["t_s"] + (time.monotonic() - state["last"]["mono_s"])
        return time.monotonic() - started_s

    def _reconnect(self, stop: threading.Event) -> bool:
        deadline_s = time.monotonic() + self.give_up_after_s
        delay_s = FIRST_BACKOFF_S
        while time.monotonic() < deadline_s:
            if stop.wait(delay_s):
                return False
            try:
                self.client.close()
                self.client = self._connector.connect()
                return True
            except LeakhuntError:
                delay_s = min(delay_s * 2, MAX_BACKOFF_S)
        return False

    def _blocks(self, lines: Iterator[str], state: dict[str, Any]) -> Iterator[Sample | Event]:
        block: dict[str, Any] = {}
        unit: dict[str, str] = {}  # a unit's lines come before the sample's clock line
        for line in lines:
            tag, _, rest = line.partition(" ")
            if tag == "@S":
                block, unit = {"ts": float(rest), "memory": [], "unit": unit}, {}
            elif tag == "@U":
                key, _, value = rest.partition("=")
                unit[key] = value
            elif tag == "@P":
                block["stat"] = rest
            elif tag == "@M":
                block["memory"].append(rest)
            elif tag == "@X":
                block["gone"] = True
            elif tag == "@C":
                block["cost"] = rest
            elif tag == "@E" and "ts" in block:
                yield from self._sample(block, state)

    def _sample(self, block: dict[str, Any], state: dict[str, Any]) -> Iterator[Sample | Event]:
        began_cpu_s = time.thread_time()
        if state["first_ts"] is None:
            state["first_ts"] = block["ts"]
        t_s = block["ts"] - state["first_ts"]
        if "cost" in block:
            cost = parse_stat(block["cost"])
            ticks = cost.cpu_ticks + cost.children_cpu_ticks
            # Each reconnect starts a new loop whose ticks count from zero again.
            if ticks < state.get("loop_ticks", 0):
                state["done_ticks"] = state.get("done_ticks", 0) + state["loop_ticks"]
            state["loop_ticks"] = ticks
            self._remote_ticks = state.get("done_ticks", 0) + ticks
        if block.get("gone") or "stat" not in block:
            if self.unit is not None:
                return  # a unit between restarts: no main process this instant
            yield Event(
                t_s,
                "exited",
                {"pid": self.pid, "text": f"process {self.pid} exited at t = {t_s / 60:.1f} min"},
            )
            return
        stat = parse_stat(block["stat"])
        main_pid = int_or_none(block["unit"].get("MainPID")) if self.unit else self.pid
        if state["start_ticks"] is not None and stat.start_ticks != state["start_ticks"]:
            if self.unit is None:
                yield Event(
                    t_s,
                    "pid_reused",
                    {
                        "pid": self.pid,
                        "text": f"pid {self.pid} now belongs to another process: the watched one exited",
                    },
                )
                return
            yield Event(
                t_s,
                "restart",
                {
                    "new_pid": main_pid,
                    "old_pid": self.pid,
                    "restarts": int_or_none(block["unit"].get("NRestarts")),
                    "text": f"restart at t = {t_s / 60:.1f} min: pid {self.pid} -> {main_pid}",
                },
            )
            state["last"] = None
        state["start_ticks"] = stat.start_ticks
        self.pid = main_pid
        rss_bytes, swap_bytes = parse_status("\n".join(block["memory"]))
        cpu_percent = 0.0
        last = state["last"]
        if last is not None and t_s > last["t_s"]:
            cpu_percent = 100.0 * (stat.cpu_ticks - last["ticks"]) / CLOCK_TICKS_PER_S / (t_s - last["t_s"])
        state["last"] = {"t_s": t_s, "ticks": stat.cpu_ticks, "mono_s": time.monotonic()}
        if "gap_from_s" in state:
            from_s = state.pop("gap_from_s")
            text = f"gap of {t_s - from_s:.1f} s between samples: reconnected to {self.spec.alias}"
            if self._follower is not None:
                text += "; --events reopened, log lines written in the gap may be missing"
            yield Event(t_s, "gap", {"from_s": from_s, "to_s": t_s, "text": text})
        self._samples += 1
        self._sampler_cpu_s += time.thread_time() - began_cpu_s
        yield Sample(
            t_wall_s=t_s, t_sim_s=t_s, rss_bytes=rss_bytes, swap_bytes=swap_bytes, cpu_percent=cpu_percent
        )

    def follow(self, command: str, pattern: str) -> "LogFollower":
        """The user's log command on the remote host, on its own channel of the same connection;
        reopened after every reconnect (lines written during the gap may be missed)."""
        self._events_command = command
        self._follower = LogFollower(pattern, *self._open_events())
        return self._follower

    def _open_events(self) -> tuple[Iterator[str], Callable[[], None]]:
        assert self._events_command is not None
        channel = self.client.get_transport().open_session()
        channel.exec_command(events_command(self._events_command))
        return channel.makefile("r"), channel.close

    def _reopen_events(self) -> None:
        if self._follower is None:
            return
        # If the connection failed again, the next reconnect tries again.
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            self._follower.attach(*self._open_events())

    def cost(self) -> dict[str, Any]:
        return {
            "sampler_cpu_s": self._sampler_cpu_s,
            "remote_cpu_s": self._remote_ticks / CLOCK_TICKS_PER_S,
            "samples": self._samples,
        }

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self.client.close()
