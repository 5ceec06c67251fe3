"""Real processes shared by the tests: one that leaks at a known rate, one that stays flat."""

import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent / "helpers"
LEAK_BYTES_PER_S = 20 * 2**20


def start(*args: str) -> subprocess.Popen:
    """A Python child that prints "ready" once started; returns when it has."""
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def leaker():
    process = start(str(HELPERS / "leaker.py"), str(LEAK_BYTES_PER_S))
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def idle():
    process = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 1 MiB filesystem that fills up: disk-full faults without filling the machine."""
    import os

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)
