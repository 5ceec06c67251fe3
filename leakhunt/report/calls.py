"""A per-call run's directory: samples.csv, memory.png (RSS against calls, the fit over it) and a
self-contained report.html with the verdict's words, for a test the plugin failed."""

import base64
import csv
import html
from pathlib import Path

import numpy as np

from leakhunt.analysis.per_call import CallsVerdict


def write_calls_report(
    out_dir: Path, name: str, rss_bytes: list[int], allocated_blocks: list[int], verdict: CallsVerdict
) -> Path:
    """Write the three files into `out_dir` (created) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "samples.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["call", "rss_bytes", "allocated_blocks"])
        writer.writerows(zip(range(len(rss_bytes)), rss_bytes, allocated_blocks, strict=True))
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    calls = np.arange(len(rss_bytes))
    axes.plot(calls, np.asarray(rss_bytes) / 1e6, color="#1f77b4", lw=1, label="RSS after each call")
    growth = verdict.growth
    fitted_from = int(growth.warmup_s / 60)
    line_calls = calls[fitted_from:]
    fit_mb = (growth.intercept_bytes + growth.slope_bytes_per_min * (line_calls - fitted_from)) / 1e6
    colour = {"FAIL": "#d62728", "NOT PROVEN": "#ff7f0e"}.get(verdict.status, "#2ca02c")
    axes.plot(line_calls, fit_mb, color=colour, lw=2, label=f"fit: {verdict.status}")
    axes.set_xlim(0, max(1, len(rss_bytes) - 1))
    axes.set_xlabel("calls")
    axes.set_ylabel("RSS (MB)")
    axes.set_title(name, fontsize=9)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(out_dir / "memory.png")
    picture = base64.b64encode((out_dir / "memory.png").read_bytes()).decode()
    text = "\n".join(html.escape(line) for line in verdict.lines)
    (out_dir / "report.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width'><title>leakhunt: "
        f"{html.escape(name)}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;"
        "padding:0 1rem}pre{white-space:pre-wrap;overflow-wrap:anywhere}img{max-width:100%}</style>"
        f"</head><body><h1>{html.escape(name)}</h1><pre>{text}</pre>"
        f"<img alt='RSS against calls' src='data:image/png;base64,{picture}'></body></html>\n"
    )
    return out_dir
