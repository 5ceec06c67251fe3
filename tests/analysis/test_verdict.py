"""verdict.py: LEAK / BOUNDED / STABLE / INCONCLUSIVE, with the reason, never a guess."""

import numpy as np
import pytest

from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.synthetic import _ar1, service_at_rest
from leakhunt.analysis.verdict import (
    NEGLIGIBLE_BYTES_PER_MIN,
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
BAND = NEGLIGIBLE_BYTES_PER_MIN


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
    assert judge(growth(10 * MB, -BAND, 20 * MB)).verdict == Verdict.INCONCLUSIVE
    assert judge(growth(10 * MB, 1.01 * BOUND, 20 * MB)).verdict == Verdict.LEAK


def test_the_negligible_band_is_2_mb_per_hour():
    assert pytest.approx(2 * MB) == BAND * 60


def test_verdicts_change_exactly_at_the_negligible_band_and_the_stable_bound():
    # STABLE includes the bound (the whole interval at or below it).
    assert judge(growth(0.5 * BOUND, 0.0, BOUND)).verdict == Verdict.STABLE
    assert judge(growth(0.5 * BOUND, 0.0, np.nextafter(BOUND, np.inf))).verdict == Verdict.INCONCLUSIVE
    # Growth is established once the low end is clear of the band: LEAK, slow while under the bound.
    assert judge(growth(0.5 * BOUND, BAND, BOUND)).verdict == Verdict.INCONCLUSIVE
    slow = judge(growth(0.5 * BOUND, np.nextafter(BAND, np.inf), BOUND))
    assert (slow.verdict, slow.pace) == (Verdict.LEAK, "slow")
    near = judge(growth(0.5 * BOUND, np.nextafter(BAND, np.inf), np.nextafter(BOUND, np.inf)))
    assert (near.verdict, near.pace) == (Verdict.LEAK, "near")
    assert judge(growth(2 * BOUND, BOUND, 3 * BOUND)).pace == "near"
    fast = judge(growth(2 * BOUND, np.nextafter(BOUND, np.inf), 3 * BOUND))
    assert (fast.verdict, fast.pace) == (Verdict.LEAK, "fast")


def test_an_interval_inside_the_band_is_stable_even_clear_of_zero():
    assert judge(growth(0.5 * BAND, 1e-13, BAND)).verdict == Verdict.STABLE
    assert judge(growth(0.5 * BAND, 1e-13, np.nextafter(BAND, np.inf))).verdict == Verdict.INCONCLUSIVE


def test_the_band_never_exceeds_the_stable_bound():
    # At a bound of 1 MB/h, 1.5 MB/h of proven growth is a fast leak, not negligible.
    judgement = judge(growth(0.025 * MB, 0.02 * MB, 0.03 * MB), stable_bound_bytes_per_min=1 * MB / 60)
    assert (judgement.verdict, judgement.pace) == (Verdict.LEAK, "fast")


def test_a_custom_bound_moves_the_verdicts():
    slow = growth(0.2 * MB, 0.1 * MB, 0.3 * MB)  # 12 MB/h, clearly growing
    assert judge(slow).label == "LEAK (slow: under the 50 MB/h bound)"
    assert judge(slow, stable_bound_bytes_per_min=5 * MB / 60).label == "LEAK (fast: above the 5 MB/h bound)"
    assert judge(slow, stable_bound_bytes_per_min=15 * MB / 60).label == (
        "LEAK (near: its interval straddles the 15 MB/h bound)"
    )
    assert [judge(slow, stable_bound_bytes_per_min=b * MB / 60).short_label for b in (50, 15, 5)] == [
        "LEAK, slow", "LEAK, near", "LEAK, fast",
    ]  # fmt: skip


def test_a_slow_leak_has_a_time_to_limit_and_the_other_verdicts_carry_no_pace():
    judgement = judge(growth(0.2 * MB, 0.1 * MB, 0.3 * MB), limit_bytes=6e9, last_rss_bytes=5.5e9)
    assert judgement.time_to_limit_min == pytest.approx(500e6 / 0.2e6)
    assert judgement.time_to_limit_range_min == (pytest.approx(500e6 / 0.3e6), pytest.approx(500e6 / 0.1e6))
    assert limit_text(judgement, limit_bytes=6e9) == "~2,500 min"
    for other in (growth(0.0, -0.1 * MB, 0.1 * MB), growth(0.0, -1.0, 1.0, "plateau")):
        verdict = str(judge(other).verdict)
        assert judge(other).pace is None and judge(other).label == judge(other).short_label == verdict


def test_stable_means_the_whole_interval_is_within_50_mb_per_hour_and_gives_no_time_to_limit():
    judgement = judge(growth(0.1 * MB, -0.2 * MB, 0.5 * MB), limit_bytes=6e9, last_rss_bytes=1e9)
    assert judgement.verdict == Verdict.STABLE
    assert judgement.time_to_limit_min is None
    assert "a slow leak" not in judgement.reason


def test_an_interval_straddling_the_bound_is_inconclusive_with_advice_and_no_time_to_limit():
    judgement = judge(growth(0.8 * MB, -0.1 * MB, 2 * MB), limit_bytes=6e9, last_rss_bytes=1e9)
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
            judge(growth(0.8 * MB, -0.1 * MB, 2 * MB), limit_bytes=LIMIT, last_rss_bytes=1e9),
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
        "grows 0.2 MB/min (95 % CI 0.1 MB/min to 0.3 MB/min): it does grow (the interval is clear of "
        "zero), all of it under the stable bound of 0.833 MB/min (50 MB/h)"
    )
    assert judge(growth(0.5 * MB, 0.1 * MB, 1 * MB)).reason == (
        "grows 0.5 MB/min (95 % CI 0.1 MB/min to 1 MB/min): it does grow (the interval is clear of "
        "zero), and the interval straddles the stable bound of 0.833 MB/min (50 MB/h): sample longer "
        "to tell which side"
    )
    assert judge(growth(0.02 * MB, 0.01 * MB, 0.04 * MB)).reason == (
        "grows 0.02 MB/min (95 % CI 0.01 MB/min to 0.04 MB/min): above zero, but not clear of the "
        "negligible band of 0.0333 MB/min (2 MB/h): sample longer or more often"
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


def test_an_interval_touching_zero_is_stable_and_says_no_growth():
    touching = judge(growth(0.1 * MB, 0.0, 0.2 * MB))
    assert touching.verdict == Verdict.STABLE and "does grow" not in touching.reason


def test_the_sawtooth_note_goes_on_decided_verdicts_only():
    envelope = "; judged on the sawtooth's envelope"
    leak = judge(growth(220 * MB, 210 * MB, 230 * MB, "sawtooth"))
    assert leak.reason == judge(growth(220 * MB, 210 * MB, 230 * MB)).reason + envelope
    assert judge(growth(0.8 * MB, -0.1 * MB, 2 * MB, "sawtooth")).reason.endswith("more often")
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
        "pace": "fast",
        "label": "LEAK (fast: above the 5 MB/h bound)",
        "short_label": "LEAK, fast",
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


def test_a_plateau_is_bounded_unless_it_never_grew_beyond_the_negligible_band():
    # A cache that filled, however slowly, is a plateau a user wants named; a wobble inside the
    # band is not.
    flat = growth(0.0, -0.1 * MB, 0.1 * MB, "plateau", whole_ci_high_bytes_per_min=BAND)
    filled = growth(
        0.0, -0.1 * MB, 0.1 * MB, "plateau", whole_ci_high_bytes_per_min=np.nextafter(BAND, np.inf)
    )
    assert judge(flat).verdict == Verdict.STABLE and "flattens" in judge(flat).reason
    assert judge(filled).verdict == Verdict.BOUNDED


def test_a_cache_filling_fast_to_its_cap_is_bounded():
    t_s = np.arange(0, 3600, 5.0)
    rss = 70 * MB + np.minimum(t_s, 1200) / 60 * 5 * MB + np.random.default_rng(7).normal(0, 5e5, len(t_s))
    assert judge(fit_growth(t_s, rss)).verdict == Verdict.BOUNDED


def _flat_ar1(seed: int, minutes: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 99])
    t_s = np.arange(0.0, minutes * 60 + 1e-9, 5.0)
    return t_s, 80 * MB + _ar1(rng, len(t_s), rng.uniform(0.5, 0.98), rng.uniform(0.2, 3.0) * MB)


