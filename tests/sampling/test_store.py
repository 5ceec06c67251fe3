"""The run directory: written as things happen, readable after any interruption."""

import json

import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample
from leakhunt.sampling.store import RunDir


def test_a_new_run_directory_is_named_by_time_command_and_label(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunDir.create("soak", "incident 2025/10/30")
    assert run.path.parent.name == "reports"
    assert run.path.name.endswith("-soak-incident_2025_10_30")


def test_samples_are_on_disk_as_soon_as_they_are_written(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
        # Read through the file, not the writer: the row is there before the writer closes.
        assert len(run.read_samples()) == 1
        writer.write(Sample(t_wall_s=1.0, t_sim_s=5.0, rss_bytes=200, swap_bytes=7, py_heap_bytes=50))
        assert writer.bytes_written > 0
    frame = run.read_samples()
    assert list(frame.columns) == list(SAMPLE_COLUMNS)
    assert frame["rss_bytes"].tolist() == [100, 200]
    assert frame["uss_bytes"].isna().all()


def test_a_torn_last_line_of_a_killed_run_is_dropped_and_every_complete_row_kept(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        for i in range(3):
            writer.write(Sample(t_wall_s=i, t_sim_s=i, rss_bytes=1000 + i))
    with run.file("samples.csv").open("a") as stream:
        stream.write("3.0,3.0,")
    assert run.read_samples()["rss_bytes"].tolist() == [1000, 1001, 1002]
    run.append_summary({"t_sim_s": 1})
    with run.file("summaries.jsonl").open("a") as stream:
        stream.write('{"t_sim_')
    assert run.read_summaries() == [{"t_sim_s": 1}]


def test_events_are_added_to_meta_json_atomically(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.write_meta({"command": "soak", "events": []})
    run.add_event({"kind": "cleanup", "t_sim_s": 600})
    run.update_meta(exit_reason="completed")
    meta = json.loads(run.file("meta.json").read_text())
    assert meta["events"] == [{"kind": "cleanup", "t_sim_s": 600}]
    assert meta["exit_reason"] == "completed"
    assert not list(run.path.glob("*.tmp"))


def test_an_output_path_that_is_a_file_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"cannot write to output directory .* --out"):
        RunDir.create("soak", "x", blocker / "run")


def test_reading_a_directory_that_is_not_a_run_says_so(tmp_path):
    with pytest.raises(UsageError, match=r"no samples\.csv"):
        RunDir(tmp_path).read_samples()


def test_a_directory_that_already_holds_a_run_is_never_appended_to(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
    with pytest.raises(UsageError, match="already holds a run"):
        RunDir.create("soak", "x", tmp_path / "run")
