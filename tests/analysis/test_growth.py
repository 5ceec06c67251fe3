"""growth.py: a robust slope with its interval, and the shapes least squares gets wrong."""

import numpy as np
import pytest

from leakhunt.analysis.growth import fit_growth, least_squares_slope_bytes_per_min

MB = 1e6
rng = np.random.default_rng(20251030)


def page_noise(n: int, sigma_bytes: float = 5e5) -> np.ndarray:
    """RSS noise is page-granular: round to 4 KiB."""
    return np.round(rng.normal(0, sigma_bytes, n) / 4096) * 4096


def test_a_known_slope_with_noise_is_found_within_3_percent():
    t_s = np.arange(0, 1800, 5.0)
    rss = 70 * MB + 2 * MB * t_s / 60 + page_noise(len(t_s))
    growth = fit_growth(t_s, rss)
    assert growth.shape == "linear"
    assert growth.slope_bytes_per_min == pytest.approx(2 * MB, rel=0.03)
    assert growth.ci_low_bytes_per_min < 2 * MB < growth.ci_high_bytes_per_min


def test_outliers_move_least_squares_but_not_the_robust_slope():
    t_s = np.arange(0, 600, 1.0)
    rss = 70 * MB + 1 * MB * t_s / 60 + page_noise(len(t_s), 1e5)
    spikes = np.arange(300, 600, 15)  # GC spikes / page-ins, late in the run
    rss[spikes] += 200 * MB * rng.random(len(spikes))
    assert fit_growth(t_s, rss).slope_bytes_per_min == pytest.approx(1 * MB, rel=0.05)
    assert least_squares_slope_bytes_per_min(t_s, rss) > 1.5 * MB


def test_warm_up_is_left_out_of_the_fit():
    t_s = np.arange(0, 3600, 5.0)
    rss = np.where(t_s < 120, 30 * MB + t_s / 120 * 40 * MB, 70 * MB) + page_noise(len(t_s), 1e5)
    growth = fit_growth(t_s, rss)
    assert growth.warmup_s == 300
    assert abs(growth.slope_bytes_per_min) < 0.05 * MB


def sawtooth(envelope_bytes_per_min: float, hours: float = 2) -> tuple[np.ndarray, np.ndarray]:
    t_s = np.arange(0, hours * 3600, 5.0)
    teeth = (t_s % 600) / 600 * 50 * MB  # a cleanup every 600 s frees what the tooth grew
    return t_s, 70 * MB + teeth + envelope_bytes_per_min * t_s / 60 + page_noise(len(t_s), 3e5)


def test_a_sawtooth_is_judged_on_its_envelope_rising():
    growth = fit_growth(*sawtooth(1 * MB))
    assert growth.shape == "sawtooth"
    assert growth.slope_bytes_per_min == pytest.approx(1 * MB, rel=0.05)


def test_a_sawtooth_is_judged_on_its_envelope_flat_though_every_tooth_rises_steeply():
    growth = fit_growth(*sawtooth(0.0))
    assert growth.shape == "sawtooth"
    assert abs(growth.slope_bytes_per_min) < 0.05 * MB
    assert growth.ci_high_bytes_per_min < 50 * MB / 60


def test_a_cache_filling_to_its_cap_is_a_plateau_with_its_late_slope():
    t_s = np.arange(0, 3600, 5.0)
    rss = 70 * MB + np.minimum(t_s, 1200) / 60 * 5 * MB + page_noise(len(t_s))
    growth = fit_growth(t_s, rss)
    assert growth.shape == "plateau"
    assert growth.early_slope_bytes_per_min == pytest.approx(5 * MB, rel=0.15)
    assert growth.ci_low_bytes_per_min <= 0 <= growth.ci_high_bytes_per_min
    assert abs(growth.slope_bytes_per_min) < 0.05 * MB


def test_a_plateau_needs_clear_early_growth():
    # Growth too small to be told from noise early on is not a plateau, however flat the end.
    t_s = np.arange(0, 3600, 5.0)
    rss = 70 * MB + np.minimum(t_s, 1200) / 60 * 0.002 * MB + page_noise(len(t_s))
    assert fit_growth(t_s, rss).shape == "linear"


def test_a_curve_still_growing_at_the_end_is_no_plateau():
    t_s = np.arange(0, 3600, 5.0)
    rss = 70 * MB + np.minimum(t_s, 1200) / 60 * 5 * MB + t_s / 60 * 0.5 * MB + page_noise(len(t_s))
    growth = fit_growth(t_s, rss)
    assert growth.shape == "linear"
    assert growth.late_slope_bytes_per_min == pytest.approx(0.5 * MB, rel=0.1)


def test_one_step_is_taken_out_rather_than_read_as_a_steady_leak():
    t_s = np.arange(0, 1800, 5.0)
    rss = 70 * MB + (t_s > 900) * 100 * MB + page_noise(len(t_s))
    growth = fit_growth(t_s, rss)
    assert growth.shape == "step"
    assert abs(growth.slope_bytes_per_min) < 0.1 * MB
    assert least_squares_slope_bytes_per_min(t_s, rss) > 3 * MB


def test_flat_noise_is_flat():
    t_s = np.arange(0, 1800, 5.0)
    growth = fit_growth(t_s, 70 * MB + page_noise(len(t_s)))
    assert growth.shape == "linear"
    assert abs(growth.slope_bytes_per_min) < 0.05 * MB


def test_five_samples_are_too_few():
    growth = fit_growth(np.arange(5) * 5.0, 70 * MB + np.arange(5) * MB)
    assert growth.shape == "too_few"
    assert growth.ci_low_bytes_per_min == -np.inf


def test_a_million_samples_are_binned_and_the_method_says_so():
    t_s = np.arange(1_000_000) * 0.1
    rss = 70 * MB + 2 * MB * t_s / 60 + page_noise(len(t_s))
    growth = fit_growth(t_s, rss)
    assert growth.n_samples == 1_000_000
    assert growth.n_fit_points == 1000
    assert "1,000 bins of 997,000 samples after 300 s warm-up" in growth.method
    assert growth.slope_bytes_per_min == pytest.approx(2 * MB, rel=0.01)


def test_nan_rows_and_unsorted_input_are_handled():
    t_s = np.arange(0, 600, 5.0)
    rss = 70 * MB + MB * t_s / 60
    rss[10] = np.nan
    order = rng.permutation(len(t_s))
    growth = fit_growth(t_s[order], rss[order])
    assert growth.n_samples == len(t_s) - 1
    assert growth.slope_bytes_per_min == pytest.approx(MB, rel=1e-6)
