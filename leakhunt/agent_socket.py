"""Where the agent's socket lives, and the checks that keep another local user out of it.

The default folder is `$XDG_RUNTIME_DIR/leakhunt` when the runtime folder exists (systemd makes
it per-user and 0700), otherwise `$TMPDIR/leakhunt-<uid>`. A folder that already exists is used
only if it is a real directory (not a symlink), owned by this user, and closed to group and
others: in a shared /tmp another user can create `leakhunt-<uid>` first, and trusting it would
let them read, replace or block the socket. The agent never changes the mode of a folder it did
not create; it only creates missing folders 0700.

Sockets of agents that died without cleaning up (SIGKILL, a power cut) are removed at start:
a socket nobody accepts on (ECONNREFUSED) is stale.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from pathlib import Path

from leakhunt.errors import UsageError

SOCKET_GLOB = "agent-*.sock"


def _temp_dir() -> str:
    """tempfile.gettempdir()'s choice, without importing tempfile (and random) into the service."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        if os.environ.get(name):
            return os.environ[name]
    return "/tmp"


def default_directory() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "leakhunt"
    return Path(_temp_dir()) / f"leakhunt-{os.getuid()}"


def default_socket_path(pid: int | None = None) -> Path:
    return default_directory() / f"agent-{pid or os.getpid()}.sock"


def check_directory_is_private(directory: Path) -> None:
    """Refuse a folder that is a symlink, someone else's, or open to group or others."""
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(
            f"{directory} is not a directory (a symlink or a file is there): remove it, or "
            "pass --socket PATH in a folder you own"
        )
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UsageError(
            f"{directory} is owned by uid {info.st_uid} with mode {stat.S_IMODE(info.st_mode):o}; "
            f"the agent needs a folder of uid {os.getuid()} with mode 700: remove it, or pass "
            "--socket PATH in a folder you own, or set XDG_RUNTIME_DIR"
        )


def prepare_directory(directory: Path, *, must_be_private: bool) -> None:
    """Create a missing folder 0700; check an existing one only when it is ours to trust."""
    try:
        os.makedirs(directory.parent, exist_ok=True)
        os.mkdir(directory, 0o700)
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise UsageError(
            f"cannot create {directory}: {exc.strerror}: pass --socket PATH in a folder you own"
        ) from None
    if not os.path.isdir(directory):
        raise UsageError(f"{directory} is not a directory: pass --socket PATH in a folder you own")
    if created or must_be_private:
        check_directory_is_private(directory)


def is_stale(socket_path: Path) -> bool:
    """True when no process accepts on the socket: its agent died without removing it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path))
        except OSError as exc:
            return exc.errno == errno.ECONNREFUSED
    return False


def remove_stale_sockets(directory: Path) -> list[Path]:
    """Remove sockets in our private folder that no process accepts on; returns them."""
    removed = []
    for path in directory.glob(SOCKET_GLOB):
        if is_stale(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed
