"""How a fleet is shown: the terminal table, the figures of the worst series, the HTML report.

Names: a series is its label set. Labels every series shares are said once above the table, so
each row shows only the labels that tell it apart (`instance="b"` rather than the whole set).
Every series gets a small curve, drawn as inline SVG (a thousand PNGs would take a minute to
render and weigh megabytes); the worst few are drawn in one matplotlib figure, the worst large,
with predict_linear's line and the limit beside leakhunt's fit (leakhunt/report/fleet_plot.py).
"""

import html
import math
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from leakhunt.analysis.growth import run_means_and_medians
from leakhunt.report.console import (
    STATUS_STYLE,
    print_prose,
    print_where,
    status_markup,
    verdict_text,
    width_of,
)
from leakhunt.report.fit import Column, fit_table, longest_piece, print_lines, separated_names
from leakhunt.report.html import inline_png, interval_html, page, status_html, table, verdict_html
from leakhunt.units import format_bytes, format_duration, format_mb

MB = 1e6
WORST_DRAWN = 4
MAX_CRITERIA_SHOWN = 20  # series whose criteria are spelled out under the table
SPARK_POINTS = 120


def common_labels(series: list[dict[str, Any]]) -> dict[str, str]:
    """Labels (the metric name included) with one value across every series."""
    if len(series) < 2:
        return {}
    first = series[0]["labels"]
    return {k: v for k, v in first.items() if all(s["labels"].get(k) == v for s in series[1:])}


def short_name(labels: dict[str, str], common: dict[str, str]) -> str:
    """The labels that tell this series apart; the full name when nothing does."""
    rest = {k: v for k, v in sorted(labels.items()) if k not in common}
    if not rest:
        return labels.get("__name__", "") or "{}"
    text = ",".join(f'{k}="{v}"' for k, v in rest.items() if k != "__name__")
    name = rest.get("__name__", "")
    return f"{name}{{{text}}}" if name and text else name or text


def _mb_per_min(value: float) -> str:
    return f"{value / MB:+,.0f}" if abs(value) >= 100 * MB else f"{value / MB:+.2f}"


def rate_with_interval(growth: dict[str, Any]) -> str:
    """`+10.00 ±0.01` (MB/min): the fits' intervals are symmetric; `?` where there is none."""
    slope, low, high = (
        growth[k] for k in ("slope_bytes_per_min", "ci_low_bytes_per_min", "ci_high_bytes_per_min")
    )
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{_mb_per_min(slope)} ±?"
    half = max(high - slope, slope - low)
    # A tight interval keeps one significant digit rather than reading "±0.00".
    shown = _mb_per_min(half)[1:]
    if half < 0.001 * MB:
        shown = "<0.001"
    elif half < 0.005 * MB:
        shown = f"{half / MB:.1g}"
    return f"{_mb_per_min(slope)} ±{shown}"


def _pl_text(item: dict[str, Any]) -> str:
    pl = item["predict_linear"]
    if pl["value_bytes"] is None:
        return "n/a"
    mark = "ALERT " if pl["alerts"] else ""
    return f"{mark}{format_bytes(pl['value_bytes'])}"


FLEET_COLUMNS = [
    Column("verdict"),
    Column("MB/min ±95 %", "right"),
    Column("to limit", "right", phrase=True),
    Column("pred_lin", "right"),
]
# A series column narrower than this, or than its widest label, puts the names above the figures.
SERIES_NAME_MIN = 12


def _marks(item: dict[str, Any]) -> str:
    marks = ""
    if item["restarts"]:
        marks += f" ({len(item['restarts'])} restart{'s' if len(item['restarts']) > 1 else ''})"
    if item["gaps"]:
        marks += " (gaps)"
    return marks


def fleet_table(summary: dict[str, Any], width: int) -> list[Text]:
    """One row per series, ranked: its name by the labels that tell it apart (wrapped between
    labels, never inside one), its verdict, rate, time to limit and predict_linear's value."""
    series = summary["series"]
    common = common_labels(series)
    show_expect = bool(summary.get("expect"))
    columns = FLEET_COLUMNS + ([Column("expect")] if show_expect else [])
    names, rows = [], []
    for item in series:
        names.append(short_name(item["labels"], common) + _marks(item))
        row = [
            verdict_text(item),
            Text(rate_with_interval(item["growth"])),
            Text(item["to_limit"]),
            Text(_pl_text(item), style="bold" if item["disagrees"] else ""),
        ]
        if show_expect:
            failed = [c for c in item["criteria"] if c["status"] != "PASS"]
            status = failed[0]["status"] if failed else "PASS"
            row.append(Text(status, style=STATUS_STYLE.get(status, STATUS_STYLE["FAIL"])))
        rows.append(row)
    return fit_table(
        "series", names, columns, rows, width,
        fit_names=separated_names, name_min=max(SERIES_NAME_MIN, longest_piece(names)),
    )  # fmt: skip


