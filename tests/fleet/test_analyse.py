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
    start_time_restarts,
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


# In process, on synthetic curves with known answers: six hours at 15 s from T0_S.
T0_S = 1_700_000_010.0  # a multiple of the step: the grid is the window
GRID_S = T0_S + np.arange(1440) * 15.0
MINUTES = (GRID_S - T0_S) / 60
OPTIONS = FleetOptions(window=aligned_window(GRID_S[0], GRID_S[-1], 15.0))


def _curve(name: str, values: np.ndarray, t_s: np.ndarray = GRID_S) -> Series:
    return Series({"__name__": "rss", "shape": name}, t_s, np.round(values))


def _quiet(seed: int) -> np.ndarray:
    """Within 0.2 MB either way: the first point at or above a level is known."""
    return np.random.default_rng(seed).uniform(-0.2e6, 0.2e6, len(GRID_S))


def _leak(rate_bytes_per_min: float, seed: int = 1) -> np.ndarray:
    return 300e6 + rate_bytes_per_min * MINUTES + _quiet(seed)


def test_every_verdict_ranks_in_its_place_and_leaks_by_time_to_their_own_limit():
    walk = 300e6 + np.cumsum(np.random.default_rng(3).normal(0, 3e6, len(GRID_S)))
    plateau = np.where(MINUTES < 180, 300e6 + 3e6 * MINUTES, 840e6) + _quiet(4)
    judged = [
        analyse_series(_curve("flat", np.full(len(GRID_S), 300e6) + _quiet(5)), OPTIONS),
        analyse_series(_curve("walk", walk), OPTIONS),
        # 10 MB/min ends near 3.9 GB: 5 GB is ~110 min away; 2 MB/min ends near 1.02 GB: ~10 min.
        analyse_series(_curve("fast leak", _leak(10e6)), OPTIONS, limit_bytes=5e9),
        analyse_series(_curve("falling", 800e6 - 0.5e6 * MINUTES + _quiet(6)), OPTIONS),
        analyse_series(_curve("plateau", plateau), OPTIONS),
        analyse_series(_curve("unlimited leak", _leak(5e6)), OPTIONS),
        analyse_series(_curve("slow leak", _leak(2e6)), OPTIONS, limit_bytes=1.04e9),
    ]
    ranked = rank(judged)
    assert [(r.labels["shape"], r.verdict) for r in ranked] == [
        ("slow leak", Verdict.LEAK),  # soonest to its limit, though the slowest leak
        ("fast leak", Verdict.LEAK),
        ("unlimited leak", Verdict.LEAK),  # no time to limit: after those that have one
        ("walk", Verdict.INCONCLUSIVE),
        ("plateau", Verdict.BOUNDED),
        ("flat", Verdict.STABLE),
        ("falling", Verdict.STABLE),  # falling fastest: last
    ]
    assert ranked[0].judgement.time_to_limit_min == pytest.approx(10, abs=0.5)
    assert ranked[1].judgement.time_to_limit_min == pytest.approx(110, abs=0.5)


