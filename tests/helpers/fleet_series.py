"""Backfilled series with known shapes for the fleet tests and benchmark (6 h at 15 s).

Leaks are `synthetic.service_at_rest` (a gc sawtooth, allocator stairs in whole MiB, jitter) at a
known rate. The three shapes that fool `predict_linear(x[1h], 4h)` are drawn so that the last
hour climbs, as they do in the services that page people at night:
- sawtooth: a cleanup every 80 min frees 500 MB; the range ends near a peak;
- step: a cache filled once, 500 MB, 40 min before the end, flat before and after;
- restart: a flat service restarted 45 min before the end, warming up again to its old level.
"""

import time

import numpy as np

from leakhunt.analysis import synthetic

MB = 1e6
MIB = 2**20
SPAN_S = 6 * 3600
STEP_S = 15
LIMIT_BYTES = 2e9  # above every fooling shape's peak: it is never reached


def grid(end_s: float, span_s: float = SPAN_S, step_s: float = STEP_S) -> np.ndarray:
    # Whole steps counted from the end: np.arange(start, end + tiny) loses the last point to
    # rounding at Unix times of 1.7e9.
    return end_s - span_s + np.arange(round(span_s / step_s) + 1) * step_s


def _noise(seed: int, n: int, sigma_bytes: float = 1 * MB) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sigma_bytes, n)


def _whole(values: np.ndarray) -> np.ndarray:
    return np.round(values).astype(np.int64)


def leak(t_s: np.ndarray, rate_bytes_per_min: float, seed: int) -> np.ndarray:
    _, rss, _ = synthetic.service_at_rest(
        seed, rate_bytes_per_min, minutes=(t_s[-1] - t_s[0]) / 60, interval_s=t_s[1] - t_s[0]
    )
    return _whole(rss[: len(t_s)] + 400 * MB)


def sawtooth(t_s: np.ndarray, seed: int = 1) -> np.ndarray:
    period_s = 80 * 60
    # The phase puts the end of the range 95 % up a tooth.
    phase_s = (0.95 * period_s - (t_s[-1] - t_s[0])) % period_s
    teeth = ((t_s - t_s[0] + phase_s) % period_s) / period_s * 500 * MB
    return _whole(900 * MB + teeth + _noise(seed, len(t_s)))


def step(t_s: np.ndarray, seed: int = 2) -> np.ndarray:
    return _whole(800 * MB + (t_s >= t_s[-1] - 40 * 60) * 500 * MB + _noise(seed, len(t_s)))


def restart(t_s: np.ndarray, seed: int = 3) -> np.ndarray:
    at_s = t_s[-1] - 45 * 60
    warm = 1500 * MB - 1300 * MB * np.exp(-(t_s - at_s) / (8 * 60))
    return _whole(np.where(t_s < at_s, 1500 * MB, warm) + _noise(seed, len(t_s)))


def oom_restarts(t_s: np.ndarray, rate_bytes_per_min: float, every_s: float, seed: int = 4):
    """A process leaking at a known rate, restarted every `every_s`: (rss, start_time_s)."""
    since = (t_s - t_s[0]) % every_s
    starts = t_s - since
    rss = 300 * MB + rate_bytes_per_min * since / 60 + _noise(seed, len(t_s), 0.5 * MB)
    return _whole(rss), starts


def fractions(t_s: np.ndarray) -> np.ndarray:
    """CPU seconds: a counter of fractions, not bytes."""
    return np.cumsum(np.full(len(t_s), 0.37)) + 12.5


RATES_BYTES_PER_MIN = (2 * MB, 5 * MB, 10 * MB)
FOOLING = {"sawtooth": sawtooth, "step": step, "restart": restart}
OOM_RATE_BYTES_PER_MIN = 3 * MB
OOM_EVERY_S = 100 * 60


def end_of_backfill_s() -> float:
    """An hour boundary one to two hours ago: old enough to lie in blocks, not in the head."""
    return float((int(time.time()) // 3600 - 1) * 3600)


def fleet_backfill(end_s: float) -> list:
    """Every backfilled series the fleet tests read (see tests/helpers/prometheus_server.py)."""
    from tests.helpers.prometheus_server import Backfilled

    t_s = grid(end_s)
    series = []
    for seed, rate in enumerate(RATES_BYTES_PER_MIN):
        labels = {"job": "backfill", "shape": "leak", "rate": f"{rate / MB:g}MB/min"}
        series.append(Backfilled("svc_memory_bytes", labels, t_s, leak(t_s, rate, seed)))
    for name, shape in FOOLING.items():
        series.append(Backfilled("svc_memory_bytes", {"job": "backfill", "shape": name}, t_s, shape(t_s)))
    for one in list(series):
        limit = np.full(len(t_s), LIMIT_BYTES)
        series.append(Backfilled("svc_memory_limit_bytes", one.labels, t_s, limit))
    hole = (t_s > end_s - 3 * 3600) & (t_s < end_s - 3 * 3600 + 40 * 60)
    series.append(
        Backfilled(
            "svc_memory_bytes", {"job": "gappy", "shape": "leak"}, t_s[~hole], leak(t_s, 5 * MB, 7)[~hole]
        )
    )
    series.append(Backfilled("svc_cpu_seconds_total", {"job": "cpu"}, t_s, fractions(t_s)))
    rss, starts = oom_restarts(t_s, OOM_RATE_BYTES_PER_MIN, OOM_EVERY_S)
    labels = {"job": "restarting", "instance": "oom"}
    series.append(Backfilled("process_resident_memory_bytes", labels, t_s, rss))
    series.append(Backfilled("process_start_time_seconds", labels, t_s, starts))
    return series
