"""A live agent so `watch` can attribute a real service: summaries on a Unix socket.

    python -m leakhunt.agent [--socket PATH] -- service.py args...
    import leakhunt.agent; leakhunt.agent.start()

The agent is a daemon thread blocked in accept(): it costs nothing between requests. It serves
one JSON request per line ({"op": "summary", "tracemalloc": false} or {"op": "ping"}) and answers
one JSON line. Only the process's own user may talk to it: the socket lives in a 0700 directory
with mode 0600, and every peer's uid is checked with SO_PEERCRED. Nothing a request does can
take the host down: any error becomes an {"error": ...} reply and the connection is closed.
"""

import contextlib
import json
import os
import runpy
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.probe import Probe

MAX_REQUEST_BYTES = 4096


def default_socket_path(pid: int | None = None) -> Path:
    directory = Path(tempfile.gettempdir()) / f"leakhunt-{os.getuid()}"
    return directory / f"agent-{pid or os.getpid()}.sock"


def _peer_uid(connection: socket.socket) -> int:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class Agent:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = Path(socket_path)
        self.probe = Probe()
        self.started_s = time.monotonic()
        directory = self.socket_path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # the socket is created 0600, never briefly open to others
        try:
            self.server.bind(str(self.socket_path))
        finally:
            os.umask(previous)
        self.server.listen(4)

    def serve_forever(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed: the host is shutting down
            with connection:
                self._serve(connection)

    def _serve(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(5.0)
            # The request line is read (bounded) before anything is answered, so a refused peer
            # gets its refusal rather than a connection closed under its write.
            line = connection.makefile("rb").readline(MAX_REQUEST_BYTES)
            if _peer_uid(connection) != os.getuid():
                self._reply(connection, {"error": "refused: the agent answers only its own user"})
                return
            self._reply(connection, self.handle(json.loads(line)))
        except Exception as exc:  # no request, however malformed, may take the host process down
            with contextlib.suppress(OSError):
                self._reply(connection, {"error": f"{type(exc).__name__}: {exc}"})

    def handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return {"error": 'a request is a JSON object such as {"op": "summary"}'}
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "summary":
            t_s = time.monotonic() - self.started_s
            return self.probe.take(t_sim_s=t_s, t_wall_s=t_s)
        return {"error": f"unknown op {op!r}: use summary or ping"}

    @staticmethod
    def _reply(connection: socket.socket, payload: dict[str, Any]) -> None:
        connection.sendall(json.dumps(payload, default=str).encode() + b"\n")

    def close(self) -> None:
        self.server.close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def start(socket_path: str | Path | None = None) -> Agent:
    """Start the agent in a daemon thread of this process; returns it (its socket_path)."""
    agent = Agent(Path(socket_path) if socket_path else default_socket_path())
    threading.Thread(target=agent.serve_forever, name="leakhunt-agent", daemon=True).start()
    return agent


def check_socket_is_private(socket_path: Path) -> None:
    """Refuse a socket another user could have planted or could read."""
    try:
        info = os.stat(socket_path)
    except FileNotFoundError:
        raise UsageError(
            f"no leakhunt agent socket at {socket_path}: start the service under "
            "`python -m leakhunt.agent -- service.py`"
        ) from None
    if not stat.S_ISSOCK(info.st_mode):
        raise UsageError(f"{socket_path} is not a socket")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UsageError(
            f"refusing agent socket {socket_path}: it must be owned by you and not "
            f"open to group or others (mode {stat.S_IMODE(info.st_mode):o})"
        )


def request(socket_path: Path, payload: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    """One request to an agent; its reply."""
    check_socket_is_private(Path(socket_path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout_s)
        try:
            client.connect(str(socket_path))
            client.sendall(json.dumps(payload).encode() + b"\n")
            line = client.makefile("rb").readline()
        except OSError as exc:
            raise RunError(f"the agent at {socket_path} did not answer: {exc}") from None
    reply = json.loads(line) if line else {"error": "the agent closed the connection"}
    if "error" in reply:
        raise RunError(f"the agent at {socket_path} refused: {reply['error']}")
    return reply


def request_summary(socket_path: Path, timeout_s: float = 30.0) -> dict[str, Any]:
    return request(socket_path, {"op": "summary"}, timeout_s)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    socket_path = None
    if args[:1] == ["--socket"] and len(args) >= 2:
        socket_path, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.stderr.write("usage: python -m leakhunt.agent [--socket PATH] -- script.py [args...]\n")
        sys.exit(2)
    agent = start(socket_path)
    sys.stderr.write(f"leakhunt agent listening on {agent.socket_path}\n")
    sys.stderr.flush()
    sys.argv = args
    try:
        runpy.run_path(args[0], run_name="__main__")
    finally:
        agent.close()


if __name__ == "__main__":
    main()
