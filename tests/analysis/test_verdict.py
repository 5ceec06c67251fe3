"""verdict.py: LEAK / BOUNDED / STABLE / INCONCLUSIVE, with the reason, never a guess."""

import numpy as np
import pytest

from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.verdict import (
    STABLE_BOUND_BYTES_PER_MIN,
    Judgement,
    Verdict,
    judge,
    limit_text,
    rate_text,
    reduction_percent,
)

MB = 1e6
BOUND = STABLE_BOUND_BYTES_PER_MIN


def growth(slope: float, low: float, high: float, shape: str = "linear", **extra) -> Growth:
    return Growth(slope, low, high, 70 * MB, shape, 100, 100, 0.0, "test", slope, slope, **extra)


def test_the_stable_bound_is_the_incidents_50_mb_per_hour():
    assert pytest.approx(50 * MB) == BOUND * 60


def test_a_leak_has_its_whole_interval_above_the_stable_bound_and_a_time_to_limit():
    judgement = judge(growth(220 * MB, 210 * MB, 230 * MB), limit_bytes=6e9, last_rss_bytes=5.5e9)
    assert judgement.verdict == Verdict.LEAK
    assert "220 MB/min" in judgement.reason
    assert judgement.time_to_limit_min == pytest.approx(500e6 / 220e6)
    soonest, latest = judgement.time_to_limit_range_min
    assert soonest == pytest.approx(500e6 / 230e6) and latest == pytest.approx(500e6 / 210e6)


def test_leak_is_decided_on_the_intervals_low_end_not_on_the_slope():
    assert judge(growth(10 * MB, 0.5 * BOUND, 20 * MB)).verdict == Verdict.INCONCLUSIVE
    assert judge(growth(10 * MB, 1.01 * BOUND, 20 * MB)).verdict == Verdict.LEAK


def test_verdicts_change_exactly_at_the_stable_bound():
    # STABLE includes the bound (the whole interval at or below it), LEAK starts above it.
    assert judge(growth(0.5 * BOUND, 0.0, BOUND)).verdict == Verdict.STABLE
    assert judge(growth(0.5 * BOUND, 0.0, np.nextafter(BOUND, np.inf))).verdict == Verdict.INCONCLUSIVE
    assert judge(growth(2 * BOUND, BOUND, 3 * BOUND)).verdict == Verdict.INCONCLUSIVE
    assert judge(growth(2 * BOUND, np.nextafter(BOUND, np.inf), 3 * BOUND)).verdict == Verdict.LEAK


def test_a_custom_bound_moves_the_verdicts():
    slow = growth(0.2 * MB, 0.1 * MB, 0.3 * MB)  # 12 MB/h, clearly growing
    assert judge(slow).verdict == Verdict.STABLE
    assert "a slow leak under the bound" in judge(slow).reason
    assert judge(slow, stable_bound_bytes_per_min=5 * MB / 60).verdict == Verdict.LEAK


def test_stable_means_the_whole_interval_is_within_50_mb_per_hour_and_gives_no_time_to_limit():
    judgement = judge(growth(0.1 * MB, -0.2 * MB, 0.5 * MB), limit_bytes=6e9, last_rss_bytes=1e9)
    assert judgement.verdict == Verdict.STABLE
    assert judgement.time_to_limit_min is None
    assert "a slow leak" not in judgement.reason


def test_an_interval_straddling_the_bound_is_inconclusive_with_advice_and_no_time_to_limit():
    judgement = judge(growth(0.8 * MB, 0.1 * MB, 2 * MB), limit_bytes=6e9, last_rss_bytes=1e9)
    assert judgement.verdict == Verdict.INCONCLUSIVE
    assert "sample longer" in judgement.reason
    assert judgement.time_to_limit_min is None


def test_a_plateau_is_bounded_and_too_few_points_inconclusive():
    assert judge(growth(0.0, -1.0, 1.0, "plateau")).verdict == Verdict.BOUNDED
    five = fit_growth(np.arange(5) * 5.0, 70 * MB + np.arange(5) * MB)
    judgement = judge(five)
    assert judgement.verdict == Verdict.INCONCLUSIVE
    assert "need at least 10" in judgement.reason


