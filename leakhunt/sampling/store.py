"""The run directory: the contract between commands (design section 5).

Everything is written as it happens: a sample row is flushed when taken, a summary line when
probed, meta.json rewritten atomically on every event, so an interrupted or killed run keeps
everything it saw and `leakhunt report` can render it later from these files alone.

A full disk or an I/O error becomes WriteFailed, naming the file and the error; a temporary file
is never left behind. Each run directory holds a small reserve file (RESERVE_BYTES) made when it
is created: when the disk fills, the reserve is deleted so that meta.json can still record how
the run ended. Readers tolerate what a crash or a full disk leaves: a torn last row or line is
dropped with a note, and a file that is not ours is a UsageError naming it.
"""

import contextlib
import errno
import io
import json
import operator
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample

if TYPE_CHECKING:
    import pandas as pd

META = "meta.json"
SAMPLES = "samples.csv"
SUMMARIES = "summaries.jsonl"
SUMMARY = "summary.json"
DEFAULT_ROOT = Path("reports")
RESERVE = ".leakhunt-reserve"
# Enough for meta.json's last rewrite many times over (a long run's meta is a few kB).
RESERVE_BYTES = 256 * 1024


class WriteFailed(RunError):
    """The disk is full, or another I/O error: exit 1, naming the file."""

    def __init__(self, path: Path, exc: OSError) -> None:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            what_to_do = "copy the run directory somewhere writable and run `leakhunt report` there"
        else:
            what_to_do = "free some space or choose another --out (every sample already written is kept)"
        super().__init__(f"cannot write {path}: {exc.strerror or exc}; {what_to_do}")
        self.path = path


class NotARunFile(UsageError):
    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is not a leakhunt run file ({why}); re-run, or remove it")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "run"


def temporary_twin(path: Path) -> Path:
    """`report.tmp.html` beside `report.html`: same suffix, so a writer picks the same format."""
    return path.with_name(f"{path.stem}.tmp{path.suffix}")


def write_atomic(path: Path, write: Any) -> None:
    """`write(tmp_path)`, then rename over `path`: readers see the old file or the new, never half."""
    tmp = temporary_twin(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise WriteFailed(path, exc) from None


def _write_json_atomic(path: Path, payload: Any) -> None:
    text = json.dumps(payload, indent=2, default=str) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text))


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError:
        raise NotARunFile(path, "not text") from None
    except json.JSONDecodeError as exc:
        raise NotARunFile(path, f"not JSON: {exc.msg} at line {exc.lineno}") from None


_sample_values = operator.attrgetter(*SAMPLE_COLUMNS)


class SampleWriter:
    """Appends one CSV row per sample, unbuffered, so a crash loses nothing already taken and a
    failed write is not retried (half a row at most: readers drop a torn last row)."""

    def __init__(self, stream: IO[bytes], path: Path) -> None:
        self._stream = stream
        self.path = path
        self.rows_written = 0
        self.bytes_written = 0

    def write(self, sample: Sample) -> None:
        # Numbers only, so no quoting: the row csv.writer would write, at a fraction of its cost
        # (this runs at every sample of an hours-long watch).
        data = (",".join("" if v is None else str(v) for v in _sample_values(sample)) + "\r\n").encode()
        try:
            if self._stream.write(data) < len(data):
                # What an unbuffered stream does when the disk fills mid-row, before ENOSPC on the
                # next write: stop here, or the next row would land on the torn one and both be lost.
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            raise WriteFailed(self.path, exc) from None
        self.bytes_written += len(data)
        self.rows_written += 1


