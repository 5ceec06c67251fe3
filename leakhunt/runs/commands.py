"""What each CLI command does, as plain functions tests can call without the CLI.

Each takes the user's raw option values, validates them (UsageError on bad input), runs the
library, renders the report and returns the summary.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leakhunt.agent import check_socket_is_private, default_socket_path, request_summary
from leakhunt.analysis.criteria import parse_expect
from leakhunt.errors import RunError, UsageError
from leakhunt.report.console import LiveLine, WatchView, print_comparison, print_run_summary
from leakhunt.runs.cadence import resolve as resolve_cadence
from leakhunt.runs.compare import (
    COMPARISON,
    collect_runs,
    comparison_runs,
    default_jobs,
    is_comparison,
    render_comparison,
    run_baseline_comparison,
    variants,
)
from leakhunt.runs.finish import finish_run, open_run
from leakhunt.runs.soak import SoakOptions, interrupts_stop_runs, run_label, run_soak
from leakhunt.runs.watch import WatchOptions, run_watch
from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.logs import follow_local
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.source import Source
from leakhunt.sampling.store import RunDir
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
    for text in expect:
        parse_expect(text)  # a malformed criterion is a usage error before anything runs
    return SoakOptions(
        scenario=scenario,
        duration_s=minutes * 60.0,
        interval_s=interval_s,
        probe_interval_s=probe_s or None,
        speed=parse_speed(speed),
        tracemalloc_frames=tracemalloc_frames,
        malloc_trim=malloc_trim,
        out=out,
        expect=tuple(expect),
        allow_unproven=allow_unproven,
    )


@contextmanager
def live_progress(console: Console, live: LiveLine, duration_s: float) -> Iterator[Callable[[Sample], None]]:
    """A progress bar on a terminal; elsewhere (cron, CI, a pipe) a plain line per tenth of the run."""
    if console.is_terminal:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=duration_s)

            def on_sample(sample: Sample) -> None:
                progress.update(task, completed=sample.t_sim_s, description=live.update(sample))

            yield on_sample
        return
    step_s = max(duration_s / 10.0, 1e-9)
    next_s = [0.0]

    def on_line(sample: Sample) -> None:
        text = live.update(sample)
        if sample.t_sim_s >= next_s[0]:
            console.print(text, highlight=False)
            next_s[0] = (sample.t_sim_s // step_s + 1) * step_s

    yield on_line


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
    console: Console,
    allow_unproven: bool = False,
) -> dict[str, Any]:
    resolved = build_scenario(scenario, fixes=fixes, scale=scale, seed=seed, memory_limit=memory_limit)
    options = soak_options(
        minutes=minutes,
        scenario=resolved,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        tracemalloc_frames=tracemalloc_frames,
        malloc_trim=malloc_trim,
        expect=expect,
        out=out,
        allow_unproven=allow_unproven,
    )
    run_dir = RunDir.create("soak", run_label(resolved), out)
    live = LiveLine(options.duration_s)
    console.print(
        f"soak {resolved.name}: {minutes:g} simulated min, fixes "
        f"{', '.join(sorted(resolved.fixes)) or 'off'}",
        highlight=False,
    )
    with live_progress(console, live, options.duration_s) as on_sample, interrupts_stop_runs():
        result = run_soak(options, on_sample=on_sample, run_dir=run_dir)
    summary = finish_run(result.run_dir)
    print_run_summary(console, summary, str(result.run_dir.path))
    return summary


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
    console: Console,
    repeat: int = 1,
    allow_unproven: bool = False,
) -> dict[str, Any]:
    if baseline and runs:
        raise UsageError("give either --baseline or saved run directories, not both")
    if not baseline and not runs:
        raise UsageError("nothing to compare: use --baseline, or give two or more run directories")
    if ablation and not baseline:
        raise UsageError("--ablation goes with --baseline")
    if baseline:
        resolved = build_scenario(scenario, scale=scale, seed=seed)
        options = soak_options(
            minutes=minutes,
            scenario=resolved,
            speed=speed,
            interval=interval,
            probe_interval=probe_interval,
            expect=expect,
            out=None,
            allow_unproven=allow_unproven,
        )
        if repeat < 1:
            raise UsageError(f"--repeat must be at least 1, got {repeat}")
        comparison_dir = RunDir.create("compare", resolved.name, out)
        n_runs = len(variants(ablation)) * repeat
        with console.status(f"running {n_runs} runs of {resolved.name} ({minutes:g} simulated min)"):
            results = run_baseline_comparison(
                options,
                ablation=ablation,
                jobs=jobs or default_jobs(),
                comparison_dir=comparison_dir,
                repeat=repeat,
            )
        comparison = render_comparison(comparison_dir, [result.run_dir for result in results])
    else:
        for text in expect:
            parse_expect(text)
        run_dirs = collect_runs(runs)
        comparison_dir = RunDir.create("compare", "saved", out)
        # Saved runs are judged under these settings here, never rewritten.
        overrides = {"allow_unproven": allow_unproven, **({"expect": list(expect)} if expect else {})}
        comparison = render_comparison(comparison_dir, run_dirs, finish_runs=False, meta_overrides=overrides)
    print_comparison(console, comparison)
    return comparison


def report_command(path: Path, *, console: Console) -> dict[str, Any]:
    if is_comparison(path):
        saved = json.loads((Path(path) / COMPARISON).read_text())
        comparison = render_comparison(
            RunDir(path),
            comparison_runs(path),
            finish_runs=False,
            meta_overrides=saved.get("meta_overrides"),
        )
        print_comparison(console, comparison)
        return comparison
    run_dir = open_run(path)
    summary = finish_run(run_dir)
    print_run_summary(console, summary, str(run_dir.path))
    return summary


def build_source(
    *,
    pid: int | None,
    unit: str | None,
    match: str | None,
    host: str | None,
    ssh_config: Path | None,
    known_hosts: Path | None,
    accept_new_host_key: bool,
) -> Source:
    """The sampling source for `watch`: this host, or another one over SSH."""
    if sum(x is not None for x in (pid, unit, match)) != 1:
        raise UsageError("give exactly one of --pid, --unit or --match")
    if host is None:
        if ssh_config or known_hosts or accept_new_host_key:
            raise UsageError("--ssh-config, --known-hosts and --accept-new-host-key go with --host")
        return LocalSource(pid=pid, unit=unit, match=match)
    from leakhunt.sampling.remote import RemoteSource

    return RemoteSource(
        host,
        pid=pid,
        unit=unit,
        match=match,
        ssh_config_path=ssh_config,
        known_hosts_path=known_hosts,
        accept_new_host_key=accept_new_host_key,
    )


@contextmanager
def live_watch(console: Console, view: WatchView, interval_s: float) -> Iterator[Callable[[Sample], None]]:
    """A live panel on a terminal; elsewhere a plain line about once a minute."""
    if console.is_terminal:
        with Live(view.render(), console=console, refresh_per_second=2, transient=True) as live:

            def on_sample(sample: Sample) -> None:
                view.update(sample)
                live.update(view.render())

            yield on_sample
        return
    every = max(1, round(60.0 / interval_s))

    def on_line(sample: Sample) -> None:
        view.update(sample)
        if len(view.rows) % every == 1 or every == 1:
            console.print(view.line(), highlight=False)

    yield on_line


def watch_command(
    *,
    pid: int | None,
    unit: str | None,
    match: str | None,
    host: str | None,
    ssh_config: Path | None,
    known_hosts: Path | None,
    accept_new_host_key: bool,
    duration: str | None,
    interval: str,
    memory_limit: str | None,
    agent: bool,
    agent_socket: Path | None,
    probe_interval: str,
    expect: list[str],
    out: Path | None,
    console: Console,
    events: str | None = None,
    event_match: str | None = None,
    allow_unproven: bool = False,
) -> dict[str, Any]:
    criteria = [parse_expect(text) for text in expect]
    if (events is None) != (event_match is None):
        raise UsageError("--events and --event-match go together: a log command and the lines to mark")
    interval_s = parse_duration_s(interval, "--interval")
    if interval_s <= 0:
        raise UsageError(f"--interval must be positive, got {interval}")
    duration_s = parse_duration_s(duration, "--duration") if duration else None
    if duration_s is not None and duration_s <= 0:
        raise UsageError(f"--duration must be positive, got {duration}")
    limit_bytes = parse_size_bytes(memory_limit, "--memory-limit") if memory_limit else None
    if (agent or agent_socket) and host:
        raise UsageError("--agent works on this host only: run leakhunt watch on the service's host")
    source = build_source(
        pid=pid,
        unit=unit,
        match=match,
        host=host,
        ssh_config=ssh_config,
        known_hosts=known_hosts,
        accept_new_host_key=accept_new_host_key,
    )
    ask_summary = None
    if agent or agent_socket:
        socket_path = agent_socket or default_socket_path(getattr(source, "pid", None))
        check_socket_is_private(socket_path)

        def ask_summary() -> dict[str, Any]:
            return request_summary(socket_path)

    log_follower = None
    if events is not None and event_match is not None:
        log_follower = source.follow(events, event_match) if host else follow_local(events, event_match)
    cadence = resolve_cadence(probe_interval, duration_s)
    label = f"{host + '-' if host else ''}{unit or match or pid}"
    run_dir = RunDir.create("watch", label, out)
    options = WatchOptions(
        label=label,
        duration_s=duration_s,
        interval_s=interval_s,
        out=out,
        expect=tuple(expect),
        target={"pid": pid, "unit": unit, "match": match, "host": host, "memory_limit_bytes": limit_bytes},
        probe_interval_s=cadence.interval_s,
        probe_cadence=cadence,
        ask_summary=ask_summary,
        log_follower=log_follower,
        allow_unproven=allow_unproven,
    )
    console.print(
        f"watching {source.description}"
        + (f" for {duration_s / 60:g} min" if duration_s else " until Ctrl-C")
        + f", every {interval_s:g} s; writing {run_dir.path}",
        highlight=False,
    )
    view = WatchView(criteria)
    with live_watch(console, view, interval_s) as on_sample, interrupts_stop_runs():
        result = run_watch(options, source, run_dir=run_dir, on_sample=on_sample)
    if result.samples == 0:
        raise RunError(f"no sample was taken ({result.exit_reason}); see {run_dir.path}/meta.json")
    summary = finish_run(result.run_dir)
    print_run_summary(console, summary, str(result.run_dir.path))
    return summary
