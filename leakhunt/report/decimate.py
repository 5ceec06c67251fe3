"""Long curves drawn at the resolution they are seen: per pixel column, the lowest and the highest
value, so an 8-hour run at 10 Hz (288,000 samples) draws as fast as a short one and still shows
every spike and every drop. A plain every-n-th-point thinning would hide them."""

import numpy as np

# A little more than the figures' width in pixels (9 in at 110 dpi).
COLUMNS = 1200


def min_max_envelope(x: np.ndarray, y: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """At most two points per column, its minimum then its maximum, at the column's mean x;
    short curves are returned as they are."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= 2 * columns or x[-1] <= x[0]:
        return x, y
    column = np.minimum(((x - x[0]) / (x[-1] - x[0]) * columns).astype(int), columns - 1)
    starts = np.flatnonzero(np.r_[True, np.diff(column) != 0])
    counts = np.diff(np.r_[starts, len(x)])
    centre = np.add.reduceat(x, starts) / counts
    low = np.fmin.reduceat(y, starts)
    high = np.fmax.reduceat(y, starts)
    return np.repeat(centre, 2), np.column_stack([low, high]).ravel()
