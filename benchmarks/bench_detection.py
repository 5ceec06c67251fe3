"""Detection power (issue 10 item 7, issue 19): how small a leak is called LEAK in 30 min at 1 Hz,
and at what pace; and a second panel, 2 h at 0.2 Hz, the watch issue 19 names.

Curves are `synthetic.service_at_rest`: a gc sawtooth, allocator stairs (RSS in whole MiB) and
jitter, with a leak of known rate. For each rate, SERIES seeded curves are fitted and judged at
two stable bounds: the default 50 MB/h, and 0 ("any growth is a leak"), whose false-alarm rate is
its LEAK rate on the curves that do not leak (rate 0). Least squares is judged the way a
`predict_linear` alert uses it: its slope alone against the same bound, with no interval.
"""

import time

from leakhunt.analysis.growth import fit_growth, least_squares_slope_bytes_per_min
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.analysis.verdict import STABLE_BOUND_BYTES_PER_MIN, Verdict, judge

MB = 1e6
RATES_MB_PER_H = (0, 1, 2, 5, 10, 20, 50, 100, 200)
SERIES = 100
WANTED_SHARE = 0.90  # "detected": called LEAK in at least this share of the series
AIM_MB_PER_H = 5  # issue 10's aim


LONG_RATES_MB_PER_H = (0, 5, 10, 20, 40)


def detection(
    rate_mb_per_h: float, series: int = SERIES, *, minutes: float = 30.0, interval_s: float = 1.0
) -> dict[str, float]:
    """Shares of `series` curves leaking at this rate that each method calls a leak."""
    rate_bytes_per_min = rate_mb_per_h * MB / 60
    calls = {
        "leak_default": 0, "slow_default": 0, "stable_default": 0, "leak_zero": 0, "lsq_default": 0,
        "lsq_zero": 0, "leak_zero_levels": 0,
    }  # fmt: skip
    shapes: dict[str, int] = {}
    for seed in range(series):
        t_s, rss_bytes, _ = service_at_rest(seed, rate_bytes_per_min, minutes=minutes, interval_s=interval_s)
        growth = fit_growth(t_s, rss_bytes)
        shapes[growth.shape] = shapes.get(growth.shape, 0) + 1
        judgement = judge(growth)
        calls["leak_default"] += judgement.verdict == Verdict.LEAK
        calls["slow_default"] += judgement.pace == "slow"
        calls["stable_default"] += judgement.verdict == Verdict.STABLE
        leak_at_zero = judge(growth, stable_bound_bytes_per_min=0.0).verdict == Verdict.LEAK
        calls["leak_zero"] += leak_at_zero
        calls["leak_zero_levels"] += leak_at_zero and growth.shape != "sawtooth"
        lsq_bytes_per_min = least_squares_slope_bytes_per_min(t_s, rss_bytes)
        calls["lsq_default"] += lsq_bytes_per_min > STABLE_BOUND_BYTES_PER_MIN
        calls["lsq_zero"] += lsq_bytes_per_min > 0
    result: dict[str, float] = {key: count / series for key, count in calls.items()}
    result["sawtooth_share"] = shapes.get("sawtooth", 0) / series
    levels = series - shapes.get("sawtooth", 0)
    result["leak_zero_levels"] = calls["leak_zero_levels"] / levels if levels else float("nan")
    return result


def smallest_detected(rows: dict[float, dict[str, float]], key: str) -> float | None:
    """The smallest leaking rate from which every larger rate is detected in >= 90 % of series."""
    found = None
    for rate in sorted(rows, reverse=True):
        if rate == 0 or rows[rate][key] < WANTED_SHARE:
            break
        found = rate
    return found


