"""soak.py: a child that ends before it says it is ready did not start, and the run records so
with the child's own error and the path of its log; a soak says in meta.json what it runs from
its first sample on, samples on the simulated clock, records each cleanup with what it freed,
and what its sampling and probes cost; the memory limit, Ctrl-C and a target that dies each end
the run with their own reason."""

import json
import os
import platform
import re
import signal
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from leakhunt import __version__
from leakhunt.runs.finish import finish_run
from leakhunt.runs.soak import SoakOptions, run_label, run_soak
from leakhunt.sampling.sample import SAMPLE_COLUMNS
from leakhunt.sampling.store import RESERVE, RunDir
from leakhunt.units import format_bytes
from leakhunt.workload.scenario import load_scenario
from tests.e2e.conftest import assert_real_figure


def test_a_child_that_never_started_is_recorded_as_such_with_its_error(unstartable_run):
    meta = json.loads((unstartable_run / "meta.json").read_text())
    assert meta["exit_reason"] == "target_exited"
    detail = meta["exit_detail"]
    assert detail["started"] is False and detail["returncode"] == 1
    assert "ImportError: this pandas is broken on purpose" in detail["text"]
    assert detail["text"].endswith(f"its output: {unstartable_run / 'target.log'}")


@pytest.fixture(scope="module")
def costed(tmp_path_factory) -> dict:
    """25 simulated minutes of the smoke scenario with its cleanup on, probed every 5 minutes."""
    path = tmp_path_factory.mktemp("costed") / "run"
    scenario = replace(load_scenario("smoke"), fixes=("cleanup",))
    options = SoakOptions(
        scenario=scenario, duration_s=25 * 60.0, probe_interval_s=300.0, command_line="leakhunt soak --x",
        expect=("growth<50MB/h",), variant="cleanup only", replicate=2, allow_unproven=True,
        tracemalloc_frames=1, malloc_trim=True, search_limit=500_000, probe_in_flight=1,
    )  # fmt: skip
    seen, meta_at_first = [], []

    def on_sample(sample) -> None:
        seen.append(sample)
        if len(seen) == 1:
            meta_at_first.append(json.loads((path / "meta.json").read_text()))

    result = run_soak(options, run_dir=RunDir.create("soak", "costed", path), on_sample=on_sample)
    meta = json.loads((path / "meta.json").read_text())
    return {"path": path, "options": options, "result": result, "seen": seen,
            "meta_at_first": meta_at_first[0], "meta": meta}  # fmt: skip


def test_a_probed_soak_says_what_it_runs_samples_on_its_clock_and_records_its_events_and_cost(costed):
    """One run read three ways, in one test: mutmut maps a test to the code its own run calls,
    and only the first test of a module's shared run makes it."""
    says_what_it_runs_from_its_first_sample_on(costed)
    samples_on_its_simulated_clock_and_ends_with_what_its_feed_did(costed)
    records_what_its_sampling_and_probes_cost_and_when_each_event_happened(costed)


def says_what_it_runs_from_its_first_sample_on(costed) -> None:
    meta, scenario = dict(costed["meta_at_first"]), costed["options"].scenario
    started = datetime.fromisoformat(meta.pop("start_time"))
    assert started.utcoffset().total_seconds() == 0
    pid = meta.pop("pid")
    assert pid > 0 and pid != os.getpid()
    assert meta == {
        "tool": "leakhunt", "version": __version__, "command": "soak", "label": "smoke-cleanup",
        "variant": "cleanup only", "replicate": 2, "allow_unproven": True,
        "command_line": "leakhunt soak --x", "scenario": json.loads(json.dumps(scenario.to_dict())),
        "host": platform.node(), "python": platform.python_version(),
        "fixes": ["cleanup"], "seed": scenario.seed, "speed": "max", "duration_s": 1500.0, "interval_s": 5.0,
        "probe_interval_s": 300.0, "search_limit": 500_000, "time_axis": "t_sim_s",
        "memory_limit_bytes": scenario.memory_limit_bytes, "expect": ["growth<50MB/h"],
        "exit_reason": "running", "events": [],
    }  # fmt: skip


