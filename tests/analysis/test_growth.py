"""growth.py: a robust slope with its interval, and the shapes least squares gets wrong."""

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

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


def test_least_squares_is_the_plain_fit_in_bytes_per_minute():
    t_s = [0, 60, 120, 180]
    assert least_squares_slope_bytes_per_min(t_s, [5 * MB, 7 * MB, 9 * MB, 11 * MB]) == pytest.approx(2 * MB)


def test_the_slope_is_least_squares_through_the_medians_of_twelve_equal_time_windows():
    t_s = np.arange(0, 1801, 5.0)
    rss = 70 * MB + 1 * MB * t_s / 60 + np.random.default_rng(2).normal(0, 3e5, len(t_s))
    growth = fit_growth(t_s, rss, warmup_s=0)
    edges = np.linspace(t_s[0], t_s[-1], 13)
    window = np.minimum(np.searchsorted(edges, t_s, side="right") - 1, 11)
    level_t = np.array([t_s[window == k].mean() / 60 for k in range(12)])
    level_rss = np.array([np.median(rss[window == k]) for k in range(12)])
    slope, intercept = np.polyfit(level_t, level_rss, 1)
    assert growth.shape == "linear"
    assert growth.slope_bytes_per_min == pytest.approx(slope, rel=1e-9)
    assert growth.intercept_bytes == pytest.approx(intercept, rel=1e-9)


def flat_with_step(n: int, rise: int, sigma_bytes: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    # Its own seed, so the draw does not depend on which tests ran before.
    noise = np.random.default_rng(seed).normal(0, sigma_bytes, n)
    return np.arange(n) * 5.0, 70 * MB + (np.arange(n) > rise) * 100 * MB + noise


@pytest.mark.parametrize("rise", [5, 180])
def test_a_steps_size_is_the_median_of_ten_points_after_less_ten_before_less_the_drift(rise):
    t_s, rss = flat_with_step(361, rise, 3e5)
    growth = fit_growth(t_s, rss, warmup_s=0)
    before, after = rss[max(0, rise - 9) : rise + 1], rss[rise + 1 : rise + 11]
    drift = np.median(np.diff(rss)) * (len(before) + len(after)) / 2
    assert growth.shape == "step"
    assert growth.step_bytes == pytest.approx(np.median(after) - np.median(before) - drift, rel=1e-12)
    assert growth.step_at_min == t_s[rise + 1] / 60


def test_a_step_between_two_perfectly_flat_stretches_is_a_one_off():
    # Zero noise gives intervals of exactly [0, 0]: a flat history includes its own edges.
    t_s, rss = flat_with_step(361, 180, 0.0)
    growth = fit_growth(t_s, rss, warmup_s=0)
    assert growth.shape == "step"
    assert growth.step_bytes == 100 * MB


def test_a_rise_followed_by_growth_is_not_a_one_off():
    t_s, rss = flat_with_step(361, 100, 1e5)
    rss += np.maximum(t_s - t_s[101], 0) / 60 * 2 * MB
    growth = fit_growth(t_s, rss, warmup_s=0)
    assert growth.shape != "step"
    assert growth.step_bytes == 0.0


@pytest.mark.parametrize(("rising_points", "shape"), [(3, "step"), (4, "linear")])
def test_fewer_than_four_points_before_a_rise_cannot_show_growth(rising_points, shape):
    # Growth before the rise makes it no one-off; under four points nothing can be told.
    t_s = np.arange(200) * 5.0
    rss = np.full(len(t_s), 170 * MB)
    rss[:rising_points] = 66 * MB + np.arange(rising_points) * 1 * MB
    assert fit_growth(t_s, rss, warmup_s=0).shape == shape


def test_a_sawtooth_envelope_is_one_point_per_drop_fitted_by_least_squares_with_students_t():
    t_s = np.arange(0, 3600, 5.0)
    noise = np.random.default_rng(3).normal(0, 3e5, len(t_s))
    rss = 70 * MB + ((t_s + 300) % 600) / 600 * 50 * MB + 0.5 * MB * t_s / 60 + noise
    rss[0] += 30 * MB  # the first cycle's peak is its first sample, and it counts
    growth = fit_growth(t_s, rss, warmup_s=0)
    t_min = t_s / 60
    drops = np.flatnonzero(np.diff(rss) < -40 * MB)
    bounds = [0, *(drops + 1), len(rss)]
    cycles = list(itertools.pairwise(bounds))
    peaks = [(t_min[a + np.argmax(rss[a:b])], rss[a:b].max()) for a, b in cycles[:-1]]
    troughs = [(t_min[a + np.argmin(rss[a:b])], rss[a:b].min()) for a, b in cycles[1:]]
    lift = np.median([p[1] - q[1] for p, q in zip(peaks, troughs, strict=True)])
    env_t = np.array([(p[0] + q[0]) / 2 for p, q in zip(peaks, troughs, strict=True)])
    env_rss = np.array([(p[1] - lift + q[1]) / 2 for p, q in zip(peaks, troughs, strict=True)])
    fit = scipy_stats.linregress(env_t, env_rss)
    half = scipy_stats.t.ppf(0.975, len(env_t) - 2) * fit.stderr
    assert (
        np.argmax(rss[: drops[0] + 1]) == 0
        and growth.shape == "sawtooth"
        and growth.n_fit_points == len(drops)
    )
    assert growth.slope_bytes_per_min == pytest.approx(fit.slope, rel=1e-9)
    assert growth.intercept_bytes == pytest.approx(fit.intercept, rel=1e-9)
    assert growth.ci_low_bytes_per_min == pytest.approx(fit.slope - half, rel=1e-9)
    assert growth.ci_high_bytes_per_min == pytest.approx(fit.slope + half, rel=1e-9)


def test_a_growth_serialises_every_field():
    growth = fit_growth(*flat_with_step(361, 180, 3e5), warmup_s=0)
    data = growth.to_dict()
    assert data["shape"] == "step" and data["step_bytes"] == growth.step_bytes
    assert set(data) == set(growth.__dataclass_fields__)


@pytest.mark.parametrize(("end_s", "drops", "shape"), [(1795.0, 2, "linear"), (1850.0, 3, "sawtooth")])
def test_an_envelope_needs_three_drops_since_it_has_one_point_per_drop(end_s, drops, shape):
    # Two envelope points fit a line with no interval: two drops are left to the levels.
    t_s = np.arange(0, end_s + 1, 5.0)
    noise = np.random.default_rng(4).normal(0, 3e5, len(t_s))
    rss = 70 * MB + (t_s % 600) / 600 * 50 * MB + 1 * MB * t_s / 60 + noise
    assert np.count_nonzero(np.diff(rss) < -25 * MB) == drops
    growth = fit_growth(t_s, rss)
    assert growth.shape == shape
    assert np.isfinite(growth.ci_low_bytes_per_min) and np.isfinite(growth.ci_high_bytes_per_min)
