"""`leakhunt fleet` as a user runs it, against a real Prometheus holding 6 h of backfilled shapes."""

import json
import re
import subprocess

import pytest

from tests.e2e.conftest import assert_real_figure, leakhunt
from tests.helpers.fleet_series import SPAN_S, end_of_backfill_s, fleet_backfill
from tests.helpers.ports import refusing_port
from tests.helpers.prometheus_server import PrometheusServer, backfill, need_prometheus

WIDE = {"COLUMNS": "80"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_prometheus()
    root = tmp_path_factory.mktemp("prometheus-e2e")
    end_s = end_of_backfill_s()
    prometheus = PrometheusServer(root)
    backfill(prometheus.data_dir, fleet_backfill(end_s), root)
    try:
        prometheus.start()
        prometheus.backfill_end_s = end_s
        yield prometheus
    finally:
        prometheus.stop()


def table_rows(stdout: str) -> dict[str, str]:
    """The table's rows by series name, the pieces of each name joined: {name: figures}.

    Either layout of report/fit.py: names beside their figures (a name's later lines have no
    figures), or names above them (stacked: the header `series` alone, figures indented by 4)."""
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("series") and "series of" not in line)
    stacked = lines[header] == "series"
    body = lines[header + (3 if stacked else 2) :]
    end = next(i for i, line in enumerate(body) if not line.strip() or line.startswith("pred_lin:"))
    rows: list[list[str]] = []
    if stacked:
        name = ""
        for line in body[:end]:
            if line.startswith("    "):
                rows.append([name, line.strip()])
                name = ""
            else:
                name += line.strip()
    else:
        cut = lines[header].index("verdict")
        for line in body[:end]:
            if line[cut:].strip():
                rows.append([line[:cut].strip(), line[cut:].strip()])
            else:
                rows[-1][0] += line.strip()
    return {name: figures for name, figures in rows}


def fleet(server, query, *args, start_s=None):
    end_s = server.backfill_end_s
    return (
        "fleet", "--prometheus", server.url, "--query", query,
        "--start", str(start_s or end_s - SPAN_S), "--end", str(end_s), *args,
    )  # fmt: skip


def test_the_table_json_and_report_show_both_verdicts(server, tmp_path):
    out = tmp_path / "fleet"
    query = 'svc_memory_bytes{job="backfill"}'
    result = leakhunt(
        *fleet(server, query, "--limit-query", "svc_memory_limit_bytes", "--out", str(out)),
        env=WIDE,
        check_rc=0,
    )
    lines = result.stdout.splitlines()
    # A path alone on its line is printed whole, however long the test's temporary folder.
    assert max(len(line) for line in lines if not line.startswith("/")) <= 80, result.stdout
    # Rows named by the labels that tell them apart, ranked: the fastest leak first.
    rows = table_rows(result.stdout)
    first = next(iter(rows))
    assert first == 'rate="10MB/min",shape="leak"' and "LEAK" in rows[first]
    for shape in ("sawtooth", "step", "restart"):
        (row,) = [row for name, row in rows.items() if name.startswith(f'shape="{shape}"')]
        assert "LEAK" not in row and "ALERT" in row
    assert "disagree on 3" in result.stdout.replace("\n", " ")

    summary = json.loads((out / "summary.json").read_text())
    assert summary["predict_linear"]["disagreements"] == 3
    assert [s["verdict"] for s in summary["series"][:3]] == ["LEAK"] * 3

    page = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<link" not in page and "<script" not in page
    assert page.count("<svg") == 6  # one small curve per series
    assert "data:image/png;base64," in page
    assert page.count("<b>yes</b>") == 3  # where predict_linear disagrees
    table = page.split("<table>")[1].split("</table>")[0]
    for shape in ("sawtooth", "step", "restart"):
        (html_row,) = [row for row in table.split("</tr>") if f"shape=&quot;{shape}&quot;" in row]
        assert ">STABLE<" in html_row and "ALERT" in html_row and "<b>yes</b>" in html_row
    assert_real_figure(out / "worst.png")


def test_json_alone_on_stdout(server, tmp_path):
    result = leakhunt(
        *fleet(
            server, 'svc_memory_bytes{shape="leak",job="backfill"}', "--json", "--out", str(tmp_path / "j")
        ),
        check_rc=0,
    )
    summary = json.loads(result.stdout)
    assert summary["n_series"] == 3
    assert summary["counts"]["LEAK"] == 3


