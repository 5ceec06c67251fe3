"""The CLI run in this process, as `leakhunt ...` would run: `leakhunt.cli.main()` with its
arguments, stdout and stderr captured apart, its exit code returned.

`main()` keeps state between calls: its rich consoles are built once (`_console` is cached, and a
console reads COLUMNS when it is made) and `--debug` is remembered. Each call starts from a fresh
state, at a fixed width, in a working folder of its own (a run without --out writes reports/
there, never into the checkout)."""

import atexit
import contextlib
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from leakhunt import cli

SCRATCH = Path(tempfile.mkdtemp(prefix="leakhunt-commands-cwd-"))
# Removed when the interpreter exits, not when a session ends: mutmut runs many sessions in one
# interpreter, and this module (imported once) would send the next session's runs to a folder
# that no longer exists.
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)
COLUMNS = "100"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def leakhunt(*args: str | Path, cwd: Path | None = None) -> Ran:
    """`leakhunt ARGS` in process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv, os.getcwd(), os.environ.get("COLUMNS")
    sys.argv = ["leakhunt", *map(str, args)]
    os.environ["COLUMNS"] = COLUMNS
    cli._console.cache_clear()
    cli._state["debug"] = False
    SCRATCH.mkdir(exist_ok=True)
    os.chdir(cwd or SCRATCH)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved[0]
        os.chdir(saved[1])
        if saved[2] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved[2]
        cli._console.cache_clear()  # the next console writes to the real streams again
        cli._state["debug"] = False
    return Ran(code, out.getvalue(), err.getvalue())


def refusal(*args: str | Path, cwd: Path | None = None) -> str:
    """The one line a refused command prints: exit 2, nothing on stdout, one line on stderr."""
    ran = leakhunt(*args, cwd=cwd)
    assert (ran.code, ran.out) == (2, ""), ran
    assert len(ran.err_lines) == 1, ran.err
    return ran.err_lines[0]


def interrupt_once_sampled(samples_csv: Path, rows: int) -> threading.Thread:
    """SIGTERM (Ctrl-C's twin) to this process's main thread once `samples_csv` holds `rows`."""

    def wait_then_interrupt() -> None:
        deadline_s = time.monotonic() + 300
        while time.monotonic() < deadline_s:
            with contextlib.suppress(FileNotFoundError):
                if len(samples_csv.read_text().splitlines()) > rows:
                    break
            time.sleep(0.01)  # polls the run's own file: its rows, not the clock, end the wait
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    thread = threading.Thread(target=wait_then_interrupt, daemon=True)
    thread.start()
    return thread
