"""child.py: the soak's target child runs the package its parent runs, from any working directory;
a child that ends before it is ready is told with its own error and the path of its log.

Every child here is the real `leakhunt.workload.target`, started as a soak starts it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leakhunt.sampling.child import (
    ProcessGone,
    ProcessMeter,
    TargetProcess,
    error_line,
    package_root,
    python_command,
)
from leakhunt.workload.scenario import load_scenario

TRACEBACK = """Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "/work/leakhunt/workload/target.py", line 27, in <module>
    from leakhunt.workload.clock import SimClock
ModuleNotFoundError: No module named 'leakhunt.scenarios'
"""


def config(seed: int | None = None) -> dict:
    scenario = load_scenario("incident-2025-10-30")
    data = scenario.to_dict()
    if seed is not None:
        data["seed"] = seed
    return {"scenario": data, "duration_s": 60.0, "interval_s": 5.0, "probe_interval_s": None, "speed": None}


def first_message(target: TargetProcess) -> dict | None:
    """The child's first protocol message, or None when it ended without one; the child stopped."""
    try:
        return next(iter(target.messages()), None)
    finally:
        target.stop()


@pytest.fixture
def shadowing_folder(tmp_path, monkeypatch) -> Path:
    """A working directory holding a package named leakhunt that is not this one."""
    (tmp_path / "leakhunt").mkdir()
    (tmp_path / "leakhunt" / "__init__.py").write_text(
        'raise ImportError("the wrong leakhunt was imported")\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_child_started_in_a_folder_holding_another_leakhunt_runs_this_one(shadowing_folder):
    target = TargetProcess(config(), shadowing_folder / "target.log")
    message = first_message(target)
    assert message == {"op": "ready", "pid": target.pid}, (shadowing_folder / "target.log").read_text()
    assert "wrong leakhunt" not in (shadowing_folder / "target.log").read_text()


def test_the_child_does_not_put_the_working_directory_on_its_path_and_names_a_package_found_elsewhere():
    argv, env = python_command("leakhunt.workload.target", {"PYTHONPATH": "/somewhere/else"})
    assert argv[1:] == ["-P", "-m", "leakhunt.workload.target"]
    # This checkout's editable install is not in a site-packages folder: its root goes first.
    assert env["PYTHONPATH"].split(os.pathsep) == [str(package_root()), "/somewhere/else"]
    assert (package_root() / "leakhunt" / "workload" / "target.py").is_file()


def test_a_seed_beyond_what_pythonhashseed_takes_still_starts_the_child(tmp_path):
    # PYTHONHASHSEED stops at 2**32 - 1: a larger seed once stopped the interpreter at start.
    target = TargetProcess(config(seed=5_000_000_000), tmp_path / "target.log")
    message = first_message(target)
    assert message is not None and message["op"] == "ready", (tmp_path / "target.log").read_text()


def test_a_child_that_cannot_start_is_told_by_its_own_error_and_its_log(tmp_path, broken_pandas):
    log = tmp_path / "target.log"
    target = TargetProcess(config(), log)
    assert first_message(target) is None
    text = target.start_failure(target.process.returncode)
    assert text == (
        "the target process did not start (exit code 1): "
        f"ImportError: this pandas is broken on purpose; its output: {log}"
    )
    assert "Traceback" in log.read_text()  # the whole error stays in the log


def test_the_error_line_is_the_exception_of_a_traceback_or_pythons_own_fatal_error():
    assert error_line(TRACEBACK) == "ModuleNotFoundError: No module named 'leakhunt.scenarios'"
    fatal = (
        'Fatal Python error: config_init_hash_seed: PYTHONHASHSEED must be "random" or an integer\n'
        "Python runtime state: preinitialized\n\n"
    )
    assert error_line(fatal).startswith("Fatal Python error: config_init_hash_seed")
    assert error_line("killed by the kernel\n") == "killed by the kernel"
    assert error_line("") == "it wrote nothing"
    assert len(error_line("ValueError: " + "x" * 1000)) == 300


def test_a_child_stopped_at_its_barrier_is_released_without_an_error_and_its_messages_end(tmp_path):
    # Ctrl-C during compare: the main thread terminates a target while its run's thread is about
    # to answer a barrier; the answer must not raise BrokenPipeError out of the comparison.
    target = TargetProcess(config(), tmp_path / "target.log")
    messages = iter(target.messages())
    assert next(messages)["op"] == "ready"
    assert next(messages)["op"] == "sample"  # at its first barrier, waiting for us
    target.process.kill()
    target.process.wait()
    for _ in range(3):  # the first write may still fit the pipe; the next finds no reader
        target.release()
    assert list(messages) == []
    assert target.stop() == -9


def test_a_process_that_ended_is_gone_to_the_meter_as_a_zombie_and_once_reaped_never_a_sample_of_nothing():
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout.readline() == b"ready\n"  # its interpreter is up: not read mid-exec
    meter = ProcessMeter(child.pid)
    rss_bytes, _, _ = meter.read()
    assert rss_bytes > 1_000_000 and meter.reads == 1
    child.stdin.close()  # it reads its end of input and exits
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: a zombie
    with pytest.raises(ProcessGone):
        meter.read()  # its status has no VmRSS: not a sample of 0 bytes
    assert child.wait() == 0  # reaped: /proc/PID is gone
    child.stdout.close()
    with pytest.raises(ProcessGone):
        meter.read()
    with pytest.raises(ProcessGone):
        ProcessMeter(child.pid)
    assert meter.reads == 1