def test_a_leak_reaching_its_limit_within_the_horizon_alerts_with_predict_linear():
    result = analyse_series(_curve("leak", _leak(10e6)), OPTIONS, limit_bytes=4e9)
    last_bytes = result.rss_bytes[-1]
    assert result.limit_bytes == 4e9 and result.verdict == Verdict.LEAK
    assert result.predict.window_s == 3600 and result.predict.horizon_s == 4 * 3600
    assert result.predict.slope_bytes_per_min == pytest.approx(10e6, rel=1e-3)
    assert result.predict.value_bytes == pytest.approx(last_bytes + 240 * 10e6, rel=1e-3)
    assert (result.predict.alerts, result.leakhunt_alerts, result.disagrees) == (True, True, False)
    summary = result.to_dict(15.0)
    assert summary["to_limit"] == "~10 min"
    assert summary["predict_linear"] == {
        "window_s": 3600.0,
        "horizon_s": 14400.0,
        "value_bytes": result.predict.value_bytes,
        "slope_bytes_per_min": result.predict.slope_bytes_per_min,
        "alerts": True,
    }
    assert summary["predict_linear"]["alerts"] is True
    assert summary["final_rss_bytes"] == summary["peak_rss_bytes"] == int(last_bytes)
    assert (summary["n_points"], summary["first_s"], summary["last_s"]) == (1440, T0_S, GRID_S[-1])
    assert (summary["gaps"], summary["missing_s"], summary["restarts"], summary["events"]) == ([], 0, [], [])
    assert (summary["memory_limit_bytes"], summary["restarted_to_limit_min"]) == (4e9, None)
    assert (summary["verdict"], summary["verdict_label"]) == ("LEAK", result.judgement.label)
    judgement = result.judgement
    assert {k: summary[k] for k in ("verdict_short", "pace", "verdict_reason", "method")} == {
        "verdict_short": judgement.short_label,
        "pace": judgement.pace,
        "verdict_reason": judgement.reason,
        "method": result.growth.method,
    }
    assert summary["time_to_limit_min"] == judgement.time_to_limit_min == pytest.approx(10, abs=0.5)
    assert summary["time_to_limit_range_min"] == judgement.time_to_limit_range_min
    assert summary["growth"] == result.growth.to_dict()
    assert (summary["name"], summary["labels"]) == ('rss{shape="leak"}', {"__name__": "rss", "shape": "leak"})
    assert (summary["leakhunt_alerts"], summary["disagrees"]) == (True, False)
    assert summary["criteria"] == [] and summary["criteria_passed"] is True
    # The horizon shorter than the 10 minutes to the limit: neither alerts.
    soon = analyse_series(
        _curve("leak", _leak(10e6)),
        FleetOptions(window=OPTIONS.window, predict_horizon_s=300),
        limit_bytes=4e9,
    )
    assert (soon.predict.alerts, soon.leakhunt_alerts, soon.disagrees) == (False, False, False)


def test_the_fleets_limit_holds_for_a_series_without_its_own():
    options = FleetOptions(window=OPTIONS.window, limit_bytes=4e9)
    assert analyse_series(_curve("leak", _leak(10e6)), options).limit_bytes == 4e9
    assert analyse_series(_curve("leak", _leak(10e6)), options, limit_bytes=5e9).limit_bytes == 5e9


def test_a_step_inside_predict_linears_window_alerts_it_but_not_leakhunt():
    step = np.where(MINUTES < 320, 300e6, 800e6) + _quiet(7)
    result = analyse_series(_curve("step", step), OPTIONS, limit_bytes=1.5e9)
    assert result.verdict != Verdict.LEAK
    assert (result.predict.alerts, result.leakhunt_alerts, result.disagrees) == (True, False, True)


def test_without_a_limit_nothing_alerts_and_nothing_disagrees():
    result = analyse_series(_curve("leak", _leak(10e6)), OPTIONS)
    assert result.predict.value_bytes is not None
    assert (result.predict.alerts, result.leakhunt_alerts, result.disagrees) == (None, None, False)
    assert result.limit_hit_at_s is None
    assert result.to_dict(15.0)["to_limit"] == "no limit set"


def test_a_limit_already_passed_says_when_from_the_first_point_at_or_above_it():
    # 2.5 MB a step: the first point at or above 2.0035 GB is the 682nd after the first.
    result = analyse_series(_curve("leak", _leak(10e6)), OPTIONS, limit_bytes=2.0035e9)
    assert result.limit_hit_at_s == 682 * 15.0
    assert result.to_dict(15.0)["to_limit"] == "reached at 170.5 min"
    assert analyse_series(_curve("leak", _leak(10e6)), OPTIONS, limit_bytes=5e9).limit_hit_at_s is None


def _restarted_every_2_h(keep: np.ndarray) -> tuple[Series, tuple[np.ndarray, np.ndarray]]:
    """5 MB/min from 200 MB, restarted at 2 h and 4 h, with the start-time series beside it."""
    since_start_s = (GRID_S - T0_S) % 7200
    values = 200e6 + 5e6 * since_start_s / 60 + _quiet(8)
    start_values = T0_S + 7200 * np.floor((GRID_S - T0_S) / 7200)
    return _curve("oom", values[keep], GRID_S[keep]), (GRID_S, start_values)


