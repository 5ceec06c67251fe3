"""One real Prometheus for the fleet tests: 6 h of backfilled shapes, and live children scraped
every second (a leak at a known rate, a sawtooth, a flat one) that the live tests wait for."""

import pytest

from tests.helpers.fleet_series import end_of_backfill_s, fleet_backfill
from tests.helpers.prometheus_server import PrometheusServer, backfill, need_prometheus, start_metrics_child

LIVE_LEAK_BYTES_PER_S = 2 * 2**20
LIVE = {"leak": LIVE_LEAK_BYTES_PER_S, "sawtooth": 4 * 2**20, "flat": 0}


@pytest.fixture(scope="session")
def fleet_server(tmp_path_factory):
    need_prometheus()
    root = tmp_path_factory.mktemp("prometheus")
    end_s = end_of_backfill_s()
    children = {}
    server = None
    try:
        for mode, rate in LIVE.items():
            children[mode] = start_metrics_child(mode, rate)
        targets = [(port, {"mode": mode}) for mode, (_, port) in children.items()]
        server = PrometheusServer(root, {"live": targets})
        backfill(server.data_dir, fleet_backfill(end_s), root)
        server.start()
        server.backfill_end_s = end_s
        server.children = {mode: process for mode, (process, _) in children.items()}
        yield server
    finally:  # whatever failed on the way, nothing is left running
        if server is not None:
            server.stop()
        for process, _ in children.values():
            process.stdin.close()
            process.wait(timeout=30)
            process.stdout.close()
