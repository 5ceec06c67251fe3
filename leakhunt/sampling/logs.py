"""Follow a log command (`journalctl -u UNIT -f`) and turn matching lines into events.

"Cleanup logs show memory being freed" is one of the incident's success criteria: matching lines
(for example the cleanup task's "Memory cleanup complete") are marked on the curve. The command is
the user's own, run as given, locally or over the watch's SSH connection.
"""

import queue
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable

from leakhunt.errors import UsageError
from leakhunt.sampling.lifeline import dies_with_parent
from leakhunt.sampling.source import Event

CLOSE_READ_S = 2.0


class LogFollower:
    def __init__(self, pattern: str, lines: Iterable[str], close: Callable[[], None]) -> None:
        try:
            self.regex = re.compile(pattern)
        except re.error as exc:
            close()
            raise UsageError(f"--event-match {pattern!r} is not a regular expression: {exc}") from None
        self._events: queue.Queue[Event] = queue.Queue()
        self._close = close
        self._started_s = time.monotonic()
        self._reader = threading.Thread(target=self._follow, args=(lines,), daemon=True)
        self._reader.start()

    def _follow(self, lines: Iterable[str]) -> None:
        for line in lines:
            if self.regex.search(line):
                t_s = time.monotonic() - self._started_s
                self._events.put(
                    Event(t_s, "log", {"line": line.rstrip()[:300], "text": line.rstrip()[:120]})
                )

    def attach(self, lines: Iterable[str], close: Callable[[], None]) -> None:
        """Follow a new stream of the same command (after a reconnect); the old one is closed."""
        self._close()
        self._close = close
        self._reader = threading.Thread(target=self._follow, args=(lines,), daemon=True)
        self._reader.start()

    def drain(self) -> list[Event]:
        events = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    def close(self) -> None:
        """Stop the command, then read what it had already written, so `drain` still gets it."""
        self._close()
        # Bounded: a command whose own children keep the pipe open never sends end-of-file.
        self._reader.join(timeout=CLOSE_READ_S)


def follow_local(command: str, pattern: str) -> LogFollower:
    argv = shlex.split(command)
    if not argv:
        raise UsageError("--events needs a command, e.g. 'journalctl -u myservice -f'")
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=dies_with_parent(),  # never left following a log after leakhunt is killed
        )
    except OSError as exc:
        raise UsageError(f"--events {command!r} cannot start: {exc.strerror}") from None
    assert process.stdout is not None

    def close() -> None:
        process.terminate()
        process.wait()

    return LogFollower(pattern, process.stdout, close)
