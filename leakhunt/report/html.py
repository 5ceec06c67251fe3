"""One self-contained HTML file per run or comparison: figures inlined, no external fetches.

Everything a user or a target wrote is escaped, in text and in attributes alike. The page reads
at any width: tables wrap their text cells at spaces (figures never break: `num` cells), names
(broken between labels) and paths (`code`) break anywhere rather than push the page wider,
figures shrink to the page; on a phone
(at most 640 px) each table row becomes a card of `header: value` lines, so nothing is wider
than the screen and no column is cut off (checked in chromium at 390 and 1280 px,
tests/report/test_html.py). Verdicts read `verdict_short` in tables and `verdict_label` in
headlines, coloured by the bare verdict: LEAK red, BOUNDED and INCONCLUSIVE amber, STABLE green.
"""

import base64
import html
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from leakhunt.report.console import describe_probe_cost
from leakhunt.units import format_bytes, format_mb

_STYLE = """
body{font-family:system-ui,-apple-system,sans-serif;margin:0 auto;max-width:1180px;padding:12px;color:#222}
h1{font-size:1.3em;overflow-wrap:anywhere}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
p,li,code,h2,h3{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.4em 0}
td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{overflow-wrap:normal}td code{overflow-wrap:anywhere}
td.num,th.num,.nw{white-space:nowrap;overflow-wrap:normal}
img{max-width:100%;height:auto}
.headline{font-size:1.05em;background:#f6f6f6;padding:8px;border-left:4px solid #888}
.headline.of-LEAK{border-left-color:#b00}.headline.of-STABLE{border-left-color:#080}
.headline.of-BOUNDED,.headline.of-INCONCLUSIVE{border-left-color:#a60}
.LEAK{color:#b00;font-weight:bold}.STABLE{color:#080;font-weight:bold}
.BOUNDED,.INCONCLUSIVE{color:#a60;font-weight:bold}
.pass{color:#080}.fail{color:#b00;font-weight:bold}.unproven{color:#a60;font-weight:bold}
@media (max-width:640px){
table,tbody,tr,td{display:block;width:auto}thead{display:none}
tr{border:1px solid #ddd;margin:0 0 8px}td{border:0;border-top:1px solid #eee}td:first-child{border-top:0}
td.num{white-space:normal}td:empty{display:none}
td[data-label]:not([data-label=""])::before{content:attr(data-label) ": ";font-weight:600}
}
"""
VERDICT_CLASS = {"LEAK": "LEAK", "STABLE": "STABLE", "BOUNDED": "BOUNDED", "INCONCLUSIVE": "INCONCLUSIVE"}
STATUS_CLASS = {"PASS": "pass", "FAIL": "fail", "NOT PROVEN": "unproven"}


def _e(value: Any) -> str:
    return html.escape(str(value))


