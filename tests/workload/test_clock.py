"""The simulated clock parses its speed and never waits at max speed."""

import pytest

from leakhunt.errors import UsageError
from leakhunt.workload.clock import SimClock, parse_speed


def test_speed_parses_max_and_positive_factors():
    assert parse_speed("max") is None
    assert parse_speed("60") == 60.0
    for bad in ("0", "-1", "fast"):
        with pytest.raises(UsageError):
            parse_speed(bad)


def test_at_max_speed_a_day_of_simulated_time_passes_without_waiting():
    clock = SimClock(None)
    for hour in range(24):
        clock.wait_until(hour * 3600.0)
    # Any wait would have been hours long; the clock says almost no wall time went by.
    assert clock.wall_elapsed_s() < 60
