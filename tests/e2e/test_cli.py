"""The command line as Unix tools behave: results on stdout, progress on stderr, --json alone on
stdout, -h and --version, help without artefacts, one-line usage errors, input checked before
any heavy import."""

import json
import re
import sys

import pytest

from leakhunt import __version__
from tests.e2e.conftest import REPO, leakhunt, load_json
from tests.e2e.test_errors import assert_one_line_usage_error
from tests.helpers.processes import run

COMMANDS = ("soak", "compare", "watch", "scenarios", "report")
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "paramiko")
# Not heavy, but each costs more than a refusal may (benchmarks/bench_cli.py: within 1.2x of
# `mprof --help`): typer's pydantic validators, rich's console, the sampler's psutil.
SLOW_TO_LOAD = ("pydantic", "pydantic_core", "rich", "psutil")
SOAK = ("soak", "--scenario", "smoke", "--minutes", "2", "--probe-interval", "0")


def test_version_and_short_help():
    for flag in ("--version", "-V"):
        assert leakhunt(flag, check_rc=0).stdout.strip() == f"leakhunt {__version__}"
    assert "Usage: leakhunt [OPTIONS] COMMAND" in leakhunt("-h", check_rc=0).stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_without_artefacts_and_with_an_example(command):
    text = leakhunt(command, "-h", env={"COLUMNS": "100"}, check_rc=0).stdout
    assert "Example" in text
    for artefact in ("<bool>", "<list[", "<str>", "<float>", "<int>", "{", "}"):
        assert artefact not in text, artefact
    assert "-h" in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["soak", "--minuts", "3"], ["--minuts", "leakhunt soak -h"]),
        (["soak", "--json", "true"], ["true", "leakhunt soak -h"]),
        (["soak", "--minutes", "many"], ["--minutes", "number"]),
        (["frobnicate"], ["frobnicate", "leakhunt -h"]),
        (["report"], ["RUN_DIR"]),
    ],
)
def test_a_usage_mistake_is_one_line_naming_it(args, words):
    assert_one_line_usage_error(leakhunt(*args), *words)


@pytest.mark.parametrize(
    "args",
    [
        ["soak", "--scenario", "nope"],
        ["soak", "--expect", "growth < 50 MB/fortnight"],
        ["soak", "--interval", "soon"],
        ["compare", "--baseline", "--repeat", "0"],
        ["watch", "--pid", "1", "--duration", "soon"],
        ["report", "/nonexistent"],
    ],
)
def test_bad_input_is_refused_before_any_heavy_import(args):
    # What makes the refusal fast (benchmarks/bench_cli.py measures it): nothing heavy is loaded.
    result, imported = run_importtime(*args)
    assert result.returncode == 2
    assert imported and not {name for name in imported if name.split(".")[0] in HEAVY + SLOW_TO_LOAD}
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["soak", "-h"],
        ["watch", "--help"],
        ["soak", "--minuts", "3"],
        ["soak", "--minutes", "x"],
    ],
)
def test_help_and_usage_errors_load_nothing_heavy_and_still_say_it_all(args):
    result, imported = run_importtime(*args)
    assert imported and not {name for name in imported if name.split(".")[0] in HEAVY + SLOW_TO_LOAD}
    if "-h" in args or "--help" in args:
        assert result.returncode == 0
        assert "Usage: leakhunt" in result.stdout and "Example" in result.stdout
    else:
        assert result.returncode == 2 and "see `leakhunt soak -h`" in result.stderr


def test_the_command_list_gives_each_command_its_whole_sentence_at_80_columns():
    text = leakhunt("-h", env={"COLUMNS": "80"}, check_rc=0).stdout
    cut_short = [line for line in text.splitlines() if line.endswith("...") and "Usage:" not in line]
    assert not cut_short
    flat = " ".join(text.split())
    for sentence in (
        "Run a faithful model of the incident's market-data manager and sample it from outside.",
        "Watch a live process, here or over SSH, with the success criteria as a pass/fail gate.",
    ):
        assert sentence in flat
    assert max(len(line) for line in text.splitlines()) <= 80


def run_importtime(*args: str):
    """The CLI run with -X importtime: its result, and every module it imported."""
    result = run(
        [sys.executable, "-X", "importtime", "-m", "leakhunt", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    return result, imported


def test_results_go_to_stdout_and_progress_to_stderr(tmp_path):
    result = leakhunt(*SOAK, "--out", str(tmp_path / "run"), check_rc=0)
    summary = load_json(tmp_path / "run" / "summary.json")
    # stdout: the table, the verdict and the paths, so `leakhunt soak > result.txt` keeps them.
    assert summary["verdict"] in result.stdout and "MB/min" in result.stdout
    assert str(tmp_path / "run") in result.stdout
    # stderr: what happened on the way, and nothing of the results.
    assert "soak smoke: 2 simulated min" in result.stderr
    assert re.search(r"^sim +[0-9.]+/2 min +RSS", result.stderr, re.M)
    assert "95 % CI" not in result.stderr
    assert summary["verdict"] not in result.stderr and "run directory" not in result.stderr


def test_json_puts_only_the_json_on_stdout(tmp_path):
    result = leakhunt(*SOAK, "--out", str(tmp_path / "run"), "--json", check_rc=0)
    assert json.loads(result.stdout) == load_json(tmp_path / "run" / "summary.json")
    # The human summary is still shown, on stderr.
    assert "run directory" in result.stderr
    again = leakhunt("report", str(tmp_path / "run"), "--json", check_rc=0)
    assert json.loads(again.stdout)["verdict"] == json.loads(result.stdout)["verdict"]


def test_scenarios_and_report_print_their_results_on_stdout(tmp_path):
    assert "incident-replay" in leakhunt("scenarios", check_rc=0).stdout
    leakhunt(*SOAK, "--out", str(tmp_path / "run"), check_rc=0)
    result = leakhunt("report", str(tmp_path / "run"), check_rc=0)
    assert "run directory" in result.stdout and result.stderr == ""


def test_expect_takes_spaces_and_unit_words_end_to_end(tmp_path):
    result = leakhunt(
        *SOAK, "--out", str(tmp_path / "run"),
        "--expect", "growth < 50 MB/hour", "--expect", "rss < 2 GB", "--expect", "peak<2GB",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    criteria = load_json(tmp_path / "run" / "summary.json")["criteria"]
    assert [c["text"] for c in criteria] == ["growth < 50 MB/hour", "rss < 2 GB", "peak<2GB"]
    assert all(c["threshold"] > 0 for c in criteria)


def test_compare_shows_each_variant_done_on_stderr_and_the_table_on_stdout(tmp_path):
    result = leakhunt(
        "compare", "--baseline", "--ablation", "--scenario", "smoke", "--minutes", "2",
        "--probe-interval", "0", "--repeat", "2", "--out", str(tmp_path / "cmp"),
        env={"COLUMNS": "80"}, check_rc=0,
    )  # fmt: skip
    done = re.findall(r"^(.+): 2/2 runs done \((\d+)/10 in all\)$", result.stderr, re.M)
    assert sorted(label for label, _ in done) == sorted(
        ["fixes off", "all fixes", "caps only", "oi_cap only", "cleanup only"]
    )
    counts = [int(count) for _, count in done]  # runs finish in any order across variants
    assert counts == sorted(counts) and counts[-1] == 10 and len(set(counts)) == 5
    assert "5 variants x 2 runs" in result.stderr
    table = [line for line in result.stdout.splitlines() if "only" in line or "fixes" in line]
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert table and "runs done" not in result.stdout