def test_restarts_from_the_start_time_series_and_gaps_are_events_in_time_order():
    keep = np.ones(len(GRID_S), bool)
    keep[40:80] = False  # 10 minutes missing from minute 10
    series, start_times = _restarted_every_2_h(keep)
    criteria = (parse_expect("uptime>2h"), parse_expect("restarts<=2"))
    options = FleetOptions(window=OPTIONS.window, limit_bytes=900e6, criteria=criteria)
    result = analyse_series(series, options, start_times=start_times)
    assert result.gaps == [(T0_S + 600, T0_S + 1185)]
    assert result.missing_s(15.0) == 600
    assert result.restarts == [
        {"t_s": T0_S + 7200, "how": "process_start_time_seconds changed"},
        {"t_s": T0_S + 14400, "how": "process_start_time_seconds changed"},
    ]
    assert [e["text"] for e in result.events()] == [
        "gap from 10.0 to 19.8 min",
        "restart at 120.0 min (process_start_time_seconds changed)",
        "restart at 240.0 min (process_start_time_seconds changed)",
    ]
    assert [e["kind"] for e in result.events()] == ["gap", "restart", "restart"]
    assert result.to_dict(15.0)["events"] == result.events()
    assert result.to_dict(15.0)["gaps"] == [{"from_s": T0_S + 600, "to_s": T0_S + 1185}]
    assert result.growth.method.startswith("4 segments between restarts or gaps")
    assert "read as restarts" not in result.growth.method  # the start times settle it
    assert result.verdict == Verdict.LEAK
    assert result.growth.slope_bytes_per_min == pytest.approx(5e6, rel=0.01)
    # A restarted process starts at 200 MB and reaches 900 MB in 140 minutes.
    assert result.restarted_to_limit_min == pytest.approx(140, abs=0.5)
    assert result.to_dict(15.0)["to_limit"].endswith("; a restarted process reaches it in ~140 min")
    # The last start was 4 h in; the last point is 7,185 s after it.
    assert [(c.measured, c.passed) for c in result.criteria] == [(7185.0, False), (2.0, True)]
    assert result.criteria_passed is False


def test_a_series_without_start_times_is_read_from_its_curve_and_the_reading_is_named():
    climb = 100e6 + 5e6 * MINUTES[:720]
    values = np.concatenate([climb + 300e6, climb]) + _quiet(9)
    result = analyse_series(_curve("restart", values), OPTIONS, limit_bytes=4e9)
    assert result.restarts == [{"t_s": GRID_S[720], "how": "drop and new climb"}]
    assert result.growth.method.endswith(
        "; 2 segments: 1 drop to the start level or below half read as restarts "
        "(a slow cleanup would look the same; --start-time-query to confirm)"
    )
    assert result.verdict == Verdict.LEAK
    assert result.restarted_to_limit_min == pytest.approx(
        (4e9 - values[720]) / result.growth.slope_bytes_per_min
    )


def test_criteria_without_a_start_time_leave_the_uptime_unknown():
    criteria = (parse_expect("uptime>1h"),)
    options = FleetOptions(window=OPTIONS.window, criteria=criteria)
    (result_criterion,) = analyse_series(_curve("leak", _leak(1e6)), options).criteria
    assert result_criterion.measured is None
    assert analyse_series(_curve("leak", _leak(1e6)), options).criteria_passed is False
    allowed = FleetOptions(window=OPTIONS.window, criteria=criteria, allow_unproven=True)
    assert analyse_series(_curve("leak", _leak(1e6)), allowed).criteria_passed is True


