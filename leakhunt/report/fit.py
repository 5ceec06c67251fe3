"""Text and tables that fit a terminal's width without splitting a token.

Rules, for prose and tables alike:
- Lines break at spaces, never between a number and its unit ("96 %", "1.5 GB", "30 s").
- A word wider than the line breaks after one of its separators (`,` `{` `;`), so a series name
  `rss{instance="127.0.0.1:18701",job="api"}` breaks between its labels, never inside one. A piece
  still too wide is elided in the middle, both ends kept (`pod="api-…x2q2z"`); a path (`/tmp/a`,
  `./a/b`, `reports/20251030T1200-soak`) is printed whole instead, being copied rather than read.
- No line ends in a space.
Tables (`fit_table`): the figures' columns keep their natural width and never wrap; the name
column takes what is left, its names fitted by the caller's rule (run labels elided in the
middle, series names wrapped at their commas). When what is left is narrower than the caller's
minimum, or a name would take more than two lines there, each row's name goes on its own line(s)
above its figures ("stacked"), at the full width;
only then, and only when the figures alone are still too wide, do phrase columns ("not
approaching") wrap at their spaces.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

ELLIPSIS = "…"
GAP = "  "  # between two columns
STACK_INDENT = "    "  # a stacked row's figures, under its name
NAME_HANG = "  "  # a name's second and later lines
MAX_NAME_LINES = 2  # beside its figures; a name needing more goes above them
PROSE_SEPARATORS = ",{;"
LABEL_SEPARATORS = "-+_,;"
ELISION_SEPARATORS = "-+_,;.:/ "

# A space between a number and its unit is not a place to break a line: "removes 96 %".
# Nor inside "NOT PROVEN", one status word, nor a count in brackets: "(3 restarts)".
_GLUED_SPACE = re.compile(
    r"(?<=\d) (?=%|[kMGT]i?B\b|MB/|µs\b|ms\b|min\b|s\b|h\b)|(?<=NOT) (?=PROVEN)|(?<=\d) (?=\w+\))"
)


def _elision(plain: str, width: int) -> tuple[int, int]:
    """How much of each end of `plain` to keep in `width` columns, the ellipsis included: cut at
    separators when that keeps most of the width, so whole words stay (`incident-…cap-r1`)."""
    room = width - 1
    tail_chars = room // 2
    best = (room - tail_chars, tail_chars)
    heads = [i + 1 for i, char in enumerate(plain) if char in ELISION_SEPARATORS and i + 1 <= room]
    tails = [len(plain) - i - 1 for i, char in enumerate(plain) if char in ELISION_SEPARATORS]
    pairs = [(h, t) for h in heads for t in tails if t > 0 and h + t <= room and h + t <= len(plain) - 1]
    if pairs:
        head, tail = max(pairs, key=lambda pair: pair[0] + pair[1] - abs(pair[0] - pair[1]) / 2)
        if head + tail >= 0.7 * room:
            best = (head, tail)
    return best


def elide_middle(text: str, width: int) -> str:
    """`incident-2025-10-30-caps-r1` in 16 columns: `incident-…caps-r1`; both ends kept."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head, tail = _elision(text, width)
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def _elide_text(text: Text, width: int) -> Text:
    if text.cell_len <= width:
        return text
    head, tail = _elision(text.plain, width)
    return Text.assemble(text[:head], ELLIPSIS, text[len(text) - tail :] if tail else "")


def _split_after(word: str, separators: str, width: int) -> list[tuple[int, int]]:
    """Spans of `word` in pieces no wider than `width`, cut only after a separator (greedy)."""
    cuts = [i + 1 for i, char in enumerate(word[:-1]) if char in separators]
    spans, start = [], 0
    while cell_len(word[start:]) > width:
        fitting = [cut for cut in cuts if start < cut and cell_len(word[start:cut]) <= width]
        first_cut = next((cut for cut in cuts if cut > start), None)
        end = fitting[-1] if fitting else first_cut
        if end is None:
            break
        spans.append((start, end))
        start = end
    spans.append((start, len(word)))
    return spans


