"""Every table the CLI prints, at COLUMNS=80 with stdout a pipe, as a user reads it in a log:
no line longer than 80 (but a path, printed whole on a line of its own), no token split across
lines, no line ending in a space.

Each command runs once, as cheaply as it can: a 3-minute smoke soak (its What grows with the
containers holding it), `watch --replay` of that soak's samples, a two-variant compare, `report`
re-rendering both, `scenarios`, and `fleet` against a real Prometheus holding series with the
long labels real fleets carry. The tokens that must stay whole are read from each command's own
summary.json (verdicts, times to limit, criteria, holders, series labels)."""

import re

import pytest

from tests.e2e.conftest import leakhunt, load_json
from tests.helpers.fleet_series import SPAN_S, end_of_backfill_s, grid, leak
from tests.helpers.prometheus_server import Backfilled, PrometheusServer, backfill, need_prometheus

NARROW = {"COLUMNS": "80"}
# Deep enough that every run directory's path is longer than a line.
LONG_DIR = "a-directory-whose-name-alone-is-longer-than-a-good-part-of-the-line"


def check_lines(stdout: str, tokens: list[str]) -> None:
    lines = stdout.splitlines()
    assert lines, "nothing printed"
    for line in lines:
        assert line == line.rstrip(), f"trailing space: {line!r}"
        path_alone = " " not in line.strip() and line.strip().startswith("/")
        assert len(line) <= 80 or path_alone, f"{len(line)} columns: {line!r}"
    for token in tokens:
        assert any(token in line for line in lines), f"{token!r} is not whole on any line:\n{stdout}"


def summary_tokens(summary: dict) -> list[str]:
    """What a reader looks for in a run's lines, whole: its verdict, time to limit, criteria,
    holders (those that fit a line beside their indent)."""
    tokens = [summary.get("verdict_short") or summary["verdict"], summary["to_limit"]]
    tokens += [c["text"] for c in summary.get("criteria") or []]
    attribution = summary.get("attribution") or {}
    tokens += [p["pattern"] for p in attribution.get("accumulation_points") or [] if len(p["pattern"]) <= 70]
    return tokens


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("narrow") / LONG_DIR
    soak = leakhunt(
        "soak", "--scenario", "smoke", "--minutes", "3", "--expect", "swap==0", "--expect", "rss<1GB@30m",
        "--out", str(root / "soak"), env=NARROW,
    )  # fmt: skip
    assert soak.returncode == 1, soak.stderr  # rss<1GB@30m cannot be proven in 3 minutes
    watch = leakhunt(
        "watch", "--replay", str(root / "soak" / "samples.csv"), "--memory-limit", "2GB",
        "--expect", "growth<50MB/h", "--out", str(root / "watch"), env=NARROW,
    )  # fmt: skip
    compare = leakhunt(
        "compare", "--baseline", "--scenario", "smoke", "--minutes", "2", "--repeat", "1", "--jobs", "2",
        "--probe-interval", "0", "--out", str(root / "compare"), env=NARROW,
    )  # fmt: skip
    return {"root": root, "soak": soak, "watch": watch, "compare": compare}


def test_a_soak_result_with_what_grows_fits_80_columns(runs):
    summary = load_json(runs["root"] / "soak" / "summary.json")
    assert summary["attribution"]["accumulation_points"], "no holders to show"
    check_lines(runs["soak"].stdout, [*summary_tokens(summary), str(runs["root"] / "soak")])
    assert "What grows:" in runs["soak"].stdout and "held by" in runs["soak"].stdout


def test_a_watch_result_fits_80_columns(runs):
    summary = load_json(runs["root"] / "watch" / "summary.json")
    check_lines(runs["watch"].stdout, [*summary_tokens(summary), str(runs["root"] / "watch")])


def test_a_comparison_fits_80_columns(runs):
    assert runs["compare"].returncode == 0, runs["compare"].stderr
    comparison = load_json(runs["root"] / "compare" / "comparison.json")
    tokens = [entry["label"] for entry in comparison["runs"]] + [str(runs["root"] / "compare")]
    tokens += [entry.get("verdict_short") or entry["verdict"] for entry in comparison["runs"]]
    check_lines(runs["compare"].stdout, tokens)


def test_report_re_renders_a_run_and_a_comparison_within_80_columns(runs):
    for name in ("soak", "compare"):
        result = leakhunt("report", str(runs["root"] / name), env=NARROW, check_rc=0)
        check_lines(result.stdout, [str(runs["root"] / name)])
    summary = load_json(runs["root"] / "soak" / "summary.json")
    check_lines(leakhunt("report", str(runs["root"] / "soak"), env=NARROW).stdout, summary_tokens(summary))


def test_scenarios_fit_80_columns():
    check_lines(
        leakhunt("scenarios", env=NARROW, check_rc=0).stdout, ["incident-2025-10-30", "incident-replay"]
    )


def test_a_fleet_of_long_labels_fits_80_columns_with_every_label_whole(tmp_path):
    need_prometheus()
    end_s = end_of_backfill_s()
    t_s = grid(end_s)
    series = [
        Backfilled(
            "process_resident_memory_bytes",
            {
                "job": "api-gateway-production",
                "instance": f"127.0.0.1:1870{k}",
                "pod": f"api-gateway-7d9f8c6b5-x{k}q2z",
            },
            t_s,
            leak(t_s, rate, k),
        )
        for k, rate in enumerate((10e6, 2e6, 0.7e6))
    ]
    series.append(
        Backfilled(
            "process_resident_memory_bytes",
            {"job": "batch", "instance": "127.0.0.1:18799"},
            t_s,
            leak(t_s, 0, 9),
        )
    )
    server = PrometheusServer(tmp_path / "prometheus")
    backfill(server.data_dir, series, tmp_path)
    try:
        server.start()
        result = leakhunt(
            "fleet", "--prometheus", server.url, "--query", "process_resident_memory_bytes",
            "--start", str(end_s - SPAN_S), "--end", str(end_s), "--memory-limit", "2GB",
            "--expect", "growth<50MB/h", "--out", str(tmp_path / LONG_DIR / "fleet"), env=NARROW,
        )  # fmt: skip
    finally:
        server.stop()
    assert result.returncode == 1, result.stderr  # two series grow faster than 50 MB/h
    summary = load_json(tmp_path / LONG_DIR / "fleet" / "summary.json")
    labels = {
        f'{key}="{value}"'
        for item in summary["series"]
        for key, value in item["labels"].items()
        if key != "__name__"
    }
    tokens = sorted(labels) + [item["to_limit"] for item in summary["series"]]
    tokens += [item["verdict_short"] for item in summary["series"]]
    check_lines(result.stdout, [str(tmp_path / LONG_DIR / "fleet" / "report.html")])
    lines = result.stdout.splitlines()
    table = "\n".join(lines[: next(i for i, line in enumerate(lines) if line.startswith("pred_lin:"))])
    check_lines(table, tokens)  # in the table itself, not only in the lines under it
    # And the criteria lines under the table name each failing series, its labels whole.
    failing = [line for line in result.stdout.splitlines() if re.match(r"  FAIL ", line)]
    assert len(failing) == 2
