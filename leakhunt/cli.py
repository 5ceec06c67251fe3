"""The `leakhunt` command line: each command parses, calls one library function, prints."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leakhunt.errors import FAILED, LeakhuntError

INTERRUPTED = 130
# Three replicates per variant: measured, the same verdicts and conclusion on every rerun
# (docs/decisions.md).
DEFAULT_REPEAT = 3

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find, reproduce and prove the fix of memory leaks in long-running Python services.",
)
err = Console(stderr=True)
out = Console()
_state = {"debug": False}

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Run directory to write (default: reports/<time>-<command>-<name>/)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print summary.json to stdout.")]
ExpectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        help="A success criterion, e.g. 'rss<2GB@30m', 'growth<50MB/h', 'swap==0', 'cpu<40%'. "
        "Repeatable; a failure, or a criterion that could not be proven, exits 1.",
    ),
]
AllowUnprovenOption = Annotated[
    bool,
    typer.Option(
        "--allow-unproven",
        help="Let a criterion that could not be judged (NOT PROVEN) pass the gate; failures still exit 1.",
    ),
]
ScenarioOption = Annotated[
    str,
    typer.Option("--scenario", help="A shipped scenario name (see `leakhunt scenarios`) or a .toml path."),
]
MinutesOption = Annotated[float, typer.Option("--minutes", help="Simulated minutes to run.")]
ScaleOption = Annotated[
    float | None, typer.Option("--scale", help="Multiply each candle's payload (CI uses small scales).")
]
SpeedOption = Annotated[
    str, typer.Option("--speed", help="Simulated seconds per wall second: 1, 60, ... or max.")
]
IntervalOption = Annotated[
    str, typer.Option("--interval", help="Sampling interval in simulated time: 500ms, 5s, 1m or seconds.")
]

ProbeIntervalOption = Annotated[
    str,
    typer.Option(
        "--probe-interval",
        help="Heap snapshots (soak: in the target; watch: from the agent) every ...; 0 turns them off; "
        "auto: at least 6 per run, at most every 5 min.",
    ),
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", help="Seed of the synthetic feed (default: the scenario's).")
]


@app.callback()
def _global(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug


def _emit(summary: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")


def _exit_on_criteria(summary: dict) -> None:
    """After the full report: exit 1 for a failed or unproven criterion, or a soak target that
    died; 130 for an interrupted run without criteria, as shells expect of Ctrl-C."""
    if summary.get("exit_reason") == "target_exited" and summary.get("command") == "soak":
        sys.stderr.write(f"error: the target died: {summary.get('exit_detail', {}).get('text', '')}\n")
        raise typer.Exit(FAILED)
    if not summary.get("criteria_passed", True):
        raise typer.Exit(FAILED)
    reasons = {summary.get("exit_reason")} | {run.get("exit_reason") for run in summary.get("runs", [])}
    criteria_given = summary.get("criteria") or any(run.get("criteria") for run in summary.get("runs", []))
    if "interrupted" in reasons and not criteria_given:
        raise typer.Exit(INTERRUPTED)


@app.command()
def soak(
    minutes: MinutesOption = 30.0,
    scenario: ScenarioOption = "incident-2025-10-30",
    fixes: Annotated[
        str | None,
        typer.Option(
            "--fixes", help="all, none, or a comma list of caps,oi_cap,cleanup (default: the scenario's)."
        ),
    ] = None,
    speed: SpeedOption = "max",
    interval: IntervalOption = "5s",
    probe_interval: ProbeIntervalOption = "auto",
    tracemalloc: Annotated[
        int,
        typer.Option(
            "--tracemalloc", help="Also take tracemalloc snapshots with this many frames (0 = off)."
        ),
    ] = 0,
    malloc_trim: Annotated[
        bool,
        typer.Option(
            "--malloc-trim",
            help="The cleanup also calls glibc malloc_trim(0): how much RSS is only retained.",
        ),
    ] = False,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    memory_limit: Annotated[
        str | None,
        typer.Option("--memory-limit", help="Stop the target when RSS crosses this: 6GB, 512MB ..."),
    ] = None,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a faithful model of the incident's market-data manager and sample it from outside."""
    from leakhunt.runs.commands import soak_command

    summary = soak_command(
        minutes=minutes,
        scenario=scenario,
        fixes=fixes,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        tracemalloc_frames=tracemalloc,
        malloc_trim=malloc_trim,
        scale=scale,
        seed=seed,
        memory_limit=memory_limit,
        expect=expect or [],
        out=output,
        console=err,
        allow_unproven=allow_unproven,
    )
    _emit(summary, as_json)
    _exit_on_criteria(summary)


