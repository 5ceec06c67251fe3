"""criteria.py: the incident's success criteria as `--expect` expressions, PASS, FAIL or NOT PROVEN.

A gate fails closed: what could not be judged (too few points, an interval reaching past the
threshold, a run that ended early, a time never reached) is NOT PROVEN and does not pass.
"""

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.criteria import Status, evaluate, gate_passes, parse_expect
from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.errors import UsageError

MB = 1e6


def samples(
    minutes: float, slope_bytes_per_min: float, swap_bytes=0, cpu=10.0, start_s: float = 0.0
) -> pd.DataFrame:
    t_s = np.arange(0, minutes * 60 + 1, 5.0)
    return pd.DataFrame(
        {
            "t_wall_s": t_s,
            "t_sim_s": start_s + t_s,
            "rss_bytes": 500 * MB + slope_bytes_per_min * t_s / 60,
            "uss_bytes": np.nan,
            "swap_bytes": swap_bytes,
            "cpu_percent": cpu,
            "py_heap_bytes": np.nan,
        }
    )


def check(texts: list[str], frame: pd.DataFrame, growth: Growth | None = None, **kwargs) -> list:
    growth = growth or fit_growth(frame["t_sim_s"], frame["rss_bytes"])
    return evaluate([parse_expect(t) for t in texts], frame, growth, **kwargs)


def statuses(results) -> list[str]:
    return [str(r.status) for r in results]


def fitted(slope: float, low: float, high: float, shape: str = "linear") -> Growth:
    return Growth(slope, low, high, 0.0, shape, 100, 100, 0.0, "test", slope, slope)


def test_the_incident_criteria_pass_on_a_fixed_service_and_show_the_measured_values():
    results = check(
        ["rss<2GB@30m", "growth<50MB/h", "swap==0", "cpu<40%", "peak<2.5GB"], samples(30, 0.1 * MB)
    )
    assert statuses(results) == ["PASS"] * 5
    assert results[0].detail == "rss at 30.0 min 503 MB < 2 GB"
    assert results[1].detail.startswith("growth 0.1 MB/min (6 MB/h) < 50 MB/h, its whole 95 % CI too")
    assert gate_passes(results)


def test_the_incident_itself_fails_them_in_plain_words():
    results = check(
        ["rss<2GB@30m", "growth<50MB/h", "swap==0"], samples(30, 220 * MB, swap_bytes=3_500_000_000)
    )
    assert statuses(results) == ["FAIL"] * 3
    assert results[1].detail == "growth 220 MB/min (13,200 MB/h) is not < 50 MB/h"
    assert not gate_passes(results) and not gate_passes(results, allow_unproven=True)


def test_spaces_inside_an_expression_are_allowed():
    assert parse_expect("growth < 50 MB/h") == parse_expect("growth<50MB/h").__class__(
        text="growth < 50 MB/h",
        metric="growth",
        op="<",
        threshold=50 * MB / 60,
        at_s=None,
        value_text="50MB/h",
    )


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("peak<=600MB", "PASS"),  # the peak is exactly 600 MB
        ("peak<600MB", "FAIL"),
        ("peak>=600MB", "PASS"),
        ("peak>600MB", "FAIL"),
        ("peak==600MB", "PASS"),
        ("peak!=600MB", "FAIL"),
        ("peak!=1GB", "PASS"),
    ],
)
def test_every_operator_at_its_edge(text, status):
    (result,) = check([text], samples(10, 10 * MB))
    assert str(result.status) == status


def test_swap_is_the_most_seen_not_the_last():
    frame = samples(10, 0.0, swap_bytes=0)
    frame.loc[50, "swap_bytes"] = 4096
    assert statuses(check(["swap==0"], frame)) == ["FAIL"]


def test_cpu_is_the_mean_not_the_peak():
    frame = samples(10, 0.0, cpu=10.0)
    frame.loc[5, "cpu_percent"] = 100.0
    (result,) = check(["cpu<20%"], frame)
    assert result.status == Status.PASS and result.measured == pytest.approx(10.0 + 90.0 / len(frame))


def test_peak_is_the_highest_rss_not_the_last():
    frame = samples(10, 0.0)
    frame.loc[60, "rss_bytes"] = 3e9
    assert statuses(check(["peak<2.5GB", "rss<2.5GB"], frame)) == ["FAIL", "PASS"]


def test_rss_at_a_time_is_measured_from_the_runs_start():
    frame = samples(40, 10 * MB, start_s=600.0)  # a run whose clock started at 10 min
    (result,) = check(["rss<1GB@30m"], frame)
    assert result.measured == pytest.approx(800 * MB)


