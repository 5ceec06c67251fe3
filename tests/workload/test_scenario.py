"""Scenarios load by name or path and bad files are refused with the file, key and type named."""

from pathlib import Path

import pytest

from leakhunt.errors import UsageError
from leakhunt.workload.scenario import available_scenarios, load_scenario, parse_fixes


def test_the_shipped_scenarios_load_and_the_literal_one_carries_the_report_figures():
    names = {path.stem for path in available_scenarios()}
    assert {"incident-2025-10-30", "incident-replay", "smoke"} <= names
    literal = load_scenario("incident-2025-10-30")
    assert len(literal.symbols) == 10
    assert literal.fetches_per_15min == 79
    assert sum(n for _, n in literal.candles_per_fetch) == 1700
    assert literal.memory_limit_bytes == 6 * 10**9
    assert literal.reference.growth_bytes_per_min == 220e6
    assert not literal.calibrated


def test_the_replay_lists_what_it_calibrated():
    replay = load_scenario("incident-replay")
    assert set(replay.calibrated) == {"overlap", "payload_columns"}
    assert replay.assumptions


def test_a_scenario_given_as_a_path_round_trips_through_its_dict(tmp_path):
    source = load_scenario("smoke")
    path = tmp_path / "mine.toml"
    path.write_text(Path(source.path).read_text().replace('name = "smoke"', 'name = "mine"'))
    mine = load_scenario(str(path))
    assert mine.name == "mine"
    assert type(mine).from_dict(mine.to_dict()) == mine


@pytest.mark.parametrize(
    ("replace", "by", "words"),
    [
        ("overlap = 0.0", 'overlap = "lots"', ["key 'overlap'", "a number from 0.0 to 1.0", "str"]),
        ("symbols = 2", "symbols = 0", ["key 'symbols'", "a count >= 1"]),
        ("seed = 7", "seed = 7\ncolour = 1", ["unknown key 'colour'"]),
        ('memory_limit = "2GB"', 'memory_limit = "two"', ["key 'memory_limit'", "a size"]),
        ("1m = 200", "7m = 200", ["candles_per_fetch.7m", "not a timeframe"]),
        ("fixes = []", 'fixes = ["gc"]', ["unknown fix 'gc'"]),
        ("seed = 7", "seed = [", ["not valid TOML"]),
    ],
)
def test_a_bad_file_gets_one_line_naming_the_file_the_key_and_the_expected_type(tmp_path, replace, by, words):
    path = tmp_path / "bad.toml"
    path.write_text(Path(load_scenario("smoke").path).read_text().replace(replace, by))
    with pytest.raises(UsageError) as error:
        load_scenario(str(path))
    message = error.value.message
    assert "\n" not in message
    for word in words:
        assert word in message
    if words[0] != "unknown fix 'gc'":
        assert str(path) in message


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(UsageError, match=r"use one of .*incident-replay"):
        load_scenario("nope")


def test_fixes_parse_all_none_and_lists_and_refuse_unknown_names():
    assert parse_fixes("all") == {"caps", "oi_cap", "cleanup"}
    assert parse_fixes("none") == frozenset()
    assert parse_fixes("caps,cleanup") == {"caps", "cleanup"}
    with pytest.raises(UsageError, match="unknown fix 'gc'"):
        parse_fixes("caps,gc")
