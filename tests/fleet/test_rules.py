"""`--rules` output is a rule file promtool accepts, and says where it cannot match."""

import subprocess

import pytest

from leakhunt.fleet.rules import alert_rules
from tests.helpers.prometheus_server import need_prometheus


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"query": 'container_memory_working_set_bytes{namespace="prod"}', "limit_bytes": 6e9},
        {
            "query": 'process_resident_memory_bytes{job="app"}',
            "start_query": 'process_start_time_seconds{job="app"}',
        },
    ],
)
def test_the_rules_pass_promtool_check_rules(kwargs, tmp_path):
    need_prometheus()
    path = tmp_path / "leak.rules.yml"
    text = alert_rules(**kwargs)
    path.write_text(text)
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rules found" in result.stdout
    assert "cannot match leakhunt" in text
    assert ("6000000000" in text) == ("limit_bytes" in kwargs)
    assert ("changes(process_start_time_seconds" in text) == ("start_query" in kwargs)
