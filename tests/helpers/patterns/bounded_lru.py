"""Not a leak: a bounded LRU cache, full within a second and then constant."""

import functools

from _service import serve


@functools.lru_cache(maxsize=500)
def quote(symbol_id: int) -> bytes:
    return bytes(1000) + str(symbol_id).encode()


def handle(n: int) -> None:
    quote(n)


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path=None, leaks=False)
