"""`leakhunt watch`: a live process, here or over SSH, with the success criteria as a gate."""

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakhunt.commands.checks import check_search_limit, memory_limit_bytes
from leakhunt.errors import RunError, UsageError
from leakhunt.expect import parse_expectation
from leakhunt.runs.cadence import probe_deadline_s, sample_interval_s
from leakhunt.runs.cadence import resolve as resolve_cadence
from leakhunt.sampling.source import Source
from leakhunt.units import format_duration, parse_duration_s

if TYPE_CHECKING:
    from rich.console import Console


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
    replay: Path | None = None,
    interval: str,
    memory_limit: str | None,
    agent: bool,
    agent_socket: Path | None,
    probe_interval: str,
    expect: list[str],
    out: Path | None,
    results: "Console",
    progress: "Console",
    events: str | None = None,
    event_match: str | None = None,
    allow_unproven: bool = False,
    search_limit: int | None = None,
) -> dict[str, Any]:
    for text in expect:
        parse_expectation(text)
    if (events is None) != (event_match is None):
        raise UsageError("--events and --event-match go together: a log command and the lines to mark")
    duration_s = parse_duration_s(duration, "--duration") if duration else None
    if duration_s is not None and duration_s <= 0:
        raise UsageError(f"--duration must be positive, got {duration}")
    interval_s = sample_interval_s(interval, duration_s)
    limit_bytes = memory_limit_bytes(memory_limit)
    if replay is not None and limit_bytes is None:
        limit_bytes = _replayed_limit_bytes(replay)
    cadence = resolve_cadence(probe_interval, duration_s)
    check_search_limit(search_limit)
    if search_limit is not None and not (agent or agent_socket):
        raise UsageError("--search-limit is for the agent's holder search: add --agent")
    if (agent or agent_socket) and host:
        raise UsageError("--agent works on this host only: run leakhunt watch on the service's host")
    if sum(x is not None for x in (pid, unit, match, replay)) != 1:
        raise UsageError("give exactly one of --pid, --unit, --match or --replay")
    if replay is not None and (host or agent or agent_socket or events):
        raise UsageError("--replay plays samples already taken: --host, --agent and --events do not apply")
    if host is None and (ssh_config or known_hosts or accept_new_host_key):
        raise UsageError("--ssh-config, --known-hosts and --accept-new-host-key go with --host")

    if host is None and pid is not None:
        from leakhunt.sampling.local import check_pid

        check_pid(pid)  # a mistyped PID is refused before the analysis loads

    # What the sampling loop and the live view need, and nothing more: pandas, scipy and
    # matplotlib load for the report at the end; the agent's client only with --agent; the soak
    # runner (psutil) never. While sampling, leakhunt's RSS stays small (benchmarks/bench_watch.py).
    from leakhunt.analysis.criteria import parse_expect
    from leakhunt.analysis.live import warm_up
    from leakhunt.commands.progress import live_watch, working
    from leakhunt.report.console import WatchView, print_run_summary
    from leakhunt.runs.signals import sigterm_as_ctrl_c
    from leakhunt.runs.watch import WatchOptions, run_watch
    from leakhunt.sampling.logs import follow_local
    from leakhunt.sampling.store import RunDir

    label = f"{host + '-' if host else ''}{unit or match or pid or 'replay'}"
    # The output is checked before any connection: a refused --out never touches a host.
    out_existed = out is not None and Path(out).exists()
    run_dir = RunDir.create("watch", label, out)
    # Built after the imports: sampling then starts at once, and a short-lived target is caught.
    try:
        if replay is not None:
            from leakhunt.sampling.replay import ReplaySource

            source: Source = ReplaySource.from_csv(replay)
        else:
            source = _source(pid, unit, match, host, ssh_config, known_hosts, accept_new_host_key, progress)
        if agent or agent_socket:
            from leakhunt.agent import check_socket_is_private
            from leakhunt.agent_socket import default_socket_path

            socket_path = agent_socket or default_socket_path(getattr(source, "pid", None))
            check_socket_is_private(socket_path)  # a missing socket leaves no run directory either
    except BaseException:
        _discard_unused(run_dir.path, out_existed)
        raise
    ask_summary = None
    if agent or agent_socket:
        from leakhunt.agent import request_summary

        deadline_s = probe_deadline_s(duration_s)

        def ask_summary() -> dict[str, Any]:
            # The agent kills a child past the deadline; the answer comes just after.
            return request_summary(
                socket_path,
                timeout_s=deadline_s + REPLY_MARGIN_S,
                max_visited=search_limit,
                deadline_s=deadline_s,
            )

    log_follower = None
    if events is not None and event_match is not None:
        log_follower = source.follow(events, event_match) if host else follow_local(events, event_match)
    options = WatchOptions(
        label=label,
        duration_s=duration_s,
        interval_s=interval_s,
        out=out,
        expect=tuple(expect),
        target={
            "pid": pid,
            "unit": unit,
            "match": match,
            "host": host,
            "memory_limit_bytes": limit_bytes,
            **({"replay": str(replay)} if replay else {}),
            **({"search_limit": search_limit} if search_limit else {}),
        },
        probe_interval_s=cadence.interval_s,
        probe_cadence=cadence,
        probe_deadline_s=probe_deadline_s(duration_s) + REPLY_MARGIN_S,
        ask_summary=ask_summary,
        log_follower=log_follower,
        allow_unproven=allow_unproven,
    )
    progress.print(
        f"watching {source.description}"
        + (f" for {format_duration(duration_s)}" if duration_s else " until Ctrl-C")
        + f", every {interval_s:g} s; writing {run_dir.path}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # the run's path whole, never wrapped
    )
    view = WatchView([parse_expect(text) for text in expect])
    warm_up()
    with live_watch(progress, view) as on_sample, sigterm_as_ctrl_c():
        result = run_watch(options, source, run_dir=run_dir, on_sample=on_sample)
    if result.write_error is not None:
        raise result.write_error  # no report on a full disk: it could only be half written
    if result.samples == 0:
        raise RunError(f"no sample was taken ({result.exit_reason}); see {run_dir.path}/meta.json")
    # pandas and matplotlib load only now, for the report.
    from leakhunt.runs.finish import finish_run

    # Said at once after Ctrl-C (the user is waiting to know); otherwise only if it takes 10 s.
    with working(progress, "writing the report", announce=result.exit_reason == "interrupted"):
        summary = finish_run(result.run_dir)
    print_run_summary(results, summary, str(result.run_dir.path))
    return summary


