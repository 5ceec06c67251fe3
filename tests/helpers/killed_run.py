"""Run only by tests/helpers/test_processes.py, in a pytest of its own that it then kills.

The first test starts the CLI the way the suite's tests do (tests/e2e/conftest.py), says so on
the FIFO named by $LEAKHUNT_KILLED_RUN_FIFO once the command has begun (at its first stderr line
starting with $LEAKHUNT_KILLED_RUN_READY), and waits for a command that would run for hours.
The second says whether that command is still running once the first test has ended some other
way (timed out by pytest-timeout, say) and the run goes on. Not collected by the suite (its name
does not start with test_); pytest runs it when named.
"""

import os
import shlex

import psutil

from tests.e2e.conftest import start_leakhunt

started: list[int] = []


def test_a_command_left_running_until_the_test_run_is_killed():
    command = start_leakhunt(*shlex.split(os.environ["LEAKHUNT_KILLED_RUN_COMMAND"]))
    started.append(command.pid)
    ready = os.environ.get("LEAKHUNT_KILLED_RUN_READY", "")
    for line in command.stderr:
        if line.startswith(ready):
            break
    with open(os.environ["LEAKHUNT_KILLED_RUN_FIFO"], "w") as fifo:
        fifo.write(f"{command.pid}\n")
    command.stderr.read()  # until it ends: drained, so it never blocks on a full pipe


def test_once_that_test_has_ended_nothing_it_started_runs():
    assert started and not psutil.pid_exists(started[0])
