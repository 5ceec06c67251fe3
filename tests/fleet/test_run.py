"""One fleet analysis end to end: what it reads and says on the way, the limits and start times
it matches to each series, and summary.json's counts and headline (in process, on synthetic
curves with known verdicts, and against the session's real Prometheus)."""

import numpy as np
import pytest

from leakhunt.analysis.criteria import parse_expect
from leakhunt.analysis.verdict import Verdict
from leakhunt.errors import UsageError
from leakhunt.fleet.analyse import FleetOptions, analyse_series, rank
from leakhunt.fleet.prometheus import PrometheusClient, Series, aligned_window
from leakhunt.fleet.run import run_fleet, start_time_query, summarize
from tests.helpers import fleet_series

T0_S = 1_700_000_010.0  # a multiple of the step: the grid is the window
GRID_S = T0_S + np.arange(1440) * 15.0
MINUTES = (GRID_S - T0_S) / 60
WINDOW = aligned_window(GRID_S[0], GRID_S[-1], 15.0)


def _quiet(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.2e6, 0.2e6, len(GRID_S))


def _judged(options: FleetOptions, limits: dict[str, float] | None = None) -> list:
    """A 10 MB/min leak, a 2 MB/min one, a flat series and a step (a disagreement with a limit)."""
    curves = {
        "fast": 300e6 + 10e6 * MINUTES + _quiet(1),
        "slow": 300e6 + 2e6 * MINUTES + _quiet(2),
        "flat": np.full(len(GRID_S), 300e6) + _quiet(3),
        "step": np.where(MINUTES < 320, 300e6, 800e6) + _quiet(4),
    }
    limits = limits or {}
    return rank(
        [
            analyse_series(
                Series({"__name__": "rss", "pod": k}, GRID_S, np.round(v)), options, limit_bytes=limits.get(k)
            )
            for k, v in curves.items()
        ]
    )


def test_the_summary_counts_each_verdict_and_compares_alerts_where_a_limit_is_known():
    options = FleetOptions(window=WINDOW, limit_bytes=1.5e9)
    results = _judged(options, {"fast": 4e9})
    summary = summarize(results, "rss", options, "http://127.0.0.1:9090", "limit_q", "start_q")
    # fast: 10 min to 4 GB; slow: ~1.02 GB and 4 h from 1.5 GB at 2 MB/min; step: predict_linear
    # alone alerts on it.
    assert [r.labels["pod"] for r in results] == ["fast", "slow", "step", "flat"]
    assert summary["counts"] == {"LEAK": 2, "BOUNDED": 0, "STABLE": 2, "INCONCLUSIVE": 0}
    assert summary["headline"] == (
        "4 series: 2 LEAK, 2 STABLE. Within 4 h, predict_linear over the last 1 h alerts on 2, "
        "leakhunt on 1; they disagree on 1"
    )
    assert summary["predict_linear"] == {
        "window_s": 3600.0,
        "horizon_s": 14400.0,
        "alerts": 2,
        "leakhunt_alerts": 1,
        "disagreements": 1,
        "disagreeing_series": ['rss{pod="step"}'],
    }
    assert {k: summary[k] for k in ("command", "prometheus", "query", "limit_query", "start_time_query")} == {
        "command": "fleet",
        "prometheus": "http://127.0.0.1:9090",
        "query": "rss",
        "limit_query": "limit_q",
        "start_time_query": "start_q",
    }
    assert summary["window"] == {"start_s": T0_S, "end_s": GRID_S[-1], "step_s": 15.0}
    assert summary["range_s"] == GRID_S[-1] - T0_S
    assert summary["memory_limit_bytes"] == 1.5e9
    assert summary["stable_bound_text"] == "50 MB/h"
    assert summary["n_series"] == 4
    assert summary["series_with_gaps"] == []
    assert (summary["expect"], summary["criteria_passed"], summary["failed_series"]) == ([], True, [])
    assert summary["series"] == [r.to_dict(15.0) for r in results]


def test_without_a_limit_the_headline_says_predict_linear_cannot_be_compared():
    options = FleetOptions(window=WINDOW, stable_bound_bytes_per_min=2e6)
    summary = summarize(_judged(options), "rss", options, "u", None, None)
    assert summary["headline"] == (
        "4 series: 2 LEAK, 2 STABLE. No memory limit given: predict_linear's alert cannot be compared "
        "(--memory-limit)"
    )
    assert (summary["stable_bound_bytes_per_min"], summary["stable_bound_text"]) == (2e6, "120 MB/h")
    assert summary["predict_linear"]["alerts"] == summary["predict_linear"]["leakhunt_alerts"] == 0


