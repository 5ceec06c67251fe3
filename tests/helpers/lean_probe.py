"""The probe taken in a fresh interpreter (numpy and pandas loaded, as in a service), for the
tests in tests/sampling/test_probe.py whose cost grows with the heap each summary walks.

In a test worker that heap holds every test module collected (matplotlib, hypothesis, selenium
...): twenty-one summaries took 81 s there under `make test`, 0.7 s each here. What is measured is
the same: the probe's own process before and after it took summaries, counted by its forked child.

Usage: lean_probe.py keeps-nothing-alive | tracemalloc-line; prints one JSON object.
"""

import gc
import json
import sys
import tracemalloc

import numpy  # noqa: F401  (loaded, as in the services the probe runs in)
import pandas  # noqa: F401

from leakhunt.sampling.probe import Probe

SUMMARIES = 20


def take(probe: Probe) -> dict:
    return probe.take(t_sim_s=60.0, t_wall_s=1.5)


def keeps_nothing_alive() -> dict:
    probe = Probe(holders=False)
    sentinel = object()
    holder = [sentinel]
    take(probe)  # a first call may import and cache
    objects_before, references_before = len(gc.get_objects()), sys.getrefcount(sentinel)
    heaps = [take(probe)["py_heap_bytes"] for _ in range(SUMMARIES)]
    return {
        "references_added": sys.getrefcount(sentinel) - references_before,
        "objects_added": len(gc.get_objects()) - objects_before,
        "py_heap_bytes": heaps,
        "holder_kept": holder == [sentinel],
    }


def allocate_on_a_known_line(n: int) -> list[bytes]:
    return [bytes(1000) + bytes([i % 256]) for i in range(n)]  # the line the probe must name


def tracemalloc_line() -> dict:
    try:
        probe = Probe(holders=False, tracemalloc_frames=4)
        kept = allocate_on_a_known_line(5_000)
        traced = take(probe)["tracemalloc"]
    finally:
        tracemalloc.stop()
    return {
        "traced": traced,
        "line": f"{__file__}:{allocate_on_a_known_line.__code__.co_firstlineno + 1}",
        "kept": len(kept),
    }


if __name__ == "__main__":
    check = {"keeps-nothing-alive": keeps_nothing_alive, "tracemalloc-line": tracemalloc_line}[sys.argv[1]]
    print(json.dumps(check()))
