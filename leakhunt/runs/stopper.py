"""The runs one Ctrl-C stops: compare's runs, on worker threads, while the main thread takes the signal.

Each run registers its target with the Stopper it was handed; `stop()` ends every registered
target, and any target registered after it ends at once (a worker that picked its run up as the
user pressed Ctrl-C). A Stopper is handed to each run, not looked up: one that outlives its block
(a run still finishing after the interrupt) still knows it was stopped, and a later run in the same
process is not.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from leakhunt.runs.signals import sigterm_as_ctrl_c
from leakhunt.sampling.child import Target


class Stopper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: set[Target] = set()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def add(self, target: Target) -> None:
        with self._lock:
            if self._stopped:
                target.terminate()
            self._targets.add(target)

    def discard(self, target: Target) -> None:
        with self._lock:
            self._targets.discard(target)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            targets = list(self._targets)
        for target in targets:
            target.terminate()


@contextmanager
def interrupts_stop_runs() -> Iterator[Stopper]:
    """In the main thread: SIGTERM acts as Ctrl-C, and either stops every run handed the Stopper.

    A stopped target closes its pipe, so each run's loop ends and records `interrupted`.
    """
    stopper = Stopper()
    try:
        with sigterm_as_ctrl_c():
            yield stopper
    except KeyboardInterrupt:
        stopper.stop()
        raise
