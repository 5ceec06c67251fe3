"""A real process whose RSS leaks, saws or stays flat, exposed by prometheus-client.

Usage: metrics_child.py leak|sawtooth|flat BYTES_PER_S. It touches every page it keeps, so
RSS (the client's own process_resident_memory_bytes, read from /proc) grows at the given rate:
blocks are added on a wall-clock schedule, so the rate holds however the process is scheduled.
A sawtooth frees all it holds every 20 s. It listens on a port of its own choosing on 127.0.0.1
and says `ready PORT` once it does; it stops when its stdin closes.
"""

import mmap
import sys
import threading
import time

from prometheus_client import REGISTRY, start_http_server

MODE, RATE = sys.argv[1], float(sys.argv[2])
BLOCK = 256 * 1024
TOOTH_S = 20.0


class ScrapeTell:
    """Says "scraped" on stdout at every scrape: a test waits on this pipe, not on the clock."""

    def describe(self):
        return []  # without it, registering would collect once: a "scraped" that was not

    def collect(self):
        print("scraped", flush=True)
        return []


REGISTRY.register(ScrapeTell())
http_server, _ = start_http_server(0, addr="127.0.0.1")
held: list[mmap.mmap] = []
PAGE_FILL = b"x" * BLOCK
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
print("ready", http_server.server_port, flush=True)
started = last_cleanup = time.monotonic()
kept_bytes = 0
while not stop.wait(0.05):
    now = time.monotonic()
    if MODE == "flat":
        continue
    if MODE == "sawtooth" and now - last_cleanup >= TOOTH_S:
        held.clear()
        kept_bytes, last_cleanup = 0, now
    since = now - (last_cleanup if MODE == "sawtooth" else started)
    while kept_bytes < RATE * since:
        # Its own mapping, written through: resident at once, and unmapped (RSS falls) when freed,
        # whatever malloc's thresholds have become.
        block = mmap.mmap(-1, BLOCK)
        block.write(PAGE_FILL)
        held.append(block)
        kept_bytes += BLOCK
