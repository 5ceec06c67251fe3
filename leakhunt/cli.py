"""The `leakhunt` command line: each command parses, calls one function of leakhunt.commands,
prints. Results (tables, verdicts, file paths) go to stdout; progress and the live view go to
stderr; `--json` puts the JSON alone on stdout. Only light modules load before the input is
checked, so a typo is refused at once."""

import atexit
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

import typer
from typer._click.exceptions import ClickException
from typer._coercion import RuntimeParam
from typer.core import TyperArgument, TyperCommand, TyperGroup

from leakhunt import __version__
from leakhunt.errors import FAILED, LeakhuntError

if TYPE_CHECKING:
    from rich.console import Console

INTERRUPTED = 130
# Three replicates per variant: measured, the same verdicts and conclusion on every rerun
# (docs/decisions.md).
DEFAULT_REPEAT = 3


def _number(kind: type, word: str) -> Any:
    def convert(text: Any) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not {word}") from None

    return convert


_CONVERTERS = {
    str: str,
    Path: Path,
    int: _number(int, "a whole number"),
    float: _number(float, "a number"),
    bool: bool,
}


@dataclass(frozen=True)
class _PlainValue(RuntimeParam):
    """The options' values as str, int, float, Path or a list of one of them. Typer would build a
    pydantic validator for each, and importing pydantic alone costs more than all of `leakhunt -h`
    (benchmarks/bench_cli.py): a typo would wait for it."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            if get_origin(self.annotation) is list:
                convert = _CONVERTERS[get_args(self.annotation)[0]]
                return [convert(item) for item in value]
            return _CONVERTERS[self.annotation](value)  # type: ignore[index]
        except typer.BadParameter as exc:
            exc.ctx, exc.param = ctx, param
            raise


def _plain_values(params: list[Any]) -> None:
    for param in params:
        annotation = param.type_descriptor.annotation
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if annotation in _CONVERTERS:
            descriptor = param.type_descriptor
            param._runtime_param = _PlainValue(descriptor.parameter_info, descriptor.annotation)


class _PlainHelp:
    """-h/--help is a flag: no `<bool>` beside it in the help; no option waits for pydantic."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_values(self.params)  # type: ignore[attr-defined]

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
            _plain_values([option])
        return option


class _Group(_PlainHelp, TyperGroup):
    pass


