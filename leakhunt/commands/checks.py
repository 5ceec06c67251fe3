"""Option checks shared by several commands; light imports only, so bad input is refused fast."""

from pathlib import Path

from leakhunt.errors import UsageError
from leakhunt.expect import check_expectations
from leakhunt.runs.cadence import resolve as resolve_cadence
from leakhunt.runs.soak import SoakOptions
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
    malloc_trim: bool = False,
    expect: list[str],
    out: Path | None,
    allow_unproven: bool = False,
) -> SoakOptions:
    if not minutes > 0:
        raise UsageError(f"--minutes must be positive, got {minutes:g}")
    interval_s = parse_duration_s(interval, "--interval")
    if interval_s <= 0:
        raise UsageError(f"--interval must be positive, got {interval}")
    if interval_s > minutes * 60:
        raise UsageError(f"--interval {interval} is longer than the run ({minutes:g} min): shorten it")
    probe_s = resolve_cadence(probe_interval, minutes * 60.0).interval_s
    if tracemalloc_frames < 0:
        raise UsageError("--tracemalloc takes a frame count >= 0")
    check_expectations(expect)
    return SoakOptions(
        scenario=scenario,
        duration_s=minutes * 60.0,
        interval_s=interval_s,
        probe_interval_s=probe_s,
        speed=parse_speed(speed),
        tracemalloc_frames=tracemalloc_frames,
        malloc_trim=malloc_trim,
        out=out,
        expect=tuple(expect),
        allow_unproven=allow_unproven,
    )
