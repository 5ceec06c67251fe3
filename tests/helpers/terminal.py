"""A command run on a real terminal: a pseudo-terminal of a given size as its stdin, stdout,
stderr and controlling terminal, the way a person at a shell runs it. rich then draws its live
displays, colours and cursor moves, and a typed Ctrl-C (byte 0x03) is turned into SIGINT by the
terminal itself. What the command writes is read as it is written, so a full pty buffer never
stalls it, and can be waited for."""

import fcntl
import os
import pty
import re
import struct
import sys
import termios
import threading

from tests.helpers.processes import spawn, stop

TERMINAL_DEADLINE_S = 300.0
CTRL_C = b"\x03"


def plain(text: str) -> str:
    """What a terminal shows of `text`, without its colours and cursor moves."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def _take_the_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # in the child's new session: its stdin's pty becomes its terminal


class Terminal:
    """`python -m leakhunt ARGS` on a fresh pty."""

    def __init__(self, args: list[str], *, columns: int = 100, lines: int = 40, cwd=None) -> None:
        self._primary, secondary = pty.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "NO_COLOR")}
        env["TERM"] = "xterm-256color"
        try:
            self.process = spawn(
                [sys.executable, "-m", "leakhunt", *args],
                stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env=env,
                also_in_child=_take_the_terminal,
            )  # fmt: skip
        finally:
            os.close(secondary)  # the child holds its own: the pty ends when the child's last copy closes
        self._written = bytearray()
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read_all, daemon=True)
        self._reader.start()

    def _read_all(self) -> None:
        while True:
            try:
                chunk = os.read(self._primary, 65536)
            except OSError:  # EIO: every copy of the other end is closed
                chunk = b""
            with self._changed:
                if not chunk:
                    self._ended = True
                    self._changed.notify_all()
                    return
                self._written.extend(chunk)
                self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return self._written.decode(errors="replace")

    def wait_for(self, pattern: str) -> None:
        """Until what the terminal shows (colours and cursor moves left out) matches the regular
        expression `pattern`; AssertionError if the command ends first."""

        def shown() -> bool:
            return re.search(pattern, plain(self._written.decode(errors="replace"))) is not None

        with self._changed:
            found = self._changed.wait_for(lambda: shown() or self._ended, TERMINAL_DEADLINE_S)
            assert found and shown(), self._written.decode(errors="replace")[-2000:]

    def type(self, keys: bytes) -> None:
        os.write(self._primary, keys)

    def finish(self) -> tuple[int, str]:
        """Its exit code and all it wrote, once it has ended."""
        try:
            code = self.process.wait(TERMINAL_DEADLINE_S)
            self._reader.join(TERMINAL_DEADLINE_S)
        finally:
            stop(self.process)
            os.close(self._primary)
        return code, self.text


def run_on_terminal(args: list[str], *, columns: int = 100, lines: int = 40, cwd=None) -> tuple[int, str]:
    """`python -m leakhunt ARGS` on a fresh pty, to its end: its exit code and all it wrote."""
    return Terminal(args, columns=columns, lines=lines, cwd=cwd).finish()
