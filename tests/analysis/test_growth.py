"""growth.py: a robust slope with its interval, and the shapes least squares gets wrong."""

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from leakhunt.analysis.growth import (
    Growth,
    Steps,
    _levels,
    fit_growth,
    least_squares_slope_bytes_per_min,
    running_median,
    trend,
)

MB = 1e6


# Every draw starts from its own seed: with one shared generator, a test's noise depended on the
# tests that ran before it, and mutmut, which runs subsets in forked workers, saw them flake.
def rng(salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([20251030, salt])


def page_noise(n: int, sigma_bytes: float = 5e5, salt: int = 0) -> np.ndarray:
    """RSS noise is page-granular: round to 4 KiB."""
    return np.round(rng(salt).normal(0, sigma_bytes, n) / 4096) * 4096


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
    rss[spikes] += 200 * MB * rng(1).random(len(spikes))
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
    assert growth.method == (
        "least squares through window medians of 660 samples after 300 s warm-up; growth clear early "
        "and gone late: slope and interval from the last third"
    )


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
    order = rng(2).permutation(len(t_s))
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


def test_the_levels_are_exactly_what_one_window_at_a_time_gives():
    # The windows are taken as rows of matrices at once (a fleet fits a thousand series); on
    # regular, jittered, gappy and unsorted times the numbers are the very same.
    for salt in range(60):
        draw = rng(salt)
        n = int(draw.integers(12, 1500))
        step_s = draw.choice([1.0, 5.0, 15.0, 0.25])
        times = [
            np.arange(n) * step_s,
            np.sort(draw.uniform(0, n * step_s, n)),
            np.cumsum(draw.choice([step_s, step_s, step_s, 40 * step_s], n)) + 1.8e9,
            draw.permutation(np.arange(n) * step_s),
        ]
        rss = np.round(draw.normal(70 * MB, 3 * MB, n))
        for t in times:
            windows = min(12, n // 4)
            edges = np.linspace(t[0], t[-1], windows + 1)
            index = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, windows - 1)
            held = [index == k for k in range(windows) if np.any(index == k)]
            levels_t, levels_rss = _levels(t, rss)
            assert levels_t.tolist() == [t[m].mean() for m in held]
            assert levels_rss.tolist() == [np.median(rss[m]) for m in held]


@pytest.mark.parametrize("size", [3, 5, 9])
def test_a_running_median_is_each_centred_windows_median_the_ends_padded_with_the_edge_values(size):
    # Whole mebibytes, so windows hold ties, as RSS quantised to pages does.
    for salt in range(20):
        y = np.round(rng(salt).normal(0, 3, int(rng(salt).integers(1, 400)))) * 2**20
        half = size // 2
        padded = np.concatenate([[y[0]] * half, y, [y[-1]] * half])
        expected = [np.median(padded[i : i + size]) for i in range(len(y))]
        assert running_median(y, size).tolist() == expected


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
    assert growth.method == (
        "least squares through window medians of 361 samples after 0 s warm-up; one step of 100 MB at "
        "15.1 min against a flat history, taken out"
    )


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
    rss[np.flatnonzero((t_s + 300) % 600 == 0) + 2] -= 3 * MB  # the trough comes two samples late
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


def test_more_points_than_max_points_are_binned_by_count_mean_time_and_median_rss():
    # Irregular times: with regular ones a bin's mean time can sit exactly on a window's edge,
    # where the fit's offset from the first sample decides the side by rounding.
    rng5 = np.random.default_rng(5)
    t_s = np.sort(rng5.uniform(0, 3000, 3000))
    rss = 70 * MB + 1 * MB * t_s / 60 + rng5.normal(0, 3e5, len(t_s))
    binned = fit_growth(t_s, rss, warmup_s=0, max_points=1000)
    edges = np.linspace(0, len(t_s), 1001).astype(int)  # equal counts, up to rounding
    bins = list(itertools.pairwise(edges))
    bin_t = np.array([t_s[a:b].mean() for a, b in bins])
    bin_rss = np.array([np.median(rss[a:b]) for a, b in bins])
    by_hand = fit_growth(bin_t, bin_rss, warmup_s=0)
    assert binned.n_fit_points == 1000 and "1,000 bins of 3,000 samples" in binned.method
    assert binned.slope_bytes_per_min == pytest.approx(by_hand.slope_bytes_per_min, rel=1e-12)
    assert binned.ci_high_bytes_per_min == pytest.approx(by_hand.ci_high_bytes_per_min, rel=1e-12)
    exactly = fit_growth(t_s[:1000], rss[:1000], warmup_s=0, max_points=1000)
    assert exactly.n_fit_points == 1000 and "bins" not in exactly.method


@pytest.mark.parametrize("n", [12, 15])
def test_twelve_to_fifteen_points_make_three_levels(n):
    t_s = np.arange(n) * 5.0
    rss = 70 * MB + 1 * MB * t_s / 60 + np.random.default_rng(6).normal(0, 3e5, n)
    growth = fit_growth(t_s, rss, warmup_s=0)
    window = np.minimum((t_s / (t_s[-1] / 3)).astype(int), 2)
    levels_t = [t_s[window == k].mean() / 60 for k in range(3)]
    levels_rss = [np.median(rss[window == k]) for k in range(3)]
    assert growth.slope_bytes_per_min == pytest.approx(np.polyfit(levels_t, levels_rss, 1)[0], rel=1e-9)


def test_windows_without_samples_are_skipped():
    # Sampling stopped for ten minutes (a lost connection): three windows hold no samples.
    t_s = np.concatenate([np.arange(0, 600, 5.0), np.arange(1200, 1800, 5.0)])
    rss = 70 * MB + 1 * MB * t_s / 60 + np.random.default_rng(7).normal(0, 3e5, len(t_s))
    growth = fit_growth(t_s, rss, warmup_s=0)
    edges = np.linspace(t_s[0], t_s[-1], 13)
    window = np.minimum(np.searchsorted(edges, t_s, side="right") - 1, 11)
    held = [k for k in range(12) if np.any(window == k)]
    levels_t = [t_s[window == k].mean() / 60 for k in held]
    levels_rss = [np.median(rss[window == k]) for k in held]
    assert len(held) < 12
    assert growth.slope_bytes_per_min == pytest.approx(np.polyfit(levels_t, levels_rss, 1)[0], rel=1e-9)


@pytest.mark.parametrize(
    ("t_s", "slope_bytes_per_min"),
    [([0.0, 5.0], 0.0), ([0.0, 5.0, 10.0], 12 * MB), ([0.0, 20.0, 40.0, 60.0], 12 * MB)],
)
def test_too_few_points_still_give_a_rough_slope_from_three_over_any_span(t_s, slope_bytes_per_min):
    t_s = np.array(t_s)
    growth = fit_growth(t_s, 70 * MB + 12 * MB * t_s / 60)
    assert growth.shape == "too_few"
    assert growth.slope_bytes_per_min == pytest.approx(slope_bytes_per_min)


def test_samples_all_at_one_instant_give_no_slope_rather_than_an_error():
    growth = fit_growth(np.zeros(20), 70 * MB + np.arange(20) * MB)
    assert growth.slope_bytes_per_min == 0.0
    assert growth.ci_low_bytes_per_min == -np.inf and growth.ci_high_bytes_per_min == np.inf


def variogram_interval(t_min: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The docstring's interval on four levels: scatter plus the variogram's random walk."""
    centred = t_min - t_min.mean()
    sxx = centred @ centred
    slope = centred @ (y - y.mean()) / sxx
    residuals = y - (y.mean() - slope * t_min.mean()) - slope * t_min
    moves = np.diff(y) - slope * np.diff(t_min)
    gamma = np.mean(moves**2) + 2 * np.mean(moves[:-1] * moves[1:])
    walk = max(gamma, 0.0) / np.mean(np.diff(t_min))
    weights, since = centred / sxx, t_min - t_min[0]
    variance = (
        residuals @ residuals / (len(y) - 2) / sxx + walk * weights @ np.minimum.outer(since, since) @ weights
    )
    half = scipy_stats.t.ppf(0.975, len(y) - 2) * np.sqrt(variance)
    return slope - half, slope + half


# The last climbs like a random walk (its variogram is positive); the first two zigzag (it is not).
@pytest.mark.parametrize("y", [[0.0, 2.0, 1.0, 3.0], [0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 2.0, 2.5]])
def test_the_interval_adds_the_random_walk_the_levels_variogram_shows(y):
    t_min, y = np.arange(4.0) + 1.0, np.array(y)
    fitted = trend(t_min, y)
    assert (fitted.low, fitted.high) == pytest.approx(variogram_interval(t_min, y), rel=1e-12)
    assert fitted.dof == 2


def test_three_levels_have_no_variogram_only_their_scatter():
    fitted = trend(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.0]))
    half = scipy_stats.t.ppf(0.975, 1) * np.sqrt((2 / 3) / 1 / 2)  # residuals 1/3, -2/3, 1/3
    assert (fitted.low, fitted.high) == pytest.approx((-half, half), rel=1e-12)


def test_sharp_rises_cap_the_degrees_of_freedom_and_add_their_walk():
    t_min = np.arange(24.0)
    y = t_min * MB + np.tile([0.0, 0.1 * MB], 12)
    plain, stepped = trend(t_min, y), trend(t_min, y, steps=Steps(3, 1e14))
    assert stepped.dof == 3 and plain.dof == 4  # six levels of four points
    assert stepped.high - stepped.slope > plain.high - plain.slope


def test_a_rise_under_a_mebibyte_is_allocator_noise_never_a_step():
    t_s = np.arange(0, 1800, 5.0)
    rss = 70 * MB + (t_s > 900) * 0.5 * MB + np.random.default_rng(8).normal(0, 1e3, len(t_s))
    assert fit_growth(t_s, rss, warmup_s=0).shape != "step"


def test_a_move_of_exactly_the_threshold_is_not_a_jump():
    # No noise: the threshold is the 1 MiB floor, and every move is exactly 1 MiB up or down.
    t_s = np.arange(0, 1800, 5.0)
    rss = 70 * MB + ((t_s // 100) % 2) * 2**20  # eight drops and nine rises
    assert fit_growth(t_s, rss, warmup_s=0).shape == "linear"


def test_three_teeth_a_minute_apart_are_enough_for_an_envelope():
    t_s = np.arange(100.0)  # drops after 19, 49 and 79 s: envelope points exactly a minute apart
    rss = 70 * MB + ((t_s + 10) % 30) / 30 * 10 * MB + t_s / 60 * 1 * MB
    growth = fit_growth(t_s, rss, warmup_s=0)
    assert growth.shape == "sawtooth" and growth.n_fit_points == 3
    assert growth.method == (
        "least squares through window medians of 100 samples after 0 s warm-up; sawtooth of 4 cycles "
        "judged on its envelope (3 points)"
    )
    assert np.isfinite(growth.ci_low_bytes_per_min) and np.isfinite(growth.ci_high_bytes_per_min)


def test_a_rise_is_measured_against_the_spread_of_the_moves_not_their_typical_size():
    # A steady climb with tiny noise: a 0.3 MB rise stands far out of the noise, though it is
    # not much bigger than the climb per sample; it counts as a sharp rise and widens the interval.
    t_s = np.arange(0, 1800, 5.0)
    smooth = 70 * MB + 0.2 * MB * t_s / 60 + np.random.default_rng(9).normal(0, 2e3, len(t_s))
    risen = smooth + (np.arange(len(t_s)) >= len(t_s) // 2) * 0.3 * MB
    plain, growth = fit_growth(t_s, smooth), fit_growth(t_s, risen)
    # Counted as a step, the rise's walk widens the interval to about +-0.16 MB/min; were it taken
    # for noise (sigma from the moves' typical size), to about +-0.03.
    assert plain.ci_high_bytes_per_min - plain.slope_bytes_per_min < 0.001 * MB
    assert growth.ci_high_bytes_per_min - growth.slope_bytes_per_min > 0.1 * MB


def staircase(n_steps: int, last_step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Steps of 4 MB from 60 s to `last_step_s`, then nothing, over 30 minutes."""
    t_s = np.arange(0, 1800, 5.0)
    rises = sum((t_s > at_s) * 4 * MB for at_s in np.linspace(60, last_step_s, n_steps))
    return t_s, 70 * MB + rises + np.random.default_rng(1).normal(0, 0.2 * MB, len(t_s))


@pytest.mark.parametrize("last_step_s", [400.0, 600.0])
def test_three_sharp_rises_are_a_staircase_its_steps_in_every_interval(last_step_s):
    # With its steps counted in the early interval, growth is not "clear early": no plateau.
    assert fit_growth(*staircase(3, last_step_s), warmup_s=0).shape == "stairs"


def test_a_staircase_that_stops_is_a_plateau_whose_late_interval_keeps_its_steps():
    t_s, rss = staircase(5, 500.0)
    growth = fit_growth(t_s, rss, warmup_s=0)
    late = trend(t_s[-120:] / 60, rss[-120:])  # the last third without the steps
    assert growth.shape == "plateau"
    assert growth.ci_high_bytes_per_min > 10 * late.high


def test_no_samples_give_an_empty_growth():
    empty = Growth(0.0, -np.inf, np.inf, 0.0, "too_few", 0, 0, 0.0, "no samples", 0.0, 0.0)
    assert fit_growth([], []) == empty


def test_too_few_points_give_a_rough_slope_and_no_interval():
    t_s = np.arange(5) * 5.0
    rss = 70 * MB + 1 * MB * np.arange(5)
    assert fit_growth(t_s, rss) == Growth(
        pytest.approx(12 * MB), -np.inf, np.inf, pytest.approx(70 * MB), "too_few", 5, 5, 0.0,
        "least squares through window medians of 5 samples after 0 s warm-up; fewer than 10 points, "
        "no verdict",
        pytest.approx(12 * MB), pytest.approx(12 * MB),
    )  # fmt: skip


def test_warm_up_is_a_tenth_of_the_span_at_most_five_minutes_if_ten_points_remain():
    # 12 samples over 110 s starting at 1000 s: 11 s of warm-up leaves exactly 10 to fit.
    t_s = 1000 + np.arange(12) * 10.0
    growth = fit_growth(t_s, 70 * MB + 0.1 * MB * np.arange(12))
    assert (growth.warmup_s, growth.n_fit_points, growth.shape) == (11.0, 10, "linear")
    assert fit_growth(t_s[2:], 70 * MB + 0.1 * MB * np.arange(10)).warmup_s == 0.0


def test_the_intercept_is_rss_where_the_fit_starts_after_warm_up():
    t_s = np.arange(1000, 2800, 5.0)
    growth = fit_growth(t_s, 70 * MB + 1 * MB * (t_s - 1000) / 60)
    assert growth.warmup_s == 179.5
    assert growth.intercept_bytes == pytest.approx(70 * MB + 1 * MB * 179.5 / 60, rel=1e-9)


@pytest.mark.parametrize("n", [10, 361])
def test_early_and_late_slopes_are_fitted_on_the_first_and_last_thirds(n):
    t_min = np.arange(n) * 5.0 / 60
    rss = 70 * MB + 1 * MB * t_min**1.5 + np.random.default_rng(10).normal(0, 3e5, n)
    growth = fit_growth(t_min * 60, rss, warmup_s=0)
    third = max(n // 3, 3)
    assert growth.early_slope_bytes_per_min == pytest.approx(
        trend(t_min[:third], rss[:third]).slope, rel=1e-9
    )
    assert growth.late_slope_bytes_per_min == pytest.approx(
        trend(t_min[-third:], rss[-third:]).slope, rel=1e-9
    )


def test_a_perfectly_flat_end_after_clear_growth_is_a_plateau():
    t_s = np.arange(0, 3600, 5.0)
    # 6 MB/min is 500,000 bytes a sample: every number here is exact, so the end's interval is [0, 0].
    growth = fit_growth(t_s, 70 * MB + np.minimum(t_s, 1200) / 5 * 0.5 * MB)
    assert growth.shape == "plateau"
    assert (growth.ci_low_bytes_per_min, growth.ci_high_bytes_per_min) == (0.0, 0.0)


def test_taking_a_step_out_is_fitting_the_curve_less_the_step():
    # A 1.5 MB bump before the step is a sharp rise too small to be a jump: it stays in the
    # interval as a random-walk step.
    t_s, rss = flat_with_step(361, 184, 5e4)  # the sample after the rise reads below its window's median
    rss += ((t_s > 300) & (t_s < 600)) * 1.5 * MB
    growth = fit_growth(t_s, rss, warmup_s=0)
    less_step = rss.copy()
    less_step[185:] -= growth.step_bytes
    by_hand = fit_growth(t_s, less_step, warmup_s=0)
    assert growth.shape == "step"
    assert growth.slope_bytes_per_min == pytest.approx(by_hand.slope_bytes_per_min, rel=1e-12)
    assert growth.ci_high_bytes_per_min == pytest.approx(by_hand.ci_high_bytes_per_min, rel=1e-12)


def two_rises(drop: bool) -> tuple[np.ndarray, np.ndarray]:
    t_s = np.arange(0, 1800, 5.0)
    rss = 70 * MB + (t_s > 600) * 50 * MB + (t_s > 1200) * 50 * MB - (drop and 1) * (t_s > 1500) * 80 * MB
    return t_s, rss + np.random.default_rng(11).normal(0, 3e5, len(t_s))


def test_two_sharp_rises_and_no_drop_are_a_staircase_and_a_drop_makes_them_none():
    stairs = fit_growth(*two_rises(drop=False), warmup_s=0)
    assert stairs.shape == "stairs"
    assert stairs.method.endswith("; 2 steps up: a staircase is growth, each step counted in the interval")
    assert stairs.method.startswith("least squares through window medians of 360 samples after 0 s warm-up")
    assert fit_growth(*two_rises(drop=True), warmup_s=0).shape == "linear"


def test_integer_byte_counts_are_fitted_like_floats():
    # psutil reports RSS as int; taking a step out subtracts a float from it.
    t_s, rss = flat_with_step(361, 180, 3e5)
    as_int = fit_growth(t_s, np.round(rss).astype(np.int64), warmup_s=0)
    assert as_int.shape == "step"
    assert as_int.slope_bytes_per_min == pytest.approx(
        fit_growth(t_s, np.round(rss), warmup_s=0).slope_bytes_per_min
    )


def test_the_method_gives_a_steps_size_in_megabytes_to_three_figures():
    t_s, rss = flat_with_step(361, 180, 0.0)
    rss = np.where(rss > 100 * MB, 70 * MB + 12_350_005, rss)  # a step of 12.350005 MB
    growth = fit_growth(t_s, rss, warmup_s=0)
    assert "; one step of 12.4 MB at 15.1 min" in growth.method


def test_the_running_median_is_scipys_median_filter_with_nearest_edges():
    from scipy.ndimage import median_filter

    from leakhunt.analysis.growth import running_median

    rng = np.random.default_rng(3)
    for size in (3, 9):
        for n in (1, 2, 5, 50):
            y = rng.normal(size=n).round(1)  # ties included
            assert np.array_equal(running_median(y, size), median_filter(y, size=size, mode="nearest"))


def test_points_bunched_at_two_moments_give_no_interval_rather_than_a_crash():
    # Twelve points at two moments with a gap between them (a watch that missed samples): two
    # level windows hold them all, and two levels cannot give an interval.
    t_min = np.array([0.0] * 6 + [10.0] * 6)
    bunched = trend(t_min, np.arange(12.0))
    assert (bunched.low, bunched.high) == (-np.inf, np.inf)


def test_binning_takes_the_same_medians_as_one_median_per_bin():
    """The vectorised binning (fleet judges 1,000 series with it) equals the plain loop."""

    from leakhunt.analysis.growth import _bin

    rng = np.random.default_rng(0)
    for n, max_points in ((1441, 1000), (1441, 400), (12_345, 333), (5000, 1000)):
        t = np.sort(rng.uniform(0, 1e4, n))
        y = rng.normal(0, 1, n)
        binned_t, binned_y = _bin(t, y, max_points)
        edges = np.linspace(0, n, max_points + 1).astype(int)
        assert np.array_equal(binned_y, [np.median(y[a:b]) for a, b in itertools.pairwise(edges)])
        assert np.allclose(binned_t, [t[a:b].mean() for a, b in itertools.pairwise(edges)])


def test_a_jump_caught_half_way_is_one_jump():
    """A point between the levels (a bin's median of two samples across a drop) does not make a
    cycle of one point on a sawtooth's envelope, nor a staircase of a one-off step."""
    t_s = np.arange(0.0, 6 * 3600 + 1, 15)
    rng = np.random.default_rng(5)
    teeth = 900e6 + ((t_s % 4800) / 4800) * 500e6 + rng.normal(0, 1e6, len(t_s))
    drop = int(np.flatnonzero(np.diff(teeth) < -300e6)[1])
    teeth[drop + 1] = (teeth[drop] + teeth[drop + 2]) / 2  # half-way down
    saw = fit_growth(t_s, teeth)
    assert saw.shape == "sawtooth" and "5 cycles" in saw.method
    assert saw.ci_high_bytes_per_min < 0.05e6
    step = 800e6 + (t_s >= 5 * 3600) * 500e6 + rng.normal(0, 1e6, len(t_s))
    rise = int(np.flatnonzero(t_s >= 5 * 3600)[0])
    step[rise] = 1050e6  # half-way up
    assert fit_growth(t_s, step).shape == "step"
