"""The slope fit: speed on 1,000,000 samples, and accuracy where least squares is right and wrong."""

import time

import numpy as np

from leakhunt.analysis.growth import fit_growth, least_squares_slope_bytes_per_min

MB = 1e6


def _timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def run() -> str:
    rng = np.random.default_rng(1)
    # 1,000,000 samples: a day at ~12 Hz, growing 2 MiB/s as in design section 10's reference run.
    t_s = np.arange(1_000_000) * 0.1
    true_slope = 2 * 2**20 * 60
    rss = 70 * MB + true_slope * t_s / 60 + rng.normal(0, 2e5, len(t_s))
    robust_s, growth = _timed(fit_growth, t_s, rss)
    lsq_s, lsq = _timed(least_squares_slope_bytes_per_min, t_s, rss)
    # The same straight line as the reference tools saw it: 30 s at 10 Hz.
    short_t = np.arange(300) * 0.1
    short = 70 * MB + true_slope * short_t / 60 + rng.normal(0, 2e5, len(short_t))
    short_err = abs(fit_growth(short_t, short, warmup_s=0).slope_bytes_per_min / true_slope - 1)
    short_lsq_err = abs(least_squares_slope_bytes_per_min(short_t, short) / true_slope - 1)
    # A flat sawtooth (cleanup every 600 s) for two hours: the truth is zero growth.
    saw_t = np.arange(0, 7200, 5.0)
    saw = 70 * MB + (saw_t % 600) / 600 * 50 * MB + rng.normal(0, 3e5, len(saw_t))
    saw_robust = fit_growth(saw_t, saw).slope_bytes_per_min
    saw_lsq = least_squares_slope_bytes_per_min(saw_t, saw)
    # A plateau: fills 300 MB with a 5-minute time constant, then stays.
    plateau_t = np.arange(0, 3600, 5.0)
    plateau = 70 * MB + 300 * MB * (1 - np.exp(-plateau_t / 300)) + rng.normal(0, 3e5, len(plateau_t))
    plateau_growth = fit_growth(plateau_t, plateau)
    rows = [
        (
            "fit of 1,000,000 samples",
            f"{robust_s * 1e3:.0f} ms (target < 1 s); least squares {lsq_s * 1e3:.0f} ms; "
            f"ratio {robust_s / lsq_s:.1f}x",
        ),
        (
            "slope error, 1,000,000 samples",
            f"{abs(growth.slope_bytes_per_min / true_slope - 1):.3%} "
            f"(least squares {abs(lsq / true_slope - 1):.3%})",
        ),
        (
            "slope error, straight line 30 s at 10 Hz",
            f"{short_err:.2%} (least squares {short_lsq_err:.2%}; mprof and psrecord on a real "
            "straight line: see Long watches and the peers)",
        ),
        (
            "flat sawtooth, truth 0 MB/min",
            f"ours {saw_robust / MB:+.3f} MB/min; least squares {saw_lsq / MB:+.3f} MB/min",
        ),
        (
            "plateau, truth ~0 MB/min late",
            f"ours {plateau_growth.slope_bytes_per_min / MB:+.3f} MB/min "
            f"({plateau_growth.shape}); least squares "
            f"{least_squares_slope_bytes_per_min(plateau_t, plateau) / MB:+.2f} MB/min",
        ),
    ]
    lines = ["## Slope fit (analysis/growth.py)", "", "| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
