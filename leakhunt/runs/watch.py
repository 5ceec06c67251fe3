"""`leakhunt watch`: sample a live process (local or over SSH) into a run directory.

The run directory is the same contract as a soak's, with `time_axis = t_wall_s`: the report, the
`--expect` gate and `leakhunt compare` all work on it unchanged. With an agent socket, heap
summaries are asked for at the probe cadence (runs/cadence.py), so the report can say what grows.
A summary is asked for in a thread of its own, so sampling never waits for a snapshot child, and
it is placed on the run's time axis at the moment its objects were counted (the agent's fork,
`counted_unix_s`), not when it was asked for or arrived.
"""

import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakhunt import __version__
from leakhunt.errors import LeakhuntError
from leakhunt.runs.cadence import Cadence
from leakhunt.runs.own_cost import OwnCpu
from leakhunt.sampling.logs import LogFollower
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event, Source
from leakhunt.sampling.store import RunDir, WriteFailed

ENDING_EVENTS = {
    "exited": "target_exited",
    "pid_reused": "target_exited",
    "connection_failed": "connection_lost",
}


@dataclass(frozen=True)
class WatchOptions:
    label: str
    duration_s: float | None
    interval_s: float = 5.0
    out: Path | None = None
    expect: tuple[str, ...] = field(default_factory=tuple)
    target: dict[str, Any] = field(default_factory=dict)
    probe_interval_s: float | None = None
    ask_summary: Callable[[], dict[str, Any]] | None = None
    probe_cadence: Cadence | None = None  # default: every probe_interval_s
    probe_deadline_s: float = 60.0  # the longest the end of the watch waits for a probe in flight
    log_follower: LogFollower | None = None
    allow_unproven: bool = False


@dataclass
class WatchResult:
    run_dir: RunDir
    exit_reason: str
    samples: int
    write_error: WriteFailed | None = None  # why a "write_failed" run stopped


def _event_record(event: Event) -> dict[str, Any]:
    record = {"kind": event.kind, "t_wall_s": event.t_wall_s, "t_sim_s": event.t_wall_s, **event.detail}
    record.setdefault("text", f"{event.kind} at t = {event.t_wall_s / 60:.1f} min")
    return record


def _initial_meta(options: WatchOptions, source: Source) -> dict[str, Any]:
    return {
        "tool": "leakhunt",
        "version": __version__,
        "command": "watch",
        "label": options.label,
        "command_line": " ".join(sys.argv),
        "target": options.target,
        "source": source.description,
        "host": platform.node(),
        "interval_s": options.interval_s,
        "duration_s": options.duration_s,
        "probe_interval_s": options.probe_interval_s,
        "probe_cadence": _cadence(options).text,
        "probe_deadline_s": options.probe_deadline_s if options.ask_summary is not None else None,
        "agent": options.ask_summary is not None,
        "time_axis": "t_wall_s",
        "memory_limit_bytes": options.target.get("memory_limit_bytes"),
        "expect": list(options.expect),
        "allow_unproven": options.allow_unproven,
        "start_time": datetime.now(UTC).isoformat(),
        "exit_reason": "running",
        "events": [],
    }


def run_watch(
    options: WatchOptions,
    source: Source,
    *,
    run_dir: RunDir,
    stop: threading.Event | None = None,
    on_sample: Callable[[Sample], None] | None = None,
) -> WatchResult:
    """Sample `source` until the duration is covered, the process ends, or the user interrupts."""
    stop = stop or threading.Event()
    run_dir.write_meta(_initial_meta(options, source))
    exit_reason, samples, started_s = "completed", 0, time.monotonic()
    own_cpu = OwnCpu()
    last_restart_s, next_probe_s, last_t_s = 0.0, 0.0, None
    cadence = _cadence(options)
    prober = _Prober(options.ask_summary, run_dir) if options.ask_summary is not None else None
    write_error: WriteFailed | None = None
    try:
        with run_dir.sample_writer() as writer:
            for item in source.stream(options.interval_s, stop):
                if isinstance(item, Event):
                    run_dir.add_event(_event_record(item))
                    if item.kind == "restart":
                        last_restart_s = item.t_wall_s
                    exit_reason = ENDING_EVENTS.get(item.kind, exit_reason)
                    continue
                writer.write(item)
                samples, last_t_s = samples + 1, item.t_wall_s
                if options.log_follower is not None:
                    for event in options.log_follower.drain():
                        run_dir.add_event(_event_record(event))
                if on_sample is not None:
                    on_sample(item)
                if prober is not None:
                    prober.drain()
                    if item.t_wall_s >= next_probe_s and cadence.interval_s is not None:
                        prober.ask(time.time() - item.t_wall_s, item.t_wall_s)
                        # On a grid of due times: a sample a microsecond early must not skip one.
                        while next_probe_s <= item.t_wall_s:
                            next_probe_s = cadence.next_after(next_probe_s, prober.asked)
                if options.duration_s is not None and item.t_wall_s >= options.duration_s - 1e-9:
                    break
    except KeyboardInterrupt:
        exit_reason = "interrupted"
    except WriteFailed as exc:
        exit_reason, write_error = "write_failed", exc
    finally:
        stop.set()
        own_cost = own_cpu.cost(time.monotonic() - started_s, samples)
        probe_s = prober.close(options.probe_deadline_s) if prober is not None else 0.0
        wall_s = time.monotonic() - started_s
        source_cost = source.cost()
        if source_cost.get("replayed_samples") is not None:
            # Nothing was sampled: what the replay loop cost is not a cost of measuring a service.
            cost: dict[str, Any] = {"replayed_samples": source_cost["replayed_samples"]}
        else:
            cost = _cost(source_cost, samples, wall_s, options.interval_s, probe_s)
            cost.update(own_cost)
        run_dir.update_meta(
            exit_reason=exit_reason,
            wall_s=wall_s,
            end_time=datetime.now(UTC).isoformat(),
            uptime_s=last_t_s - last_restart_s if last_t_s is not None else 0.0,
            **({"exit_detail": {"text": write_error.message}} if write_error else {}),
            cost=cost,
            **({"probe_counts": prober.counts()} if prober is not None else {}),
        )
        if options.log_follower is not None:
            # Lines of the last interval: no sample follows them to drain them.
            options.log_follower.close()
            for event in options.log_follower.drain():
                run_dir.add_event(_event_record(event))
        source.close()
        run_dir.release_reserve()  # meta.json has its last word; the report may use the space
    return WatchResult(run_dir=run_dir, exit_reason=exit_reason, samples=samples, write_error=write_error)


