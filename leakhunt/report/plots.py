"""matplotlib figures of runs and comparisons: RSS in MB against minutes.

Each picture is a `*_figure` function that builds a Figure (what the tests open) and a `plot_*`
function that writes it as a PNG and closes it. Uses the Agg backend so figures render on servers
without a display. Colours go by the bare verdict, the same as report.html's and the terminal's.
"""

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from leakhunt.report.decimate import min_max_envelope
from leakhunt.report.fit import elide_middle
from leakhunt.units import format_mb

if TYPE_CHECKING:  # a run's samples are a DataFrame; the fleet's figure, drawn here too, needs no pandas
    import pandas as pd

MB = 1e6
FIGURE_DPI = 110
RUN_COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
# report.html's verdict colours (html.py), so a panel reads as its table row does.
VERDICT_COLOURS = {"LEAK": "#bb0000", "STABLE": "#008800", "BOUNDED": "#aa6600", "INCONCLUSIVE": "#aa6600"}
UNKNOWN_COLOUR = "#555555"
BASELINE_GREY = "#8a8a8a"
# A comparison panel is ~350 px wide: more bins than that draw nothing more.
BAND_BINS = 300
MAX_PANEL_COLUMNS = 3


def verdict_colour(verdict: str | None) -> str:
    return VERDICT_COLOURS.get(str(verdict), UNKNOWN_COLOUR)


def minutes_label(time_axis: str) -> str:
    """The x axis of every run picture: a soak runs in simulated time, a watch in wall time."""
    return "simulated minutes" if time_axis == "t_sim_s" else "minutes"


def save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _minutes(samples: "pd.DataFrame", axis: str) -> np.ndarray:
    t = samples[axis].to_numpy(dtype=float)
    return (t - t[0]) / 60.0 if len(t) else t


def _fit_line(ax: Any, summary: dict[str, Any], minutes: np.ndarray, colour: str, label: str) -> None:
    growth = summary.get("growth") or {}
    slope = growth.get("slope_bytes_per_min")
    if slope is None or not len(minutes) or growth.get("intercept_bytes") is None:
        return
    start_min = growth.get("fit_start_s", 0.0) / 60.0
    xs = np.array([start_min, minutes[-1]])
    ys = (growth["intercept_bytes"] + slope * (xs - start_min)) / MB
    ax.plot(
        xs,
        ys,
        "--",
        color=colour,
        linewidth=1.4,
        label=f"{label} fit: {format_mb(slope, signed=True)} MB/min "
        f"[{format_mb(growth['ci_low_bytes_per_min'])}, {format_mb(growth['ci_high_bytes_per_min'])}]",
    )


_MARKED = ("limit_hit", "restart", "gap", "pid_reused", "connection_lost")


def _events(ax: Any, meta: dict[str, Any], first_s: float, colour: str, *, texts: bool = True) -> bool:
    """Cleanups, log lines and breaks as vertical lines; True when a cleanup was drawn."""
    labelled = False
    for event in meta.get("events", []):
        kind = event.get("kind")
        t_min = (event.get("t_sim_s", 0.0) - first_s) / 60.0
        if kind == "cleanup":
            ax.axvline(
                t_min, color=colour, alpha=0.25, linestyle=":", label=None if labelled else "cleanup runs"
            )
            labelled = True
        elif kind == "log":
            ax.axvline(t_min, color="green", alpha=0.5, linestyle="--", linewidth=0.8)
        elif kind in _MARKED:
            ax.axvline(t_min, color="black", alpha=0.6, linestyle="-.")
            if texts:
                ax.annotate(
                    event.get("text", kind),
                    (t_min, ax.get_ylim()[1]),
                    fontsize=7,
                    rotation=90,
                    va="top",
                    ha="right",
                )
    return labelled


def _context(ax: Any, meta: dict[str, Any], span_min: float) -> None:
    limit = meta.get("memory_limit_bytes")
    if limit:
        ax.axhline(limit / MB, color="black", linewidth=1.2, label=f"memory limit {limit / 1e9:.3g} GB")
    reference = (meta.get("scenario") or {}).get("reference")
    if reference:
        end_min = max(span_min, 1.0)
        if limit:
            end_min = min(
                end_min, max(0.0, (limit - reference["baseline_bytes"]) / reference["growth_bytes_per_min"])
            )
        xs = np.array([0.0, end_min])
        ax.plot(
            xs,
            (reference["baseline_bytes"] + reference["growth_bytes_per_min"] * xs) / MB,
            color="grey",
            linewidth=2,
            alpha=0.6,
            label=f"incident: {reference['baseline_bytes'] / MB:.0f} MB + "
            f"{reference['growth_bytes_per_min'] / MB:.0f} MB/min",
        )


