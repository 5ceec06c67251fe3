"""What every live sampling source yields: Samples, and Events for what happened between them."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from leakhunt.sampling.sample import Sample

# Event kinds: restart (a unit's new MainPID), pid_reused, exited, gap, connection_lost,
# reconnected, connection_failed (gave up), log (a matching log line).


@dataclass(frozen=True)
class Event:
    t_wall_s: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


class Source(Protocol):
    description: str

    def stream(self, interval_s: float, stop: threading.Event) -> Iterator[Sample | Event]: ...

    def cost(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
