"""How fast RSS grows: a slope with a 95 % interval that means 95 % on the curves services draw.

Rules (shown in reports through `Growth.method`):
- Warm-up: the first 10 % of the span, at most 5 minutes, is left out, so interpreter start-up and
  imports do not read as growth. If that would leave fewer than 10 points, nothing is left out.
- More points than `max_points` are reduced to `max_points` equal-count bins (mean
  time, median RSS per bin) before anything else; the method says so.
- Levels: the fitted span is cut into up to 12 windows of equal time (`LEVEL_WINDOWS`, at least 4
  points each); each window's level is its median RSS, so a GC spike or a page-in cannot move it.
  The slope is least squares through these levels.
- The interval: RSS curves are not independent points. Their noise is autocorrelated (which the
  window levels absorb) and their steps are a random walk (a staircase climbs by steps of random
  size at random times, and nine steps say little about the rate). The interval adds both:
  the scatter of the levels around the line, and the random-walk variance of the steps, taken
  from the variogram of the levels (lags of one and two windows) and, where sharp rises are seen,
  from the sum of their squared sizes. Its critical value is Student's t with the levels' degrees
  of freedom, or with as many as there were rises when there were fewer. Coverage on 200 seeded
  curves per shape: docs/decisions.md and tests/analysis/test_coverage.py.
- Sawtooth: three or more sharp drops (a cleanup freeing memory) split the series into cycles; the
  fit is then on the envelope, one point per drop: the trough after it averaged with the peak
  before it lowered by the median tooth height, so a rising series of teeth is growth and a flat
  one is not. Least squares through these points, Student's t with as many points less two.
  Sampling alone can tilt that line (a tooth period near a multiple of the sampling interval):
  the largest such slope is `alias_bytes_per_min`, and growth below it is not established.
- Stairs: two or more sharp rises and no drop are growth (shape "stairs"), never taken out.
- Step: a single sharp rise against a flat history (the points before it and after it each show
  no growth: their intervals hold zero) is a one-off (a cache filled once): it is taken out, and
  the method always says so with its size.
- Plateau: growth that is clear in the first third (its interval above zero) and gone in the last
  third (its interval holds zero and lies below the early rate) is a plateau; the slope given is
  the late one, the rate at which it grows now.
- Fewer than 10 points to fit: shape "too_few", and the verdict is INCONCLUSIVE.
"""

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from leakhunt.analysis.student import t_critical_95
from leakhunt.units import format_mb

MIN_FIT_POINTS = 10
MAX_WARMUP_S = 300.0
WARMUP_FRACTION = 0.10
LEVEL_WINDOWS = 12
MIN_POINTS_PER_LEVEL = 4
# A jump counts as sharp when it stands this many robust sigmas off the typical step and is a
# visible share of the whole range.
JUMP_SIGMAS = 8.0
JUMP_RANGE_SHARE = 0.15
# Below a mebibyte a "drop" is allocator noise (a gc.collect returning a few pages), not a tooth.
JUMP_MIN_BYTES = 2**20
# Smaller moves are the pages a steady leak maps one by one, not steps of a staircase: RSS is
# quantised, so between samples most moves are zero and a robust sigma alone can fall to nothing.
STEP_MIN_BYTES = 2**18
# A move is compared with the median of this many neighbouring moves (the local slope).
JUMP_NEIGHBOURS = 9
# A step's size is the difference of medians over this many points either side.
STEP_SIDE = 10


@dataclass(frozen=True)
class Trend:
    """A slope in bytes per minute with its 95 % interval; `dof` is the t distribution's."""

    slope: float
    intercept: float
    low: float
    high: float
    dof: int


@dataclass(frozen=True)
class Growth:
    slope_bytes_per_min: float
    ci_low_bytes_per_min: float
    ci_high_bytes_per_min: float
    intercept_bytes: float
    shape: str
    n_samples: int
    n_fit_points: int
    warmup_s: float
    method: str
    early_slope_bytes_per_min: float
    late_slope_bytes_per_min: float
    step_bytes: float = 0.0
    step_at_min: float | None = None
    # The high end of the whole fitted span's interval: for a plateau, whether it ever grew fast.
    whole_ci_high_bytes_per_min: float = np.inf
    # For a sawtooth: the slope its sampling alone can draw (growth below it is not established).
    alias_bytes_per_min: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