def run_figure(samples: "pd.DataFrame", meta: dict[str, Any], summary: dict[str, Any]) -> Figure:
    """memory.png: the run in the incident's context (top) and close up with its fit (bottom)."""
    axis = meta.get("time_axis", "t_sim_s")
    minutes = _minutes(samples, axis)
    rss_mb = samples["rss_bytes"].to_numpy(dtype=float) / MB
    drawn_min, drawn_mb = min_max_envelope(minutes, rss_mb)
    first_s = float(samples[axis].iloc[0]) if len(samples) else 0.0
    label = meta.get("label", "run")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 7.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.2]}
    )
    top.plot(drawn_min, drawn_mb, color=RUN_COLOURS[0], linewidth=1.6, label=f"RSS ({label})")
    _context(top, meta, float(minutes[-1]) if len(minutes) else 0.0)
    top.set_ylim(bottom=0)
    top.set_ylabel("RSS (MB)")
    top.set_title(textwrap.fill(f"{label}: {summary.get('headline', '')}", 130), fontsize=8, loc="left")
    top.legend(fontsize=8, loc="upper left")
    bottom.plot(
        drawn_min, drawn_mb, color=RUN_COLOURS[0], linewidth=1.2, marker=".", markersize=2, label="RSS"
    )
    if samples.get("swap_bytes") is not None and samples["swap_bytes"].fillna(0).max() > 0:
        swap_mb = samples["swap_bytes"].fillna(0).to_numpy(dtype=float) / MB
        bottom.plot(*min_max_envelope(minutes, swap_mb), color="purple", label="swap")
    _fit_line(bottom, summary, minutes, "black", "robust")
    _events(bottom, meta, first_s, RUN_COLOURS[2])
    bottom.set_xlabel(minutes_label(axis))
    bottom.set_ylabel("RSS (MB), close up")
    bottom.legend(fontsize=8, loc="upper left")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_run(samples: "pd.DataFrame", meta: dict[str, Any], summary: dict[str, Any], path: Path) -> Path:
    return save(run_figure(samples, meta, summary), path)


# comparison.png


