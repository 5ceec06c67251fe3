"""live.py: the live view's analysis holds a bounded summary whatever the run's length, refits at
a bounded pace, and says what the finished run's analysis would say."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.criteria import observe, parse_expect
from leakhunt.analysis.growth import fit_growth
from leakhunt.analysis.live import MAX_BUCKETS, REFIT_EVERY_S, Buckets, LiveAnalysis
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample

MB = 1e6


def samples_of(t_s: np.ndarray, rss_bytes: np.ndarray) -> list[Sample]:
    rng = np.random.default_rng(5)
    swap = np.where(rng.random(len(t_s)) < 0.01, rng.integers(1, 10**6, len(t_s)), 0)
    cpu = rng.uniform(0, 50, len(t_s)).round(1)
    return [
        Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(r), swap_bytes=int(s), cpu_percent=float(c))
        for t, r, s, c in zip(t_s, rss_bytes, swap, cpu, strict=True)
    ]


def test_buckets_stay_within_their_bound_however_many_samples_and_keep_each_extreme():
    buckets = Buckets(max_buckets=64)
    values = np.sin(np.arange(100_000) / 500.0)
    values[77_777] = 9.0  # one spike among a hundred thousand
    for k, value in enumerate(values):
        buckets.add(float(k), float(value))
    assert buckets.closed <= 64 and buckets.per_bucket == 2048  # 1, 2, 4 ... doubled as they filled
    assert buckets.high[: buckets.closed].max() == 9.0
    assert buckets.low[: buckets.closed].min() == values[: buckets.closed * buckets.per_bucket].min()
    t_s, _ = buckets.series()
    assert len(t_s) == buckets.closed + 1  # the samples not yet in a bucket, as one more
    assert np.all(np.diff(t_s) > 0)


def test_before_buckets_merge_each_holds_its_samples_exact_median_and_mean_time():
    buckets = Buckets(max_buckets=8)
    for k in range(8):
        buckets.add(float(k), float(k * k))
    t_s, median = buckets.series()
    assert list(t_s) == list(range(8)) and list(median) == [k * k for k in range(8)]
    buckets.add(8.0, 64.0)  # the ninth merges them in pairs
    assert buckets.per_bucket == 2 and buckets.closed == 4
    assert list(buckets.t_s[:4]) == [0.5, 2.5, 4.5, 6.5]


@pytest.mark.slow
def test_an_eight_hour_watch_at_10_hz_refits_at_a_bounded_pace_in_bounded_memory():
    # The cost per sample that does not depend on the run's length is what holds it constant;
    # benchmarks/bench_watch.py measures the CPU itself.
    live = LiveAnalysis()
    t_s, rss_bytes, _ = service_at_rest(3, 0.0, minutes=480, interval_s=0.1)
    for t, rss in zip(t_s, rss_bytes, strict=True):
        live.add(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
        assert live.status is not None  # asked at every sample, as often as any view could
    assert live.n_samples == 288_001
    assert live.fits <= 480 * 60 / REFIT_EVERY_S + 12 + 1
    assert live.rss.closed <= MAX_BUCKETS and live.rss.per_bucket <= 1024
    assert str(live.status.judgement.verdict) == "STABLE"


@pytest.mark.parametrize("rate_mb_per_min", [0.0, 2.0])
def test_the_live_fit_on_buckets_agrees_with_the_fit_on_every_sample(rate_mb_per_min):
    t_s, rss_bytes, _ = service_at_rest(11, rate_mb_per_min * MB, minutes=120, interval_s=0.5)
    live = LiveAnalysis()
    for sample in samples_of(t_s, rss_bytes):
        live.add(sample)
    live_growth, full = live.status.growth, fit_growth(t_s, rss_bytes)
    assert live_growth.slope_bytes_per_min == pytest.approx(full.slope_bytes_per_min, abs=0.02 * MB)
    assert live.status.judgement.verdict == ("LEAK" if rate_mb_per_min else "STABLE")


def test_the_criteria_read_the_same_values_live_as_from_the_finished_runs_samples():
    t_s = np.arange(0.0, 3600.0, 1.0)
    samples = samples_of(t_s, 80 * MB + 1000 * t_s)
    criteria = [parse_expect(text) for text in ("rss<2GB@30m", "rss<2GB@29.99m", "peak<1GB", "swap==0")]
    live = LiveAnalysis(criteria)
    for sample in samples:
        live.add(sample)
    frame = pd.DataFrame([[getattr(s, c) for c in SAMPLE_COLUMNS] for s in samples], columns=SAMPLE_COLUMNS)
    seen, finished = live.observed(), observe(frame, [c.at_s for c in criteria if c.at_s is not None])
    assert seen.mean_cpu_percent == pytest.approx(finished.mean_cpu_percent, rel=1e-12)
    assert replace(seen, mean_cpu_percent=0.0) == replace(finished, mean_cpu_percent=0.0)
    assert seen.rss_near[1800.0] == (1800.0, 80 * MB + 1000 * 1800)


def test_the_fit_is_only_redone_when_asked_and_stale():
    live = LiveAnalysis()
    for k in range(600):
        live.add(Sample(t_wall_s=k * 0.1, t_sim_s=k * 0.1, rss_bytes=10**8 + 1000 * k))
    assert live.fits == 0  # nobody looked
    first = live.status
    assert live.fits == 1 and live.status is first  # asked again within 5 s: the same fit
    live.add(Sample(t_wall_s=60.0 + REFIT_EVERY_S, t_sim_s=60.0 + REFIT_EVERY_S, rss_bytes=10**8))
    assert live.status is not first and live.fits == 2
