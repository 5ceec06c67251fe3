"""A real Prometheus on 127.0.0.1 for the fleet tests: backfilled blocks and live scrapes.

`backfill` writes OpenMetrics (one family's series together, each in time order, timestamps in
seconds, `# EOF` last) and turns it into blocks with `promtool tsdb create-blocks-from
openmetrics`, before the server starts on the same data folder. `PrometheusServer` starts the
server with its own config and data folder and waits for its "ready" log line. Each test
worker starts its own server: a port taken by another worker between our look and the server's
bind ends that server at once, and it is started again on another port (tests/helpers/ports.py).
The server and the metrics children die with the test process that started them.
"""

import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from leakhunt.sampling.lifeline import dies_with_parent
from tests.helpers.ports import BIND_ATTEMPTS, free_port
from tests.helpers.processes import stop

HELPERS = Path(__file__).resolve().parent
READY_TIMEOUT_S = 60.0


def need_prometheus() -> None:
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `make system-deps` (it installs the prometheus package)")


@dataclass
class Backfilled:
    """One series to backfill: metric name, labels, times (s) and whole-number values."""

    metric: str
    labels: dict[str, str]
    t_s: np.ndarray
    values: np.ndarray


def write_openmetrics(path: Path, series: Iterable[Backfilled]) -> None:
    by_metric: dict[str, list[Backfilled]] = {}
    for one in series:
        by_metric.setdefault(one.metric, []).append(one)
    with path.open("w") as out:
        for metric, members in by_metric.items():
            out.write(f"# TYPE {metric} gauge\n")
            for one in members:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(one.labels.items()))
                head = f"{metric}{{{labels}}}" if labels else metric
                lines = [f"{head} {v:.17g} {t:.3f}\n" for t, v in zip(one.t_s, one.values, strict=True)]
                out.writelines(lines)
        out.write("# EOF\n")


def backfill(data_dir: Path, series: Iterable[Backfilled], work_dir: Path) -> None:
    source = work_dir / "backfill.om"
    write_openmetrics(source, series)
    result = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    source.unlink()


class PrometheusServer:
    def __init__(self, root: Path, scrape_targets: dict[str, list[tuple[int, dict[str, str]]]] | None = None):
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets = scrape_targets or {}
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def _config(self) -> Path:
        lines = ["global:", "  scrape_interval: 1s", "  evaluation_interval: 1s", "scrape_configs:"]
        for job, targets in self.targets.items():
            lines += [f"  - job_name: {job}", "    static_configs:"]
            for port, labels in targets:
                lines.append(f"      - targets: ['127.0.0.1:{port}']")
                if labels:
                    lines.append("        labels:")
                    lines += [f"          {k}: '{v}'" for k, v in labels.items()]
        if not self.targets:
            lines[-1] = "scrape_configs: []"
        path = self.root / "prometheus.yml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> "PrometheusServer":
        for _ in range(BIND_ATTEMPTS):
            if self._start_on_port():
                return self
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise AssertionError(f"prometheus found no free port in {BIND_ATTEMPTS} attempts")

    def _start_on_port(self) -> bool:
        """True once the server is ready; False when its port was taken first (try another)."""
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={self._config()}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
                "--log.level=info",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C meant for pytest reaches it through stop() only
            preexec_fn=dies_with_parent(signal.SIGTERM),  # a killed test run leaves no server behind
        )
        log_path = self.root / "prometheus.log"
        process = self.process
        said: list[str] = []  # "ready", or "ended" once its log closes (the server exited)
        told = threading.Event()

        def copy_log() -> None:
            # Its log goes to a file, and its "ready" line is the event start() waits on.
            with log_path.open("w") as log:
                for line in process.stderr:
                    log.write(line)
                    log.flush()
                    if "Server is ready to receive web requests" in line:
                        said.append("ready")
                        told.set()
            said.append("ended")
            told.set()

        reader = threading.Thread(target=copy_log, daemon=True)
        reader.start()
        self._reader = reader
        told.wait(READY_TIMEOUT_S)
        if said[:1] == ["ready"] and "address already in use" not in log_path.read_text():
            return True
        self.stop()
        reader.join(timeout=READY_TIMEOUT_S)
        log = log_path.read_text()
        if "address already in use" in log:
            return False
        raise AssertionError("prometheus did not become ready: " + log[-2000:])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(self.process)
            # Its log pipe is closed here, once the reader has seen its end: left to the garbage
            # collector, its ResourceWarning failed whichever test happened to run then.
            if self._reader is not None:
                self._reader.join(timeout=READY_TIMEOUT_S)
            if self.process.stderr is not None:
                self.process.stderr.close()

    def count_points(self, query: str) -> int:
        """How many points the fewest-pointed series of `query` has over the last 10 minutes."""
        response = httpx.get(
            f"{self.url}/api/v1/query", params={"query": f"count_over_time(({query})[10m:1s])"}
        )
        result = response.json()["data"]["result"]
        return min((int(float(r["value"][1])) for r in result), default=0)


def start_metrics_child(mode: str, rate_bytes_per_s: float) -> tuple[subprocess.Popen, int]:
    """A real process exposing its own process_resident_memory_bytes on a port it chose itself."""
    process = subprocess.Popen(
        [sys.executable, str(HELPERS / "metrics_child.py"), mode, str(rate_bytes_per_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=dies_with_parent(signal.SIGTERM),
    )
    word, port = process.stdout.readline().split()
    assert word == "ready"
    return process, int(port)