def samples_on_its_simulated_clock_and_ends_with_what_its_feed_did(costed) -> None:
    result, meta = costed["result"], costed["meta"]
    assert (result.exit_reason, result.samples, result.write_error, result.start_failure) == (
        "completed", 301, None, None,
    )  # fmt: skip
    assert [s.t_sim_s for s in costed["seen"]] == [k * 5.0 for k in range(301)]
    walls = [s.t_wall_s for s in costed["seen"]]
    assert walls == sorted(walls) and 0 < walls[-1] <= meta["wall_s"]
    assert all(s.rss_bytes > 0 for s in costed["seen"])
    detail = meta["exit_detail"]
    assert sorted(detail) == ["candles", "feed_crc32", "fetches", "oi_entries"]
    assert detail["fetches"] and detail["candles"] and detail["oi_entries"]
    assert datetime.fromisoformat(meta["start_time"]) <= datetime.fromisoformat(meta["end_time"])
    assert not (costed["path"] / RESERVE).exists()


def records_what_its_sampling_and_probes_cost_and_when_each_event_happened(costed) -> None:
    meta, path = costed["meta"], costed["path"]
    cost, wall_s = meta["cost"], meta["wall_s"]
    summaries = [json.loads(line) for line in (path / "summaries.jsonl").read_text().splitlines()]
    assert len(summaries) >= 5 and cost["probe_s"] == pytest.approx(sum(s["probe_s"] for s in summaries))
    assert all("op" not in s for s in summaries)
    # Traced with one frame and trimmed at each cleanup, as asked.
    assert all(s["tracemalloc"] for s in summaries), summaries[0].get("tracemalloc")
    searched = [s["holder_search"] for s in summaries if "holder_search" in s]
    assert searched and all(search["max_visited"] == 500_000 for search in searched)
    assert cost["probe_s"] > 0 and cost["probe_fraction"] == cost["probe_s"] / wall_s
    rows = (path / "samples.csv").read_text().splitlines()[1:]
    assert len(rows) == costed["result"].samples
    header_bytes = len(",".join(SAMPLE_COLUMNS)) + 1
    rows_bytes = (path / "samples.csv").stat().st_size - header_bytes
    assert cost["bytes_per_sample"] == rows_bytes / len(rows) and 20 < cost["bytes_per_sample"] < 200
    assert cost["sampler_reads"] >= costed["result"].samples and cost["sampler_cpu_s"] > 0
    assert cost["sampler_cpu_s_per_read"] == cost["sampler_cpu_s"] / cost["sampler_reads"]
    assert cost["sampler_cpu_fraction"] == cost["sampler_cpu_s"] / wall_s
    assert cost["realtime_core_fraction"] == cost["sampler_cpu_s"] / cost["sampler_reads"] / 5.0
    assert cost["leakhunt_cpu_s_per_sample"] == cost["leakhunt_cpu_s"] / costed["result"].samples
    cleanups = [e for e in meta["events"] if e["kind"] == "cleanup"]
    assert [e["t_sim_s"] for e in cleanups] == [600.0, 1200.0]  # every 10 simulated minutes
    for event in cleanups:
        assert 0 < event["t_wall_s"] < wall_s
        assert event["freed_bytes"] == event["rss_before_bytes"] - event["rss_after_bytes"]
        assert event["rss_before_bytes"] > 0 and event["rss_after_bytes"] > 0
        assert {"duration_s", "ohlcv_trimmed", "oi_trimmed", "gc_collected"} < set(event)
        assert event["malloc_trimmed"] is True


def test_a_probed_soak_is_reported_with_what_grows_in_its_own_pictures(costed):
    summary = finish_run(RunDir(costed["path"]))
    assert summary["attribution"]["types"]
    assert_real_figure(costed["path"] / "memory.png")
    assert_real_figure(costed["path"] / "types.png")
    if summary["attribution"].get("accumulation_points"):
        assert_real_figure(costed["path"] / "holders.png")


def test_a_soak_without_a_run_folder_makes_its_own_where_it_is_told(tmp_path):
    scenario = replace(load_scenario("smoke"), memory_limit_bytes=1)  # hit at the first sample
    options = SoakOptions(scenario=scenario, duration_s=600.0, probe_interval_s=None, out=tmp_path / "own")
    result = run_soak(options)
    assert result.run_dir.path == tmp_path / "own" and run_label(scenario) == "smoke"
    meta = json.loads((tmp_path / "own" / "meta.json").read_text())
    assert (result.exit_reason, meta["exit_reason"], result.samples) == ("limit_hit", "limit_hit", 1)
    [hit] = meta["events"]
    rss_bytes = int((tmp_path / "own" / "samples.csv").read_text().splitlines()[1].split(",")[2])
    assert hit == {
        "kind": "limit_hit", "t_sim_s": 0.0, "t_wall_s": hit["t_wall_s"],
        "text": f"limit hit at t = 0.0 min (RSS {format_bytes(rss_bytes)} >= {format_bytes(1)})",
    }  # fmt: skip
    assert 0 < hit["t_wall_s"] < meta["wall_s"]


