"""`leakhunt watch`: sample a live process (local or over SSH) into a run directory.

The run directory is the same contract as a soak's, with `time_axis = t_wall_s`: the report,
`--expect` gate and `leakhunt compare` all work on it unchanged.
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
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Event, Source
from leakhunt.sampling.store import RunDir


@dataclass(frozen=True)
class WatchOptions:
    label: str
    duration_s: float | None
    interval_s: float = 5.0
    out: Path | None = None
    expect: tuple[str, ...] = field(default_factory=tuple)
    target: dict[str, Any] = field(default_factory=dict)


@dataclass
class WatchResult:
    run_dir: RunDir
    exit_reason: str
    samples: int


def _event_record(event: Event, t0_s: float) -> dict[str, Any]:
    record = {"kind": event.kind, "t_wall_s": event.t_wall_s, "t_sim_s": event.t_wall_s, **event.detail}
    record.setdefault("text", f"{event.kind} at t = {event.t_wall_s / 60:.1f} min")
    return record


def run_watch(
    options: WatchOptions,
    source: Source,
    *,
    stop: threading.Event | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    run_dir: RunDir | None = None,
) -> WatchResult:
    """Sample `source` until the duration passes, the process ends, or the user interrupts."""
    stop = stop or threading.Event()
    run_dir = run_dir or RunDir.create("watch", options.label, options.out)
    run_dir.write_meta(
        {
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
            "time_axis": "t_wall_s",
            "memory_limit_bytes": options.target.get("memory_limit_bytes"),
            "expect": list(options.expect),
            "start_time": datetime.now(UTC).isoformat(),
            "exit_reason": "running",
            "events": [],
        }
    )
    timer = None
    if options.duration_s is not None:
        timer = threading.Timer(options.duration_s, stop.set)
        timer.daemon = True
        timer.start()
    exit_reason, samples, started_s = "completed", 0, time.monotonic()
    last_restart_s = 0.0
    try:
        with run_dir.sample_writer() as writer:
            for item in source.stream(options.interval_s, stop):
                if isinstance(item, Sample):
                    writer.write(item)
                    samples += 1
                    if on_sample is not None:
                        on_sample(item)
                    continue
                run_dir.add_event(_event_record(item, 0.0))
                if item.kind == "restart":
                    last_restart_s = item.t_wall_s
                if item.kind in ("exited", "pid_reused"):
                    exit_reason = "target_exited"
                elif item.kind == "connection_failed":
                    exit_reason = "connection_lost"
    except KeyboardInterrupt:
        exit_reason = "interrupted"
    finally:
        if timer is not None:
            timer.cancel()
        wall_s = time.monotonic() - started_s
        cost = source.cost()
        sampler_cpu_s = cost.get("sampler_cpu_s") or 0.0
        n = cost.get("samples") or samples
        run_dir.update_meta(
            exit_reason=exit_reason,
            wall_s=wall_s,
            end_time=datetime.now(UTC).isoformat(),
            uptime_s=wall_s - last_restart_s,
            cost={
                "sampler_cpu_s": sampler_cpu_s,
                "sampler_reads": n,
                "sampler_cpu_s_per_read": sampler_cpu_s / n if n else None,
                "sampler_cpu_fraction": sampler_cpu_s / wall_s if wall_s else None,
                "sampler_cpu_s_per_sampled_min": sampler_cpu_s / (wall_s / 60) if wall_s else None,
                "remote_cpu_s": cost.get("remote_cpu_s"),
                "remote_cpu_s_per_sample": (cost["remote_cpu_s"] / n)
                if cost.get("remote_cpu_s") and n
                else None,
                "probe_s": 0.0,
                "probe_fraction": 0.0,
            },
        )
        source.close()
    return WatchResult(run_dir=run_dir, exit_reason=exit_reason, samples=samples)
