"""`leakhunt soak`, run in process at the smallest scale: every option reaches the run (its
meta.json and summary say so), progress goes to stderr and the results to stdout, --json puts
the summary alone on stdout, a failed or unproven criterion exits 1 after the report, a target
that cannot start is one line, and bad input is refused with one line and exit 2 before any run."""

import json
import re
from pathlib import Path

import pytest

from leakhunt.workload.scenario import load_scenario
from tests.commands.conftest import leakhunt, refusal

SMOKE = Path(load_scenario("smoke").path).read_text()
LIVE_LINE = re.compile(r"^sim +\d+\.\d/1 min  RSS [\d.]+ MB(  growth so far .*)?$")


@pytest.fixture(scope="module")
def options_run(tmp_path_factory):
    """One minute of a scenario file (named with brackets, cleaning up every 20 s) with every
    option given: the run, its meta.json and summary.json."""
    root = tmp_path_factory.mktemp("soak")
    scenario = root / "mine.toml"
    scenario.write_text(
        SMOKE.replace('name = "smoke"', 'name = "[bold]mine"').replace(
            "cleanup_interval_s = 600", "cleanup_interval_s = 20"
        )
    )
    out = root / "run"
    ran = leakhunt(
        "soak", "--scenario", scenario, "--minutes", "1", "--interval", "4s", "--probe-interval", "0",
        "--malloc-trim", "--search-limit", "5000", "--seed", "0", "--scale", "0.5", "--fixes", "caps,cleanup",
        "--memory-limit", "3GB", "--speed", "600", "--expect", "rss<2GB", "--expect", "rss<2GB@2h",
        "--allow-unproven", "--out", out,
    )  # fmt: skip
    meta = json.loads((out / "meta.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    return ran, out, meta, summary


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """The smoke scenario as shipped, with --json, a criterion it fails and no --out: the run
    goes to reports/ under the working folder."""
    cwd = tmp_path_factory.mktemp("soak-json")
    ran = leakhunt(
        "soak", "--scenario", "smoke", "--minutes", "0.5", "--probe-interval", "0", "--expect", "rss<1MB",
        "--json", cwd=cwd,
    )  # fmt: skip
    (run_dir,) = (cwd / "reports").iterdir()
    return ran, run_dir


def test_every_option_reaches_the_run(options_run):
    ran, _, meta, _ = options_run
    assert ran.code == 0, ran.err
    assert (meta["command"], meta["label"], meta["seed"], meta["fixes"]) == (
        "soak",
        "[bold]mine-caps+cleanup",
        0,
        ["caps", "cleanup"],
    )
    assert (meta["duration_s"], meta["interval_s"], meta["probe_interval_s"], meta["speed"]) == (
        60.0,
        4.0,
        None,
        600.0,
    )
    assert (meta["memory_limit_bytes"], meta["search_limit"]) == (3_000_000_000, 5000)
    assert (meta["expect"], meta["allow_unproven"]) == (["rss<2GB", "rss<2GB@2h"], True)
    assert (meta["scenario"]["scale"], meta["scenario"]["cleanup_interval_s"]) == (0.5, 20.0)
    cleanups = [event for event in meta["events"] if event["kind"] == "cleanup"]
    assert [event["t_sim_s"] for event in cleanups] == [20.0, 40.0, 60.0]
    assert all(event["malloc_trimmed"] is True for event in cleanups)  # --malloc-trim


def test_an_unproven_criterion_passes_with_allow_unproven(options_run):
    ran, _, _, summary = options_run
    assert [(c["text"], c["status"]) for c in summary["criteria"]] == [
        ("rss<2GB", "PASS"), ("rss<2GB@2h", "NOT PROVEN"),
    ]  # fmt: skip
    assert (ran.code, summary["criteria_passed"]) == (0, True)


def test_progress_goes_to_stderr_and_says_the_scenario_and_its_fixes(options_run):
    ran, _, _, _ = options_run
    first, *rest = ran.err_lines
    assert first == "soak [bold]mine: 1 simulated min, fixes caps, cleanup"  # brackets are not markup
    assert rest and all(LIVE_LINE.match(line) for line in rest), rest
    assert rest[-1].startswith("sim    1.0/1 min  RSS ")  # the last line agrees with the result


def test_the_results_go_to_stdout_ending_with_the_run_directory(options_run):
    ran, out, _, summary = options_run
    lines = ran.out.splitlines()
    assert lines[0].split() == ["run", "verdict", "MB/min", "95", "%", "CI", "to", "limit", "peak"]
    assert lines[2].startswith(f"[bold]mine-caps+cleanup  {summary['verdict']} ")
    assert [line.split(":")[0] for line in lines if line.startswith("  PASS")] == ["  PASS rss<2GB"]
    assert "  NOT PROVEN rss<2GB@2h" in [line.split(":")[0] for line in lines]
    assert lines[-1] == f"run directory: {out}  (report.html, memory.png)"
    assert (out / "report.html").is_file() and (out / "memory.png").is_file()


def test_json_puts_the_summary_alone_on_stdout_and_the_human_one_on_stderr(json_run):
    ran, run_dir = json_run
    assert json.loads(ran.out) == json.loads((run_dir / "summary.json").read_text())
    assert ran.err_lines[0] == "soak smoke: 0.5 simulated min, fixes off"
    # Under the working folder, named as it is from there.
    assert ran.err_lines[-1] == f"run directory: reports/{run_dir.name}  (report.html, memory.png)"


def test_a_failed_criterion_exits_1_after_the_full_report(json_run):
    ran, run_dir = json_run
    summary = json.loads(ran.out)
    assert (ran.code, summary["criteria_passed"], summary["criteria"][0]["status"]) == (1, False, "FAIL")
    assert (run_dir / "report.html").is_file()


def test_without_out_the_run_goes_to_reports_named_by_time_command_and_label(json_run):
    _, run_dir = json_run
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-soak-smoke", run_dir.name), run_dir.name
    meta = json.loads((run_dir / "meta.json").read_text())
    assert (meta["seed"], meta["fixes"], meta["memory_limit_bytes"], meta["speed"]) == (
        7,
        [],
        2_000_000_000,
        "max",
    )
    assert (meta["interval_s"], meta["allow_unproven"], meta["search_limit"]) == (5.0, False, 2_000_000)


def test_a_target_that_cannot_start_is_one_line_with_its_error_and_exit_1(tmp_path, broken_pandas):
    out = tmp_path / "run"
    ran = leakhunt("soak", "--scenario", "smoke", "--minutes", "1", "--probe-interval", "0", "--out", out)
    assert (ran.code, ran.out) == (1, "")
    assert ran.err_lines[0] == "soak smoke: 1 simulated min, fixes off"
    assert ran.err_lines[-1] == (
        "error: the target process did not start (exit code 1): "
        f"ImportError: this pandas is broken on purpose; its output: {out / 'target.log'}"
    )
    assert not (out / "summary.json").exists()  # nothing to report


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--minutes", "0"), "error: --minutes must be positive and finite, got 0"),
        (("--interval", "2m"), "error: --interval 2m is longer than the run (1 min): shorten it"),
        (("--seed", "-1"), "error: --seed must be >= 0, got -1"),
        (("--scale", "0"), "error: --scale must be positive and finite, such as 0.05; got 0.0"),
        (("--tracemalloc", "65536"), "error: --tracemalloc takes a frame count from 0 to 65535"),
        (("--search-limit", "10"), "error: --search-limit takes 1,000 objects or more, got 10"),
        (
            ("--memory-limit", "0GB"),
            "error: --memory-limit must be above zero, got '0GB': give a size such as 6GB",
        ),
        (
            ("--fixes", "caps,gc"),
            "error: unknown fix 'gc': use all, none, or a comma list of caps, oi_cap, cleanup",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_run(args, line, tmp_path):
    assert refusal("soak", "--scenario", "smoke", "--minutes", "1", *args, cwd=tmp_path) == line
    assert list(tmp_path.iterdir()) == []  # no run directory was made


def test_an_out_that_already_holds_a_run_is_refused(options_run):
    _, out, _, _ = options_run
    assert refusal("soak", "--scenario", "smoke", "--minutes", "1", "--out", out) == (
        f"error: {out} already holds a run: choose another --out, or remove it first"
    )
