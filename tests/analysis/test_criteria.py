"""criteria.py: the incident's success criteria as `--expect` expressions."""

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.criteria import evaluate, parse_expect
from leakhunt.analysis.growth import fit_growth
from leakhunt.errors import UsageError

MB = 1e6


def samples(
    minutes: float, slope_bytes_per_min: float, swap_bytes: int = 0, cpu: float = 10.0
) -> pd.DataFrame:
    t_s = np.arange(0, minutes * 60 + 1, 5.0)
    return pd.DataFrame(
        {
            "t_wall_s": t_s,
            "t_sim_s": t_s,
            "rss_bytes": 500 * MB + slope_bytes_per_min * t_s / 60,
            "uss_bytes": np.nan,
            "swap_bytes": swap_bytes,
            "cpu_percent": cpu,
            "py_heap_bytes": np.nan,
        }
    )


def check(texts: list[str], frame: pd.DataFrame, **kwargs) -> list:
    growth = fit_growth(frame["t_sim_s"], frame["rss_bytes"])
    return evaluate([parse_expect(t) for t in texts], frame, growth, **kwargs)


def test_the_incident_criteria_pass_on_a_fixed_service_and_show_the_measured_values():
    results = check(
        ["rss<2GB@30m", "growth<50MB/h", "swap==0", "cpu<40%", "peak<2.5GB"], samples(30, 0.1 * MB)
    )
    assert all(r.passed for r in results)
    assert results[0].detail.startswith("rss at 30.0 min = 503 MB < 2 GB")


def test_the_incident_itself_fails_them():
    results = check(
        ["rss<2GB@30m", "growth<50MB/h", "swap==0"], samples(30, 220 * MB, swap_bytes=3_500_000_000)
    )
    assert [r.passed for r in results] == [False, False, False]
    assert "220 MB/min" in results[1].detail


def test_a_time_the_run_never_reached_fails_as_not_reached():
    (result,) = check(["rss<2GB@30m"], samples(10, 0.0))
    assert not result.passed and result.measured is None
    assert "not reached" in result.detail


def test_uptime_and_restarts_come_from_the_run():
    results = check(["uptime>8h", "restarts==0"], samples(5, 0.0), restarts=1, uptime_s=9 * 3600)
    assert [r.passed for r in results] == [True, False]


@pytest.mark.parametrize(
    "bad", ["rss<<2GB", "memory<2GB", "growth<50MB", "swap==zero", "cpu<lots", "peak<2GB@5m", ""]
)
def test_a_malformed_expression_is_a_usage_error_that_shows_the_grammar(bad):
    with pytest.raises(UsageError) as error:
        parse_expect(bad)
    assert "METRIC OP VALUE[@TIME]" in error.value.message
    assert "\n" not in error.value.message
