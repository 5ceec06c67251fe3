"""Per-series verdicts over a real server's backfilled shapes, and predict_linear beside them."""

import httpx
import numpy as np
import pytest

from leakhunt.analysis.criteria import parse_expect
from leakhunt.analysis.restarts import curve_restarts
from leakhunt.analysis.verdict import Verdict
from leakhunt.errors import UsageError
from leakhunt.fleet.analyse import (
    FleetOptions,
    SeriesResult,
    analyse_series,
    check_bytes,
    find_gaps,
    predict_linear,
    rank,
)
from leakhunt.fleet.prometheus import PrometheusClient, Series, aligned_window
from leakhunt.fleet.run import run_fleet, start_time_query
from tests.helpers import fleet_series


def _fleet(server, query, **options):
    end_s = server.backfill_end_s
    window = aligned_window(end_s - fleet_series.SPAN_S, end_s, fleet_series.STEP_S)
    limit_query = options.pop("limit_query", None)
    with PrometheusClient(server.url) as client:
        return run_fleet(client, query, FleetOptions(window=window, **options), limit_query=limit_query)


def test_known_rates_are_recovered_within_3_percent(fleet_server):
    fleet = _fleet(fleet_server, 'svc_memory_bytes{shape="leak",job="backfill"}')
    assert len(fleet.results) == 3
    for result in fleet.results:
        expected = float(result.labels["rate"].removesuffix("MB/min")) * 1e6
        assert result.verdict == Verdict.LEAK
        assert abs(result.growth.slope_bytes_per_min - expected) / expected < 0.03
        assert result.growth.ci_low_bytes_per_min <= expected <= result.growth.ci_high_bytes_per_min


def test_sawtooth_step_and_restart_are_not_leaks_where_predict_linear_alerts(fleet_server):
    fleet = _fleet(
        fleet_server,
        'svc_memory_bytes{job="backfill",shape=~"sawtooth|step|restart"}',
        limit_query="svc_memory_limit_bytes",
    )
    by_shape = {r.labels["shape"]: r for r in fleet.results}
    assert set(by_shape) == {"sawtooth", "step", "restart"}
    for result in by_shape.values():
        assert result.limit_bytes == fleet_series.LIMIT_BYTES  # matched on labels
        assert result.predict.alerts is True
        assert result.verdict != Verdict.LEAK
        assert result.disagrees
    assert by_shape["sawtooth"].growth.shape == "sawtooth"
    assert by_shape["step"].growth.shape == "step"
    assert [r["how"] for r in by_shape["restart"].restarts] == ["drop and new climb"]
    assert fleet.summary["predict_linear"]["disagreements"] == 3


def test_leaks_rank_first_by_time_to_limit(fleet_server):
    fleet = _fleet(fleet_server, 'svc_memory_bytes{job="backfill"}', limit_bytes=fleet_series.LIMIT_BYTES * 2)
    verdicts = [r.verdict for r in fleet.results]
    assert verdicts[:3] == [Verdict.LEAK] * 3
    minutes = [r.judgement.time_to_limit_min for r in fleet.results[:3]]
    assert minutes == sorted(minutes)
    assert fleet.results[0].labels["rate"] == "10MB/min"


def test_our_predict_linear_is_the_servers_own(fleet_server):
    end_s = fleet_server.backfill_end_s
    selector = 'svc_memory_bytes{job="backfill",shape="sawtooth"}'
    fleet = _fleet(fleet_server, selector)
    ours = fleet.results[0].predict.value_bytes
    # A subquery at the same step evaluates at the same grid points as our query_range did.
    response = httpx.get(
        f"{fleet_server.url}/api/v1/query",
        params={"query": f"predict_linear(({selector})[1h:15s], 14400)", "time": end_s},
    )
    theirs = float(response.json()["data"]["result"][0]["value"][1])
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_restarts_from_process_start_time_split_the_fit_and_the_rate_holds(fleet_server):
    query = 'process_resident_memory_bytes{job="restarting"}'
    assert start_time_query(query) == 'process_start_time_seconds{job="restarting"}'
    (result,) = _fleet(fleet_server, query).results
    expected = fleet_series.OOM_RATE_BYTES_PER_MIN
    assert len(result.restarts) == 3
    assert {r["how"] for r in result.restarts} == {"process_start_time_seconds changed"}
    assert result.verdict == Verdict.LEAK
    assert abs(result.growth.slope_bytes_per_min - expected) / expected < 0.03


def test_expect_across_the_fleet_says_which_series_fail(fleet_server):
    criteria = (parse_expect("growth<3MB/min"),)
    fleet = _fleet(fleet_server, 'svc_memory_bytes{shape="leak",job="backfill"}', criteria=criteria)
    failed = {r.labels["rate"] for r in fleet.results if not r.criteria_passed}
    assert failed == {"5MB/min", "10MB/min"}
    assert fleet.summary["criteria_passed"] is False
    assert len(fleet.summary["failed_series"]) == 2