def inline_png(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{_e(Path(path).name)}" src="data:image/png;base64,{data}">'


def table(header: list[str], rows: list[list[Any]], num: Collection[int] = ()) -> str:
    """`rows` are HTML already escaped; the columns in `num` are figures, never broken. Each
    cell carries its header, which a phone shows before it (the header row is hidden there)."""
    css = [' class="num"' if i in num else "" for i in range(len(header))]
    head = "".join(f"<th{css[i]}>{_e(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f'<td{css[i]} data-label="{_e(header[i])}">{cell}</td>' for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _mb_per_min(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{format_mb(value, signed=True)} MB/min"


def verdict_html(summary: dict[str, Any], words: str | None = None) -> str:
    """The verdict in `words` (default its table-cell words, `LEAK, slow`), coloured by the bare
    verdict; summaries written before verdict labels carry the bare verdict only."""
    verdict = str(summary.get("verdict", "?"))
    css = VERDICT_CLASS.get(verdict, "unknown") + ("" if words else " nw")  # a cell's words stay together
    words = words or summary.get("verdict_short") or verdict
    return f'<span class="{css}">{_e(words)}</span>'


def headline_html(summary: dict[str, Any]) -> str:
    """The headline, its opening verdict label in the verdict's colour."""
    text = str(summary.get("headline") or "")
    verdict = str(summary.get("verdict", ""))
    label = str(summary.get("verdict_label") or verdict)
    css = f"headline of-{VERDICT_CLASS[verdict]}" if verdict in VERDICT_CLASS else "headline"
    if label and text.startswith(label):
        body = verdict_html(summary, label) + _e(text[len(label) :])
    else:
        body = _e(text)
    return f'<p class="{css}">{body}</p>'


def interval_html(low: float | None, high: float | None, rate: Any = _mb_per_min) -> str:
    """`low … high`, breakable after the ellipsis only."""
    return f'<span class="nw">{rate(low)} …</span> <span class="nw">{rate(high)}</span>'


def growth_rows(label: str, summary: dict[str, Any]) -> list[Any]:
    growth = summary.get("growth") or {}
    return [
        _e(label),
        verdict_html(summary),
        _mb_per_min(growth.get("slope_bytes_per_min")),
        interval_html(growth.get("ci_low_bytes_per_min"), growth.get("ci_high_bytes_per_min")),
        _e(summary.get("to_limit", "")),
        format_bytes(summary.get("peak_rss_bytes") or 0),
        format_bytes(summary.get("final_rss_bytes") or 0),
        _e(str(summary.get("exit_reason", "")).replace("_", " ")),
    ]


GROWTH_HEADER = ["run", "verdict", "growth", "95 % CI", "time to limit", "peak RSS", "final RSS", "ended"]
GROWTH_NUM = (2, 4, 5, 6)


def status_html(status: str) -> str:
    status = status if status in STATUS_CLASS else "FAIL"
    return f'<span class="{STATUS_CLASS[status]} nw">{_e(status)}</span>'


def criteria_section(criteria: list[dict[str, Any]]) -> str:
    if not criteria:
        return ""
    rows = [
        [
            _e(c["text"]),
            status_html(c.get("status") or ("PASS" if c["passed"] else "FAIL")),
            _e(c["detail"]),
        ]
        for c in criteria
    ]
    return "<h2>Success criteria</h2>" + table(["expect", "result", "measured"], rows)


def cost_section(cost: dict[str, Any] | None) -> str:
    if not cost:
        return ""
    rows = []
    if cost.get("leakhunt_core_fraction") is not None:
        rows.append(
            ["leakhunt CPU while sampling (all threads)", f"{cost['leakhunt_core_fraction']:.3%} of a core"]
        )
    if cost.get("leakhunt_cpu_s_per_sample") is not None:
        rows.append(["leakhunt CPU per sample", f"{cost['leakhunt_cpu_s_per_sample'] * 1e6:.0f} µs"])
    if cost.get("sampler_cpu_s_per_read") is not None:
        rows.append(["of which the read itself", f"{cost['sampler_cpu_s_per_read'] * 1e6:.0f} µs"])
    if cost.get("missed_samples"):
        rows.append(["samples missed (gaps)", f"{cost['missed_samples']:,}"])
    if cost.get("sampler_cpu_fraction") is not None:
        rows.append(["sampler CPU / run wall time", f"{cost['sampler_cpu_fraction']:.3%}"])
    if cost.get("probe_fraction") is not None:
        rows.append(
            ["probe pause / run wall time", f"{cost['probe_fraction']:.2%} ({cost['probe_s']:.2f} s)"]
        )
    if cost.get("bytes_per_sample") is not None:
        rows.append(["bytes written per sample", f"{cost['bytes_per_sample']:.0f}"])
    for key in ("remote_cpu_s_per_sample",):
        if cost.get(key) is not None:
            rows.append(["remote sampling CPU per sample", f"{cost[key] * 1e3:.2f} ms"])
    return "<h2>What measuring cost</h2>" + table(["", ""], rows)


def _example(point: dict[str, Any]) -> str:
    if point["members"] <= 1:
        return ""
    return f"<br><small>{point['members']} like it, e.g. <code>{_e(point['example'])}</code></small>"


def attribution_section(attribution: dict[str, Any] | None) -> str:
    if not attribution:
        return ""
    parts = ["<h2>What grows</h2>"]
    if attribution.get("statement"):
        parts.append(f"<p>{_e(attribution['statement'])}</p>")
    points = attribution.get("accumulation_points") or []
    if points:
        header = ["accumulation point", "container", "items", "held", "growth", "share of RSS growth"]
        rows = [
            [
                f"<code>{_e(p['pattern'])}</code>" + _example(p),
                _e(p["type"]) + (f" of {_e(p['item_type'])}" if p.get("item_type") else ""),
                f"{p['first_count']:,} → {p['last_count']:,}",
                f"{format_bytes(p['first_bytes'])} → {format_bytes(p['last_bytes'])}",
                _mb_per_min(p["bytes_per_min"]),
                "" if p.get("share_of_rss_growth") is None else f"{p['share_of_rss_growth']:.0%}",
            ]
            for p in points
        ]
        parts.append("<h3>Where it is held</h3>" + table(header, rows, num=(2, 3, 4, 5)))
    for note in attribution.get("notes") or []:
        parts.append(f"<p><small>{_e(note)}</small></p>")
    probe_cost = attribution.get("cost") or {}
    if probe_cost.get("child_walk_s_mean") is not None:
        parts.append(f"<p><small>Probes: {_e(describe_probe_cost(probe_cost))}.</small></p>")
    types = attribution.get("types") or []
    if types:
        rows = [
            [
                _e(t.get("name")),
                _e(t.get("last_count")),
                format_bytes(t.get("last_size_bytes") or 0),
                _mb_per_min(t.get("bytes_per_min")),
                "" if t.get("share_of_rss_growth") is None else f"{t['share_of_rss_growth']:.0%}",
            ]
            for t in types
        ]
        parts.append(
            table(["type", "count", "size", "growth", "share of RSS growth"], rows, num=(1, 2, 3, 4))
        )
    lines = attribution.get("lines") or []
    if lines:
        rows = [
            [
                _e(line.get("name")),
                format_bytes(line.get("last_size_bytes") or 0),
                _mb_per_min(line.get("bytes_per_min")),
            ]
            for line in lines
        ]
        parts.append(table(["source line", "size", "growth"], rows, num=(1, 2)))
    return "".join(parts)


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


def render_run_html(
    meta: dict[str, Any], summary: dict[str, Any], figures: list[Path], *, note: str | None = None
) -> str:
    """A run's page; `note` stands where its figures would be (a replicate compare drew none of)."""
    label = meta.get("label", "run")
    parts = [f"<h1>leakhunt {_e(meta.get('command', ''))}: {_e(label)}</h1>"]
    if summary.get("headline"):
        parts.append(headline_html(summary))
    parts.append(table(GROWTH_HEADER, [growth_rows(label, summary)], num=GROWTH_NUM))
    if summary.get("method"):
        parts.append(f"<p><small>{_e(summary['method'])}</small></p>")
    if summary.get("thresholds"):
        parts.append(f"<p><small>{_e(summary['thresholds'])}</small></p>")
    parts.extend(inline_png(figure) for figure in figures)
    if note:
        parts.append(f"<p>{_e(note)}</p>")
    parts.append(criteria_section(summary.get("criteria") or []))
    parts.append(attribution_section(summary.get("attribution")))
    events = [e for e in meta.get("events", []) if e.get("kind") != "cleanup"]
    cleanups = [e for e in meta.get("events", []) if e.get("kind") == "cleanup"]
    if cleanups:
        rows = [
            [
                f"{e['t_sim_s'] / 60:.1f} min",
                format_bytes(e["rss_before_bytes"]),
                format_bytes(e["rss_after_bytes"]),
                format_bytes(e["freed_bytes"]),
                _e(e.get("gc_collected")),
                _e(e.get("ohlcv_trimmed")),
                _e(e.get("oi_trimmed")),
            ]
            for e in cleanups
        ]
        parts.append(
            "<h2>Cleanup runs</h2>"
            + table(
                ["at", "RSS before", "RSS after", "freed", "gc collected", "OHLCV trimmed", "OI trimmed"],
                rows,
                num=range(7),
            )
        )
    if events:
        parts.append(
            "<h2>Events</h2><ul>"
            + "".join(f"<li>{_e(e.get('text') or e.get('kind'))}</li>" for e in events)
            + "</ul>"
        )
    parts.append(cost_section(meta.get("cost")))
    scenario = meta.get("scenario") or {}
    if scenario.get("assumptions"):
        parts.append(
            f"<h2>Assumptions of this scenario</h2><p>{_e(scenario['assumptions'])}</p>"
            f"<p>Calibrated values: {_e(', '.join(scenario.get('calibrated', [])))}</p>"
        )
    facts = [
        ["command", _e(meta.get("command_line", ""))],
        ["host", _e(meta.get("host", ""))],
        ["started", _e(meta.get("start_time", ""))],
        ["fixes", _e(", ".join(meta.get("fixes", [])) or "none")],
        ["seed", _e(meta.get("seed", ""))],
        ["speed", _e(meta.get("speed", ""))],
        ["exit", _e(_exit_text(meta))],
    ]
    parts.append("<h2>Run</h2>" + table(["", ""], facts))
    return page(f"leakhunt: {label}", "".join(parts))


def _exit_text(meta: dict[str, Any]) -> str:
    """Why the run ended, with what the run recorded about it (a cut-off run's last sample, the
    file a full disk refused): the reason alone does not say when or where."""
    reason = str(meta.get("exit_reason", ""))
    recorded = meta.get("exit_detail")
    detail = recorded.get("text") if isinstance(recorded, dict) else None
    if not detail:
        return reason
    return detail if detail.startswith(reason) else f"{reason}: {detail}"


def render_comparison_html(comparison: dict[str, Any], figures: list[Path]) -> str:
    parts = ["<h1>leakhunt compare</h1>", f'<p class="headline">{_e(comparison.get("headline", ""))}</p>']
    rows = []
    for entry in comparison["runs"]:
        summary = {**entry, "growth": entry["growth"]}
        row = growth_rows(entry["label"], summary)
        reduction = entry.get("reduction_percent")
        row.insert(2, "baseline" if reduction is None else f"{reduction:.0f} %")
        rows.append(row)
    header = list(GROWTH_HEADER)
    header.insert(2, "removed")
    parts.append(table(header, rows, num=[2] + [i + 1 for i in GROWTH_NUM]))
    parts.extend(inline_png(figure) for figure in figures)
    parts.append(
        "<h2>How each run was judged</h2><ul>"
        + "".join(
            f"<li><b>{_e(e['label'])}</b>: {verdict_html(e, e.get('verdict_label'))}, "
            f"{_e(e.get('verdict_reason') or '')}. "
            f"<small>{_e(e['growth'].get('method', ''))}</small></li>"
            for e in comparison["runs"]
        )
        + "</ul>"
    )
    if comparison.get("thresholds"):
        parts.append(f"<p><small>{_e(comparison['thresholds'])}</small></p>")
    for entry in comparison["runs"]:
        if entry.get("criteria"):
            parts.append(f"<h2>{_e(entry['label'])}</h2>" + criteria_section(entry["criteria"]))
    replicated = any(len(e.get("run_dirs") or []) > 1 for e in comparison["runs"])
    parts.append(
        "<h2>Runs</h2><p>Each run's own report.html sits in its directory: "
        + ", ".join(_e(Path(e["run_dir"]).name) for e in comparison["runs"])
        + "."
        + (
            " The other replicates' reports have their figures and no pictures (their curves are in"
            " the bands above); <code>leakhunt report DIR</code> draws a replicate's."
            if replicated
            else ""
        )
        + "</p>"
    )
    return page("leakhunt compare", "".join(parts))