def test_expect_across_the_fleet_counts_the_series_that_fail_and_those_not_proven():
    criteria = (parse_expect("growth<5MB/min"), parse_expect("uptime>1h"))
    options = FleetOptions(window=WINDOW, criteria=criteria)
    summary = summarize(_judged(options), "rss", options, "u", None, None)
    # No start times: uptime is not proven anywhere; the fast leak fails its growth too.
    assert summary["headline"].endswith(". --expect: 4 of 4 series do not pass (1 fail, 3 not proven)")
    assert summary["expect"] == ["growth<5MB/min", "uptime>1h"]
    assert summary["criteria_passed"] is False
    assert summary["failed_series"][0] == 'rss{pod="fast"}'
    allowed = FleetOptions(window=WINDOW, criteria=criteria[:1], allow_unproven=True)
    summary = summarize(_judged(allowed), "rss", allowed, "u", None, None)
    assert summary["headline"].endswith(". --expect: 1 of 4 series do not pass")
    assert summary["failed_series"] == ['rss{pod="fast"}']


def _window(server) -> object:
    end_s = server.backfill_end_s
    return aligned_window(end_s - fleet_series.SPAN_S, end_s, fleet_series.STEP_S)


def test_a_fleet_says_what_it_reads_then_how_many_it_judges(fleet_server):
    said: list[str] = []
    query = 'svc_memory_bytes{job="backfill",shape="leak"}'
    with PrometheusClient(fleet_server.url) as client:
        fleet = run_fleet(client, query, FleetOptions(window=_window(fleet_server)), progress=said.append)
    assert said == [
        f"reading {query} from {fleet_server.url}: 6 h at a 15 s step (1,441 points per series)",
        "judging 3 series",
    ]
    assert fleet.summary["start_time_query"] is None  # not a process_ or container_ metric
    assert [r.verdict for r in fleet.results] == [Verdict.LEAK] * 3


def test_a_query_matching_nothing_names_the_range_and_the_server(fleet_server):
    window = _window(fleet_server)
    with PrometheusClient(fleet_server.url) as client, pytest.raises(UsageError) as refused:
        run_fleet(client, 'svc_memory_bytes{job="nobody"}', FleetOptions(window=window))
    start = np.datetime_as_string(np.datetime64(int(window.start_s), "s")) + "Z"
    end = np.datetime_as_string(np.datetime64(int(window.end_s), "s")) + "Z"
    assert refused.value.message == (
        f"'svc_memory_bytes{{job=\"nobody\"}}' matches no series between {start} and {end} "
        f"on {fleet_server.url}: check the metric name and labels in the Prometheus UI, or widen --range"
    )


def test_limits_are_matched_by_labels_and_a_zero_or_huge_one_is_no_limit(fleet_server):
    query = 'svc_memory_bytes{job="backfill",shape=~"step|sawtooth"}'
    window = _window(fleet_server)
    with PrometheusClient(fleet_server.url) as client:
        limited = run_fleet(client, query, FleetOptions(window=window), limit_query="svc_memory_limit_bytes")
        # cAdvisor's "no limit": 0, or a number near 2^63 (2^62 and above count as none).
        zero = run_fleet(client, query, FleetOptions(window=window), limit_query="svc_memory_limit_bytes * 0")
        huge = run_fleet(
            client, query, FleetOptions(window=window), limit_query="svc_memory_limit_bytes * 0 + 2^62"
        )
        with pytest.raises(UsageError) as refused:
            run_fleet(
                client, query, FleetOptions(window=window), limit_query='svc_memory_limit_bytes{job="x"}'
            )
    assert [r.limit_bytes for r in limited.results] == [fleet_series.LIMIT_BYTES] * 2
    assert limited.summary["limit_query"] == "svc_memory_limit_bytes"
    assert [r.limit_bytes for r in zero.results] == [r.limit_bytes for r in huge.results] == [None, None]
    assert refused.value.message == (
        "--limit-query 'svc_memory_limit_bytes{job=\"x\"}' matches no series at the end of the range"
    )


def test_start_times_are_matched_by_labels_or_named_by_the_caller(fleet_server):
    window = _window(fleet_server)
    query = 'process_resident_memory_bytes{job="restarting"}'
    with PrometheusClient(fleet_server.url) as client:
        found = run_fleet(client, query, FleetOptions(window=window))
        # A start-time series matching no label of the series: the curve is read instead.
        other = run_fleet(
            client, query, FleetOptions(window=window), start_query='process_start_time_seconds{job="x"}'
        )
    assert found.summary["start_time_query"] == start_time_query(query)
    assert {r["how"] for r in found.results[0].restarts} == {"process_start_time_seconds changed"}
    assert other.summary["start_time_query"] == 'process_start_time_seconds{job="x"}'
    assert {r["how"] for r in other.results[0].restarts} <= {"drop and new climb"}
