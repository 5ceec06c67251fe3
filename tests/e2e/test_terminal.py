"""On a real terminal (a pty), as a person at a shell runs them: every command that draws a live
display (soak's progress line, compare's bars, watch's table, the report's spinner) runs to its
end, exit 0, with its results and in colour; Ctrl-C typed at the terminal ends a watch or a
compare with its report and exit 130; a refusal is still one line, exit 2.

Every other test reads the CLI through pipes, where rich draws nothing live: a crash that only a
terminal shows (rich's `with console:` at each refresh, 2026-12-07) went through all of them."""

import pytest

from tests.e2e.conftest import SCRATCH, load_json
from tests.helpers.terminal import CTRL_C, Terminal, plain, run_on_terminal

ESCAPE = "\x1b["


def assert_ran_clean(code: int, text: str) -> None:
    assert code == 0, text[-2000:]
    for broken in ("Traceback", "internal error", "object address", "lost sys.stderr"):
        assert broken not in text, text[-2000:]
    assert ESCAPE in text  # a terminal: rich drew in colour


@pytest.fixture(scope="module")
def soaked(tmp_path_factory):
    out = tmp_path_factory.mktemp("terminal") / "soak"
    code, text = run_on_terminal(
        ["soak", "--scenario", "smoke", "--minutes", "1", "--out", str(out)], cwd=SCRATCH
    )
    return out, code, text


def test_a_soak_on_a_terminal_draws_its_progress_and_ends_with_its_verdict(soaked):
    out, code, text = soaked
    assert_ran_clean(code, text)
    assert "simulated" in plain(text)  # the live line
    assert "run directory" in text and str(out) in plain(text) and (out / "report.html").exists()


def test_a_compare_on_a_terminal_draws_its_bars_and_ends_with_its_table(tmp_path):
    out = tmp_path / "compare"
    code, text = run_on_terminal(
        ["compare", "--baseline", "--scenario", "smoke", "--minutes", "0.5", "--probe-interval", "0",
         "--repeat", "1", "--out", str(out)], cwd=SCRATCH,
    )  # fmt: skip
    assert_ran_clean(code, text)
    assert "all runs" in text and "100%" in plain(text)  # the bars, with their share of the simulated time
    assert "comparison directory" in text and str(out) in plain(text) and (out / "comparison.json").exists()


def test_a_watch_on_a_terminal_draws_its_table_and_ends_with_its_verdict(tmp_path, idle):
    out = tmp_path / "watch"
    code, text = run_on_terminal(
        ["watch", "--pid", str(idle.pid), "--duration", "2s", "--interval", "200ms", "--out", str(out)],
        cwd=SCRATCH,
    )
    assert_ran_clean(code, text)
    assert "run directory" in text and str(out) in plain(text) and (out / "summary.json").exists()


def test_a_report_on_a_terminal_is_written_again_from_the_files(soaked):
    out, _, _ = soaked
    code, text = run_on_terminal(["report", str(out)], cwd=SCRATCH)
    assert_ran_clean(code, text)
    assert "run directory" in text and str(out) in plain(text)


def test_a_refusal_on_a_terminal_is_still_one_line_and_exit_2():
    code, text = run_on_terminal(["soak", "--minutes", "-1"], cwd=SCRATCH)
    assert code == 2
    assert text.strip().splitlines() == ["error: --minutes must be positive and finite, got -1"]


def test_ctrl_c_typed_at_the_terminal_ends_a_watch_with_its_report_and_exit_130(tmp_path, idle):
    out = tmp_path / "watch"
    terminal = Terminal(
        ["watch", "--pid", str(idle.pid), "--interval", "100ms", "--out", str(out)], cwd=SCRATCH
    )
    terminal.wait_for("verdict so far")  # its live table is drawn: it samples
    terminal.type(CTRL_C)  # the terminal sends SIGINT to its foreground process group
    code, text = terminal.finish()
    assert code == 130, text[-2000:]
    assert plain(text).strip().splitlines()[-1] == "interrupted"
    assert load_json(out / "summary.json")["exit_reason"] == "interrupted"
    assert "Traceback" not in text and (out / "report.html").exists()


def test_ctrl_c_typed_at_the_terminal_ends_a_compare_with_the_report_of_what_sampled_and_exit_130(tmp_path):
    out = tmp_path / "compare"
    terminal = Terminal(
        ["compare", "--baseline", "--scenario", "smoke", "--minutes", "60", "--speed", "60",
         "--probe-interval", "0", "--repeat", "2", "--jobs", "2", "--out", str(out)], cwd=SCRATCH,
    )  # fmt: skip
    terminal.wait_for(r"fixes off\s[^\n%]*\b[1-9]\d*%")  # the baseline's bar has moved: its runs sample
    terminal.type(CTRL_C)
    code, text = terminal.finish()
    assert code == 130, text[-2000:]
    assert plain(text).strip().splitlines()[-1] == "interrupted"
    assert [run["exit_reason"] for run in load_json(out / "comparison.json")["runs"]] == ["interrupted"]
    assert "Traceback" not in text and (out / "report.html").exists()
