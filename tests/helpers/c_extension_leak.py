"""A service whose requests go through a compiled extension with a reference-count leak.

    python c_extension_leak.py ujson      # ujson 5.9.0: the str `default()` returns is leaked
    python c_extension_leak.py multidict  # multidict 6.3.0: the list of pairs is leaked

ujson 5.9.0 keeps a reference to a non-ASCII str that `default` returns when ensure_ascii is on
(upstream issue 631): one pymalloc block a request, a str the GC never tracks. multidict 6.3.0 (a
release yanked for it) keeps the list a MultiDict is built from: a list the GC lists but no module
or frame holds. Nothing in this file keeps anything. The packages come from PYTHONPATH (the test
installs the pinned versions). It prints "ready" and serves RATE requests a second until killed.
"""

import sys

from paced import serve_at_rate

RATE_PER_S = 2_000
STEP_S = 0.05


class Order:
    def __init__(self, n: int) -> None:
        self.n = n


def fallback(order: Order) -> str:
    return f"commande n° {order.n} " + "·" * 80  # non-ASCII: ujson 5.9.0 leaks this str


def handle_ujson(n: int) -> None:
    import ujson

    ujson.dumps({"order": Order(n), "n": n}, default=fallback)


def handle_multidict(n: int) -> None:
    import multidict

    multidict.MultiDict([("accept", "text/html"), ("x-request-id", f"req-{n:08d}")])


def main() -> None:
    handle = {"ujson": handle_ujson, "multidict": handle_multidict}[sys.argv[1]]
    handle(0)  # the import, before the clock starts
    print("ready", flush=True)
    serve_at_rate(handle, RATE_PER_S, step_s=STEP_S, first=1)


if __name__ == "__main__":
    main()
