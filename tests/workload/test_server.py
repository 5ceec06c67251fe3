"""server.py: a forked child gets back the file pages its parent had in its page table, which fork
leaves out, so a target forked by the server starts with the RSS a fresh one has."""

import json
import os
from itertools import pairwise

from leakhunt.workload.server import PAGE_BYTES, populate, present_file_ranges

MB = 1e6


def _status_bytes(field: str = "RssFile:") -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) * 1024


def _in_a_forked_child(ranges: list[tuple[int, int]]) -> dict:
    """RssFile of a forked child before and after populate(ranges), and what populate said."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        before = _status_bytes()
        ok = populate(ranges)
        os.write(write_fd, json.dumps({"before": before, "after": _status_bytes(), "ok": ok}).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as answer:
        result = json.loads(answer.read())
    os.waitpid(pid, 0)
    return result


def test_a_forked_child_has_its_parents_file_pages_back_after_populate_and_not_before():
    ranges = present_file_ranges()
    parent_bytes = _status_bytes()
    child = _in_a_forked_child(ranges)
    assert child["ok"]
    # This test process has pandas' and numpy's libraries mapped: fork copied few of their pages.
    assert child["before"] < parent_bytes - 5 * MB
    assert abs(child["after"] - parent_bytes) < 1 * MB


def test_the_ranges_are_whole_pages_of_this_process_in_order_and_none_overlap():
    ranges = present_file_ranges()
    assert ranges and all(
        start % PAGE_BYTES == 0 and size % PAGE_BYTES == 0 and size > 0 for start, size in ranges
    )
    assert all(a + size <= b for (a, size), (b, _) in pairwise(ranges))
    # Present pages only (a written page of a library's data counts as anonymous): no more than
    # this process has resident, and at least its resident file pages.
    assert _status_bytes() - 1 * MB <= sum(size for _, size in ranges) <= _status_bytes("VmRSS:")


def test_populating_nothing_or_an_unmapped_range_says_so():
    assert populate([]) is True
    assert populate([(PAGE_BYTES, PAGE_BYTES)]) is False  # page 1 is never mapped
