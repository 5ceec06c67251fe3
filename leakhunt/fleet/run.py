"""One fleet analysis: read the series, judge each, rank them, and build summary.json.

Series are read chunk by chunk into compact arrays (leakhunt/fleet/prometheus.py), then judged
one at a time; only the ranked results (arrays of 16 bytes a point) are kept for the report.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from leakhunt.analysis.criteria import Status
from leakhunt.analysis.verdict import Verdict
from leakhunt.errors import UsageError
from leakhunt.fleet.analyse import FleetOptions, SeriesResult, analyse_series, check_bytes, rank
from leakhunt.fleet.prometheus import PrometheusClient, Series, match_labels
from leakhunt.units import format_duration, format_mb

# `process_resident_memory_bytes{job="x"}`: a plain selector of a process_ metric, whose
# exporter also gives process_start_time_seconds under the same labels; cAdvisor gives
# container_start_time_seconds beside its container_ metrics.
_SELECTOR = re.compile(r"^\s*(process|container)_[A-Za-z0-9_]+\s*(\{[^{}]*\})?\s*$")


def start_time_query(query: str) -> str | None:
    """The start-time selector beside a plain process_ or container_ selector, else None."""
    match = _SELECTOR.match(query)
    return f"{match.group(1)}_start_time_seconds{match.group(2) or ''}" if match else None


def _utc(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fleet:
    summary: dict[str, Any]
    results: list[SeriesResult]


def _limits(
    client: PrometheusClient, limit_query: str, series: list[Series], at_s: float
) -> list[float | None]:
    found = client.instant(limit_query, at_s)
    if not found:
        raise UsageError(f"--limit-query {limit_query!r} matches no series at the end of the range")
    candidates = [labels for labels, _ in found]
    limits: list[float | None] = []
    for one in series:
        index = match_labels(one.labels, candidates)
        value = found[index][1] if index is not None else None
        # cAdvisor says 0 (or a huge number) for a container without a limit.
        limits.append(value if value and np.isfinite(value) and 0 < value < 2**62 else None)
    return limits


def _start_times(
    client: PrometheusClient, query: str, series: list[Series], options: FleetOptions
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    found = client.fetch(query, options.window)
    candidates = [one.labels for one in found]
    starts: list[tuple[np.ndarray, np.ndarray] | None] = []
    for one in series:
        index = match_labels(one.labels, candidates)
        starts.append((found[index].t_s, found[index].values) if index is not None else None)
    return starts


def run_fleet(
    client: PrometheusClient,
    query: str,
    options: FleetOptions,
    *,
    limit_query: str | None = None,
    start_query: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Fleet:
    """`start_query`: the series whose changes are restarts (default: the start time beside a
    process_ or container_ metric, see `start_time_query`)."""
    say = progress or (lambda text: None)
    window = options.window
    say(
        f"reading {query} from {client.url}: {format_duration(window.range_s)} at a {window.step_s:g} s "
        f"step ({window.n_points:,} points per series)"
    )
    series = client.fetch(query, window)
    if not series:
        raise UsageError(
            f"{query!r} matches no series between {_utc(window.start_s)} and {_utc(window.end_s)} "
            f"on {client.url}: check the metric name and labels in the Prometheus UI, or widen --range"
        )
    check_bytes(series, query)
    limits: list[float | None] = [None] * len(series)
    if limit_query:
        limits = _limits(client, limit_query, series, window.end_s)
    starts: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(series)
    start_query = start_query or start_time_query(query)
    if start_query:
        starts = _start_times(client, start_query, series, options)
    say(f"judging {len(series):,} series")
    results = [
        analyse_series(one, options, limit_bytes=limit, start_times=start)
        for one, limit, start in zip(series, limits, starts, strict=True)
    ]
    results = rank(results)
    return Fleet(summarize(results, query, options, client.url, limit_query, start_query), results)


def summarize(
    results: list[SeriesResult],
    query: str,
    options: FleetOptions,
    url: str,
    limit_query: str | None,
    start_query: str | None,
) -> dict[str, Any]:
    window = options.window
    counts = {str(v): sum(r.verdict == v for r in results) for v in Verdict}
    with_limit = [r for r in results if r.limit_bytes]
    disagreements = [r for r in results if r.disagrees]
    gaps = [r for r in results if r.gaps]
    failed = [r for r in results if not r.criteria_passed]
    unproven = [r for r in failed if not any(c.status == Status.FAIL for c in r.criteria)]
    pl_alerts = sum(bool(r.predict.alerts) for r in results)
    lh_alerts = sum(bool(r.leakhunt_alerts) for r in results)
    headline = f"{len(results):,} series: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    if with_limit:
        headline += (
            f". Within {format_duration(options.predict_horizon_s)}, predict_linear over the last "
            f"{format_duration(options.predict_window_s)} alerts on {pl_alerts}, leakhunt on {lh_alerts}; "
            f"they disagree on {len(disagreements)}"
        )
    else:
        headline += ". No memory limit given: predict_linear's alert cannot be compared (--memory-limit)"
    if options.criteria:
        headline += f". --expect: {len(failed)} of {len(results)} series do not pass"
        if unproven:
            headline += f" ({len(failed) - len(unproven)} fail, {len(unproven)} not proven)"
    return {
        "command": "fleet",
        "prometheus": url,
        "query": query,
        "limit_query": limit_query,
        "start_time_query": start_query,
        "window": {"start_s": window.start_s, "end_s": window.end_s, "step_s": window.step_s},
        "range_s": window.range_s,
        "memory_limit_bytes": options.limit_bytes,
        "stable_bound_bytes_per_min": options.stable_bound_bytes_per_min,
        "stable_bound_text": f"{format_mb(options.stable_bound_bytes_per_min * 60)} MB/h",
        "n_series": len(results),
        "counts": counts,
        "predict_linear": {
            "window_s": options.predict_window_s,
            "horizon_s": options.predict_horizon_s,
            "alerts": pl_alerts,
            "leakhunt_alerts": lh_alerts,
            "disagreements": len(disagreements),
            "disagreeing_series": [r.name for r in disagreements],
        },
        "series_with_gaps": [r.name for r in gaps],
        "expect": [c.text for c in options.criteria],
        "criteria_passed": not failed,
        "failed_series": [r.name for r in failed],
        "headline": headline,
        "series": [r.to_dict(window.step_s) for r in results],
    }
