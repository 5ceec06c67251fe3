"""`leakhunt fleet`'s option checks: times and ranges, before any request."""

import pytest

from leakhunt.commands.fleet import _window_s, parse_time_s
from leakhunt.errors import UsageError


def test_times_are_unix_seconds_or_rfc_3339():
    assert parse_time_s("1795622400", "--end") == 1795622400.0
    assert parse_time_s("2026-11-25T12:00:00Z", "--end") == 1795608000.0
    assert parse_time_s("2026-11-25T13:00:00+01:00", "--end") == 1795608000.0
    with pytest.raises(UsageError, match="not a time"):
        parse_time_s("noon", "--start")


def test_a_range_ends_at_end_and_a_start_must_come_first():
    assert _window_s("6h", None, "1795622400") == (1795622400.0 - 21600, 1795622400.0)
    assert _window_s(None, "100", "200") == (100.0, 200.0)
    with pytest.raises(UsageError, match="not both"):
        _window_s("6h", "100", "200")
    with pytest.raises(UsageError, match="before"):
        _window_s(None, "300", "200")
    with pytest.raises(UsageError, match="--range"):
        _window_s(None, None, None)