class _Command(_PlainHelp, TyperCommand):
    """Usage lines as man pages write them: `report RUN_DIR`, not `report {run_dir}`; an
    argument's metavar says what it is, without `<list[Path]>` beside it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]

    def get_short_help_str(self, limit: int = 45) -> str:
        # The command list shows each command's whole sentence, wrapped, not cut at 45 characters
        # with "...".
        return " ".join((self.help or "").split("\n\n")[0].split())


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, as click writes it: rich's panels cost more to import and draw than the rest of
    # `leakhunt -h` (benchmarks/bench_cli.py); rich is loaded by the commands that print results.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Find, reproduce and prove the fix of memory leaks in long-running Python services.",
    epilog="Example: leakhunt soak --minutes 30    (then `leakhunt COMMAND -h` for each command)",
)
_state = {"debug": False}


@cache
def _console(stderr: bool) -> "Console":
    from rich.console import Console

    return Console(stderr=stderr)


class _ConsoleWhenUsed:
    """Stands for a rich Console and builds it at its first use. The commands check their input
    before they print anything, so a refusal never waits for rich (benchmarks/bench_cli.py)."""

    def __init__(self, stderr: bool) -> None:
        object.__setattr__(self, "_stderr", stderr)

    def __getattr__(self, name: str) -> Any:
        return getattr(_console(self._stderr), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_console(self._stderr), name, value)

    # A `with` looks its methods up on the type, never through __getattr__: rich's live displays
    # (`with console:` at every refresh, on a terminal only) need them here.
    def __enter__(self) -> "Console":
        return _console(self._stderr).__enter__()

    def __exit__(self, *exc: object) -> None:
        _console(self._stderr).__exit__(*exc)


def _progress() -> "Console":
    return _ConsoleWhenUsed(stderr=True)  # type: ignore[return-value]


def _results(as_json: bool) -> "Console":
    """With --json, stdout carries the JSON alone, so the human summary moves to stderr."""
    return _ConsoleWhenUsed(stderr=as_json)  # type: ignore[return-value]


def _flag(name: str, help_text: str) -> Any:
    # A flag takes no value: an empty metavar keeps `<bool>` out of the help.
    return typer.Option(name, help=help_text, metavar="")


def _out_dir(text: str | None) -> Path | None:
    # Path("") is Path("."): an empty --out would quietly write into the current folder.
    if text is not None and not text.strip():
        raise typer.BadParameter("give a directory, not an empty string", param_hint="--out")
    return Path(text) if text is not None else None


OutOption = Annotated[
    str | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Run directory to write (default: a new one in reports/, named by time, command and target).",
        callback=_out_dir,
    ),
]
JsonOption = Annotated[bool, _flag("--json", "Print summary.json on stdout, and nothing else there.")]
ExpectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        metavar="CRITERION",
        help="A success criterion, e.g. 'rss<2GB@30m', 'growth<50MB/h', 'swap==0', 'cpu<40%'. "
        "Repeatable; a failure, or a criterion that could not be proven, exits 1.",
    ),
]
AllowUnprovenOption = Annotated[
    bool,
    _flag(
        "--allow-unproven",
        "Let a criterion that could not be judged (NOT PROVEN) pass the gate; failures still exit 1.",
    ),
]
SearchLimitOption = Annotated[
    int | None,
    typer.Option(
        "--search-limit",
        metavar="OBJECTS",
        help="Objects the holder search visits per probe (default 2,000,000); past it the largest "
        "types are followed up from a sample. The snapshot child needs about 200 bytes per object.",
    ),
]
ScenarioOption = Annotated[
    str,
    typer.Option(
        "--scenario",
        metavar="NAME|FILE",
        help="A shipped scenario (see `leakhunt scenarios`) or a .toml path.",
    ),
]
MinutesOption = Annotated[float, typer.Option("--minutes", metavar="MIN", help="Simulated minutes to run.")]
ScaleOption = Annotated[
    float | None,
    typer.Option("--scale", metavar="X", help="Multiply each candle's payload (CI uses small scales)."),
]
SpeedOption = Annotated[
    str,
    typer.Option("--speed", metavar="X|max", help="Simulated seconds per wall second: 1, 60, ... or max."),
]
IntervalOption = Annotated[
    str,
    typer.Option(
        "--interval",
        metavar="DURATION",
        help="Sampling interval in simulated time: 500ms, 5s, 1m or seconds.",
    ),
]
ProbeIntervalOption = Annotated[
    str,
    typer.Option(
        "--probe-interval",
        metavar="DURATION",
        help="Heap snapshots (soak: in the target; watch: from the agent) every ...; 0 turns them off; "
        "auto: at least 6 per run, at most every 5 min.",
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option("--seed", metavar="N", help="Seed of the synthetic feed (default: the scenario's)."),
]


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"leakhunt {__version__}\n")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, _flag("--debug", "Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and exit.",
            metavar="",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
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


@app.command(
    cls=_Command,
    epilog="Example: leakhunt soak --scenario incident-replay --scale 0.05 --fixes none "
    "--minutes 10 --expect 'growth < 50 MB/h'",
)
def soak(
    minutes: MinutesOption = 30.0,
    scenario: ScenarioOption = "incident-2025-10-30",
    fixes: Annotated[
        str | None,
        typer.Option(
            "--fixes",
            metavar="LIST",
            help="all, none, or a comma list of caps,oi_cap,cleanup (default: the scenario's).",
        ),
    ] = None,
    speed: SpeedOption = "max",
    interval: IntervalOption = "5s",
    probe_interval: ProbeIntervalOption = "auto",
    search_limit: SearchLimitOption = None,
    tracemalloc: Annotated[
        int,
        typer.Option(
            "--tracemalloc", metavar="FRAMES", help="Also take tracemalloc snapshots with this many frames."
        ),
    ] = 0,
    malloc_trim: Annotated[
        bool,
        _flag("--malloc-trim", "The cleanup also calls glibc malloc_trim(0): how much RSS is only retained."),
    ] = False,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit", metavar="SIZE", help="Stop the target when RSS crosses this: 6GB, 512MB ..."
        ),
    ] = None,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a faithful model of the incident's market-data manager and sample it from outside."""
    from leakhunt.commands.soak import soak_command

    summary = soak_command(
        minutes=minutes,
        scenario=scenario,
        fixes=fixes,
        speed=speed,
        interval=interval,
        probe_interval=probe_interval,
        tracemalloc_frames=tracemalloc,
        search_limit=search_limit,
        malloc_trim=malloc_trim,
        scale=scale,
        seed=seed,
        memory_limit=memory_limit,
        expect=expect or [],
        out=output,
        results=_results(as_json),
        progress=_progress(),
        allow_unproven=allow_unproven,
    )
    _emit(summary, as_json)
    _exit_on_criteria(summary)


