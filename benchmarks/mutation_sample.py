"""`make mutate SAMPLE=N`: the names of a seeded random sample of N mutants from each package.

The whole scope is about 16,000 mutants, some 9-13 hours on 2 cores; N a package (100 gives a
score within about +-7 points at 95 %) takes under an hour and says where each package stands.
mutation_score.py then gives each package's score with its 95 % interval. The seed is fixed so
that reruns check the same mutants (mutmut keeps their results) until the code changes.

Usage: python -m benchmarks.mutation_sample N [PATTERN ...]   (patterns as mutmut's: fnmatch)
"""

import fnmatch
import random
import sys

from benchmarks.mutation_score import mutant_statuses, package

SEED = 20
"""Issue 20's number: any fixed seed would do."""


def sample(names: list[str], per_package: int, seed: int = SEED) -> list[str]:
    """Up to `per_package` names from each package, the same ones for the same names and seed."""
    by_package: dict[str, list[str]] = {}
    for name in sorted(names):
        by_package.setdefault(package(name), []).append(name)
    chosen = []
    for name, members in sorted(by_package.items()):
        # Seeded by package too: a package's sample does not depend on which others are drawn.
        rng = random.Random(f"{seed}:{name}")
        chosen += rng.sample(members, min(per_package, len(members)))
    return sorted(chosen)


def main(argv: list[str]) -> int:
    if not argv or not argv[0].isdigit():
        print("usage: python -m benchmarks.mutation_sample N [PATTERN ...]", file=sys.stderr)
        return 2
    patterns = argv[1:] or ["*"]
    names = [n for n in mutant_statuses() if any(fnmatch.fnmatch(n, p) for p in patterns)]
    print("\n".join(sample(names, int(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