def print_fleet(console: Console, summary: dict[str, Any], run_dir: str | None) -> None:
    common = common_labels(summary["series"])
    if common:
        print_prose(console, escape(f"series of {series_text(common)}"), hang="  ")
    print_lines(console, fleet_table(summary, width_of(console)))
    pl = summary["predict_linear"]
    print_prose(
        console,
        f"pred_lin: predict_linear(x[{format_duration(pl['window_s'])}], {format_duration(pl['horizon_s'])}) "
        "at the end; ALERT where it passes the limit; bold where it and leakhunt disagree.",
    )
    print_prose(console, escape(summary["headline"] + "."))
    not_passed = [item for item in summary["series"] if not item["criteria_passed"]]
    for item in not_passed[:MAX_CRITERIA_SHOWN]:
        for criterion in item["criteria"]:
            if criterion["status"] != "PASS":
                print_prose(
                    console,
                    f"  {status_markup(criterion['status'])} {escape(item['name'])}: "
                    f"{escape(criterion['text'])}: {escape(criterion['detail'])}",
                    hang="    ",
                )
    if len(not_passed) > MAX_CRITERIA_SHOWN:
        more = len(not_passed) - MAX_CRITERIA_SHOWN
        print_prose(console, f"  ... and {more} more series: see summary.json")
    if summary["series_with_gaps"]:
        print_prose(
            console,
            escape(
                f"gaps (judged on the points present): {', '.join(summary['series_with_gaps'][:5])}"
                + (" ..." if len(summary["series_with_gaps"]) > 5 else "")
            ),
            hang="  ",
        )
    if run_dir:
        print_where(console, "report", f"{run_dir}/report.html")


def series_text(labels: dict[str, str]) -> str:
    """`rss{job="api"}`: a label set as PromQL writes it."""
    shared = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    name = labels.get("__name__", "")
    return f"{name}{{{shared}}}" if shared else name


def plot_worst(results: list[Any], summary: dict[str, Any], path: Path) -> Path:
    """worst.png: the first of `results` large, the others small (see fleet_plot)."""
    # matplotlib loads only when a report is written, not for the table.
    from leakhunt.report.fleet_plot import plot_worst as draw

    return draw(results, summary, path)