@pytest.mark.slow
def test_the_band_is_clear_of_every_flat_curves_low_end_it_was_chosen_on():
    # The figure the band was chosen from (docs/decisions.md): 1,000 flat AR(1) curves, 30 min at
    # 5 s; the highest low end was 1.83 MB/h. No LEAK among them, and few INCONCLUSIVE.
    verdicts = [judge(fit_growth(*_flat_ar1(seed, 30))).verdict for seed in range(1000)]
    assert verdicts.count(Verdict.LEAK) == 0
    assert verdicts.count(Verdict.STABLE) >= 900


def test_short_flat_runs_stay_under_one_false_alarm_in_a_hundred():
    # 10 minutes of heavy AR(1) noise: 5 of 1,000 low ends above the band (measured), so a short
    # run's LEAK is a 95 % claim, not a certainty; 200 of them here.
    leaks = sum(judge(fit_growth(*_flat_ar1(seed, 10))).verdict == Verdict.LEAK for seed in range(200))
    assert leaks <= 2


def test_a_20_mb_per_hour_leak_over_2_hours_at_one_in_5_s_reads_as_a_slow_leak_with_time_to_limit():
    labels, minutes = [], []
    for seed in range(20):
        t_s, rss_bytes, _ = service_at_rest(seed, 20 * MB / 60, minutes=120, interval_s=5)
        judgement = judge(fit_growth(t_s, rss_bytes), limit_bytes=6e9, last_rss_bytes=rss_bytes[-1])
        labels.append(judgement.label)
        minutes.append(judgement.time_to_limit_min)
    slow = [i for i, label in enumerate(labels) if label == "LEAK (slow: under the 50 MB/h bound)"]
    assert len(slow) >= 17, labels
    # (6 GB - ~120 MB) at 20 MB/h: about 17,600 minutes.
    assert all(14_000 < minutes[i] < 22_000 for i in slow)
    assert "STABLE" not in labels
