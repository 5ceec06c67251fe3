"""`leakhunt compare`, run in process at the smallest scale: --baseline runs the fixes off and
on (each alone too with --ablation) with the options given reaching every run; saved runs are
judged side by side under the criteria given here, never rewritten; the variants' progress goes
to stderr and the table to stdout; a criterion failed or unproven exits 1; the option mistakes
are one line and exit 2."""

import json
import re
from pathlib import Path

import pytest

from leakhunt.workload.scenario import load_scenario
from tests.commands.conftest import interrupt_once_sampled, leakhunt, refusal

SMOKE = Path(load_scenario("smoke").path).read_text()

ABLATION = ["fixes off", "all fixes", "caps only", "oi_cap only", "cleanup only"]
DIRS = {"fixes off": "baseline", "all fixes": "all-fixes", "caps only": "caps-only",
        "oi_cap only": "oi_cap-only", "cleanup only": "cleanup-only"}  # fmt: skip


def load(path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    """Every variant once, half a simulated minute each, two at a time, with a criterion that
    half a minute cannot prove."""
    cwd = tmp_path_factory.mktemp("compare")
    out = cwd / "cmp"
    ran = leakhunt(
        "compare", "--baseline", "--ablation", "--scenario", "smoke", "--minutes", "0.5", "--interval", "3s",
        "--probe-interval", "0", "--seed", "3", "--scale", "0.5", "--jobs", "2", "--repeat", "1",
        "--speed", "600", "--expect", "rss<2GB@2h", "--out", "cmp", cwd=cwd,
    )  # fmt: skip
    return ran, out


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """Fixes off and on, twice each, one at a time, the unproven criterion let pass, no --out; the
    smoke scenario under a name in brackets."""
    cwd = tmp_path_factory.mktemp("compare-replicated")
    (cwd / "mine.toml").write_text(SMOKE.replace('name = "smoke"', 'name = "[bold]mine"'))
    ran = leakhunt(
        "compare", "--baseline", "--scenario", "mine.toml", "--minutes", "0.5", "--probe-interval", "0",
        "--jobs", "1", "--repeat", "2", "--expect", "rss<2GB@2h", "--allow-unproven", cwd=cwd,
    )  # fmt: skip
    (out,) = (cwd / "reports").iterdir()
    return ran, out


def test_the_ablation_runs_every_variant_with_the_options_given(ablation):
    _, out = ablation
    for label, folder in DIRS.items():
        meta = load(out / folder / "meta.json")
        assert (meta["variant"], meta["seed"], meta["scenario"]["scale"]) == (label, 3, 0.5)
        assert (meta["duration_s"], meta["interval_s"], meta["probe_interval_s"]) == (30.0, 3.0, None)
        assert (meta["speed"], meta["expect"], meta["allow_unproven"]) == (600.0, ["rss<2GB@2h"], False)


def test_an_unproven_criterion_exits_1_after_the_comparison_is_written(ablation):
    ran, out = ablation
    comparison = load(out / "comparison.json")
    assert (ran.code, comparison["criteria_passed"]) == (1, False)
    assert [run["label"] for run in comparison["runs"]] == ABLATION
    assert (out / "report.html").is_file()


def test_the_variants_progress_goes_to_stderr_a_line_each_when_done(ablation):
    ran, _ = ablation
    first, *done = ran.err_lines
    assert first == "compare smoke: 5 variants x 1 runs of 0.5 simulated min, 2 at a time"
    found = [re.fullmatch(r"(.+): 1/1 runs done \((\d)/5 in all\)", line) for line in done]
    assert all(found), done
    assert sorted(m[1] for m in found) == sorted(ABLATION)
    assert [m[2] for m in found] == ["1", "2", "3", "4", "5"]


def test_the_table_goes_to_stdout_a_row_per_variant_ending_with_the_directory(ablation):
    ran, _ = ablation
    lines = ran.out.splitlines()
    assert lines[0].strip() == "leakhunt compare"
    assert lines[1].split()[:2] == ["run", "verdict"]
    rows = lines[3:8]
    assert [row[:12].strip() for row in rows] == ABLATION
    assert lines[-1] == "comparison directory: cmp  (report.html, comparison.png)"


def test_replicates_run_one_at_a_time_and_an_unproven_criterion_may_pass(replicated):
    ran, out = replicated
    assert ran.code == 0, ran.err
    assert ran.err_lines == [
        "compare [bold]mine: 2 variants x 2 runs of 0.5 simulated min, 1 at a time",  # brackets are no markup
        "fixes off: 2/2 runs done (2/4 in all)",
        "all fixes: 2/2 runs done (4/4 in all)",
    ]
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-compare-bold_mine", out.name), out.name
    comparison = load(out / "comparison.json")
    assert (comparison["replicates"], comparison["criteria_passed"]) == (2, True)
    metas = [load(path) for path in sorted(out.rglob("meta.json"))]
    assert sorted((m["variant"], m["replicate"]) for m in metas) == [
        ("all fixes", 1), ("all fixes", 2), ("fixes off", 1), ("fixes off", 2),
    ]  # fmt: skip
    assert all(m["allow_unproven"] is True and m["duration_s"] == 30.0 for m in metas)
    assert all((m["seed"], m["scenario"]["scale"], m["interval_s"]) == (7, 1.0, 5.0) for m in metas)


def test_saved_runs_are_judged_under_the_criteria_given_here(ablation, tmp_path):
    _, source = ablation
    runs = (source / "baseline", source / "all-fixes")
    ran = leakhunt("compare", *runs, "--expect", "rss<1MB", "--out", "failed", cwd=tmp_path)
    comparison = load(tmp_path / "failed" / "comparison.json")
    assert (ran.code, ran.err) == (1, "")
    assert comparison["meta_overrides"] == {"allow_unproven": False, "expect": ["rss<1MB"]}
    assert [run["criteria"][0]["status"] for run in comparison["runs"]] == ["FAIL", "FAIL"]
    assert ran.out.splitlines()[-1] == "comparison directory: failed  (report.html, comparison.png)"
    assert load(source / "baseline" / "meta.json")["expect"] == ["rss<2GB@2h"]  # never rewritten


def test_saved_runs_keep_their_own_criteria_and_allow_unproven_lets_them_pass(ablation, tmp_path):
    _, source = ablation
    runs = (source / "baseline", source / "caps-only")
    strict = leakhunt("compare", *runs, "--out", tmp_path / "strict")
    assert (strict.code, load(tmp_path / "strict" / "comparison.json")["meta_overrides"]) == (
        1, {"allow_unproven": False},
    )  # fmt: skip
    lenient = leakhunt("compare", *runs, "--allow-unproven", "--out", tmp_path / "lenient")
    comparison = load(tmp_path / "lenient" / "comparison.json")
    assert (lenient.code, comparison["meta_overrides"], comparison["criteria_passed"]) == (
        0, {"allow_unproven": True}, True,
    )  # fmt: skip
    assert [run["label"] for run in comparison["runs"]] == ["fixes off", "caps only"]


def test_a_saved_comparison_without_out_goes_to_reports_named_saved(ablation, tmp_path):
    _, source = ablation
    ran = leakhunt("compare", source / "baseline", source / "caps-only", "--allow-unproven", cwd=tmp_path)
    assert ran.code == 0, ran.err
    (out,) = (tmp_path / "reports").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-compare-saved", out.name), out.name


def test_a_target_that_cannot_start_stops_the_comparison_with_its_error(tmp_path, broken_pandas):
    out = tmp_path / "cmp"
    ran = leakhunt("compare", "--baseline", "--scenario", "smoke", "--minutes", "0.5", "--repeat", "1",
                   "--jobs", "1", "--probe-interval", "0", "--out", out)  # fmt: skip
    assert (ran.code, ran.out) == (1, "")
    assert re.fullmatch(
        r"error: the target process did not start \(exit code 1\): ImportError: this pandas is broken on "
        rf"purpose; its output: {re.escape(str(out))}/(baseline|all-fixes)/target\.log",
        ran.err_lines[-1],
    ), ran.err_lines[-1]
    assert not (out / "comparison.json").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--baseline", "reports/a"), "error: give either --baseline or saved run directories, not both"),
        (("--ablation",), "error: --ablation goes with --baseline"),
        (("--ablation", "reports/a", "reports/b"), "error: --ablation goes with --baseline"),
        ((), "error: nothing to compare: use --baseline, or give two or more run directories"),
        (("--baseline", "--repeat", "0"), "error: --repeat must be at least 1, got 0"),
        (("--baseline", "--jobs", "0"), "error: --jobs must be at least 1, got 0"),
        (("--baseline", "--jobs", "-2"), "error: --jobs must be at least 1, got -2"),
        (("--baseline", "--minutes", "nan"), "error: --minutes must be positive and finite, got nan"),
        (("--baseline", "--scale", "inf"), "error: --scale must be positive and finite, such as 0.05; "
         "got inf"),
        (("--baseline", "--seed", "-1"), "error: --seed must be >= 0, got -1"),
        (("--baseline", "--interval", "0"), "error: --interval must be positive, got 0"),
        (("--baseline", "--speed", "0"), "error: --speed must be a positive number or 'max', got 0"),
        (("no/such/a", "no/such/b", "--expect", "rss<<1"), "error: --expect 'rss<<1' is not understood; "
         "write METRIC OP VALUE[@TIME], e.g. rss<2GB@30m, peak<2.5GB, growth<50MB/h, swap==0, cpu<40%, "
         "uptime>8h, restarts==0"),
    ],
)  # fmt: skip
def test_option_mistakes_are_one_line_and_exit_2_before_any_run(args, line, tmp_path):
    assert refusal("compare", "--scenario", "smoke", "--minutes", "1", *args, cwd=tmp_path) == line
    assert list(tmp_path.iterdir()) == []