class RunDir:
    """One run's directory. Create it with `RunDir.create`, open a finished one with `RunDir(path)`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.notes: list[str] = []  # what the readers dropped, for the report

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
            (path / RESERVE).write_bytes(bytes(RESERVE_BYTES))
        except OSError as exc:
            with contextlib.suppress(OSError):
                (path / RESERVE).unlink()
            raise UsageError(
                f"cannot write to output directory {path}: {exc.strerror or exc}; choose another with --out"
            ) from None
        return cls(path)

    def file(self, name: str) -> Path:
        return self.path / name

    # meta.json -----------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        path = self.file(META)
        if not path.exists():
            return {}
        meta = read_json_file(path)
        if not isinstance(meta, dict):
            raise NotARunFile(path, f"a JSON {type(meta).__name__}, not an object")
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        try:
            _write_json_atomic(self.file(META), meta)
        except WriteFailed:
            if not self.release_reserve():
                raise
            _write_json_atomic(self.file(META), meta)

    def discard_unsampled(self, also: tuple[str, ...] = ()) -> None:
        """Remove this folder if it holds no sample (a run that never started, or was stopped as it
        started): what a run writes, the files named in `also`, then the folder if that empties it."""
        with contextlib.suppress(OSError), self.file(SAMPLES).open("rb") as samples:
            if len(samples.read(1 << 16).splitlines()) > 1:
                return  # a header and a row: sampled
        for name in (RESERVE, META, SAMPLES, SUMMARIES, *also):
            with contextlib.suppress(FileNotFoundError):
                self.file(name).unlink()
        with contextlib.suppress(OSError):
            self.path.rmdir()  # anything else in it (not ours) keeps it

    def release_reserve(self) -> bool:
        """Delete the space reserve; True if that freed space (False: none left, or a read-only disk)."""
        try:
            self.file(RESERVE).unlink()
        except OSError:
            # A file system remounted read-only refuses the unlink too: the caller's WriteFailed
            # (what to do about a read-only disk) is the error to show, not this one.
            return False
        return True

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
        try:
            stream = path.open("ab", buffering=0)
            if fresh:
                stream.write((",".join(SAMPLE_COLUMNS) + "\n").encode())
        except OSError as exc:
            raise WriteFailed(path, exc) from None
        with stream:
            yield SampleWriter(stream, path)

    def read_samples(self) -> "pd.DataFrame":
        # pandas loads here, not at import: creating a run directory must not wait for it.
        import pandas as pd

        path = self.file(SAMPLES)
        if not path.exists():
            raise UsageError(f"{self.path} holds no {SAMPLES}: is it a leakhunt run directory?")
        complete, torn = _complete_rows(path)
        if torn:
            self.notes.append(f"{SAMPLES}: dropped a torn last row ({torn!r}) left by a crash or full disk")
        try:
            frame = pd.read_csv(io.StringIO(complete), on_bad_lines="skip")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise NotARunFile(path, str(exc).strip().splitlines()[0]) from None
        missing = [c for c in ("t_wall_s", "t_sim_s", "rss_bytes") if c not in frame.columns]
        if missing:
            raise NotARunFile(path, f"no {missing[0]} column")
        for column in SAMPLE_COLUMNS:
            if column in frame.columns:
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
        frame = frame.dropna(subset=["t_wall_s", "t_sim_s", "rss_bytes"])
        return frame.reset_index(drop=True)

    # summaries.jsonl -------------------------------------------------------------------------
    def append_summary(self, summary: dict[str, Any]) -> None:
        data = (json.dumps(summary, default=str) + "\n").encode()
        try:
            # Buffered, and closed at once: close() writes until the line is whole or raises, where
            # an unbuffered write would leave a line cut short by a full disk without a word.
            with self.file(SUMMARIES).open("ab") as stream:
                stream.write(data)
        except OSError as exc:
            raise WriteFailed(self.file(SUMMARIES), exc) from None

    def read_summaries(self) -> list[dict[str, Any]]:
        path = self.file(SUMMARIES)
        if not path.exists():
            return []
        try:
            lines = path.read_text().splitlines()
        except UnicodeDecodeError:
            raise NotARunFile(path, "not text") from None
        summaries = []
        for number, line in enumerate(lines, 1):
            try:
                summary = json.loads(line)
            except json.JSONDecodeError:
                summary = None
            if isinstance(summary, dict):
                summaries.append(summary)
            elif number == len(lines):
                self.notes.append(f"{SUMMARIES}: dropped a torn last line, left by a crash or a full disk")
            else:
                raise NotARunFile(path, f"line {number} is not a JSON object")
        return summaries

    # summary.json (written by analysis) ------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> None:
        _write_json_atomic(self.file(SUMMARY), summary)

    def is_run(self) -> bool:
        return self.file(SAMPLES).exists() and self.file(META).exists()


def _complete_rows(path: Path) -> tuple[str, str]:
    """The file up to its last newline, and the torn tail after it (empty if none)."""
    try:
        text = path.read_bytes().decode()
    except UnicodeDecodeError:
        raise NotARunFile(path, "not text") from None
    head, newline, tail = text.rpartition("\n")
    if not newline:
        return text, ""  # a header alone, written without its newline: nothing torn to drop
    return head + newline, tail
