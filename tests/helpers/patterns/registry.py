"""A class-level registry of instances: every connection registers itself, none unregisters."""

from typing import ClassVar

from _service import serve


class Connection:
    registry: ClassVar[list] = []

    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.buffer = bytearray(1000)
        Connection.registry.append(self)


def handle(n: int) -> None:
    Connection(f"10.0.{n % 250}.{n % 199}:{40000 + n % 20000}")


if __name__ == "__main__":
    serve(handle, rate_per_s=40, path="__main__.Connection.registry")
