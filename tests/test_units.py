"""One parser for durations, sizes and rates, shared by every command; files store SI units."""

import pytest

from leakhunt.errors import UsageError
from leakhunt.units import (
    format_bytes,
    format_duration,
    format_mb,
    parse_duration_s,
    parse_rate_bytes_per_min,
    parse_size_bytes,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("0.5", 0.5), ("1d", 86400.0)],
)
def test_durations_accept_units_and_bare_seconds(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "size_bytes"),
    [("512MB", 512 * 10**6), ("2GB", 2 * 10**9), ("6GiB", 6 * 2**30), ("4096", 4096), ("6G", 6 * 2**30)],
)
def test_sizes_accept_si_and_binary_units_and_bare_bytes(text, size_bytes):
    assert parse_size_bytes(text) == size_bytes


def test_rates_are_a_size_over_a_duration_in_bytes_per_minute():
    assert parse_rate_bytes_per_min("220MB/min") == pytest.approx(220e6)
    assert parse_rate_bytes_per_min("50MB/h") == pytest.approx(50e6 / 60)
    assert parse_rate_bytes_per_min("1MB/s") == pytest.approx(60e6)


@pytest.mark.parametrize("bad", ["fast", "5 parsecs", "", "1..2s"])
def test_a_bad_duration_names_what_would_be_right(bad):
    with pytest.raises(UsageError, match="500ms, 30s, 5m, 2h"):
        parse_duration_s(bad, "--interval")


def test_a_bad_size_or_rate_is_a_usage_error():
    with pytest.raises(UsageError, match="512MB, 2GB, 6GiB"):
        parse_size_bytes("lots")
    with pytest.raises(UsageError, match="rate"):
        parse_rate_bytes_per_min("220MB")


def test_format_bytes_is_si():
    assert format_bytes(1.5e9) == "1.5 GB"
    assert format_bytes(220e6) == "220 MB"


@pytest.mark.parametrize(
    ("text", "bytes_per_min"),
    [
        ("50MB/hour", 50e6 / 60),
        ("50 MB/h", 50e6 / 60),
        ("50 MB / hours", 50e6 / 60),
        ("50MB/hr", 50e6 / 60),
        ("2 GB/day", 2e9 / 1440),
        ("1MB/sec", 60e6),
        ("1MB/second", 60e6),
        ("220MB/minute", 220e6),
        ("50MB/2h", 25e6 / 60),
    ],
)
def test_rates_take_the_time_units_people_type_after_the_slash(text, bytes_per_min):
    assert parse_rate_bytes_per_min(text) == pytest.approx(bytes_per_min)


@pytest.mark.parametrize(("text", "seconds"), [("2 hours", 7200.0), ("1 day", 86400.0), ("30 secs", 30.0)])
def test_durations_take_unit_words(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


def test_sizes_take_a_space_before_the_unit():
    assert parse_size_bytes("2 GB") == 2 * 10**9


@pytest.mark.parametrize("bad", ["50MB/fortnight", "50MB/", "lots/h"])
def test_a_bad_rate_quotes_the_whole_rate_as_typed(bad):
    with pytest.raises(UsageError) as raised:
        parse_rate_bytes_per_min(bad, "--expect")
    assert f"{bad!r} is not a rate" in raised.value.message
    assert "'1" not in raised.value.message  # never the `1hour` the slash is read as


def test_numbers_pass_through_as_seconds_and_whole_bytes():
    assert parse_duration_s(5) == 5.0 and isinstance(parse_duration_s(5), float)
    assert parse_size_bytes(2.7) == 3 == parse_size_bytes("2.7") and isinstance(parse_size_bytes(2.7), int)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_duration_s, "fast", "duration: 'fast' is not a duration"),
        (parse_size_bytes, "lots", "size: 'lots' is not a size"),
        (parse_rate_bytes_per_min, "fast", "rate: 'fast' is not a rate"),
        (parse_rate_bytes_per_min, "lots/min", "rate: 'lots/min' is not a rate"),
        (parse_rate_bytes_per_min, "5MB/fortnight", "rate: '5MB/fortnight' is not a rate"),
        (parse_rate_bytes_per_min, "5MB/0s", "rate: '5MB/0s' has a zero time unit"),
    ],
)
def test_an_error_names_the_field_and_the_text(parse, text, message):
    with pytest.raises(UsageError) as error:
        parse(text)
    assert error.value.message.startswith(message)


def test_a_rate_may_count_its_time_unit():
    assert parse_rate_bytes_per_min("1MB/2h") == pytest.approx(1e6 / 120)
    assert parse_rate_bytes_per_min("50MB/h ") == pytest.approx(50e6 / 60)


@pytest.mark.parametrize(
    ("size_bytes", "text"),
    [(1e9, "1 GB"), (1e6, "1 MB"), (1e3, "1 kB"), (999, "999 B"), (1.5e3, "1.5 kB"), (-2e6, "-2 MB")],
)
def test_format_bytes_switches_unit_at_each_power_of_a_thousand(size_bytes, text):
    assert format_bytes(size_bytes) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(3600, "1 h"), (4447, "1.24 h"), (60, "1 min"), (90, "1.5 min"), (59, "59 s")]
)
def test_format_duration_uses_the_largest_unit_reached(seconds, text):
    assert format_duration(seconds) == text


def test_format_mb_is_plain_megabytes_with_a_sign_on_request():
    assert format_mb(None) == "n/a" and format_mb(float("inf")) == "n/a"
    assert format_mb(1_235_000.5) == "1.24"  # three significant figures below 100 MB
    assert format_mb(3_600e6) == "3,600"
    assert format_mb(5e6, signed=True) == "+5" and format_mb(250e6, signed=True) == "+250"
