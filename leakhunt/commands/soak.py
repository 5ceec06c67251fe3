"""`leakhunt soak`: run a scenario in a child process and sample it from outside."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakhunt.commands.checks import soak_options

if TYPE_CHECKING:
    from rich.console import Console


def soak_command(
    *,
    minutes: float,
    scenario: str,
    fixes: str | None,
    speed: str,
    interval: str,
    probe_interval: str,
    tracemalloc_frames: int,
    malloc_trim: bool,
    scale: float | None,
    seed: int | None,
    memory_limit: str | None,
    expect: list[str],
    out: Path | None,
    results: "Console",
    progress: "Console",
    allow_unproven: bool = False,
    search_limit: int | None = None,
) -> dict[str, Any]:
    options = soak_options(
        minutes=minutes,
        scenario=scenario,
        fixes=fixes,
        scale=scale,
        seed=seed,
        memory_limit=memory_limit,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        tracemalloc_frames=tracemalloc_frames,
        malloc_trim=malloc_trim,
        expect=expect,
        out=out,
        allow_unproven=allow_unproven,
        search_limit=search_limit,
    )
    resolved = options.scenario
    # Heavy imports (pandas, scipy, matplotlib) only once the input is known to be good.
    from leakhunt.runs.signals import sigterm_as_ctrl_c
    from leakhunt.runs.soak import run_label, run_soak
    from leakhunt.sampling.store import RunDir

    run_dir = RunDir.create("soak", run_label(resolved), out)
    from leakhunt.commands.progress import live_progress, working
    from leakhunt.errors import RunError
    from leakhunt.report.console import LiveLine, print_run_summary
    from leakhunt.runs.warm import warming

    live = LiveLine(options.duration_s)
    progress.print(
        f"soak {resolved.name}: {minutes:g} simulated min, fixes "
        f"{', '.join(sorted(resolved.fixes)) or 'off'}",
        highlight=False,
        markup=False,
    )
    # The report's heavy imports (pandas, scipy, matplotlib) while the child runs.
    with warming(), live_progress(progress, live, options.duration_s) as on_sample, sigterm_as_ctrl_c():
        result = run_soak(options, on_sample=on_sample, run_dir=run_dir)
    if result.start_failure is not None:
        raise RunError(result.start_failure)  # before the report's imports: nothing to report
    if result.write_error is not None:
        raise result.write_error  # no report on a full disk: it could only be half written
    from leakhunt.runs.finish import finish_run

    # Said at once after Ctrl-C (the user is waiting to know); otherwise only if it takes 10 s.
    with working(progress, "writing the report", announce=result.exit_reason == "interrupted"):
        summary = finish_run(result.run_dir)
    print_run_summary(results, summary, str(result.run_dir.path))
    return summary
