"""finish.py: a run with no samples cannot be analysed; one whose child never started says why, in
the child's own words, as a failed run (exit 1) rather than an empty one."""

import pytest

from leakhunt.errors import FAILED, RunError, UsageError
from leakhunt.runs.finish import finish_run, open_run
from leakhunt.sampling.store import RunDir


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
