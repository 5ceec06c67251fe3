"""Ports for servers the tests start on 127.0.0.1, safe when several test workers (pytest-xdist)
or several suites run at once.

A port found free can be taken by another worker before our server binds it, so:
- a server the tests start on a chosen port is retried on a fresh port when its bind fails
  (`free_port` gives the candidate; the callers in sshd.py and prometheus_server.py retry);
- a child that can bind port 0 itself does, and says which port it got;
- a port that must refuse connections is held bound (never listening) for as long as it is
  used (`refusing_port`): nobody else can take it, and a connect to it is refused at once.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

BIND_ATTEMPTS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection while the block runs."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
