"""`make mutate`'s summary: the mutation score and every survivor not listed as equivalent.

Reads mutmut's own counts (mutants/mutmut-cicd-stats.json) and `mutmut results`. docs/decisions.md
names, in backquotes and with one line of why each, the equivalent mutants (its paragraph
"Equivalent mutants") and the known survivors no test kills yet ("Mutants not killed").
Prints the score per package (killed / (checked - listed equivalents), with a 95 % interval where
only a sample was checked: `make mutate SAMPLE=N`) and exits 1 when an area misses its target
(TARGETS): 90 % in analysis/ and units.py, 85 % in the rest of the package.
"""

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"`(leakhunt\.[^`\s]+__mutmut_\d+)`")
# The console script beside this interpreter: `python -m mutmut` re-imports its __main__.
MUTMUT = str(Path(sys.executable).with_name("mutmut"))


def listed_mutants(heading: str, decisions: Path = ROOT / "docs" / "decisions.md") -> set[str]:
    """Mutant names in the paragraph of decisions.md that starts with **heading."""
    paragraphs = decisions.read_text().split("\n**")
    return {name for p in paragraphs if p.startswith(heading) for name in _NAME.findall(p)}


def equivalent_mutants() -> set[str]:
    return listed_mutants("Equivalent mutants")


# A mutant that makes the tests run past mutmut's CPU limit is one the suite catches too (its
# pytest-timeout fails the test), as Stryker and PIT count it.
DETECTED = {"killed", "timeout"}

# Where mutation testing looks, and the share of its mutants the tests must kill there.
TARGETS = {"analysis/ and units.py": 0.90, "the rest": 0.85}


def area(name: str) -> str:
    """The target a mutant counts toward: analysis/ and units.py, or the rest of the package."""
    in_analysis = name.split(".x", 1)[0].startswith(("leakhunt.analysis.", "leakhunt.units"))
    return "analysis/ and units.py" if in_analysis else "the rest"


def package(name: str) -> str:
    """The folder or module a mutant is in, as the score table names it (report/, sampling/store.py)."""
    parts = name.split(".x", 1)[0].split(".")[1:]
    if len(parts) == 1:
        return f"{parts[0]}.py"
    if parts[0] in ("sampling", "workload"):
        return f"{parts[0]}/{parts[1]}.py"
    return f"{parts[0]}/"


