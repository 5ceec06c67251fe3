from pathlib import Path

import pytest

from leakhunt.runs.soak import SoakOptions, run_soak
from leakhunt.sampling.store import RunDir
from leakhunt.workload.scenario import load_scenario


@pytest.fixture
def unstartable_run(tmp_path, monkeypatch) -> Path:
    """A soak whose child fails at its first import: a pandas on its PYTHONPATH that raises (this
    process has imported its own already)."""
    broken = tmp_path / "broken"
    (broken / "pandas").mkdir(parents=True)
    (broken / "pandas" / "__init__.py").write_text('raise ImportError("this pandas is broken on purpose")\n')
    monkeypatch.setenv("PYTHONPATH", str(broken))
    options = SoakOptions(
        scenario=load_scenario("incident-2025-10-30"), duration_s=60.0, probe_interval_s=None
    )
    path = tmp_path / "run"
    result = run_soak(options, run_dir=RunDir.create("soak", "unstartable", path))
    assert result.samples == 0
    return path
