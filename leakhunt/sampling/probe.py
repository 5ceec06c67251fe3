"""Inside the target: a census of live Python objects by type, optional tracemalloc lines, timed.

What is counted, each byte once:
- every object the GC tracks (`gc.get_objects()`), and every untracked object reachable from them
  through untracked containers (a dict of floats is untracked, and so are its floats: pympler's
  `muppy.get_objects()` and objgraph miss them, we follow them), sized with `sys.getsizeof`;
- NumPy buffers: an array is counted at its shell size, and the buffer behind it (found through
  `.base`, so a view whose owner nothing else references still counts) once, with its `nbytes`;
- pandas DataFrame/Series/Index: at pandas' own deep size (`memory_usage(deep=True)`, index
  included), which also sees object-column strings, Arrow buffers and index hash tables that no
  walk can reach; the arrays and the row index inside them are then not counted again.

- the locals of running functions (the frames themselves are not counted).

What is not counted: memory that is not a Python object (native allocations of C extensions,
glibc arenas holding freed memory: RSS minus `py_heap_bytes` is that gap), untracked objects
that only other untracked objects without a traversal refer to (elements of object-dtype
ndarrays outside pandas), and the
physical rest of a buffer a pandas view keeps alive (pandas reports the view's logical size).
Two pandas objects sharing one buffer each count it, so `py_heap_bytes` can overstate there.

The probe never calls `gc.collect()`: collecting would change the very thing being measured
(pympler's `muppy.get_objects()` does collect, which is why the walk here is our own).
It keeps nothing: the object list is released before `take()` returns.
"""

import gc
import sys
import sysconfig
import time
import tracemalloc
from collections import Counter
from types import FrameType
from typing import Any

_LIBRARY_PATHS = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], "site-packages"})
# How far below a pandas object its own arrays may sit (DataFrame -> BlockManager -> tuple ->
# Block -> ExtensionArray -> ndarray is five); deeper objects are not the frame's data.
_PANDAS_DEPTH = 6


def _own_frame(traceback: tracemalloc.Traceback) -> tracemalloc.Frame:
    """The innermost frame in the user's own code: `concat.py:679` tells nobody which cache grows."""
    frames = list(traceback)  # oldest first, innermost last
    for frame in reversed(frames):
        if not any(part in frame.filename for part in _LIBRARY_PATHS):
            return frame
    return frames[-1]


def _type_name(kind: type) -> str:
    """builtins bare, the rest `module.QualName` (pandas.DataFrame, numpy.ndarray)."""
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _stack_frames() -> list[FrameType]:
    """The frames of every thread's running functions, outermost included."""
    frames = []
    for frame in sys._current_frames().values():
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
    return frames


def _live_objects() -> list[Any]:
    """Tracked objects plus the untracked ones reachable from them or from running frames.

    Frames are not counted themselves, but their locals are followed (a local ndarray or bytes is
    untracked and nothing else may refer to it); the probe's own frames are skipped.
    """
    objects, frames = [], _stack_frames()
    for obj in gc.get_objects():
        if type(obj) is FrameType:
            frames.append(obj)
        else:
            objects.append(obj)
    seen: set[int] = set()
    roots = [frame for frame in frames if frame.f_globals is not globals()]
    del frames
    # The list grows while it is read: each untracked object found is expanded in turn. Tracked
    # referents are skipped: gc.get_objects() already returned each of them exactly once.
    for source in (roots, objects):
        for obj in source:
            for ref in gc.get_referents(obj):
                if not gc.is_tracked(ref) and id(ref) not in seen and type(ref) is not FrameType:
                    seen.add(id(ref))
                    objects.append(ref)
    return objects


def _root(array: Any, ndarray: type) -> Any:
    """The array that owns the buffer behind `array` (itself when it owns its data)."""
    while isinstance(array.base, ndarray):
        array = array.base
    return array


def _size(obj: Any) -> int:
    try:
        return sys.getsizeof(obj, 0)
    except Exception:  # a user's __sizeof__ that raises must not take the probe down
        return object.__sizeof__(obj)


