"""Ctrl-C on every long command: the command stops, says it is writing the report, writes it from
what was sampled, records the run as interrupted, and exits 130 as shells expect of Ctrl-C.

Each test waits on something the command itself does (a progress line, a connection, a blocked
read of a named pipe) before it interrupts: never on the clock.
"""

import os
import signal
import socket
import subprocess
import sys

from leakhunt.sampling.store import RunDir
from tests.e2e.conftest import REPO, load_json, start_leakhunt


def wait_for_line(process: subprocess.Popen, starts: str) -> list[str]:
    """stderr lines up to and including the first that starts with `starts`."""
    seen = []
    while True:
        line = process.stderr.readline()
        assert line, f"ended before printing {starts!r}: {seen}"
        seen.append(line)
        if line.startswith(starts):
            return seen


def interrupt(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    return stdout, stderr


def test_an_interrupted_watch_exits_130_records_it_and_writes_its_report(tmp_path, idle):
    out = tmp_path / "run"
    process = start_leakhunt("watch", "--pid", str(idle.pid), "--interval", "100ms", "--out", str(out))
    wait_for_line(process, "t ")  # its first line: it is sampling
    stdout, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted"
    assert load_json(out / "meta.json")["exit_reason"] == "interrupted"
    assert "writing the report..." in stderr and (out / "report.html").stat().st_size > 0
    assert load_json(out / "summary.json")["exit_reason"] == "interrupted"
    assert "run directory" in stdout and str(out) in stdout


def test_a_watch_that_ran_its_duration_is_recorded_as_completed_and_exits_0(tmp_path, idle):
    out = tmp_path / "run"
    process = start_leakhunt(
        "watch", "--pid", str(idle.pid), "--interval", "100ms", "--duration", "1s", "--out", str(out)
    )
    process.communicate(timeout=300)
    assert process.returncode == 0
    assert load_json(out / "meta.json")["exit_reason"] == "completed"


def test_an_interrupted_compare_exits_130_with_every_run_interrupted_and_the_comparison_written(tmp_path):
    out = tmp_path / "compare"
    process = start_leakhunt(
        "compare", "--baseline", "--scenario", "smoke", "--minutes", "60", "--speed", "60",
        "--repeat", "1", "--jobs", "2", "--probe-interval", "0", "--out", str(out),
    )  # fmt: skip
    wait_for_line(process, "compare: 0/2 runs done")  # the heartbeat: both runs are under way
    _, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted"
    comparison = load_json(out / "comparison.json")
    assert [run["exit_reason"] for run in comparison["runs"]] == ["interrupted", "interrupted"]
    assert (out / "report.html").stat().st_size > 0


def test_an_interrupted_report_exits_130(tmp_path):
    run = RunDir.create("watch", "blocked", tmp_path / "run")
    run.write_meta({"tool": "leakhunt", "command": "watch", "label": "blocked", "exit_reason": "completed"})
    samples = tmp_path / "run" / "samples.csv"
    os.mkfifo(samples)
    process = start_leakhunt("report", str(tmp_path / "run"))
    # Opening a named pipe to write returns once the reader has opened it: leakhunt is then
    # reading the samples, and blocks there while the test writes nothing.
    with open(samples, "wb"):
        _, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted"


def test_an_interrupted_fleet_exits_130(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "leakhunt", "fleet", "--prometheus", f"http://127.0.0.1:{port}",
             "--query", "up", "--range", "1h", "--out", str(tmp_path / "fleet")],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        silent.settimeout(120)
        connection, _ = silent.accept()  # leakhunt is waiting for Prometheus's answer
        with connection:
            _, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted"


def test_an_interrupted_compare_starts_none_of_its_queued_runs_and_says_how_many_never_sampled(tmp_path):
    out = tmp_path / "compare"
    process = start_leakhunt(
        "compare", "--baseline", "--scenario", "smoke", "--minutes", "60", "--speed", "60",
        "--repeat", "2", "--jobs", "2", "--probe-interval", "0", "--out", str(out),
    )  # fmt: skip
    wait_for_line(process, "compare: 0/4 runs done")  # both baseline replicates under way, two queued
    _, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    # Before, the queued runs then ran their simulated hour each (two minutes at --speed 60).
    assert "compare: 2 of 4 runs never sampled (stopped before they started)" in stderr
    comparison = load_json(out / "comparison.json")
    assert [(run["label"], run["replicates"], run["exit_reason"]) for run in comparison["runs"]] == [
        ("fixes off", 2, "interrupted")
    ]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["baseline-r1", "baseline-r2"]
