"""soak.py: a child that ends before it says it is ready did not start, and the run records so
with the child's own error and the path of its log; a soak records what its sampling and probes
cost and when each event happened."""

import json
from dataclasses import replace

import pytest

from leakhunt.runs.soak import SoakOptions, run_soak
from leakhunt.sampling.store import RunDir
from leakhunt.workload.scenario import load_scenario


def test_a_child_that_never_started_is_recorded_as_such_with_its_error(unstartable_run):
    meta = json.loads((unstartable_run / "meta.json").read_text())
    assert meta["exit_reason"] == "target_exited"
    detail = meta["exit_detail"]
    assert detail["started"] is False and detail["returncode"] == 1
    assert "ImportError: this pandas is broken on purpose" in detail["text"]
    assert detail["text"].endswith(f"its output: {unstartable_run / 'target.log'}")


def test_a_soak_records_what_its_sampling_and_probes_cost_and_when_each_event_happened(tmp_path):
    scenario = replace(load_scenario("smoke"), fixes=("cleanup",))
    options = SoakOptions(scenario=scenario, duration_s=25 * 60.0, probe_interval_s=300.0)
    result = run_soak(options, run_dir=RunDir.create("soak", "costed", tmp_path / "run"))
    assert result.exit_reason == "completed"
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    cost, wall_s = meta["cost"], meta["wall_s"]
    summaries = [json.loads(line) for line in (tmp_path / "run" / "summaries.jsonl").read_text().splitlines()]
    assert len(summaries) >= 5 and cost["probe_s"] == pytest.approx(sum(s["probe_s"] for s in summaries))
    assert cost["probe_s"] > 0 and cost["probe_fraction"] == pytest.approx(cost["probe_s"] / wall_s)
    rows = (tmp_path / "run" / "samples.csv").read_text().splitlines()[1:]
    assert len(rows) == result.samples and 20 < cost["bytes_per_sample"] < 200
    cleanups = [e for e in meta["events"] if e["kind"] == "cleanup"]
    assert len(cleanups) == 2  # every 10 simulated minutes
    assert all(0 < e["t_wall_s"] < wall_s for e in cleanups)
