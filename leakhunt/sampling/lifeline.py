"""Children that die with their parent: PR_SET_PDEATHSIG, so a SIGKILLed leakhunt leaves none.

A signal handler cannot run when leakhunt is killed with SIGKILL (or the OOM killer), so the
child asks the kernel instead: `prctl(PR_SET_PDEATHSIG, sig)` in the child between fork and exec
delivers `sig` to it the moment its parent exits. The kernel ties this to the thread that forked
the child, so children are started from threads that outlive them (the main thread, or a worker
that stops its target before it returns). If the parent died before prctl took effect, the
child sees a new parent pid and exits at once.

Only the direct child is covered: a command that forks its own children (a shell pipeline) must
pass the signal on itself.
"""

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# Loaded here, before any fork: the child then only makes the system call.
_libc = ctypes.CDLL(None, use_errno=True)


def dies_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn for subprocess.Popen: the child gets `sig` when this process dies."""
    parent_pid = os.getpid()

    def arrange() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)  # the parent is already gone: nobody will read this child

    return arrange