@app.command(
    cls=_Command,
    epilog="Examples: leakhunt compare --baseline --ablation --scenario incident-replay --scale 0.05;  "
    "leakhunt compare reports/RUN_A reports/RUN_B",
)
def compare(
    runs: Annotated[
        list[Path] | None, typer.Argument(metavar="RUN_DIR", help="Saved run directories to compare.")
    ] = None,
    baseline: Annotated[bool, _flag("--baseline", "Run the scenario with the fixes off and on.")] = False,
    ablation: Annotated[bool, _flag("--ablation", "With --baseline: each fix alone too.")] = False,
    scenario: ScenarioOption = "incident-2025-10-30",
    minutes: MinutesOption = 30.0,
    scale: ScaleOption = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", metavar="N", help="Runs in parallel (default: cores).")
    ] = None,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            metavar="N",
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
    from leakhunt.commands.compare import compare_command

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
        results=_results(as_json),
        progress=_progress(),
        repeat=repeat,
        allow_unproven=allow_unproven,
    )
    _emit(comparison, as_json)
    _exit_on_criteria(comparison)


@app.command(
    cls=_Command,
    epilog="Example: leakhunt watch --host vps --unit app.service --duration 30m "
    "--expect 'rss<2GB@30m' --expect 'growth < 50 MB/h'",
)
def watch(
    pid: Annotated[int | None, typer.Option("--pid", metavar="PID", help="The process to watch.")] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", metavar="UNIT", help="A systemd unit: follows its MainPID.")
    ] = None,
    match: Annotated[
        str | None,
        typer.Option("--match", metavar="REGEX", help="A regex over command lines; must match one."),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            metavar="FILE",
            help="Replay a run's samples.csv through the same watch, as fast as it goes (no process).",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="HOST", help="An ~/.ssh/config alias or host to watch over SSH."),
    ] = None,
    ssh_config: Annotated[
        Path | None,
        typer.Option(
            "--ssh-config",
            metavar="FILE",
            help="Read this ssh config alone, as `ssh -F` does "
            "(default: ~/.ssh/config, then /etc/ssh/ssh_config).",
        ),
    ] = None,
    known_hosts: Annotated[
        Path | None,
        typer.Option("--known-hosts", metavar="FILE", help="known_hosts (default ~/.ssh/known_hosts)."),
    ] = None,
    accept_new_host_key: Annotated[
        bool, _flag("--accept-new-host-key", "Trust and record an unknown host key (never a changed one).")
    ] = False,
    duration: Annotated[
        str | None,
        typer.Option("--duration", metavar="DURATION", help="How long: 30m, 8h ... (default: until Ctrl-C)."),
    ] = None,
    interval: Annotated[
        str,
        typer.Option(
            "--interval",
            metavar="DURATION",
            help="Between samples: 5s, 500ms ... or auto: the duration / 120, from 0.5 s to 5 s "
            "(5 s without a duration).",
        ),
    ] = "auto",
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", metavar="SIZE", help="For time-to-limit: 6GB ...")
    ] = None,
    agent: Annotated[bool, _flag("--agent", "Ask the service's leakhunt agent what grows.")] = False,
    agent_socket: Annotated[
        Path | None,
        typer.Option("--agent-socket", metavar="FILE", help="The agent's socket, if not the default."),
    ] = None,
    probe_interval: ProbeIntervalOption = "auto",
    search_limit: SearchLimitOption = None,
    events: Annotated[
        str | None,
        typer.Option(
            "--events", metavar="COMMAND", help="A log command to follow, e.g. 'journalctl -u UNIT -f'."
        ),
    ] = None,
    event_match: Annotated[
        str | None,
        typer.Option("--event-match", metavar="REGEX", help="Regex of the log lines to mark on the curve."),
    ] = None,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Watch a live process, here or over SSH, with the success criteria as a pass/fail gate."""
    from leakhunt.commands.watch import watch_command

    summary = watch_command(
        pid=pid,
        unit=unit,
        match=match,
        replay=replay,
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
        search_limit=search_limit,
        expect=expect or [],
        out=output,
        results=_results(as_json),
        progress=_progress(),
        events=events,
        event_match=event_match,
        allow_unproven=allow_unproven,
    )
    _emit(summary, as_json)
    _exit_on_criteria(summary)


@app.command(cls=_Command, epilog="Example: leakhunt scenarios")
def scenarios() -> None:
    """List the shipped scenarios, one line each."""
    from leakhunt.report.console import print_scenarios
    from leakhunt.workload.scenario import available_scenarios, load_scenario_file

    shipped = [load_scenario_file(path) for path in available_scenarios()]
    print_scenarios(_results(False), [(scenario.name, scenario.description) for scenario in shipped])


@app.command(cls=_Command, epilog="Example: leakhunt report reports/RUN_DIR --json > summary.json")
def report(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="A run or comparison directory.", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Re-render a run's (or a comparison's) summary, figures and report.html from its files."""
    from leakhunt.commands.report import report_command

    summary = report_command(run_dir, results=_results(as_json), progress=_progress())
    _emit(summary, as_json)


