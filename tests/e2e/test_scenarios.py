"""`leakhunt scenarios`: every shipped scenario, its name first on a line and its description
wrapped beside it within the terminal's width (later lines indented, so `awk '/^[^ ]/'` lists
the names)."""

import tomllib

import pytest

from tests.e2e.conftest import REPO, leakhunt


@pytest.mark.parametrize("width", [40, 80])
def test_scenarios_lists_each_shipped_file_with_its_description_within_the_width(width):
    shipped = {
        path.stem: tomllib.loads(path.read_text())["description"]
        for path in (REPO / "scenarios").glob("*.toml")
    }
    result = leakhunt("scenarios", env={"COLUMNS": str(width)}, check_rc=0)
    lines = result.stdout.splitlines()
    assert all(len(line) <= width and line == line.rstrip() for line in lines)
    listed: dict[str, str] = {}
    name = ""
    for line in lines:
        if line.startswith(" "):
            listed[name] += " " + line.strip()
        else:
            name, description = line.split(maxsplit=1)
            listed[name] = description
    assert listed == shipped and len(shipped) >= 3
