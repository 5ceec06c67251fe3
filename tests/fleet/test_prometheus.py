"""The HTTP reader against a real server: chunks, identity, gaps, its errors, and what it costs."""

import gc
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from leakhunt.errors import LeakhuntError, UsageError
from leakhunt.fleet.prometheus import (
    MAX_POINTS_PER_SERIES,
    PrometheusClient,
    aligned_window,
    choose_step_s,
    match_labels,
    on_this_machine,
)
from tests.helpers.fleet_series import STEP_S
from tests.helpers.ports import refusing_port


def test_the_default_step_gives_15_s_over_6_h_and_never_below_a_second():
    assert choose_step_s(6 * 3600) == 15
    assert choose_step_s(24 * 3600) == 60
    assert choose_step_s(120) == 1


def test_the_window_is_aligned_to_the_step():
    window = aligned_window(1007.0, 2013.0, 15.0)
    assert (window.start_s, window.end_s) == (1020.0, 2010.0)
    assert window.n_points == 67
    with pytest.raises(UsageError, match="fewer than two steps"):
        aligned_window(1000.0, 1010.0, 15.0)


def test_a_long_range_is_read_in_chunks_under_the_server_limit_and_merged(fleet_server):
    end_s = fleet_server.backfill_end_s
    # 1 s over 5 h is 18,001 points per series: more than one request may carry.
    window = aligned_window(end_s - 5 * 3600, end_s, 1.0)
    assert window.n_points > MAX_POINTS_PER_SERIES
    query = 'svc_memory_bytes{job="backfill",shape="step"}'
    with PrometheusClient(fleet_server.url) as client:
        chunks = [(chunk, len(result)) for chunk, result in client.chunks(query, window)]
        (series,) = client.fetch(query, window)
    assert len(chunks) >= 2
    assert all(chunk.n_points <= MAX_POINTS_PER_SERIES for chunk, _ in chunks)
    assert series.labels == {"__name__": "svc_memory_bytes", "job": "backfill", "shape": "step"}
    assert len(series.t_s) == window.n_points  # every grid point once: no overlap, no hole
    assert np.all(np.diff(series.t_s) == 1.0)


def test_series_are_kept_apart_by_their_label_sets(fleet_server):
    end_s = fleet_server.backfill_end_s
    with PrometheusClient(fleet_server.url) as client:
        found = client.fetch('svc_memory_bytes{job="backfill"}', aligned_window(end_s - 3600, end_s, STEP_S))
    assert len(found) == 6
    assert len({s.name for s in found}) == 6
    assert all(len(s.t_s) == 241 for s in found)


def test_a_missing_stretch_is_a_gap_not_zeros(fleet_server):
    end_s = fleet_server.backfill_end_s
    with PrometheusClient(fleet_server.url) as client:
        (series,) = client.fetch(
            'svc_memory_bytes{job="gappy"}', aligned_window(end_s - 6 * 3600, end_s, STEP_S)
        )
    assert series.values.min() > 100e6
    # 40 min missing, less the 5 min Prometheus looks back for the last point before the hole.
    assert np.max(np.diff(series.t_s)) >= 30 * 60


def test_an_unreachable_server_is_one_clear_error():
    with (
        refusing_port() as port,
        PrometheusClient(f"http://127.0.0.1:{port}") as client,
        pytest.raises(UsageError) as caught,
    ):
        client.fetch("up", aligned_window(0, 600, 15))
    assert "cannot reach Prometheus" in caught.value.message and "\n" not in caught.value.message


def test_bad_promql_shows_the_servers_own_error(fleet_server):
    with PrometheusClient(fleet_server.url) as client, pytest.raises(UsageError) as caught:
        client.fetch("rate(svc_memory_bytes[5m]", aligned_window(0, 600, 15))
    assert "Prometheus refused the query" in caught.value.message
    assert "parse error" in caught.value.message


def test_a_url_that_is_not_one_is_refused_before_any_request():
    with pytest.raises(LeakhuntError, match="is not a URL"):
        PrometheusClient("127.0.0.1:9090")


def test_labels_match_on_what_both_sets_have():
    candidates = [{"__name__": "limit", "pod": "a"}, {"__name__": "limit", "pod": "b"}]
    assert match_labels({"__name__": "mem", "pod": "b", "container": "x"}, candidates) == 1
    assert match_labels({"pod": "c"}, candidates) is None
    assert match_labels({"node": "n1"}, candidates) is None  # both fit equally: no guess


def test_only_a_server_on_this_machine_counts_as_local():
    assert on_this_machine("http://127.0.0.1:9090")
    assert on_this_machine("http://127.3.2.1:9090/prometheus")
    assert on_this_machine("http://localhost:9090")
    assert on_this_machine("http://[::1]:9090")
    assert not on_this_machine("http://10.0.0.7:9090")
    assert not on_this_machine("https://prometheus.example.org")
    assert not on_this_machine("http://localhost.example.org:9090")


class _Recorder(BaseHTTPRequestHandler):
    """Answers any query_range with one two-point series and keeps the request's headers."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(dict(self.headers))
        body = json.dumps(
            {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"__name__": "m"}, "values": [[0, "1048576"], [15, "NaN"]]}
            ]}}
        ).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # the test's output is its assertions


def test_a_local_server_is_asked_for_plain_answers_and_the_collector_is_back_on_after():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with PrometheusClient(f"http://127.0.0.1:{server.server_address[1]}") as client:
            (series,) = client.fetch("m", aligned_window(0, 15, 15))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert {h.get("Accept-Encoding") for h in _Recorder.seen} == {"identity"}
    assert series.values.tolist() == [1048576.0]  # "NaN" is a gap
    assert gc.isenabled()


def test_the_collector_is_back_on_after_a_refused_query(fleet_server):
    with PrometheusClient(fleet_server.url) as client, pytest.raises(UsageError):
        client.fetch("rate(svc_memory_bytes[5m]", aligned_window(0, 600, 15))
    assert gc.isenabled()