def test_a_start_time_change_is_a_restart_at_the_first_point_at_or_after_it():
    t_s = np.arange(0.0, 151, 15)  # 11 points
    start_t_s = np.array([-30.0, 0, 40, 60, 200])
    start_values = np.array([1.0, 2, 2, 3, 4])
    # The changes at 0 (the first point: nothing before it to restart), at 60 (index 4), at 200
    # (after the last point).
    assert start_time_restarts(t_s, start_t_s, start_values) == [4]
    assert start_time_restarts(t_s, np.array([45.0, 50]), np.array([1.0, 2])) == [4]
    assert start_time_restarts(t_s, np.array([45.0]), np.array([1.0])) == []
    assert start_time_restarts(t_s, np.array([45.0, 50]), np.array([1.0, 1])) == []


def test_predict_linear_takes_the_points_from_end_minus_window_to_end_inclusive():
    t_s = np.arange(0.0, 101, 10)
    values = (t_s - 20) ** 2 * 1e3 + 1e9
    kept = (t_s >= 30) & (t_s <= 60)  # end 60, window 30: 30, 40, 50 and 60
    slope, intercept = np.polyfit(t_s[kept] - 60, values[kept], 1)
    value, slope_per_s = predict_linear(t_s, values, end_s=60.0, window_s=30.0, horizon_s=100.0)
    assert slope_per_s == pytest.approx(slope, rel=1e-12)
    assert value == pytest.approx(intercept + slope * 100, rel=1e-12)
    # Two points are enough; one is not.
    assert predict_linear(t_s, t_s * 1e6, end_s=60.0, window_s=10.0, horizon_s=10.0) == pytest.approx(
        (70e6, 1e6)
    )
    assert predict_linear(t_s, values, end_s=60.0, window_s=5.0, horizon_s=10.0) == (None, None)


def test_refusals_of_what_cannot_be_bytes_say_what_was_seen_exactly():
    t_s = np.arange(0.0, 600, 15)
    with pytest.raises(UsageError) as refused:
        check_bytes([Series({"__name__": "cpu_seconds_total"}, t_s, 12.5 + 0.37 * np.arange(40))], "cpu")
    assert refused.value.message == (
        "cpu_seconds_total from 'cpu' does not look like memory in bytes: the largest value is 26.93 and "
        "100% are fractions (e.g. 12.5); give a memory series such as process_resident_memory_bytes or "
        "container_memory_working_set_bytes (an average of bytes: wrap it in round())"
    )
    with pytest.raises(UsageError) as refused:
        check_bytes([Series({"__name__": "small"}, t_s, np.full(40, 2.0**20 - 1))], "small")
    assert "the largest value is 1.04858e+06; give" in refused.value.message
    # A megabyte is enough; negative values count by their size; half fractions still pass.
    half = np.where(np.arange(40) % 2, 50e6, 50e6 + 0.5)
    check_bytes([Series({"__name__": "m"}, t_s, np.full(40, 2.0**20)), Series({}, t_s[:0], t_s[:0])], "m")
    check_bytes(
        [Series({"__name__": "m"}, t_s, np.full(40, -50e6)), Series({"__name__": "m"}, t_s, half)], "m"
    )


def test_a_gap_is_a_step_of_more_than_one_and_a_half_grid_steps():
    assert find_gaps(np.array([0.0]), 15.0) == []
    assert find_gaps(np.array([0.0, 22.5, 52.5]), 15.0) == [(37.5, 37.5)]  # 22.5 s is 1.5 steps: none


def test_an_rss_criterion_at_a_time_reads_the_series_that_long_after_its_first_point():
    options = FleetOptions(window=OPTIONS.window, criteria=(parse_expect("rss<350MB@10m"),))
    # 10 MB/min from 300 MB: 400 MB at 10 minutes, 3.9 GB at the end.
    (criterion,) = analyse_series(_curve("leak", _leak(10e6)), options).criteria
    assert criterion.measured == pytest.approx(400e6, abs=0.3e6)
    assert criterion.passed is False


def test_predict_linear_alerts_only_above_the_limit_not_at_it():
    # A flat series: predict_linear's value is the level itself, here the limit exactly.
    result = analyse_series(_curve("flat", np.full(len(GRID_S), 300e6)), OPTIONS, limit_bytes=300e6)
    assert result.predict.value_bytes == 300e6
    assert result.predict.alerts is False
    assert result.limit_hit_at_s == 0.0  # at the limit from the first point