def test_a_taken_out_step_is_always_said():
    judgement = judge(growth(0.0, -0.01 * MB, 0.01 * MB, "step", step_bytes=100 * MB, step_at_min=15.0))
    assert "one-off step of 100 MB was taken out" in judgement.reason


def test_a_limit_already_passed_gives_zero_minutes_never_a_negative_time():
    judgement = judge(growth(220 * MB, 210 * MB, 230 * MB), limit_bytes=6e9, last_rss_bytes=6.2e9)
    assert judgement.time_to_limit_min == 0.0


LIMIT = 6e9


def leaking(last_rss_bytes: float):
    return judge(growth(220 * MB, 210 * MB, 230 * MB), limit_bytes=LIMIT, last_rss_bytes=last_rss_bytes)


@pytest.mark.parametrize(
    ("judgement", "limit_bytes", "hit_at_s", "text"),
    [
        (judge(growth(220 * MB, 210 * MB, 230 * MB)), None, None, "no limit set"),
        (leaking(0.5e9), LIMIT, None, "~25 min"),
        (leaking(5e9), LIMIT, None, "~4.5 min"),
        (leaking(6e9), LIMIT, 1572.0, "reached at 26.2 min"),
        (
            judge(growth(0.0, -0.1 * MB, 0.1 * MB), limit_bytes=LIMIT, last_rss_bytes=1e9),
            LIMIT,
            None,
            "not approaching",
        ),
        (
            judge(growth(0.8 * MB, 0.1 * MB, 2 * MB), limit_bytes=LIMIT, last_rss_bytes=1e9),
            LIMIT,
            None,
            "unknown",
        ),
    ],
)
def test_to_limit_reads_in_plain_words(judgement, limit_bytes, hit_at_s, text):
    assert limit_text(judgement, limit_bytes=limit_bytes, limit_hit_at_s=hit_at_s) == text


def test_rates_read_as_plain_numbers_in_both_units():
    assert rate_text(17.6 * MB) == "17.6 MB/min (1,056 MB/h)"
    assert rate_text(50 * MB / 60) == "0.833 MB/min (50 MB/h)"


def test_reduction_is_the_share_of_baseline_growth_removed_and_is_not_clipped():
    assert reduction_percent(200 * MB, 2 * MB) == 99.0
    assert reduction_percent(200 * MB, -10 * MB) == 105.0
    assert reduction_percent(200 * MB, 300 * MB) == -50.0
    assert reduction_percent(0.0, 1.0) is None


def test_every_verdict_gives_its_reason_in_full():
    assert judge(growth(220 * MB, 210 * MB, 230 * MB)).reason == (
        "grows 220 MB/min (95 % CI 210 MB/min to 230 MB/min), above the stable bound of "
        "0.833 MB/min (50 MB/h)"
    )
    assert judge(growth(0.2 * MB, 0.1 * MB, 0.3 * MB)).reason == (
        "grows 0.2 MB/min (95 % CI 0.1 MB/min to 0.3 MB/min), within the stable bound of "
        "0.833 MB/min (50 MB/h); it does grow (the interval excludes zero): a slow leak under the bound"
    )
    plateau = Growth(0.0, -0.1 * MB, 0.1 * MB, 70 * MB, "plateau", 100, 100, 0.0, "test", 5 * MB, 0.0)
    assert judge(plateau).reason == (
        "growth flattens to a plateau: 5 MB/min early, now 0 MB/min (95 % CI -0.1 MB/min to 0.1 MB/min)"
    )


def test_an_unbounded_interval_reads_unbounded():
    assert rate_text(np.inf) == "unbounded"
    assert judge(growth(1 * MB, -np.inf, np.inf)).reason.startswith(
        "grows 1 MB/min (95 % CI unbounded to unbounded), an interval that straddles"
    )


def test_a_slow_leak_is_said_only_when_the_interval_lies_above_zero():
    touching = judge(growth(0.1 * MB, 0.0, 0.2 * MB))
    assert touching.verdict == Verdict.STABLE and "slow leak" not in touching.reason
    # Any positive low end counts, however small: half a byte per minute is growth.
    assert "a slow leak under the bound" in judge(growth(0.1 * MB, 0.5, 0.2 * MB)).reason


