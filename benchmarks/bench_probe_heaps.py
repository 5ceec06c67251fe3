"""The snapshot child's memory and walk time against the service's heap at 0.1, 0.5 and 1.5 GB
(issue 25): minutes and gigabytes, so a section of its own (`python -m benchmarks.run
bench_probe_heaps`)."""

from benchmarks.bench_probe import heap_costs


def run() -> str:
    return "\n".join(
        [
            "## Probe child against heap size (sampling/probe.py, sampling/walk.py)",
            "",
            "One probe per size of a service holding a list of small dicts, default --search-limit "
            "2,000,000; a size is skipped when the host cannot hold the service and its child twice.",
            "",
            heap_costs(),
        ]
    )


if __name__ == "__main__":
    print(run())
