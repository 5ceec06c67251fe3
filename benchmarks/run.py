"""Run the benchmarks and write their sections of benchmarks/results.md with the machine and date.

`make bench` (or `python -m benchmarks.run [name ...]`). Each module's `run()` returns a markdown
section headed `## ...`; figures are ratios measured within one run, so they compare across
machines. A section not measured this time (another module's, or one recorded by hand such as
the mutation score) is kept as it was, with its own date: running one benchmark never erases
another's figures.
"""

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

MODULES = (
    "bench_soak",
    "bench_compare",
    "bench_repeat",
    "bench_fit",
    "bench_sampler",
    "bench_probe",
    "bench_probe_heaps",
    "bench_cli",
    "bench_detection",
    "bench_watch",
    "bench_watch_rss",
    "bench_fleet",
    "bench_plugin",
)
RESULTS = Path(__file__).resolve().parent / "results.md"


def table(heading: str, rows: list[tuple[str, str]]) -> list[str]:
    """A section's heading and its two-column table, as lines."""
    return [
        f"## {heading}",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
    ]


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


def split_sections(text: str) -> dict[str, str]:
    """`## heading` -> the section's whole text, in file order; the title block is dropped."""
    sections: dict[str, str] = {}
    for chunk in ("\n" + text).split("\n## ")[1:]:
        heading = chunk.split("\n", 1)[0].strip()
        sections[heading] = "## " + chunk.strip()
    return sections


def stamped(section: str) -> str:
    """The section with the date and machine it was measured on, under its heading."""
    heading, _, body = section.strip().partition("\n")
    return f"{heading}\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.\n{body}"


def main(names: list[str]) -> None:
    sections = split_sections(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in names or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError:
            print(f"skipping {name}: not present", file=sys.stderr)
            continue
        print(f"running {name} ...", file=sys.stderr)
        fresh = stamped(module.run())
        sections.update(split_sections(fresh))
    write_sections(sections)
    print(RESULTS.read_text())


def write_sections(sections: dict[str, str], results: Path = RESULTS) -> None:
    """results.md anew: its title block, then every section in order."""
    header = (
        "# Benchmark results\n\nEach section says when and where it was measured. "
        "Regenerate with `make bench`.\n"
    )
    results.write_text(header + "\n" + "\n\n".join(sections.values()) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
