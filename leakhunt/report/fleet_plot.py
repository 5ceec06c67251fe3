"""worst.png of `leakhunt fleet`: the worst series drawn large, the rest of those drawn small below.

Each panel shows the series, leakhunt's slope through its last value (coloured by the verdict, as
in report.html), predict_linear's line and the limit. predict_linear extrapolates a straight line
over its horizon (4 h by default), which on a 1 h range is four times the data and on a falling
series runs below zero: drawn whole, it sets the axes and the series is a stub. So its line is cut
to the view the data sets: at most a third of the data's span beyond the range's end (the data
fill at least 75 % of the width), never below zero, never far above the data or the limit. Where
it ends after the view, its label still gives its value at the full horizon.
"""

import math
from pathlib import Path
from typing import Any

import numpy as np

from leakhunt.report.fleet import common_labels, rate_with_interval, short_name
from leakhunt.report.plots import plt, save, verdict_colour
from leakhunt.units import format_bytes, format_duration

MB = 1e6
NO_LIMIT = "no limit set"  # limit_text's words: "to limit no limit set" would not read
DATA_SHARE_OF_WIDTH = 0.75
# Above the data: room for the legend; the limit is drawn when it lies within this much more.
HEADROOM_SHARE = 0.30
LIMIT_REACH_SHARE = 0.8
FOOT_SHARE = 0.08
SMALL_COLUMNS = 4
SERIES_COLOUR = "#333333"
PREDICT_COLOUR = "#8e44ad"


def x_end_min(span_min: float, horizon_min: float) -> float:
    """Where the drawn extrapolation ends: the horizon, or as far as keeps the data filling
    `DATA_SHARE_OF_WIDTH` of the width."""
    return span_min + min(horizon_min, span_min * (1 / DATA_SHARE_OF_WIDTH - 1))


def y_view_mb(rss_mb: np.ndarray, limit_mb: float | None) -> tuple[float, float, bool]:
    """(bottom, top, limit shown) for a panel: the data with a little foot and a legend's headroom,
    stretched to the limit only when it lies near; never below zero."""
    low, high = float(np.nanmin(rss_mb)), float(np.nanmax(rss_mb))
    spread = max(high - low, 0.02 * abs(high), 1.0)
    bottom = max(0.0, low - FOOT_SHARE * spread)
    top = high + HEADROOM_SHARE * spread
    shown = bool(limit_mb) and limit_mb <= high + LIMIT_REACH_SHARE * spread
    if shown:
        top = max(top, limit_mb + FOOT_SHARE * spread)
    return bottom, top, shown


