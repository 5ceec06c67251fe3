"""The child's event schedule: work before measurement, exact multiples, no drift, no probe at 0 s."""

from leakhunt.workload.target import CLEANUP, FETCH, PROBE, SAMPLE, schedule


def events(**intervals: float | None) -> list[tuple[float, int, int]]:
    """The schedule of the default scenario's fetches, with the given duration and intervals."""
    return list(schedule(fetch_interval_s=900 / 79, **intervals))


def test_events_come_in_time_order_with_work_before_the_sample_and_the_probe_after():
    ran = events(duration_s=600, sample_interval_s=5, cleanup_interval_s=600, probe_interval_s=300)
    times = [t for t, _, _ in ran]
    assert times == sorted(times)
    at_600 = [kind for t, kind, _ in ran if t == 600]
    assert at_600 == [CLEANUP, SAMPLE, PROBE]
    at_0 = [kind for t, kind, _ in ran if t == 0]
    assert at_0 == [FETCH, SAMPLE]


def test_probes_come_every_interval_from_the_first_interval_to_the_end_none_at_the_start():
    # A heap counted before any work is never fitted: the growth is fitted after a warm-up.
    ran = events(duration_s=1800, sample_interval_s=5, cleanup_interval_s=None, probe_interval_s=300)
    assert [t for t, kind, _ in ran if kind == PROBE] == [300, 600, 900, 1200, 1500, 1800]


def test_sample_times_are_exact_multiples_of_the_interval_even_after_many_steps():
    ran = events(duration_s=86400, sample_interval_s=0.1, cleanup_interval_s=None, probe_interval_s=None)
    samples = [t for t, kind, _ in ran if kind == SAMPLE]
    assert len(samples) == 864001
    assert samples[-1] == 86400.0
    assert all(t == k * 0.1 for k, t in enumerate(samples[:1000]))
