"""decimate.py: a long curve is drawn with at most two points per pixel column, and every spike
and drop of the full curve is still drawn."""

import numpy as np

from leakhunt.report.decimate import min_max_envelope


def test_a_curve_of_288000_samples_keeps_its_extremes_in_at_most_two_points_per_column():
    t_s = np.arange(288_000) * 0.1
    rss = 80e6 + np.random.default_rng(1).normal(0, 1e5, len(t_s))
    rss[123_456], rss[200_000] = 95e6, 60e6  # one spike, one drop, each a single sample
    x, y = min_max_envelope(t_s, rss, columns=1000)
    assert len(x) <= 2000
    assert y.max() == 95e6 and y.min() == 60e6
    assert np.all(np.diff(x) >= 0)  # still a curve in time order
    # Each column's pair is its lowest then its highest sample.
    column = np.minimum((t_s / t_s[-1] * 1000).astype(int), 999)
    assert y[0] == rss[column == 0].min() and y[1] == rss[column == 0].max()


def test_a_short_curve_is_drawn_as_it_is():
    t_s, rss = np.arange(50.0), np.arange(50.0) ** 2
    x, y = min_max_envelope(t_s, rss, columns=1000)
    assert np.array_equal(x, t_s) and np.array_equal(y, rss)


def test_missing_values_do_not_hide_a_columns_extremes():
    t_s = np.arange(10_000.0)
    swap = np.full(10_000, np.nan)
    swap[5_000] = 4096.0
    _, y = min_max_envelope(t_s, swap, columns=100)
    assert np.nanmax(y) == 4096.0
