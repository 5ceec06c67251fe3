"""finish.py: a run with no samples cannot be analysed; one whose child never started says why, in
the child's own words, as a failed run (exit 1) rather than an empty one; a finished run has its
summary, picture and page; a run cut off says so at its last sample."""

import html
import json
from pathlib import Path

import pytest

from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.errors import FAILED, RunError, UsageError
from leakhunt.runs.finish import analyse_run, draw_report, finish_run, open_run, write_summary
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


def test_a_report_without_pictures_is_its_page_saying_how_to_draw_them_and_gives_back_its_reserve(tmp_path):
    saved_run(tmp_path / "run", {"exit_reason": "completed", "time_axis": "t_sim_s"})
    analysed = write_summary(open_run(tmp_path / "run"))
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["verdict"] == "LEAK"
    draw_report(analysed, pictures=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.suffix in (".png", ".html")) == [
        "report.html"
    ]
    page = (tmp_path / "run" / "report.html").read_text()
    assert "<img" not in page and analysed.summary["verdict_label"] in page
    said = html.unescape(page)
    assert "No pictures: compare draws those of each variant's first replicate;" in said
    assert f"`leakhunt report {tmp_path / 'run'}` draws this run's." in said
    assert not (tmp_path / "run" / RESERVE).exists()


def test_a_run_whose_leakhunt_was_killed_ends_without_finishing_at_its_last_sample(tmp_path):
    saved_run(tmp_path / "run", {"exit_reason": "running"})
    summary = finish_run(open_run(tmp_path / "run"))
    said = "ended without finishing; last sample at 18.0 s (t_wall_s) of the run"
    assert summary["exit_reason"] == "ended without finishing"
    assert summary["exit_detail"] == {"text": said}
    assert summary["file_notes"] == [said]
    assert said in (tmp_path / "run" / "report.html").read_text()


def test_a_saved_run_judged_under_other_settings_is_analysed_and_nothing_is_written(tmp_path):
    saved_run(tmp_path / "run", {"exit_reason": "completed", "time_axis": "t_sim_s", "expect": []})
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    plain = analyse_run(open_run(tmp_path / "run"))
    judged = analyse_run(open_run(tmp_path / "run"), meta_overrides={"expect": ["growth<50MB/h"]})
    assert plain["criteria"] == [] and [c["text"] for c in judged["criteria"]] == ["growth<50MB/h"]
    assert judged["criteria_passed"] is False  # 2 MB/min is 120 MB/h
    assert judged["run_dir"] == str(tmp_path / "run") and judged["verdict"] == plain["verdict"] == "LEAK"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["expect"] == []


def test_a_torn_last_row_is_left_out_and_noted_in_the_summary(tmp_path):
    saved_run(tmp_path / "run", {"exit_reason": "completed", "time_axis": "t_sim_s"})
    with (tmp_path / "run" / "samples.csv").open("a") as stream:
        stream.write("18.1,1810")  # cut short by a crash: no newline
    summary = analyse_run(open_run(tmp_path / "run"))
    [note] = summary["file_notes"]
    assert "samples.csv" in note and summary["n_samples"] == 361
    assert "file_notes" not in analyse_run(
        open_run(saved_run(tmp_path / "clean", {"exit_reason": "completed"}).path)
    )


def test_only_a_run_directory_is_opened(tmp_path):
    with pytest.raises(UsageError) as raised:
        open_run(tmp_path / "missing")
    assert (
        raised.value.message
        == f"{tmp_path / 'missing'} is not a directory: give a run directory under reports/"
    )
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError) as raised:
        open_run(tmp_path / "plain")
    assert raised.value.message == (
        f"{tmp_path / 'plain'} is not a leakhunt run directory (no samples.csv and meta.json)"
    )
    run_dir = open_run(saved_run(tmp_path / "run", {}).path)
    assert run_dir.path == tmp_path / "run" and run_dir.notes == []
