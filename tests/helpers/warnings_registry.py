"""A service that warns about each stale price feed, with the feed in the message.

warnings.warn with a distinct text each time: the "default" action shows each (text, category,
line) once and remembers it in the calling module's `__warningregistry__`, which only grows. With
`python warnings_registry.py N` it keeps N objects of its own first (a large heap, so that a small
--search-limit binds). Prints "ready" and serves until killed.
"""

import sys
import warnings

from paced import serve_at_rate

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
    serve_at_rate(check_feed, RATE_PER_S, step_s=STEP_S)


if __name__ == "__main__":
    main()