def _cadence(options: WatchOptions) -> Cadence:
    return options.probe_cadence or Cadence(options.probe_interval_s)


class _Prober:
    """Asks the agent for summaries in a thread, so sampling never waits for a snapshot."""

    def __init__(self, ask: Callable[[], dict[str, Any]], run_dir: RunDir) -> None:
        self.ask_summary, self.run_dir = ask, run_dir
        self.asked = 0
        self.late = 0  # came due while the previous summary was still being counted
        self.answered = 0
        self.failed = 0
        self.pause_s = 0.0
        self._thread: threading.Thread | None = None
        self._results: list[tuple[float, float, dict[str, Any] | str]] = []
        self._lock = threading.Lock()

    def ask(self, anchor_unix_s: float, t_s: float) -> None:
        """One summary, unless the previous one is still being counted (then this probe is late)."""
        if self._thread is not None and self._thread.is_alive():
            self.late += 1
            return
        self.asked += 1
        self._thread = threading.Thread(target=self._ask, args=(anchor_unix_s, t_s), daemon=True)
        self._thread.start()

    def _ask(self, anchor_unix_s: float, t_s: float) -> None:
        try:
            result: dict[str, Any] | str = self.ask_summary()
        except LeakhuntError as exc:
            result = exc.message
        with self._lock:
            self._results.append((anchor_unix_s, t_s, result))

    def drain(self) -> None:
        """Write the summaries that came back, each at the moment its objects were counted."""
        with self._lock:
            results, self._results = self._results, []
        for anchor_unix_s, t_s, result in results:
            if isinstance(result, str):
                self.failed += 1
                event = {"kind": "probe_failed", "t_wall_s": t_s, "t_sim_s": t_s, "text": result}
                self.run_dir.add_event(event)
                continue
            self.answered += 1
            counted_s = result.get("counted_unix_s")
            t_counted_s = counted_s - anchor_unix_s if counted_s is not None else t_s
            result.update(t_sim_s=t_counted_s, t_wall_s=t_counted_s, asked_at_s=t_s)
            self.run_dir.append_summary(result)
            self.pause_s += float(result.get("probe_s", 0.0))

    def close(self, timeout_s: float = 60.0) -> float:
        """Wait for a summary in flight, write what came back; the service's total pause."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.drain()
        return self.pause_s

    def counts(self) -> dict[str, int]:
        """What became of the probes: the report says why a holder is missing."""
        return {"asked": self.asked, "answered": self.answered, "failed": self.failed, "late": self.late}


def _cost(
    cost: dict[str, Any], samples: int, wall_s: float, interval_s: float, probe_s: float
) -> dict[str, Any]:
    sampler_cpu_s = cost.get("sampler_cpu_s") or 0.0
    n = cost.get("samples") or samples
    remote_cpu_s = cost.get("remote_cpu_s")
    return {
        "sampler_cpu_s": sampler_cpu_s,
        "sampler_reads": n,
        "sampler_cpu_s_per_read": sampler_cpu_s / n if n else None,
        "sampler_cpu_fraction": sampler_cpu_s / wall_s if wall_s else None,
        "realtime_core_fraction": sampler_cpu_s / n / interval_s if n else None,
        "sampler_cpu_s_per_sampled_min": sampler_cpu_s / (wall_s / 60) if wall_s else None,
        "remote_cpu_s": remote_cpu_s,
        "remote_cpu_s_per_sample": remote_cpu_s / n if remote_cpu_s is not None and n else None,
        "probe_s": probe_s,
        "probe_fraction": probe_s / wall_s if wall_s else 0.0,
        "missed_samples": cost.get("missed_samples", 0),
    }
