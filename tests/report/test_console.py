"""What the terminal shows: tables that fit 80 columns without losing what tells rows apart, prose
that never breaks a number from its unit, no trailing spaces, paths whole, verdicts in their
short words and the colour of the bare verdict, NOT PROVEN never styled as a pass.

Line by line, as printed: a run's summary (its table, with the `ended` column only when a run did
not complete, the headline, each criterion, What grows with its top three holders and types, what
measuring cost, notes, the run directory), a comparison's, the live line of a soak and the live
view of a watch (RSS, swap, CPU, growth so far, verdict so far, each criterion's state)."""

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


def rate(mb_per_min: float) -> dict:
    return {
        "slope_bytes_per_min": mb_per_min * 1e6,
        "ci_low_bytes_per_min": mb_per_min * 1e6 - 1e5,
        "ci_high_bytes_per_min": mb_per_min * 1e6 + 1e5,
    }


ATTRIBUTION = {
    "statement": "Python objects explain 61% of the RSS growth.",
    "accumulation_points": [
        {
            "pattern": "m.cache[*]",
            "members": 4,
            "first_count": 1560,
            "last_count": 8060,
            "bytes_per_min": 324e3,
        },
        {"pattern": "m.log", "members": 1, "first_count": 1, "last_count": 2, "bytes_per_min": -5.0},
        {"pattern": "c", "members": 1, "first_count": 1, "last_count": 2, "bytes_per_min": 5.0},
        {"pattern": "d", "members": 1, "first_count": 1, "last_count": 2, "bytes_per_min": 5.0},
    ],
    "types": [
        {"name": "DataFrame", "bytes_per_min": 324e3},
        {"name": "dict", "bytes_per_min": 1e3},
        {"name": "a", "bytes_per_min": 1},
        {"name": "b", "bytes_per_min": 1},
    ],
    "notes": ["[b]n[/b]"],
    "cost": {"pause_s_mean": 0.0021, "pause_s_max": 0.0048, "child_walk_s_mean": 0.25},
}


def test_what_grows_names_the_top_three_holders_and_types_then_the_notes_and_the_probes_cost():
    from leakhunt.report.console import what_grows_lines

    assert what_grows_lines(ATTRIBUTION) == [
        "[bold]What grows:[/] Python objects explain 61% of the RSS growth.",
        "  held by m.cache[*] (4 like it): 1,560 -> 8,060 items, +0.324 MB/min",
        "  held by m.log: 1 -> 2 items, -5e-06 MB/min",
        "  held by c: 1 -> 2 items, +5e-06 MB/min",
        "  growing types: DataFrame +0.324 MB/min, dict +0.001 MB/min, a +1e-06 MB/min",
        "  [dim]\\[b]n\\[/b][/]",
        "  [dim]probes: service paused 2.1 ms per probe (max 4.8); each child walked 0.25 s[/]",
    ]
    assert what_grows_lines(None) == [] and what_grows_lines({}) == []
    assert what_grows_lines({"statement": "nothing grows"}) == ["[bold]What grows:[/] nothing grows"]


def test_the_probes_cost_says_the_pause_the_childs_memory_and_what_was_counted_in_process():
    from leakhunt.report.console import describe_probe_cost

    cost = {"pause_s_mean": 0.0021, "pause_s_max": 0.0048, "child_walk_s_mean": 0.25}
    assert describe_probe_cost({**cost, "child_private_dirty_bytes_max": 12e6, "in_process": 2,
                                "in_process_reason": "no fork on this system"}) == (
        "service paused 2.1 ms per probe (max 4.8); each child walked 0.25 s using up to 12 MB of the "
        "host's memory; 2 counted in-process: no fork on this system"
    )  # fmt: skip
    assert describe_probe_cost({**cost, "child_private_dirty_bytes_max": 0, "in_process": 0}) == (
        "service paused 2.1 ms per probe (max 4.8); each child walked 0.25 s"
    )


def test_what_measuring_cost_says_leakhunts_whole_cpu_first_then_its_parts():
    from leakhunt.report.console import describe_cost

    cost = {"sampler_cpu_s_per_read": 133e-6, "leakhunt_core_fraction": 0.0085,
            "leakhunt_cpu_s_per_sample": 449e-6, "realtime_core_fraction": 3e-5, "missed_samples": 2,
            "probe_s": 1.5, "probe_fraction": 0.012, "remote_cpu_s_per_sample": 0.00123}  # fmt: skip
    assert describe_cost(cost) == (
        "leakhunt used 0.85% of a core while sampling (449 µs per sample, all threads; "
        "the reads 133 µs of it), "
        "the reads alone 0.003% of a core in real time, 2 sample(s) missed (gaps, see the events), "
        "probe pauses 1.50 s (1.2% of the run), 1.23 ms remote CPU per sample"
    )
    # Without leakhunt's own CPU (or with none per sample): the reads alone; nothing missed, no probes.
    reads = {"sampler_cpu_s_per_read": 133e-6, "missed_samples": 0, "probe_s": 0.0}
    assert describe_cost(reads) == "133 µs of sampler CPU per sample"
    assert describe_cost({**reads, "leakhunt_core_fraction": 0.01, "leakhunt_cpu_s_per_sample": 0}) == (
        "133 µs of sampler CPU per sample"
    )
    assert describe_cost({**reads, "realtime_core_fraction": 0.0, "remote_cpu_s_per_sample": 0.0}) == (
        "133 µs of sampler CPU per sample, the reads alone 0.000% of a core in real time, "
        "0.00 ms remote CPU per sample"
    )


