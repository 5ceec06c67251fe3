"""Samples already taken (a run's samples.csv) or drawn (a synthetic curve), fed through the same
watch loop as a live process, as fast as the loop takes them: eight hours of a 10 Hz watch
replay in minutes, which is how the watch's constant cost per sample is proven.

The samples keep their own times; the interval asked for is not used. A file is read row by row,
never whole, so a replay holds as little as a live watch does.
"""

import csv
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from leakhunt.errors import UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample
from leakhunt.sampling.source import Event
from leakhunt.sampling.store import NotARunFile

_REQUIRED = ("t_wall_s", "rss_bytes")


class ReplaySource:
    def __init__(self, samples: Iterable[Sample], description: str) -> None:
        self._samples = samples
        self.description = description
        self._count = 0

    @classmethod
    def from_csv(cls, path: Path) -> "ReplaySource":
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"--replay {path}: no such file; give a run's samples.csv")
        with path.open(newline="") as stream:
            header = next(csv.reader(stream), [])
        missing = [column for column in _REQUIRED if column not in header]
        if missing:
            raise NotARunFile(path, f"no {missing[0]} column")
        return cls(_rows(path), f"replay of {path}")

    def stream(self, interval_s: float, stop: threading.Event) -> Iterator[Sample | Event]:
        samples = iter(self._samples)
        while not stop.is_set():
            sample = next(samples, None)
            if sample is None:
                return
            self._count += 1
            yield sample

    def cost(self) -> dict[str, Any]:
        """A replay samples nothing: it says how many samples it played, and no cost."""
        return {"replayed_samples": self._count}

    def close(self) -> None:
        """Rows are read as they are replayed: nothing is held open after the last."""


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _rows(path: Path) -> Iterator[Sample]:
    """Each complete row of a samples.csv as a Sample. A last row without its newline was torn by
    a crash or a full disk and is skipped, as is a row without a time or an RSS."""
    with path.open(newline="") as stream:
        for row in csv.DictReader(line for line in stream if line.endswith("\n")):
            values = {column: _number(row.get(column)) for column in SAMPLE_COLUMNS}
            # A soak's own time is its simulated clock; a watch's two clocks are the same.
            t_s = values["t_sim_s"] if values["t_sim_s"] is not None else values["t_wall_s"]
            rss_bytes = values["rss_bytes"]
            if t_s is None or rss_bytes is None:
                continue
            yield Sample(
                t_wall_s=t_s,
                t_sim_s=t_s,
                rss_bytes=int(rss_bytes),
                uss_bytes=None if values["uss_bytes"] is None else int(values["uss_bytes"]),
                swap_bytes=int(values["swap_bytes"] or 0),
                cpu_percent=values["cpu_percent"] or 0.0,
                py_heap_bytes=None if values["py_heap_bytes"] is None else int(values["py_heap_bytes"]),
            )
