"""`leakhunt soak`: run a scenario's model in a child process and sample it from outside.

Every sample is written as it is taken; Ctrl-C, SIGTERM, the memory limit or a dying target
all end the loop the same way: stop the child, record why, and render the report from the files.
"""

import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakhunt import __version__
from leakhunt.runs.own_cost import OwnCpu
from leakhunt.runs.stopper import Stopper
from leakhunt.sampling.child import ProcessGone, ProcessMeter, Target, TargetProcess
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir, WriteFailed
from leakhunt.units import format_bytes
from leakhunt.workload.scenario import Scenario

DEFAULT_INTERVAL_S = 5.0
TARGET_LOG = "target.log"  # the target's stderr, in its run directory
DEFAULT_PROBE_INTERVAL_S = 300.0
SEARCH_LIMIT = 2_000_000  # objects the holder search visits (sampling/walk.py, MAX_VISITED)
# A lone soak leaves a core idle while its model waits on a walk: two snapshot children may walk
# at once there. Runs side by side (compare) fill the cores already: one each.
PROBE_IN_FLIGHT = min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class SoakOptions:
    scenario: Scenario
    duration_s: float
    interval_s: float = DEFAULT_INTERVAL_S
    probe_interval_s: float | None = DEFAULT_PROBE_INTERVAL_S
    speed: float | None = None
    tracemalloc_frames: int = 0
    out: Path | None = None
    command_line: str = ""
    expect: tuple[str, ...] = field(default_factory=tuple)
    variant: str = ""
    malloc_trim: bool = False
    replicate: int | None = None
    allow_unproven: bool = False
    search_limit: int = SEARCH_LIMIT
    probe_in_flight: int = PROBE_IN_FLIGHT


@dataclass
class SoakResult:
    run_dir: RunDir
    exit_reason: str
    samples: int
    write_error: WriteFailed | None = None  # why a "write_failed" run stopped
    start_failure: str | None = None  # what a child that never became ready said


def _initial_meta(options: SoakOptions, label: str) -> dict[str, Any]:
    scenario = options.scenario
    return {
        "tool": "leakhunt",
        "version": __version__,
        "command": "soak",
        "label": label,
        "variant": options.variant,
        "replicate": options.replicate,
        "allow_unproven": options.allow_unproven,
        "command_line": options.command_line or " ".join(sys.argv),
        "scenario": scenario.to_dict(),
        "host": platform.node(),
        "python": platform.python_version(),
        "fixes": sorted(scenario.fixes),
        "seed": scenario.seed,
        "speed": "max" if options.speed is None else options.speed,
        "duration_s": options.duration_s,
        "interval_s": options.interval_s,
        "probe_interval_s": options.probe_interval_s,
        "search_limit": options.search_limit,
        "time_axis": "t_sim_s",
        "memory_limit_bytes": scenario.memory_limit_bytes,
        "expect": list(options.expect),
        "start_time": datetime.now(UTC).isoformat(),
        "exit_reason": "running",
        "events": [],
    }


def run_label(scenario: Scenario) -> str:
    return scenario.name if not scenario.fixes else f"{scenario.name}-{'+'.join(sorted(scenario.fixes))}"


