"""Analyse a run directory and render its report, from its files alone.

Used at the end of every command and by `leakhunt report RUN_DIR`. Every file is written to a
temporary twin and renamed, so a full disk leaves the old file or none, never half a report. A
run whose meta.json still says "running" was cut off (its leakhunt was killed): it renders as
"ended without finishing" with the time of its last sample.
"""

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from leakhunt.analysis.summary import summarize_run
from leakhunt.errors import RunError, UsageError
from leakhunt.report.forked import run_all
from leakhunt.report.html import render_run_html
from leakhunt.report.plots import plot_holders, plot_run, plot_types
from leakhunt.sampling.store import RESERVE, RunDir, write_atomic

CUT_OFF = "ended without finishing"


def _analyse(run_dir: RunDir, meta_overrides: dict[str, Any] | None) -> tuple[dict, pd.DataFrame, dict, list]:
    samples = run_dir.read_samples()
    meta = {**run_dir.read_meta(), **(meta_overrides or {})}
    if samples.empty:
        detail = meta.get("exit_detail") or {}
        if detail.get("started") is False:
            raise RunError(detail["text"])  # the child's own error, said before "no samples"
        raise UsageError(f"{run_dir.path} holds no samples yet: nothing to analyse")
    summaries = run_dir.read_summaries()
    summary = summarize_run(samples, meta, summaries)
    summary["run_dir"] = str(run_dir.path)
    if meta.get("exit_reason") == "running":
        last_s = float(samples["t_wall_s"].iloc[-1])
        text = f"{CUT_OFF}; last sample at {last_s:.1f} s (t_wall_s) of the run"
        meta = {**meta, "exit_reason": CUT_OFF, "exit_detail": {"text": text}}
        summary.update(exit_reason=CUT_OFF, exit_detail={"text": text})
        run_dir.notes.append(text)
    if run_dir.notes:
        summary["file_notes"] = list(run_dir.notes)
    return summary, samples, meta, summaries


def analyse_run(run_dir: RunDir, *, meta_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's summary, computed from its files and written nowhere.

    `meta_overrides` judge a saved run under other settings (a comparison's --expect) without
    touching what the run recorded.
    """
    return _analyse(run_dir, meta_overrides)[0]


@dataclass(frozen=True)
class Analysed:
    """A run whose summary.json is written: what drawing its report needs."""

    run_dir: RunDir
    summary: dict[str, Any]
    samples: pd.DataFrame
    meta: dict[str, Any]
    summaries: list[dict[str, Any]]


def write_summary(run_dir: RunDir) -> Analysed:
    """Analyse the run and write its summary.json (milliseconds: the report's pictures are the cost)."""
    summary, samples, meta, summaries = _analyse(run_dir, None)
    run_dir.write_summary(summary)
    return Analysed(run_dir, summary, samples, meta, summaries)


def draw_report(analysed: Analysed, *, pictures: bool = True) -> None:
    """Write memory.png (types.png and holders.png when the probes name what grows) and report.html;
    without `pictures`, report.html alone, saying how to draw them."""
    run_dir = analysed.run_dir
    figures = _draw_pictures(analysed) if pictures else []
    note = None
    if not pictures:
        note = (
            "No pictures: compare draws those of each variant's first replicate; "
            f"`leakhunt report {run_dir.path}` draws this run's."
        )
    html = render_run_html(analysed.meta, analysed.summary, figures, note=note)
    write_atomic(run_dir.file("report.html"), lambda tmp: tmp.write_text(html))
    # A finished report no longer needs the space reserve a run keeps for its last meta.json.
    with contextlib.suppress(OSError):
        run_dir.file(RESERVE).unlink()


def _draw_pictures(analysed: Analysed) -> list[Path]:
    """memory.png, and types.png and holders.png when the probes name what grows; their paths."""
    run_dir, summary, samples, meta, summaries = (
        analysed.run_dir, analysed.summary, analysed.samples, analysed.meta, analysed.summaries,
    )  # fmt: skip
    figures = [run_dir.file("memory.png")]
    draws = [lambda: write_atomic(figures[0], lambda tmp: plot_run(samples, meta, summary, tmp))]
    attribution = summary.get("attribution")
    axis = meta.get("time_axis", "t_sim_s")
    if attribution and attribution["types"]:
        top_names = [t["name"] for t in attribution["types"][:5]]
        types_png = run_dir.file("types.png")
        figures.append(types_png)
        draws.append(
            lambda: write_atomic(types_png, lambda tmp: plot_types(summaries, top_names, tmp, time_axis=axis))
        )
    if attribution and attribution.get("accumulation_points"):
        points = attribution["accumulation_points"][:5]
        holders_png = run_dir.file("holders.png")
        figures.append(holders_png)
        draws.append(lambda: write_atomic(holders_png, lambda tmp: plot_holders(points, tmp, time_axis=axis)))
    run_all(draws)  # side by side: each figure is a second of one core's drawing
    return figures


def finish_run(run_dir: RunDir) -> dict[str, Any]:
    """Write summary.json, memory.png and report.html; return the summary."""
    analysed = write_summary(run_dir)
    draw_report(analysed)
    return analysed.summary


def open_run(path: Path) -> RunDir:
    run_dir = RunDir(path)
    if not run_dir.path.is_dir():
        raise UsageError(f"{path} is not a directory: give a run directory under reports/")
    if not run_dir.is_run():
        raise UsageError(f"{path} is not a leakhunt run directory (no samples.csv and meta.json)")
    return run_dir
