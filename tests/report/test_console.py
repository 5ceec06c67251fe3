"""What the terminal shows: tables that fit 80 columns without losing what tells rows apart, prose
that never breaks a number from its unit, no trailing spaces, paths whole, verdicts in their
short words and the colour of the bare verdict, NOT PROVEN never styled as a pass."""

import io
import itertools
import re

import pytest
from rich.console import Console

from leakhunt.report.console import (
    growth_table,
    print_comparison,
    print_prose,
    print_run_summary,
    print_scenarios,
)
from leakhunt.report.fit import print_lines


def summary(verdict: str, slope: float) -> dict:
    growth = {"slope_bytes_per_min": slope, "ci_low_bytes_per_min": slope * 0.9,
              "ci_high_bytes_per_min": slope * 1.1}  # fmt: skip
    return {"verdict": verdict, "growth": growth, "to_limit": "not approaching", "peak_rss_bytes": 3.2e9,
            "exit_reason": "interrupted"}  # fmt: skip


def printed(show, *args, width: int = 80, colour: bool = False) -> str:
    """What `show(console, *args)` prints on a console `width` wide (ANSI colours if asked)."""
    stream = io.StringIO()
    console = Console(
        file=stream, width=width, force_terminal=colour, color_system="standard" if colour else None
    )
    show(console, *args)
    return stream.getvalue()


def colour_of(text: str, word: str) -> set[str]:
    """The colours `word` is printed in: red, green or yellow, from its ANSI codes."""
    names = {"31": "red", "32": "green", "33": "yellow"}
    found = re.findall(r"\x1b\[([\d;]+)m" + re.escape(word), text)
    assert found, f"{word!r} is not printed in a colour"
    return {names[code] for codes in found for code in codes.split(";") if code in names}


def print_table(console, rows, title=""):
    print_lines(console, growth_table(rows, console.width, title))


def test_runs_with_a_long_common_prefix_still_read_apart_at_80_columns():
    labels = ["incident-2025-10-30-caps+cleanup+oi_cap-r1", "incident-2025-10-30-caps+cleanup+oi_cap-r2"]
    text = printed(print_table, [(label, summary("LEAK", 224.4e6)) for label in labels])
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(line == line.rstrip() for line in text.splitlines())
    for label in labels:  # too long to sit beside the figures: whole, above them
        assert label in text.splitlines()
    assert "+224" in text and "not approaching" in text and "interrupted" in text


def test_a_long_label_beside_its_figures_is_elided_in_the_middle_keeping_both_ends():
    labels = ["incident-2025-10-30-oi_cap-only-r1", "incident-2025-10-30-oi_cap-only-r2"]
    rows = [
        (label, {**summary("LEAK", 1e6), "exit_reason": "completed", "to_limit": "~9 min"})
        for label in labels
    ]
    lines = printed(print_table, rows, width=64).splitlines()
    assert [line.split("  ")[0] for line in lines[2:]] == ["incident-…only-r1", "incident-…only-r2"]
    assert all(len(line) <= 64 for line in lines)


VERDICT_COLOUR = {"LEAK": "red", "STABLE": "green", "BOUNDED": "yellow", "INCONCLUSIVE": "yellow"}


@pytest.mark.parametrize("verdict", VERDICT_COLOUR)
def test_a_verdict_cell_reads_its_short_words_in_the_colour_of_the_bare_verdict(verdict):
    short = {"LEAK": "LEAK, slow"}.get(verdict, verdict)
    run = {**summary(verdict, 1e5), "verdict_short": short, "headline": f"{verdict} (words)"}
    text = printed(print_run_summary, run, "out", colour=True)
    assert colour_of(text, short) == {VERDICT_COLOUR[verdict]}
    # A summary written before verdict labels: the bare verdict, in the same colour.
    old = printed(print_run_summary, summary(verdict, 1e5), "out", colour=True)
    assert colour_of(old, verdict) == {VERDICT_COLOUR[verdict]}


def test_not_proven_is_never_styled_as_a_pass_in_a_run_or_a_comparison():
    criteria = [
        {"status": "PASS", "passed": True, "text": "swap==0", "detail": "0 B"},
        {"status": "NOT PROVEN", "passed": False, "text": "rss<2GB@30m", "detail": "not reached"},
        {"status": "FAIL", "passed": False, "text": "growth<50MB/h", "detail": "60 MB/h"},
    ]
    run = {**summary("LEAK", 1e6), "criteria": criteria}
    comparison = {"runs": [{**run, "label": "fixes off"}], "headline": "", "comparison_dir": "c"}
    for text in (
        printed(print_run_summary, run, "out", colour=True),
        printed(print_comparison, comparison, colour=True),
    ):
        assert colour_of(text, "NOT PROVEN") == {"yellow"}
        assert colour_of(text, "PASS") == {"green"} and colour_of(text, "FAIL") == {"red"}