def run_soak(
    options: SoakOptions,
    *,
    on_sample: Callable[[Sample], None] | None = None,
    run_dir: RunDir | None = None,
    start_target: Callable[[dict[str, Any], Path], Target] = TargetProcess,
    stopper: Stopper | None = None,
) -> SoakResult:
    """Run the scenario for `options.duration_s` simulated seconds; the run directory holds all.

    `start_target(config, log_path)` starts the child (compare's fork server: runs of one seed);
    a `stopper` stops it from another thread (compare's runs: runs/stopper.py)."""
    scenario = options.scenario
    label = run_label(scenario)
    run_dir = run_dir or RunDir.create("soak", label, options.out)
    run_dir.write_meta(_initial_meta(options, label))
    config = {
        "scenario": scenario.to_dict(),
        "duration_s": options.duration_s,
        "interval_s": options.interval_s,
        "probe_interval_s": options.probe_interval_s,
        "speed": options.speed,
        "tracemalloc_frames": options.tracemalloc_frames,
        "malloc_trim": options.malloc_trim,
        "search_limit": options.search_limit,
        "probe_in_flight": options.probe_in_flight,
    }
    wall_start_s = time.monotonic()
    own_cpu = OwnCpu()
    try:
        target = start_target(config, run_dir.file(TARGET_LOG))
    except KeyboardInterrupt:
        # Ctrl-C as the target starts: nothing sampled, but no run left saying it is running.
        run_dir.update_meta(exit_reason="interrupted", exit_detail={}, end_time=datetime.now(UTC).isoformat())
        raise
    if stopper is not None:
        stopper.add(target)
    meter: ProcessMeter | None = None
    exit_reason, detail = "target_exited", {}
    ready = False  # the child said it runs: until then, its ending is a failure to start
    samples = 0
    probe_s = 0.0
    last_rss_bytes = 0
    cleanup_rss_before = 0
    write_error: WriteFailed | None = None
    with run_dir.sample_writer() as writer:
        try:
            meter = ProcessMeter(target.pid)
            run_dir.update_meta(pid=target.pid)
            for message in target.messages():
                op = message["op"]
                t_sim_s = message.get("t_sim_s", 0.0)
                if op == "ready":
                    ready = True
                elif op == "sample":
                    rss_bytes, swap_bytes, cpu_percent = meter.read()
                    sample = Sample(
                        t_wall_s=time.monotonic() - wall_start_s,
                        t_sim_s=t_sim_s,
                        rss_bytes=rss_bytes,
                        swap_bytes=swap_bytes,
                        cpu_percent=cpu_percent,
                    )
                    writer.write(sample)
                    samples += 1
                    last_rss_bytes = rss_bytes
                    if on_sample is not None:
                        on_sample(sample)
                    limit = scenario.memory_limit_bytes
                    if limit is not None and rss_bytes >= limit:
                        exit_reason = "limit_hit"
                        run_dir.add_event(
                            {
                                "kind": "limit_hit",
                                "t_sim_s": t_sim_s,
                                "t_wall_s": sample.t_wall_s,
                                "text": f"limit hit at t = {t_sim_s / 60:.1f} min "
                                f"(RSS {format_bytes(rss_bytes)} >= {format_bytes(limit)})",
                            }
                        )
                        break
                    target.release()
                elif op == "cleanup_begin":
                    cleanup_rss_before = meter.read()[0]
                    target.release()
                elif op == "cleanup_end":
                    rss_after = meter.read()[0]
                    run_dir.add_event(
                        {
                            "kind": "cleanup",
                            "t_sim_s": t_sim_s,
                            "t_wall_s": time.monotonic() - wall_start_s,
                            "rss_before_bytes": cleanup_rss_before,
                            "rss_after_bytes": rss_after,
                            "freed_bytes": cleanup_rss_before - rss_after,
                            **{
                                k: message[k]
                                for k in (
                                    "duration_s",
                                    "ohlcv_trimmed",
                                    "oi_trimmed",
                                    "gc_collected",
                                    "malloc_trimmed",
                                )
                            },
                        }
                    )
                    target.release()
                elif op == "summary":
                    probe_s += message.get("probe_s", 0.0)
                    run_dir.append_summary({k: v for k, v in message.items() if k != "op"})
                elif op == "done":
                    exit_reason = "completed"
                    detail = {k: message[k] for k in ("fetches", "candles", "oi_entries", "feed_crc32")}
        except KeyboardInterrupt:
            exit_reason = "interrupted"
        except ProcessGone:
            pass  # it ended between its message and the read: as if its pipe had closed
        except WriteFailed as exc:
            # The target stops cleanly below; every row written so far stays in samples.csv.
            exit_reason, write_error = "write_failed", exc
            detail = {"text": exc.message, "path": str(exc.path)}
        finally:
            if stopper is not None:
                stopper.discard(target)
                if stopper.stopped and exit_reason == "target_exited":
                    exit_reason = "interrupted"
            returncode = target.stop()
            wall_s = time.monotonic() - wall_start_s
            own_cost = own_cpu.cost(wall_s, samples)
            if exit_reason == "target_exited" and not ready:
                detail = {
                    "returncode": returncode,
                    "started": False,
                    "text": target.start_failure(returncode),
                }
            elif exit_reason == "target_exited":
                detail = {
                    "returncode": returncode,
                    "last_rss_bytes": last_rss_bytes,
                    "text": f"the target exited with code {returncode} "
                    f"(last RSS {format_bytes(last_rss_bytes)}); see target.log",
                }
            run_dir.update_meta(
                exit_reason=exit_reason,
                exit_detail=detail,
                wall_s=wall_s,
                end_time=datetime.now(UTC).isoformat(),
                cost={
                    "sampler_cpu_s": meter.cost_cpu_s if meter else 0.0,
                    "sampler_reads": meter.reads if meter else 0,
                    "sampler_cpu_s_per_read": (meter.cost_cpu_s / meter.reads)
                    if meter and meter.reads
                    else None,
                    "sampler_cpu_fraction": (meter.cost_cpu_s / wall_s) if meter and wall_s else None,
                    # What the same sampling costs a real-time run: CPU per read / interval.
                    "realtime_core_fraction": (meter.cost_cpu_s / meter.reads / options.interval_s)
                    if meter and meter.reads
                    else None,
                    "probe_s": probe_s,
                    "probe_fraction": probe_s / wall_s if wall_s else None,
                    "bytes_per_sample": writer.bytes_written / writer.rows_written
                    if writer.rows_written
                    else None,
                    **own_cost,
                },
            )
        run_dir.release_reserve()  # meta.json has its last word; the report may use the space
    return SoakResult(
        run_dir=run_dir,
        exit_reason=exit_reason,
        samples=samples,
        write_error=write_error,
        start_failure=detail["text"] if detail.get("started") is False else None,
    )