def test_expect_across_the_fleet_exits_1_and_the_table_says_which(server, tmp_path):
    result = leakhunt(
        *fleet(
            server, 'svc_memory_bytes{shape="leak",job="backfill"}',
            "--expect", "growth<3MB/min", "--out", str(tmp_path / "x"),
        ),
        env=WIDE,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    rows = {
        re.search(r'rate="(\w+)/min"', name).group(1): row for name, row in table_rows(result.stdout).items()
    }
    assert "PASS" in rows["2MB"] and "FAIL" in rows["5MB"] and "FAIL" in rows["10MB"]
    assert "2 of 3 series do not pass" in result.stdout.replace("\n", " ")


def _one_error_line(result, code, *words):
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "internal error" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_an_unreachable_server(tmp_path):
    with refusing_port() as port:
        args = ("fleet", "--prometheus", f"http://127.0.0.1:{port}", "--query", "up", "--range", "1h")
        _one_error_line(leakhunt(*args, "--out", str(tmp_path / "o")), 2, "cannot reach Prometheus")


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ("rate(svc_memory_bytes[5m]", 2, ["Prometheus refused the query", "parse error"]),
        ('svc_memory_bytes{job="nobody"}', 2, ["matches no series"]),
        ('svc_cpu_seconds_total{job="cpu"}', 2, ["does not look like memory in bytes", "fractions"]),
        ('svc_memory_bytes{job="gappy"}', 1, ["have gaps", "--allow-gaps"]),
    ],
    ids=["bad-promql", "empty", "not-bytes", "gaps"],
)
def test_bad_input_is_one_clear_line(server, tmp_path, query, code, words):
    _one_error_line(leakhunt(*fleet(server, query, "--out", str(tmp_path / "o"))), code, *words)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--query", "up", "--range", "1h"), ["--prometheus"]),
        (("--prometheus", "http://127.0.0.1:9", "--range", "1h"), ["--query"]),
        (("--prometheus", "http://127.0.0.1:9", "--query", "up"), ["--range"]),
        (("--prometheus", "127.0.0.1:9090", "--query", "up", "--range", "1h"), ["is not a URL"]),
        (("--prometheus", "http://127.0.0.1:9", "--query", "up", "--range", "6 weeks"), ["--range"]),
        (("--prometheus", "http://127.0.0.1:9", "--query", "up", "--range", "1h", "--step", "0"), ["--step"]),
        (
            ("--prometheus", "http://127.0.0.1:9", "--query", "up", "--range", "1h", "--memory-limit", "6GB",
             "--limit-query", "limit"),
            ["not both"],
        ),
        (
            ("--prometheus", "http://127.0.0.1:9", "--query", "up", "--range", "1h", "--expect", "swap==0"),
            ["fleet reads one memory series"],
        ),
        (("--prometheus", "http://127.0.0.1:9", "--query", "up", "--start", "yesterday"), ["not a time"]),
    ],
)  # fmt: skip
def test_options_are_checked_before_any_request(args, words, tmp_path):
    _one_error_line(leakhunt("fleet", *args, "--out", str(tmp_path / "o")), 2, *words)


def test_gaps_can_be_accepted_and_are_not_zeros(server, tmp_path):
    result = leakhunt(
        *fleet(
            server, 'svc_memory_bytes{job="gappy"}', "--allow-gaps", "--json", "--out", str(tmp_path / "g")
        ),
        check_rc=0,
    )
    (series,) = json.loads(result.stdout)["series"]
    assert series["gaps"] and series["missing_s"] >= 30 * 60
    assert series["verdict"] == "LEAK"
    assert abs(series["growth"]["slope_bytes_per_min"] - 5e6) / 5e6 < 0.03


def test_rules_pass_promtool(tmp_path):
    need_prometheus()
    result = leakhunt(
        "fleet", "--rules", "--query", 'process_resident_memory_bytes{job="app"}', "--memory-limit", "6GB",
        check_rc=0,
    )  # fmt: skip
    path = tmp_path / "leak.rules.yml"
    path.write_text(result.stdout)
    check = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
