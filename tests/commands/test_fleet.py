"""`leakhunt fleet`: its option checks (times and ranges, before any request), the whole command
against a server speaking Prometheus' API (options reach summary.json, gaps and criteria exit 1,
--json alone on stdout), one-line refusals, and `--rules` built from the options given."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from leakhunt.commands.fleet import _out_dir, _window_s, parse_time_s
from leakhunt.errors import UsageError
from tests.commands.conftest import leakhunt, refusal


def test_times_are_unix_seconds_or_rfc_3339():
    assert parse_time_s("1795622400", "--end") == 1795622400.0
    assert parse_time_s("2026-11-25T12:00:00Z", "--end") == 1795608000.0
    assert parse_time_s("2026-11-25T13:00:00+01:00", "--end") == 1795608000.0
    with pytest.raises(UsageError, match="not a time"):
        parse_time_s("noon", "--start")


def test_a_range_ends_at_end_and_a_start_must_come_first():
    assert _window_s("6h", None, "1795622400") == (1795622400.0 - 21600, 1795622400.0)
    assert _window_s(None, "100", "200") == (100.0, 200.0)
    assert _window_s("500ms", None, "200") == (199.5, 200.0)  # short, but positive
    with pytest.raises(UsageError, match=r"^--range: .soon. is not a duration"):
        _window_s("soon", None, "200")
    with pytest.raises(UsageError, match="not both"):
        _window_s("6h", "100", "200")
    with pytest.raises(UsageError, match="before"):
        _window_s(None, "300", "200")
    with pytest.raises(UsageError, match="--range"):
        _window_s(None, None, None)


# --- the whole command, against a stand-in Prometheus ------------------------------------------
# The real Prometheus of tests/fleet takes a minute to backfill and start; these tests are about
# what the command does with its options, so a small server speaking the same HTTP API answers:
# "mem" is two series (instance a leaks 1 MB/min, instance b is flat), "gappy" one series with a
# missing stretch, and any instant query (a --limit-query) gives instance a a 1 GB limit.
MB = 1e6
END = "1795607200"


class _Prometheus(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        query = form["query"][0]
        if self.path.endswith("/query_range"):
            start_s, end_s, step_s = (float(form[key][0]) for key in ("start", "end", "step"))
            t_s = [start_s + i * step_s for i in range(round((end_s - start_s) / step_s) + 1)]
            n = len(t_s)
            series = {
                "mem": [
                    ({"instance": "a"}, [(t, 100 * MB + (t - start_s) / 60 * MB) for t in t_s]),
                    ({"instance": "b"}, [(t, 200 * MB) for t in t_s]),
                ],
                "gappy": [
                    ({"instance": "g"}, [(t, 100 * MB) for i, t in enumerate(t_s) if not n // 3 < i < n // 2])
                ],
            }.get(query, [])
            result = [
                {"metric": {"__name__": query, **labels}, "values": [[t, str(int(v))] for t, v in points]}
                for labels, points in series
            ]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        else:
            at_s = float(form["time"][0])
            result = [{"metric": {"instance": "a"}, "value": [at_s, "1000000000"]}]
            body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_every_option_reaches_the_fleet_summary_and_a_failed_criterion_exits_1(prometheus, tmp_path):
    ran = leakhunt(
        "fleet", "--prometheus", prometheus, "--query", "mem", "--start", "1795600000", "--end", END,
        "--step", "10s", "--memory-limit", "6GB", "--predict-window", "30m", "--predict-horizon", "2h",
        "--expect", "growth<50MB/h", "--out", "run", cwd=tmp_path,
    )  # fmt: skip
    assert (ran.code, ran.err) == (1, "")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["command"], summary["prometheus"], summary["query"]) == ("fleet", prometheus, "mem")
    assert summary["window"] == {"start_s": 1795600000.0, "end_s": 1795607200.0, "step_s": 10.0}
    assert (summary["memory_limit_bytes"], summary["limit_query"], summary["start_time_query"]) == (
        6e9,
        None,
        None,
    )
    assert (summary["predict_linear"]["window_s"], summary["predict_linear"]["horizon_s"]) == (1800.0, 7200.0)
    assert (summary["expect"], summary["criteria_passed"]) == (["growth<50MB/h"], False)
    assert (summary["failed_series"], summary["counts"]["LEAK"], summary["counts"]["STABLE"]) == (
        ['mem{instance="a"}'], 1, 1,
    )  # fmt: skip
    assert (summary["allow_gaps"], summary["gaps_refused"]) == (False, False)
    lines = ran.out.splitlines()
    assert lines[0] == "series of mem"
    assert [line.split()[0] for line in lines[3:5]] == ['instance="a"', 'instance="b"']
    assert lines[-1] == "report: run/report.html"
    assert (tmp_path / "run" / "report.html").is_file()


def test_json_puts_the_summary_alone_on_stdout_and_a_passing_fleet_exits_0(prometheus, tmp_path):
    ran = leakhunt(
        "fleet", "--prometheus", prometheus, "--query", "mem", "--range", "2h", "--end", END,
        "--limit-query", "lim", "--start-time-query", "started", "--expect", "rss<2GB", "--json",
        "--out", "run", cwd=tmp_path,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    summary = json.loads(ran.out)
    assert summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["limit_query"], summary["start_time_query"], summary["memory_limit_bytes"]) == (
        "lim", "started", None,
    )  # fmt: skip
    assert summary["window"]["start_s"] == 1795607200.0 - 7200 and summary["window"]["step_s"] == 5.0
    assert ran.err_lines[-1] == "report: run/report.html"  # the human summary moved to stderr


def test_series_with_gaps_exit_1_with_one_line_unless_allowed(prometheus, tmp_path):
    args = ("fleet", "--prometheus", prometheus, "--query", "gappy", "--range", "2h", "--end", END)
    refused = leakhunt(*args, "--out", "refused", cwd=tmp_path)
    assert refused.code == 1
    assert refused.err == (
        'error: 1 series have gaps (gappy{instance="g"}): judged on the points present, not zeros; '
        "--allow-gaps accepts them\n"
    )
    summary = json.loads((tmp_path / "refused" / "summary.json").read_text())
    assert (summary["series_with_gaps"], summary["allow_gaps"], summary["gaps_refused"]) == (
        ['gappy{instance="g"}'], False, True,
    )  # fmt: skip
    allowed = leakhunt(*args, "--allow-gaps", "--out", "allowed", cwd=tmp_path)
    assert (allowed.code, allowed.err) == (0, "")
    summary = json.loads((tmp_path / "allowed" / "summary.json").read_text())
    assert (summary["allow_gaps"], summary["gaps_refused"]) == (True, False)


def test_without_out_the_report_goes_to_reports_named_by_time_and_query(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = _out_dir(None, 'process_resident_memory_bytes{job="app"}')
    assert out.parent == Path("reports") and out.is_dir() and list(out.iterdir()) == []
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-fleet-process_resident_memory_bytes-job-app", out.name), (
        out.name
    )
    assert _out_dir(None, "{}").name.endswith("-fleet-query")
    assert _out_dir(None, "x" * 100).name.endswith("-fleet-" + "x" * 60)


def test_an_out_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError) as caught:
        _out_dir(tmp_path / "file" / "run", "mem")
    assert caught.value.message == (
        f"cannot write to output directory {tmp_path / 'file' / 'run'}: Not a directory; "
        "choose another with --out"
    )


URL = ("--prometheus", "http://127.0.0.1:9")
NO_QUERY = "give the memory series to judge: --query 'process_resident_memory_bytes{job=\"app\"}'"
EMPTY_START = "--start-time-query is empty: give the start-time series, e.g. process_start_time_seconds"
NO_TIME = "say which time to read: --range 6h (up to now, or to --end), or --start and --end"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--query", "up", "--range", "1h"),
         "give the server to read: --prometheus http://HOST:9090"),
        ((*URL, "--range", "1h"), NO_QUERY),
        ((*URL, "--query", " ", "--range", "1h"), NO_QUERY),
        ((*URL, "--query", "up", "--range", "1h", "--expect", "swap==0"),
         "--expect 'swap==0': fleet reads one memory series per process; "
         "use rss, peak, growth, restarts, uptime"),
        ((*URL, "--query", "up", "--range", "1h", "--start-time-query", " "),
         EMPTY_START),
        ((*URL, "--query", "up"), NO_TIME),
        ((*URL, "--query", "up", "--range", "1h", "--start", "100"),
         "give --range or --start (with --end), not both"),
        ((*URL, "--query", "up", "--start", "200", "--end", "200"),
         "--start must be before --end (or before now, without --end)"),
        ((*URL, "--query", "up", "--range", "0"), "--range must be positive, got 0"),
        ((*URL, "--query", "up", "--start", "yesterday"),
         "--start 'yesterday' is not a time: give Unix seconds or RFC 3339 such as 2026-11-25T12:00:00Z"),
        ((*URL, "--query", "up", "--range", "1h", "--end", "soon"),
         "--end 'soon' is not a time: give Unix seconds or RFC 3339 such as 2026-11-25T12:00:00Z"),
        ((*URL, "--query", "up", "--range", "1h", "--step", "0"), "--step must be positive, got 0"),
        ((*URL, "--query", "up", "--range", "1h", "--memory-limit", "0"),
         "--memory-limit must be above zero, got '0': give a size such as 6GB"),
        ((*URL, "--query", "up", "--range", "1h", "--memory-limit", "6GB", "--limit-query", "lim"),
         "give --memory-limit or --limit-query, not both"),
        ((*URL, "--query", "up", "--range", "1h", "--predict-window", "0"),
         "--predict-window must be positive, got 0"),
        ((*URL, "--query", "up", "--range", "1h", "--predict-horizon", "0s"),
         "--predict-horizon must be positive, got 0s"),
        (("--rules", "--query", "up", "--start-time-query", ""),
         EMPTY_START),
        (("--rules", "--query", "up", "--range", "0"), "--range must be positive, got 0"),
        (("--rules", "--query", "up", "--predict-horizon", "0"), "--predict-horizon must be positive, got 0"),
        (("--rules", "--query", "up", "--memory-limit", "0"),
         "--memory-limit must be above zero, got '0': give a size such as 6GB"),
    ],
)  # fmt: skip
def test_option_mistakes_are_one_line_and_exit_2_before_any_request(args, line, tmp_path):
    assert refusal("fleet", *args, cwd=tmp_path) == f"error: {line}"
    assert list(tmp_path.iterdir()) == []


QUERY = 'process_resident_memory_bytes{job="app"}'


def test_rules_take_the_window_horizon_limit_and_start_time_query_given():
    ran = leakhunt("fleet", "--rules", "--query", QUERY, "--memory-limit", "6GB", "--range", "3h",
                   "--predict-horizon", "2h", "--start-time-query", "started")  # fmt: skip
    assert (ran.code, ran.err) == (0, "")
    lines = ran.out.splitlines()
    assert (
        lines[0]
        == "# Written by `leakhunt fleet --rules`: an approximation of leakhunt's LEAK verdict in PromQL."
    )
    assert "# It fires when, over the last 3h:" in lines
    floor = f"min_over_time(({QUERY})[15m:1m])"
    assert f"          deriv({floor}[90m:5m]) > 13888.9" in lines
    assert f"          {floor} + deriv({floor}[90m:5m]) * 7200 > 6000000000" in lines
    assert "          changes(started[3h]) > 0" in lines


def test_rules_default_to_6_hours_and_the_metrics_own_start_time():
    ran = leakhunt("fleet", "--rules", "--query", QUERY)
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert "# It fires when, over the last 6h:" in lines
    assert '          changes(process_start_time_seconds{job="app"}[6h]) > 0' in lines
    assert not [line for line in lines if "* 14400 >" in line]  # no limit given: no limit clause
