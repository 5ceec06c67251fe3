"""The heap walk: every live Python object counted by type, and who holds the most, by path.

Runs in whichever process is measured; the probe (probe.py) runs it in a forked child, so
everything allocated here dies with the child. It therefore uses gc and sys only: no logging, no
imports, no lock another thread could hold at fork time (pympler would import numpy and take the
import machinery's module locks).

What is counted (`count_objects`):
- every object the GC tracks (`gc.get_objects()`), and everything reachable from them that it
  does not track (dicts of atomics, floats, str, ints: pympler's one level of referents misses a
  dict's floats), each object once;
- a NumPy array that does not own its data is followed to its `.base`, so a buffer held only
  through a view is counted once, at the owner's `sys.getsizeof` (which includes the buffer);
- pandas containers are sized deep (`__sizeof__` is `memory_usage(deep=True)`), and the arrays
  and indexes under them are not counted again;
- a `__sizeof__` written in Python is called only for pandas: user code could take a lock.

Who holds it (`find_holders`): a breadth-first search from module globals and the frames of the
measured thread(s), so each object gets its shortest readable path
(`__main__.Session.registry`, `leakhunt.workload.target.run:manager.data_cache['BTC']`). An
object's held bytes are those of the objects first reached through it (its subtree in the search
tree: retained size for tree-shaped data, an approximation where objects are shared). The search
visits at most MAX_VISITED objects and says when that bound was hit. The containers that hold
the most (dict, list, deque, set, DataFrame ...) are returned with their element count and held
bytes; the analysis compares them across snapshots to name the accumulation point.

Past the bound (a heap of tens of millions of objects), `sampled_holders` works upwards instead:
from an even sample of the largest types' objects to the container holding most of them, then
referrer by referrer to a module or frame for its path, its bytes estimated from a spread of its
items. Its memory grows with the sample, not the heap. With the search complete, what it did not
reach among the objects the GC lists is tallied (`unreached`): Python objects nothing holds.
"""

import gc
import sys
import time
import types
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_VISITED = 2_000_000
TOP_TYPES = 40
TOP_HOLDERS = 200
TOP_UNREACHED = 10
MIN_HOLDER_BYTES = 16_384
_CHUNK = 4096
_MISSING = object()

_ATOMIC = (str, bytes, int, float, complex, bool, type(None), range, types.CodeType)
_SEQUENCES = (list, tuple, deque)
_SETS = (set, frozenset)
# Containers a leak accumulates in: they can grow in place.
_HOLDER_TYPES = (dict, list, deque, set, bytearray)

# Edge kinds of the search tree; a path is rebuilt from them only for the holders reported.
_ROOT_MODULE, _ROOT_FRAME, _ATTR, _KEY, _KEYOBJ, _INDEX, _MEMBER, _CELL, _LOCAL, _REF = range(10)


def type_name(kind: type) -> str:
    """pympler's naming: builtins bare, the rest `module.QualName` (pandas.DataFrame)."""
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _module_of(kind: type) -> str:
    module = kind.__module__
    return module if isinstance(module, str) else ""


class _Sizer:
    """sys.getsizeof, chosen once per type: deep for pandas, never user Python code elsewhere."""

    def __init__(self) -> None:
        self._by_type: dict[type, Any] = {}
        pandas = sys.modules.get("pandas")
        self.pandas_base = getattr(getattr(getattr(pandas, "core", None), "base", None), "PandasObject", None)
        numpy = sys.modules.get("numpy")
        self.ndarray = getattr(numpy, "ndarray", None)

        self._pandas: dict[type, bool] = {}

    def is_pandas(self, kind: type) -> bool:
        answer = self._pandas.get(kind)
        if answer is None:
            answer = self._pandas[kind] = self.pandas_base is not None and issubclass(kind, self.pandas_base)
        return answer

    def of(self, kind: type) -> Any:
        sizer = self._by_type.get(kind)
        if sizer is None:
            python_level = isinstance(getattr(kind, "__sizeof__", None), types.FunctionType)
            # A C-level __sizeof__ cannot run user code or fail; a Python-level one is called only
            # for pandas (deep sizes), behind a guard.
            sizer = _object_size if python_level else sys.getsizeof
            if self.is_pandas(kind):
                sizer = _getsizeof
            self._by_type[kind] = sizer
        return sizer


