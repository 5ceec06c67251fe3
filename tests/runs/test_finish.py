"""finish.py: a run with no samples cannot be analysed; one whose child never started says why, in
the child's own words, as a failed run (exit 1) rather than an empty one; a finished run has its
summary, picture and page; a run cut off says so at its last sample."""

import json
from pathlib import Path

import pytest

from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.errors import FAILED, RunError, UsageError
from leakhunt.runs.finish import finish_run, open_run
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RESERVE, RunDir
from tests.e2e.conftest import assert_real_figure


def test_a_run_whose_child_never_started_fails_with_the_childs_error_not_no_samples(unstartable_run):
    with pytest.raises(RunError) as raised:
        finish_run(open_run(unstartable_run))
    assert raised.value.exit_code == FAILED
    assert (
        "did not start (exit code 1): ImportError: this pandas is broken on purpose" in raised.value.message
    )
    assert str(unstartable_run / "target.log") in raised.value.message
    assert not (unstartable_run / "report.html").exists()


def test_a_run_with_no_samples_yet_is_nothing_to_analyse(tmp_path):
    run_dir = RunDir.create("soak", "empty", tmp_path / "run")
    run_dir.write_meta({"command": "soak", "exit_reason": "running"})
    with run_dir.sample_writer():
        pass
    with pytest.raises(UsageError, match="holds no samples yet: nothing to analyse"):
        finish_run(open_run(tmp_path / "run"))


def saved_run(path: Path, meta: dict) -> RunDir:
    """A soak's run folder as its store writes one: 30 simulated minutes of a 2 MB/min leak."""
    t_s, rss_bytes, _ = service_at_rest(0, 2e6, minutes=30, interval_s=5.0)
    run_dir = RunDir.create("soak", "saved", path)
    run_dir.write_meta({"command": "soak", "label": "saved", "memory_limit_bytes": 6e9, "events": [], **meta})
    with run_dir.sample_writer() as writer:
        for t, rss in zip(t_s, rss_bytes, strict=True):
            writer.write(Sample(t_wall_s=float(t) / 100, t_sim_s=float(t), rss_bytes=int(rss)))
    return run_dir


def test_a_finished_run_has_its_summary_its_picture_and_its_page_and_gives_back_its_reserve(tmp_path):
    run_dir = saved_run(tmp_path / "run", {"exit_reason": "completed", "time_axis": "t_sim_s"})
    assert (tmp_path / "run" / RESERVE).exists()
    summary = finish_run(open_run(tmp_path / "run"))
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["verdict"] == "LEAK" and summary["run_dir"] == str(run_dir.path)
    assert_real_figure(tmp_path / "run" / "memory.png")
    assert summary["verdict_label"] in (tmp_path / "run" / "report.html").read_text()
    assert not (tmp_path / "run" / RESERVE).exists()
    assert not (tmp_path / "run" / "types.png").exists()  # no probes, no picture of types


def test_a_run_whose_leakhunt_was_killed_ends_without_finishing_at_its_last_sample(tmp_path):
    saved_run(tmp_path / "run", {"exit_reason": "running"})
    summary = finish_run(open_run(tmp_path / "run"))
    said = "ended without finishing; last sample at 18.0 s (t_wall_s) of the run"
    assert summary["exit_reason"] == "ended without finishing"
    assert summary["exit_detail"] == {"text": said}
    assert summary["file_notes"] == [said]
    assert said in (tmp_path / "run" / "report.html").read_text()