def test_what_grows_and_the_cost_fit_the_width_with_no_trailing_space():
    run = {
        **summary("LEAK", 657_000.0),
        "headline": "LEAK (near: its interval straddles the 50 MB/h bound): RSS grows 0.657 MB/min " * 2,
        "attribution": {
            "statement": "Python objects explain 61% of the RSS growth (0.403 MB/min of 0.657 MB/min).",
            "accumulation_points": [
                {
                    "pattern": "leakhunt.workload.target.run:manager.data_cache[*]['ohlcv'][*]",
                    "members": 4,
                    "first_count": 1560,
                    "last_count": 8060,
                    "bytes_per_min": 324_000.0,
                },
            ],
            "types": [
                {"name": "pandas.DataFrame", "bytes_per_min": 324_000.0},
                {"name": "dict", "bytes_per_min": 1},
            ],
        },
        "cost": {
            "sampler_cpu_s_per_read": 133e-6,
            "leakhunt_core_fraction": 0.0085,
            "leakhunt_cpu_s_per_sample": 449e-6,
            "realtime_core_fraction": 3e-5,
        },
    }
    for width in (64, 80, 100):
        lines = printed(print_run_summary, run, "out", width=width).splitlines()
        assert all(len(line) <= width and line == line.rstrip() for line in lines), width
        holder = "leakhunt.workload.target.run:manager.data_cache[*]['ohlcv'][*]"
        # Whole where it fits a line beside its indent; elided in the middle where it cannot.
        assert (holder in "\n".join(lines)) is (width >= 80), width


def test_the_run_directory_is_printed_whole_on_one_line():
    short = printed(print_run_summary, summary("LEAK", 1e6), "reports/run").splitlines()
    assert short[-1] == "run directory: reports/run  (report.html, memory.png)"
    path = "/srv/leakhunt/reports/20251030T120000Z-soak-incident-2025-10-30-caps+cleanup+oi_cap"
    lines = printed(print_run_summary, summary("LEAK", 1e6), path).splitlines()
    assert lines[-2:] == ["run directory (report.html, memory.png):", path]


def test_scenarios_are_listed_with_their_descriptions_wrapped_beside_their_names():
    description = (
        "Calibrated to the observed 220 MB/min: non-overlapping pages (a paging bug) and wide candles"
    )
    lines = printed(print_scenarios, [("incident-replay", description), ("smoke", "Tiny.")]).splitlines()
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines)
    assert lines[0].startswith("incident-replay  Calibrated") and lines[-1] == "smoke            Tiny."
    assert all(line.startswith(" " * 17) for line in lines[1:-1])
    assert " ".join(line.strip() for line in lines[:-1]) == f"incident-replay  {description}"


@pytest.mark.parametrize("width", range(40, 81, 3))
def test_prose_never_breaks_between_a_number_and_its_unit(width):
    stream = io.StringIO()
    text = ("fixes off: 224 MB/min (LEAK); caps only: 9.1 MB/min (LEAK, removes 96 % (95 % CI 90 to 99 %)); "
            "the open-interest cap alone removes 4 % and runs 30 s, 2 h, 1.5 GB, 6 GiB.")  # fmt: skip
    print_prose(Console(file=stream, width=width, force_terminal=False), text)
    lines = stream.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    for line, following in itertools.pairwise(lines):
        split_unit = re.search(r"\d$", line) and re.match(r"(%|MB|GB|GiB|s\b|h\b)", following)
        assert not split_unit, (line, following)
    assert " ".join(lines) == text


def test_user_text_prints_literally_never_as_markup():
    from leakhunt.report.console import what_grows_lines

    hostile = {
        **summary("LEAK", 1e6),
        "label": "name[/]?",
        "headline": "[bold red]proc[/] leaks",
        "criteria": [{"status": "FAIL", "text": "rss<[red]1GB", "detail": "a[/]b"}],
    }
    stream = io.StringIO()
    console = Console(file=stream, width=120, force_terminal=False)
    print_run_summary(console, hostile, "out/a[/]b")
    attribution = {
        "statement": "[bold]x[/]",
        "notes": ["[/]"],
        "types": [{"name": "dict[str]", "bytes_per_min": 1}],
    }
    for line in what_grows_lines(attribution):
        console.print(line)
    text = stream.getvalue()
    for literal in (
        "name[/]?",
        "[bold red]proc[/] leaks",
        "rss<[red]1GB: a[/]b",
        "out/a[/]b",
        "[bold]x[/]",
        "dict[str]",
    ):
        assert literal in text, literal
