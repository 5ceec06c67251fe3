"""SIGTERM as Ctrl-C: `kill PID`, systemd's stop or a CI timeout ends a watch the way Ctrl-C does,
with the report of what was sampled so far. Signal handlers can only be set in the main thread."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """Within the block SIGTERM raises KeyboardInterrupt; the previous handler comes back after."""

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