def mutant_statuses() -> dict[str, str]:
    """Mutant name -> mutmut's status (killed, survived, no tests, timeout...) for every mutant."""
    out = subprocess.run(
        [MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    rows = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in rows}


def score(killed: int, equivalent: int, checked: int) -> float:
    """The mutation score: the share killed of the mutants that could be killed at all."""
    return killed / (checked - equivalent) if checked > equivalent else 1.0


def interval(killed: int, equivalent: int, checked: int) -> tuple[float, float]:
    """95 % Wilson interval of the score when `checked` is a random sample of the package."""
    from scipy.stats import binomtest

    if checked <= equivalent:
        return 1.0, 1.0
    ci = binomtest(killed, checked - equivalent).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def main(argv: list[str]) -> int:
    """`--sample N [PATTERN ...]`: score only the sample `make mutate SAMPLE=N` drew, so that
    mutants checked by earlier runs (other samples, older tests) do not enter its estimate.
    `--results STARTED_UNIX_S` (first) also writes each package's row into the score table of
    benchmarks/results.md (`--into FILE` after it: another results.md, e.g. a checkout's from a
    worktree's mutants/), with when, by which command and how long since STARTED_UNIX_S; the rows
    of packages this run did not check are kept. `make mutate` passes its own start."""
    started_unix_s, into = None, None
    if argv[:1] == ["--results"]:
        started_unix_s, argv = float(argv[1]), argv[2:]
        if argv[:1] == ["--into"]:
            into, argv = Path(argv[1]), argv[2:]
    lines: list[str] = []
    code = _score(argv, lines.append)
    sys.stdout.write("\n".join(lines) + "\n")
    if started_unix_s is not None:
        write_results(lines, argv, time.time() - started_unix_s, into)
    return code


HEADING = "Mutation score per package (`make mutate`)"
_TABLE_HEADER = (
    "| package | mutants | checked | killed or timed out | listed equivalent | score | 95 % interval "
    "| measured |",
    "|---|---:|---:|---:|---:|---:|---|---|",
)


def _rows(text: str) -> dict[str, str]:
    """Package -> its table row, from a section's or this run's lines (header and rule left out)."""
    return {
        line.split("|")[1].strip(): line.rstrip()
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| package")
    }


def write_results(lines: list[str], argv: list[str], wall_s: float, into: Path | None = None) -> None:
    """This run's rows in the score table of results.md; every other row and section kept."""
    from datetime import UTC, datetime

    from benchmarks.run import RESULTS, machine, split_sections, write_sections

    results = into or RESULTS
    command = "make mutate" + (f" SAMPLE={argv[1]}" if argv[:1] == ["--sample"] else "")
    patterns = argv[2:] if argv[:1] == ["--sample"] else []
    if patterns:
        command += " MUTANTS='" + " ".join(patterns) + "'"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, {wall_s / 60:.0f} min"
    sections = split_sections(results.read_text()) if results.exists() else {}
    rows = _rows(sections.get(HEADING, ""))
    rows.update({name: f"{row} {when} |" for name, row in _rows("\n".join(lines)).items()})
    section = "\n".join(
        [
            f"## {HEADING}",
            "",
            "Written by `make mutate` itself (benchmarks/mutation_score.py `--results`), a row a package, "
            "each saying when, by which command and in how long it was measured; last written on "
            f"{machine()}. A score is killed or timed out / (checked - equivalents listed in "
            "docs/decisions.md); a sampled package's interval is 95 % Wilson. `make mutate` lists "
            "the survivors.",
            "",
            *_TABLE_HEADER,
            *(rows[name] for name in sorted(rows)),
        ]
    )
    sections[HEADING] = section
    write_sections(sections, results)


def _score(argv: list[str], say: Callable[[str], object]) -> int:
    every = mutant_statuses()
    # A run limited with MUTANTS or SAMPLE leaves the rest unchecked: scores are over what was
    # checked, with an interval where that is a part of the package.
    statuses = {name: status for name, status in every.items() if status != "not checked"}
    if argv[:1] == ["--sample"]:
        import fnmatch

        from benchmarks.mutation_sample import sample

        patterns = argv[2:] or ["*"]
        drawn = set(sample([n for n in every if any(fnmatch.fnmatch(n, p) for p in patterns)], int(argv[1])))
        statuses = {name: status for name, status in statuses.items() if name in drawn}
        say(f"the sample of {argv[1]} a package: {len(drawn)} mutants, {len(statuses)} checked")
    if len(statuses) < len(every):
        unchecked = len(every) - len(statuses)
        say(f"{unchecked} of {len(every)} mutants not checked yet (left out of the scores)")
    survivors = {name: status for name, status in statuses.items() if status not in DETECTED}
    equivalent, known = equivalent_mutants(), listed_mutants("Mutants not killed")
    say("| package | mutants | checked | killed or timed out | listed equivalent | score | 95 % interval |")
    say("|---|---:|---:|---:|---:|---:|---|")
    all_by_package: dict[str, list[str]] = {}
    for name in every:
        all_by_package.setdefault(package(name), []).append(name)
    for name, members in sorted(all_by_package.items()):
        checked = [m for m in members if m in statuses]
        if not checked:
            continue
        killed = sum(statuses[m] in DETECTED for m in checked)
        listed = sum(m in equivalent for m in checked if statuses[m] not in DETECTED)
        low, high = interval(killed, listed, len(checked))
        shown = "all checked" if len(checked) == len(members) else f"{low:.1%} to {high:.1%}"
        say(
            f"| {name} | {len(members)} | {len(checked)} | {killed} | {listed} "
            f"| {score(killed, listed, len(checked)):.1%} | {shown} |"
        )
    met = True
    for name, share in TARGETS.items():
        mutants = [m for m in statuses if area(m) == name]
        if not mutants:
            continue
        killed = sum(statuses[m] in DETECTED for m in mutants)
        listed = sum(m in equivalent for m in mutants if statuses[m] not in DETECTED)
        achieved = score(killed, listed, len(mutants))
        ok = achieved >= share
        met &= ok
        say(
            f"{name}: {achieved:.1%} ({killed} killed of {len(mutants)} checked, {listed} listed "
            f"equivalent; target {share:.0%}): {'met' if ok else 'NOT MET'}"
        )
    for name in sorted(set(survivors) & known):
        say(f"  not killed (listed in docs/decisions.md, not equivalent): {name}")
    for name in sorted(set(survivors) - equivalent - known):
        say(f"  survivor {name}: {survivors[name]} (kill it with a test or list it as equivalent)")
    for name in sorted((equivalent | known) - set(survivors)):
        if name in statuses or name not in every:
            say(f"  note: {name} is listed in docs/decisions.md but was killed or no longer exists")
    # The targets decide: a survivor not yet explained is shown, not a failure of the run.
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
