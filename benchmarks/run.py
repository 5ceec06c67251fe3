"""Run every benchmark in one go and write benchmarks/results.md with the machine and date.

`make bench` (or `python -m benchmarks.run [name ...]`). Each module's `run()` returns a markdown
section; figures are ratios measured within one run, so they compare across machines. Sections
this run did not measure (another bench named on the command line, the `make mutate` record)
are kept as they were, so running one bench does not erase the others.
"""

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

MODULES = ("bench_soak", "bench_compare", "bench_fit", "bench_sampler", "bench_probe", "bench_detection")
RESULTS = Path(__file__).resolve().parent / "results.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # not Linux: platform's answer stands
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _sections(text: str) -> dict[str, str]:
    """`## heading` -> the section's text, in file order; the preamble before them is dropped."""
    parts = ("\n" + text).split("\n## ")[1:]
    return {part.split("\n", 1)[0]: "## " + part.rstrip("\n") for part in parts}


def merged(old_text: str, new_sections: list[str]) -> list[str]:
    """The old sections with the remeasured ones replaced in place, new ones appended."""
    fresh = _sections("\n\n".join(new_sections))
    sections = _sections(old_text)
    sections.update(fresh)
    return list(sections.values())


def main(names: list[str]) -> None:
    sections = []
    for name in names or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError:
            print(f"skipping {name}: not present", file=sys.stderr)
            continue
        print(f"running {name} ...", file=sys.stderr)
        sections.append(module.run())
    header = (
        f"# Benchmark results\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.\n"
        "Regenerate with `make bench`.\n"
    )
    old_text = RESULTS.read_text() if RESULTS.exists() else ""
    if names and "\n## " in old_text:
        # A partial run: the header's date is the full run's; the new sections carry their own.
        header = old_text.split("\n## ", 1)[0].rstrip("\n") + "\n"
    text = header + "\n" + "\n\n".join(merged(old_text, sections)) + "\n"
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