def test_ctrl_c_during_a_soak_stops_it_as_interrupted_with_its_samples_kept(tmp_path):
    def interrupt_at_the_third(sample) -> None:
        if sample.t_sim_s == 10.0:
            raise KeyboardInterrupt

    options = SoakOptions(scenario=load_scenario("smoke"), duration_s=600.0, probe_interval_s=None)
    result = run_soak(
        options, run_dir=RunDir.create("soak", "x", tmp_path / "run"), on_sample=interrupt_at_the_third
    )
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert (result.exit_reason, meta["exit_reason"], result.samples) == ("interrupted", "interrupted", 3)
    assert meta["exit_detail"] == {}


def test_a_target_killed_mid_run_is_recorded_with_its_code_and_last_rss(tmp_path):
    path, last = tmp_path / "run", []

    def kill_at_the_third(sample) -> None:
        last.append(sample.rss_bytes)
        if len(last) == 3:
            os.kill(json.loads((path / "meta.json").read_text())["pid"], signal.SIGKILL)

    options = SoakOptions(scenario=load_scenario("smoke"), duration_s=600.0, probe_interval_s=None)
    result = run_soak(options, run_dir=RunDir.create("soak", "x", path), on_sample=kill_at_the_third)
    meta = json.loads((path / "meta.json").read_text())
    assert (result.exit_reason, result.samples, result.start_failure) == ("target_exited", 3, None)
    assert meta["exit_detail"] == {
        "returncode": -9, "last_rss_bytes": last[-1],
        "text": f"the target exited with code -9 (last RSS {format_bytes(last[-1])}); see target.log",
    }  # fmt: skip


def test_a_full_disk_ends_the_soak_as_write_failed_naming_the_file_in_its_meta(tiny_tmpfs):
    (tiny_tmpfs / "filler").write_bytes(bytes(450 * 1024))  # the reserve and ~300 kB of rows remain
    options = SoakOptions(
        scenario=load_scenario("smoke"), duration_s=36000.0, interval_s=1.0, probe_interval_s=None
    )
    result = run_soak(options, run_dir=RunDir.create("soak", "full", tiny_tmpfs / "run"))
    meta = json.loads((tiny_tmpfs / "run" / "meta.json").read_text())
    assert result.exit_reason == meta["exit_reason"] == "write_failed"
    assert meta["exit_detail"] == {
        "text": result.write_error.message,
        "path": str(tiny_tmpfs / "run" / "samples.csv"),
    }
    assert result.samples == len(RunDir(tiny_tmpfs / "run").read_samples()) > 100  # every row written is kept


def test_a_soak_without_a_run_folder_or_out_writes_under_reports_named_by_time_soak_and_scenario(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    scenario = replace(load_scenario("smoke"), memory_limit_bytes=1)  # ends at its first sample
    result = run_soak(SoakOptions(scenario=scenario, duration_s=600.0, probe_interval_s=None))
    assert result.run_dir.path.parent == Path("reports")
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-soak-smoke", result.run_dir.path.name)


def test_ctrl_c_as_the_target_starts_records_the_run_as_interrupted_not_running(tmp_path):
    def interrupted_while_starting(config, log_path):
        raise KeyboardInterrupt  # where Ctrl-C lands while Popen starts the child

    options = SoakOptions(scenario=load_scenario("smoke"), duration_s=600.0, probe_interval_s=None)
    with pytest.raises(KeyboardInterrupt):
        run_soak(
            options,
            run_dir=RunDir.create("soak", "x", tmp_path / "run"),
            start_target=interrupted_while_starting,
        )
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert (meta["exit_reason"], meta["exit_detail"]) == ("interrupted", {})
    assert datetime.fromisoformat(meta["end_time"]) >= datetime.fromisoformat(meta["start_time"])