def test_a_run_summary_reads_table_headline_criteria_what_grows_cost_notes_and_directory():
    run = {
        "label": "r1", "verdict": "LEAK", "verdict_short": "LEAK, fast", "growth": rate(224),
        "to_limit": "~25 min", "peak_rss_bytes": 5.9e9, "exit_reason": "limit_hit",
        "headline": "LEAK (fast): RSS grows [224] MB/min.",
        "criteria": [{"status": "FAIL", "text": "growth<50MB/h", "detail": "224 MB/min"},
                     {"status": "NOT PROVEN", "text": "rss<2GB@30m", "detail": "covers 5 min"}],
        "attribution": {**ATTRIBUTION, "accumulation_points": ATTRIBUTION["accumulation_points"][:1],
                        "types": ATTRIBUTION["types"][:1], "notes": []},
        "cost": {"sampler_cpu_s_per_read": 133e-6},
        "file_notes": ["samples.csv: 1 row [cut] short"],
    }  # fmt: skip
    assert printed(print_run_summary, run, "reports/r1", width=100).splitlines() == [
        "run  verdict     MB/min    95 % CI  to limit    peak  ended",
        "───────────────────────────────────────────────────────────────",
        "r1   LEAK, fast    +224  +224…+224   ~25 min  5.9 GB  limit hit",
        "LEAK (fast): RSS grows [224] MB/min.",
        "  FAIL growth<50MB/h: 224 MB/min",
        "  NOT PROVEN rss<2GB@30m: covers 5 min",
        "What grows: Python objects explain 61% of the RSS growth.",
        "  held by m.cache[*] (4 like it): 1,560 -> 8,060 items, +0.324 MB/min",
        "  growing types: DataFrame +0.324 MB/min",
        "  probes: service paused 2.1 ms per probe (max 4.8); each child walked 0.25 s",
        "what measuring cost: 133 µs of sampler CPU per sample",
        "note: samples.csv: 1 row [cut] short",
        "run directory: reports/r1  (report.html, memory.png)",
    ]


def test_a_replayed_run_cost_nothing_and_a_console_narrower_than_40_is_read_as_40():
    run = {"cost": {"replayed_samples": 12345}, "file_notes": ["samples.csv: its last row was cut short"]}
    lines = printed(print_run_summary, run, "r", width=30).splitlines()
    assert lines == [
        "run",
        "verdict  MB/min  95 % CI  to limit  peak",
        "────────────────────────────────────────",
        "run",
        "?           n/a  n/a…n/a             0 B",
        "what measuring cost: nothing, 12,345",
        "  samples were replayed from a file",
        "note: samples.csv: its last row was cut",
        "  short",
        "run directory (report.html, memory.png):",
        "r",
    ]


def test_a_long_line_of_prose_hangs_its_later_lines():
    criterion = {
        "status": "FAIL",
        "text": "growth<50MB/h",
        "detail": "growth 224 MB/min is not < 50 MB/h " * 2,
    }
    lines = printed(print_run_summary, {**summary("LEAK", 1e6), "criteria": [criterion]}, "r", width=60)
    assert lines.splitlines()[-3:-1] == [
        "  FAIL growth<50MB/h: growth 224 MB/min is not < 50 MB/h",
        "    growth 224 MB/min is not < 50 MB/h",
    ]


def test_the_ended_column_shows_only_when_a_run_did_not_complete():
    done = {**summary("STABLE", 1e4), "exit_reason": "completed"}
    assert (
        printed(print_table, [("a", done)]).splitlines()[0]
        == "run  verdict  MB/min        95 % CI         to limit    peak"
    )
    # A summary without an exit reason completed; with another, the column says it in words.
    assert printed(print_table, [("a", {"verdict": "STABLE"})]).splitlines()[0].split()[-1] == "peak"
    lines = printed(
        print_table, [("a", done), ("b", {**done, "exit_reason": "connection_lost"})]
    ).splitlines()
    assert (
        lines[0].endswith("peak  ended")
        and lines[-2].endswith("3.2 GB  completed")
        and lines[-1].endswith("connection lost")
    )


