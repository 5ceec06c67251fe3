"""fit.py: prose and tables that fit a width without splitting a token: breaks at spaces (never
between a number and its unit), long names broken between their labels or elided in the
middle with both ends kept, paths whole, no trailing spaces, and a table whose names go above
their figures when they cannot sit beside them."""

import itertools
import re

import pytest
from rich.text import Text

from leakhunt.report.fit import (
    Column,
    elide_middle,
    elided_names,
    fit_table,
    longest_piece,
    separated_names,
    wrap,
)

SERIES = 'rss{instance="127.0.0.1:18701",job="api-gateway-production",pod="api-gateway-7d9f8c6b5-x2q2z"}'
LABELS = [
    'instance="127.0.0.1:18701",',
    'job="api-gateway-production",',
    'pod="api-gateway-7d9f8c6b5-x2q2z"}',
]


def plain(lines: list[Text]) -> list[str]:
    return [line.plain for line in lines]


@pytest.mark.parametrize("width", range(38, 81, 3))
def test_prose_breaks_at_spaces_and_between_labels_never_inside_a_token(width):
    text = f"FAIL {SERIES}: growth 2.1 MB/min (126 MB/h) is not < 50 MB/h, NOT PROVEN (3 restarts)"
    lines = plain(wrap(text, width, hang="  "))
    assert all(len(line) <= width and line == line.rstrip() for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    joined = " ".join(line.strip() for line in lines)
    for token in ("2.1 MB/min", "126 MB/h", "50 MB/h", "NOT PROVEN", "(3 restarts)", *LABELS):
        assert token in joined.replace(", ", ",").replace("{ ", "{"), token
    # Broken only at a space or right after a separator.
    for line, following in itertools.pairwise(lines):
        at_separator = line[-1] in ",{;"
        assert at_separator or (following.startswith("  ") and not following.startswith("   ")), (
            line,
            following,
        )


def test_a_number_stays_with_its_unit_at_every_width():
    text = "caps only: 9.1 MB/min, removes 96 % (95 % CI 90 to 99 %) in 30 s, 2 h, 1.5 GB, 6 GiB, 12 µs"
    for width in range(12, 60):
        lines = plain(wrap(text, width))
        for line, following in itertools.pairwise(lines):
            assert not (re.search(r"\d$", line) and re.match(r"(%|MB|GB|GiB|µs|s\b|h\b)", following))
        assert " ".join(lines) == text


def test_a_path_is_printed_whole_and_styles_survive_the_breaks():
    path = "/home/someone/leakhunt/reports/20251030T120000Z-soak-incident-2025-10-30"
    assert path in plain(wrap(f"notes in {path}", 40))
    lines = wrap(
        Text.from_markup("  [bold yellow]NOT PROVEN[/] growth<50MB/h: " + "word " * 20), 40, hang="    "
    )
    assert lines[0].plain.startswith("  NOT PROVEN ")  # the indent kept, the markup not counted
    assert [(span.start, span.end, str(span.style)) for span in lines[0].spans] == [(2, 12, "bold yellow")]


def test_long_labels_keep_both_ends_and_whole_words_where_they_can():
    label = "incident-2025-10-30-caps+cleanup+oi_cap-r1"
    assert elide_middle(label, 16) == "incident-…cap-r1"
    assert elide_middle(label, 60) == label
    assert elide_middle("abcdefghijklmnopqrstuvwxyz", 10) == "abcde…wxyz"
    # Labels that the elision would make alike are shown whole, wrapped at their separators.
    names = ["incident-replay-caps-only-r1", "incident-replay-cleanup-only-r1", "smoke"]
    fitted = elided_names(names, 14)
    assert ["".join(lines) for lines in fitted] == names and all(
        len(x) <= 14 for lines in fitted for x in lines
    )
    assert elided_names(["a-long-label-r1", "a-long-label-r2"], 12) == [["a-…label-r1"], ["a-…label-r2"]]


def test_series_names_break_between_labels_and_elide_only_a_label_too_long_for_any_line():
    assert longest_piece([SERIES]) == len(LABELS[2])
    (lines,) = separated_names([SERIES], 34)
    assert lines == ["rss{" + LABELS[0], *LABELS[1:]]
    (narrow,) = separated_names([SERIES], 30)
    assert narrow[1:3] == LABELS[:2] and "…" in narrow[3] and narrow[3].endswith('x2q2z"}')


COLUMNS = [Column("verdict"), Column("MB/min", "right"), Column("to limit", "right", phrase=True)]


def rows_of(*rows: tuple[str, str, str]) -> list[list[Text]]:
    return [[Text(cell) for cell in row] for row in rows]


def test_a_table_puts_names_beside_their_figures_when_they_fit_and_above_them_when_not():
    figures = rows_of(("LEAK, slow", "+0.70", "~1,812 min"), ("STABLE", "+0.00", "not approaching"))
    wide = plain(fit_table("run", ["a", "b-run"], COLUMNS, figures, 80, fit_names=elided_names, name_min=4))
    assert wide[0] == "run    verdict     MB/min         to limit"
    assert wide[2:] == [
        "a      LEAK, slow   +0.70       ~1,812 min",
        "b-run  STABLE       +0.00  not approaching",
    ]
    names = [SERIES, 'rss{instance="b"}']
    stacked = plain(
        fit_table(
            "series", names, COLUMNS, figures, 60, fit_names=separated_names, name_min=longest_piece(names)
        )
    )
    assert stacked[:2] == ["series", "    verdict     MB/min         to limit"]
    assert stacked[3:] == [
        'rss{instance="127.0.0.1:18701",job="api-gateway-production",',
        '  pod="api-gateway-7d9f8c6b5-x2q2z"}',
        "    LEAK, slow   +0.70       ~1,812 min",
        'rss{instance="b"}',
        "    STABLE       +0.00  not approaching",
    ]


def test_phrases_wrap_at_spaces_only_when_the_figures_alone_are_too_wide():
    figures = rows_of(
        ("INCONCLUSIVE", "+0.0366", "reached at 152.0 min"), ("STABLE", "+0.00", "not approaching")
    )
    lines = plain(fit_table("run", ["x", "y"], COLUMNS, figures, 40, fit_names=elided_names, name_min=4))
    assert all(len(line) <= 40 and line == line.rstrip() for line in lines)
    cells = " ".join(line.strip() for line in lines)
    assert "reached at" in cells and "152.0 min" in cells and "approaching" in cells
    assert "152.0 min" in [line.split("  ")[-1].strip() for line in lines]  # a line of its own


def test_the_title_is_centred_and_no_line_ends_in_a_space():
    figures = rows_of(("LEAK", "+1", "x"))
    lines = plain(
        fit_table("run", ["a"], COLUMNS, figures, 80, fit_names=elided_names, name_min=4, title="t")
    )
    assert lines[0].strip() == "t" and lines[0].startswith(" ")
    assert all(line == line.rstrip() for line in lines)


def test_a_path_with_commas_is_still_printed_whole():
    path = "/srv/reports/a,b;c/d-20251030T120000Z-soak,incident"
    assert plain(wrap(f"see {path}", 20)) == ["see", path]


def test_a_phrase_column_is_never_narrower_than_its_header_or_longest_word():
    figures = rows_of(("INCONCLUSIVE", "+0.0366", "reached"), ("STABLE", "+0.00", "unknown"))
    # Too wide even stacked: the phrase column is already at its header's width and stays there.
    assert plain(fit_table("run", ["x", "y"], COLUMNS, figures, 30, fit_names=elided_names, name_min=4)) == [
        "run",
        "verdict        MB/min  to limit",
        "──────────────────────────────",
        "x",
        "INCONCLUSIVE  +0.0366   reached",
        "y",
        "STABLE          +0.00   unknown",
    ]