def test_values_that_cannot_be_bytes_are_refused_with_what_was_seen():
    t_s = np.arange(0.0, 600, 15)
    with pytest.raises(UsageError, match=r"does not look like memory in bytes.*fractions"):
        check_bytes([Series({"__name__": "cpu_seconds_total"}, t_s, 12.5 + 0.37 * np.arange(40))], "cpu")
    with pytest.raises(UsageError, match="largest value is 1"):
        check_bytes([Series({"__name__": "up"}, t_s, np.ones(40))], "up")
    check_bytes([Series({"__name__": "rss"}, t_s, np.full(40, 50e6))], "rss")


def test_gaps_are_found_between_points_present():
    t_s = np.array([0.0, 15, 30, 90, 105, 120, 180])
    assert find_gaps(t_s, 15.0) == [(45.0, 75.0), (135.0, 165.0)]
    assert find_gaps(np.arange(0.0, 300, 15), 15.0) == []


def test_a_drop_and_a_new_climb_is_a_restart_but_many_drops_are_a_sawtooth():
    climb = np.linspace(100e6, 200e6, 50)
    assert curve_restarts(np.concatenate([np.full(50, 800e6), climb])) == [50]
    # A drop with no climb after it (a freed cache) is not a restart.
    assert curve_restarts(np.concatenate([np.full(50, 800e6), np.full(50, 100e6)])) == []
    # Each climb ends at three times its start, so every new climb starts below half of it.
    tooth = np.linspace(100e6, 300e6, 50)
    assert curve_restarts(np.tile(tooth, 2)) == [50]
    assert curve_restarts(np.tile(tooth, 3)) == [50, 100]  # MAX_CURVE_RESTARTS drops: restarts
    assert curve_restarts(np.tile(tooth, 4)) == []  # one more: a sawtooth, for the envelope to judge
    assert curve_restarts(np.tile(tooth, 8)) == []


def _judged(rate_bytes_per_min: float, seed: int) -> SeriesResult:
    """Six hours at 15 s of a curve growing at a known rate, judged as the fleet judges it."""
    t_s = 1.7e9 + np.arange(0.0, 6 * 3600 + 1, 15.0)
    noise = np.random.default_rng(seed).normal(0, 0.2e6, len(t_s))
    values = np.round(300e6 + rate_bytes_per_min * (t_s - t_s[0]) / 60 + noise)
    series = Series({"__name__": "rss", "rate": f"{rate_bytes_per_min:g}"}, t_s, values)
    return analyse_series(series, FleetOptions(window=aligned_window(t_s[0], t_s[-1], 15.0)))


def test_without_a_limit_leaks_rank_fastest_first_and_the_rest_each_fastest_first_after_them():
    results = [_judged(rate, seed) for seed, rate in enumerate((2e6, 0.0, 10e6, -0.2e6, 5e6))]
    ranked = rank(results)
    assert [r.verdict for r in ranked[:3]] == [Verdict.LEAK] * 3
    assert [r.labels["rate"] for r in ranked] == ["1e+07", "5e+06", "2e+06", "0", "-200000"]
    assert ranked[3].verdict == ranked[4].verdict != Verdict.LEAK


def test_predict_linear_is_least_squares_at_the_evaluation_time():
    t_s = np.arange(0.0, 3601, 60)
    values = 1e9 + 1000.0 * t_s
    value, slope = predict_linear(t_s, values, end_s=3600.0, window_s=3600.0, horizon_s=600.0)
    assert slope == pytest.approx(1000.0)
    assert value == pytest.approx(1e9 + 1000.0 * 4200)
    assert predict_linear(t_s, np.full(len(t_s), 5e8), end_s=3600, window_s=3600, horizon_s=600) == (5e8, 0.0)
    assert predict_linear(t_s[:1], values[:1], end_s=0, window_s=3600, horizon_s=600) == (None, None)


def test_the_start_time_series_beside_a_process_or_container_metric_is_found_by_its_name():
    assert start_time_query('process_resident_memory_bytes{job="a"}') == 'process_start_time_seconds{job="a"}'
    assert start_time_query('container_memory_working_set_bytes{namespace="prod"}') == (
        'container_start_time_seconds{namespace="prod"}'
    )
    assert start_time_query("container_memory_rss") == "container_start_time_seconds"
    # Not a plain selector of such a metric: no guess.
    assert start_time_query('sum(process_resident_memory_bytes{job="a"})') is None
    assert start_time_query("svc_rss_bytes") is None
