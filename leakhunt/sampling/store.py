"""The run directory: the contract between commands (design section 5).

Everything is written as it happens: a sample row is flushed when taken, a summary line when
probed, meta.json rewritten atomically on every event, so an interrupted or killed run keeps
everything it saw and `leakhunt report` can render it later from these files alone.
"""

import csv
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leakhunt.errors import UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample

if TYPE_CHECKING:
    import pandas as pd

META = "meta.json"
SAMPLES = "samples.csv"
SUMMARIES = "summaries.jsonl"
SUMMARY = "summary.json"
DEFAULT_ROOT = Path("reports")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "run"


def _write_json_atomic(path: Path, payload: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


class SampleWriter:
    """Appends one CSV row per sample and flushes it, so a crash loses nothing already taken."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._writer = csv.writer(stream)
        self.rows_written = 0
        self.bytes_written = 0

    def write(self, sample: Sample) -> None:
        row = ["" if getattr(sample, c) is None else getattr(sample, c) for c in SAMPLE_COLUMNS]
        before = self._stream.tell()
        self._writer.writerow(row)
        self._stream.flush()
        self.bytes_written += self._stream.tell() - before
        self.rows_written += 1


class RunDir:
    """One run's directory. Create it with `RunDir.create`, open a finished one with `RunDir(path)`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, command: str, label: str, out: Path | None = None) -> "RunDir":
        """`out` if given, else `reports/<UTC-time>-<command>-<label>/`."""
        if out is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            out = DEFAULT_ROOT / f"{stamp}-{command}-{_slug(label)}"
        path = Path(out)
        if (path / SAMPLES).exists() or (path / "comparison.json").exists():
            # Appending a new run to an old one would mix two runs' samples; never overwrite either.
            raise UsageError(f"{path} already holds a run: choose another --out, or remove it first")
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UsageError(
                f"cannot write to output directory {path}: {exc.strerror or exc}; choose another with --out"
            ) from None
        return cls(path)

    def file(self, name: str) -> Path:
        return self.path / name

    # meta.json -----------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        path = self.file(META)
        return json.loads(path.read_text()) if path.exists() else {}

    def write_meta(self, meta: dict[str, Any]) -> None:
        _write_json_atomic(self.file(META), meta)

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        meta = self.read_meta()
        meta.update(fields)
        self.write_meta(meta)
        return meta

    def add_event(self, event: dict[str, Any]) -> None:
        meta = self.read_meta()
        meta.setdefault("events", []).append(event)
        self.write_meta(meta)

    # samples.csv ---------------------------------------------------------------------------
    @contextmanager
    def sample_writer(self) -> Iterator[SampleWriter]:
        path = self.file(SAMPLES)
        fresh = not path.exists() or path.stat().st_size == 0
        with path.open("a", newline="", buffering=1) as stream:
            if fresh:
                stream.write(",".join(SAMPLE_COLUMNS) + "\n")
                stream.flush()
            yield SampleWriter(stream)

    def read_samples(self) -> "pd.DataFrame":
        # pandas loads here, not at import: creating a run directory must not wait for it.
        import pandas as pd

        path = self.file(SAMPLES)
        if not path.exists():
            raise UsageError(f"{self.path} holds no {SAMPLES}: is it a leakhunt run directory?")
        # A run killed mid-write can leave a torn last line; keep every complete row.
        frame = pd.read_csv(path, on_bad_lines="skip")
        frame = frame.dropna(subset=["t_wall_s", "t_sim_s", "rss_bytes"])
        return frame.reset_index(drop=True)

    # summaries.jsonl -------------------------------------------------------------------------
    def append_summary(self, summary: dict[str, Any]) -> None:
        with self.file(SUMMARIES).open("a") as stream:
            stream.write(json.dumps(summary, default=str) + "\n")
            stream.flush()

    def read_summaries(self) -> list[dict[str, Any]]:
        path = self.file(SUMMARIES)
        if not path.exists():
            return []
        summaries = []
        for line in path.read_text().splitlines():
            try:
                summaries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn last line of an interrupted run
        return summaries

    # summary.json (written by analysis) ------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> None:
        _write_json_atomic(self.file(SUMMARY), summary)

    def is_run(self) -> bool:
        return self.file(SAMPLES).exists() and self.file(META).exists()
