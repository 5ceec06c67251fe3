"""The report's imports, taken while a run goes on.

A soak's parent spends its run waiting on the child's barriers, and pandas and matplotlib
take about a second to import: imported in a thread beside the sampler loop, they are ready when
the run ends instead of before it starts. Sampling is tied to simulated time, so the thread can
delay a barrier's answer but never moves a sample. A failed import is left to the import that
needs the module, which says why in the main thread.
"""

import contextlib
import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

REPORT_MODULES = ("leakhunt.runs.finish",)

_lock = threading.Lock()
_finished_cpu_s = 0.0  # CPU of warming threads that have ended
_running: set[threading.Thread] = set()


def imports_cpu_s() -> float:
    """CPU the warming threads of this process have used so far, running ones included: the
    run's own cost leaves it out, as it leaves out start-up and the report."""
    with _lock:
        total_s = _finished_cpu_s
        for thread in _running:
            # One that ended meanwhile has no clock left; its CPU is counted at its end.
            with contextlib.suppress(OSError, AttributeError):
                total_s += time.clock_gettime(time.pthread_getcpuclockid(thread.ident or 0))
        return total_s


@contextmanager
def warming(modules: tuple[str, ...] = REPORT_MODULES) -> Iterator[None]:
    """Import `modules` in a thread during the block; the block's end waits for it."""

    def load() -> None:
        global _finished_cpu_s
        try:
            for name in modules:
                importlib.import_module(name)
        except Exception:  # said by the import in the main thread, where it is needed
            pass
        finally:
            with _lock:
                _running.discard(threading.current_thread())
                _finished_cpu_s += time.thread_time()

    thread = threading.Thread(target=load, name="leakhunt-warm-imports", daemon=True)
    with _lock:
        _running.add(thread)
        thread.start()
    try:
        yield
    finally:
        # Never left importing while the interpreter shuts down.
        thread.join()
