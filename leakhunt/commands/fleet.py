"""`leakhunt fleet`: the same verdicts as `watch` for every series a Prometheus query matches."""

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from leakhunt.commands.checks import memory_limit_bytes
from leakhunt.errors import UsageError
from leakhunt.expect import parse_expectation
from leakhunt.units import parse_duration_s

DEFAULT_ROOT = Path("reports")
# A fleet series is memory alone: swap and CPU are other series.
FLEET_METRICS = ("rss", "peak", "growth", "restarts", "uptime")


def parse_time_s(text: str, what: str) -> float:
    """Unix seconds or RFC 3339 (`2026-11-25T12:00:00Z`), as Prometheus' own API takes them."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{what} {text!r} is not a time: give Unix seconds or RFC 3339 such as 2026-11-25T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _window_s(range_text: str | None, start: str | None, end: str | None) -> tuple[float, float]:
    end_s = parse_time_s(end, "--end") if end is not None else time.time()
    if range_text is not None and start is not None:
        raise UsageError("give --range or --start (with --end), not both")
    if range_text is None and start is None:
        raise UsageError("say which time to read: --range 6h (up to now, or to --end), or --start and --end")
    if range_text is not None:
        return end_s - _positive_s(range_text, "--range"), end_s
    start_s = parse_time_s(start or "", "--start")
    if start_s >= end_s:
        raise UsageError("--start must be before --end (or before now, without --end)")
    return start_s, end_s


def _positive_s(text: str, what: str) -> float:
    value = parse_duration_s(text, what)
    if value <= 0:
        raise UsageError(f"{what} must be positive, got {text}")
    return value


def _out_dir(out: Path | None, query: str) -> Path:
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", query).strip("-")[:60] or "query"
        out = DEFAULT_ROOT / f"{stamp}-fleet-{slug}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"cannot write to output directory {out}: {exc.strerror or exc}; choose another with --out"
        ) from None
    return out


def rules_command(
    *,
    query: str | None,
    memory_limit: str | None,
    range_text: str | None,
    horizon: str,
    start_time_query: str | None = None,
) -> str:
    from leakhunt.fleet.rules import alert_rules
    from leakhunt.fleet.run import start_time_query as default_start_query

    _check_start_time_query(start_time_query)
    window_s = _positive_s(range_text, "--range") if range_text else 6 * 3600.0
    return alert_rules(
        query,
        window_s=window_s,
        horizon_s=_positive_s(horizon, "--predict-horizon"),
        limit_bytes=memory_limit_bytes(memory_limit),
        start_query=start_time_query or (default_start_query(query) if query else None),
    )


def _check_start_time_query(start_time_query: str | None) -> None:
    if start_time_query is not None and not start_time_query.strip():
        raise UsageError(
            "--start-time-query is empty: give the start-time series, e.g. process_start_time_seconds"
        )


def fleet_command(
    *,
    prometheus: str | None,
    query: str | None,
    range_text: str | None,
    start: str | None,
    end: str | None,
    step: str | None,
    memory_limit: str | None,
    limit_query: str | None,
    predict_window: str,
    start_time_query: str | None = None,
    predict_horizon: str,
    expect: list[str],
    allow_unproven: bool,
    allow_gaps: bool,
    out: Path | None,
    results: Console,
    progress: Console,
) -> dict[str, Any]:
    if not prometheus:
        raise UsageError("give the server to read: --prometheus http://HOST:9090")
    if not query or not query.strip():
        raise UsageError(
            "give the memory series to judge: --query 'process_resident_memory_bytes{job=\"app\"}'"
        )
    for text in expect:
        parsed = parse_expectation(text)
        if parsed.metric not in FLEET_METRICS:
            raise UsageError(
                f"--expect {text!r}: fleet reads one memory series per process; "
                f"use {', '.join(FLEET_METRICS)}"
            )
    _check_start_time_query(start_time_query)
    start_s, end_s = _window_s(range_text, start, end)
    step_s = _positive_s(step, "--step") if step else None
    limit_bytes = memory_limit_bytes(memory_limit)
    if limit_bytes and limit_query:
        raise UsageError("give --memory-limit or --limit-query, not both")
    window_s = _positive_s(predict_window, "--predict-window")
    horizon_s = _positive_s(predict_horizon, "--predict-horizon")

    from leakhunt.analysis.criteria import parse_expect
    from leakhunt.commands.progress import working
    from leakhunt.fleet.analyse import FleetOptions
    from leakhunt.fleet.prometheus import PrometheusClient, aligned_window, choose_step_s
    from leakhunt.fleet.run import run_fleet
    from leakhunt.report.fleet import print_fleet, write_fleet_report

    window = aligned_window(start_s, end_s, step_s or choose_step_s(end_s - start_s))
    options = FleetOptions(
        window=window,
        limit_bytes=limit_bytes,
        predict_window_s=window_s,
        predict_horizon_s=horizon_s,
        criteria=tuple(parse_expect(text) for text in expect),
        allow_unproven=allow_unproven,
    )
    out_dir = _out_dir(out, query)
    # On a terminal a spinner says what is read; in a pipe or a log a line comes only if reading
    # takes LINE_EVERY_S, so a quick error stays the one line on stderr.
    reading = working(progress, "reading from Prometheus", announce=False)
    with PrometheusClient(prometheus) as client, reading as say:
        fleet = run_fleet(
            client, query, options, limit_query=limit_query, start_query=start_time_query, progress=say
        )
    summary = fleet.summary
    summary["allow_gaps"] = allow_gaps
    summary["gaps_refused"] = bool(summary["series_with_gaps"]) and not allow_gaps
    with working(progress, "writing the report", announce=False):
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        write_fleet_report(summary, fleet.results, out_dir)
    print_fleet(results, summary, str(out_dir))
    return summary
