"""Real processes shared by the tests: one that leaks at a known rate, one that stays flat.

The suite runs in parallel (`make test`: pytest-xdist, `--dist loadgroup`). Every test works in
its own temporary folder and on ports nobody else holds (tests/helpers/ports.py). The tests of a
folder that shares one expensive session fixture go to one worker, which starts it once: the
real Prometheus of tests/fleet (6 h of backfill, and live children it must scrape for 76 s), and
the reruns of an ablation that tests/e2e/test_compare.py holds against each other.
"""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import sigterm_interrupts, spawn, stop, stop_all

# A suite started in the background by a shell without job control (`make test &`) has SIGINT
# ignored, and an ignored signal stays ignored in every child it starts: the Ctrl-C tests would
# find the CLI deaf to SIGINT. A handler, unlike SIG_IGN, goes back to the default at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

HELPERS = Path(__file__).resolve().parent / "helpers"
LEAK_BYTES_PER_S = 20 * 2**20
# Tests that share one expensive module- or session-scoped fixture, by the start of their node
# id: each group is one unit of work for `--dist loadgroup`, so a single worker builds the fixture
# once and runs the group's tests in their order.
RERUNS = "tests/e2e/test_compare.py::test_reruns_of_the_ablation_reach_the_same_claims_and_conclusion"
SHARED_RUNS = {
    "tests/fleet/": "fleet-prometheus",
    f"{RERUNS}[default-": "default-ablation-reruns",
    f"{RERUNS}[replay-": "replay-ablation-reruns",
}


@pytest.hookimpl(optionalhook=True)  # pytest without xdist (or -p no:xdist) runs the suite too
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadgroup` by node id. xdist's own loadgroup carries a group in a rewritten node
    id, which pytest 9.2 no longer lets it rewrite (pytest-xdist issue #1386: the marks are
    silently ignored and a group's tests spread over every worker); this groups by SHARED_RUNS.
    Larger groups are handed out first (xdist's loadscope order), so they never end a run late."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for start, group in SHARED_RUNS.items():
                if nodeid.startswith(start):
                    return group
            return nodeid  # any other test is a unit of its own, as with --dist load

    return SharedFixtureScheduling(config, log)


REPORTS_IN_CHECKOUT = Path(__file__).resolve().parents[1] / "reports"


def pytest_configure(config: pytest.Config) -> None:
    sigterm_interrupts()


@pytest.fixture(autouse=True)
def leaves_no_process_behind():
    """Whatever the test spawned (tests/helpers/processes.py) is stopped when it ends."""
    yield
    stop_all()


@pytest.fixture(autouse=True)
def leaves_nothing_in_the_checkout():
    """A run written to the checkout's reports/ would be shared by every worker and every suite
    running at once: each test writes under its own temporary folder instead."""
    before = set(REPORTS_IN_CHECKOUT.iterdir()) if REPORTS_IN_CHECKOUT.is_dir() else set()
    yield
    after = set(REPORTS_IN_CHECKOUT.iterdir()) if REPORTS_IN_CHECKOUT.is_dir() else set()
    assert not after - before, f"the test wrote into the checkout: {sorted(map(str, after - before))}"


def start(*args: str) -> subprocess.Popen:
    """A Python child that prints "ready" once started; returns when it has."""
    process = spawn([sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def leaker():
    process = start(str(HELPERS / "leaker.py"), str(LEAK_BYTES_PER_S))
    yield process
    stop(process)


@pytest.fixture
def idle():
    process = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    yield process
    stop(process)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 1 MiB filesystem that fills up: disk-full faults without filling the machine."""
    import os

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


@pytest.fixture
def broken_pandas(tmp_path, monkeypatch):
    """A pandas first on PYTHONPATH that fails at import: a target child dies at start with
    "ImportError: this pandas is broken on purpose" (this process has its own pandas already)."""
    broken = tmp_path / "broken"
    (broken / "pandas").mkdir(parents=True)
    (broken / "pandas" / "__init__.py").write_text('raise ImportError("this pandas is broken on purpose")\n')
    monkeypatch.setenv("PYTHONPATH", str(broken))
    return broken
