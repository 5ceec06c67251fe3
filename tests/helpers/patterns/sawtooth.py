"""Not a leak: a buffer that fills and is flushed every 700 requests (a sawtooth)."""

from _service import serve

BUFFER = []


def handle(n: int) -> None:
    BUFFER.append(bytes(1000))
    if len(BUFFER) >= 700:
        BUFFER.clear()


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path=None, leaks=False)