@app.command()
def compare(
    runs: Annotated[list[Path] | None, typer.Argument(help="Saved run directories to compare.")] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Run the scenario with fixes off and on.")
    ] = False,
    ablation: Annotated[
        bool, typer.Option("--ablation", help="With --baseline: each fix alone too.")
    ] = False,
    scenario: ScenarioOption = "incident-2025-10-30",
    minutes: MinutesOption = 30.0,
    scale: ScaleOption = None,
    jobs: Annotated[int | None, typer.Option("--jobs", help="Runs in parallel (default: cores).")] = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            help="With --baseline: run each variant this many times; their spread joins the intervals.",
        ),
    ] = DEFAULT_REPEAT,
    speed: SpeedOption = "max",
    interval: IntervalOption = "5s",
    probe_interval: ProbeIntervalOption = "auto",
    seed: SeedOption = None,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prove a fix: the same seeded feed with the fixes off and on, or saved runs side by side."""
    from leakhunt.runs.commands import compare_command

    comparison = compare_command(
        runs=runs or [],
        baseline=baseline,
        ablation=ablation,
        scenario=scenario,
        minutes=minutes,
        scale=scale,
        jobs=jobs,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        seed=seed,
        expect=expect or [],
        out=output,
        console=err,
        repeat=repeat,
        allow_unproven=allow_unproven,
    )
    _emit(comparison, as_json)
    _exit_on_criteria(comparison)


@app.command()
def watch(
    pid: Annotated[int | None, typer.Option("--pid", help="The process to watch.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="A systemd unit: follows its MainPID.")] = None,
    match: Annotated[
        str | None, typer.Option("--match", help="A regex over command lines; must match one.")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="An ~/.ssh/config alias or host to watch over SSH.")
    ] = None,
    ssh_config: Annotated[
        Path | None, typer.Option("--ssh-config", help="SSH config file (default ~/.ssh/config).")
    ] = None,
    known_hosts: Annotated[
        Path | None, typer.Option("--known-hosts", help="known_hosts (default ~/.ssh/known_hosts).")
    ] = None,
    accept_new_host_key: Annotated[
        bool,
        typer.Option(
            "--accept-new-host-key", help="Trust and record an unknown host key (never a changed one)."
        ),
    ] = False,
    duration: Annotated[
        str | None, typer.Option("--duration", help="How long: 30m, 8h ... (default: until Ctrl-C).")
    ] = None,
    interval: Annotated[str, typer.Option("--interval", help="Between samples: 5s, 500ms ...")] = "5s",
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", help="For time-to-limit: 6GB ...")
    ] = None,
    agent: Annotated[
        bool, typer.Option("--agent", help="Ask the service's leakhunt agent what grows.")
    ] = False,
    agent_socket: Annotated[
        Path | None, typer.Option("--agent-socket", help="The agent's socket, if not the default.")
    ] = None,
    probe_interval: ProbeIntervalOption = "auto",
    events: Annotated[
        str | None, typer.Option("--events", help="A log command to follow, e.g. 'journalctl -u UNIT -f'.")
    ] = None,
    event_match: Annotated[
        str | None, typer.Option("--event-match", help="Regex of the log lines to mark on the curve.")
    ] = None,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Watch a live process, here or over SSH, with the success criteria as a pass/fail gate."""
    from leakhunt.runs.commands import watch_command

    summary = watch_command(
        pid=pid,
        unit=unit,
        match=match,
        host=host,
        ssh_config=ssh_config,
        known_hosts=known_hosts,
        accept_new_host_key=accept_new_host_key,
        duration=duration,
        interval=interval,
        memory_limit=memory_limit,
        agent=agent,
        agent_socket=agent_socket,
        probe_interval=probe_interval,
        expect=expect or [],
        out=output,
        console=err,
        events=events,
        event_match=event_match,
        allow_unproven=allow_unproven,
    )
    _emit(summary, as_json)
    _exit_on_criteria(summary)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios, one line each."""
    from leakhunt.workload.scenario import available_scenarios, load_scenario_file

    for path in available_scenarios():
        scenario = load_scenario_file(path)
        out.print(f"[bold]{scenario.name:22}[/] {scenario.description}", highlight=False, soft_wrap=True)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run or comparison directory.")],
    as_json: JsonOption = False,
) -> None:
    """Re-render a run's (or a comparison's) summary, figures and report.html from its files."""
    from leakhunt.runs.commands import report_command

    summary = report_command(run_dir, console=err)
    _emit(summary, as_json)


def main() -> None:
    try:
        app()
    except LeakhuntError as exc:
        if _state["debug"]:
            raise
        # Plain write: one line however narrow the terminal, for humans and for log scrapers.
        sys.stderr.write(f"error: {exc.message}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        if _state["debug"]:
            raise
        # A bug of ours, not the user's: still one line, and the way to the traceback.
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc}; rerun with --debug for the traceback\n"
        )
        sys.exit(FAILED)
