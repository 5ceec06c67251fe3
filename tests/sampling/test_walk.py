"""walk.py: who holds the memory, by a readable path from a module or a running frame, and what
the GC lists that nothing reaches.

The walk is a plain function: these tests run it in the test process on structures built the way
services build them, and read the paths and sizes it gives. A reference-count leak is made the
way a C extension makes one: Py_IncRef through ctypes.pythonapi, never given back.
"""

import ctypes
import functools
import gc
import logging
import sys
import weakref
from typing import ClassVar

import pytest

from leakhunt.sampling.walk import count_objects, find_holders, sampled_holders

REQUEST_LOG: list[dict] = []


class Session:
    registry: ClassVar[list["Session"]] = []

    def __init__(self, user: str) -> None:
        self.user = user
        self.payload = bytes(200)
        Session.registry.append(self)


def memoize(function):
    cache: dict = {}

    @functools.wraps(function)
    def wrapper(*args):
        if args not in cache:
            cache[args] = function(*args)
        return cache[args]

    return wrapper


@memoize
def render(page: int) -> bytes:
    return bytes(500) + page.to_bytes(4, "little")


def here() -> list:
    return [("MainThread", sys._getframe(1))]


def holders_by_path(frames: list | None = None, **options) -> dict[str, dict]:
    search = find_holders(frames or here(), **options)
    return {row["path"]: row for row in search["holders"]}


def test_a_module_list_a_class_registry_and_a_memo_cache_are_named_by_their_paths():
    REQUEST_LOG.extend({"id": i, "price": i + 0.5} for i in range(5_000))
    # Nothing else holds them (no local list): as in a service, the registry and cache do.
    for i in range(2_000):
        Session(f"user{i}")
    for page in range(1_000):
        render(page)
    try:
        held = holders_by_path()
        log = held[f"{__name__}.REQUEST_LOG"]
        assert (log["type"], log["count"], log["item_type"]) == ("list", 5_000, "dict")
        # the list, its dicts and their floats: everything first reached through it
        per_row = sys.getsizeof({"id": 1, "price": 0.5}) + sys.getsizeof(0.5) + sys.getsizeof(10**4)
        assert log["bytes"] > 5_000 * (sys.getsizeof({"id": 1, "price": 0.5}))
        assert log["bytes"] < 5_000 * per_row * 1.2
        registry = held[f"{__name__}.Session.registry"]
        assert registry["count"] == 2_000 and registry["item_type"] == f"{__name__}.Session"
        assert registry["bytes"] > 2_000 * 200
        cache = held[f"{__name__}.render.<closure>.cache"]
        assert cache["count"] == 1_000 and cache["bytes"] > 1_000 * 500
    finally:
        REQUEST_LOG.clear()
        Session.registry.clear()


def test_weak_proxies_dead_or_alive_are_passed_by_and_the_rest_is_still_named():
    # A dead weakref.proxy raises ReferenceError at any look (isinstance, its size); one left in
    # a service's heap (a test runner's threads hold several) stopped every probe.
    class Peer:
        pass

    alive, dying = Peer(), Peer()
    REQUEST_LOG.extend([weakref.proxy(alive), weakref.proxy(dying), weakref.proxy(len)])
    REQUEST_LOG.extend({"id": i} for i in range(1_000))
    del dying
    gc.collect()
    try:
        log = holders_by_path()[f"{__name__}.REQUEST_LOG"]
        assert log["count"] == 1_003 and log["item_type"] == "dict"
        assert count_objects()
    finally:
        REQUEST_LOG.clear()
    assert alive


def test_a_local_of_a_running_function_is_named_from_its_frame():
    buffers = {"eth": [bytes(1000) for _ in range(100)]}
    held = holders_by_path()
    qualname = test_a_local_of_a_running_function_is_named_from_its_frame.__qualname__
    assert f"{__name__}.{qualname}:buffers['eth']" in held
    assert buffers


def test_a_logger_per_connection_is_held_by_the_logging_manager():
    loggers = [logging.getLogger(f"leakhunt-test.conn.{i}") for i in range(3_000)]
    try:
        held = holders_by_path()
        assert held["logging.Logger.manager.loggerDict"]["count"] >= 3_000
    finally:
        for logger in loggers:
            logging.Logger.manager.loggerDict.pop(logger.name, None)
        logging.Logger.manager.loggerDict.pop("leakhunt-test.conn", None)
        logging.Logger.manager.loggerDict.pop("leakhunt-test", None)


def test_the_search_stops_at_its_bound_and_says_so():
    search = find_holders(here(), max_visited=1_000)
    assert search["bound_hit"] and search["visited"] <= 1_000 + search["roots"]
    # What the roots reach is not known from part of a search.
    assert (search["reachable_bytes"], search["unreached"]) == (None, None)
    whole = find_holders(here())
    assert not whole["bound_hit"] and whole["reachable_bytes"] > 0


def unreached_of(search: dict, type_name: str) -> int:
    return next((row["count"] for row in search["unreached"]["types"] if row["type"] == type_name), 0)