# Past the child's deadline: time for the agent to kill it and answer.
REPLY_MARGIN_S = 5.0


def _replayed_limit_bytes(samples_csv: Path) -> float | None:
    """The memory limit the replayed run was judged against (its meta.json beside the samples),
    so that its time to limit is told again; --memory-limit overrides it."""
    from leakhunt.sampling.store import NotARunFile, read_json_file

    meta_path = Path(samples_csv).parent / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = read_json_file(meta_path)
    except NotARunFile:
        return None  # a torn meta.json: the samples are still worth judging, without a limit
    return meta.get("memory_limit_bytes") if isinstance(meta, dict) else None


def _source(
    pid: int | None,
    unit: str | None,
    match: str | None,
    host: str | None,
    ssh_config: Path | None,
    known_hosts: Path | None,
    accept_new_host_key: bool,
    progress: "Console",
) -> "Source":
    """The sampling source: this host, or another one over SSH; what the ssh config asks for and
    leakhunt cannot honour is said on `progress`, one line per keyword, before connecting."""
    if host is None:
        from leakhunt.sampling.local import LocalSource

        return LocalSource(pid=pid, unit=unit, match=match)
    from leakhunt.sampling.remote import RemoteSource

    def warn(text: str) -> None:
        progress.print(f"warning: {text}", highlight=False, soft_wrap=True, markup=False)

    # Warnings come as they are found, before any connection: a failing user sees them too.
    return RemoteSource(
        host,
        pid=pid,
        unit=unit,
        match=match,
        ssh_config_path=ssh_config,
        known_hosts_path=known_hosts,
        accept_new_host_key=accept_new_host_key,
        on_warning=warn,
    )


def _discard_unused(path: Path, existed: bool) -> None:
    """The run directory made for a watch that never started: only its reserve file is in it."""
    from leakhunt.sampling.store import RESERVE

    with contextlib.suppress(OSError):
        (path / RESERVE).unlink()
        if not existed:
            path.rmdir()  # only if empty: nothing of the user's is ever removed