UNKNOWN = Trend(0.0, 0.0, -np.inf, np.inf, 0)


def least_squares_slope_bytes_per_min(t_s: ArrayLike, rss_bytes: ArrayLike) -> float:
    """The plain fit other tools use; here for comparison and benchmarks."""
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(rss_bytes, dtype=float)
    return float(np.polyfit(t / 60.0, y, 1)[0])


def _clean(t_s: ArrayLike, rss_bytes: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(rss_bytes, dtype=float)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    order = np.argsort(t, kind="stable")
    return t[order], y[order]


def _bin(t: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if len(t) <= max_points:
        return t, y
    edges = np.linspace(0, len(t), max_points + 1).astype(int)
    width = edges[1:] - edges[:-1]
    bt = np.add.reduceat(t, edges[:-1]) / width
    # Bins hold w or w + 1 points: each width's bins are rows of one matrix, their medians taken
    # at once (the same numbers as a median per bin, without a Python loop over the bins).
    by = np.empty(len(width))
    for w in np.unique(width):
        rows = np.flatnonzero(width == w)
        by[rows] = np.median(y[edges[rows][:, None] + np.arange(w)], axis=1)
    return bt, by


def _levels(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median RSS over windows of equal time; windows without points are skipped."""
    windows = min(LEVEL_WINDOWS, len(t) // MIN_POINTS_PER_LEVEL)
    if windows < 3:
        return t, y
    edges = np.linspace(t[0], t[-1], windows + 1)
    index = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, windows - 1)
    if np.any(np.diff(index) < 0):  # times out of order: each window picked out by its mask
        chosen = [index == k for k in range(windows) if np.any(index == k)]
        return np.array([t[m].mean() for m in chosen]), np.array([np.median(y[m]) for m in chosen])
    # In time order each window is one run of points. Windows of one count are rows of one
    # matrix, their means and medians taken at once: the same numbers as one window at a time
    # (tests/analysis/test_growth.py), without a Python loop over the windows.
    starts = np.searchsorted(index, np.arange(windows), side="left")
    counts = np.searchsorted(index, np.arange(windows), side="right") - starts
    return run_means_and_medians(t, y, starts, counts)


def run_means_and_medians(
    t: np.ndarray, y: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The mean of t and the median of y over each run `starts[k]:starts[k] + counts[k]`, empty
    runs left out. Runs of one count are rows of one matrix, taken at once: no Python loop over
    the runs (the fit's windows, the fleet report's bins)."""
    starts, counts = starts[counts > 0], counts[counts > 0]
    means, medians = np.empty(len(counts)), np.empty(len(counts))
    for count in np.unique(counts):
        rows = np.flatnonzero(counts == count)
        at = starts[rows][:, None] + np.arange(count)
        means[rows] = np.mean(t[at], axis=1)
        medians[rows] = np.median(y[at], axis=1)
    return means, medians


def trend(t_min: ArrayLike, y_bytes: ArrayLike, *, steps: "Steps | None" = None) -> Trend:
    """Slope through window levels, with an interval for autocorrelated, step-shaped curves.

    `steps` are the sharp rises seen over the whole fitted curve: their squared sizes per minute
    are the random walk a staircase takes (a quiet stretch of a staircase is not a plateau), and
    their number caps the degrees of freedom.
    """
    t = np.asarray(t_min, dtype=float)
    y = np.asarray(y_bytes, dtype=float)
    if len(t) < 3 or np.ptp(t) == 0:
        return UNKNOWN
    levels_t, levels_y = _levels(t, y)
    n = len(levels_t)
    if n < 3:  # points bunched at two moments (a long gap between them): no interval
        return UNKNOWN
    centred = levels_t - levels_t.mean()
    sxx = float(centred @ centred)
    slope = float(centred @ (levels_y - levels_y.mean())) / sxx
    intercept = float(levels_y.mean() - slope * levels_t.mean())
    residuals = levels_y - intercept - slope * levels_t
    scatter_var = float(residuals @ residuals) / (n - 2) / sxx
    # Random-walk rate from the levels' variogram: var(two-window step) - var(one-window step)
    # is zero for stationary noise and one window's worth of walk for steps.
    walk_per_min = 0.0
    if n >= 4:
        moves = np.diff(levels_y) - slope * np.diff(levels_t)
        gamma = float(np.mean(moves**2) + 2 * np.mean(moves[:-1] * moves[1:]))
        walk_per_min = max(gamma, 0.0) / float(np.mean(np.diff(levels_t)))
    dof = n - 2
    if steps is not None and steps.count:
        walk_per_min = max(walk_per_min, steps.walk_bytes2_per_min)
        dof = min(dof, steps.count)
    weights = centred / sxx
    since_start = levels_t - levels_t[0]
    walk_var = walk_per_min * float(weights @ np.minimum.outer(since_start, since_start) @ weights)
    half = t_critical_95(dof) * np.sqrt(scatter_var + walk_var)
    return Trend(slope, intercept, slope - half, slope + half, dof)


def running_median(y: np.ndarray, size: int) -> np.ndarray:
    """The median of each odd-sized window centred on a point, the ends padded with the edge
    values (scipy.ndimage.median_filter with mode="nearest", without importing scipy), of values
    without NaN (the fit's curves are cleaned first).

    An odd window's median is its middle value: picked by np.partition, and for three values by
    min and max, the same numbers as np.median at a fraction of its cost (a fleet runs four of
    these per series)."""
    half = size // 2
    padded = np.pad(y, half, mode="edge")
    if size == 3:
        before, at, after = padded[:-2], padded[1:-1], padded[2:]
        return np.maximum(np.minimum(before, at), np.minimum(np.maximum(before, at), after))
    return np.partition(np.lib.stride_tricks.sliding_window_view(padded, size), half, axis=1)[:, half]


@dataclass(frozen=True)
class Steps:
    """Sharp rises over a fitted stretch: how many, and their squared sizes per minute."""

    count: int
    walk_bytes2_per_min: float


def _moves(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Each move of the curve less the local typical move, and the noise's robust sigma.

    A median of three first, so a lone spike (a GC pause, a page-in) is not a jump. Moves are
    measured against the median of their neighbours, so a steep smooth stretch is not a jump;
    sigma comes from the raw moves, which a median filter would flatten into runs of zeros.
    """
    diffs = np.diff(running_median(y, 3))
    local = running_median(diffs, JUMP_NEIGHBOURS)
    raw = np.diff(y)
    sigma = 1.4826 * float(np.median(np.abs(raw - np.median(raw))))
    return diffs - local, sigma


def _last_of_runs(index: np.ndarray) -> np.ndarray:
    """One jump per run of consecutive indices: the last, where the curve has arrived."""
    return index[np.append(np.diff(index) != 1, True)] if len(index) else index


def _jumps(y: np.ndarray, moved: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices i where y[i+1] - y[i] is a sharp rise, and where it is a sharp drop.

    A jump caught half-way (a sample, or a bin's median of two samples, between the levels
    before and after) is two sharp moves in a row: they are one jump, not a cycle of one point
    (which would put a false point on a sawtooth's envelope) nor two steps of a staircase.
    `moved`: `_moves(y)` when the caller has it already.
    """
    if len(y) < 4:
        return np.array([], int), np.array([], int)
    moves, sigma = _moves(y) if moved is None else moved
    threshold = max(JUMP_SIGMAS * sigma, JUMP_RANGE_SHARE * float(np.ptp(y)), JUMP_MIN_BYTES)
    return _last_of_runs(np.flatnonzero(moves > threshold)), _last_of_runs(np.flatnonzero(-moves > threshold))


def _steps(t_min: np.ndarray, y: np.ndarray, moved: tuple[np.ndarray, float] | None = None) -> Steps:
    """Rises standing `JUMP_SIGMAS` robust sigmas above the local move and at least
    `STEP_MIN_BYTES`; `moved` as for `_jumps`."""
    if len(y) < 4 or np.ptp(t_min) == 0:
        return Steps(0, 0.0)
    moves, sigma = _moves(y) if moved is None else moved
    sizes = moves[moves > max(JUMP_SIGMAS * sigma, STEP_MIN_BYTES)]
    return Steps(len(sizes), float(sizes @ sizes) / float(np.ptp(t_min)))


def _step_size(y: np.ndarray, rise: int) -> float:
    """Median after the rise less median before it, less the typical drift between the two."""
    before, after = y[max(0, rise - STEP_SIDE + 1) : rise + 1], y[rise + 1 : rise + 1 + STEP_SIDE]
    gap = (len(before) + len(after)) / 2
    return float(np.median(after) - np.median(before) - np.median(np.diff(y)) * gap)


def _envelope(t_min: np.ndarray, y: np.ndarray, drops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One point per drop: the mean of the peak before it, lowered by the median tooth height,
    and the trough after it.

    The peak and trough either side of one drop move together (one tooth's height), so they are
    one observation, not two: counting them twice would narrow the interval falsely.
    """
    bounds = [0, *(drops + 1).tolist(), len(y)]
    cycles = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    peaks = [(t_min[a + np.argmax(y[a:b])], float(np.max(y[a:b]))) for a, b in cycles[:-1]]
    troughs = [(t_min[a + np.argmin(y[a:b])], float(np.min(y[a:b]))) for a, b in cycles[1:]]
    lift = float(np.median([peak[1] - trough[1] for peak, trough in zip(peaks, troughs, strict=True)]))
    times = [(peak[0] + trough[0]) / 2 for peak, trough in zip(peaks, troughs, strict=True)]
    values = [(peak[1] - lift + trough[1]) / 2 for peak, trough in zip(peaks, troughs, strict=True)]
    return np.array(times), np.array(values)


def _alias_slope_bytes_per_min(
    t_min: np.ndarray, y: np.ndarray, drops: np.ndarray, envelope_t_min: np.ndarray
) -> float:
    """The largest slope that sampling alone can draw through a flat sawtooth's envelope.

    The sample before a drop is taken up to one interval before it, so each envelope point sits
    anywhere within what a tooth rises in one interval of its true level. A tooth period close to
    a multiple of the interval turns that into a slow drift, a slope no noise term sees (1 in 200
    flat sawtooths in tests/analysis/test_false_alarms.py): the most such errors can tilt a least
    squares line is that rise times the sum of its positive weights."""
    rise_bytes = float(np.median(y[drops] - y[drops + 1])) / float(np.median(np.diff(t_min[drops])))
    rise_bytes *= float(np.median(np.diff(t_min)))
    centred = envelope_t_min - envelope_t_min.mean()
    return rise_bytes * float(np.clip(centred, 0, None).sum()) / float(centred @ centred)


def _envelope_trend(t_min: np.ndarray, y: np.ndarray) -> Trend:
    """Envelope points are a few, each from its own tooth: least squares with Student's t. A
    sawtooth is only fitted this way with three drops or more, so there are three points."""
    n = len(t_min)
    if n < 3 or np.ptp(t_min) == 0:
        return UNKNOWN
    slope, intercept = np.polyfit(t_min, y, 1)
    residuals = y - intercept - slope * t_min
    centred = t_min - t_min.mean()
    se = np.sqrt(float(residuals @ residuals) / (n - 2) / float(centred @ centred))
    half = t_critical_95(n - 2) * se
    return Trend(float(slope), float(intercept), float(slope - half), float(slope + half), n - 2)


def _flat(t_min: np.ndarray, y: np.ndarray) -> bool:
    """No growth shown: the interval holds zero (too few points to tell counts as flat)."""
    if len(t_min) < MIN_POINTS_PER_LEVEL:
        return True
    stretch = trend(t_min, y)
    return stretch.low <= 0 <= stretch.high


def _one_off(t_min: np.ndarray, y: np.ndarray, rise: int) -> bool:
    """A single jump with no growth before it nor after it."""
    return _flat(t_min[: rise + 1], y[: rise + 1]) and _flat(t_min[rise + 1 :], y[rise + 1 :])


def fit_growth(
    t_s: ArrayLike, rss_bytes: ArrayLike, *, warmup_s: float | None = None, max_points: int = 1000
) -> Growth:
    """Fit RSS against time (seconds); slopes are in bytes per minute."""
    t, y = _clean(t_s, rss_bytes)
    n_samples = len(t)
    if n_samples == 0:
        return Growth(0.0, -np.inf, np.inf, 0.0, "too_few", 0, 0, 0.0, "no samples", 0.0, 0.0)
    span_s = float(t[-1] - t[0])
    if warmup_s is None:
        warmup_s = min(WARMUP_FRACTION * span_s, MAX_WARMUP_S)
    after = t >= t[0] + warmup_s
    if after.sum() < MIN_FIT_POINTS:
        warmup_s, after = 0.0, np.ones_like(t, dtype=bool)
    t_fit, y_fit = _bin(t[after], y[after], max_points)
    binned = len(t_fit) < after.sum()
    t_min = (t_fit - t[0] - warmup_s) / 60.0
    method = (
        f"least squares through window medians of {len(t_fit):,}"
        + (f" bins of {after.sum():,}" if binned else "")
        + f" samples after {warmup_s:.0f} s warm-up"
    )
    if len(t_fit) < MIN_FIT_POINTS:
        rough = trend(t_min, y_fit)
        return Growth(
            rough.slope, -np.inf, np.inf, rough.intercept, "too_few", n_samples, len(t_fit), warmup_s,
            method + f"; fewer than {MIN_FIT_POINTS} points, no verdict", rough.slope, rough.slope,
        )  # fmt: skip
    moved = _moves(y_fit)  # the jumps and the steps read the same moves
    rises, drops = _jumps(y_fit, moved)
    shape, step_bytes, step_at_min, alias_bytes_per_min = "linear", 0.0, None, 0.0
    fit_t, fit_y = t_min, y_fit
    steps = _steps(t_min, y_fit, moved)
    if len(drops) >= 3:
        # The envelope has one point per drop, and a line with an interval needs three points;
        # one or two drops are left to the levels, which a few jumps cannot move far.
        shape = "sawtooth"
        fit_t, fit_y = _envelope(t_min, y_fit, drops)
        overall = _envelope_trend(fit_t, fit_y)
        alias_bytes_per_min = _alias_slope_bytes_per_min(t_min, y_fit, drops, fit_t)
        method += f"; sawtooth of {len(drops) + 1} cycles judged on its envelope ({len(fit_t)} points)"
    elif len(rises) == 1 and not len(drops) and _one_off(t_min, y_fit, rises[0]):
        shape = "step"
        step_bytes = _step_size(y_fit, rises[0])
        step_at_min = float(t_min[rises[0] + 1])
        fit_y = y_fit.copy()
        fit_y[rises[0] + 1 :] -= step_bytes
        steps = _steps(fit_t, fit_y)
        overall = trend(fit_t, fit_y, steps=steps)
        method += (
            f"; one step of {format_mb(step_bytes)} MB at {step_at_min:.1f} min against a flat "
            "history, taken out"
        )
    else:
        if len(rises) >= 2 and not len(drops):
            shape = "stairs"
            method += f"; {len(rises)} steps up: a staircase is growth, each step counted in the interval"
        overall = trend(fit_t, fit_y, steps=steps)
    third = max(len(t_min) // 3, 3)
    early = trend(t_min[:third], y_fit[:third], steps=steps)
    late = trend(t_min[-third:], y_fit[-third:], steps=steps)
    growth_stopped = early.low > 0 and late.low <= 0 <= late.high and late.high < early.slope
    whole_high = overall.high
    if shape in ("linear", "stairs") and growth_stopped:
        shape = "plateau"
        overall = late
        method += "; growth clear early and gone late: slope and interval from the last third"
    return Growth(
        overall.slope, overall.low, overall.high, overall.intercept, shape, n_samples, len(fit_t),
        warmup_s, method, early.slope, late.slope, step_bytes, step_at_min, whole_high,
        alias_bytes_per_min,
    )  # fmt: skip
