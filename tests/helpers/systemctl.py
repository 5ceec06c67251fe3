"""A stand-in `systemctl` for the --unit paths (systemd cannot run here), put first on PATH.

It answers `systemctl show -p PROP,PROP... -- UNIT`, the one call leakhunt makes, as systemd does
for a service that restarts once (Restart=on-failure, say), with the PIDs of real processes the
test controls. The unit restarts at a known call, not at a known time:
- calls 1 .. `restart_after_calls`: running. MainPID is the first PID, NRestarts=0, and
  ExecMainStartTimestamp is when it started.
- the next `stopped_calls` calls: between stop and start. At the first of them the stand-in stops
  the first process (SIGTERM, as systemd stops a main process), then reports MainPID=0; NRestarts
  and ExecMainStartTimestamp keep the values of the run that ended.
- afterwards: running again. MainPID is the second PID, NRestarts=1, a new ExecMainStartTimestamp.
Properties are printed in the order asked; MemoryCurrent is `[not set]` and MemoryMax `infinity`
(no memory accounting), and a property it does not know is left out. Another unit gets what
systemd says of a unit it does not know (MainPID=0). Other arguments are refused on stderr with
exit 1. Every call is logged, so a test checks what leakhunt asked.
"""

from dataclasses import dataclass
from pathlib import Path

from leakhunt.sampling.local import UNIT_PROPERTIES

FIRST_START = "Sun 2026-12-06 08:00:00 UTC"
SECOND_START = "Sun 2026-12-06 09:30:00 UTC"


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
    bin_dir: Path, unit: str, main_pids: tuple[int, int], restart_after_calls: int, stopped_calls: int = 2
) -> SystemctlStandIn:
    stand_in = SystemctlStandIn(bin_dir / "systemctl", bin_dir / "systemctl-calls.log", unit)
    first, second = main_pids
    stopped_until = restart_after_calls + stopped_calls
    stand_in.script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {stand_in.calls_log}\n'
        'if [ $# -ne 5 ] || [ "$1" != show ] || [ "$2" != -p ] || [ "$4" != -- ]; then\n'
        '  echo "stand-in systemctl: unexpected arguments: $*" >&2; exit 1\n'
        "fi\n"
        f'if [ "$5" = {unit} ]; then\n'
        f'  n=$(grep -c -x -e "show -p .* -- {unit}" {stand_in.calls_log})\n'
        f"  if [ $n -le {restart_after_calls} ]; then\n"
        f"    pid={first}; restarts=0; started='{FIRST_START}'\n"
        f"  elif [ $n -le {stopped_until} ]; then\n"
        f"    [ $n -eq {restart_after_calls + 1} ] && kill -TERM {first} 2>/dev/null\n"
        f"    pid=0; restarts=0; started='{FIRST_START}'\n"
        "  else\n"
        f"    pid={second}; restarts=1; started='{SECOND_START}'\n"
        "  fi\n"
        "else\n"
        "  pid=0; restarts=0; started=''\n"
        "fi\n"
        "IFS=,\n"
        "for property in $3; do\n"
        '  case "$property" in\n'
        "    MainPID) echo MainPID=$pid;;\n"
        "    NRestarts) echo NRestarts=$restarts;;\n"
        '    ExecMainStartTimestamp) echo "ExecMainStartTimestamp=$started";;\n'
        '    MemoryCurrent) echo "MemoryCurrent=[not set]";;\n'
        "    MemoryMax) echo MemoryMax=infinity;;\n"
        "  esac\n"
        "done\n"
    )
    stand_in.script.chmod(0o755)
    return stand_in
