"""A stand-in `systemctl` for the --unit paths (systemd cannot run here), put first on PATH.

It answers the one call leakhunt makes, `systemctl show -p MainPID,MemoryCurrent,MemoryMax,NRestarts
-- UNIT`, with the MainPID of a real process the test controls. Other arguments are refused on
stderr with exit 1; another unit gets what systemd says of a unit it does not know (MainPID=0).
Every call is logged, so a test checks what leakhunt asked. The unit restarts at a known call,
not at a known time: for its first `restart_after_calls` calls MainPID is the first PID, then
the second with NRestarts=1.
"""

from dataclasses import dataclass
from pathlib import Path

from leakhunt.sampling.local import UNIT_PROPERTIES


@dataclass(frozen=True)
class SystemctlStandIn:
    script: Path
    calls_log: Path
    unit: str

    def expected_call(self, unit: str | None = None) -> str:
        return f"show -p {UNIT_PROPERTIES} -- {unit or self.unit}"

    def calls(self) -> list[str]:
        return self.calls_log.read_text().splitlines() if self.calls_log.exists() else []

    def remove(self) -> None:
        self.script.unlink(missing_ok=True)


def install_systemctl(
    bin_dir: Path, unit: str, main_pids: tuple[int, int], restart_after_calls: int
) -> SystemctlStandIn:
    stand_in = SystemctlStandIn(bin_dir / "systemctl", bin_dir / "systemctl-calls.log", unit)
    first, second = main_pids
    stand_in.script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {stand_in.calls_log}\n'
        f'case "$*" in\n'
        f'  "show -p {UNIT_PROPERTIES} -- {unit}") ;;\n'
        f'  "show -p {UNIT_PROPERTIES} -- "*) echo MainPID=0; echo NRestarts=0; exit 0;;\n'
        '  *) echo "stand-in systemctl: unexpected arguments: $*" >&2; exit 1;;\n'
        "esac\n"
        f"if [ $(wc -l < {stand_in.calls_log}) -le {restart_after_calls} ]; then\n"
        f"  echo MainPID={first}; echo NRestarts=0\n"
        f"else\n  echo MainPID={second}; echo NRestarts=1\nfi\n"
        "echo MemoryCurrent=[not set]\necho MemoryMax=infinity\n"
    )
    stand_in.script.chmod(0o755)
    return stand_in