def _getsizeof(obj: Any) -> int:
    try:
        return sys.getsizeof(obj, 0)
    except Exception:  # a broken __sizeof__ (pandas on a half-built frame) must not end the walk
        return _object_size(obj)


def _object_size(obj: Any) -> int:
    try:
        return object.__sizeof__(obj)
    except Exception:  # an object whose C layout object.__sizeof__ cannot read: count its header
        return 16


def _frame_chain(frames: list[tuple[str, types.FrameType]]) -> list[types.FrameType]:
    chain = []
    for _, frame in frames:
        current: types.FrameType | None = frame
        while current is not None:
            chain.append(current)
            current = current.f_back
    return chain


def _all_objects(
    sizer: _Sizer, frames: list[tuple[str, types.FrameType]], over_budget: Callable[[], bool] | None = None
) -> tuple[list[Any], int]:
    """Tracked objects, plus everything untracked reachable from them or from the frames (a
    running function's locals are on the interpreter's stack, where gc.get_objects does not
    look), each once; and how many of them gc.get_objects() did not list."""
    tracked = gc.get_objects()
    seen = set(map(id, tracked))
    seen.add(id(tracked))
    found = [obj for obj in tracked if obj is not tracked]
    for frame in _frame_chain(frames):
        # A running frame does not show its locals to gc.get_referents; f_locals does.
        for obj in [frame, *frame.f_locals.values()]:
            if id(obj) not in seen:
                seen.add(id(obj))
                found.append(obj)
    frontier = found
    ndarray = sizer.ndarray
    while frontier:
        new = []
        if ndarray is not None:
            # Arrays do not report their referents: follow a view to the array that owns the buffer.
            for obj in frontier:
                if type(obj) is ndarray and obj.base is not None and id(obj.base) not in seen:
                    seen.add(id(obj.base))
                    new.append(obj.base)
        for start in range(0, len(frontier), _CHUNK):
            if over_budget is not None and start % BUDGET_EVERY == 0 and over_budget():
                raise OverBudget(f"{len(found):,} objects listed")
            for ref in gc.get_referents(*frontier[start : start + _CHUNK]):
                key = id(ref)
                if key not in seen:
                    seen.add(key)
                    new.append(ref)
        found.extend(new)
        frontier = new
    return found, len(found) - len(tracked) + 1


def _covered_by_pandas(objects: list[Any], sizer: _Sizer) -> set[int]:
    """Ids of the arrays, indexes and inner Series a pandas container's deep size includes."""
    covered: set[int] = set()
    if sizer.pandas_base is None:
        return covered
    is_pandas = sizer.is_pandas
    for top in [obj for obj in objects if is_pandas(type(obj))]:
        if id(top) in covered:
            continue  # inside a frame already walked
        stack = [top]
        while stack:
            for ref in gc.get_referents(stack.pop()):
                key, kind = id(ref), type(ref)
                if key in covered:
                    continue
                if _module_of(kind).startswith(("pandas", "numpy")) or kind in (tuple, list, dict):
                    covered.add(key)
                    stack.append(ref)
                if kind is sizer.ndarray and ref.base is not None:
                    covered.add(id(ref.base))
        covered.discard(id(top))  # a cycle back to itself does not make it its own content
    return covered


