"""worst.png of `leakhunt fleet` (leakhunt/report/fleet_plot.py), opened as a Figure and read back
as a PNG.

- The worst series is drawn large, on its own axis with the only legend; the rest drawn small
  below it on the same x axis, each titled with its rank, verdict words and growth, coloured by
  its verdict.
- predict_linear's line is cut to where it means something: no further past the range's end than
  keeps the data filling 75 % of the width, never below zero, never beyond the view the data set;
  its label still gives its value at the full horizon.
- The data fill most of each panel, whatever the extrapolation does.
- Nothing warns: every matplotlib warning fails these tests.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex

from leakhunt.fleet.analyse import FleetOptions, analyse_series, rank
from leakhunt.fleet.prometheus import Series, aligned_window
from leakhunt.fleet.run import summarize
from leakhunt.report.fleet import plot_worst
from leakhunt.report.fleet_plot import (
    DATA_SHARE_OF_WIDTH,
    PREDICT_COLOUR,
    SERIES_COLOUR,
    clip_line,
    worst_figure,
    x_end_min,
    y_view_mb,
)
from leakhunt.report.plots import verdict_colour
from leakhunt.units import format_bytes
from tests.helpers import fleet_series
from tests.helpers.figures import count_panels, ink_share, pixels

pytestmark = pytest.mark.filterwarnings("error")
MB = 1e6
RANGE_S = 3600.0  # an hour against predict_linear's 4 h horizon: drawn whole, the data would be a fifth


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fleet():
    """The fleet tests' shapes over one hour, and a service draining a cache (its predict_linear
    runs far below zero), analysed as `leakhunt fleet` does."""
    end_s = 1.7e9
    t_s = fleet_series.grid(end_s, RANGE_S)
    series = [
        Series(
            {"__name__": "rss", "shape": "leak", "rate": f"{rate / MB:g}"},
            t_s,
            fleet_series.leak(t_s, rate, seed),
        )
        for seed, rate in enumerate(fleet_series.RATES_BYTES_PER_MIN)
    ]
    series += [Series({"__name__": "rss", "shape": n}, t_s, f(t_s)) for n, f in fleet_series.FOOLING.items()]
    draining = np.maximum(100 * MB, 900 * MB - (t_s - t_s[0]) / 60 * 12 * MB)
    series.append(Series({"__name__": "rss", "shape": "draining"}, t_s, draining))
    options = FleetOptions(window=aligned_window(t_s[0], t_s[-1], 15), limit_bytes=fleet_series.LIMIT_BYTES)
    results = rank([analyse_series(one, options) for one in series])
    return results, summarize(results, "rss", options, "http://127.0.0.1:9090", None, None)


def _drain_first(results):
    drain = next(r for r in results if r.labels["shape"] == "draining")
    return [drain] + [r for r in results if r is not drain]


def _predict_lines(ax):
    return [line for line in ax.get_lines() if to_hex(line.get_color()) == PREDICT_COLOUR]


def _series_line(ax):
    return next(line for line in ax.get_lines() if to_hex(line.get_color()) == SERIES_COLOUR)


def _area(ax) -> float:
    box = ax.get_position()
    return box.width * box.height


def test_the_extrapolation_leaves_the_data_most_of_the_width():
    assert x_end_min(60, 240) == pytest.approx(80)  # not 300
    assert x_end_min(360, 240) == pytest.approx(480)
    assert x_end_min(600, 30) == pytest.approx(630)  # a short horizon is drawn whole
    assert 60 / x_end_min(60, 240) == pytest.approx(DATA_SHARE_OF_WIDTH)


def test_a_line_is_cut_where_it_leaves_the_view():
    falling = clip_line((0, 10), (100, -100), (0, 20), (0, 200))
    np.testing.assert_allclose(falling[0], [0, 5])
    np.testing.assert_allclose(falling[1], [100, 0])
    rising = clip_line((0, 100), (0, 1000), (0, 50), (0, 200))
    np.testing.assert_allclose(rising[0], [0, 20])
    np.testing.assert_allclose(rising[1], [0, 200])
    flat = clip_line((-10, 100), (5, 5), (0, 50), (0, 200))
    np.testing.assert_allclose(flat[0], [0, 50])
    assert clip_line((0, 10), (300, 400), (0, 20), (0, 200)) is None  # above the view throughout
    # A flat line on the view's edge (a predict_linear of zero at the bottom) is drawn.
    at_zero = clip_line((0, 10), (0, 0), (0, 20), (0, 200))
    np.testing.assert_allclose(at_zero[0], [0, 10])
    np.testing.assert_allclose(at_zero[1], [0, 0])


def test_the_view_is_the_datas_and_takes_in_the_limit_only_when_near():
    rss_mb = np.linspace(500, 1000, 50)
    bottom, top, shown = y_view_mb(rss_mb, 1200)
    assert shown and top > 1200 and bottom >= 0
    bottom, top, shown = y_view_mb(rss_mb, 6000)
    assert not shown and 500 / (top - bottom) > 0.5
    assert y_view_mb(np.linspace(50, 0, 50), None)[0] == 0  # a foot, but not below zero


def test_the_worst_is_drawn_large_and_the_rest_small_below(fleet):
    results, summary = fleet
    drawn = results[:7]
    fig = worst_figure(drawn, summary)
    big, *small = fig.axes
    assert len(small) == len(drawn) - 1
    fig.canvas.draw()
    for ax in small:
        assert big.get_position().height > 1.5 * ax.get_position().height
        assert _area(big) > 5 * _area(ax)
        assert big.get_shared_x_axes().joined(big, ax)
        assert ax.get_legend() is None
    assert 3 <= len(big.get_legend().get_texts()) <= 5
    assert big.get_title(loc="left").startswith('#1 rate="10",shape="leak": LEAK')
    for position, (ax, result) in enumerate(zip(fig.axes, drawn, strict=True), 1):
        title = ax.get_title(loc="left")
        assert title.startswith(f"#{position} ") and result.judgement.short_label in title
        assert to_hex(ax._left_title.get_color()) == verdict_colour(str(result.verdict))
        (judged,) = [line for line in ax.get_lines() if line.get_label().startswith("leakhunt: ")]
        assert to_hex(judged.get_color()) == verdict_colour(str(result.verdict))


def test_predict_linear_is_clipped_and_the_data_fill_each_panel(fleet):
    results, summary = fleet
    drawn = _drain_first(results)[:5]
    fig = worst_figure(drawn, summary)
    span_min = (summary["window"]["end_s"] - summary["window"]["start_s"]) / 60
    for ax in fig.axes:
        left, right = ax.get_xlim()
        bottom, top = ax.get_ylim()
        assert left == 0 and right == pytest.approx(span_min / DATA_SHARE_OF_WIDTH)
        assert bottom >= 0
        (predict,) = _predict_lines(ax)
        x, y = predict.get_xdata(), predict.get_ydata()
        assert x.min() >= left and x.max() <= right + 1e-9
        assert y.min() >= bottom - 1e-9 and y.max() <= top + 1e-9
        series = _series_line(ax)
        data_y = series.get_ydata()[np.isfinite(series.get_ydata())]
        assert np.ptp(series.get_xdata()) / (right - left) >= DATA_SHARE_OF_WIDTH - 0.01
        assert np.ptp(data_y) / (top - bottom) > 0.45
    # The draining series: its line stops at the bottom of the view, well before the horizon, and
    # its label still says where predict_linear ends up.
    (predict,) = _predict_lines(fig.axes[0])
    assert drawn[0].predict.value_bytes < 0
    assert predict.get_ydata()[-1] == pytest.approx(fig.axes[0].get_ylim()[0])
    assert predict.get_xdata()[-1] < fig.axes[0].get_xlim()[1]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"predict_linear: {format_bytes(drawn[0].predict.value_bytes)} in 4 h" in labels


def test_worst_png_shows_every_panel_with_its_curve(fleet, tmp_path):
    results, summary = fleet
    drawn = results[:4]
    path = plot_worst(drawn, summary, tmp_path / "worst.png")
    height, width = pixels(path).shape[:2]
    assert width >= 1000 and height >= 600
    assert count_panels(path) == len(drawn)
    fig = worst_figure(drawn, summary)
    fig.savefig(tmp_path / "again.png", dpi=110)
    big, *small = fig.axes
    assert ink_share(tmp_path / "again.png", fig, big) > 0.01
    for ax in small:
        assert ink_share(tmp_path / "again.png", fig, ax) > 0.01
    # One series alone: one panel, still with its legend.
    alone = worst_figure(results[:1], summary)
    assert len(alone.axes) == 1 and alone.axes[0].get_legend() is not None


def test_a_series_without_a_limit_says_so_once(fleet):
    _, summary = fleet
    t_s = fleet_series.grid(1.7e9, RANGE_S)
    options = FleetOptions(window=aligned_window(t_s[0], t_s[-1], 15))
    result = analyse_series(Series({"__name__": "rss"}, t_s, fleet_series.leak(t_s, 5 * MB, 1)), options)
    fig = worst_figure([result], summary)
    assert fig.axes[0].get_title(loc="left") == "#1 rss: LEAK, fast, no limit set"
    assert not any(t.get_text().startswith("limit") for t in fig.axes[0].texts)


def test_leakhunts_slope_is_drawn_through_the_last_value_over_the_last_hour(fleet):
    results, summary = fleet
    fig = worst_figure(results[:2], summary)
    for ax, result in zip(fig.axes, results[:2], strict=True):
        (judged,) = [line for line in ax.get_lines() if line.get_label().startswith("leakhunt: ")]
        minutes = (result.t_s - summary["window"]["start_s"]) / 60
        last_mb = result.rss_bytes[-1] / MB
        slope_mb = result.growth.slope_bytes_per_min / MB
        # The range is an hour: the line spans it, from the first sample to the last.
        np.testing.assert_allclose(judged.get_xdata(), [minutes[0], minutes[-1]])
        np.testing.assert_allclose(
            judged.get_ydata(), [last_mb - (minutes[-1] - minutes[0]) * slope_mb, last_mb]
        )
    rate = next(
        t.get_text() for t in fig.axes[0].get_legend().get_texts() if t.get_text().startswith("leakhunt")
    )
    assert rate.endswith(" MB/min") and "±" in rate


def test_the_limit_is_a_line_when_near_and_words_when_above_the_view(fleet):
    results, summary = fleet
    near = [r for r in results if y_view_mb(r.rss_bytes / MB, r.limit_bytes / MB)[2]]
    far = [r for r in results if not y_view_mb(r.rss_bytes / MB, r.limit_bytes / MB)[2]]
    assert near and far
    ax = worst_figure([near[0]], summary).axes[0]
    (limit,) = [line for line in ax.get_lines() if line.get_label().startswith("limit ")]
    assert limit.get_label() == f"limit {format_bytes(near[0].limit_bytes)}"
    np.testing.assert_allclose(limit.get_ydata(), [near[0].limit_bytes / MB] * 2)
    ax = worst_figure([far[0]], summary).axes[0]
    assert [t.get_text() for t in ax.texts] == [f"limit {format_bytes(far[0].limit_bytes)}: above the view"]
    assert not [line for line in ax.get_lines() if line.get_label().startswith("limit ")]
