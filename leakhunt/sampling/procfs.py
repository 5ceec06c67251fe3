"""Parsing of /proc and `systemctl show` text, shared by local and remote sampling.

Remote hosts send the same files' text over SSH, so both paths read numbers the same way.
"""

import os
import re
from dataclasses import dataclass

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    cpu_ticks: int  # utime + stime
    children_cpu_ticks: int  # cutime + cstime (waited-for children, e.g. a sampling shell's cat)
    start_ticks: int  # since boot: with the PID, identifies one process across PID reuse
    state: str = "R"

    @property
    def is_gone(self) -> bool:
        """A zombie (or dead) process still has a /proc entry but no memory: it has exited."""
        return self.state in ("Z", "X")


def parse_stat(text: str) -> ProcStat:
    """/proc/PID/stat. The command name may hold spaces and parentheses: split after the last ')'."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17, starttime 22.
    return ProcStat(
        cpu_ticks=int(fields[11]) + int(fields[12]),
        children_cpu_ticks=int(fields[13]) + int(fields[14]),
        start_ticks=int(fields[19]),
        state=fields[0],
    )


_VM = re.compile(r"^(VmRSS|VmSwap):\s*(\d+)", re.MULTILINE)


def parse_status(text: str) -> tuple[int, int]:
    """(rss_bytes, swap_bytes) from /proc/PID/status (kernel threads have neither: 0). One regex
    pass rather than a loop over some 60 lines: this runs at every sample."""
    found = {name: int(kib) * 1024 for name, kib in _VM.findall(text)}
    return found.get("VmRSS", 0), found.get("VmSwap", 0)


def parse_systemctl_show(text: str) -> dict[str, str]:
    """`systemctl show -p A,B UNIT` lines `A=value`."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def int_or_none(text: str | None) -> int | None:
    """systemd prints `[not set]` or `infinity` where it has no number."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
