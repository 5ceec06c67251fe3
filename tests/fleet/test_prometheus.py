"""The HTTP reader against a real server: chunks, identity, gaps, its errors, and what it costs."""

import gc
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from leakhunt.errors import LeakhuntError, RunError, UsageError
from leakhunt.fleet.prometheus import (
    MAX_POINTS_PER_SERIES,
    PrometheusClient,
    Window,
    aligned_window,
    choose_step_s,
    match_labels,
    on_this_machine,
    series_name,
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


def test_a_last_chunk_of_one_point_is_read_too(fleet_server):
    end_s = fleet_server.backfill_end_s
    window = aligned_window(end_s - 60 * STEP_S, end_s, STEP_S)  # 61 points: 60, then 1
    with PrometheusClient(fleet_server.url) as client:
        (series,) = client.fetch('svc_memory_bytes{job="backfill",shape="step"}', window)
    assert series.t_s[-1] == end_s and len(series.t_s) == 61


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
    with PrometheusClient("https://prometheus.example.org/") as client:  # nothing is asked yet
        assert client.url == "https://prometheus.example.org"
    with PrometheusClient(" http://127.0.0.1:9090/X/ ") as client:
        assert client.url == "http://127.0.0.1:9090/X"


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


NOT_SERIES = 'not series: give an expression of series, such as process_resident_memory_bytes{job="app"}'


def test_a_series_is_named_as_promql_writes_it():
    assert series_name({"job": "b", "__name__": "mem", "instance": "a"}) == 'mem{instance="a",job="b"}'
    assert series_name({"__name__": "mem"}) == "mem"
    assert series_name({"job": "b"}) == '{job="b"}'
    assert series_name({}) == "{}"


def test_the_default_step_is_rounded_up_to_whole_seconds():
    assert choose_step_s(1440 * 15) == 15
    assert choose_step_s(1440 * 15 + 1) == 16


def test_a_step_or_range_that_cannot_make_a_grid_is_refused_saying_which():
    window = aligned_window(15.0, 30.0, 15.0)  # two points: the least there is
    assert (window.start_s, window.end_s, window.n_points, window.range_s) == (15.0, 30.0, 2, 15.0)
    with pytest.raises(UsageError) as refused:
        aligned_window(1.0, 29.0, 15.0)  # start and end both come to 15
    assert refused.value.message == (
        "the range (28 s) holds fewer than two steps of 15 s: widen --range or shorten --step"
    )
    for step_s in (0.0, -15.0):
        with pytest.raises(UsageError) as refused:
            aligned_window(0.0, 600.0, step_s)
        assert refused.value.message == f"--step must be positive, got {step_s:g} s"


def test_the_first_request_is_short_and_later_ones_share_the_points_among_the_series(fleet_server):
    end_s = fleet_server.backfill_end_s
    # 12 series (6 memory series and their limits) at 1 s over 3 h: 10,801 points each.
    window = aligned_window(end_s - 3 * 3600, end_s, 1.0)
    chunks: list[tuple[Window, int]] = []
    with PrometheusClient(fleet_server.url) as client:
        found = client.fetch('{job="backfill"}', window, on_chunk=lambda chunk, n: chunks.append((chunk, n)))
    # 60 points first; then 100,000 points a request over 12 series: 8,333 each.
    assert [(chunk.n_points, n) for chunk, n in chunks] == [(60, 12), (8333, 12), (2408, 12)]
    assert [chunk.start_s for chunk, _ in chunks] == [window.start_s] + [c.end_s + 1 for c, _ in chunks[:-1]]
    assert chunks[-1][0].end_s == window.end_s
    assert len(found) == 12 and all(len(s.t_s) == window.n_points for s in found)


def test_before_the_series_begin_the_requests_widen_fourfold(fleet_server):
    end_s = fleet_server.backfill_end_s
    # 8 h at 15 s: the first 2 h hold nothing (the backfill covers the last 6 h).
    window = aligned_window(end_s - 8 * 3600, end_s, STEP_S)
    query = 'svc_memory_bytes{job="backfill",shape="step"}'
    with PrometheusClient(fleet_server.url) as client:
        chunks = [(chunk.n_points, len(result)) for chunk, result in client.chunks(query, window)]
        (series,) = client.fetch(query, window)
    assert chunks == [(60, 0), (240, 0), (960, 1), (661, 1)]
    assert len(series.t_s) == 6 * 240 + 1


def test_series_come_in_the_servers_order(fleet_server):
    end_s = fleet_server.backfill_end_s
    window = aligned_window(end_s - 3600, end_s, STEP_S)
    with PrometheusClient(fleet_server.url) as client:
        (_, first), *_ = client.chunks('svc_memory_bytes{job="backfill"}', window)
        found = client.fetch('svc_memory_bytes{job="backfill"}', window)
    assert [s.labels for s in found] == [item["metric"] for item in first]


def test_an_instant_query_gives_each_series_value_and_refuses_a_scalar(fleet_server):
    end_s = fleet_server.backfill_end_s
    with PrometheusClient(f" {fleet_server.url}/ ") as client:
        assert client.url == fleet_server.url
        found = client.instant('svc_memory_limit_bytes{shape="step"}', end_s)
        with pytest.raises(UsageError) as refused:
            client.instant("1", end_s)
    labels = {"__name__": "svc_memory_limit_bytes", "job": "backfill", "shape": "step"}
    assert found == [(labels, 2e9)]
    assert refused.value.message == (f"the query gives a scalar, {NOT_SERIES}")


def test_a_url_below_the_servers_base_is_said_to_be_one(fleet_server):
    with PrometheusClient(f"{fleet_server.url}/prometheus") as client, pytest.raises(UsageError) as refused:
        client.instant("up", 0)
    assert refused.value.message == (
        f"{fleet_server.url}/prometheus/api/v1/query does not exist: give the server's base URL to "
        "--prometheus, such as http://127.0.0.1:9090"
    )


def test_the_servers_own_error_is_shown_on_one_line(fleet_server):
    with PrometheusClient(fleet_server.url) as client, pytest.raises(UsageError) as refused:
        client.instant("rate(svc_memory_bytes[5m]", 0)
    assert refused.value.message == (
        'Prometheus refused the query: invalid parameter "query": 1:26: parse error: '
        "unclosed left parenthesis"
    )


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with `answer`: (status, content type, body), as a proxy or a broken
    server would (a fault the real Prometheus does not make)."""

    answer: ClassVar[tuple[int, str, bytes]] = (200, "text/plain", b"")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned():
    """A server on 127.0.0.1 answering with whatever `_Canned.answer` is set to; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    # A short poll: shutdown() waits for it (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _refusal(client: PrometheusClient, answer: tuple[int, str, bytes]) -> LeakhuntError:
    _Canned.answer = answer
    with pytest.raises(LeakhuntError) as refused:
        client.fetch("m", aligned_window(0, 15, 15))
    return refused.value


def test_broken_answers_are_each_one_line_saying_what_came_back(canned):
    error = json.dumps({"status": "error", "error": "query timed out\nin query execution"}).encode()
    cases = [
        (
            (503, "text/plain", b"upstream\n  overloaded\n"),
            RunError,
            f"Prometheus at {canned} answered 503: upstream overloaded",
        ),
        ((502, "text/plain", b""), RunError, f"Prometheus at {canned} answered 502: Bad Gateway"),
        (
            (500, "application/json", error),
            RunError,
            f"Prometheus at {canned} answered 500: query timed out in query execution",
        ),
        (
            (500, "application/json", b'{"status": "error"}'),
            RunError,
            f"Prometheus at {canned} answered 500: {{'status': 'error'}}",
        ),
        (
            (422, "application/json", error),
            UsageError,
            "Prometheus refused the query: query timed out in query execution",
        ),
        (
            (200, "application/json", error),
            UsageError,
            "Prometheus refused the query: query timed out in query execution",
        ),
        (
            (200, "text/html", b"<html>Grafana</html>"),
            UsageError,
            f"{canned}/api/v1/query_range did not answer with Prometheus JSON: is --prometheus the server's "
            "base URL (such as http://127.0.0.1:9090)?",
        ),
        (
            (
                200,
                "application/json",
                b'{"status": "success", "data": {"resultType": "string", "result": "x"}}',
            ),
            UsageError,
            f"the query gives a string, {NOT_SERIES}",
        ),
        (
            (200, "application/json", b'{"status": "success", "data": {"resultType": "matrix"}}'),
            UsageError,
            f"the query gives a matrix, {NOT_SERIES}",
        ),
    ]
    with PrometheusClient(canned) as client:  # one client: each costs ~0.2 s of TLS set-up
        refusals = [_refusal(client, answer) for answer, _, _ in cases]
    for refused, (answer, kind, message) in zip(refusals, cases, strict=True):
        assert (type(refused), refused.message) == (kind, message), answer


def test_a_matrix_and_a_vector_are_series(canned):
    body = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [15, "2097152"]}]},
    }
    _Canned.answer = (200, "application/json", json.dumps(body).encode())
    with PrometheusClient(canned) as client:
        assert client.instant("m", 15) == [({}, 2097152.0)]
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "1"}, "values": []},
        {"metric": {"a": "2"}, "values": [[0, "1"], [15, "2"]]},
    ]}}  # fmt: skip
    _Canned.answer = (200, "application/json", json.dumps(body).encode())
    with PrometheusClient(canned) as client:
        (series,) = client.fetch("m", aligned_window(0, 15, 15))  # a series with no points is none
    assert (series.labels, series.t_s.tolist(), series.values.tolist()) == (
        {"a": "2"},
        [0.0, 15.0],
        [1.0, 2.0],
    )


