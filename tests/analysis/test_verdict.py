"""verdict.py: LEAK / BOUNDED / STABLE / INCONCLUSIVE, with the reason, never a guess."""

import numpy as np

from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.verdict import Verdict, judge, reduction_percent

MB = 1e6


def growth(slope: float, low: float, high: float, shape: str = "linear") -> Growth:
    return Growth(slope, low, high, 70 * MB, shape, 100, 100, 0.0, "test", slope)


def test_a_leak_has_its_whole_interval_above_the_stable_bound_and_a_time_to_limit():
    judgement = judge(growth(220 * MB, 210 * MB, 230 * MB), limit_bytes=6e9, last_rss_bytes=5.5e9)
    assert judgement.verdict == Verdict.LEAK
    assert "220 MB/min" in judgement.reason
    assert judgement.time_to_limit_min == 500e6 / 220e6


def test_stable_means_the_whole_interval_is_within_50_mb_per_hour():
    assert judge(growth(0.1 * MB, -0.2 * MB, 0.5 * MB)).verdict == Verdict.STABLE
    assert judge(growth(0.1 * MB, -0.2 * MB, 0.5 * MB), limit_bytes=6e9).time_to_limit_min is None


def test_an_interval_straddling_the_bound_is_inconclusive_with_advice():
    judgement = judge(growth(0.8 * MB, 0.1 * MB, 2 * MB))
    assert judgement.verdict == Verdict.INCONCLUSIVE
    assert "sample longer" in judgement.reason


def test_a_plateau_is_bounded_and_too_few_points_inconclusive():
    assert judge(growth(0.0, -1.0, 1.0, "plateau")).verdict == Verdict.BOUNDED
    five = fit_growth(np.arange(5) * 5.0, 70 * MB + np.arange(5) * MB)
    judgement = judge(five)
    assert judgement.verdict == Verdict.INCONCLUSIVE
    assert "need at least 10" in judgement.reason


def test_reduction_is_the_share_of_baseline_growth_removed():
    assert reduction_percent(200 * MB, 2 * MB) == 99.0
    assert reduction_percent(200 * MB, -5 * MB) == 100.0
    assert reduction_percent(0.0, 1.0) is None
