"""A web handler appending every request to a module-level list "for debugging"."""

import time

from _service import serve

REQUEST_LOG = []


def handle(n: int) -> None:
    REQUEST_LOG.append({"path": "/api/orders", "body": bytes(1200), "received": time.time()})


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path="__main__.REQUEST_LOG")
