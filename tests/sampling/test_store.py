"""The run directory: written as things happen, readable after any interruption."""

import json

import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample
from leakhunt.sampling.store import NotARunFile, RunDir, WriteFailed


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


def test_a_row_without_a_time_or_an_rss_is_not_a_sample_and_its_neighbours_are(tmp_path):
    # What a hand-edited or half-copied file holds: each row lacks one of the three columns every
    # sample has (or holds a word there). Only complete rows are samples, whatever else is empty,
    # and an RSS of 0 (a kernel thread, a process mid-exec) is a reading, not a missing one.
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
    with run.file("samples.csv").open("a") as stream:
        stream.write("1.0,1.0,,,0,0.0,\r\n")  # no rss_bytes
        stream.write("2.0,2.0,n/a,,0,0.0,\r\n")  # not a number
        stream.write(",3.0,300,,0,0.0,\r\n")  # no t_wall_s
        stream.write("4.0,,400,,0,0.0,\r\n")  # no t_sim_s
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=5.0, t_sim_s=5.0, rss_bytes=0))
        writer.write(Sample(t_wall_s=6.0, t_sim_s=6.0, rss_bytes=600))
    frame = run.read_samples()
    assert frame["t_wall_s"].tolist() == [0.0, 5.0, 6.0]
    assert frame["rss_bytes"].tolist() == [100, 0, 600]
    assert list(frame.index) == [0, 1, 2]


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


# --- What a crash or a full disk leaves behind --------------------------------------------


def test_a_torn_last_row_that_still_parses_is_not_a_sample_and_is_noted(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=123_456_789))
    with run.file("samples.csv").open("a") as stream:
        stream.write("1.0,1.0,138")  # "138" of 138457600 when the disk filled
    assert run.read_samples()["rss_bytes"].tolist() == [123_456_789]
    assert any("torn last row" in note for note in run.notes)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("meta.json", b"\x00\xff\xfe binary", "not text"),
        ("meta.json", b'{"exit_reason": "comp', "not JSON"),
        ("meta.json", b"[1, 2]", "not an object"),
        ("samples.csv", b"\x89PNG\r\n\x1a\n\x00\xff", "not text"),
        ("samples.csv", b"a,b\n1,2\n", "t_wall_s"),
        ("samples.csv", b"t_wall_s,t_sim_s,swap_bytes\n1,1,0\n", "no rss_bytes column"),
        ("summaries.jsonl", b'{"t_sim_s": 1}\nnot json\n{"t_sim_s": 2}\n', "line 2"),
    ],
)
def test_a_corrupt_run_file_is_named_with_why(tmp_path, name, content, why):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=1))
    run.write_meta({"exit_reason": "completed"})
    run.file(name).write_bytes(content)
    readers = {
        "meta.json": run.read_meta,
        "samples.csv": run.read_samples,
        "summaries.jsonl": run.read_summaries,
    }
    with pytest.raises(NotARunFile, match=rf"{run.file(name)} is not a leakhunt run file \(.*{why}"):
        readers[name]()


def test_a_torn_last_summary_line_is_dropped_with_a_note(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.append_summary({"t_sim_s": 1})
    with run.file("summaries.jsonl").open("a") as stream:
        stream.write('{"t_sim_s": 2, "ty')
    assert run.read_summaries() == [{"t_sim_s": 1}]
    assert run.notes


def test_a_full_disk_names_the_file_and_leaves_no_temporary_file(tiny_tmpfs):
    run = RunDir.create("soak", "x", tiny_tmpfs / "run")
    run.write_meta({"exit_reason": "running"})
    filler = tiny_tmpfs / "filler"
    with pytest.raises(OSError), filler.open("wb") as stream:
        while True:
            stream.write(bytes(64 * 1024))
    with pytest.raises(WriteFailed, match=rf"cannot write {run.file('summaries.jsonl')}: No space left"):
        run.append_summary({"t_sim_s": 1, "types": ["x" * 100_000]})
    with pytest.raises(WriteFailed, match=r"summary.json: No space left"):
        run.write_summary({"big": "x" * 100_000})
    # meta.json still records how the run ended: the reserve made room for it.
    run.update_meta(exit_reason="write_failed")
    assert run.read_meta()["exit_reason"] == "write_failed"
    assert sorted(p.name for p in run.path.iterdir() if ".tmp" in p.name) == []


def test_a_sample_row_is_the_row_csv_writer_would_write(tmp_path):
    import csv
    import io

    sample = Sample(t_wall_s=0.1 + 0.2, t_sim_s=1e-7, rss_bytes=123456789, uss_bytes=None, cpu_percent=12.5)
    run = RunDir.create("watch", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(sample)
    expected = io.StringIO()
    csv.writer(expected).writerow(
        ["" if getattr(sample, c) is None else getattr(sample, c) for c in SAMPLE_COLUMNS]
    )
    assert (tmp_path / "run" / "samples.csv").read_bytes().decode().split("\n", 1)[1] == expected.getvalue()
    assert run.read_samples()["t_wall_s"].iloc[0] == 0.1 + 0.2  # every digit of a float kept
