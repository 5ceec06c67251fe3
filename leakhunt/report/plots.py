"""matplotlib figures of runs and comparisons: RSS in MB against minutes.

Uses the Agg backend so figures render on servers without a display.
"""

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from leakhunt.report.decimate import min_max_envelope
from leakhunt.units import format_mb

MB = 1e6
FIGURE_DPI = 110
RUN_COLOURS = ("#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")


def _minutes(samples: pd.DataFrame, axis: str) -> np.ndarray:
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


def _events(ax: Any, meta: dict[str, Any], first_s: float, colour: str) -> None:
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
        elif kind in ("limit_hit", "restart", "gap", "pid_reused", "connection_lost"):
            ax.axvline(t_min, color="black", alpha=0.6, linestyle="-.")
            ax.annotate(
                event.get("text", kind),
                (t_min, ax.get_ylim()[1]),
                fontsize=7,
                rotation=90,
                va="top",
                ha="right",
            )


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


def plot_run(samples: pd.DataFrame, meta: dict[str, Any], summary: dict[str, Any], path: Path) -> Path:
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
    bottom.set_xlabel("simulated minutes" if axis == "t_sim_s" else "minutes")
    bottom.set_ylabel("RSS (MB), close up")
    bottom.legend(fontsize=8, loc="upper left")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def window_rates_bytes_per_min(minutes: np.ndarray, rss_bytes: np.ndarray, windows: int = 15) -> np.ndarray:
    """Growth over a sliding window of ~1/`windows` of the span: (RSS[i+w] - RSS[i]) / time.

    A difference across a window, not a derivative: RSS moves in steps (one fetch, one arena),
    and the derivative of a staircase is mostly zeros and spikes.
    """
    if len(minutes) < 3:
        return np.full(len(minutes), np.nan)
    width = max(1, len(minutes) // windows)
    rates = np.full(len(minutes), np.nan)
    dt = minutes[width:] - minutes[:-width]
    with np.errstate(divide="ignore", invalid="ignore"):
        rates[width // 2 : width // 2 + len(dt)] = (rss_bytes[width:] - rss_bytes[:-width]) / dt
    return rates


def plot_comparison(runs: list[dict[str, Any]], path: Path) -> Path:
    """comparison.png: the runs close up with their fits, their growth per window, and (for
    incident scenarios) the same curves beside the incident's 220 MB/min and the memory limit.

    Each item of `runs` holds "label", "samples" (DataFrame), "meta" and "summary".
    """
    has_context = bool(runs) and bool((runs[0]["meta"].get("scenario") or {}).get("reference"))
    n_panels = 3 if has_context else 2
    fig, axes = plt.subplots(
        n_panels,
        1,
        figsize=(10, 3.6 * n_panels),
        sharex=True,
        gridspec_kw={"height_ratios": [1.4, 1, 0.9][:n_panels]},
    )
    close, rates_ax = axes[0], axes[1]
    span_min = 0.0
    for i, run in enumerate(runs):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        samples, meta, summary = run["samples"], run["meta"], run["summary"]
        minutes = _minutes(samples, meta.get("time_axis", "t_sim_s"))
        if not len(minutes):
            continue
        span_min = max(span_min, float(minutes[-1]))
        rss_bytes = samples["rss_bytes"].to_numpy(dtype=float)
        close.plot(
            minutes,
            rss_bytes / MB,
            color=colour,
            linewidth=1.5,
            label=f"{run['label']}: {summary.get('verdict', '?')}",
        )
        _fit_line(close, summary, minutes, colour, run["label"])
        rates_ax.plot(
            minutes,
            window_rates_bytes_per_min(minutes, rss_bytes) / MB,
            color=colour,
            linewidth=1.2,
            label=run["label"],
        )
        if has_context:
            axes[2].plot(minutes, rss_bytes / MB, color=colour, linewidth=1.5)
    if runs:
        first = runs[0]
        axis = first["meta"].get("time_axis", "t_sim_s")
        first_s = float(first["samples"][axis].iloc[0]) if len(first["samples"]) else 0.0
        for ax in axes:
            _events(ax, first["meta"], first_s, "grey")
    close.set_ylabel("RSS (MB)")
    close.set_title("RSS per run; dashed: robust fits, MB/min [95 % CI]", fontsize=10)
    close.legend(fontsize=7, loc="upper left", ncol=2)
    rates_ax.axhline(0, color="black", linewidth=0.8)
    rates_ax.set_ylabel("growth (MB/min)\nper window of 1/15 of the run", fontsize=8)
    rates_ax.legend(fontsize=7, loc="upper right")
    if has_context:
        _context(axes[2], runs[0]["meta"], span_min)
        axes[2].set_ylim(bottom=0)
        axes[2].set_ylabel("RSS (MB), in context")
        axes[2].legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("minutes")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def plot_types(summaries: list[dict[str, Any]], names: list[str], path: Path) -> Path:
    """types.png: the size of the fastest-growing types over time, stacked."""
    summaries = sorted((s for s in summaries if "types" in s), key=lambda s: s["t_sim_s"])
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    t_min -= t_min[0] if len(t_min) else 0.0
    stacks = []
    for name in names:
        sizes = [
            next((row["size_bytes"] for row in s.get("types") or [] if row["type"] == name), 0)
            for s in summaries
        ]
        stacks.append(np.array(sizes, dtype=float) / MB)
    fig, ax = plt.subplots(figsize=(9, 4))
    if stacks:
        ax.stackplot(t_min, *stacks, labels=names, colors=RUN_COLOURS[: len(names)], alpha=0.8)
    heap = np.array([s.get("py_heap_bytes", 0) for s in summaries], dtype=float) / MB
    ax.plot(t_min, heap, color="black", linewidth=1.2, label="all Python objects the probe sees")
    ax.set_xlabel("simulated minutes")
    ax.set_ylabel("size (MB)")
    ax.set_title("What grows: the fastest-growing types, stacked", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def plot_holders(points: list[dict[str, Any]], path: Path) -> Path:
    """holders.png: where the growth is held, each accumulation point's bytes and items over time."""
    fig, (held, items) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for colour, point in zip(RUN_COLOURS, points, strict=False):
        minutes = np.array([row["t_s"] for row in point["series"]], dtype=float) / 60.0
        label = textwrap.shorten(point["pattern"], 90, placeholder="...")
        held.plot(minutes, [row["bytes"] / MB for row in point["series"]], "o-", color=colour, label=label)
        items.plot(minutes, [row["count"] for row in point["series"]], "o-", color=colour)
    held.set_ylabel("held (MB)")
    items.set_ylabel("items")
    items.set_xlabel("minutes")
    held.set_title("Where it is held: each accumulation point at each probe", fontsize=10)
    held.legend(fontsize=7, loc="upper left")
    for ax in (held, items):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path
