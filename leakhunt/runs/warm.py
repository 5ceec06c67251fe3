"""The report's imports, taken while a run goes on.

A soak's parent spends its run waiting on the child's barriers, and pandas, scipy and matplotlib
take about a second to import: imported in a thread beside the sampler loop, they are ready when
the run ends instead of before it starts. Sampling is tied to simulated time, so the thread can
delay a barrier's answer but never moves a sample. A failed import is left to the import that
needs the module, which says why in the main thread.
"""

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REPORT_MODULES = ("leakhunt.runs.finish",)


@contextmanager
def warming(modules: tuple[str, ...] = REPORT_MODULES) -> Iterator[None]:
    """Import `modules` in a thread during the block; the block's end waits for it."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # said by the import in the main thread, where it is needed
                return

    thread = threading.Thread(target=load, name="leakhunt-warm-imports", daemon=True)
    thread.start()
    try:
        yield
    finally:
        # Never left importing while the interpreter shuts down.
        thread.join()
