"""The run directory: written as things happen, readable after any interruption."""

import errno
import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling.sample import SAMPLE_COLUMNS, Sample
from leakhunt.sampling.store import RESERVE, RESERVE_BYTES, NotARunFile, RunDir, WriteFailed


def fill(path):
    """Write `path` until the disk is full."""
    with pytest.raises(OSError), path.open("wb") as stream:
        while True:
            stream.write(bytes(64 * 1024))


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
        stream.write("2.0,2.0,n/a,,0,0.0,\r\n")  # pandas' word for a missing value
        stream.write("2.5,2.5,12MB,,0,0.0,\r\n")  # not a number
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
        ("meta.json", b'{"exit_reason": "comp', "not JSON: Unterminated string starting at at line 1"),
        (
            "meta.json",
            b'{\n"a": 1,\n}',
            "not JSON: Expecting property name enclosed in double quotes at line 3",
        ),
        ("meta.json", b"[1, 2]", "a JSON list, not an object"),
        ("samples.csv", b"\x89PNG\r\n\x1a\n\x00\xff", "not text"),
        ("samples.csv", b"", "No columns to parse from file"),  # the disk filled before the header
        (
            "samples.csv",
            b't_wall_s,t_sim_s,rss_bytes\n"1,2\n',
            "Error tokenizing data. C error: EOF inside string starting at row 1",
        ),
        ("samples.csv", b"a,b\n1,2\n", "no t_wall_s column"),
        ("samples.csv", b"t_wall_s,rss_bytes\n1,0\n", "no t_sim_s column"),
        ("samples.csv", b"t_wall_s,t_sim_s,swap_bytes\n1,1,0\n", "no rss_bytes column"),
        ("summaries.jsonl", b'{"t_sim_s": 1}\nnot json\n{"t_sim_s": 2}\n', "line 2 is not a JSON object"),
        ("summaries.jsonl", b'{"t_sim_s": 1}\n[1]\n{"t_sim_s": 2}\n', "line 2 is not a JSON object"),
        ("summaries.jsonl", b'{"t_sim_s": 1}\n\xff\xfe\n', "not text"),
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
    with pytest.raises(NotARunFile) as refused:
        readers[name]()
    assert refused.value.message == (
        f"{run.file(name)} is not a leakhunt run file ({why}); re-run, or remove it"
    )


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
    fill(tiny_tmpfs / "filler")
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


# --- Names and what is made with a run directory ------------------------------------------


