"""`make mutate`'s summary: the mutation score and every survivor not listed as equivalent.

Reads mutmut's own counts (mutants/mutmut-cicd-stats.json) and `mutmut results`. docs/decisions.md
names, in backquotes and with one line of why each, the equivalent mutants (its paragraph
"Equivalent mutants") and the known survivors no test kills yet ("Mutants not killed").
Exits 1 when fewer than 90 % of the mutants are killed or a survivor is named in neither list.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_KILLED_SHARE = 0.90
_NAME = re.compile(r"`(leakhunt\.[^`\s]+__mutmut_\d+)`")
# The console script beside this interpreter: `python -m mutmut` re-imports its __main__.
MUTMUT = str(Path(sys.executable).with_name("mutmut"))


def listed_mutants(heading: str, decisions: Path = ROOT / "docs" / "decisions.md") -> set[str]:
    """Mutant names in the paragraph of decisions.md that starts with **heading."""
    paragraphs = decisions.read_text().split("\n**")
    return {name for p in paragraphs if p.startswith(heading) for name in _NAME.findall(p)}


def equivalent_mutants() -> set[str]:
    return listed_mutants("Equivalent mutants")


def surviving_mutants() -> dict[str, str]:
    """Mutant name -> status for every mutant a test did not kill (survived, no tests, timeout...)."""
    out = subprocess.run([MUTMUT, "results"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    rows = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in rows}


def main() -> int:
    subprocess.run([MUTMUT, "export-cicd-stats"], cwd=ROOT, check=True)
    stats = json.loads((ROOT / "mutants" / "mutmut-cicd-stats.json").read_text())
    survivors = surviving_mutants()
    equivalent, known = equivalent_mutants(), listed_mutants("Mutants not killed")
    listed = sorted(set(survivors) & equivalent)
    not_killed = sorted(set(survivors) & known)
    unexplained = sorted(set(survivors) - equivalent - known)
    stale = sorted((equivalent | known) - set(survivors))
    total, killed = stats["total"], stats["killed"]
    print(f"mutation score: {killed / total:.1%} killed ({killed} of {total})")
    print(
        f"  not killed: {len(survivors)}, of which listed as equivalent in docs/decisions.md: {len(listed)}"
    )
    print(f"  score counting equivalent mutants as killed: {(killed + len(listed)) / total:.1%}")
    for name in not_killed:
        print(f"  not killed (listed in docs/decisions.md, not equivalent): {name}")
    for name in unexplained:
        print(f"  SURVIVOR {name}: {survivors[name]} (kill it with a test or list it as equivalent)")
    for name in stale:
        print(f"  note: {name} is listed in docs/decisions.md but was killed or no longer exists")
    return 0 if killed / total >= MIN_KILLED_SHARE and not unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
