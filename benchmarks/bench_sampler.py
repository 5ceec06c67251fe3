"""Live sampling cost: a local PID at 10 Hz, and one SSH channel over loopback."""

import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.run import table
from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.remote import RemoteSource
from leakhunt.sampling.sample import Sample

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(source, interval_s: float, n_samples: int) -> tuple[float, float, float]:
    """(wall_s, process CPU s of this whole process, samples) for n samples."""
    stop, seen = threading.Event(), 0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for item in source.stream(interval_s, stop):
        if isinstance(item, Sample):
            seen += 1
            if seen >= n_samples:
                stop.set()
    wall_s = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return wall_s, cpu_s, seen


def run() -> str:
    from tests.sampling.sshd import start_sshd

    idle = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    server = start_sshd()
    server.trust()
    try:
        wall_s, cpu_s, n = _run(LocalSource(pid=idle.pid), 0.1, 100)
        rows = [
            (
                "local PID at 10 Hz: tool CPU / wall (whole process)",
                f"{cpu_s / wall_s:.3%} of a core (target < 1 %)",
            ),
            ("local: CPU per sample", f"{cpu_s / n * 1e6:.0f} µs"),
        ]
        remote = RemoteSource(
            "vps", pid=idle.pid, ssh_config_path=server.ssh_config, known_hosts_path=server.known_hosts
        )
        wall_s, cpu_s, n = _run(remote, 0.0, 300)
        cost = remote.cost()
        remote.close()
        rows += [
            ("SSH, one channel, interval 0: samples per second", f"{n / wall_s:.0f} (target >= 10)"),
            ("SSH: remote loop CPU per sample", f"{cost['remote_cpu_s'] / n * 1e3:.2f} ms"),
            ("SSH: remote CPU at 1 Hz", f"{cost['remote_cpu_s'] / n:.2%} of a core (target < 1 %)"),
            ("SSH: local CPU per sample (parsing, paramiko)", f"{cpu_s / n * 1e3:.2f} ms"),
        ]
    finally:
        server.stop()
        idle.kill()
        idle.wait()
    lines = table("Live sampling (sampling/local.py, sampling/remote.py)", rows)
    lines.append("\nmprof and psrecord are measured beside leakhunt in Long watches and the peers.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
