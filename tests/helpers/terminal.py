"""A command run on a real terminal: a pseudo-terminal of a given size as its stdin, stdout and
stderr, the way a person at a shell runs it (rich then draws its live displays, colours and
cursor moves). Everything it wrote comes back as one text, read as it was written so a full pty
buffer never stalls it."""

import fcntl
import os
import pty
import struct
import sys
import termios
import threading

from tests.helpers.processes import spawn, stop

TERMINAL_DEADLINE_S = 300.0


def run_on_terminal(args: list[str], *, columns: int = 100, lines: int = 40, cwd=None) -> tuple[int, str]:
    """`python -m leakhunt ARGS` on a fresh pty: its exit code and all it wrote."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    try:
        process = spawn(
            [sys.executable, "-m", "leakhunt", *args],
            stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env=env,
        )  # fmt: skip
    finally:
        os.close(secondary)  # the child holds its own: the pty ends when the child's last copy closes
    written = bytearray()

    def read_all() -> None:
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: every copy of the other end is closed
                return
            if not chunk:
                return
            written.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    try:
        code = process.wait(TERMINAL_DEADLINE_S)
        reader.join(TERMINAL_DEADLINE_S)
    finally:
        stop(process)
        os.close(primary)
    return code, written.decode(errors="replace")
