"""growth.py's 95 % interval covers the true slope 90-98 % of the time on the curves services draw.

200 seeded synthetic curves per shape (leakhunt/analysis/synthetic.py), each with a known rate:
a steady leak under AR(1) noise, stairs at random times, a sawtooth, a sawtooth on a leak.
The textbook Theil-Sen interval, which assumes independent points, is measured on the same curves
to show where it falls short.
"""

import numpy as np
import pytest
from scipy.stats import theilslopes

from leakhunt.analysis.growth import fit_growth
from leakhunt.analysis.synthetic import SHAPES, series

SERIES_PER_SHAPE = 200


def coverage(shape: str, interval) -> float:
    covered = 0
    for seed in range(SERIES_PER_SHAPE):
        t_s, rss_bytes, true_bytes_per_min = series(shape, seed)
        low, high = interval(t_s, rss_bytes)
        covered += low <= true_bytes_per_min <= high
    return covered / SERIES_PER_SHAPE


def leakhunt_interval(t_s: np.ndarray, rss_bytes: np.ndarray) -> tuple[float, float]:
    growth = fit_growth(t_s, rss_bytes)
    return growth.ci_low_bytes_per_min, growth.ci_high_bytes_per_min


def textbook_theil_sen(t_s: np.ndarray, rss_bytes: np.ndarray) -> tuple[float, float]:
    after = t_s >= 180.0  # the same warm-up
    _, _, low, high = theilslopes(rss_bytes[after], t_s[after] / 60.0, alpha=0.95)
    return low, high


@pytest.mark.parametrize("shape", SHAPES)
def test_the_95_percent_interval_covers_the_true_slope_90_to_98_percent_of_the_time(shape):
    assert 0.90 <= coverage(shape, leakhunt_interval) <= 0.98


@pytest.mark.parametrize("shape", ["linear_ar1", "stairs"])
def test_the_textbook_theil_sen_interval_falls_short_on_autocorrelated_and_stair_curves(shape):
    assert coverage(shape, textbook_theil_sen) < 0.60


def test_the_synthetic_curves_are_seeded():
    first, again = series("stairs", 7), series("stairs", 7)
    assert np.array_equal(first[1], again[1]) and first[2] == again[2]
    assert not np.array_equal(first[1], series("stairs", 8)[1])