def test_a_server_that_does_not_answer_in_time_is_one_line_saying_how_to_ask_for_less():
    with socket.socket() as silent:  # listens, never accepts: the request waits for an answer
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with PrometheusClient(url, timeout_s=0.2) as client, pytest.raises(RunError) as refused:
            client.fetch("m", aligned_window(0, 15, 15))
    assert refused.value.message == (
        f"Prometheus at {url} did not answer within 0.2 s: narrow the query or the range, or raise --step"
    )


def test_an_unreachable_server_names_the_url_and_the_error():
    with (
        refusing_port() as port,
        PrometheusClient(f"http://127.0.0.1:{port}") as client,
        pytest.raises(UsageError) as refused,
    ):
        client.fetch("up", aligned_window(0, 600, 15))
    assert refused.value.message.startswith(
        f"cannot reach Prometheus at http://127.0.0.1:{port} (ConnectError: "
    )
    assert refused.value.message.endswith("): check --prometheus and that the server is up")


def test_a_collector_that_was_off_stays_off_after_a_fetch(canned):
    body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    _Canned.answer = (200, "application/json", json.dumps(body).encode())
    gc.disable()
    try:
        with PrometheusClient(canned) as client:
            assert client.fetch("m", aligned_window(0, 15, 15)) == []
        assert not gc.isenabled()
    finally:
        gc.enable()