# A path is copied, not read: printed whole ("/tmp/run", "./x/y", "reports/20251030T1200-soak").
_PATH = re.compile(r"^(?:~|\.{1,2})?/|^[\w.+-]+/[\w.+/-]{8,}")


def _words(plain: str) -> list[tuple[int, int]]:
    """Spans of the words of `plain`: runs between the spaces a line may break at."""
    glued = {m.start() for m in _GLUED_SPACE.finditer(plain)}
    words, start = [], None
    for i, char in enumerate(plain + " "):
        breakable = char == " " and i not in glued
        if breakable and start is not None:
            words.append((start, i))
            start = None
        elif not breakable and start is None:
            start = i
    return words


def _atoms(text: Text, width: int, separators: str) -> list[tuple[Text, bool]]:
    """The pieces a line is filled with, each with whether a space comes before it."""
    plain = text.plain
    atoms = []
    for a, b in _words(plain):
        word = plain[a:b]
        path = bool(_PATH.match(word))
        spans = [(0, b - a)] if path else _split_after(word, separators, width)
        for k, (c, d) in enumerate(spans):
            piece = text[a + c : a + d]
            if not path:
                piece = _elide_text(piece, width)
            atoms.append((piece, k == 0))
    return atoms


def wrap(text: Text | str, width: int, *, hang: str = "", separators: str = PROSE_SEPARATORS) -> list[Text]:
    """`text` in lines of at most `width` columns (see the rules), later lines indented by `hang`."""
    text = Text(text) if isinstance(text, str) else text
    lines: list[Text] = []
    indent = len(text.plain) - len(text.plain.lstrip(" "))
    line: Text | None = text[:indent] if indent else None
    # Pieces are cut to fit beside the hang, so each fits any line on its own.
    for atom, spaced in _atoms(text, max(width - cell_len(hang), 1), separators):
        if line is None:
            line = atom.copy()
        elif line.cell_len + (spaced and line.plain.strip() != "") + atom.cell_len <= width:
            line.append(" " if spaced and line.plain.strip() else "")
            line.append_text(atom)
        else:
            lines.append(line)
            line = Text(hang)
            line.append_text(atom)
    if line is not None:
        lines.append(line)
    return lines or [Text()]


def print_lines(console: Console, lines: Sequence[Text]) -> None:
    """Each line as it is: no wrapping by rich, no trailing spaces, no markup read."""
    for line in lines:
        line = line.copy()
        line.rstrip()
        console.print(line, soft_wrap=True, highlight=False)


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"  # or "right"
    # A phrase ("not approaching"): may break at its spaces, but only as a last resort.
    phrase: bool = False


# (names, width, stacked) -> each name's lines
NameFitter = Callable[[list[str], int, bool], list[list[str]]]


def elided_names(names: list[str], width: int, stacked: bool = False) -> list[list[str]]:
    """Run labels: one line each, elided in the middle; labels the elision would make alike
    are wrapped at their separators instead, so no two rows read the same."""
    short = [elide_middle(name, width) for name in names]
    alike = {s for s in short if sum(t == s for t in short) > 1}
    return [
        [line.plain for line in wrap(name, width, separators=LABEL_SEPARATORS)]
        if s in alike and s != name
        else [s]
        for name, s in zip(names, short, strict=True)
    ]


def separated_names(names: list[str], width: int, stacked: bool = False) -> list[list[str]]:
    """Series names: wrapped between their labels, an over-long label elided in its middle;
    stacked, a name's later lines are indented, to read apart from the figures under it."""
    hang = NAME_HANG if stacked else ""
    return [[line.plain for line in wrap(name, width, hang=hang)] for name in names]


def longest_piece(names: list[str], separators: str = PROSE_SEPARATORS) -> int:
    """The widest piece a name cannot be broken inside (a label of a series name)."""
    widths = [0]
    for name in names:
        for a, b in _words(name):
            start = a
            for i in range(a, b):
                if name[i] in separators:
                    widths.append(cell_len(name[start : i + 1]))
                    start = i + 1
            widths.append(cell_len(name[start:b]))
    return max(widths)


