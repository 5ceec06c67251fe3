"""The fault suite: each fault made real, and what the user is left with afterwards.

Disk full is a real 1 MiB tmpfs; a killed leakhunt is a real SIGKILL. A fault must cost no sample
already written, leave no temporary or half-written file, and be told in one line.
"""

import errno
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import psutil

from leakhunt.sampling.store import RunDir
from tests.e2e.conftest import leakhunt, start_leakhunt
from tests.helpers.processes import wait_for_exit

FILLER_BYTES = 450 * 1024  # of the 1 MiB tmpfs: the run directory's reserve and ~300 kB remain


def fill(directory: Path, size_bytes: int) -> None:
    (directory / "filler").write_bytes(bytes(size_bytes))


def fill_up(directory: Path) -> None:
    """Write until the filesystem says it is full."""
    with (directory / "filler").open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(bytes(4096))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_full_disk_stops_the_soak_cleanly_naming_the_file_and_keeping_every_sample(tiny_tmpfs):
    fill(tiny_tmpfs, FILLER_BYTES)
    out = tiny_tmpfs / "run"
    result = leakhunt("soak", "--scenario", "smoke", "--minutes", "600", "--interval", "1s",
                      "--probe-interval", "0", "--out", str(out))  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert result.returncode == 1, result.stderr
    assert errors == [
        f"error: cannot write {out / 'samples.csv'}: No space left on device; free some space or choose "
        "another --out (every sample already written is kept)"
    ]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["exit_reason"] == "write_failed" and "No space left" in meta["exit_detail"]["text"]
    samples = RunDir(out).read_samples()
    assert len(samples) > 100 and samples["rss_bytes"].min() > 10e6  # no torn row read as a sample
    assert not any(".tmp" in path.name for path in out.iterdir())
    assert not (out / "report.html").exists()
    assert not os.path.exists(f"/proc/{meta['pid']}")  # the target was stopped, not abandoned


def test_a_full_disk_while_rendering_leaves_no_half_written_report(tiny_tmpfs, tmp_path):
    source = tmp_path / "run"
    leakhunt("soak", "--scenario", "smoke", "--minutes", "5", "--out", str(source), check_rc=0)
    copy = tiny_tmpfs / "run"
    copy.mkdir()
    for name in ("meta.json", "samples.csv", "summaries.jsonl"):
        (copy / name).write_bytes((source / name).read_bytes())
    fill_up(tiny_tmpfs)
    result = leakhunt("report", str(copy))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot write {copy}/") and "No space left" in result.stderr
    assert result.stderr.count("\n") == 1
    assert sorted(path.name for path in copy.iterdir()) == ["meta.json", "samples.csv", "summaries.jsonl"]
    assert not (tiny_tmpfs / "run" / "report.html").exists()


def test_report_on_a_read_only_run_is_one_line_saying_where_to_copy_it(tiny_tmpfs, tmp_path):
    source = tmp_path / "run"
    leakhunt("soak", "--scenario", "smoke", "--minutes", "5", "--out", str(source), check_rc=0)
    copy = tiny_tmpfs / "run"
    copy.mkdir()
    for name in ("meta.json", "samples.csv", "summaries.jsonl"):
        (copy / name).write_bytes((source / name).read_bytes())
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    result = leakhunt("report", str(copy))
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "Read-only file system" in result.stderr and "copy the run directory" in result.stderr


def run_copy(tmp_path: Path, source: Path, **replacements: bytes) -> Path:
    copy = tmp_path / "copy"
    copy.mkdir(parents=True)
    for name in ("meta.json", "samples.csv", "summaries.jsonl"):
        (copy / name).write_bytes(replacements.get(name.replace(".", "_"), (source / name).read_bytes()))
    return copy


def test_corrupt_run_files_and_a_torn_row_when_re_rendered(tmp_path):
    source = tmp_path / "run"
    leakhunt("soak", "--scenario", "smoke", "--minutes", "5", "--out", str(source), check_rc=0)
    cases = {
        "meta_json": (b"\xff\xfe\x00binary", "meta.json is not a leakhunt run file (not text)"),
        "summaries_jsonl": (b"{}\n[oops\n{}\n", "summaries.jsonl is not a leakhunt run file (line 2"),
        "samples_csv": (b"what,is,this\n1,2,3\n", "samples.csv is not a leakhunt run file (no t_wall_s"),
    }
    for index, (name, (content, words)) in enumerate(cases.items()):
        copy = run_copy(tmp_path / str(index), source, **{name: content})
        result = leakhunt("report", str(copy))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("error: ") and words in result.stderr, result.stderr
    torn = (source / "samples.csv").read_bytes() + b"61.0,61.0,138"
    copy = run_copy(tmp_path / "torn", source, samples_csv=torn)
    summary = json.loads(leakhunt("report", str(copy), "--json", check_rc=0).stdout)
    assert summary["peak_rss_bytes"] > 10e6 and summary["n_samples"] == len(RunDir(source).read_samples())
    assert any("torn last row" in note for note in summary["file_notes"])


def test_a_sigkilled_soak_takes_its_target_with_it_and_re_renders_as_cut_off(tmp_path):
    out = tmp_path / "run"
    # One barrier every 30 simulated minutes in real time: the target would wait that long.
    parent = start_leakhunt("soak", "--scenario", "smoke", "--minutes", "60", "--interval", "30m",
                            "--speed", "1", "--probe-interval", "0", "--out", str(out))  # fmt: skip
    for line in parent.stderr:
        if line.startswith("sim"):  # the first sample is written: the target runs
            break
    target_pid = json.loads((out / "meta.json").read_text())["pid"]
    assert psutil.pid_exists(target_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stderr.close()
    parent.stdout.close()
    assert wait_for_exit(target_pid)
    summary = json.loads(leakhunt("report", str(out), "--json", check_rc=0).stdout)
    assert summary["exit_reason"] == "ended without finishing"
    assert re.match(r"ended without finishing; last sample at \d+\.\d s", summary["exit_detail"]["text"])


def test_a_sigkilled_watch_leaves_no_events_command_behind(tmp_path):
    log = tmp_path / "service.log"
    log.write_text("")
    events = ("--events", f"tail -f {log}", "--event-match", "x")
    parent = start_leakhunt("watch", "--pid", str(os.getpid()), *events, "--out", str(tmp_path / "run"))
    assert parent.stderr.readline().startswith("watching")  # the events command is running
    (follower,) = psutil.Process(parent.pid).children()
    assert follower.name() == "tail"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stderr.close()
    parent.stdout.close()
    assert wait_for_exit(follower.pid)
