"""Run every benchmark in one go and write benchmarks/results.md with the machine and date.

`make bench` (or `python -m benchmarks.run [name ...]`). Each module's `run()` returns a markdown
section; figures are ratios measured within one run, so they compare across machines.
"""

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

MODULES = ("bench_soak", "bench_compare", "bench_fit", "bench_sampler", "bench_probe", "bench_cli")
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
    text = header + "\n" + "\n\n".join(sections) + "\n"
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
