"""Properties of the fit and the verdicts that hold for every curve, not just the ones written down.

Curves are the seeded synthetic shapes (leakhunt/analysis/synthetic.py); hypothesis picks the
shape, the seed, the length and the transformation. derandomize=True makes every run draw the
same examples, so CI is repeatable; max_examples stays small because each example is a fit.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from leakhunt.analysis.growth import LEVEL_WINDOWS, MIN_POINTS_PER_LEVEL, Growth, fit_growth
from leakhunt.analysis.synthetic import SHAPES, series
from leakhunt.analysis.verdict import NEGLIGIBLE_BYTES_PER_MIN, Verdict, judge

MB = 1e6
repeatable = settings(
    max_examples=25, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
curves = st.builds(
    series,
    st.sampled_from(SHAPES),
    st.integers(0, 10_000),
    minutes=st.sampled_from([10.0, 30.0, 60.0]),
    interval_s=st.sampled_from([1.0, 5.0, 15.0]),
)


def slopes_agree(first: float, second: float, scale_bytes_per_min: float) -> bool:
    """Equal up to float rounding on numbers of this size (an unbounded end equals itself)."""
    return first == second or abs(first - second) <= 1e-9 * max(abs(first), abs(second), scale_bytes_per_min)


@repeatable
@given(curves, st.floats(-50 * MB, 1e10))
def test_adding_a_constant_to_rss_leaves_the_fit_unchanged(curve, constant_bytes):
    t_s, rss_bytes, _ = curve
    plain, lifted = fit_growth(t_s, rss_bytes), fit_growth(t_s, rss_bytes + constant_bytes)
    # Rounding of (rss + constant) is relative to the constant; that is the size to compare to.
    scale = (abs(constant_bytes) + np.ptp(rss_bytes)) / (t_s[-1] / 60)
    assert lifted.shape == plain.shape
    assert slopes_agree(lifted.slope_bytes_per_min, plain.slope_bytes_per_min, scale)
    assert slopes_agree(lifted.ci_low_bytes_per_min, plain.ci_low_bytes_per_min, scale)
    assert slopes_agree(lifted.ci_high_bytes_per_min, plain.ci_high_bytes_per_min, scale)


@repeatable
@given(curves, st.integers(-6, 6).map(lambda power: 2.0**power))
def test_scaling_time_by_k_divides_the_slope_and_its_interval_by_k(curve, k):
    # The warm-up is a time too, so it is scaled with the axis (its 5-minute cap is not). k is a
    # power of two, which scales floats exactly: a sample on a window's edge stays on it, where
    # k = 0.01 moves it across by rounding (regular sampling puts samples on edges).
    t_s, rss_bytes, _ = curve
    warmup_s = fit_growth(t_s, rss_bytes).warmup_s
    plain, stretched = fit_growth(t_s, rss_bytes), fit_growth(k * t_s, rss_bytes, warmup_s=k * warmup_s)
    scale = np.ptp(rss_bytes) / (t_s[-1] / 60)
    assert stretched.shape == plain.shape
    assert slopes_agree(stretched.slope_bytes_per_min * k, plain.slope_bytes_per_min, scale)
    assert slopes_agree(stretched.ci_low_bytes_per_min * k, plain.ci_low_bytes_per_min, scale)
    assert slopes_agree(stretched.ci_high_bytes_per_min * k, plain.ci_high_bytes_per_min, scale)


@repeatable
@given(curves, st.floats(0.5, 20.0))
def test_scaling_rss_by_k_multiplies_the_slope_and_its_interval_by_k(curve, k):
    t_s, rss_bytes, _ = curve
    # A jump must also stand out by 1 MiB (JUMP_MIN_BYTES), a size that does not scale; on curves
    # whose 15 % range share is above it at either scale, that floor never decides.
    assume(0.15 * np.ptp(rss_bytes) * min(k, 1.0) > 2**20)
    plain, scaled = fit_growth(t_s, rss_bytes), fit_growth(t_s, k * rss_bytes)
    scale = k * np.ptp(rss_bytes) / (t_s[-1] / 60)
    assert scaled.shape == plain.shape
    assert slopes_agree(scaled.slope_bytes_per_min, k * plain.slope_bytes_per_min, scale)
    assert slopes_agree(scaled.ci_low_bytes_per_min, k * plain.ci_low_bytes_per_min, scale)
    assert slopes_agree(scaled.ci_high_bytes_per_min, k * plain.ci_high_bytes_per_min, scale)


def spike_bound_bytes_per_min(growth: Growth, t_s: np.ndarray, rss_bytes: np.ndarray, at: int) -> float:
    """How far one sample, set to anything, can move a slope fitted through window medians.

    The slope is sum_k w_k * level_k with w_k = (t_k - mean t) / sum_j (t_j - mean t)^2 over the
    windows' mean times, which a value cannot move. A median of four or more points, one of them
    replaced, stays within the other points' range, so level_k moves by at most the window's
    range (max - min), and the slope by at most |w_k| times that.
    """
    fitted = t_s >= t_s[0] + growth.warmup_s
    t_fit, rss_fit = t_s[fitted], rss_bytes[fitted]
    windows = min(LEVEL_WINDOWS, len(t_fit) // MIN_POINTS_PER_LEVEL)
    edges = np.linspace(t_fit[0], t_fit[-1], windows + 1)
    window = np.minimum(np.searchsorted(edges, t_fit, side="right") - 1, windows - 1)
    level_t_min = np.array([t_fit[window == k].mean() / 60 for k in range(windows)])
    centred = level_t_min - level_t_min.mean()
    k = window[np.searchsorted(t_fit, t_s[at])]
    return abs(centred[k]) / float(centred @ centred) * float(np.ptp(rss_fit[window == k]))


@repeatable
@given(
    st.sampled_from(["linear_ar1", "stairs"]),
    st.integers(0, 10_000),
    st.floats(0.0, 1.0),
    st.floats(-1e10, 1e10),
)
def test_a_single_spike_moves_the_slope_by_no_more_than_one_window_medians_range(
    shape, seed, position, height_bytes
):
    # Shapes fitted through window levels; a sawtooth is fitted on its teeth's peaks instead.
    t_s, rss_bytes, _ = series(shape, seed)
    plain = fit_growth(t_s, rss_bytes)
    first_fitted = int(np.searchsorted(t_s, t_s[0] + plain.warmup_s))
    at = first_fitted + int(position * (len(t_s) - 1 - first_fitted))
    spiked_rss = rss_bytes.copy()
    spiked_rss[at] += height_bytes
    spiked = fit_growth(t_s, spiked_rss)
    assume(plain.shape in ("linear", "stairs") and spiked.shape == plain.shape)
    moved = abs(spiked.slope_bytes_per_min - plain.slope_bytes_per_min)
    assert moved <= spike_bound_bytes_per_min(plain, t_s, rss_bytes, at) * (1 + 1e-9) + 1e-6


def leaning(low: float, high: float) -> Growth:
    return Growth((low + high) / 2, low, high, 0.0, "linear", 100, 100, 0.0, "test", 0.0, 0.0)


bounds = st.floats(0.0, 1e9)
offsets = st.floats(0.0, 1e9)


def band(bound: float) -> float:
    return min(NEGLIGIBLE_BYTES_PER_MIN, bound)


@repeatable
@given(bounds, offsets, offsets)
def test_stable_is_exactly_a_high_end_at_or_below_the_bound_with_zero_or_the_band_inside(bound, below, width):
    holds_zero = judge(leaning(-below, min(width, bound)), stable_bound_bytes_per_min=bound)
    assert holds_zero.verdict == Verdict.STABLE
    inside_band = judge(leaning(band(bound) * 0.5, band(bound)), stable_bound_bytes_per_min=bound)
    assert inside_band.verdict == Verdict.STABLE
    just_over = np.nextafter(bound, np.inf)
    over = judge(leaning(-below, just_over + width), stable_bound_bytes_per_min=bound)
    assert over.verdict == Verdict.INCONCLUSIVE


@repeatable
@given(bounds, offsets)
def test_leak_is_exactly_a_low_end_above_the_negligible_band(bound, width):
    at_band = judge(leaning(band(bound), bound + width + 1.0), stable_bound_bytes_per_min=bound)
    assert at_band.verdict != Verdict.LEAK
    just_over = np.nextafter(band(bound), np.inf)
    leak = judge(leaning(just_over, just_over + width), stable_bound_bytes_per_min=bound)
    assert leak.verdict == Verdict.LEAK


@repeatable
@given(bounds, st.floats(-1e9, 1e9), offsets)
def test_every_interval_gets_the_verdict_and_pace_its_ends_give(bound, low, width):
    judgement = judge(leaning(low, low + width), stable_bound_bytes_per_min=bound)
    high = low + width
    if low > band(bound):
        expected = (Verdict.LEAK, "fast" if low > bound else "slow" if high <= bound else "near")
    elif high <= bound and (low <= 0 or high <= band(bound)):
        expected = (Verdict.STABLE, None)
    else:
        expected = (Verdict.INCONCLUSIVE, None)
    assert (judgement.verdict, judgement.pace) == expected


@pytest.mark.parametrize("shape", ["plateau", "too_few"])
def test_bounded_and_too_few_points_do_not_depend_on_the_bound(shape):
    growth = Growth(5 * MB, 4 * MB, 6 * MB, 0.0, shape, 100, 100, 0.0, "test", 0.0, 0.0)
    verdicts = {judge(growth, stable_bound_bytes_per_min=b).verdict for b in (0.0, 5 * MB, 1e12)}
    assert verdicts == {Verdict.BOUNDED if shape == "plateau" else Verdict.INCONCLUSIVE}
