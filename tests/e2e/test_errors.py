"""Bad input: one line on stderr saying what is wrong and what to do, exit 2, no traceback."""

import pytest

from tests.e2e.conftest import REPO, leakhunt


def assert_one_line_usage_error(result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["soak", "--scenario", "nope"], ["unknown scenario 'nope'", "incident-replay"]),
        (["soak", "--minutes", "0"], ["--minutes must be positive"]),
        (["soak", "--minutes", "-5"], ["--minutes must be positive"]),
        (["soak", "--fixes", "caps,gc"], ["unknown fix 'gc'"]),
        (["soak", "--interval", "soon"], ["--interval", "500ms"]),
        (["soak", "--memory-limit", "lots"], ["--memory-limit", "512MB"]),
        (["soak", "--speed", "fast"], ["--speed"]),
        (["soak", "--expect", "rss<<2GB"], ["rss<<2GB"]),
    ],
)
def test_bad_soak_options(args, words):
    assert_one_line_usage_error(leakhunt(*args), *words)


def test_a_bad_scenario_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text((REPO / "scenarios" / "smoke.toml").read_text().replace("overlap = 0.0", 'overlap = "x"'))
    assert_one_line_usage_error(leakhunt("soak", "--scenario", str(path)), str(path), "'overlap'")


def test_an_unwritable_out_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_one_line_usage_error(leakhunt("soak", "--minutes", "1", "--out", str(blocker / "run")), "--out")


def test_debug_shows_the_traceback():
    result = leakhunt("--debug", "soak", "--scenario", "nope")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
