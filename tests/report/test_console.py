"""What the terminal shows: tables that fit 80 columns without losing what tells rows apart, and
prose that never breaks a number from its unit."""

import io
import itertools
import re

import pytest
from rich.console import Console

from leakhunt.report.console import growth_table, print_prose


def summary(verdict: str, slope: float) -> dict:
    growth = {"slope_bytes_per_min": slope, "ci_low_bytes_per_min": slope * 0.9,
              "ci_high_bytes_per_min": slope * 1.1}  # fmt: skip
    return {"verdict": verdict, "growth": growth, "to_limit": "not approaching", "peak_rss_bytes": 3.2e9,
            "exit_reason": "interrupted"}  # fmt: skip


def rendered(renderable, width: int) -> str:
    stream = io.StringIO()
    Console(file=stream, width=width, force_terminal=False).print(renderable)
    return stream.getvalue()


def test_runs_with_a_long_common_prefix_still_read_apart_at_80_columns():
    labels = ["incident-2025-10-30-caps+cleanup+oi_cap-r1", "incident-2025-10-30-caps+cleanup+oi_cap-r2"]
    text = rendered(growth_table([(label, summary("LEAK", 224.4e6)) for label in labels]), 80)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "…" not in text.replace("+202…+247", "")  # folded over lines, never cut
    assert "oi_cap-r1" in text and "oi_cap-r2" in text and "+224" in text and "approaching" in text


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
    from leakhunt.report.console import print_run_summary, what_grows_lines

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