def _cell_lines(cell: Text, width: int, phrase: bool) -> list[Text]:
    if cell.cell_len <= width or not phrase:
        return [cell]
    return wrap(cell, width, separators="")


def _justified(cell: Text, width: int, justify: str) -> Text:
    pad = " " * max(width - cell.cell_len, 0)
    return Text.assemble(pad, cell) if justify == "right" else Text.assemble(cell, pad)


def _shrink_phrases(
    columns: Sequence[Column], rows: Sequence[Sequence[Text]], widths: list[int], room: int
) -> None:
    """Narrow the phrase columns, the rightmost (the least read) first, each to no less than its
    longest word, until the figures fit in `room`."""
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - room
    for i in reversed(range(len(columns))):
        if excess <= 0:
            return
        if not columns[i].phrase:
            continue
        floor = max([cell_len(columns[i].header)] + [len(w) for row in rows for w in row[i].plain.split()])
        step = min(max(widths[i] - floor, 0), excess)
        widths[i] -= step
        excess -= step


def fit_table(
    name_header: str,
    names: list[str],
    columns: Sequence[Column],
    rows: Sequence[Sequence[Text]],
    width: int,
    *,
    fit_names: NameFitter,
    name_min: int,
    title: str = "",
) -> list[Text]:
    """The table's lines (see the rules); `rows[i]` are the figures of `names[i]`."""
    widths = [max([cell_len(c.header)] + [row[i].cell_len for row in rows]) for i, c in enumerate(columns)]
    figures_width = sum(widths) + len(GAP) * (len(widths) - 1)
    name_natural = max([cell_len(name_header)] + [cell_len(n) for n in names])
    name_width = min(name_natural, width - figures_width - len(GAP))
    stacked = name_width < min(name_min, name_natural)
    if not stacked:
        fitted = fit_names(names, name_width, False)
        stacked = max(len(lines) for lines in fitted) > MAX_NAME_LINES
    indent = ""
    if stacked:
        fitted = fit_names(names, width, True)
        _shrink_phrases(columns, rows, widths, width - len(STACK_INDENT))
        figures_width = sum(widths) + len(GAP) * (len(widths) - 1)
        # Narrower still, the figures give up their indent before they overflow.
        indent = STACK_INDENT[: max(width - figures_width, 0)]

    def figure_lines(row: Sequence[Text]) -> list[list[Text]]:
        cells = [_cell_lines(cell, widths[i], columns[i].phrase) for i, cell in enumerate(row)]
        height = max(len(c) for c in cells)
        return [[c[k] if k < len(c) else Text() for c in cells] for k in range(height)]

    def joined(cells: Sequence[Text]) -> Text:
        line = Text()
        for i, cell in enumerate(cells):
            line.append(GAP if i else "")
            line.append_text(_justified(cell, widths[i], columns[i].justify))
        return line

    header = joined([Text(c.header, style="bold") for c in columns])
    lines: list[Text] = []
    if stacked:
        total = max(len(indent) + figures_width, 1)
        lines += [Text(name_header, style="bold"), Text.assemble(indent, header)]
    else:
        total = name_width + len(GAP) + figures_width
        lines.append(Text.assemble((name_header.ljust(name_width), "bold"), GAP, header))
    if title:
        lines.insert(0, Text(title.center(min(total, width)).rstrip(), style="bold"))
    lines.append(Text("─" * min(total, width)))
    for name_lines, row in zip(fitted, rows, strict=True):
        if stacked:
            lines += [Text(n) for n in name_lines]
            lines += [Text.assemble(indent, joined(cells)) for cells in figure_lines(row)]
            continue
        figures = figure_lines(row)
        for k in range(max(len(name_lines), len(figures))):
            name = name_lines[k] if k < len(name_lines) else ""
            cells = figures[k] if k < len(figures) else [Text() for _ in columns]
            lines.append(Text.assemble(name.ljust(name_width), GAP, joined(cells)))
    for line in lines:
        line.rstrip()
    return lines