def replicate_band(
    curves: list[tuple[np.ndarray, np.ndarray]], bins: int = BAND_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(minutes, low, median, high) of replicates' (minutes, values) curves, binned on time.

    Per bin: the lowest and the highest value of any replicate (spikes kept, as the run figure's
    envelope keeps them), and the median of the replicates' bin means. Replicates of different
    lengths (one interrupted) count where they have points. Bins no replicate reaches are left out.
    """
    curves = [(np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for x, y in curves if len(x)]
    if not curves:
        empty = np.array([])
        return empty, empty, empty, empty
    span = max(float(x[-1]) for x, _ in curves)
    n_bins = max(1, min(bins, max(len(x) for x, _ in curves)))
    low = np.full(n_bins, np.inf)
    high = np.full(n_bins, -np.inf)
    x_sum, x_count = np.zeros(n_bins), np.zeros(n_bins)
    means = np.full((len(curves), n_bins), np.nan)
    for row, (x, y) in enumerate(curves):
        index = np.minimum((x / span * n_bins).astype(int), n_bins - 1) if span > 0 else np.zeros(len(x), int)
        np.minimum.at(low, index, y)
        np.maximum.at(high, index, y)
        np.add.at(x_sum, index, x)
        np.add.at(x_count, index, 1)
        sums, counts = np.zeros(n_bins), np.zeros(n_bins)
        np.add.at(sums, index, y)
        np.add.at(counts, index, 1)
        means[row, counts > 0] = sums[counts > 0] / counts[counts > 0]
    reached = x_count > 0
    # Only bins some replicate reached: nanmedian of an all-NaN column warns.
    median = np.nanmedian(means[:, reached], axis=0)
    return x_sum[reached] / x_count[reached], low[reached], median, high[reached]


def _group_curves(group: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray]]:
    curves = []
    for run in group:
        minutes = _minutes(run["samples"], run["meta"].get("time_axis", "t_sim_s"))
        curves.append((minutes, run["samples"]["rss_bytes"].to_numpy(dtype=float) / MB))
    return curves


def _panels(
    runs: list[dict[str, Any]], entries: list[dict[str, Any]] | None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(what the panel says, its runs): a comparison's entries with their replicates, matched by
    run directory; without entries, each run is its own panel, judged by its own summary."""
    if entries is None:
        return [({**run["summary"], "label": run["label"]}, [run]) for run in runs]
    by_dir = {str(run["run_dir"].path): run for run in runs}
    panels = []
    for entry in entries:
        dirs = entry.get("run_dirs") or [entry["run_dir"]]
        panels.append((entry, [by_dir[d] for d in dirs if d in by_dir]))
    return [(entry, group) for entry, group in panels if group]


def _effect_words(entry: dict[str, Any]) -> str:
    """What the variant does to the baseline's growth, in a few words for a small panel."""
    found = entry.get("effect")
    if not found:
        return ""
    if found.get("comparable") is False:
        return "another scenario: no fix's effect"
    if found.get("measurable") and found.get("percent") is not None:
        verb = "removes" if found["percent"] >= 0 else "adds"
        return f"{verb} {abs(found['percent']):.0f} % of the baseline's growth"
    if found.get("measurable"):
        return f"changes growth by {format_mb(-found['removed_bytes_per_min'], signed=True)} MB/min"
    return "no measurable effect"


def _panel_title(entry: dict[str, Any], labels: list[str]) -> str:
    label = entry["label"]
    if labels.count(label) > 1 and entry.get("run_dir"):
        label = f"{label} ({Path(entry['run_dir']).name})"  # two saved runs of one scenario
    verdict = entry.get("verdict_short") or entry.get("verdict", "?")
    slope = (entry.get("growth") or {}).get("slope_bytes_per_min")
    rate = f"{format_mb(slope, signed=True)} MB/min"
    return f"{elide_middle(label, 44)}\n{verdict} · {rate}"


def comparison_figure(runs: list[dict[str, Any]], entries: list[dict[str, Any]] | None = None) -> Figure:
    """comparison.png: one small panel per variant on shared axes, its replicates as a band (their
    min-max) around their median, the baseline repeated faintly in every other panel; each panel
    titled with its variant, verdict and growth, and coloured by the verdict.

    Each item of `runs` holds "label", "run_dir", "samples" (DataFrame), "meta" and "summary";
    `entries` are comparison.json's "runs" (pooled verdicts, effects), the first the baseline.
    """
    panels = _panels(runs, entries)
    n = max(1, len(panels))
    columns = 2 if n == 4 else min(n, MAX_PANEL_COLUMNS)
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.7 * columns, 1.0 + 2.6 * rows), sharex=True, sharey=True,
        squeeze=False, layout="constrained",
    )  # fmt: skip
    axes = list(axes.flat)
    base_band = replicate_band(_group_curves(panels[0][1])) if panels else None
    replicates = max((len(group) for _, group in panels), default=1)
    cleanups = False
    labels = [entry["label"] for entry, _ in panels]
    for index, (ax, (entry, group)) in enumerate(zip(axes, panels, strict=False)):
        colour = verdict_colour(entry.get("verdict"))
        if index and base_band is not None:
            x, low, median, high = base_band
            ax.fill_between(x, low, high, color=BASELINE_GREY, alpha=0.15, linewidth=0)
            ax.plot(x, median, color=BASELINE_GREY, linewidth=1.1)
        x, low, median, high = replicate_band(_group_curves(group))
        if len(group) > 1:
            ax.fill_between(x, low, high, color=colour, alpha=0.25, linewidth=0)
        ax.plot(x, median, color=colour, linewidth=1.8)
        first = group[0]
        first_s = float(first["samples"][first["meta"].get("time_axis", "t_sim_s")].iloc[0])
        cleanups |= _events(ax, first["meta"], first_s, colour, texts=False)
        ax.set_title(_panel_title(entry, labels), fontsize=9, color=colour, loc="left")
        words = _effect_words(entry)
        if words:
            ax.text(0.98, 0.04, words, transform=ax.transAxes, ha="right", va="bottom", fontsize=7.5)
        ax.grid(alpha=0.3)
        ax.set_xlim(left=0)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    # An empty slot leaves the panel above it without x tick labels: give them back.
    for index in range(max(0, len(panels) - columns), len(panels)):
        axes[index].xaxis.set_tick_params(labelbottom=True)
    axis = runs[0]["meta"].get("time_axis", "t_sim_s") if runs else "t_sim_s"
    fig.supxlabel(minutes_label(axis), fontsize=9)
    fig.supylabel("RSS (MB)", fontsize=9)
    handles = [Line2D([], [], color="#333333", linewidth=1.8)]
    names = [f"median of the {replicates} replicates" if replicates > 1 else "RSS"]
    if replicates > 1:
        handles.append(Patch(color="#333333", alpha=0.25, linewidth=0))
        names.append("their lowest to highest")
    if len(panels) > 1:
        handles.append(Line2D([], [], color=BASELINE_GREY, linewidth=1.1))
        names.append(f"{elide_middle(panels[0][0]['label'], 30)} (baseline)")
    if cleanups:
        handles.append(Line2D([], [], color="#333333", alpha=0.4, linestyle=":"))
        names.append("cleanup runs")
    # Above the panels, under the title: the key is read before the curves, and stays clear of
    # the x label.
    fig.legend(
        handles, names, loc="outside upper center", ncol=len(handles), fontsize=8, frameon=False,
        title="RSS of each run on shared axes; colour: the verdict", title_fontsize=9,
    )  # fmt: skip
    return fig


