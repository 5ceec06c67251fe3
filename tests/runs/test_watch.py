"""watch.py: a watch samples its source until its duration is covered, asks the agent on its
cadence without waiting for it, writes each summary at the moment its objects were counted, and
records in meta.json what it watched, how it ended and what its sampling and probes cost."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leakhunt.agent import request_summary
from leakhunt.agent_socket import default_socket_path
from leakhunt.runs.cadence import resolve
from leakhunt.runs.watch import WatchOptions, run_watch
from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.store import RunDir
from tests.helpers.processes import spawn, stop

HELPERS = Path(__file__).resolve().parents[1] / "helpers"


@pytest.fixture
def service_under_the_agent():
    service = spawn(
        [sys.executable, "-m", "leakhunt.agent", "--", str(HELPERS / "agent_child.py"), "1000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert service.stdout.readline().strip() == "ready"
    yield service
    stop(service)


def test_a_watch_with_the_agent_records_what_it_watched_its_probes_and_their_cost(
    tmp_path, service_under_the_agent
):
    socket_path = default_socket_path(service_under_the_agent.pid)
    options = WatchOptions(
        label="agent-child",
        duration_s=3.0,
        interval_s=0.1,
        expect=("growth<50MB/h",),
        target={"memory_limit_bytes": 6e9},
        probe_interval_s=1.0,
        probe_cadence=resolve("1s", 3.0),
        probe_deadline_s=30.0,
        ask_summary=lambda: request_summary(socket_path, timeout_s=60.0, deadline_s=30.0),
    )
    source = LocalSource(pid=service_under_the_agent.pid)
    result = run_watch(options, source, run_dir=RunDir.create("watch", "agent-child", tmp_path / "run"))
    assert result.exit_reason == "completed" and result.samples >= 3
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert {k: meta[k] for k in ("command", "label", "source", "interval_s", "duration_s", "time_axis")} == {
        "command": "watch", "label": "agent-child", "source": source.description, "interval_s": 0.1,
        "duration_s": 3.0, "time_axis": "t_wall_s",
    }  # fmt: skip
    assert (meta["probe_interval_s"], meta["probe_cadence"], meta["probe_deadline_s"]) == (
        1.0,
        "every 1 s",
        30.0,
    )
    assert (meta["agent"], meta["memory_limit_bytes"], meta["expect"]) == (True, 6e9, ["growth<50MB/h"])
    assert meta["exit_reason"] == "completed" and meta["events"] == []
    rows = (tmp_path / "run" / "samples.csv").read_text().splitlines()[1:]
    assert len(rows) == result.samples
    last_t_s = float(rows[-1].split(",")[0])
    assert meta["uptime_s"] == pytest.approx(last_t_s) and last_t_s >= 3.0 - 1e-9
    counts = meta["probe_counts"]
    summaries = [json.loads(line) for line in (tmp_path / "run" / "summaries.jsonl").read_text().splitlines()]
    assert counts["answered"] == len(summaries) >= 2 and counts["failed"] == 0
    assert counts["asked"] == counts["answered"] + counts["failed"]
    for summary in summaries:
        # Counted in the child after it was asked, and placed on the watch's clock where it was.
        assert summary["asked_at_s"] <= summary["t_wall_s"] == summary["t_sim_s"] <= meta["wall_s"]
    cost = meta["cost"]
    assert cost["probe_s"] == pytest.approx(sum(s["probe_s"] for s in summaries)) and cost["probe_s"] > 0
    assert cost["probe_fraction"] == pytest.approx(cost["probe_s"] / meta["wall_s"])
    assert cost["sampler_reads"] >= result.samples and cost["sampler_cpu_s_per_read"] > 0
    assert cost["realtime_core_fraction"] == pytest.approx(cost["sampler_cpu_s_per_read"] / 0.1)


def test_a_watch_of_a_process_that_ends_stops_with_it(tmp_path):
    short = spawn([sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert short.stdout.readline().strip() == "ready"
    source = LocalSource(pid=short.pid)

    def end_after_a_quarter_second(sample) -> None:
        if sample.t_wall_s > 0.25 and short.poll() is None:
            short.stdin.close()  # the process reads EOF and exits

    options = WatchOptions(label="short", duration_s=600.0, interval_s=0.1)
    run_dir = RunDir.create("watch", "short", tmp_path / "run")
    result = run_watch(options, source, run_dir=run_dir, on_sample=end_after_a_quarter_second)
    short.wait()
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert result.exit_reason == meta["exit_reason"] == "target_exited"
    assert [e["kind"] for e in meta["events"]] == ["exited"]
    assert meta["events"][0]["text"]
    assert "probe_counts" not in meta and meta["cost"]["probe_s"] == 0.0
