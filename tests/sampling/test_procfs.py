"""procfs.py: the numbers of /proc and systemctl, read the same way here and over SSH."""

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from leakhunt.sampling.procfs import CLOCK_TICKS_PER_S, parse_stat, parse_status, parse_systemctl_show
from tests.helpers.processes import spawn


def test_start_ticks_are_the_start_time_since_boot_the_kernel_gives_every_process():
    """With the PID they name one process: a PID reused by a later process has a later start."""
    first = spawn([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        first_stat = parse_stat(Path(f"/proc/{first.pid}/stat").read_text())
        started_s = psutil.boot_time() + first_stat.start_ticks / CLOCK_TICKS_PER_S
        assert started_s == pytest.approx(psutil.Process(first.pid).create_time(), abs=0.02)
    finally:
        first.stdin.close()
        first.wait()
    own = parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert first_stat.start_ticks > own.start_ticks


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields():
    text = "4242 (evil ) name (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 987654 1000 50"
    stat = parse_stat(text)
    assert (stat.cpu_ticks, stat.children_cpu_ticks, stat.start_ticks, stat.state) == (10, 3, 987654, "S")
    assert not stat.is_gone
    assert parse_stat(text.replace(" S 1 ", " Z 1 ")).is_gone


def test_status_gives_rss_and_swap_in_bytes_and_zero_where_absent():
    own = parse_status(Path(f"/proc/{os.getpid()}/status").read_text())
    assert own[0] > 10 * 2**20
    assert parse_status("Name:\tkthreadd\nState:\tS\n") == (0, 0)
    assert parse_status("VmRSS:\t  2048 kB\nVmSwap:\t  1024 kB\n") == (2048 * 1024, 1024 * 1024)


def test_systemctl_show_lines_become_a_dict():
    shown = parse_systemctl_show("MainPID=1234\nMemoryCurrent=[not set]\nNRestarts=2\n")
    assert shown == {"MainPID": "1234", "MemoryCurrent": "[not set]", "NRestarts": "2"}