def test_growth_passes_only_when_its_whole_interval_does():
    frame = samples(30, 0.0)
    bound = 50 * MB / 60
    assert statuses(check(["growth<50MB/h"], frame, fitted(0.5 * bound, 0.1 * bound, 0.9 * bound))) == [
        "PASS"
    ]
    unproven = check(["growth<50MB/h"], frame, fitted(0.5 * bound, 0.1 * bound, 1.5 * bound))
    assert statuses(unproven) == ["NOT PROVEN"]
    assert "its 95 % CI reaches 1.25 MB/min (75 MB/h)" in unproven[0].detail
    # The slope above the bound, its interval straddling it: not proven either way, never FAIL.
    straddling = check(["growth<50MB/h"], frame, fitted(1.1 * bound, 0.9 * bound, 1.5 * bound))
    assert statuses(straddling) == ["NOT PROVEN"]
    assert straddling[0].detail == (
        "growth 0.917 MB/min (55 MB/h) is not < 50 MB/h, but its 95 % CI reaches 0.75 MB/min (45 MB/h): "
        "run longer or sample more often to decide"
    )

    # At the edges: an interval whose low end is the bound fails `<` whole; a hair below, it straddles.
    def status(expect: str, low: float, high: float) -> list[str]:
        return statuses(check([expect], frame, fitted((low + high) / 2, low, high)))

    assert status("growth<50MB/h", bound, 1.5 * bound) == ["FAIL"]
    assert status("growth<50MB/h", np.nextafter(bound, 0), 1.5 * bound) == ["NOT PROVEN"]
    assert status("growth<50MB/h", 0.1 * bound, bound) == ["NOT PROVEN"]
    assert status("growth<=50MB/h", 0.1 * bound, bound) == ["PASS"]
    assert statuses(check(["growth>50MB/h"], frame, fitted(2 * bound, 1.5 * bound, 3 * bound))) == ["PASS"]
    assert statuses(check(["growth>50MB/h"], frame, fitted(2 * bound, 0.5 * bound, 3 * bound))) == [
        "NOT PROVEN"
    ]


def test_growth_with_too_few_points_is_not_proven():
    frame = samples(0.5, 0.0)  # 7 samples, like a watched process that died after 30 s
    (result,) = check(["growth<50MB/h"], frame)
    assert result.status == Status.NOT_PROVEN and "only 7 points" in result.detail
    assert not gate_passes([result]) and gate_passes([result], allow_unproven=True)


def test_a_time_the_run_never_reached_is_not_proven_and_says_what_would_prove_it():
    (result,) = check(["rss<2GB@30m"], samples(10, 0.0))
    assert result.status == Status.NOT_PROVEN and result.measured is None
    assert "not reached: the run covers 10 min; run for at least 30 min" in result.detail


def test_a_run_that_ended_early_proves_no_pass_but_keeps_its_failures():
    results = check(
        ["peak<2.5GB", "swap==0", "rss<2GB@5m", "rss<510MB"],
        samples(10, 1 * MB),
        ended_early="the run was interrupted at 10.0 of 30 min",
    )
    assert statuses(results) == ["NOT PROVEN", "NOT PROVEN", "PASS", "FAIL"]
    assert "interrupted at 10.0 of 30 min: rerun to the end" in results[0].detail


def test_uptime_and_restarts_come_from_the_run():
    results = check(["uptime>8h", "restarts==0"], samples(5, 0.0), restarts=1, uptime_s=9 * 3600)
    assert statuses(results) == ["PASS", "FAIL"]
    assert statuses(check(["uptime>8h"], samples(5, 0.0))) == ["NOT PROVEN"]


@pytest.mark.parametrize(
    "bad", ["rss<<2GB", "memory<2GB", "growth<50MB", "swap==zero", "cpu<lots", "peak<2GB@5m", ""]
)
def test_a_malformed_expression_is_a_usage_error_that_shows_the_grammar(bad):
    with pytest.raises(UsageError) as error:
        parse_expect(bad)
    assert "METRIC OP VALUE[@TIME]" in error.value.message
    assert "\n" not in error.value.message


def test_a_result_serialises_what_summary_json_shows():
    (result,) = check(["peak<2.5GB"], samples(10, 0.0))
    assert result.criterion == parse_expect("peak<2.5GB")
    assert result.to_dict() == {
        "text": "peak<2.5GB",
        "metric": "peak",
        "measured": 500 * MB,
        "threshold": 2.5e9,
        "status": "PASS",
        "passed": True,
        "detail": "peak rss 500 MB < 2.5 GB",
    }
    assert parse_expect("rss<2GB@30m").to_dict() == {
        "text": "rss<2GB@30m",
        "metric": "rss",
        "op": "<",
        "threshold": 2e9,
        "at_s": 1800.0,
        "value_text": "2GB",
    }


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("rss<2GB", "rss at the end 510 MB < 2 GB"),
        ("rss<1e3MB", "rss at the end 510 MB < 1e3 MB"),
        ("peak<=510mb", "peak rss 510 MB <= 510 mb"),
        ("swap==0", "most swap seen 4.1 kB is not == 0"),
        ("cpu<20%", "mean cpu 5.0% < 20.0%"),
        ("uptime>8h", "uptime 2.5 h is not > 8 h"),
        ("restarts==0", "restarts 1 is not == 0"),
    ],
)
def test_each_metric_reads_with_its_measured_value_and_the_threshold_as_written(text, detail):
    frame = samples(10, 1 * MB, swap_bytes=np.nan)
    frame.loc[3, "swap_bytes"] = 4096
    frame.loc[::2, "cpu_percent"] = np.nan  # a missing cpu reading counts as idle
    (result,) = check([text], frame, restarts=1, uptime_s=9000.0)
    assert result.detail == detail


