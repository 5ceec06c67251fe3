"""What the terminal shows: rich tables at the end of a run, and the live line during it.

Everything a user or a target wrote (labels, criteria, paths, type names, process names) is
escaped before it reaches rich, so `[bold]` or `a[/]b` in it prints as typed."""

import re
import textwrap
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leakhunt.sampling.sample import Sample
from leakhunt.units import format_bytes, format_mb

if TYPE_CHECKING:
    from leakhunt.analysis.live import LiveStatus

MB = 1e6
VERDICT_STYLE = {
    "LEAK": "bold red",
    "STABLE": "bold green",
    "BOUNDED": "bold blue",
    "INCONCLUSIVE": "yellow",
}


_STATUS_MARK = {
    "PASS": "[green]PASS[/]",
    "FAIL": "[bold red]FAIL[/]",
    "NOT PROVEN": "[bold yellow]NOT PROVEN[/]",
}


def _mb(value: float | None) -> str:
    return format_mb(value, signed=True)


def growth_table(rows: list[tuple[str, dict[str, Any]]], title: str = "") -> Table:
    """Fits 80 columns: no borders at the sides, padding collapsed, and the columns that may wrap
    (run, to limit) fold rather than cut, so runs whose names share a long prefix read apart."""
    table = Table(
        title=title or None, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True
    )
    table.add_column("run", min_width=8, overflow="fold")
    table.add_column("verdict", no_wrap=True)
    show_ended = any(summary.get("exit_reason") != "completed" for _, summary in rows)
    for column in ("MB/min", "95 % CI"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("to limit", justify="right", min_width=11, overflow="fold")  # "approaching"
    table.add_column("peak", justify="right", no_wrap=True)
    if show_ended:
        table.add_column("ended", justify="right", overflow="fold")
    for label, summary in rows:
        growth = summary.get("growth") or {}
        verdict = summary.get("verdict", "?")
        table.add_row(
            escape(label),
            f"[{VERDICT_STYLE.get(verdict, '')}]{verdict}[/]",
            _mb(growth.get("slope_bytes_per_min")),
            f"{_mb(growth.get('ci_low_bytes_per_min'))}…{_mb(growth.get('ci_high_bytes_per_min'))}",
            summary.get("to_limit", ""),
            format_bytes(summary.get("peak_rss_bytes") or 0),
            *((escape(str(summary.get("exit_reason", ""))),) if show_ended else ()),
        )
    return table


# A space between a number and its unit is not a place to break a line: "removes 96 %".
_UNIT_SPACE = re.compile(r"(?<=\d) (?=%|[kMGT]i?B\b|MB/|min\b|s\b|h\b)")
_GLUE = "\u00a0"


def print_prose(console: Console, text: str, hang: str = "") -> None:
    """Wrapped at the console's width, never between a number and its unit (rich would: it
    breaks at any whitespace, a no-break space included)."""
    glued = _UNIT_SPACE.sub(_GLUE, text)
    width = max(console.width, 40)
    lines = textwrap.wrap(glued, width=width, subsequent_indent=hang, break_on_hyphens=False) or [""]
    for line in lines:
        console.print(line.replace(_GLUE, " "), highlight=False, soft_wrap=True)


def print_run_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    console.print(growth_table([(summary.get("label", "run"), summary)]))
    print_prose(console, escape(summary.get("headline", "")))
    for criterion in summary.get("criteria", []):
        mark = _STATUS_MARK.get(criterion.get("status", ""), "[bold red]FAIL[/]")
        print_prose(
            console, f"  {mark} {escape(criterion['text'])}: {escape(criterion['detail'])}", hang="    "
        )
    for line in what_grows_lines(summary.get("attribution")):
        console.print(line, highlight=False)
    cost = summary.get("cost") or {}
    if cost.get("sampler_cpu_s_per_read") is not None:
        console.print(f"[dim]what measuring cost: {describe_cost(cost)}[/]", highlight=False)
    elif cost.get("replayed_samples") is not None:
        console.print(
            f"[dim]what measuring cost: nothing, {cost['replayed_samples']:,} samples were replayed "
            "from a file[/]",
            highlight=False,
        )
    for note in summary.get("file_notes") or []:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    console.print(f"run directory: [bold]{escape(run_dir)}[/]  (report.html, memory.png)", highlight=False)


def what_grows_lines(attribution: dict[str, Any] | None, top: int = 3) -> list[str]:
    """The terminal's "What grows": the statement, who holds it, the fastest types, and notes."""
    if not attribution:
        return []
    lines = [f"[bold]What grows:[/] {escape(attribution.get('statement', ''))}"]
    for point in (attribution.get("accumulation_points") or [])[:top]:
        members = f" ({point['members']} like it)" if point["members"] > 1 else ""
        lines.append(
            f"  held by {escape(point['pattern'])}{members}: "
            f"{point['first_count']:,} -> {point['last_count']:,} items, {_mb(point['bytes_per_min'])} MB/min"
        )
    types = attribution.get("types") or []
    if types:
        lines.append(
            "  growing types: "
            + ", ".join(f"{escape(t['name'])} {_mb(t['bytes_per_min'])} MB/min" for t in types[:top])
        )
    lines += [f"  [dim]{escape(note)}[/]" for note in attribution.get("notes") or []]
    probe_cost = attribution.get("cost") or {}
    if probe_cost.get("child_walk_s_mean") is not None:
        lines.append(f"  [dim]probes: {describe_probe_cost(probe_cost)}[/]")
    return lines


def describe_probe_cost(cost: dict[str, Any]) -> str:
    """What the snapshots cost the service (the fork) and the host (the child)."""
    text = (
        f"service paused {cost['pause_s_mean'] * 1e3:.1f} ms per probe "
        f"(max {cost['pause_s_max'] * 1e3:.1f}); "
        f"each child walked {cost['child_walk_s_mean']:.2f} s"
    )
    if cost.get("child_private_dirty_bytes_max"):
        text += f" using up to {format_bytes(cost['child_private_dirty_bytes_max'])} of the host's memory"
    if cost.get("in_process"):
        text += f"; {cost['in_process']} counted in-process: {cost['in_process_reason']}"
    return text


def describe_cost(cost: dict[str, Any]) -> str:
    """Everything sampling cost: leakhunt's whole CPU first, then its parts and the probes."""
    parts = []
    if cost.get("leakhunt_core_fraction") is not None and cost.get("leakhunt_cpu_s_per_sample"):
        parts.append(
            f"leakhunt used {cost['leakhunt_core_fraction']:.2%} of a core while sampling "
            f"({cost['leakhunt_cpu_s_per_sample'] * 1e6:.0f} µs per sample, all threads; "
            f"the reads {cost['sampler_cpu_s_per_read'] * 1e6:.0f} µs of it)"
        )
    else:
        parts.append(f"{cost['sampler_cpu_s_per_read'] * 1e6:.0f} µs of sampler CPU per sample")
    if cost.get("realtime_core_fraction") is not None:
        parts.append(f"the reads alone {cost['realtime_core_fraction']:.3%} of a core in real time")
    if cost.get("missed_samples"):
        parts.append(f"{cost['missed_samples']} sample(s) missed (gaps, see the events)")
    if cost.get("probe_s"):
        parts.append(f"probe pauses {cost['probe_s']:.2f} s ({cost['probe_fraction']:.1%} of the run)")
    if cost.get("remote_cpu_s_per_sample") is not None:
        parts.append(f"{cost['remote_cpu_s_per_sample'] * 1e3:.2f} ms remote CPU per sample")
    return ", ".join(parts)


class LiveLine:
    """The one line that updates during a run: time, RSS and the growth so far, fitted as the
    result is (analysis/live.py on the simulated clock), with its interval: the last line of a
    run agrees with its result."""

    def __init__(self, duration_s: float, time_label: str = "sim") -> None:
        from leakhunt.analysis.live import LiveAnalysis

        self.duration_s = duration_s
        self.time_label = time_label
        self.analysis = LiveAnalysis([], time_axis="t_sim_s")
        self.text = ""

    def update(self, sample: Sample) -> str:
        """Take a sample; the line with the growth as last fitted (refits are paced)."""
        self.analysis.add(sample)
        return self._describe(sample, self.analysis.status)

    def fresh(self) -> str:
        """The line with the growth fitted to every sample so far."""
        last = self.analysis.last
        return "" if last is None else self._describe(last, self.analysis.fresh_status())

    def _describe(self, sample: Sample, status: "LiveStatus | None") -> str:
        growth = ""
        if status is not None and status.growth.shape != "too_few":
            fit = status.growth
            growth = (
                f"  growth so far {format_mb(fit.slope_bytes_per_min, signed=True)} MB/min "
                f"[{format_mb(fit.ci_low_bytes_per_min, signed=True)}…"
                f"{format_mb(fit.ci_high_bytes_per_min, signed=True)}]"
            )
        self.text = (
            f"{self.time_label} {sample.t_sim_s / 60:6.1f}/{self.duration_s / 60:.0f} min  "
            f"RSS {format_bytes(sample.rss_bytes)}{growth}"
        )
        return self.text


def print_comparison(console: Console, comparison: dict[str, Any]) -> None:
    rows = [(entry["label"], entry) for entry in comparison["runs"]]
    console.print(growth_table(rows, title="leakhunt compare"))
    print_prose(console, escape(comparison.get("headline", "")))
    for entry in comparison["runs"]:
        for criterion in entry.get("criteria", []):
            mark = "[green]PASS[/]" if criterion["passed"] else "[bold red]FAIL[/]"
            print_prose(
                console,
                f"  {escape(entry['label'])}: {mark} "
                f"{escape(criterion['text'])}: {escape(criterion['detail'])}",
                hang="    ",
            )
    console.print(
        f"comparison directory: [bold]{escape(str(comparison.get('comparison_dir', '')))}[/]  "
        "(report.html, comparison.png)",
        highlight=False,
    )


class WatchView:
    """The live view of `watch`: RSS, swap, CPU, growth so far with its interval, the verdict so
    far and each criterion's state, at constant cost per sample (analysis/live.py)."""

    def __init__(self, criteria: list[Any]) -> None:
        from leakhunt.analysis.live import LiveAnalysis

        self.analysis = LiveAnalysis(criteria)

    def update(self, sample: Sample) -> None:
        self.analysis.add(sample)

    @property
    def n_samples(self) -> int:
        return self.analysis.n_samples

    def render(self) -> Table:
        table = Table(show_header=False, box=None)
        last, status = self.analysis.last, self.analysis.status
        if last is None:
            table.add_row("waiting for the first sample")
            return table
        table.add_row("elapsed", f"{last.t_wall_s / 60:.1f} min, {self.n_samples} samples")
        table.add_row("RSS", format_bytes(last.rss_bytes))
        table.add_row("swap", format_bytes(last.swap_bytes))
        table.add_row("CPU", f"{last.cpu_percent:.1f} %")
        if status is not None:
            growth, judgement = status.growth, status.judgement
            table.add_row(
                "growth so far",
                f"{_mb(growth.slope_bytes_per_min)} MB/min "
                f"[{_mb(growth.ci_low_bytes_per_min)}…{_mb(growth.ci_high_bytes_per_min)}]",
            )
            verdict = str(judgement.verdict)
            table.add_row("verdict so far", f"[{VERDICT_STYLE.get(verdict, '')}]{verdict}[/]")
            for result in status.criteria:
                mark = _STATUS_MARK[str(result.status)]
                table.add_row(escape(result.criterion.text), f"{mark} {escape(result.detail)}")
        return table

    def line(self) -> str:
        """The same, as one plain line for logs."""
        last, status = self.analysis.last, self.analysis.status
        assert last is not None
        text = (
            f"t {last.t_wall_s / 60:6.1f} min  RSS {format_bytes(last.rss_bytes)}  swap "
            f"{format_bytes(last.swap_bytes)}  CPU {last.cpu_percent:.0f}%"
        )
        if status is not None:
            growth = status.growth
            text += f"  growth {_mb(growth.slope_bytes_per_min)} MB/min {status.judgement.verdict}"
        return text
