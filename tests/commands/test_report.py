"""`leakhunt report`, run in process: a run or a comparison re-rendered from its files, its
summary on stdout (alone with --json), nothing on stderr, a saved comparison still judged under
the criteria it was made with; what is not a run directory is one line and exit 2."""

import json
import shutil

import pytest

from tests.commands.conftest import leakhunt, refusal


def load(path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run, a copy of it, and a comparison of the two made under a criterion they fail."""
    root = tmp_path_factory.mktemp("report")
    ran = leakhunt(
        "soak", "--scenario", "smoke", "--minutes", "0.5", "--probe-interval", "0", "--out", "a", cwd=root
    )
    assert ran.code == 0, ran.err
    shutil.copytree(root / "a", root / "b")
    (root / "b" / "report.html").unlink()
    ran = leakhunt("compare", "a", "b", "--expect", "rss<1MB", "--out", "cmp", cwd=root)
    assert ran.code == 1, ran.err
    return root


def test_a_run_is_re_rendered_from_its_files_with_its_summary_on_stdout(runs):
    ran = leakhunt("report", "b", cwd=runs)
    assert (ran.code, ran.err) == (0, "")
    assert (runs / "b" / "report.html").is_file()
    summary = load(runs / "b" / "summary.json")
    assert ran.out.splitlines()[2].startswith(f"smoke  {summary['verdict']} ")
    assert ran.out.splitlines()[-1] == "run directory: b  (report.html, memory.png)"


def test_json_puts_the_runs_summary_alone_on_stdout(runs):
    ran = leakhunt("report", "a", "--json", cwd=runs)
    assert ran.code == 0
    assert json.loads(ran.out) == load(runs / "a" / "summary.json")
    assert ran.err_lines[-1] == "run directory: a  (report.html, memory.png)"


def test_a_comparison_is_re_rendered_under_the_criteria_it_was_made_with(runs):
    (runs / "cmp" / "report.html").unlink()
    ran = leakhunt("report", "cmp", "--json", cwd=runs)
    assert ran.code == 0  # report re-renders; it is no gate
    comparison = json.loads(ran.out)
    assert comparison == load(runs / "cmp" / "comparison.json")
    assert comparison["meta_overrides"] == {"allow_unproven": False, "expect": ["rss<1MB"]}
    assert [run["criteria"][0]["status"] for run in comparison["runs"]] == ["FAIL", "FAIL"]
    assert ran.err_lines[-1] == "comparison directory: cmp  (report.html, comparison.png)"
    assert (runs / "cmp" / "report.html").is_file()
    assert load(runs / "a" / "meta.json")["expect"] == []  # the saved runs were not rewritten


def test_a_comparison_prints_its_table_on_stdout(runs):
    ran = leakhunt("report", "cmp", cwd=runs)
    assert (ran.code, ran.err) == (0, "")
    assert ran.out.splitlines()[0].strip() == "leakhunt compare"
    assert ran.out.splitlines()[-1] == "comparison directory: cmp  (report.html, comparison.png)"


def test_what_is_not_a_run_directory_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "empty").mkdir()
    assert refusal("report", "f", cwd=tmp_path) == (
        "error: f is not a directory: give a run or comparison directory under reports/"
    )
    assert refusal("report", "no/such/run", cwd=tmp_path) == (
        "error: no/such/run is not a directory: give a run or comparison directory under reports/"
    )
    assert refusal("report", "empty", cwd=tmp_path) == (
        "error: empty is not a leakhunt run directory (no samples.csv and meta.json)"
    )