def test_the_sawtooth_note_goes_on_decided_verdicts_only():
    envelope = "; judged on the sawtooth's envelope"
    leak = judge(growth(220 * MB, 210 * MB, 230 * MB, "sawtooth"))
    assert leak.reason == judge(growth(220 * MB, 210 * MB, 230 * MB)).reason + envelope
    assert judge(growth(0.8 * MB, 0.1 * MB, 2 * MB, "sawtooth")).reason.endswith("more often")
    assert envelope not in judge(growth(220 * MB, 210 * MB, 230 * MB)).reason


def test_a_taken_out_step_is_said_after_the_verdicts_reason():
    step = growth(0.0, -0.01 * MB, 0.01 * MB, "step", step_bytes=100 * MB, step_at_min=15.0)
    assert judge(step).reason == (
        "grows 0 MB/min (95 % CI -0.01 MB/min to 0.01 MB/min), within the stable bound of "
        "0.833 MB/min (50 MB/h); a one-off step of 100 MB was taken out"
    )


def test_the_judgement_carries_its_bound_and_serialises_its_verdict_as_text():
    judgement = judge(growth(0.2 * MB, 0.1 * MB, 0.3 * MB), stable_bound_bytes_per_min=5 * MB / 60)
    assert judgement.stable_bound_bytes_per_min == 5 * MB / 60
    assert judgement.to_dict() == {
        "verdict": "LEAK",
        "reason": judgement.reason,
        "stable_bound_bytes_per_min": 5 * MB / 60,
        "time_to_limit_min": None,
        "time_to_limit_range_min": None,
    }


def test_any_rising_slope_has_a_time_to_limit_and_a_falling_one_never_reaches_it():
    # A bound below zero makes a slow shrink a "leak": the time to limit must still make sense.
    tiny = judge(
        growth(0.5, 0.25, 1.0), stable_bound_bytes_per_min=0.0, limit_bytes=101.0, last_rss_bytes=1.0
    )
    assert tiny.time_to_limit_min == pytest.approx(200.0)
    assert tiny.time_to_limit_range_min == (pytest.approx(100.0), pytest.approx(400.0))
    level = judge(
        growth(0.0, -0.5, 0.5), stable_bound_bytes_per_min=-1.0, limit_bytes=6e9, last_rss_bytes=1e9
    )
    assert level.verdict == Verdict.LEAK
    assert level.time_to_limit_min is None
    assert level.time_to_limit_range_min == (pytest.approx(1e10), None)
    falling = judge(
        growth(-0.5, -0.8, -0.2), stable_bound_bytes_per_min=-1.0, limit_bytes=6e9, last_rss_bytes=1e9
    )
    assert falling.time_to_limit_min is None and falling.time_to_limit_range_min is None


@pytest.mark.parametrize(
    ("minutes", "text"), [(9.96, "~10.0 min"), (10.0, "~10 min"), (10.6, "~11 min"), (1234.4, "~1,234 min")]
)
def test_to_limit_shows_tenths_below_ten_minutes_only(minutes, text):
    judgement = Judgement(Verdict.LEAK, "test", BOUND, minutes)
    assert limit_text(judgement, limit_bytes=LIMIT) == text


def test_any_growing_baseline_has_a_reduction():
    assert reduction_percent(0.5, 0.0) == 100.0


def test_a_plateau_that_never_grew_faster_than_the_bound_is_stable_and_one_that_did_is_bounded():
    slow = growth(0.0, -0.1 * MB, 0.1 * MB, "plateau", whole_ci_high_bytes_per_min=BOUND)
    fast = growth(
        0.0, -0.1 * MB, 0.1 * MB, "plateau", whole_ci_high_bytes_per_min=np.nextafter(BOUND, np.inf)
    )
    assert judge(slow).verdict == Verdict.STABLE and "flattens" in judge(slow).reason
    assert judge(fast).verdict == Verdict.BOUNDED


def test_a_cache_filling_fast_to_its_cap_is_bounded():
    t_s = np.arange(0, 3600, 5.0)
    rss = 70 * MB + np.minimum(t_s, 1200) / 60 * 5 * MB + np.random.default_rng(7).normal(0, 5e5, len(t_s))
    assert judge(fit_growth(t_s, rss)).verdict == Verdict.BOUNDED
