"""A live agent so `watch` can attribute a real service: summaries on a Unix socket.

    python -m leakhunt.agent [--socket PATH] -- service.py args...
    python -m leakhunt.agent [--socket PATH] -- -m http.server 8000
    import leakhunt.agent; leakhunt.agent.start()

The service runs as Python would run it: `-m module` or a script path, from any directory, with
the script's folder first on sys.path, its own argv, and its exit code (SystemExit, or 1 after an
uncaught exception) passed through.

The agent is a daemon thread blocked in accept(): it costs nothing between requests, and it
imports only small modules into the service (measured: see benchmarks/results.md). A summary is
a heap snapshot taken in a forked child (sampling/probe.py): the service pauses for the fork
only, and the child's JSON line is forwarded unparsed, stamped with the moment of the fork. It
serves one JSON request per line ({"op": "summary"} or {"op": "ping"}) and answers one line,
each connection in its own thread with a deadline for its request. Only the process's own user
may talk to it: the socket is 0600 in a private folder (agent_socket.py says which), and every
peer's uid is checked with SO_PEERCRED. Nothing a request does can take the host down: any error
becomes an {"error": ...} reply and the connection is closed. If the agent cannot start, the
service runs anyway and one line on stderr says why.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import stat
import struct
import sys
import threading
import time
from pathlib import Path

from leakhunt.agent_socket import default_socket_path, is_stale, prepare_directory, remove_stale_sockets
from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.probe import MAX_VISITED, Probe

MAX_REQUEST_BYTES = 4096
# Each connection gets its own thread and this long to send its request line, so an idle or
# slow client delays nobody else; past MAX_CLIENTS at once a client is told the agent is busy.
REQUEST_DEADLINE_S = 5.0
CHILD_DEADLINE_S = 300.0  # a snapshot child's time, unless the request sets one
MAX_CLIENTS = 32


def _peer_uid(connection: socket.socket) -> int:
    creds = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _read_request_line(connection: socket.socket, within_s: float = REQUEST_DEADLINE_S) -> bytes:
    """One line of at most MAX_REQUEST_BYTES, within `within_s` in all: one deadline for the
    whole request, so a client sending a byte now and then cannot hold its thread for ever."""
    deadline_s = time.monotonic() + within_s
    received = b""
    while b"\n" not in received and len(received) < MAX_REQUEST_BYTES:
        remaining_s = deadline_s - time.monotonic()
        if remaining_s <= 0:
            raise TimeoutError(f"no request line within {within_s:g} s")
        connection.settimeout(remaining_s)
        try:
            chunk = connection.recv(MAX_REQUEST_BYTES - len(received))
        except TimeoutError:
            raise TimeoutError(f"no request line within {within_s:g} s") from None
        if not chunk:
            break
        received += chunk
    return received.split(b"\n", 1)[0]


def _claim_socket_path(socket_path: Path) -> None:
    """Remove a stale socket at the path; refuse a live agent's socket or anything else."""
    try:
        info = os.lstat(socket_path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid():
        if is_stale(socket_path):
            socket_path.unlink()
            return
        raise UsageError(f"another agent is listening on {socket_path}: pass a different --socket PATH")
    raise UsageError(
        f"{socket_path} already exists and is not a socket of yours: pass a different --socket PATH"
    )


class Agent:
    def __init__(self, socket_path: Path | None = None, tracemalloc_frames: int = 0) -> None:
        self.socket_path = Path(socket_path) if socket_path else default_socket_path()
        self.probe = Probe(tracemalloc_frames=tracemalloc_frames)
        self.probe_lock = threading.Lock()  # one fork at a time, however many clients ask
        self.clients = threading.BoundedSemaphore(MAX_CLIENTS)
        self.thread_ident: int | None = None
        self.started_s = time.monotonic()
        directory = self.socket_path.parent
        # The default folder is trusted only if private; a folder the user named is theirs to
        # choose, and its mode is never changed (the socket itself is 0600 and peers are checked).
        prepare_directory(directory, must_be_private=socket_path is None)
        if socket_path is None:
            remove_stale_sockets(directory)
        _claim_socket_path(self.socket_path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # the socket is created 0600, never briefly open to others
        try:
            self.server.bind(str(self.socket_path))
        except OSError as exc:
            self.server.close()
            raise UsageError(
                # "AF_UNIX path too long" has no strerror: the exception's own words then.
                f"cannot listen on {self.socket_path}: {exc.strerror or exc}: pass --socket PATH"
            ) from None
        finally:
            os.umask(previous)
        self.server.listen(MAX_CLIENTS)
        self.closed = False

    def serve_forever(self) -> None:
        self.thread_ident = threading.get_ident()
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # closed: the host is shutting down
            if not self.clients.acquire(blocking=False):
                with connection, contextlib.suppress(OSError):
                    self._reply(connection, {"error": f"busy: {MAX_CLIENTS} clients already connected"})
                continue
            threading.Thread(target=self._serve_and_release, args=(connection,), daemon=True).start()

    def _serve_and_release(self, connection: socket.socket) -> None:
        try:
            with connection:
                self._serve(connection)
        finally:
            self.clients.release()

    def _serve(self, connection: socket.socket) -> None:
        try:
            # The request line is read (bounded) before anything is answered, so a refused peer
            # gets its refusal rather than a connection closed under its write.
            line = _read_request_line(connection)
            if _peer_uid(connection) != os.getuid():
                self._reply(connection, {"error": "refused: the agent answers only its own user"})
                return
            connection.settimeout(None)
            reply = self.handle(json.loads(line))
            if isinstance(reply, bytes):
                connection.sendall(reply)
            else:
                self._reply(connection, reply)
        except Exception as exc:  # no request, however malformed, may take the host process down
            with contextlib.suppress(OSError):
                self._reply(connection, {"error": f"{type(exc).__name__}: {exc}"})

    def handle(self, request: object) -> dict | bytes:
        if not isinstance(request, dict):
            return {"error": 'a request is a JSON object such as {"op": "summary"}'}
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "summary":
            max_visited = request.get("max_visited", MAX_VISITED)
            if not isinstance(max_visited, int) or isinstance(max_visited, bool) or max_visited < 1:
                return {"error": f"max_visited is a positive number of objects, got {max_visited!r}"}
            deadline_s = request.get("deadline_s", CHILD_DEADLINE_S)
            if not isinstance(deadline_s, int | float) or isinstance(deadline_s, bool) or not deadline_s > 0:
                return {"error": f"deadline_s is a positive number of seconds, got {deadline_s!r}"}
            with self.probe_lock:
                self.probe.max_visited = max_visited
                self.probe.timeout_s = float(deadline_s)
                frames = self._service_frames()
                t_s = time.monotonic() - self.started_s
                try:
                    return self.probe.take_line(t_sim_s=t_s, t_wall_s=t_s, frames=frames)
                finally:
                    del frames
        return {"error": f"unknown op {op!r}: use summary or ping"}

    def _service_frames(self) -> list:
        """The frames of the service's threads (not the agent's): roots of the holders' paths."""
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        return [
            (names.get(ident, str(ident)), frame)
            for ident, frame in sys._current_frames().items()
            if ident != self.thread_ident
        ]

    @staticmethod
    def _reply(connection: socket.socket, payload: dict) -> None:
        connection.sendall(json.dumps(payload, default=str).encode() + b"\n")

    def close(self) -> None:
        """Stop listening and remove the socket; safe to call twice (atexit, finally, a signal)."""
        if self.closed:
            return
        self.closed = True
        self.server.close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def start(socket_path: str | Path | None = None, tracemalloc_frames: int | None = None) -> Agent:
    """Start the agent in a daemon thread of this process; returns it (its socket_path).

    `tracemalloc_frames` > 0 traces allocations with that many frames, so summaries name the
    allocating lines; by default the service's own PYTHONTRACEMALLOC says. The socket is removed
    when the process exits normally (atexit); `main` also catches SIGTERM.
    """
    if tracemalloc_frames is None:
        tracemalloc_frames = _frames_from_environment()
    agent = Agent(Path(socket_path) if socket_path else None, tracemalloc_frames)
    atexit.register(agent.close)
    threading.Thread(target=agent.serve_forever, name="leakhunt-agent", daemon=True).start()
    return agent


def _frames_from_environment() -> int:
    text = os.environ.get("PYTHONTRACEMALLOC", "")
    return int(text) if text.isdigit() else 0


def _close_on_signals(agent: Agent) -> None:
    """SIGTERM and SIGHUP remove the socket, then end the process as the signal would have.

    Only signals still at their default are taken, and a service that installs its own handler
    replaces ours: it then exits through `main`'s finally, which closes the agent too.
    """

    def close_and_die(signum: int, _frame: object) -> None:
        agent.close()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, close_and_die)


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


def request(socket_path: Path, payload: dict, timeout_s: float = 300.0) -> dict:
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


def request_summary(
    socket_path: Path,
    timeout_s: float = 300.0,
    max_visited: int | None = None,
    deadline_s: float | None = None,
) -> dict:
    """A summary; `max_visited` bounds its holder search and `deadline_s` its child's time (the
    agent's defaults otherwise)."""
    payload: dict = {"op": "summary"}
    if max_visited is not None:
        payload["max_visited"] = max_visited
    if deadline_s is not None:
        payload["deadline_s"] = deadline_s
    return request(socket_path, payload, timeout_s)


USAGE_LINE = (
    "usage: python -m leakhunt.agent [--socket PATH] [--tracemalloc FRAMES] -- "
    "(script.py | -m module) [args...]\n"
)
HELP = (
    USAGE_LINE
    + "\nRun a Python service with leakhunt's agent in it: `leakhunt watch --pid PID --agent` then\n"
    "asks it what grows and who holds it. The service runs as `python script.py` or\n"
    "`python -m module` would run it (its argv, its folder first on sys.path, its exit code).\n"
    "\n  --socket PATH         where the agent listens (default: a private folder per PID)\n"
    "  --tracemalloc FRAMES  trace allocations with this many frames, so what grows names the\n"
    "                        lines that allocate it (default: PYTHONTRACEMALLOC, else off)\n"
)


def _run_service(args: list[str]) -> None:
    """Run a script or `-m module` as `python ...` would, in this process."""
    import runpy

    if args[0] == "-m":
        sys.argv = ["-m", *args[2:]]  # runpy sets argv[0] to the module's file, as python -m does
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return
    script = os.path.abspath(args[0])
    sys.argv = list(args)
    sys.path[0] = os.path.dirname(script)  # python puts the script's folder first, not the cwd
    runpy.run_path(script, run_name="__main__")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        sys.stdout.write(HELP)
        sys.exit(0)
    socket_path, tracemalloc_frames = None, None
    while args[:1] in (["--socket"], ["--tracemalloc"]) and len(args) >= 2:
        if args[0] == "--socket":
            socket_path = args[1]
        elif args[1].isdigit() and int(args[1]) > 0:
            tracemalloc_frames = int(args[1])
        else:
            sys.stderr.write(f"error: --tracemalloc takes a number of frames (1 or more), got {args[1]!r}\n")
            sys.exit(2)
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args or (args[0] == "-m" and len(args) < 2):
        sys.stderr.write(USAGE_LINE)
        sys.exit(2)
    if args[0] != "-m" and not os.path.isfile(args[0]):
        sys.stderr.write(f"error: no such script {args[0]!r}: give a path to a .py file, or -m module\n")
        sys.exit(2)
    agent = None
    try:
        agent = start(socket_path, tracemalloc_frames)
    except UsageError as exc:
        # The service matters more than the agent: it runs anyway, and the user reads why not.
        sys.stderr.write(f"leakhunt agent not started ({exc.message}); the service runs without it\n")
    else:
        _close_on_signals(agent)
        sys.stderr.write(f"leakhunt agent listening on {agent.socket_path}\n")
    sys.stderr.flush()
    try:
        _run_service(args)
    finally:
        if agent is not None:
            agent.close()


if __name__ == "__main__":
    # One copy of this module: the service may `import leakhunt.agent` too.
    from leakhunt.agent import main as _main

    _main()
