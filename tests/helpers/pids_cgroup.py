"""A real fork failure: a pids cgroup that lets a process make no new task (fork gets EAGAIN).

Root is not held to RLIMIT_NPROC, but it is held to a cgroup's pids.max. The cgroup is made
beside the process's own (cgroup v1's pids hierarchy, or v2 where it has the pids controller);
on leaving, every process in it goes back where it came from and the cgroup is removed.
"""

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_names = itertools.count()


def _own_pids_cgroup(pid: int) -> Path | None:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            return Path("/sys/fs/cgroup/pids") / path.lstrip("/")
        if controllers == "":
            unified = Path("/sys/fs/cgroup") / path.lstrip("/")
            with contextlib.suppress(OSError):
                if "pids" in (unified / "cgroup.subtree_control").read_text().split():
                    return unified
    return None


class PidsCgroup:
    def __init__(self, path: Path) -> None:
        self.path = path

    def admit(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def no_new_tasks(self) -> None:
        """From now on a fork (or a new thread) by anyone in here fails; what runs goes on running.
        Not the count it holds: a thread that ends would leave room for one fork."""
        (self.path / "pids.max").write_text("0")

    def unlimited(self) -> None:
        (self.path / "pids.max").write_text("max")


@contextlib.contextmanager
def pids_cgroup() -> Iterator[PidsCgroup]:
    home = _own_pids_cgroup(os.getpid())
    if home is None:
        pytest.skip("this machine mounts no pids cgroup: a real fork failure needs one")
    path = home / f"leakhunt-test-{os.getpid()}-{next(_names)}"
    try:
        path.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot make a pids cgroup here ({exc}): a real fork failure needs one")
    try:
        yield PidsCgroup(path)
    finally:
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError, OSError):
                (home / "cgroup.procs").write_text(pid)
        path.rmdir()
