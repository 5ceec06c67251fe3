"""leakhunt works however it is installed: a wheel built from the checkout, installed into a
fresh venv outside it, knows its scenarios and runs a soak from a temporary directory.

The wheel is built without build isolation and installed without an index, so the test needs no
network. Its dependencies come from the test's own environment through a .pth file: installing
pandas and matplotlib again would test pip, not leakhunt (docs/decisions.md).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, load_json
from tests.helpers import processes

SHIPPED = ("pyproject.toml", "README.md", "leakhunt", "scenarios")


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = processes.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin` directory of a fresh venv holding leakhunt's wheel."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in SHIPPED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist", source, cwd=root)
    (wheel,) = (root / "dist").glob("leakhunt-*.whl")
    fresh = root / "venv"
    venv.create(fresh, with_pip=False)
    fresh_python = fresh / "bin" / "python"
    run(*pip, "--python", fresh_python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=root)
    purelib = run(fresh_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root)
    (Path(purelib.stdout.strip()) / "leakhunt-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return fresh / "bin"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory with no checkout in sight."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, elsewhere):
    where = run(installed / "python", "-c", "import leakhunt; print(leakhunt.__file__)", cwd=elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)
    assert run(installed / "leakhunt", "--version", cwd=elsewhere).stdout.strip() == "leakhunt 0.1.0"
    assert "Usage: leakhunt" in run(installed / "leakhunt", "-h", cwd=elsewhere).stdout


def test_the_installed_tool_lists_the_shipped_scenarios_from_any_directory(installed, elsewhere):
    listed = run(installed / "leakhunt", "scenarios", cwd=elsewhere).stdout.split()
    shipped = sorted(path.stem for path in (REPO / "scenarios").glob("*.toml"))
    assert [name for name in listed if name in shipped] == shipped


def test_the_installed_tool_runs_a_soak_from_a_temporary_directory(installed, elsewhere):
    result = run(installed / "leakhunt", "soak", "--minutes", "2", "--out", "run", cwd=elsewhere)
    summary = load_json(elsewhere / "run" / "summary.json")
    assert summary["verdict"] in ("LEAK", "BOUNDED", "STABLE", "INCONCLUSIVE")
    assert (elsewhere / "run" / "report.html").stat().st_size > 0
    assert "run directory" in result.stdout and summary["verdict"] in result.stdout


def test_the_installed_tool_runs_a_normal_soak_from_a_folder_holding_another_leakhunt(installed, elsewhere):
    # A user's project with its own package named leakhunt: `python -m` would import it first.
    (elsewhere / "leakhunt").mkdir()
    (elsewhere / "leakhunt" / "__init__.py").write_text('"""The user\'s own leakhunt, not the tool."""\n')
    result = run(installed / "leakhunt", "soak", "--minutes", "2", "--out", "run", cwd=elsewhere)
    meta = load_json(elsewhere / "run" / "meta.json")
    assert meta["exit_reason"] == "completed", (elsewhere / "run" / "target.log").read_text()
    assert load_json(elsewhere / "run" / "summary.json")["n_samples"] == 25  # every 5 s over 2 min, and t=0
    assert "run directory" in result.stdout
