"""Ending the child processes tests start."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen) -> None:
    """Kill, reap and close the pipes: a pipe left to the garbage collector raises a
    ResourceWarning in whichever later test happens to run the collection."""
    process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
