"""How fast RSS grows: a robust slope with a 95 % confidence interval, and the curve's shape.

Rules (shown in reports through `Growth.method`):
- Warm-up: the first 10 % of the span, at most 5 minutes, is left out, so interpreter start-up and
  imports do not read as growth. If that would leave fewer than 10 points, nothing is left out.
- More points than `max_points` are reduced to `max_points` equal-count bins (median time, median
  RSS per bin) before fitting; the method says so.
- The slope is Theil-Sen (the median of pairwise slopes), with its 95 % interval from
  scipy.stats.theilslopes: a few outliers or a GC spike cannot move it, unlike least squares.
- Sawtooth: two or more sharp drops (a cleanup freeing memory) split the series into cycles; the fit is then
  on the envelope: each cycle's trough, and each complete cycle's peak lowered by the median tooth
  height, so a rising series of teeth is growth and a flat one is not.
- Step: one sharp rise and no drop (a cache filled once) is taken out before fitting, so a single
  allocation does not read as a steady leak.
- Plateau: growth in the first third that has all but stopped in the last third (late slope below
  a quarter of the early one and below the CI of steady growth) is a plateau; the slope given is
  the late one, the rate at which it grows now.
- Fewer than 10 points to fit: shape "too_few", and the verdict is INCONCLUSIVE.
"""

import itertools
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.ndimage import median_filter
from scipy.stats import theilslopes

MIN_FIT_POINTS = 10
MAX_WARMUP_S = 300.0
WARMUP_FRACTION = 0.10
# A jump counts as sharp when it stands this many robust sigmas off the typical step and is a
# visible share of the whole range.
JUMP_SIGMAS = 8.0
JUMP_RANGE_SHARE = 0.15
# Below a mebibyte a "drop" is allocator noise (a gc.collect returning a few pages), not a tooth.
JUMP_MIN_BYTES = 2**20


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
    late_slope_bytes_per_min: float

    def to_dict(self) -> dict:
        return asdict(self)


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
    # Equal-count bins: medians per bin, computed with reduceat-free sorting for speed.
    width = edges[1:] - edges[:-1]
    bt = np.add.reduceat(t, edges[:-1]) / width
    by = np.array([np.median(y[a:b]) for a, b in itertools.pairwise(edges)])
    return bt, by


def _theil(t_min: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(slope, intercept, ci_low, ci_high) per minute; t_min already relative."""
    if len(t_min) < 2 or np.ptp(t_min) == 0:
        return 0.0, float(np.median(y)) if len(y) else 0.0, -np.inf, np.inf
    slope, intercept, low, high = theilslopes(y, t_min, alpha=0.95)
    return float(slope), float(intercept), float(low), float(high)


def _jumps(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices i where y[i+1] - y[i] is a sharp rise, and where it is a sharp drop."""
    if len(y) < 4:
        return np.array([], int), np.array([], int)
    # A median of three first, so a lone spike (a GC pause, a page-in) is not a jump.
    smooth = median_filter(y, size=3, mode="nearest")
    diffs = np.diff(smooth)
    centre = np.median(diffs)
    sigma = 1.4826 * np.median(np.abs(diffs - centre))
    span = np.ptp(smooth)
    threshold = max(JUMP_SIGMAS * sigma, JUMP_RANGE_SHARE * span, JUMP_MIN_BYTES)
    rises = np.flatnonzero(diffs - centre > threshold)
    drops = np.flatnonzero(centre - diffs > threshold)
    return rises, drops


def _envelope(t_min: np.ndarray, y: np.ndarray, drops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Troughs and peaks of the teeth, the peaks lowered by the median tooth height.

    The first cycle may start mid-tooth (warm-up cut it), so its trough is not one; the last has
    not reached its peak yet, so its peak is not one.
    """
    bounds = [0, *(drops + 1).tolist(), len(y)]
    cycles = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    troughs = [(t_min[a + np.argmin(y[a:b])], float(np.min(y[a:b]))) for a, b in cycles[1:]]
    peaks = [(t_min[a + np.argmax(y[a:b])], float(np.max(y[a:b]))) for a, b in cycles[:-1]]
    # Tooth i's height: its peak over the trough that follows the drop after it.
    heights = [peak[1] - trough[1] for peak, trough in zip(peaks, troughs, strict=False)]
    lift = float(np.median(heights)) if heights else 0.0
    points = sorted(troughs + [(tp, yp - lift) for tp, yp in peaks])
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def fit_growth(
    t_s: ArrayLike, rss_bytes: ArrayLike, *, warmup_s: float | None = None, max_points: int = 1000
) -> Growth:
    """Fit RSS against time (seconds); slopes are in bytes per minute."""
    t, y = _clean(t_s, rss_bytes)
    n_samples = len(t)
    if n_samples == 0:
        return Growth(0.0, -np.inf, np.inf, 0.0, "too_few", 0, 0, 0.0, "no samples", 0.0)
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
        f"Theil-Sen on {len(t_fit):,}"
        + (f" median bins of {after.sum():,}" if binned else "")
        + f" samples after {warmup_s:.0f} s warm-up"
    )
    if len(t_fit) < MIN_FIT_POINTS:
        slope, intercept, low, high = _theil(t_min, y_fit)
        return Growth(
            slope,
            -np.inf,
            np.inf,
            intercept,
            "too_few",
            n_samples,
            len(t_fit),
            warmup_s,
            method + f"; fewer than {MIN_FIT_POINTS} points, no verdict",
            slope,
        )
    rises, drops = _jumps(y_fit)
    shape = "linear"
    fit_t, fit_y = t_min, y_fit
    # Two drops make three cycles, the fewest an envelope can be fitted on; a lone drop is left
    # to the robust fit, which one jump cannot move far.
    if len(drops) >= 2:
        shape = "sawtooth"
        fit_t, fit_y = _envelope(t_min, y_fit, drops)
        method += f"; sawtooth of {len(drops) + 1} cycles judged on its envelope ({len(fit_t)} points)"
    elif len(rises) == 1:
        shape = "step"
        jump = y_fit[rises[0] + 1] - y_fit[rises[0]] - np.median(np.diff(y_fit))
        fit_y = y_fit.copy()
        fit_y[rises[0] + 1 :] -= jump
        method += f"; one step of {jump / 1e6:.3g} MB at {t_min[rises[0] + 1]:.1f} min taken out"
    slope, intercept, low, high = _theil(fit_t, fit_y)
    third = max(len(t_min) // 3, 3)
    early = _theil(t_min[:third], y_fit[:third])
    late = _theil(t_min[-third:], y_fit[-third:])
    late_slope = late[0]
    # A plateau must have grown clearly early on and clearly slower late, not merely by noise.
    clearly_grew = early[2] > 0
    clearly_slowed = late[3] < early[2] and late_slope < 0.25 * early[0]
    if shape == "linear" and clearly_grew and clearly_slowed:
        shape = "plateau"
        slope, low, high = late_slope, late[2], late[3]
        intercept = late[1]
        method += "; growth flattens: slope and interval from the last third"
    elif shape != "linear" and len(fit_t) < 3:
        low, high = -np.inf, np.inf
    return Growth(slope, low, high, intercept, shape, n_samples, len(fit_t), warmup_s, method, late_slope)
