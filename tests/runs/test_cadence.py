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


def test_a_watch_samples_at_its_own_interval_half_a_second_for_a_minute_and_five_seconds_at_most():
    from leakhunt.runs.cadence import sample_interval_s

    assert sample_interval_s("auto", 60.0) == 0.5  # 120 points, where every 5 s gave 13
    assert sample_interval_s("auto", 10.0) == 0.5  # never faster than half a second
    assert sample_interval_s("auto", 6 * 60.0) == 3.0
    assert sample_interval_s("auto", 3600.0) == 5.0  # never slower than the old default
    assert sample_interval_s("AUTO", None) == 5.0  # open-ended: it cannot know its length
    assert sample_interval_s("250ms", 60.0) == 0.25  # an explicit interval is kept
    with pytest.raises(UsageError, match="--interval must be positive"):
        sample_interval_s("0", 60.0)


def test_a_probes_deadline_is_half_the_watch_within_5_and_300_s():
    from leakhunt.runs.cadence import probe_deadline_s

    assert probe_deadline_s(60.0) == 30.0
    assert probe_deadline_s(4.0) == 5.0
    assert probe_deadline_s(8 * 3600.0) == 300.0
    assert probe_deadline_s(None) == 300.0


def test_each_cadence_says_what_it_resolved_to_and_probes_off_are_never_due():
    open_ended = resolve("auto", None)
    assert (open_ended.interval_s, open_ended.adaptive) == (10.0, True)
    assert open_ended.text == "auto: every 10 s, doubling every 6 probes"
    assert open_ended.next_after(100.0, MIN_PROBES) == 120.0  # doubled after six probes
    sixty = resolve("auto", 60.0)
    assert (sixty.adaptive, sixty.text) == (False, "auto: every 10 s (6 or more probes)")
    assert resolve("90s", 3600.0).text == "every 90 s"
    off = resolve("0", 3600.0)
    assert off.text == "off" and off.next_after(5.0, 1) == float("inf")


def test_an_open_ended_watch_doubles_its_interval_every_six_probes_up_to_five_minutes():
    open_ended = resolve(" Auto ", None)
    assert [open_ended.next_after(100.0, n) for n in (1, 5, 6, 11, 12, 18, 24, 30, 600)] == [
        110.0, 110.0, 120.0, 120.0, 140.0, 180.0, 260.0, 400.0, 400.0,
    ]  # fmt: skip
    fixed = resolve("30s", None)
    assert (fixed.adaptive, fixed.next_after(100.0, 600)) == (False, 130.0)  # never doubles


def test_a_bad_interval_is_refused_naming_the_option_it_was_given_to():
    from leakhunt.runs.cadence import sample_interval_s

    with pytest.raises(UsageError) as raised:
        resolve("-5s", 60.0, option="--probe-every")  # no duration is negative
    assert raised.value.message == (
        "--probe-every: '-5s' is not a duration such as 500ms, 30s, 5m, 2h or a bare number of seconds"
    )
    with pytest.raises(UsageError) as raised:
        sample_interval_s("0s", 60.0)
    assert raised.value.message == "--interval must be positive, got 0s"
    with pytest.raises(UsageError) as raised:
        sample_interval_s("0", 60.0, option="--every")
    assert raised.value.message == "--every must be positive, got 0"
    with pytest.raises(UsageError, match=r"^--every: 'often'"):
        sample_interval_s("often", 60.0, option="--every")
    with pytest.raises(UsageError, match=r"^--probe-interval: 'often'"):
        resolve("often", 60.0)
    with pytest.raises(UsageError, match=r"^--interval: 'often'"):
        sample_interval_s("often", 60.0)


def test_auto_fits_any_duration_between_its_bounds():
    from leakhunt.runs.cadence import probe_deadline_s, sample_interval_s

    assert (resolve("auto", 600.0).interval_s, resolve("auto", 600.0).text) == (
        100.0, "auto: every 100 s (6 or more probes)",
    )  # fmt: skip
    assert resolve("auto", 1800.0).interval_s == 300.0 and resolve("auto", 1801.0).interval_s == 300.0
    assert resolve("AUTO", 6.0).interval_s == 1.0
    assert sample_interval_s(" auto ", 120.0) == 1.0 and sample_interval_s("auto", 600.0) == 5.0
    assert sample_interval_s("auto", 599.0) == 599.0 / 120
    assert (
        probe_deadline_s(10.0) == 5.0
        and probe_deadline_s(600.0) == 300.0
        and probe_deadline_s(601.0) == 300.0
    )
    assert probe_deadline_s(11.0) == 5.5