def count_objects(
    frames: list[tuple[str, types.FrameType]] | None = None,
    top_types: int = TOP_TYPES,
    sample_types: int = 0,
    before: dict[str, int] | None = None,
    over_budget: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Every live object by type: objects, py_heap_bytes and the largest types first; with
    `sample_types`, "_sample" holds an even spread of the objects of that many types (for
    sampled_holders: not JSON, the caller pops it): those that grew most since `before` (bytes by
    type name, the previous count's), then the largest."""
    started = time.perf_counter()
    sizer = _Sizer()
    objects, untracked = _all_objects(sizer, frames or [], over_budget)
    covered = _covered_by_pandas(objects, sizer)
    sizes: dict[type, int] = {}
    counts: dict[type, int] = {}
    sizers: dict[type, Any] = {}
    for obj in objects:
        kind = type(obj)
        size_of = sizers.get(kind)
        if size_of is None:
            size_of = sizers[kind] = sizer.of(kind)
        if covered and id(obj) in covered:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        sizes[kind] = sizes.get(kind, 0) + size_of(obj)
    ranked = sorted(sizes.items(), key=lambda item: item[1], reverse=True)
    sample = (
        _sample(objects, _to_sample(ranked, before or {}, sample_types), counts) if sample_types else None
    )
    return {
        **({"_sample": sample} if sample is not None else {}),
        "objects": sum(counts.values()),
        "untracked_objects": untracked,
        "py_heap_bytes": sum(sizes.values()),
        "types": [
            {"type": type_name(kind), "count": counts[kind], "size_bytes": size}
            for kind, size in ranked[:top_types]
        ],
        "count_s": time.perf_counter() - started,
    }


def _to_sample(ranked: list[tuple[type, int]], before: dict[str, int], n: int) -> list[type]:
    """The kinds that grew most since the previous count, then the largest, n in all."""
    grown = sorted(
        ((size - before.get(type_name(kind), 0), kind) for kind, size in ranked if before),
        key=lambda item: item[0],
        reverse=True,
    )
    kinds = [kind for delta, kind in grown[:n] if delta > 0]
    kinds += [kind for kind, _ in ranked if kind not in kinds][: n - len(kinds)]
    return kinds


def _sample(objects: list[Any], kinds: list[type], counts: dict[type, int]) -> dict[str, Any]:
    """Every k-th object of each kind, so the spread covers old and young objects alike."""
    strides = {kind: max(1, counts[kind] // SAMPLE_PER_TYPE) for kind in kinds}
    seen = dict.fromkeys(kinds, 0)
    picked: dict[type, list[Any]] = {kind: [] for kind in kinds}
    for obj in objects:
        kind = type(obj)
        if kind in strides:
            seen[kind] += 1
            if seen[kind] % strides[kind] == 0 and len(picked[kind]) < SAMPLE_PER_TYPE:
                picked[kind].append(obj)
    # The collector stops tracking a dict of atomics (a registry of tuples of str and int), and
    # gc.get_referrers sees only tracked objects: large ones are kept as candidates too.
    untracked = [
        obj
        for obj in objects
        if type(obj) is dict and len(obj) >= UNTRACKED_MIN_LEN and not gc.is_tracked(obj)
    ]
    return {"by_type": {type_name(kind): rows for kind, rows in picked.items()}, "untracked": untracked}


class OverBudget(Exception):
    """The process doing the count has used the memory it was allowed: stop counting."""


# Objects between two looks at the memory budget: a look reads /proc/self/smaps_rollup.
BUDGET_EVERY = 65_536


# What the search does with an object, by its type: follow it, count it into its holder, skip it
# (a module: a root of its own), or look where it is defined (a class).
_NODE, _LEAF, _MODULE, _CLASS, _PROXY = range(5)
# A weak proxy holds nothing, and every look at a dead one (isinstance, its size) raises
# ReferenceError: the search passes it by.
_PROXIES = tuple(weakref.ProxyTypes)


def _role_of(cls: type) -> int:
    if issubclass(cls, _PROXIES):
        return _PROXY
    if issubclass(cls, types.ModuleType):
        return _MODULE
    if issubclass(cls, type):
        return _CLASS
    return _LEAF if issubclass(cls, _ATOMIC) else _NODE


class _Search:
    """Breadth-first search from the roots, keeping each object's parent and the edge to it."""

    def __init__(
        self, sizer: _Sizer, max_visited: int, over_budget: Callable[[], bool] | None = None
    ) -> None:
        self.sizer = sizer
        self.max_visited = max_visited
        self.over_budget = over_budget
        self.budget_hit = False
        # The next count at which to stop and look: the bound, or the next look at the budget.
        self._stop_at = min(max_visited, BUDGET_EVERY) if over_budget else max_visited
        self.objects: list[Any] = []
        self.parent: list[int] = []
        self.edge_kind: list[int] = []
        self.edge_key: list[Any] = []
        self.size: list[int] = []
        self.index: dict[int, int] = {}
        self.leaves = 0
        self.bound_hit = False
        self._named: dict[type, bool] = {}
        self._roles: dict[type, int] = {}
        self._size_of: dict[type, Any] = {}

    def visited(self) -> int:
        return len(self.objects) + self.leaves

    def add(self, obj: Any, parent: int, kind: int, key: Any) -> None:
        oid = id(obj)
        if oid in self.index:
            return
        cls = type(obj)
        # Chosen once per type: a heap has a few thousand types and hundreds of thousands of objects.
        role = self._roles.get(cls)
        if role is None:
            role = self._roles[cls] = _role_of(cls)
        if role in (_MODULE, _PROXY):
            return  # modules are roots of their own; a proxy holds nothing
        if role == _CLASS and not self._defined_here(obj, parent):
            return  # a class is held where it is defined, not where it was imported
        if len(self.objects) + self.leaves >= self._stop_at and self._at_stop():
            return
        size_of = self._size_of.get(cls)
        if size_of is None:
            size_of = self._size_of[cls] = self.sizer.of(cls)
        size = size_of(obj)
        if role == _LEAF:
            # Leaves are counted into the first container that holds them.
            self.index[oid] = -1
            self.leaves += 1
            self.size[parent] += size
            return
        self.index[oid] = len(self.objects)
        self.objects.append(obj)
        self.parent.append(parent)
        self.edge_kind.append(kind)
        self.edge_key.append(key)
        self.size.append(size)

    def _at_stop(self) -> bool:
        """At the bound or over the memory budget: stop (True); else the next look is set."""
        visited = self.visited()
        if visited >= self.max_visited or self.budget_hit:
            self.bound_hit = True
            return True
        if self.over_budget is not None and self.over_budget():
            self.bound_hit = self.budget_hit = True
            return True
        self._stop_at = min(self.max_visited, visited + BUDGET_EVERY)
        return False

    def _defined_here(self, cls: type, parent: int) -> bool:
        if self.edge_kind[parent] == _ROOT_MODULE and cls.__module__ == self.edge_key[parent]:
            return True
        # A class its module does not name (made in a function, one per request) is held where
        # it is found: skipping it would hide everything under it.
        named = self._named.get(cls)
        if named is None:
            named = self._named[cls] = _named_by_its_module(cls)
        return not named

    def reachable_bytes(self) -> int:
        return sum(self.size)

    def absorb(self, container: Any, owner: int) -> None:
        """An instance's or class's own __dict__ is part of it, not a holder of its own."""
        oid = id(container)
        if oid not in self.index:
            self.index[oid] = -1
            self.leaves += 1
            self.size[owner] += _getsizeof(container)

    def expand(self, i: int, snapshot: bool = False) -> None:
        """Add what object i holds; with `snapshot`, from a copy of its contents (for a container
        that changed while it was walked: a __sizeof__ or a property runs code)."""
        obj = self.objects[i]
        kind = type(obj)
        sizer = self.sizer
        if isinstance(obj, dict):
            for key, value in list(obj.items()) if snapshot else obj.items():
                self.add(value, i, _KEY, key)
                if not isinstance(key, _ATOMIC):
                    self.add(key, i, _KEYOBJ, None)
        elif isinstance(obj, _SEQUENCES):
            for position, value in enumerate(list(obj) if snapshot else obj):
                self.add(value, i, _INDEX, position)
        elif isinstance(obj, _SETS):
            for value in list(obj) if snapshot else obj:
                self.add(value, i, _MEMBER, None)
        elif kind is types.FunctionType:
            for name, cell in zip(obj.__code__.co_freevars, obj.__closure__ or (), strict=False):
                try:
                    self.add(cell.cell_contents, i, _CELL, name)
                except ValueError:
                    continue  # an empty cell
            self._attributes(obj, i, snapshot)
            for name in ("__defaults__", "__kwdefaults__"):
                value = getattr(obj, name)
                if value:
                    self.add(value, i, _ATTR, name)
        elif kind is types.MethodType:
            self.add(obj.__self__, i, _ATTR, "__self__")
        elif sizer.is_pandas(kind):
            return  # sized deep already: its arrays are inside that size
        elif sizer.ndarray is not None and kind is sizer.ndarray:
            if obj.base is not None:
                self.add(obj.base, i, _ATTR, "base")
        else:
            attributes = self._attributes(obj, i, snapshot)
            for ref in gc.get_referents(obj):
                if ref is not attributes and not isinstance(ref, type):
                    self.add(ref, i, _REF, type_name(type(ref)))

    def _attributes(self, obj: Any, i: int, snapshot: bool = False) -> Any:
        try:
            attributes = object.__getattribute__(obj, "__dict__")
        except (AttributeError, TypeError):
            return None
        if type(attributes) is dict:
            self.absorb(attributes, i)
            mro = type(obj).__mro__ if not isinstance(obj, type | types.FunctionType) else ()
            for name, value in list(attributes.items()) if snapshot else attributes.items():
                # `logger.manager is Logger.manager`: the class holds it, so it is named there.
                if mro and any(klass.__dict__.get(name, _MISSING) is value for klass in mro):
                    continue
                self.add(value, i, _ATTR, name)
        return attributes

    def run(self, roots: list[tuple[str, Any, int]]) -> None:
        for label, obj, kind in roots:
            if kind == _ROOT_MODULE:
                namespace = getattr(obj, "__dict__", None)
                if type(namespace) is not dict or id(namespace) in self.index:
                    continue
                self.index[id(obj)] = -1
                self.index[id(namespace)] = len(self.objects)
                self.objects.append(namespace)
                self.parent.append(-1)
                self.edge_kind.append(_ROOT_MODULE)
                self.edge_key.append(label)
                self.size.append(_getsizeof(namespace))
            else:
                self.index[id(obj)] = len(self.objects)
                self.objects.append(obj)
                self.parent.append(-1)
                self.edge_kind.append(_ROOT_FRAME)
                self.edge_key.append(label)
                self.size.append(0)
        i = 0
        while i < len(self.objects):
            obj = self.objects[i]
            # Namespaces and locals are small: walked from a copy, as a lazy import or a
            # property run by a look at their values can change them.
            if self.edge_kind[i] == _ROOT_MODULE:
                for name, value in list(obj.items()):
                    self.add(value, i, _ATTR, name)
            elif self.edge_kind[i] == _ROOT_FRAME:
                for name, value in list(obj.f_locals.items()):
                    self.add(value, i, _LOCAL, name)
            elif isinstance(obj, type):
                for name, value in list(obj.__dict__.items()):
                    self.add(value, i, _ATTR, name)
            else:
                try:
                    self.expand(i)
                except RuntimeError:  # "changed size during iteration": once more, from a copy
                    self.expand(i, snapshot=True)
            i += 1

    def held_bytes(self) -> list[int]:
        held = list(self.size)
        for i in range(len(held) - 1, 0, -1):
            parent = self.parent[i]
            if parent >= 0:
                held[parent] += held[i]
        return held

    def path(self, i: int) -> str:
        parts = []
        while i >= 0:
            kind, key = self.edge_kind[i], self.edge_key[i]
            parts.append(_edge_text(kind, key))
            i = self.parent[i]
        return "".join(reversed(parts))


def _named_by_its_module(cls: type) -> bool:
    module = sys.modules.get(cls.__module__) if isinstance(cls.__module__, str) else None
    where: Any = module
    for part in getattr(cls, "__qualname__", "").split("."):
        namespace = getattr(where, "__dict__", None)
        if not isinstance(namespace, dict | types.MappingProxyType):
            return False
        where = namespace.get(part, _MISSING)
    return where is cls


def _key_text(key: Any) -> str:
    if isinstance(key, str | int | float | bytes | bool) or key is None:
        text = repr(key)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"<{type_name(type(key))}>"


def _edge_text(kind: int, key: Any) -> str:
    if kind in (_ROOT_MODULE, _ROOT_FRAME):
        return key
    if kind == _ATTR:
        return f".{key}"
    if kind == _KEY:
        return f"[{_key_text(key)}]"
    if kind == _KEYOBJ:
        return ".<key>"
    if kind == _INDEX:
        return f"[{key}]"
    if kind == _MEMBER:
        return ".<member>"
    if kind == _CELL:
        return f".<closure>.{key}"
    if kind == _LOCAL:
        return f":{key}"
    return f".<{key}>"


def _frame_roots(frames: list[tuple[str, types.FrameType]]) -> list[tuple[str, Any, int]]:
    roots = []
    this_file = __file__
    for thread, frame in frames:
        current: types.FrameType | None = frame
        while current is not None:
            code = current.f_code
            if not code.co_filename.startswith(this_file.rsplit("/", 1)[0]):
                module = current.f_globals.get("__name__", "?")
                spec = current.f_globals.get("__spec__")
                if module == "__main__" and getattr(spec, "name", None):
                    module = spec.name  # run with -m: its real name reads better than __main__
                label = f"{module}.{getattr(code, 'co_qualname', code.co_name)}"
                label = label if thread == "MainThread" else f"<{thread}> {label}"
                roots.append((label, current, _ROOT_FRAME))
            current = current.f_back
    return roots


def find_holders(
    frames: list[tuple[str, types.FrameType]],
    *,
    max_visited: int = MAX_VISITED,
    top: int = TOP_HOLDERS,
    min_bytes: int = MIN_HOLDER_BYTES,
    sample: dict[str, list[Any]] | None = None,
    over_budget: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """The containers holding the most, each with its path from a module or frame root; past
    `max_visited`, those `sample` (count_objects' "_sample") leads to are added (sampled_holders)."""
    started = time.perf_counter()
    sizer = _Sizer()
    search = _Search(sizer, max_visited, over_budget)
    # Shallow module names first: at equal depth `logging.Logger.manager` is found before the
    # same manager through `concurrent.futures._base.LOGGER.manager`.
    modules = sorted(sys.modules.items(), key=lambda item: (item[0].count("."), item[0]))
    roots = [(name, module, _ROOT_MODULE) for name, module in modules]
    roots += _frame_roots(frames)
    search.run(roots)
    held = search.held_bytes()
    candidates = [
        i
        for i, obj in enumerate(search.objects)
        if held[i] >= min_bytes
        and search.edge_kind[i] not in (_ROOT_MODULE, _ROOT_FRAME)
        and (isinstance(obj, _HOLDER_TYPES) or sizer.is_pandas(type(obj)))
    ]
    candidates.sort(key=lambda i: held[i], reverse=True)
    holders = []
    for i in candidates[:top]:
        obj = search.objects[i]
        try:
            count = len(obj)
        except Exception:  # a pandas object mid-construction: its size still tells
            count = 0
        holders.append(
            {
                "path": search.path(i),
                "type": type_name(type(obj)),
                "count": count,
                "bytes": held[i],
                "item_type": _item_type(obj),
            }
        )
    own = [search, search.__dict__, roots, modules, candidates, held, holders, *vars(search).values()]
    unreached = None if search.bound_hit else _unreached(search, {id(obj) for obj in own})
    sampled = []
    if search.bound_hit and sample:
        # Past the bound, the largest types are followed upwards from a sample: containers the
        # breadth-first search did not reach, or reached only in part (its bytes then understate).
        sampled = sampled_holders(frames, sample, own=[*own, frames])
        by_path = {row["path"]: row for row in holders}
        by_path.update({row["path"]: row for row in sampled})
        holders = sorted(by_path.values(), key=lambda row: row["bytes"], reverse=True)[:top]
    return {
        "holders": holders,
        "visited": search.visited(),
        "roots": len(roots),
        "max_visited": max_visited,
        "bound_hit": search.bound_hit,
        "budget_hit": search.budget_hit,  # stopped by the memory budget, not the bound
        "sampled_holders": len(sampled),
        # What the roots reach, and the objects the GC lists that they do not: known only when
        # the search ran to the end.
        "reachable_bytes": None if search.bound_hit else search.reachable_bytes(),
        "unreached": unreached,
        "search_s": time.perf_counter() - started,
    }


SAMPLE_PER_TYPE = 300
SAMPLE_MAX_DEPTH = 8
SAMPLE_ITEMS_SIZED = 1_000
UNTRACKED_MIN_LEN = 1_000
# An item referenced more often than this (the container, the spread and this count's own
# references are about six) is shared, and not counted as the container's.
SHARED_REFS = 8


def sampled_holders(
    frames: list[tuple[str, types.FrameType]], sample: dict[str, Any], own: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Who holds the largest types, found upwards from a sample of their objects (`picked`, from
    count_objects): the search for heaps the breadth-first one cannot cover within its bound.
    Memory grows with the sample, not the heap; time is one pass of the collector's lists per
    level (gc.get_referrers).

    For each sampled type, the tracked container holding most of its sample is the holder, and
    its referrers are followed up to a module or a frame of the measured threads for its path.
    Its bytes are estimated: its own size plus its length times the mean size of a spread of its
    items (each with what it alone holds).
    """
    picked, untracked = sample["by_type"], sample["untracked"]
    ignore = {id(sample), id(picked), id(untracked), *(id(rows) for rows in picked.values())}
    ignore |= {id(obj) for obj in own or []}
    frame_labels = {id(frame): label for label, frame, _ in _frame_roots(frames)}
    # The namespaces themselves are kept, not only their ids: an id alone could be reused.
    namespaces = [
        (name, module.__dict__) for name, module in sys.modules.items() if type(module) is types.ModuleType
    ]
    modules = {id(namespace): name for name, namespace in namespaces}
    ignore.add(id(namespaces))
    sizer = _Sizer()
    found: dict[str, dict[str, Any]] = {}
    for rows in picked.values():
        holder = _commonest_holder(rows, untracked, ignore)
        if holder is None or not isinstance(holder, _HOLDER_TYPES):
            continue
        path = _path_up(holder, ignore, modules, frame_labels)
        if path is None or path in found:
            continue
        count, held = _estimate_held(holder, sizer)
        found[path] = {
            "path": path,
            "type": type_name(type(holder)),
            "count": count,
            "bytes": held,
            "item_type": _item_type(holder),
            "estimated": True,
        }
    return list(found.values())


def _commonest_holder(sample: list[Any], untracked: list[dict], ignore: set[int]) -> Any:
    """The container among the sample's referrers that holds most of the sample."""
    sample_ids = {id(obj) for obj in sample}
    best, best_hits = None, 0
    for referrer in [*gc.get_referrers(*sample), *untracked]:
        if id(referrer) in ignore or isinstance(referrer, types.FrameType):
            continue
        hits = sum(id(ref) in sample_ids for ref in gc.get_referents(referrer))
        if hits > best_hits:
            best, best_hits = referrer, hits
    return best if best_hits >= max(2, len(sample) // 10) else None


def _edge_to(parent: Any, child: Any) -> str | None:
    """The text of the edge from parent to child, as the breadth-first search writes it."""
    if isinstance(parent, dict):
        for key, value in parent.items():
            if value is child:
                return _edge_text(_KEY, key)
        return None
    if isinstance(parent, _SEQUENCES):
        for position, value in enumerate(parent):
            if value is child:
                return _edge_text(_INDEX, position)
        return None
    try:
        attributes = object.__getattribute__(parent, "__dict__")
    except (AttributeError, TypeError):
        return None
    if isinstance(attributes, dict | types.MappingProxyType):
        for name, value in attributes.items():
            if value is child:
                return _edge_text(_ATTR, name)
    return None


def _path_up(
    holder: Any, ignore: set[int], modules: dict[int, str], frame_labels: dict[int, str]
) -> str | None:
    """The holder's path: referrers followed up to a module's globals or a measured frame."""
    parts: list[str] = []
    current = holder
    for _ in range(SAMPLE_MAX_DEPTH):
        referrers = [r for r in gc.get_referrers(current) if id(r) not in ignore]
        ignore = ignore | {id(referrers)}  # this list refers to `current` too, from now on
        step = None
        for referrer in referrers:
            if id(referrer) in modules:
                key = next((k for k, v in referrer.items() if v is current and isinstance(k, str)), None)
                if key is not None:
                    return f"{modules[id(referrer)]}.{key}" + "".join(reversed(parts))
            elif id(referrer) in frame_labels:
                name = next((k for k, v in referrer.f_locals.items() if v is current), None)
                if name is not None:
                    return f"{frame_labels[id(referrer)]}:{name}" + "".join(reversed(parts))
        for referrer in referrers:
            if isinstance(referrer, types.FrameType) or id(referrer) in modules:
                continue
            # An instance or a class holds it through its __dict__: the edge is an attribute.
            owner = _dict_owner(referrer, ignore) if type(referrer) is dict else None
            edge = _edge_to(owner, current) if owner is not None else None
            if edge is not None:
                step = (owner, edge)
                break
            edge = _edge_to(referrer, current)
            if edge is not None:
                step = (referrer, edge)
                break
        del referrers
        if step is None:
            return None
        current, edge = step
        parts.append(edge)
    return None


def _dict_owner(namespace: dict, ignore: set[int]) -> Any:
    """The instance or class whose __dict__ this is, if any."""
    for referrer in gc.get_referrers(namespace):
        if id(referrer) in ignore:
            continue
        if isinstance(referrer, type):
            # A class's __dict__ reads as a proxy: its referents hold the dict itself.
            if any(ref is namespace for ref in gc.get_referents(referrer)):
                return referrer
            continue
        try:
            if object.__getattribute__(referrer, "__dict__") is namespace:
                return referrer
        except (AttributeError, TypeError):
            continue
    return None


def _estimate_held(holder: Any, sizer: _Sizer) -> tuple[int, int]:
    """(items, estimated bytes) of a container: its size plus its length times the mean size of a
    spread of its items, each item counted with the referents it alone holds."""
    try:
        count = len(holder)
    except Exception:  # a container mid-change cannot be measured: its own size still tells
        return 0, _getsizeof(holder)
    items = list(holder.items()) if isinstance(holder, dict) else list(holder)
    step = max(1, len(items) // SAMPLE_ITEMS_SIZED)
    spread = items[::step][:SAMPLE_ITEMS_SIZED]
    total = 0
    for item in spread:
        parts = item if isinstance(holder, dict) else (item,)
        for part in parts:
            if sys.getrefcount(part) > SHARED_REFS:
                continue  # True, a small int, an interned name: everyone's, not this item's
            total += sizer.of(type(part))(part)
            for ref in gc.get_referents(part):
                # Referenced from here alone: the item's, not shared (sys.getrefcount also
                # counts its argument, the loop variable and the referents list).
                if not isinstance(ref, type) and sys.getrefcount(ref) <= 4:
                    total += sizer.of(type(ref))(ref)
    mean = total / len(spread) if spread else 0.0
    return count, int(_getsizeof(holder) + mean * count)


def _unreached(search: _Search, own: set[int]) -> dict[str, Any]:
    """The objects the GC tracks that no module, class or frame reaches, by type, and how many of
    them something outside Python holds: more references than the unreached objects themselves
    account for (a reference C code took and never gave back), where cyclic garbage waiting for
    the collector has none."""
    index = search.index
    own.add(id(own))
    tracked = gc.get_objects()
    lost = [obj for obj in tracked if id(obj) not in index and id(obj) not in own]
    del tracked
    sizer = search.sizer
    counts: dict[type, int] = {}
    sizes: dict[type, int] = {}
    for obj in lost:
        kind = type(obj)
        counts[kind] = counts.get(kind, 0) + 1
        sizes[kind] = sizes.get(kind, 0) + sizer.of(kind)(obj)
    lost_ids = {id(obj): 0 for obj in lost}
    for start in range(0, len(lost), _CHUNK):
        for ref in gc.get_referents(*lost[start : start + _CHUNK]):
            key = id(ref)
            if key in lost_ids:
                lost_ids[key] += 1
    # sys.getrefcount counts its argument, the loop variable and the `lost` list too.
    held_from_outside = sum(sys.getrefcount(obj) - 3 > lost_ids[id(obj)] for obj in lost)
    ranked = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:TOP_UNREACHED]
    return {
        "objects": len(lost),
        "bytes": sum(sizes.values()),
        "held_from_outside": held_from_outside,
        "types": [
            {"type": type_name(kind), "count": counts[kind], "size_bytes": size} for kind, size in ranked
        ],
    }


def _item_type(obj: Any) -> str | None:
    """The type of the newest element: what the container accumulates."""
    try:
        if isinstance(obj, dict):
            return type_name(type(next(reversed(obj.values())))) if obj else None
        if isinstance(obj, list | deque):
            return type_name(type(obj[-1])) if obj else None
    except Exception:  # a dict changed by nobody (this is a snapshot) cannot fail; be safe anyway
        return None
    return None