def bin_medians(t_s: np.ndarray, values: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to `n_bins` equal-count bins in order: each bin's mean time and median value.

    Bins of one count are rows of one matrix, their means and medians taken at once: the same
    numbers as one bin at a time, without a Python loop over a thousand series' bins."""
    edges = np.linspace(0, len(values), min(n_bins, len(values)) + 1).astype(int)
    return run_means_and_medians(t_s, values, edges[:-1], np.diff(edges))


# The curve is drawn in tenths of a pixel, as whole numbers: as fine as one decimal, and a
# thousand curves' points take a third less of report.html.
SPARK_SCALE = 10


def sparkline(t_s: np.ndarray, values: np.ndarray, *, width: int = 160, height: int = 32) -> str:
    """A small inline SVG curve (medians of up to `SPARK_POINTS` bins)."""
    if len(values) < 2:
        return ""
    xs, ys = bin_medians(t_s, values, SPARK_POINTS)
    x = (xs - xs[0]) / max(float(np.ptp(xs)), 1e-9) * (width - 2) + 1
    y = height - 1 - (ys - ys.min()) / max(float(np.ptp(ys)), 1e-9) * (height - 2)
    x_units = np.rint(x * SPARK_SCALE).astype(int).tolist()
    y_units = np.rint(y * SPARK_SCALE).astype(int).tolist()
    points = " ".join(f"{a},{b}" for a, b in zip(x_units, y_units, strict=True))
    view = f"0 0 {width * SPARK_SCALE} {height * SPARK_SCALE}"
    return (
        f'<svg width="{width}" height="{height}" viewBox="{view}" role="img"><polyline fill="none" '
        f'stroke="#1f77b4" stroke-width="{SPARK_SCALE}" points="{points}"/></svg>'
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def render_fleet_html(summary: dict[str, Any], results: list[Any], figure: Path | None) -> str:
    common = common_labels(summary["series"])
    pl = summary["predict_linear"]
    parts = [
        f"<h1>leakhunt fleet: {_e(summary['query'])}</h1>",
        f'<p class="headline">{_e(summary["headline"])}.</p>',
        f"<p>{_e(summary['prometheus'])}, {format_duration(summary['range_s'])} at a "
        f"{summary['window']['step_s']:g} s step. Verdicts as in <code>watch</code>: STABLE when the "
        f"whole 95 % CI is at or below {_e(summary['stable_bound_text'])}, LEAK when its low end is "
        "above. predict_linear: <code>predict_linear(x["
        f"{format_duration(pl['window_s'])}], {pl['horizon_s']:.0f}) &gt; limit</code> at the end of the "
        f"range; it disagrees with leakhunt on <b>{pl['disagreements']}</b> series (leakhunt alerts "
        f"when LEAK reaches the limit within the same {format_duration(pl['horizon_s'])}).</p>",
    ]
    if common:
        parts.append(f"<p>Labels every series shares: <code>{_e(series_text(common))}</code></p>")
    if figure is not None:
        parts.append("<h2>The worst series</h2>" + inline_png(figure))
    show_expect = bool(summary.get("expect"))
    header = [
        "#",
        "series",
        "curve",
        "verdict",
        "MB/min",
        "95 % CI",
        "to limit",
        "predict_linear",
        "disagree",
    ]
    header += ["expect"] if show_expect else []
    rows = []
    by_name = {r.name: r for r in results}
    for rank, item in enumerate(summary["series"], 1):
        growth = item["growth"]
        result = by_name[item["name"]]
        # Restarts and gaps beside the name, as the terminal's table has them.
        marks = _marks(item).strip()
        if item["gaps"]:
            marks = marks.replace("(gaps)", f"(gaps: {item['missing_s'] / 60:.1f} min missing)")
        row = [
            str(rank),
            f'<span title="{_e(item["name"])}">'
            + _e(short_name(item["labels"], common)).replace(",", ",<wbr>")
            + "</span>"
            + (f"<br><small>{_e(marks)}</small>" if marks else ""),
            sparkline(result.t_s, result.rss_bytes),
            verdict_html(item),
            format_mb(growth["slope_bytes_per_min"], signed=True),
            interval_html(
                growth["ci_low_bytes_per_min"],
                growth["ci_high_bytes_per_min"],
                lambda value: format_mb(value, signed=True),
            ),
            _e(item["to_limit"]),
            _e(_pl_text(item)),
            "<b>yes</b>" if item["disagrees"] else "",
        ]
        if show_expect:
            failed = [c for c in item["criteria"] if c["status"] != "PASS"]
            row.append(
                status_html(failed[0]["status"]) + ": " + _e(failed[0]["detail"])
                if failed
                else status_html("PASS")
            )
        rows.append(row)
    parts.append("<h2>Every series, ranked by time to limit</h2>" + table(header, rows, num=(0, 4, 6, 7)))
    parts.append("<h2>How each was judged</h2><ul>")
    for item in summary["series"]:
        parts.append(
            f"<li><code>{_e(item['name'])}</code>: {verdict_html(item, item.get('verdict_label'))}, "
            f"{_e(item['verdict_reason'])}. {_e(item['method'])}.</li>"
        )
    parts.append("</ul>")
    return page(f"leakhunt fleet: {summary['query']}", "".join(parts))


def write_fleet_report(summary: dict[str, Any], results: list[Any], out: Path) -> Path:
    """report.html (self-contained) and worst.png in `out`."""
    # The worst few, and where predict_linear and leakhunt disagree: the report shows both.
    drawn = results[:WORST_DRAWN]
    drawn += [r for r in results[WORST_DRAWN:] if r.disagrees][:WORST_DRAWN]
    figure = plot_worst(drawn, summary, out / "worst.png") if drawn else None
    path = out / "report.html"
    path.write_text(render_fleet_html(summary, results, figure))
    return path
