"""Option checks shared by several commands; light imports only, so bad input is refused fast."""

import math
from pathlib import Path
from typing import TYPE_CHECKING

from leakhunt.errors import UsageError
from leakhunt.expect import check_expectations
from leakhunt.runs.cadence import resolve as resolve_cadence
from leakhunt.units import parse_duration_s, parse_size_bytes
from leakhunt.workload.clock import parse_speed

if TYPE_CHECKING:
    from leakhunt.runs.soak import SoakOptions
    from leakhunt.workload.scenario import Scenario

MAX_TRACEMALLOC_FRAMES = 65535  # tracemalloc.start() refuses more


def build_scenario(
    name: str,
    *,
    fixes: str | None = None,
    scale: float | None = None,
    seed: int | None = None,
    memory_limit: str | None = None,
) -> "Scenario":
    # Loaded here, not at import: watch uses this module's checks and no scenario.
    from leakhunt.workload.scenario import load_scenario, parse_fixes

    scenario = load_scenario(name)
    if scale is not None and not (scale > 0 and math.isfinite(scale)):
        raise UsageError(f"--scale must be positive and finite, such as 0.05; got {scale}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed must be >= 0, got {seed}")
    return scenario.with_overrides(
        fixes=parse_fixes(fixes) if fixes is not None else None,
        scale=scale,
        seed=seed,
        memory_limit_bytes=memory_limit_bytes(memory_limit),
    )


def memory_limit_bytes(text: str | None) -> int | None:
    """`--memory-limit`: a size above zero, or None when not given."""
    if text is None:
        return None
    limit_bytes = parse_size_bytes(text, "--memory-limit")
    if limit_bytes <= 0:
        raise UsageError(f"--memory-limit must be above zero, got {text!r}: give a size such as 6GB")
    return limit_bytes


def soak_options(
    *,
    minutes: float,
    scenario: str,
    fixes: str | None = None,
    scale: float | None = None,
    seed: int | None = None,
    memory_limit: str | None = None,
    speed: str,
    interval: str,
    probe_interval: str,
    tracemalloc_frames: int = 0,
    malloc_trim: bool = False,
    expect: list[str],
    out: Path | None,
    allow_unproven: bool = False,
    search_limit: int | None = None,
) -> "SoakOptions":
    """The run's own options first, then the scenario (`build_scenario`): a typo in --expect is
    refused before any scenario file is read."""
    if not (minutes > 0 and math.isfinite(minutes)):
        raise UsageError(f"--minutes must be positive and finite, got {minutes:g}")
    interval_s = parse_duration_s(interval, "--interval")
    if interval_s <= 0:
        raise UsageError(f"--interval must be positive, got {interval}")
    if interval_s > minutes * 60:
        raise UsageError(f"--interval {interval} is longer than the run ({minutes:g} min): shorten it")
    probe_s = resolve_cadence(probe_interval, minutes * 60.0).interval_s
    if not 0 <= tracemalloc_frames <= MAX_TRACEMALLOC_FRAMES:
        raise UsageError(f"--tracemalloc takes a frame count from 0 to {MAX_TRACEMALLOC_FRAMES}")
    check_expectations(expect)
    check_search_limit(search_limit)
    simulated_speed = parse_speed(speed)
    resolved = build_scenario(scenario, fixes=fixes, scale=scale, seed=seed, memory_limit=memory_limit)
    # The runner (psutil, the child's plumbing) loads once the input is known to be good.
    from leakhunt.runs.soak import SoakOptions

    return SoakOptions(
        scenario=resolved,
        duration_s=minutes * 60.0,
        interval_s=interval_s,
        probe_interval_s=probe_s,
        speed=simulated_speed,
        tracemalloc_frames=tracemalloc_frames,
        malloc_trim=malloc_trim,
        out=out,
        expect=tuple(expect),
        allow_unproven=allow_unproven,
        **({"search_limit": search_limit} if search_limit is not None else {}),
    )


MIN_SEARCH_LIMIT = 1_000


def check_search_limit(search_limit: int | None) -> None:
    if search_limit is not None and search_limit < MIN_SEARCH_LIMIT:
        raise UsageError(f"--search-limit takes {MIN_SEARCH_LIMIT:,} objects or more, got {search_limit:,}")
