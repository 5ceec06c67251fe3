"""The --expect grammar as typed on the command line: spaces anywhere, the unit spellings people
type, and errors that quote what was typed."""

import pytest

from leakhunt.analysis.criteria import parse_expect
from leakhunt.errors import UsageError
from leakhunt.expect import GRAMMAR, parse_expectation

SPELLINGS = [
    ("growth<50MB/h", "growth", "<", 50e6 / 60, None),
    ("growth < 50 MB/h", "growth", "<", 50e6 / 60, None),
    ("growth<50MB/hour", "growth", "<", 50e6 / 60, None),
    ("growth <= 50 MB / hours", "growth", "<=", 50e6 / 60, None),
    ("growth < 1 GB/day", "growth", "<", 1e9 / 1440, None),
    ("rss < 2 GB", "rss", "<", 2e9, None),
    ("rss<2GB@30m", "rss", "<", 2e9, 1800.0),
    ("rss < 2 GB @ 30 min", "rss", "<", 2e9, 1800.0),
    ("peak < 2.5GiB", "peak", "<", 2.5 * 2**30, None),
    ("swap == 0", "swap", "==", 0.0, None),
    ("cpu < 40 %", "cpu", "<", 40.0, None),
    ("uptime > 8 hours", "uptime", ">", 8 * 3600.0, None),
    (" restarts==0 ", "restarts", "==", 0.0, None),
]


@pytest.mark.parametrize(("text", "metric", "op", "threshold", "at_s"), SPELLINGS)
def test_spaces_and_the_unit_spellings_people_type_are_accepted(text, metric, op, threshold, at_s):
    parsed = parse_expectation(text)
    assert (parsed.metric, parsed.op, parsed.at_s) == (metric, op, at_s)
    assert parsed.threshold == pytest.approx(threshold)
    assert parsed.text == text.strip()


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("growth<50MB/fortnight", "'50MB/fortnight'"),
        ("growth < 50 MB/fortnight", "'50 MB/fortnight'"),
        ("rss < 2 lots", "'2 lots'"),
        ("rss<<2GB", None),
        ("memory<2GB", "'memory'"),
        ("cpu<40%@5m", None),
        ("cpu < forty", "'forty'"),
    ],
)
def test_an_error_quotes_the_criterion_as_typed_and_shows_the_grammar(text, quoted):
    with pytest.raises(UsageError) as raised:
        parse_expectation(text)
    message = raised.value.message
    assert message.startswith(f"--expect {text!r}")
    assert quoted is None or quoted in message
    assert GRAMMAR in message
    assert "1hour" not in message and "'1" not in message


@pytest.mark.parametrize("text", [spelling[0] for spelling in SPELLINGS])
def test_the_analysis_reads_a_criterion_through_this_one_grammar(text):
    ours, theirs = parse_expectation(text), parse_expect(text)
    assert (ours.metric, ours.op, ours.at_s, ours.threshold) == (
        theirs.metric, theirs.op, theirs.at_s, theirs.threshold
    )  # fmt: skip
    assert theirs.value_text == ours.value_text.replace(" ", "")
