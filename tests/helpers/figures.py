"""What a written PNG shows, read back as pixels: its panels and the ink inside them."""

from pathlib import Path

import numpy as np
from matplotlib import image
from matplotlib.figure import Figure

from leakhunt.report.plots import FIGURE_DPI


def pixels(path: Path) -> np.ndarray:
    """The PNG as an (height, width, 3) array of 0..1."""
    return image.imread(path)[..., :3]


def count_panels(path: Path, min_width_share: float = 0.12) -> int:
    """Axes frames in the PNG: each draws a dark top and bottom spine, so a panel is two long
    horizontal runs of near-black pixels at one x extent. In comparison.png and worst.png curves
    are coloured or dark grey, grid lines light, legends frameless: none is a long near-black run
    (memory.png's black limit line is one, so its count is one too many)."""
    dark = (pixels(path) < 0.12).all(axis=2)
    height, width = dark.shape
    segments: set[tuple[int, int, int]] = set()
    previous: set[tuple[int, int]] = set()
    for row in range(height):
        line = np.r_[False, dark[row], False].astype(int)
        edges = np.flatnonzero(np.diff(line))
        runs = {
            (start // 4, end // 4)
            for start, end in zip(edges[::2], edges[1::2], strict=True)
            if end - start >= min_width_share * width
        }
        # A spine 1-2 px thick is one segment: count it on its first row only.
        segments |= {(row, *extent) for extent in runs if extent not in previous}
        previous = runs
    return len(segments) // 2


def inside(path: Path, fig: Figure, ax: object) -> np.ndarray:
    """The pixels inside `ax`'s frame (spines left out) in the PNG written from `fig` (whose
    writing laid the axes out: positions are read as they were drawn)."""
    box = ax.get_window_extent()
    scale = FIGURE_DPI / fig.dpi
    picture = pixels(path)
    height = picture.shape[0]
    x0, x1 = int(box.x0 * scale) + 3, int(box.x1 * scale) - 3
    y0, y1 = height - int(box.y1 * scale) + 3, height - int(box.y0 * scale) - 3
    return picture[y0:y1, x0:x1]


def ink_share(path: Path, fig: Figure, ax: object) -> float:
    """The share of non-white pixels inside `ax`'s frame."""
    return float((inside(path, fig, ax).mean(axis=2) < 0.95).mean())


def colour_share(path: Path, fig: Figure, ax: object, colour: str, tolerance: float = 0.08) -> float:
    """The share of pixels inside `ax`'s frame within `tolerance` of `colour` (#rrggbb)."""
    target = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return float((np.abs(inside(path, fig, ax) - target).max(axis=2) < tolerance).mean())
