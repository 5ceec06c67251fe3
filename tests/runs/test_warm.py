"""warm.py: the report's imports run in a thread during the block, and their CPU is known, so a
run's own cost (own_cost.py) can leave it out as it leaves out start-up and the report."""

import sys
import time

from leakhunt.runs.own_cost import OwnCpu
from leakhunt.runs.warm import imports_cpu_s, warming


def busy_module(tmp_path, monkeypatch, name: str) -> str:
    """A module whose import burns CPU for a while (about 0.3 s of a core)."""
    (tmp_path / f"{name}.py").write_text(
        "import time\nend = time.thread_time() + 0.3\nwhile time.thread_time() < end:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_the_block_ends_with_the_modules_imported_and_their_cpu_counted(tmp_path, monkeypatch):
    name = busy_module(tmp_path, monkeypatch, "leakhunt_test_busy_import")
    before_s = imports_cpu_s()
    with warming((name,)):
        pass
    assert name in sys.modules
    assert imports_cpu_s() - before_s >= 0.3


def test_a_module_that_fails_to_import_is_left_to_the_main_thread(tmp_path, monkeypatch):
    (tmp_path / "leakhunt_test_broken.py").write_text("raise ImportError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with warming(("leakhunt_test_broken",)):
        pass
    assert "leakhunt_test_broken" not in sys.modules


def test_a_runs_own_cpu_leaves_out_the_imports_taken_beside_it(tmp_path, monkeypatch):
    name = busy_module(tmp_path, monkeypatch, "leakhunt_test_busy_beside_a_run")
    own = OwnCpu()
    with warming((name,)):
        end_s = time.thread_time() + 0.1  # the run's own work: 0.1 s of this thread
        while time.thread_time() < end_s:
            pass
    cpu_s = own.cost(wall_s=1.0, samples=10)["leakhunt_cpu_s"]
    assert 0.1 <= cpu_s < 0.3  # with the 0.3 s import counted it would be 0.4 s or more