def test_a_comparison_reads_its_title_table_headline_each_runs_criteria_and_directory():
    runs = [
        {"label": "fixes off", "verdict": "LEAK", "verdict_short": "LEAK, fast", "growth": rate(224),
         "to_limit": "~25 min", "peak_rss_bytes": 5.9e9, "exit_reason": "completed",
         "criteria": [{"passed": False, "text": "swap==0", "detail": "1 MB"}]},
        {"label": "caps", "verdict": "STABLE", "growth": rate(0.01), "to_limit": "not approaching",
         "peak_rss_bytes": 2e8, "criteria": [{"passed": True, "text": "swap==0", "detail": "0 B"}]},
    ]  # fmt: skip
    comparison = {"runs": runs, "headline": "caps remove 99 % [of it]", "comparison_dir": "reports/c"}
    assert printed(print_comparison, comparison).splitlines() == [
        "                          leakhunt compare",
        "run        verdict     MB/min      95 % CI         to limit    peak",
        "───────────────────────────────────────────────────────────────────",
        "fixes off  LEAK, fast    +224    +224…+224          ~25 min  5.9 GB",
        "caps       STABLE       +0.01  -0.09…+0.11  not approaching  200 MB",
        "caps remove 99 % [of it]",
        "  fixes off: FAIL swap==0: 1 MB",
        "  caps: PASS swap==0: 0 B",
        "comparison directory: reports/c  (report.html, comparison.png)",
    ]


def test_a_status_nobody_knows_reads_as_a_failure():
    from leakhunt.report.console import status_markup, verdict_text

    assert status_markup("PASS") == "[green]PASS[/]"
    assert status_markup("NOT PROVEN") == "[bold yellow]NOT PROVEN[/]"
    assert status_markup("maybe") == "[bold red]FAIL[/]"
    assert verdict_text({"verdict": "INCONCLUSIVE"}).style == "yellow"
    assert verdict_text({"verdict": "odd"}).style == "" and verdict_text({}).plain == "?"


def test_a_path_that_does_not_fit_beside_its_words_goes_whole_on_the_next_line():
    from leakhunt.report.console import print_where

    assert printed(print_where, "report", "/x/y") == "report: /x/y\n"
    path = "/srv/" + "a" * 70
    assert printed(print_where, "report", path).splitlines() == ["report:", path]
    assert printed(print_where, "report", path[:72]).splitlines() == [f"report: {path[:72]}"]  # 80 exactly
    assert printed(print_prose, "") == ""


def samples_every(step_s: float, n: int, rss_bytes_per_s: float, **fields) -> list:
    from leakhunt.sampling.sample import Sample

    return [
        Sample(k * step_s, k * step_s, int(100e6 + rss_bytes_per_s * k * step_s), **fields) for k in range(n)
    ]


def test_the_live_line_shows_simulated_time_of_the_duration_rss_and_growth_so_far():
    from leakhunt.report.console import LiveLine

    line = LiveLine(1800.0)
    assert line.fresh() == ""
    samples = samples_every(30.0, 40, 1e6 / 60)
    assert line.update(samples[0]) == "sim    0.0/30 min  RSS 100 MB"
    for sample in samples[1:]:
        shown = line.update(sample)
    assert shown == "sim   19.5/30 min  RSS 120 MB  growth so far +1 MB/min [+1…+1]"
    assert line.fresh() == line.text == shown
    watch = LiveLine(7200.0, time_label="t")
    assert watch.update(samples[3]) == "t    1.5/120 min  RSS 102 MB"


def test_the_watch_view_shows_rss_swap_cpu_growth_verdict_and_each_criterion():
    from leakhunt.analysis.criteria import parse_expect
    from leakhunt.report.console import WatchView

    view = WatchView([parse_expect("growth<50MB/h"), parse_expect("swap==0")])
    assert printed(lambda console: console.print(view.render())).strip() == "waiting for the first sample"
    for sample in samples_every(60.0, 40, 2e6 / 60, swap_bytes=0, cpu_percent=12.34):
        view.update(sample)
    assert view.n_samples == 40
    lines = [line.rstrip() for line in printed(lambda console: console.print(view.render())).splitlines()]
    assert lines == [
        " elapsed         39.0 min, 40 samples",
        " RSS             178 MB",
        " swap            0 B",
        " CPU             12.3 %",
        " growth so far   +2 MB/min [+2…+2]",
        " verdict so far  LEAK, fast",
        " growth<50MB/h   FAIL growth 2 MB/min (120 MB/h) is not < 50 MB/h",
        " swap==0         PASS most swap seen 0 B == 0",
    ]
    coloured = printed(lambda console: console.print(view.render()), colour=True)
    assert colour_of(coloured, "LEAK, fast") == {"red"} and colour_of(coloured, "PASS") == {"green"}
    assert view.line() == "t   39.0 min  RSS 178 MB  swap 0 B  CPU 12%  growth +2 MB/min LEAK, fast"
