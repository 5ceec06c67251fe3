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

import time
import tracemalloc
from typing import Any


class Probe:
    def __init__(self, *, tracemalloc_frames: int = 0, top_types: int = 40, top_lines: int = 30) -> None:
        self.top_types = top_types
        self.top_lines = top_lines
        self.tracemalloc_frames = tracemalloc_frames
        if tracemalloc_frames > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(tracemalloc_frames)

    def _types(self) -> tuple[int, int, list[dict[str, Any]]]:
        from pympler import muppy, summary

        objects = muppy.get_objects()
        try:
            rows = summary.summarize(objects)
            count = len(objects)
        finally:
            del objects  # the list holds every live object: never let it outlive the probe
        heap_bytes = sum(size for _, _, size in rows)
        rows.sort(key=lambda row: row[2], reverse=True)
        types = [{"type": name, "count": n, "size_bytes": size} for name, n, size in rows[: self.top_types]]
        return count, heap_bytes, types

    def _tracemalloc(self) -> dict[str, Any] | None:
        if not tracemalloc.is_tracing():
            return None
        snapshot = tracemalloc.take_snapshot()
        traced_bytes, peak_bytes = tracemalloc.get_traced_memory()
        stats = snapshot.statistics("traceback" if self.tracemalloc_frames > 1 else "lineno")
        lines = []
        for stat in stats[: self.top_lines]:
            frame = stat.traceback[0]
            lines.append(
                {
                    "where": f"{frame.filename}:{frame.lineno}",
                    "size_bytes": stat.size,
                    "count": stat.count,
                    "traceback": [f"{f.filename}:{f.lineno}" for f in stat.traceback],
                }
            )
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