class Frame:
    pass


def slim(search: dict) -> dict:
    return {"unreached": search["unreached"], "reachable_bytes": search["reachable_bytes"]}


def test_objects_c_code_keeps_a_reference_to_are_unreached_and_held_from_outside_python():
    gc.collect()
    gc.disable()  # no collection between the searches: only the leak differs
    try:
        # Only what is compared is kept: the first search's holders would be reachable in the second.
        before = slim(find_holders(here()))
        for i in range(3_000):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object([f"request {i}", i]))  # never released
        after = slim(find_holders(here()))
        # Cyclic garbage is unreached too, but only its own members refer to it.
        for _ in range(2_000):
            first, second = Frame(), Frame()
            first.other, second.other = second, first
        del first, second
        cycles = find_holders(here())
    finally:
        gc.enable()
    # (a type below the top ten before the leak counts as none there)
    assert unreached_of(after, "list") - unreached_of(before, "list") == pytest.approx(3_000, abs=50)
    leaked = after["unreached"]["held_from_outside"] - before["unreached"]["held_from_outside"]
    assert leaked == pytest.approx(3_000, abs=50)
    assert after["unreached"]["bytes"] - before["unreached"]["bytes"] >= 3_000 * sys.getsizeof([1, 2])
    # The roots reach none of it: the reachable heap moved by the searches' own noise only.
    lost_bytes = after["unreached"]["bytes"] - before["unreached"]["bytes"]
    assert abs(after["reachable_bytes"] - before["reachable_bytes"]) < lost_bytes / 10
    assert unreached_of(cycles, f"{__name__}.Frame") == 4_000
    assert abs(cycles["unreached"]["held_from_outside"] - after["unreached"]["held_from_outside"]) < 50


def test_classes_made_at_run_time_are_held_where_they_are_found_not_skipped():
    def make_model(n: int) -> type:
        return type(f"Model{n}", (), {"rows": [bytes(300) for _ in range(20)]})

    REQUEST_LOG.extend({"model": make_model(n)} for n in range(300))
    try:
        held = holders_by_path(min_bytes=0)
        log = held[f"{__name__}.REQUEST_LOG"]
        # Each class's rows are inside the log's bytes: 300 x 20 x 300 bytes at least.
        assert log["bytes"] > 300 * 20 * 300
    finally:
        REQUEST_LOG.clear()


def test_the_count_covers_every_object_once_and_holders_never_exceed_it():
    counted = count_objects(here())
    search = find_holders(here(), min_bytes=0)
    assert counted["objects"] > counted["untracked_objects"] > 0
    assert max(row["bytes"] for row in search["holders"]) < counted["py_heap_bytes"]


class Service:
    def __init__(self) -> None:
        self.sessions: dict[int, list] = {}


SEEN: dict[tuple[str, int], bool] = {}  # as __warningregistry__: tuples of str and int, untracked


def test_past_its_bound_the_search_names_the_largest_holders_upwards_from_a_sample():
    # As a probe does: the sample follows what grew since the previous count.
    before = {row["type"]: row["size_bytes"] for row in count_objects(here(), top_types=10_000)["types"]}
    service = Service()
    globals()["SERVICE"] = service
    SEEN.update(
        ((f"price feed {i:09d} stale for 5 s, using the last good quote", 7), True) for i in range(60_000)
    )
    gc.collect()  # which stops tracking the tuples, then the dict: gc.get_referrers cannot find it
    assert not gc.is_tracked(SEEN)
    for i in range(30_000):
        service.sessions[i] = [i, f"user{i}"]
    try:
        full = holders_by_path()
        counted = count_objects(here(), sample_types=4, before=before)
        search = find_holders(here(), max_visited=20_000, sample=counted.pop("_sample"))
        assert search["bound_hit"] and search["sampled_holders"] >= 2
        found = {row["path"]: row for row in search["holders"]}
        for path in (f"{__name__}.SEEN", f"{__name__}.SERVICE.sessions"):
            assert found[path]["estimated"] is True
            assert found[path]["count"] == full[path]["count"]
            # Estimated from a spread of its items: within 5 % of what the whole search counts.
            assert found[path]["bytes"] == pytest.approx(full[path]["bytes"], rel=0.05)
    finally:
        SEEN.clear()
        del globals()["SERVICE"]


def test_the_sample_follows_what_grew_since_the_previous_count_before_what_is_largest():
    counted = count_objects(here(), sample_types=2)
    largest = list(counted.pop("_sample")["by_type"])
    before = {row["type"]: row["size_bytes"] for row in counted["types"]}
    kept = [Frame() for _ in range(5_000)]
    grown = count_objects(here(), sample_types=2, before=before)["_sample"]["by_type"]
    assert next(iter(grown)) == f"{__name__}.Frame" and len(grown[f"{__name__}.Frame"]) == 300
    assert f"{__name__}.Frame" not in largest
    assert kept
    assert sampled_holders(here(), {"by_type": {}, "untracked": []}) == []
