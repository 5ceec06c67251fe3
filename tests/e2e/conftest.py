"""Whole-command tests run the real `leakhunt` in a subprocess, as a user would.

Each runs in a process group of its own that is killed when its test ends, and dies with the
test process if that is killed (tests/helpers/processes.py): no `leakhunt compare` is left
running after an interrupted or killed test run."""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from tests.helpers.processes import run, spawn

REPO = Path(__file__).resolve().parents[2]
# The CLI runs from a folder of this worker's own, not the checkout: a refused run creates and
# then removes its default reports/ folder, which another worker's check of the checkout's
# reports/ (tests/conftest.py) would see in between.
SCRATCH = Path(tempfile.mkdtemp(prefix="leakhunt-cli-cwd-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def leakhunt(
    *args: str, cwd: Path | None = None, check_rc: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`env`: variables to set on top of ours, e.g. a PATH with stand-in commands first."""
    result = run(
        [sys.executable, "-m", "leakhunt", *args],
        capture_output=True,
        text=True,
        cwd=cwd or SCRATCH,
        timeout=600,
        env=None if env is None else {**os.environ, **env},
    )
    if check_rc is not None:
        assert result.returncode == check_rc, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def start_leakhunt(*args: str) -> subprocess.Popen:
    """The CLI running beside the test; stopped, with all it started, when the test ends."""
    return spawn(
        [sys.executable, "-m", "leakhunt", *args],
        cwd=SCRATCH,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_real_figure(path: Path, min_width_px: int = 600, min_height_px: int = 400) -> None:
    """The PNG opens, has a real size and is not blank: many colours, a good share of ink."""
    pixels = image.imread(path)
    height, width = pixels.shape[:2]
    assert width >= min_width_px and height >= min_height_px
    rgb = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 20
    assert (rgb.mean(axis=1) < 0.9).mean() > 0.02


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