def test_missing_swap_and_cpu_readings_count_as_zero():
    frame = samples(10, 0.0, swap_bytes=np.nan, cpu=np.nan)
    assert statuses(check(["swap==0", "cpu<0.5%"], frame)) == ["PASS", "PASS"]


def test_with_no_samples_only_growth_restarts_and_uptime_are_measured():
    empty = samples(10, 0.0).iloc[0:0]
    growth = fitted(0.0, -1.0, 1.0)
    results = check(["peak<1GB", "restarts==0", "uptime>1h", "growth<50MB/h"], empty, growth, uptime_s=7200.0)
    assert [r.detail for r in results] == [
        "no samples: nothing was measured",
        "restarts 0 == 0",
        "uptime 2 h > 1 h",
        "growth 0 MB/min (0 MB/h) < 50 MB/h, its whole 95 % CI too",
    ]
    assert results[0].criterion.metric == "peak" and results[0].measured is None


def test_unmeasured_growth_and_uptime_say_what_is_missing():
    frame = samples(0.5, 0.0)
    results = check(["uptime>1h", "growth<50MB/h"], frame)
    assert results[0].detail == "uptime unknown: the target's start time was not read"
    assert results[1].detail == (
        "growth unknown: only 7 points to fit after warm-up; sample longer or more often"
    )


def test_a_time_point_is_reached_to_within_a_microsecond():
    frame = samples(10, 0.0)
    frame.loc[len(frame) - 1, "t_sim_s"] = 600 - 1e-6
    assert statuses(check(["rss<2GB@10m"], frame)) == ["PASS"]
    frame.loc[len(frame) - 1, "t_sim_s"] = 599.5
    assert statuses(check(["rss<2GB@10m"], frame)) == ["NOT PROVEN"]


def test_a_growth_gate_from_below_names_the_low_end_it_could_not_prove():
    frame = samples(30, 0.0)
    bound = 50 * MB / 60
    (result,) = check(["growth>50MB/h"], frame, fitted(2 * bound, 0.5 * bound, 3 * bound))
    assert result.detail == (
        "growth 1.67 MB/min (100 MB/h) > 50 MB/h, but its 95 % CI reaches 0.417 MB/min (25 MB/h): "
        "run longer or sample more often to decide"
    )


def test_a_run_that_ended_early_proves_no_final_rss_and_says_why_after_the_value():
    (result,) = check(["rss<2GB"], samples(10, 1 * MB), ended_early="the target died")
    assert result.status == Status.NOT_PROVEN
    assert result.detail == "rss at the end 510 MB < 2 GB, but the target died: rerun to the end to prove it"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cpu<lots", "--expect 'cpu<lots': 'lots' is not a percentage such as 40%"),
        ("restarts==x", "--expect 'restarts==x': 'x' is not a whole number"),
        ("rss<lots", "--expect 'rss<lots': 'lots' is not a size such as 512MB"),
        ("rss<2GB@soon", "--expect 'rss<2GB@soon': 'soon' is not a duration such as 500ms"),
    ],
)
def test_a_bad_value_names_the_expression_and_what_would_be_right(text, message):
    with pytest.raises(UsageError) as error:
        parse_expect(text)
    assert error.value.message.startswith(message)


def test_observe_reads_the_last_the_peak_the_most_swap_the_mean_cpu_and_the_nearest_rss():
    import pandas as pd

    from leakhunt.analysis.criteria import Observed, observe

    frame = pd.DataFrame(
        {
            "t_sim_s": [10.0, 20.0, 30.0, 40.0],
            "rss_bytes": [5.0, 9.0, 7.0, 6.0],
            "swap_bytes": [None, 3.0, None, 1.0],
            "cpu_percent": [None, 10.0, 20.0, 30.0],
        }
    )
    # 15 s is as near to 10 s as to 20 s after the start: the earlier sample is taken.
    assert observe(frame, [15.0, 30.0]) == Observed(
        n_samples=4,
        covered_s=30.0,
        last_rss_bytes=6.0,
        peak_rss_bytes=9.0,
        max_swap_bytes=3.0,
        mean_cpu_percent=15.0,  # a missing reading counts as 0
        rss_near={15.0: (10.0, 9.0), 30.0: (30.0, 6.0)},
    )
    assert observe(frame.iloc[:0]) == Observed(0, 0.0, 0.0, 0.0, 0.0, 0.0)
