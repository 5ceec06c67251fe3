"""`leakhunt compare`: the same seeded feed with the fixes off and on, or saved runs side by side."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakhunt.commands.checks import soak_options
from leakhunt.errors import RunError, UsageError
from leakhunt.expect import check_expectations

if TYPE_CHECKING:
    from rich.console import Console


def compare_command(
    *,
    runs: list[Path],
    baseline: bool,
    ablation: bool,
    scenario: str,
    minutes: float,
    scale: float | None,
    jobs: int | None,
    speed: str,
    interval: str,
    probe_interval: str,
    seed: int | None,
    expect: list[str],
    out: Path | None,
    results: "Console",
    progress: "Console",
    repeat: int = 1,
    allow_unproven: bool = False,
) -> dict[str, Any]:
    if baseline and runs:
        raise UsageError("give either --baseline or saved run directories, not both")
    if ablation and not baseline:
        raise UsageError("--ablation goes with --baseline")
    if not baseline and not runs:
        raise UsageError("nothing to compare: use --baseline, or give two or more run directories")
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {repeat}")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if not baseline:
        check_expectations(expect)
        return _compare_saved(runs, expect, out, allow_unproven, results, progress)
    options = soak_options(
        minutes=minutes,
        scenario=scenario,
        scale=scale,
        seed=seed,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        expect=expect,
        out=None,
        allow_unproven=allow_unproven,
    )
    from leakhunt.commands.progress import CompareProgress, working
    from leakhunt.report.console import print_comparison
    from leakhunt.runs.compare import default_jobs, render_comparison, run_baseline_comparison, variants
    from leakhunt.runs.warm import warming
    from leakhunt.sampling.store import RunDir

    resolved = options.scenario
    comparison_dir = RunDir.create("compare", resolved.name, out)
    labels = [variant.label for variant in variants(ablation)]
    jobs = jobs or default_jobs()
    progress.print(
        f"compare {resolved.name}: {len(labels)} variants x {repeat} runs of {minutes:g} simulated min, "
        f"{jobs} at a time",
        highlight=False,
        markup=False,
    )
    with warming(), CompareProgress(progress, labels, repeat, options.duration_s) as shown:
        done = run_baseline_comparison(
            options,
            ablation=ablation,
            jobs=jobs,
            comparison_dir=comparison_dir,
            repeat=repeat,
            on_sample=shown.on_sample,
            on_done=shown.on_done,
        )
    failed = next((result.start_failure for result in done if result.start_failure), None)
    if failed is not None:
        raise RunError(failed)  # every run starts the same child: the first one's error says it
    interrupted = any(result.exit_reason == "interrupted" for result in done)
    if len(done) < len(labels) * repeat:
        progress.print(
            f"compare: {len(labels) * repeat - len(done)} of {len(labels) * repeat} runs never sampled "
            "(stopped before they started): the comparison holds the others",
            highlight=False,
            markup=False,
        )
    with working(progress, "writing the report", announce=interrupted):
        comparison = render_comparison(comparison_dir, [result.run_dir for result in done])
    print_comparison(results, comparison)
    return comparison


def _compare_saved(
    runs: list[Path],
    expect: list[str],
    out: Path | None,
    allow_unproven: bool,
    results: "Console",
    progress: "Console",
) -> dict[str, Any]:
    from leakhunt.commands.progress import working
    from leakhunt.report.console import print_comparison
    from leakhunt.runs.compare import collect_runs, render_comparison
    from leakhunt.sampling.store import RunDir

    run_dirs = collect_runs(runs)
    comparison_dir = RunDir.create("compare", "saved", out)
    # Saved runs are judged under these settings here, never rewritten.
    overrides = {"allow_unproven": allow_unproven, **({"expect": list(expect)} if expect else {})}
    with working(progress, f"comparing {len(run_dirs)} saved runs", announce=False):
        comparison = render_comparison(comparison_dir, run_dirs, finish_runs=False, meta_overrides=overrides)
    print_comparison(results, comparison)
    return comparison