def run() -> str:
    started = time.perf_counter()
    rows = {rate: detection(rate) for rate in RATES_MB_PER_H}
    long_rows = {rate: detection(rate, minutes=120, interval_s=5.0) for rate in LONG_RATES_MB_PER_H}
    elapsed_s = time.perf_counter() - started
    table = [
        "| leak (MB/h) | LEAK (any pace) | of which slow | STABLE | LEAK at bound 0 |"
        " least squares > 50 MB/h | least squares > 0 | fitted as sawtooth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rate, row in rows.items():
        table.append(
            f"| {rate:g}{' (false alarms)' if rate == 0 else ''} | {row['leak_default']:.0%} | "
            f"{row['slow_default']:.0%} | {row['stable_default']:.0%} | "
            f"{row['leak_zero']:.0%} | {row['lsq_default']:.0%} | {row['lsq_zero']:.0%} | "
            f"{row['sawtooth_share']:.0%} |"
        )
    long_table = [
        "| leak (MB/h) | LEAK (any pace) | of which slow | STABLE | fitted as sawtooth |",
        "|---|---|---|---|---|",
    ]
    for rate, row in long_rows.items():
        long_table.append(
            f"| {rate:g}{' (false alarms)' if rate == 0 else ''} | {row['leak_default']:.0%} | "
            f"{row['slow_default']:.0%} | {row['stable_default']:.0%} | {row['sawtooth_share']:.0%} |"
        )

    def smallest(key: str) -> str:
        rate = smallest_detected(rows, key)
        return "none of the rates measured" if rate is None else f"{rate:g} MB/h"

    zero = rows[0]
    lines = [
        "## Detection power (30 min at 1 Hz, and 2 h at 0.2 Hz; analysis/growth.py + verdict.py)",
        "",
        f"{SERIES} seeded curves per rate (`synthetic.service_at_rest`: gc sawtooth every 60-120 s, "
        "1-5 MB teeth; RSS rounded up to whole MiB; 0.1 MB jitter), fitted with `fit_growth` and "
        "judged with `judge`; least squares is the slope alone against the bound, as a "
        f"`predict_linear` alert uses it. {(len(rows) + len(long_rows)) * SERIES} fits in "
        f"{elapsed_s:.0f} s. LEAK is judged at the default 50 MB/h bound: any pace (slow: the whole "
        "interval under the bound, so a `growth<50MB/h` gate still passes it); STABLE needs an "
        "interval holding zero or inside the 2 MB/h negligible band.",
        "",
        *table,
        "",
        f"False alarms (LEAK on curves that do not grow): {zero['leak_default']:.0%} at 50 MB/h, "
        f"{zero['leak_zero']:.0%} at bound 0; least squares {zero['lsq_zero']:.0%} at bound 0.",
        f"Smallest leak called LEAK in >= {WANTED_SHARE:.0%} of series (and every larger rate too): "
        f"{smallest('leak_zero')} at bound 0 (issue 10 aims for {AIM_MB_PER_H} MB/h); "
        f"{smallest('leak_default')} at the default 50 MB/h bound.",
        "What is missed at 5-20 MB/h and bound 0 is the curves whose teeth are too small to be called "
        "drops, fitted on window levels: of those, "
        + ", ".join(f"{rows[rate]['leak_zero_levels']:.0%} at {rate:g} MB/h" for rate in (5, 10, 20))
        + " are called LEAK. RSS in whole MiB has a robust sigma of 0, so every MiB tick counts as a "
        "sharp rise and the interval takes them as a random walk (about +-25 MB/h at 10 MB/h).",
        "",
        f"2 h at 0.2 Hz (a watch at `--interval 5s`), the same curves, {SERIES} per rate:",
        "",
        *long_table,
        "",
        f"False alarms over 2 h: {long_rows[0]['leak_default']:.0%} LEAK. Where the gc teeth (1-5 MB) "
        "are a small share of the range the leak draws in 2 h they are not called drops, the curve "
        "is fitted on window levels, and its whole-MiB ticks widen the interval as a random walk "
        "(about +-12 MB/h): a 10 MB/h leak is then mostly STABLE, a 20 MB/h one mostly LEAK. That "
        "is the fit's power (growth.py), not the verdict words; more samples or a longer watch "
        "narrow it.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
