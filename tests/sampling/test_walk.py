"""walk.py: who holds the memory, by a readable path from a module or a running frame.

The walk is a plain function: these tests run it in the test process on structures built the way
services build them, and read the paths and sizes it gives.
"""

import functools
import logging
import sys
from typing import ClassVar

from leakhunt.sampling.walk import count_objects, find_holders

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
    assert not find_holders(here())["bound_hit"]


def test_the_count_covers_every_object_once_and_holders_never_exceed_it():
    counted = count_objects(here())
    search = find_holders(here(), min_bytes=0)
    assert counted["objects"] > counted["untracked_objects"] > 0
    assert max(row["bytes"] for row in search["holders"]) < counted["py_heap_bytes"]
