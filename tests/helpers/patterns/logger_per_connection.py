"""A logger (with its handler) created per connection and never released."""

import logging

from _service import serve


def handle(n: int) -> None:
    logger = logging.getLogger(f"service.connection.{n}")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path="logging.Logger.manager.loggerDict")