# --- fleet (issue 15): one self-contained block --------------------------------------------------
@app.command(
    cls=_Command,
    epilog="Examples: leakhunt fleet --prometheus http://127.0.0.1:9090 --query "
    "'process_resident_memory_bytes{job=\"app\"}' --range 6h --memory-limit 6GB;  "
    "leakhunt fleet --rules --query 'process_resident_memory_bytes{job=\"app\"}' > leak.rules.yml",
)
def fleet(
    prometheus: Annotated[
        str | None, typer.Option("--prometheus", metavar="URL", help="The server: http://HOST:9090.")
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", metavar="PROMQL", help="The memory series, one per process or container."),
    ] = None,
    range_text: Annotated[
        str | None,
        typer.Option("--range", metavar="DURATION", help="How far back: 6h, 2d ... (to now or --end)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", metavar="TIME", help="Unix seconds or RFC 3339.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", metavar="TIME", help="Unix seconds or RFC 3339 (default: now).")
    ] = None,
    step: Annotated[
        str | None,
        typer.Option("--step", metavar="DURATION", help="Between points (default: the range / 1,440)."),
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", metavar="SIZE", help="One limit for every series: 6GB ...")
    ] = None,
    limit_query: Annotated[
        str | None,
        typer.Option(
            "--limit-query",
            metavar="PROMQL",
            help="Limits per series, matched on labels, e.g. container_spec_memory_limit_bytes.",
        ),
    ] = None,
    start_time_query: Annotated[
        str | None,
        typer.Option(
            "--start-time-query",
            metavar="PROMQL",
            help="Process start times, matched on labels: a change is a restart (default: "
            "process_start_time_seconds or container_start_time_seconds beside the query's metric).",
        ),
    ] = None,
    predict_window: Annotated[
        str,
        typer.Option("--predict-window", metavar="DURATION", help="predict_linear's range, as in x[1h]."),
    ] = "1h",
    predict_horizon: Annotated[
        str, typer.Option("--predict-horizon", metavar="DURATION", help="predict_linear's horizon.")
    ] = "4h",
    rules: Annotated[
        bool, _flag("--rules", "Print a Prometheus alerting rule that approximates the verdict, and exit.")
    ] = False,
    allow_gaps: Annotated[
        bool, _flag("--allow-gaps", "Series with gaps are judged on the points present; do not exit 1.")
    ] = False,
    expect: ExpectOption = None,
    allow_unproven: AllowUnprovenOption = False,
    output: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge every memory series of a Prometheus query, as watch does, beside predict_linear."""
    from leakhunt.commands.fleet import fleet_command, rules_command

    if rules:
        _results(False).print(
            rules_command(
                query=query,
                memory_limit=memory_limit,
                range_text=range_text,
                horizon=predict_horizon,
                start_time_query=start_time_query,
            ),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return
    summary = fleet_command(
        prometheus=prometheus,
        query=query,
        range_text=range_text,
        start=start,
        end=end,
        step=step,
        memory_limit=memory_limit,
        limit_query=limit_query,
        start_time_query=start_time_query,
        predict_window=predict_window,
        predict_horizon=predict_horizon,
        expect=expect or [],
        allow_unproven=allow_unproven,
        allow_gaps=allow_gaps,
        out=output,
        results=_results(as_json),
        progress=_progress(),
    )
    _emit(summary, as_json)
    if summary["gaps_refused"]:
        names = summary["series_with_gaps"]
        sys.stderr.write(
            f"error: {len(names)} series have gaps ({names[0]}{' ...' if len(names) > 1 else ''}): judged "
            "on the points present, not zeros; --allow-gaps accepts them\n"
        )
        raise typer.Exit(FAILED)
    _exit_on_criteria(summary)


# --- end of fleet ---------------------------------------------------------------------------------


def _usage_line(exc: ClickException) -> str:
    """A usage mistake as one line: what is wrong, and where the help is."""
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path} -h" if ctx is not None else "leakhunt -h"
    return f"error: {exc.format_message()}; see `{where}`\n"


def main() -> None:
    try:
        # prog_name: help and errors say `leakhunt` also when run as `python -m leakhunt`.
        code = app(standalone_mode=False, prog_name="leakhunt")
    except ClickException as exc:
        if exc.format_message():  # empty when no command was given: the help was printed
            sys.stderr.write(_usage_line(exc))
        sys.exit(exc.exit_code)
    except LeakhuntError as exc:
        if _state["debug"]:
            raise
        # Plain write: one line however narrow the terminal, for humans and for log scrapers.
        sys.stderr.write(f"error: {exc.message}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
    except Exception as exc:
        if _state["debug"]:
            raise
        # A bug of ours, not the user's: still one line, and the way to the traceback.
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc}; rerun with --debug for the traceback\n"
        )
        sys.exit(FAILED)
    if code == INTERRUPTED:
        # Typer turns Ctrl-C into exit 130 silently; the last line says why the command stopped.
        sys.stderr.write("interrupted\n")
    sys.exit(code if isinstance(code, int) else 0)


def run() -> None:
    """The `leakhunt` program: main(), then out without the interpreter's teardown.

    Freeing pandas, scipy and matplotlib object by object at exit took 0.25 s after a soak, 6 % of
    it, with every file already closed: the run's files are written atomically or flushed per
    row. The exit functions still run (atexit: coverage of a subprocess, logging) and stdout and
    stderr are flushed; a reader that went away (`| head`) changes nothing about the exit code."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
