"""What each CLI command does, as plain functions tests can call without the CLI.

Each takes the user's raw option values, validates them (UsageError on bad input), runs the
library, renders the report and returns the summary.
"""

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leakhunt.analysis.criteria import parse_expect
from leakhunt.errors import UsageError
from leakhunt.report.console import LiveLine, print_run_summary
from leakhunt.runs.finish import finish_run, open_run
from leakhunt.runs.soak import SoakOptions, run_soak
from leakhunt.sampling.sample import Sample
from leakhunt.units import parse_duration_s, parse_size_bytes
from leakhunt.workload.clock import parse_speed
from leakhunt.workload.scenario import Scenario, load_scenario, parse_fixes


def build_scenario(
    name: str,
    *,
    fixes: str | None = None,
    scale: float | None = None,
    seed: int | None = None,
    memory_limit: str | None = None,
) -> Scenario:
    scenario = load_scenario(name)
    if scale is not None and scale <= 0:
        raise UsageError(f"--scale must be positive, got {scale}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    return scenario.with_overrides(
        fixes=parse_fixes(fixes) if fixes is not None else None,
        scale=scale,
        seed=seed,
        memory_limit_bytes=parse_size_bytes(memory_limit, "--memory-limit") if memory_limit else None,
    )


def soak_options(
    *,
    minutes: float,
    scenario: Scenario,
    speed: str,
    interval: str,
    probe_interval: str,
    tracemalloc_frames: int = 0,
    expect: list[str],
    out: Path | None,
) -> SoakOptions:
    if not minutes > 0:
        raise UsageError(f"--minutes must be positive, got {minutes:g}")
    interval_s = parse_duration_s(interval, "--interval")
    if interval_s <= 0:
        raise UsageError(f"--interval must be positive, got {interval}")
    if interval_s > minutes * 60:
        raise UsageError(f"--interval {interval} is longer than the run ({minutes:g} min): shorten it")
    probe_s = parse_duration_s(probe_interval, "--probe-interval")
    if tracemalloc_frames < 0:
        raise UsageError("--tracemalloc takes a frame count >= 0")
    for text in expect:
        parse_expect(text)  # a malformed criterion is a usage error before anything runs
    return SoakOptions(
        scenario=scenario,
        duration_s=minutes * 60.0,
        interval_s=interval_s,
        probe_interval_s=probe_s or None,
        speed=parse_speed(speed),
        tracemalloc_frames=tracemalloc_frames,
        out=out,
        expect=tuple(expect),
    )


def soak_command(
    *,
    minutes: float,
    scenario: str,
    fixes: str | None,
    speed: str,
    interval: str,
    probe_interval: str,
    tracemalloc_frames: int,
    scale: float | None,
    seed: int | None,
    memory_limit: str | None,
    expect: list[str],
    out: Path | None,
    console: Console,
) -> dict[str, Any]:
    resolved = build_scenario(scenario, fixes=fixes, scale=scale, seed=seed, memory_limit=memory_limit)
    options = soak_options(
        minutes=minutes,
        scenario=resolved,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        tracemalloc_frames=tracemalloc_frames,
        expect=expect,
        out=out,
    )
    live = LiveLine(options.duration_s)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task(f"soak {resolved.name}", total=options.duration_s)

        def on_sample(sample: Sample) -> None:
            progress.update(task, completed=sample.t_sim_s, description=live.update(sample))

        result = run_soak(options, on_sample=on_sample)
    summary = finish_run(result.run_dir)
    print_run_summary(console, summary, str(result.run_dir.path))
    return summary


def report_command(path: Path, *, console: Console) -> dict[str, Any]:
    run_dir = open_run(path)
    summary = finish_run(run_dir)
    print_run_summary(console, summary, str(run_dir.path))
    return summary
