"""One parser for durations, sizes and rates, shared by every command; files store SI units."""

import pytest

from leakhunt.errors import UsageError
from leakhunt.units import format_bytes, parse_duration_s, parse_rate_bytes_per_min, parse_size_bytes


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