def plot_comparison(
    runs: list[dict[str, Any]], path: Path, entries: list[dict[str, Any]] | None = None
) -> Path:
    return save(comparison_figure(runs, entries), path)


# What grows: types.png and holders.png


def types_figure(summaries: list[dict[str, Any]], names: list[str], *, time_axis: str = "t_sim_s") -> Figure:
    """types.png: the size of the fastest-growing types over time, stacked."""
    summaries = sorted((s for s in summaries if "types" in s), key=lambda s: s["t_sim_s"])
    # Probes are timed on the run's clock, which starts at 0 with its first sample, as memory.png's.
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    stacks = []
    for name in names:
        sizes = [
            next((row["size_bytes"] for row in s.get("types") or [] if row["type"] == name), 0)
            for s in summaries
        ]
        stacks.append(np.array(sizes, dtype=float) / MB)
    fig, ax = plt.subplots(figsize=(9, 4))
    handles, labels = [], []
    if stacks:
        handles += ax.stackplot(t_min, *stacks, colors=RUN_COLOURS[: len(names)], alpha=0.8)
        labels += names
    heap = np.array([s.get("py_heap_bytes", 0) for s in summaries], dtype=float) / MB
    handles += ax.plot(t_min, heap, color="black", linewidth=1.2)
    labels.append("all Python objects the probe sees")
    ax.set_xlim(left=0)
    ax.set_xlabel(minutes_label(time_axis))
    ax.set_ylabel("size (MB)")
    ax.set_title("What grows: the fastest-growing types, stacked", fontsize=10)
    # Labels given with their handles: a name like `_io.BytesIO` would be dropped otherwise.
    ax.legend(handles, labels, fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_types(
    summaries: list[dict[str, Any]], names: list[str], path: Path, *, time_axis: str = "t_sim_s"
) -> Path:
    return save(types_figure(summaries, names, time_axis=time_axis), path)


def holders_figure(points: list[dict[str, Any]], *, time_axis: str = "t_sim_s") -> Figure:
    """holders.png: where the growth is held, each accumulation point's bytes and items over time,
    on memory.png's x axis (from 0, its unit)."""
    fig, (held, items) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    handles, labels = [], []
    for colour, point in zip(RUN_COLOURS, points, strict=False):
        minutes = np.array([row["t_s"] for row in point["series"]], dtype=float) / 60.0
        handles += held.plot(minutes, [row["bytes"] / MB for row in point["series"]], "o-", color=colour)
        # Both ends kept, as the terminal keeps them: a path has no spaces to shorten it at.
        labels.append(elide_middle(point["pattern"], 90))
        items.plot(minutes, [row["count"] for row in point["series"]], "o-", color=colour)
    held.set_ylabel("held (MB)")
    items.set_ylabel("items")
    items.set_xlabel(minutes_label(time_axis))
    items.set_xlim(left=0)
    held.set_title("Where it is held: each accumulation point at each probe", fontsize=10)
    if handles:
        # Given with their handles: matplotlib drops a label starting with "_" (every
        # `__main__...` path) and would draw an empty legend and warn on stderr.
        held.legend(handles, labels, fontsize=7, loc="upper left")
    for ax in (held, items):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_holders(points: list[dict[str, Any]], path: Path, *, time_axis: str = "t_sim_s") -> Path:
    return save(holders_figure(points, time_axis=time_axis), path)