@pytest.fixture
def eastern_time(monkeypatch):
    """The local zone 5 hours behind UTC, as on a server in New York."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_default_run_directory_starts_with_the_utc_time_it_was_made(tmp_path, monkeypatch, eastern_time):
    monkeypatch.chdir(tmp_path)
    before = datetime.now(UTC)
    run = RunDir.create("watch", "pid 4242")
    after = datetime.now(UTC)
    stamp, rest = run.path.name.split("-", 1)
    made = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    assert before <= made <= after
    assert rest == "watch-pid_4242"
    assert run.path.parent == Path("reports")


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("Api-v1.2_beta-X", "Api-v1.2_beta-X"),  # letters, digits and . _ - are kept
        ("  /srv/app: worker #3 ", "srv_app_worker_3"),  # runs of others become one _, none at the ends
        ("x" * 80, "x" * 60),
        ("///", "run"),
        ("", "run"),
    ],
)
def test_a_label_becomes_a_short_safe_part_of_the_directory_name(tmp_path, monkeypatch, label, slug):
    monkeypatch.chdir(tmp_path)
    assert RunDir.create("soak", label).path.name.endswith(f"-soak-{slug}")


def test_a_new_run_directory_holds_a_space_reserve_and_its_missing_parents_are_made(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "a" / "b" / "run")
    assert (run.path / RESERVE).stat().st_size == RESERVE_BYTES
    assert run.release_reserve() is True
    assert not (run.path / RESERVE).exists()
    assert run.release_reserve() is False  # freed once


def test_an_existing_empty_directory_can_hold_a_new_run(tmp_path):
    (tmp_path / "run").mkdir()
    assert RunDir.create("soak", "x", tmp_path / "run").path == tmp_path / "run"


def test_a_directory_that_holds_a_comparison_is_not_reused_for_a_run(tmp_path):
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "comparison.json").write_text("{}")
    with pytest.raises(UsageError) as refused:
        RunDir.create("soak", "x", tmp_path / "cmp")
    assert refused.value.message == (
        f"{tmp_path / 'cmp'} already holds a run: choose another --out, or remove it first"
    )


def test_a_run_directory_is_one_with_both_samples_and_meta(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    assert not run.is_run()
    run.write_meta({"command": "soak"})
    assert not run.is_run()
    with run.sample_writer():
        pass
    assert run.is_run()
    run.file("meta.json").unlink()
    assert not run.is_run()


# --- meta.json and summaries --------------------------------------------------------------


def test_meta_json_is_indented_text_with_paths_and_times_as_strings(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    started = datetime(2025, 10, 30, 3, 0, tzinfo=UTC)
    run.write_meta({"out": tmp_path, "started": started})
    text = run.file("meta.json").read_text()
    assert text == json.dumps({"out": str(tmp_path), "started": str(started)}, indent=2) + "\n"
    assert run.read_meta() == {"out": str(tmp_path), "started": str(started)}


def test_a_run_without_meta_json_reads_as_empty_and_its_first_event_starts_the_list(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    assert run.read_meta() == {}
    run.add_event({"kind": "start"})
    run.add_event({"kind": "cleanup"})
    assert run.read_meta() == {"events": [{"kind": "start"}, {"kind": "cleanup"}]}
    assert run.update_meta(exit_reason="completed") == run.read_meta()


def test_summary_json_is_written_whole(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.write_summary({"verdict": "LEAK", "out": tmp_path})
    assert json.loads(run.file("summary.json").read_text()) == {"verdict": "LEAK", "out": str(tmp_path)}


def test_summaries_are_one_json_object_a_line_in_the_order_probed(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    assert run.read_summaries() == []
    run.append_summary({"t_sim_s": 1, "out": tmp_path})
    run.append_summary({"t_sim_s": 2})
    assert run.file("summaries.jsonl").read_text().splitlines() == [
        json.dumps({"t_sim_s": 1, "out": str(tmp_path)}),
        json.dumps({"t_sim_s": 2}),
    ]
    assert run.read_summaries() == [{"t_sim_s": 1, "out": str(tmp_path)}, {"t_sim_s": 2}]
    assert run.notes == []


def test_a_torn_last_summary_line_note_names_the_file(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.file("summaries.jsonl").write_text('{"t_sim_s": 1}\n[1, 2]\n')  # JSON, not an object: torn too
    assert run.read_summaries() == [{"t_sim_s": 1}]
    assert run.notes == ["summaries.jsonl: dropped a torn last line, left by a crash or a full disk"]


def test_the_torn_row_note_names_the_file_and_what_was_dropped(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=1))
    assert run.read_samples()["rss_bytes"].tolist() == [1]
    assert run.notes == []  # a complete file: nothing to say
    with run.file("samples.csv").open("a") as stream:
        stream.write("1.0,1.0,138")
    run.read_samples()
    assert run.notes == ["samples.csv: dropped a torn last row ('1.0,1.0,138') left by a crash or full disk"]


def test_a_header_without_its_newline_is_an_empty_run_not_a_torn_row(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.file("samples.csv").write_text("t_wall_s,t_sim_s,rss_bytes")
    assert run.read_samples().empty
    assert run.notes == []


def test_a_row_torn_then_written_after_by_a_new_writer_is_skipped_not_fatal(tmp_path):
    # A torn row, then the sampler opens the file again: the next row lands on the torn line,
    # which then has too many fields. Every other row is still a sample.
    run = RunDir.create("watch", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
    with run.file("samples.csv").open("a") as stream:
        stream.write("1.0,1.0,138")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=2.0, t_sim_s=2.0, rss_bytes=200))
        writer.write(Sample(t_wall_s=3.0, t_sim_s=3.0, rss_bytes=300))
    frame = run.read_samples()
    assert frame["rss_bytes"].tolist() == [100, 300]
    assert run.file("samples.csv").read_text().count("t_wall_s") == 1  # one header, not one per writer


def test_the_writer_counts_rows_and_bytes_as_written(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    with run.sample_writer() as writer:
        assert (writer.rows_written, writer.bytes_written, writer.path) == (0, 0, run.file("samples.csv"))
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
        writer.write(Sample(t_wall_s=1.0, t_sim_s=1.0, rss_bytes=200))
    header = (",".join(SAMPLE_COLUMNS) + "\n").encode()
    assert writer.rows_written == 2
    assert writer.bytes_written == run.file("samples.csv").stat().st_size - len(header)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_a_refused_write_says_to_copy_the_run_elsewhere(tmp_path, code):
    failed = WriteFailed(tmp_path / "meta.json", OSError(code, os.strerror(code)))
    assert failed.message == (
        f"cannot write {tmp_path / 'meta.json'}: {os.strerror(code)}; copy the run directory somewhere "
        "writable and run `leakhunt report` there"
    )
    assert failed.path == tmp_path / "meta.json"


def test_any_other_write_error_says_to_free_space_and_that_samples_are_kept(tmp_path):
    failed = WriteFailed(tmp_path / "samples.csv", OSError(errno.EIO, os.strerror(errno.EIO)))
    assert failed.message == (
        f"cannot write {tmp_path / 'samples.csv'}: Input/output error; free some space or choose another "
        "--out (every sample already written is kept)"
    )
    # An error without strerror (raised by a library, not the kernel) is shown in its own words.
    without = WriteFailed(tmp_path / "x", OSError("disk gone"))
    assert without.message.startswith(f"cannot write {tmp_path / 'x'}: disk gone;")


def test_a_disk_remounted_read_only_is_a_write_failed_not_a_traceback(tiny_tmpfs):
    run = RunDir.create("soak", "x", tiny_tmpfs / "run")
    run.write_meta({"exit_reason": "running"})
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    with pytest.raises(WriteFailed, match=r"meta\.json: Read-only file system; copy the run directory"):
        run.update_meta(exit_reason="completed")
    assert run.read_meta() == {"exit_reason": "running"}


def test_on_a_full_disk_a_sample_row_is_a_write_failed_naming_samples_csv(tiny_tmpfs):
    run = RunDir.create("soak", "x", tiny_tmpfs / "run")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
        fill(tiny_tmpfs / "filler")
        with pytest.raises(WriteFailed) as failed:
            # The filler leaves less than a page: a few rows fit, then one is cut short.
            for i in range(1, 10_000):
                writer.write(Sample(t_wall_s=i, t_sim_s=i, rss_bytes=100 + i))
    assert failed.value.message.startswith(f"cannot write {run.file('samples.csv')}: No space left on device")
    # The row that did not fit is the last one tried: every row counted as written is a sample.
    frame = run.read_samples()
    assert frame["rss_bytes"].tolist() == [100 + i for i in range(writer.rows_written)]


def test_a_run_directory_on_a_full_disk_is_refused_and_leaves_no_reserve(tiny_tmpfs):
    fill(tiny_tmpfs / "filler")
    with pytest.raises(UsageError) as refused:
        RunDir.create("soak", "x", tiny_tmpfs / "run")
    assert refused.value.message == (
        f"cannot write to output directory {tiny_tmpfs / 'run'}: No space left on device; "
        "choose another with --out"
    )
    assert list((tiny_tmpfs / "run").iterdir()) == []


def test_a_samples_file_that_cannot_be_opened_is_a_write_failed(tmp_path):
    run = RunDir.create("soak", "x", tmp_path / "run")
    run.file("samples.csv").mkdir()  # a folder where the file goes: open() fails whoever we are
    with pytest.raises(WriteFailed) as failed, run.sample_writer():
        pass
    assert failed.value.message.startswith(f"cannot write {run.file('samples.csv')}: Is a directory;")


def test_an_empty_samples_file_gets_its_header_when_sampling_starts_again(tmp_path):
    # The disk filled before the header was written: the next writer starts the file over.
    run = RunDir.create("watch", "x", tmp_path / "run")
    run.file("samples.csv").write_bytes(b"")
    with run.sample_writer() as writer:
        writer.write(Sample(t_wall_s=0.0, t_sim_s=0.0, rss_bytes=100))
    assert run.file("samples.csv").read_text().startswith(",".join(SAMPLE_COLUMNS) + "\n")
    assert run.read_samples()["rss_bytes"].tolist() == [100]


def test_a_summary_line_that_does_not_fit_is_a_write_failed_and_the_run_stays_readable(tiny_tmpfs):
    run = RunDir.create("soak", "x", tiny_tmpfs / "run")
    run.append_summary({"t_sim_s": 1})
    fill(tiny_tmpfs / "filler")
    # More than the page the first line left free (4 or 64 KiB): part of the line fits, not all.
    with pytest.raises(WriteFailed, match=r"summaries\.jsonl: No space left on device"):
        run.append_summary({"t_sim_s": 2, "types": ["x" * 70_000]})
    assert run.read_summaries() == [{"t_sim_s": 1}]
    assert run.notes == ["summaries.jsonl: dropped a torn last line, left by a crash or a full disk"]


def test_a_folder_without_a_sample_is_discarded_with_what_a_run_writes_and_a_sampled_one_kept(tmp_path):
    empty, started, sampled = (RunDir.create("soak", n, tmp_path / n) for n in ("none", "started", "sampled"))
    started.write_meta({"command": "soak"})
    started.file("samples.csv").write_text("t_sim_s,rss_bytes\n")  # its header only
    (started.path / "target.log").write_text("")
    sampled.file("samples.csv").write_text("t_sim_s,rss_bytes\n0.0,1\n")
    for run_dir in (empty, started, sampled):
        run_dir.discard_unsampled(also=("target.log",))
    assert not empty.path.exists() and not started.path.exists()
    assert sorted(p.name for p in sampled.path.iterdir()) == [".leakhunt-reserve", "samples.csv"]
