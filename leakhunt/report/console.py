"""What the terminal shows: tables at the end of a run, and the live view during it.

Everything a user or a target wrote (labels, criteria, paths, type names, process names) is
escaped before it reaches rich, or given to it as plain Text, so `[bold]` or `a[/]b` in it prints
as typed. Every table and paragraph fits the console's width (COLUMNS, 80 when stdout is not a
terminal) by the rules of report/fit.py: no token split across lines, no line ending in a space;
a directory's path is printed whole on a line of its own when it does not fit beside its words.
Verdict cells read `verdict_short` ("LEAK, slow"), headlines `verdict_label`; colours go by the
bare verdict: LEAK red, BOUNDED and INCONCLUSIVE yellow, STABLE green.
"""

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from leakhunt.report.fit import Column, elided_names, fit_table, print_lines, wrap
from leakhunt.sampling.sample import Sample
from leakhunt.units import format_bytes, format_mb

if TYPE_CHECKING:
    from leakhunt.analysis.live import LiveStatus

MB = 1e6
VERDICT_STYLE = {
    "LEAK": "bold red",
    "STABLE": "bold green",
    "BOUNDED": "bold yellow",
    "INCONCLUSIVE": "yellow",
}
STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "NOT PROVEN": "bold yellow"}
# Run labels shorter than this are elided no further: the figures go under them instead.
RUN_NAME_MIN = 16
MIN_WIDTH = 40


def verdict_text(summary: dict[str, Any]) -> Text:
    """A table cell's verdict (`LEAK, slow`), coloured by the bare verdict."""
    verdict = str(summary.get("verdict", "?"))
    return Text(str(summary.get("verdict_short") or verdict), style=VERDICT_STYLE.get(verdict, ""))


def status_markup(status: str) -> str:
    """PASS / FAIL / NOT PROVEN as markup; anything unknown reads as a failure."""
    status = status if status in STATUS_STYLE else "FAIL"
    return f"[{STATUS_STYLE[status]}]{status}[/]"


def width_of(console: Console) -> int:
    return max(console.width, MIN_WIDTH)


def _mb(value: float | None) -> str:
    return format_mb(value, signed=True)


GROWTH_COLUMNS = [
    Column("verdict"),
    Column("MB/min", "right"),
    Column("95 % CI", "right"),
    Column("to limit", "right", phrase=True),
    Column("peak", "right"),
]


def growth_table(rows: list[tuple[str, dict[str, Any]]], width: int, title: str = "") -> list[Text]:
    """One row per run: its verdict, rate with interval, time to limit and peak, and how it ended
    when one did not complete. Labels too long for what is left are elided in the middle."""
    show_ended = any(summary.get("exit_reason", "completed") != "completed" for _, summary in rows)
    columns = GROWTH_COLUMNS + ([Column("ended", phrase=True)] if show_ended else [])
    cells = []
    for _, summary in rows:
        growth = summary.get("growth") or {}
        row = [
            verdict_text(summary),
            Text(_mb(growth.get("slope_bytes_per_min"))),
            Text(f"{_mb(growth.get('ci_low_bytes_per_min'))}…{_mb(growth.get('ci_high_bytes_per_min'))}"),
            Text(str(summary.get("to_limit", ""))),
            Text(format_bytes(summary.get("peak_rss_bytes") or 0)),
        ]
        if show_ended:
            row.append(Text(str(summary.get("exit_reason", "")).replace("_", " ")))
        cells.append(row)
    return fit_table(
        "run", [label for label, _ in rows], columns, cells, width,
        fit_names=elided_names, name_min=RUN_NAME_MIN, title=title,
    )  # fmt: skip


def print_prose(console: Console, text: str, hang: str = "") -> None:
    """Markup `text` wrapped at the console's width by the rules of report/fit.py."""
    if not text:
        return
    print_lines(console, wrap(Text.from_markup(text), width_of(console), hang=hang))


def print_where(console: Console, words: str, path: str, files: str = "") -> None:
    """`run directory: PATH  (report.html, memory.png)` on one line when it fits; otherwise the
    words, then the path alone and whole on the next line, to be copied."""
    tail = f"  ({files})" if files else ""
    line = Text.assemble(f"{words}: ", (path, "bold"), tail)
    if line.cell_len <= width_of(console):
        print_lines(console, [line])
        return
    print_lines(console, [Text(f"{words}{f' ({files})' if files else ''}:"), Text(path, style="bold")])


def print_scenarios(console: Console, scenarios: list[tuple[str, str]]) -> None:
    """One scenario a paragraph: its name, then its description wrapped beside it."""
    indent = max(len(name) for name, _ in scenarios) + 2
    for name, description in scenarios:
        lines = wrap(description, width_of(console) - indent)
        heads = [Text(name.ljust(indent), style="bold")] + [Text(" " * indent)] * (len(lines) - 1)
        print_lines(console, [Text.assemble(head, line) for head, line in zip(heads, lines, strict=True)])


def print_run_summary(console: Console, summary: dict[str, Any], run_dir: str) -> None:
    width = width_of(console)
    print_lines(console, growth_table([(summary.get("label", "run"), summary)], width))
    print_prose(console, escape(summary.get("headline", "")))
    for criterion in summary.get("criteria", []):
        mark = status_markup(criterion.get("status", ""))
        print_prose(
            console, f"  {mark} {escape(criterion['text'])}: {escape(criterion['detail'])}", hang="    "
        )
    for k, line in enumerate(what_grows_lines(summary.get("attribution"))):
        print_prose(console, line, hang="  " if k == 0 else "    ")
    cost = summary.get("cost") or {}
    if cost.get("sampler_cpu_s_per_read") is not None:
        print_prose(console, f"[dim]what measuring cost: {escape(describe_cost(cost))}[/]", hang="  ")
    elif cost.get("replayed_samples") is not None:
        replayed = f"nothing, {cost['replayed_samples']:,} samples were replayed from a file"
        print_prose(console, f"[dim]what measuring cost: {replayed}[/]", hang="  ")
    for note in summary.get("file_notes") or []:
        print_prose(console, f"[dim]note: {escape(note)}[/]", hang="  ")
    print_where(console, "run directory", run_dir, "report.html, memory.png")


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
    print_lines(console, growth_table(rows, width_of(console), title="leakhunt compare"))
    print_prose(console, escape(comparison.get("headline", "")))
    for entry in comparison["runs"]:
        for criterion in entry.get("criteria", []):
            status = criterion.get("status") or ("PASS" if criterion["passed"] else "FAIL")
            print_prose(
                console,
                f"  {escape(entry['label'])}: {status_markup(status)} "
                f"{escape(criterion['text'])}: {escape(criterion['detail'])}",
                hang="    ",
            )
    where = str(comparison.get("comparison_dir", ""))
    print_where(console, "comparison directory", where, "report.html, comparison.png")


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
            table.add_row("verdict so far", f"[{VERDICT_STYLE.get(verdict, '')}]{judgement.short_label}[/]")
            for result in status.criteria:
                mark = status_markup(str(result.status))
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
            text += f"  growth {_mb(growth.slope_bytes_per_min)} MB/min {status.judgement.short_label}"
        return text
