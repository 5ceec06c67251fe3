"""restarts.py: which drops are a new process starting, read from the curve or from recorded
events, and one growth over the segments between them."""

import numpy as np
import pytest

from leakhunt.analysis.restarts import (
    curve_reading,
    curve_restarts,
    event_restarts,
    fit_segments,
    fresh_start_text,
    fresh_start_to_limit_min,
    segment_start_bytes,
)
from leakhunt.analysis.synthetic import service_at_rest

MB = 1e6


def test_a_drop_to_under_half_and_a_new_climb_is_a_restart_but_many_drops_are_a_sawtooth():
    climb = np.linspace(100e6, 200e6, 50)
    assert curve_restarts(np.concatenate([np.full(50, 800e6), climb])) == [50]
    # A drop with no climb after it (a freed cache) is not a restart.
    assert curve_restarts(np.concatenate([np.full(50, 800e6), np.full(50, 100e6)])) == []
    assert curve_restarts(np.tile(climb * 4, 4)) == []


def test_a_drop_back_to_the_start_level_and_a_new_climb_is_a_restart():
    # 400 -> 600 MB, back to 400, climbing again: the drop is a third of the level, not half.
    climb = np.linspace(400e6, 600e6, 100)
    assert curve_restarts(np.concatenate([climb, climb])) == [100]
    assert curve_restarts(np.concatenate([climb, climb, climb])) == [100, 200]
    # Landing a quarter of the climb above the start level still counts; a third does not.
    assert curve_restarts(np.concatenate([climb, climb + 0.24 * 200e6])) == [100]
    assert curve_restarts(np.concatenate([climb, climb + 0.3 * 200e6])) == []


def test_three_drops_to_the_start_level_are_a_sawtooth_not_restarts():
    climb = np.linspace(400e6, 600e6, 100)
    assert curve_restarts(np.tile(climb, 4)) == []


def test_a_drop_smaller_than_a_mebibyte_is_noise_not_a_restart():
    wobble = 100e6 + np.tile([0.0, 0.6e6], 50)  # from the start level and back, 0.6 MB each time
    assert curve_restarts(np.concatenate([wobble[:40], wobble[:40] + np.linspace(0, 0.6e6, 40)])) == []


def test_recorded_restarts_cut_at_the_first_sample_of_the_new_process():
    t_s = np.arange(0.0, 100.0, 5.0)
    assert event_restarts(t_s, [42.0, 60.0]) == [9, 12]
    assert event_restarts(t_s, [0.0, 500.0]) == []  # before the first sample or after the last: no cut


def test_a_leak_cut_by_restarts_is_measured_across_its_segments_within_10_percent():
    rate_bytes_per_min = 60 * MB / 60
    pieces = [service_at_rest(seed, rate_bytes_per_min, minutes=40, interval_s=5.0) for seed in range(3)]
    t_s = np.concatenate([t + k * 2405.0 for k, (t, _, _) in enumerate(pieces)])
    rss_bytes = np.concatenate([rss + 300 * MB for _, rss, _ in pieces])
    cuts = curve_restarts(rss_bytes)
    assert cuts == [481, 962]
    growth = fit_segments(t_s, rss_bytes, cuts)
    assert growth.slope_bytes_per_min == pytest.approx(rate_bytes_per_min, rel=0.10)
    assert growth.ci_low_bytes_per_min > 0
    assert growth.method.startswith("3 segments between restarts or gaps, each fitted on its own")
    assert segment_start_bytes(rss_bytes, cuts) == rss_bytes[962]
    assert segment_start_bytes(rss_bytes, []) == rss_bytes[0]


def test_without_restarts_the_segments_are_the_whole_fit():
    t_s, rss_bytes, _ = service_at_rest(0, 1 * MB, minutes=30, interval_s=5.0)
    assert fit_segments(t_s, rss_bytes, []).method.startswith("least squares through window medians")


def test_a_reading_from_the_curve_alone_says_so_and_what_would_settle_it():
    assert curve_reading(2, "--start-time-query") == (
        "3 segments: 2 drops to the start level or below half read as restarts (a slow cleanup "
        "would look the same; --start-time-query to confirm)"
    )
    assert curve_reading(1, "watching the unit").startswith("2 segments: 1 drop to ")


def test_a_restarted_process_lasts_what_its_climb_from_the_start_takes_to_reach_the_limit():
    assert fresh_start_to_limit_min(2e9, 5e8, 1e7) == pytest.approx(150.0)
    assert fresh_start_to_limit_min(None, 5e8, 1e7) is None
    assert fresh_start_to_limit_min(2e9, 5e8, 0.0) is None  # no growth: never
    assert fresh_start_to_limit_min(2e9, 2e9, 1e7) is None  # starts at the limit: nothing to tell
    assert fresh_start_text(150.0) == "; a restarted process reaches it in ~150 min"
    assert fresh_start_text(None) == ""