class _Census:
    """Counts and sizes per type over one object list; see the module docstring for the rules."""

    def __init__(self) -> None:
        numpy, pandas = sys.modules.get("numpy"), sys.modules.get("pandas")
        # Neither is imported by the probe: a target that does not use them pays nothing.
        self.ndarray = getattr(numpy, "ndarray", None)
        self.frames = (pandas.DataFrame, pandas.Series) if hasattr(pandas, "DataFrame") else ()
        self.pandas = (*self.frames, pandas.Index) if self.frames else ()
        self.counts: Counter[type] = Counter()
        self.sizes: Counter[type] = Counter()
        self.claimed_buffers: set[int] = set()  # roots counted by a pandas object or already
        self.inner_indexes: set[int] = set()  # row indexes counted by their frame

    def claim_pandas(self, objects: list[Any]) -> None:
        for obj in objects:
            if self.pandas and isinstance(obj, self.pandas):
                self._claim_arrays(obj)
                if isinstance(obj, self.frames):
                    index = obj.index
                    self.inner_indexes.add(id(index))
                    self._claim_arrays(index)

    def _claim_arrays(self, owner: Any) -> None:
        stack, visited = [(owner, 0)], {id(owner)}
        while stack:
            obj, depth = stack.pop()
            for ref in gc.get_referents(obj):
                if id(ref) in visited:
                    continue
                visited.add(id(ref))
                if self.ndarray is not None and isinstance(ref, self.ndarray):
                    self.claimed_buffers.add(id(_root(ref, self.ndarray)))
                elif depth < _PANDAS_DEPTH and not isinstance(ref, self.pandas):
                    kind = type(ref)
                    if kind in (dict, list, tuple) or kind.__module__.startswith("pandas"):
                        stack.append((ref, depth + 1))

    def add(self, obj: Any) -> None:
        kind = type(obj)
        self.counts[kind] += 1
        if self.ndarray is not None and isinstance(obj, self.ndarray):
            owned = obj.nbytes if obj.flags.owndata else 0
            size = _size(obj) - owned  # the shell; the buffer is counted once, below
            root = _root(obj, self.ndarray)
            if id(root) not in self.claimed_buffers:
                self.claimed_buffers.add(id(root))
                size += root.nbytes
        elif self.pandas and isinstance(obj, self.pandas):
            size = object.__sizeof__(obj) if id(obj) in self.inner_indexes else _size(obj)
        else:
            size = _size(obj)
        self.sizes[kind] += size


class Probe:
    def __init__(self, *, tracemalloc_frames: int = 0, top_types: int = 40, top_lines: int = 30) -> None:
        """`tracemalloc_frames` > 0 starts tracemalloc with that many frames per traceback."""
        self.top_types = top_types
        self.top_lines = top_lines
        self.tracemalloc_frames = tracemalloc_frames
        if tracemalloc_frames > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(tracemalloc_frames)

    def _types(self) -> tuple[int, int, list[dict[str, Any]]]:
        census = _Census()
        objects = _live_objects()
        try:
            census.claim_pandas(objects)
            for obj in objects:
                census.add(obj)
            count = len(objects)
        finally:
            del objects  # the list holds every live object: never let it outlive the probe
        types = [
            {"type": _type_name(kind), "count": census.counts[kind], "size_bytes": size}
            for kind, size in census.sizes.most_common(self.top_types)
        ]
        return count, sum(census.sizes.values()), types

    def _tracemalloc(self) -> dict[str, Any] | None:
        if not tracemalloc.is_tracing():
            return None
        traced_bytes, peak_bytes = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
        )
        frames = tracemalloc.get_traceback_limit()
        stats = snapshot.statistics("traceback" if frames > 1 else "lineno")
        # Several tracebacks end in the same line of the user's code: one row per such line, with
        # the traceback of its largest share.
        by_line: dict[str, dict[str, Any]] = {}
        for stat in stats:
            frame = _own_frame(stat.traceback)
            where = f"{frame.filename}:{frame.lineno}"
            row = by_line.setdefault(where, {"where": where, "size_bytes": 0, "count": 0, "largest": -1})
            row["size_bytes"] += stat.size
            row["count"] += stat.count
            if stat.size > row["largest"]:
                row["largest"] = stat.size
                row["traceback"] = [f"{f.filename}:{f.lineno}" for f in stat.traceback]
        del snapshot, stats
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
