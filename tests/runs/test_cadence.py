"""cadence.py: `--probe-interval auto` gives at least six probes in any run long enough for a verdict."""

import itertools

import pytest

from leakhunt.errors import UsageError
from leakhunt.runs.cadence import MIN_PROBES, resolve


def probe_times(text: str, duration_s: float | None, run_s: float) -> list[float]:
    cadence = resolve(text, duration_s)
    times, t_s = [], 0.0
    while t_s <= run_s:
        times.append(t_s)
        t_s = cadence.next_after(t_s, len(times))
    return times


def test_auto_fits_the_duration_and_a_60_s_watch_probes_every_10_s():
    assert probe_times("auto", 60.0, 60.0) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert resolve("auto", 30 * 60.0).interval_s == 300.0  # the default soak: every 5 min
    assert resolve("auto", 24 * 3600.0).interval_s == 300.0  # never rarer than every 5 min


@pytest.mark.parametrize("stopped_after_s", [60.0, 150.0, 600.0, 7200.0])
def test_an_open_ended_watch_has_six_probes_whenever_it_is_stopped_after_its_first_minute(stopped_after_s):
    times = probe_times("auto", None, stopped_after_s)
    assert len(times) >= MIN_PROBES
    assert max(b - a for a, b in itertools.pairwise(times)) <= 300.0


def test_an_explicit_interval_or_zero_is_kept_and_a_negative_one_refused():
    assert resolve("2m", 3600.0).interval_s == 120.0
    assert resolve("0", 3600.0).interval_s is None
    with pytest.raises(UsageError, match="--probe-interval"):
        resolve("-5s", 60.0)
