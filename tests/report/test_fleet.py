"""How a fleet is named and drawn: labels that tell series apart, rates, small curves."""

import itertools

import numpy as np

from leakhunt.report.fleet import (
    SPARK_SCALE,
    bin_medians,
    common_labels,
    rate_with_interval,
    short_name,
    sparkline,
)

MB = 1e6


def test_rows_are_named_by_the_labels_that_tell_them_apart():
    series = [
        {"labels": {"__name__": "rss", "job": "api", "instance": "a"}},
        {"labels": {"__name__": "rss", "job": "api", "instance": "b"}},
    ]
    common = common_labels(series)
    assert common == {"__name__": "rss", "job": "api"}
    assert short_name(series[1]["labels"], common) == 'instance="b"'
    # One series alone keeps its whole name.
    assert common_labels(series[:1]) == {}
    assert short_name({"__name__": "rss"}, {"__name__": "rss"}) == "rss"


def test_rates_read_with_their_interval():
    growth = {
        "slope_bytes_per_min": 5.004 * MB,
        "ci_low_bytes_per_min": 4.9 * MB,
        "ci_high_bytes_per_min": 5.108 * MB,
    }
    assert rate_with_interval(growth) == "+5.00 ±0.10"
    tight = {"slope_bytes_per_min": 0.0, "ci_low_bytes_per_min": -1.0, "ci_high_bytes_per_min": 1.0}
    assert rate_with_interval(tight) == "+0.00 ±<0.001"
    unknown = {"slope_bytes_per_min": 0.0, "ci_low_bytes_per_min": -np.inf, "ci_high_bytes_per_min": np.inf}
    assert rate_with_interval(unknown) == "+0.00 ±?"


def test_a_small_curve_is_an_inline_svg_that_follows_the_series():
    t_s = np.arange(0.0, 6 * 3600, 15)
    svg = sparkline(t_s, 1e8 + t_s * 1000)
    assert svg.startswith("<svg") and "http" not in svg
    points = [tuple(map(float, p.split(","))) for p in svg.split('points="')[1].split('"')[0].split()]
    assert len(points) == 120
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert ys == sorted(ys, reverse=True)  # a rising series climbs the picture (y grows downward)
    # Drawn in tenths of a pixel: the curve spans the box, a pixel from each edge.
    assert (min(xs), max(xs)) == (SPARK_SCALE, (160 - 1) * SPARK_SCALE)
    assert (min(ys), max(ys)) == (SPARK_SCALE, (32 - 1) * SPARK_SCALE)
    assert 'viewBox="0 0 1600 320"' in svg
    assert sparkline(t_s[:1], t_s[:1]) == ""


def test_bins_are_the_means_and_medians_one_bin_at_a_time_would_give():
    rng = np.random.default_rng(7)
    for n in (2, 7, 119, 120, 121, 1441, 1000, 3333):
        t_s = np.cumsum(rng.choice([15.0, 15.0, 15.0, 600.0], n)) + 1.8e9  # some gaps
        values = np.round(rng.normal(4e8, 3e7, n))
        edges = np.linspace(0, n, min(120, n) + 1).astype(int)
        pairs = [(a, b) for a, b in itertools.pairwise(edges) if b > a]
        xs, ys = bin_medians(t_s, values, 120)
        assert xs.tolist() == [t_s[a:b].mean() for a, b in pairs]
        assert ys.tolist() == [np.median(values[a:b]) for a, b in pairs]
