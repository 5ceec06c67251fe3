"""Seeded synthetic RSS curves with a known growth rate: the ground truth for coverage, false-alarm
and detection-power measurements (tests/analysis, benchmarks/).

Each generator returns (t_s, rss_bytes, true_slope_bytes_per_min). The true slope is the rate of
the process that drew the curve, not of the curve drawn: a staircase of nine random steps may
climb more or less than its rate says, and an honest interval has to allow for that.
Shapes follow what RSS curves of real services look like:
- linear_ar1: a steady leak under autocorrelated noise (allocator and cache churn);
- stairs: steps of random size at random (Poisson) times, as an allocator maps arenas;
- sawtooth: a periodic cleanup freeing what accumulated since the last one; no growth;
- linear_sawtooth: the same teeth riding on a steady leak.
`service_at_rest` is apart from these four (the coverage test draws those): a service as RSS shows
it second by second, with a leak of a rate the caller chooses, for detection-power measurements.
"""

import numpy as np

MB = 1e6
MIB = 2**20
SHAPES = ("linear_ar1", "stairs", "sawtooth", "linear_sawtooth")


def _ar1(rng: np.random.Generator, n: int, rho: float, sigma_bytes: float) -> np.ndarray:
    shocks = rng.normal(0.0, sigma_bytes * np.sqrt(1 - rho**2), n)
    noise = np.empty(n)
    noise[0] = rng.normal(0.0, sigma_bytes)
    for i in range(1, n):
        noise[i] = rho * noise[i - 1] + shocks[i]
    return noise


def _teeth(rng: np.random.Generator, t_s: np.ndarray, period_s: float, height_bytes: float) -> np.ndarray:
    phase_s = rng.uniform(0, period_s)
    return ((t_s + phase_s) % period_s) / period_s * height_bytes


def linear_ar1(rng: np.random.Generator, t_s: np.ndarray) -> tuple[np.ndarray, float]:
    slope = rng.uniform(0.0, 5.0) * MB
    noise = _ar1(rng, len(t_s), rho=rng.uniform(0.5, 0.98), sigma_bytes=rng.uniform(0.2, 3.0) * MB)
    return 80 * MB + slope * t_s / 60 + noise, slope


def stairs(rng: np.random.Generator, t_s: np.ndarray) -> tuple[np.ndarray, float]:
    steps_per_min = rng.uniform(0.2, 1.0)
    mean_step_bytes = rng.uniform(0.5, 4.0) * MB
    span_min = (t_s[-1] - t_s[0]) / 60
    n_steps = rng.poisson(steps_per_min * span_min)
    times_s = np.sort(rng.uniform(t_s[0], t_s[-1], n_steps))
    sizes = rng.exponential(mean_step_bytes, n_steps)
    level = np.array([sizes[times_s <= t].sum() for t in t_s])
    noise = rng.normal(0.0, 0.05 * MB, len(t_s))
    return 80 * MB + level + noise, steps_per_min * mean_step_bytes


def sawtooth(rng: np.random.Generator, t_s: np.ndarray) -> tuple[np.ndarray, float]:
    teeth = _teeth(rng, t_s, rng.uniform(180, 600), rng.uniform(5, 60) * MB)
    noise = rng.normal(0.0, rng.uniform(0.05, 0.5) * MB, len(t_s))
    return 80 * MB + teeth + noise, 0.0


def linear_sawtooth(rng: np.random.Generator, t_s: np.ndarray) -> tuple[np.ndarray, float]:
    slope = rng.uniform(0.0, 5.0) * MB
    teeth = _teeth(rng, t_s, rng.uniform(180, 600), rng.uniform(5, 60) * MB)
    noise = rng.normal(0.0, rng.uniform(0.05, 0.5) * MB, len(t_s))
    return 80 * MB + slope * t_s / 60 + teeth + noise, slope


GENERATORS = {
    "linear_ar1": linear_ar1,
    "stairs": stairs,
    "sawtooth": sawtooth,
    "linear_sawtooth": linear_sawtooth,
}


def series(
    shape: str, seed: int, *, minutes: float = 30.0, interval_s: float = 5.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """One seeded curve of `shape`: (t_s, rss_bytes, true_slope_bytes_per_min)."""
    rng = np.random.default_rng([seed, SHAPES.index(shape)])
    t_s = np.arange(0.0, minutes * 60 + 1e-9, interval_s)
    rss_bytes, slope = GENERATORS[shape](rng, t_s)
    return t_s, rss_bytes, slope


def service_at_rest(
    seed: int, leak_bytes_per_min: float, *, minutes: float = 30.0, interval_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """A service's RSS under realistic noise, leaking at a known rate: (t_s, rss_bytes, rate).

    Noise as an idle service shows it: a periodic gc sawtooth (a tooth every 60-120 s, 1-5 MB
    high), allocator stairs (RSS moves in whole MiB: it is rounded up to the next one, as arenas
    are mapped in large chunks), and small jitter (0.1 MB). The leak is steady at the given rate.
    """
    rng = np.random.default_rng([seed, len(SHAPES)])
    t_s = np.arange(0.0, minutes * 60 + 1e-9, interval_s)
    teeth = _teeth(rng, t_s, rng.uniform(60, 120), rng.uniform(1, 5) * MB)
    jitter = rng.normal(0.0, 0.1 * MB, len(t_s))
    exact_bytes = 80 * MB + leak_bytes_per_min * t_s / 60 + teeth + jitter
    return t_s, np.ceil(exact_bytes / MIB) * MIB, leak_bytes_per_min
