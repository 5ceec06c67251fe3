"""Inside the target: pympler type summaries and optional tracemalloc snapshots, timed.

What is counted: every object pympler's `muppy.get_objects()` reaches (the GC's tracked objects
and their direct referents), sized with `sys.getsizeof`. A NumPy array that owns its buffer
reports the buffer in its size, so DataFrame data is seen through its arrays. Missed: objects no
tracked container refers to, and memory outside Python objects (native buffers, allocator
retention) — `py_heap_bytes` is therefore a lower bound, and RSS minus it is the "not Python
objects" gap. pandas containers report their whole data in `__sizeof__`; the arrays inside their
blocks are not reached by get_objects (measured: a growing DataFrame cache shows as DataFrame
bytes, not ndarray bytes), so counting both overstates little and is how the buffers are seen.

The probe never calls gc.collect(): collecting would change the very thing being measured.
"""

import sys
import sysconfig
import time
import tracemalloc
from collections import Counter
from typing import Any

_LIBRARY_PATHS = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], "site-packages"})


def _own_frame(traceback: tracemalloc.Traceback) -> tracemalloc.Frame:
    """The innermost frame in the user's own code: `concat.py:679` tells nobody which cache grows."""
    frames = list(traceback)  # oldest first, innermost last
    for frame in reversed(frames):
        if not any(part in frame.filename for part in _LIBRARY_PATHS):
            return frame
    return frames[-1]


def _type_name(kind: type) -> str:
    """pympler's naming: builtins bare, the rest `module.QualName` (pandas.DataFrame)."""
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class Probe:
    def __init__(self, *, tracemalloc_frames: int = 0, top_types: int = 40, top_lines: int = 30) -> None:
        self.top_types = top_types
        self.top_lines = top_lines
        self.tracemalloc_frames = tracemalloc_frames
        if tracemalloc_frames > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(tracemalloc_frames)

    def _types(self) -> tuple[int, int, list[dict[str, Any]]]:
        from pympler import muppy

        # pympler finds the objects; the tally is ours: summary.summarize() builds a row per
        # object and costs several times more (measured 8 s against ~1 s with 1.2e5 objects
        # under tracemalloc), for the same sys.getsizeof sums.
        sizes: Counter[type] = Counter()
        counts: Counter[type] = Counter()
        objects = muppy.get_objects()
        try:
            for obj in objects:
                kind = type(obj)
                counts[kind] += 1
                sizes[kind] += sys.getsizeof(obj, 0)
            count = len(objects)
        finally:
            del objects  # the list holds every live object: never let it outlive the probe
        heap_bytes = sum(sizes.values())
        types = [
            {"type": _type_name(kind), "count": counts[kind], "size_bytes": size}
            for kind, size in sizes.most_common(self.top_types)
        ]
        return count, heap_bytes, types

    def _tracemalloc(self) -> dict[str, Any] | None:
        if not tracemalloc.is_tracing():
            return None
        snapshot = tracemalloc.take_snapshot()
        traced_bytes, peak_bytes = tracemalloc.get_traced_memory()
        stats = snapshot.statistics("traceback" if self.tracemalloc_frames > 1 else "lineno")
        # Several tracebacks end in the same line of the user's code: one row per such line, with
        # the traceback of its largest share.
        by_line: dict[str, dict[str, Any]] = {}
        for stat in stats:
            frame = _own_frame(stat.traceback)
            where = f"{frame.filename}:{frame.lineno}"
            row = by_line.setdefault(where, {"where": where, "size_bytes": 0, "count": 0, "largest": 0})
            row["size_bytes"] += stat.size
            row["count"] += stat.count
            if stat.size > row["largest"]:
                row["largest"] = stat.size
                row["traceback"] = [f"{f.filename}:{f.lineno}" for f in stat.traceback]
        lines = sorted(by_line.values(), key=lambda row: row["size_bytes"], reverse=True)[: self.top_lines]
        for row in lines:
            del row["largest"]
        return {"traced_bytes": traced_bytes, "peak_bytes": peak_bytes, "lines": lines}

    def take(self, *, t_sim_s: float, t_wall_s: float) -> dict[str, Any]:
        """One summary, JSON-able; `probe_s` is the whole pause the target saw."""
        started = time.perf_counter()
        count, heap_bytes, types = self._types()
        traced = self._tracemalloc()
        return {
            "kind": "pympler",
            "t_sim_s": t_sim_s,
            "t_wall_s": t_wall_s,
            "objects": count,
            "py_heap_bytes": heap_bytes,
            "types": types,
            "tracemalloc": traced,
            "probe_s": time.perf_counter() - started,
        }