def clip_line(
    x: tuple[float, float], y: tuple[float, float], x_view: tuple[float, float], y_view: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of the straight segment from (x[0], y[0]) to (x[1], y[1]) inside the view box;
    None where none of it is."""
    slope = (y[1] - y[0]) / (x[1] - x[0])
    low, high = max(x[0], x_view[0]), min(x[1], x_view[1])
    if slope:
        at_bottom, at_top = x[0] + (y_view[0] - y[0]) / slope, x[0] + (y_view[1] - y[0]) / slope
        low, high = max(low, min(at_bottom, at_top)), min(high, max(at_bottom, at_top))
    elif not y_view[0] <= y[0] <= y_view[1]:
        return None
    if high <= low:
        return None
    xs = np.array([low, high])
    return xs, y[0] + (xs - x[0]) * slope


def _panel(ax: Any, result: Any, summary: dict[str, Any], x_view: tuple[float, float], large: bool) -> None:
    window = summary["window"]
    start_s, end_s, step_s = window["start_s"], window["end_s"], window["step_s"]
    minutes = (result.t_s - start_s) / 60
    rss_mb = result.rss_bytes / MB
    limit_mb = result.limit_bytes / MB if result.limit_bytes else None
    bottom, top, limit_shown = y_view_mb(rss_mb, limit_mb)
    colour = verdict_colour(str(result.verdict))
    # A gap is drawn as one: no line across it.
    holes = np.flatnonzero(np.diff(result.t_s) > 1.5 * step_s) + 1
    ax.plot(
        np.insert(minutes, holes, np.nan), np.insert(rss_mb, holes, np.nan),
        color=SERIES_COLOUR, lw=1.2 if large else 0.8, label="series", zorder=3,
    )  # fmt: skip
    slope = result.growth.slope_bytes_per_min
    # As the table's column reads it.
    rate = f"{rate_with_interval(result.growth.to_dict())} MB/min"
    # leakhunt's slope through the last value: the rate it judges, drawn where it ends.
    last_min = minutes[-1]
    tail = np.array([max(minutes[0], last_min - 60), last_min])
    ax.plot(
        tail, rss_mb[-1] + (tail - last_min) * slope / MB, color=colour, lw=2.6 if large else 1.8, alpha=0.8,
        label=f"leakhunt: {result.judgement.short_label}, {rate}",
    )  # fmt: skip
    pl = result.predict
    if pl.value_bytes is not None and pl.slope_bytes_per_min is not None:
        pl_x = ((end_s - pl.window_s - start_s) / 60, (end_s + pl.horizon_s - start_s) / 60)
        pl_y = tuple(
            (pl.value_bytes + (x * 60 + start_s - end_s - pl.horizon_s) / 60 * pl.slope_bytes_per_min) / MB
            for x in pl_x
        )
        drawn = clip_line(pl_x, pl_y, x_view, (bottom, top))
        label = f"predict_linear: {format_bytes(pl.value_bytes)} in {format_duration(pl.horizon_s)}"
        label += ", ALERT" if pl.alerts else ""
        if drawn is not None:
            ax.plot(*drawn, color=PREDICT_COLOUR, lw=1.5 if large else 1.1, ls="--", label=label)
    if limit_shown:
        ax.axhline(
            limit_mb, color="#555555", ls=":", lw=1.2, label=f"limit {format_bytes(result.limit_bytes)}"
        )
    elif limit_mb:
        ax.text(
            0.99, 0.98, f"limit {format_bytes(result.limit_bytes)}: above the view", transform=ax.transAxes,
            ha="right", va="top", fontsize=8 if large else 6.5, color="#555555",
        )  # fmt: skip
    for restart in result.restarts:
        ax.axvline((restart["t_s"] - start_s) / 60, color="#777777", lw=1, ls="-.")
    ax.set_xlim(*x_view)
    ax.set_ylim(bottom, top)
    ax.grid(alpha=0.3)


def worst_figure(results: list[Any], summary: dict[str, Any]) -> Any:
    """The first of `results` large, with its legend; the others small, titled with their rank,
    verdict and growth, on the same x axis."""
    window = summary["window"]
    span_min = (window["end_s"] - window["start_s"]) / 60
    x_view = (0.0, x_end_min(span_min, summary["predict_linear"]["horizon_s"] / 60))
    common = common_labels(summary["series"])
    rank_of = {item["name"]: rank for rank, item in enumerate(summary["series"], 1)}
    small = results[1:]
    rows = math.ceil(len(small) / SMALL_COLUMNS)
    columns = math.ceil(len(small) / rows) if rows else 1  # 6 as 3 + 3, not 4 + 2
    fig = plt.figure(figsize=(11, 4.4 + 2.2 * rows), layout="constrained")
    grid = fig.add_gridspec(1 + rows, columns, height_ratios=[2.2] + [1] * rows)
    big = fig.add_subplot(grid[0, :])
    worst = results[0]
    _panel(big, worst, summary, x_view, large=True)
    to_limit = worst.to_dict(window["step_s"])["to_limit"]
    big.set_title(
        f"#{rank_of.get(worst.name, 1)} {short_name(worst.labels, common)[:90]}: "
        f"{worst.judgement.short_label}, {to_limit if to_limit == NO_LIMIT else 'to limit ' + to_limit}",
        fontsize=10, color=verdict_colour(str(worst.verdict)), loc="left",
    )  # fmt: skip
    big.set_ylabel("MB")
    big.set_xlabel("minutes from the start of the range", fontsize=9)
    big.legend(fontsize=8, loc="upper left")
    for index, result in enumerate(small):
        ax = fig.add_subplot(grid[1 + index // columns, index % columns], sharex=big)
        _panel(ax, result, summary, x_view, large=False)
        rate = f"{rate_with_interval(result.growth.to_dict())} MB/min"
        ax.set_title(
            f"#{rank_of.get(result.name, index + 2)} {short_name(result.labels, common)[:40]}\n"
            f"{result.judgement.short_label} · {rate}",
            fontsize=8, color=verdict_colour(str(result.verdict)), loc="left",
        )  # fmt: skip
        ax.tick_params(labelsize=7)
    return fig


def plot_worst(results: list[Any], summary: dict[str, Any], path: Path) -> Path:
    return save(worst_figure(results, summary), path)
