"""checks.py: the option checks soak and compare share. Each raw value is checked before any
scenario file is read or any run starts, and refused with one sentence naming the option and
the value; what passes reaches the run's options as given."""

import math
from pathlib import Path

import pytest

from leakhunt.commands.checks import (
    MAX_TRACEMALLOC_FRAMES,
    build_scenario,
    check_search_limit,
    memory_limit_bytes,
    soak_options,
)
from leakhunt.errors import UsageError
from leakhunt.runs.soak import SEARCH_LIMIT
from leakhunt.workload.scenario import load_scenario

BASE = {"minutes": 1.0, "scenario": "smoke", "speed": "max", "interval": "5s", "probe_interval": "auto",
        "expect": [], "out": None}  # fmt: skip


def refused(**changes) -> str:
    with pytest.raises(UsageError) as caught:
        soak_options(**{**BASE, **changes})
    assert caught.value.exit_code == 2
    return caught.value.message


def test_every_option_reaches_the_soak_options_as_given(tmp_path):
    options = soak_options(
        minutes=2.5, scenario="smoke", fixes="caps,cleanup", scale=0.25, seed=0, memory_limit="3GB",
        speed="600", interval="3s", probe_interval="30s", tracemalloc_frames=5, malloc_trim=True,
        expect=["rss<2GB", "swap==0"], out=tmp_path / "run", allow_unproven=True, search_limit=5000,
    )  # fmt: skip
    assert (options.duration_s, options.interval_s, options.probe_interval_s) == (150.0, 3.0, 30.0)
    assert (options.speed, options.tracemalloc_frames, options.malloc_trim) == (600.0, 5, True)
    assert (options.out, options.expect, options.allow_unproven) == (
        tmp_path / "run",
        ("rss<2GB", "swap==0"),
        True,
    )
    assert options.search_limit == 5000
    scenario = options.scenario
    assert (scenario.name, scenario.fixes, scenario.scale, scenario.seed) == (
        "smoke",
        {"caps", "cleanup"},
        0.25,
        0,
    )
    assert scenario.memory_limit_bytes == 3_000_000_000


def test_what_is_not_given_is_the_scenarios_and_the_defaults():
    options = soak_options(**BASE)
    assert options.scenario == load_scenario("smoke")
    assert (options.speed, options.tracemalloc_frames, options.malloc_trim, options.allow_unproven) == (
        None, 0, False, False,
    )  # fmt: skip
    assert (options.search_limit, options.expect, options.out) == (SEARCH_LIMIT, (), None)
    assert options.probe_interval_s == 10.0  # auto: a sixth of the run
    assert soak_options(**{**BASE, "minutes": 3.0}).probe_interval_s == 30.0  # this run's, not a watch's


def test_minutes_must_be_positive_and_finite():
    for minutes in (0.0, -5.0, math.nan, math.inf):
        assert refused(minutes=minutes) == f"--minutes must be positive and finite, got {minutes:g}"
    assert soak_options(**{**BASE, "minutes": 0.1, "interval": "1s"}).duration_s == pytest.approx(6.0)


def test_the_interval_is_positive_and_no_longer_than_the_run():
    assert refused(interval="0") == "--interval must be positive, got 0"
    assert refused(interval="0s") == "--interval must be positive, got 0s"
    assert refused(interval="61s") == "--interval 61s is longer than the run (1 min): shorten it"
    assert soak_options(**{**BASE, "interval": "60s"}).interval_s == 60.0  # the whole run: one gap
    assert refused(interval="soon") == (
        "--interval: 'soon' is not a duration such as 500ms, 30s, 5m, 2h or a bare number of seconds"
    )


def test_tracemalloc_takes_0_to_65535_frames():
    message = f"--tracemalloc takes a frame count from 0 to {MAX_TRACEMALLOC_FRAMES}"
    assert message == "--tracemalloc takes a frame count from 0 to 65535"
    assert refused(tracemalloc_frames=-1) == message
    assert refused(tracemalloc_frames=65536) == message
    assert soak_options(**BASE, tracemalloc_frames=65535).tracemalloc_frames == 65535


def test_the_search_limit_is_1000_objects_or_more():
    assert refused(search_limit=999) == "--search-limit takes 1,000 objects or more, got 999"
    assert refused(search_limit=-20000) == "--search-limit takes 1,000 objects or more, got -20,000"
    assert soak_options(**BASE, search_limit=1000).search_limit == 1000
    check_search_limit(None)


def test_a_bad_expect_is_refused_before_the_scenario_is_read():
    # The scenario does not exist: the --expect typo is still what is said.
    assert refused(expect=["rss<<1"], scenario="no-such-scenario").startswith(
        "--expect 'rss<<1' is not understood"
    )


def test_the_speed_and_the_probe_interval_are_checked_before_the_scenario():
    assert refused(speed="0", scenario="nope") == "--speed must be a positive number or 'max', got 0"
    assert refused(probe_interval="soon", scenario="nope").startswith(
        "--probe-interval: 'soon' is not a duration"
    )
    assert refused(search_limit=10, scenario="nope").startswith("--search-limit")


def test_the_scale_must_be_positive_and_finite():
    for scale in (0.0, -1.0, math.inf, math.nan):
        message = f"--scale must be positive and finite, such as 0.05; got {scale}"
        assert refused(scale=scale) == message
        with pytest.raises(UsageError, match=r"^--scale"):
            build_scenario("smoke", scale=scale)
    assert build_scenario("smoke", scale=1e-6).scale == 1e-6


def test_the_seed_is_zero_or_more():
    assert refused(seed=-1) == "--seed must be >= 0, got -1"
    assert build_scenario("smoke", seed=0).seed == 0
    assert build_scenario("smoke").seed == 7  # the scenario's own


def test_fixes_are_parsed_and_unknown_ones_named():
    assert build_scenario("smoke", fixes="all").fixes == {"caps", "oi_cap", "cleanup"}
    assert build_scenario("smoke", fixes="none").fixes == frozenset()
    assert build_scenario("incident-replay").fixes == load_scenario("incident-replay").fixes
    assert (
        refused(fixes="caps,gc")
        == "unknown fix 'gc': use all, none, or a comma list of caps, oi_cap, cleanup"
    )


def test_an_unknown_scenario_is_named_with_the_shipped_ones():
    assert refused(scenario="nope") == (
        "unknown scenario 'nope': use one of incident-2025-10-30, incident-replay, smoke, "
        "or a path to a .toml file"
    )


def test_a_scenario_file_is_read_by_its_path(tmp_path):
    path = Path(load_scenario("smoke").path)
    copy = tmp_path / "mine.toml"
    copy.write_text(path.read_text().replace('name = "smoke"', 'name = "mine"'))
    assert build_scenario(str(copy), scale=0.5).name == "mine"


def test_the_memory_limit_is_a_size_above_zero():
    assert memory_limit_bytes(None) is None
    assert memory_limit_bytes("6GB") == 6_000_000_000
    assert memory_limit_bytes("1") == 1
    for text in ("0", "0GB"):
        with pytest.raises(UsageError) as caught:
            memory_limit_bytes(text)
        assert (
            caught.value.message
            == f"--memory-limit must be above zero, got {text!r}: give a size such as 6GB"
        )
    assert refused(memory_limit="0") == "--memory-limit must be above zero, got '0': give a size such as 6GB"
    assert build_scenario("smoke").memory_limit_bytes == 2_000_000_000  # the scenario's own
    assert build_scenario("smoke", memory_limit="512MB").memory_limit_bytes == 512_000_000