def test_a_repeat_and_jobs_of_1_are_taken(tmp_path):
    # The smallest values pass the checks: the refusal comes from the scenario, read after them.
    assert refusal(
        "compare", "--baseline", "--repeat", "1", "--jobs", "1", "--scenario", "nope", cwd=tmp_path
    ) == (
        "error: unknown scenario 'nope': use one of incident-2025-10-30, incident-replay, smoke, "
        "or a path to a .toml file"
    )


def test_ctrl_c_says_how_many_runs_never_sampled_then_writes_the_report_of_the_rest_and_exits_130(tmp_path):
    out = tmp_path / "cmp"
    interrupter = interrupt_once_sampled(out / "baseline-r1" / "samples.csv", rows=3)
    ran = leakhunt(
        "compare", "--baseline", "--scenario", "smoke", "--minutes", "600", "--speed", "600",
        "--probe-interval", "0", "--jobs", "1", "--repeat", "2", "--out", out,
    )  # fmt: skip
    interrupter.join()
    assert ran.code == 130, ran
    assert ran.err_lines[-3:] == [
        "compare: 3 of 4 runs never sampled (stopped before they started): the comparison holds the others",
        "writing the report...",
        "interrupted",
    ]
    assert load(out / "comparison.json")["runs"][0]["exit_reason"] == "interrupted"
