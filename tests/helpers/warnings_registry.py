"""A service that warns about each stale price feed, with the feed in the message.

warnings.warn with a distinct text each time: the "default" action shows each (text, category,
line) once and remembers it in the calling module's `__warningregistry__`, which only grows. With
`python warnings_registry.py N` it keeps N objects of its own first (a large heap, so that a small
--search-limit binds). Prints "ready" and serves until killed.
"""

import sys
import time
import warnings

RATE_PER_S = 1_000
STEP_S = 0.05
SYMBOLS = ("BTC", "ETH", "SOL", "XRP")


class Quote:
    def __init__(self, n: int) -> None:
        self.n = n
        self.levels = [n, n + 1]


book = [Quote(n) for n in range(int(sys.argv[1]) if len(sys.argv) > 1 else 0)]


def check_feed(n: int) -> None:
    warnings.warn(
        f"price feed {SYMBOLS[n % 4]}-{n:09d} stale for 5 s, using the last good quote", stacklevel=1
    )


def main() -> None:
    warnings.simplefilter("default")
    print("ready", flush=True)
    started, n, k = time.monotonic(), 0, 0
    while True:
        k += 1
        for _ in range(round(RATE_PER_S * STEP_S)):
            check_feed(n)
            n += 1
        time.sleep(max(0.0, started + k * STEP_S - time.monotonic()))


if __name__ == "__main__":
    main()
