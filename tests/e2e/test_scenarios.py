"""`leakhunt scenarios`: every shipped scenario, one line each, whatever the terminal width."""

import tomllib

from tests.e2e.conftest import REPO, leakhunt


def test_scenarios_lists_each_shipped_file_on_one_line_with_its_description():
    shipped = {
        path.stem: tomllib.loads(path.read_text())["description"]
        for path in (REPO / "scenarios").glob("*.toml")
    }
    result = leakhunt("scenarios", env={"COLUMNS": "40"}, check_rc=0)
    lines = result.stdout.splitlines()
    assert len(lines) == len(shipped) >= 3
    listed = dict(line.split(maxsplit=1) for line in lines)
    assert listed == shipped
