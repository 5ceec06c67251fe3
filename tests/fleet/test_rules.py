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


DEFAULT_RULES = """\
# Written by `leakhunt fleet --rules`: an approximation of leakhunt's LEAK verdict in PromQL.
# It fires when, over the last 6h:
#   - the 15m floor (min_over_time, sampled every 5m) grows faster than the
#     stable bound (50 MB/h) in BOTH halves of the window
#     (deriv = least squares per half): a one-off step sits in one half only, a plateau fails
#     the late half, a sawtooth's floor stays flat;
#   - no limit given (--memory-limit): it says nothing about time to limit.
#   - restarts are not seen (no process_start_time_seconds for this query): a restart's
#     new climb can fire it where leakhunt fits the segments apart.
# Where it cannot match leakhunt:
#   - no confidence interval: leakhunt's LEAK needs the interval's LOW end above the bound;
#     this rule fires on the slope alone, so noisy series fire sooner (INCONCLUSIVE there);
#   - sawtooth teeth longer than 15m still tilt the floor; no warm-up is cut;
#   - a staircase whose steps all fall in one half is missed;
#   - `for: 30m` stands in for leakhunt's "sample longer".
groups:
  - name: leakhunt-memory
    rules:
      - alert: MemoryLeak
        expr: |
          deriv(min_over_time((process_resident_memory_bytes)[15m:1m])[3h:5m]) > 13888.9
          and
          deriv(min_over_time((process_resident_memory_bytes)[15m:1m])[3h:5m] offset 3h) > 13888.9
        for: 30m
        labels:
          severity: warning
        annotations:
          summary: 'Memory floor of {{ $labels.instance }} grows in both halves of the last 6h'
          description: 'Late slope {{ $value | humanize }}B/s; check with leakhunt fleet.'
"""


def test_the_default_rule_watches_the_15m_floor_of_rss_over_both_halves_of_6h():
    # 50 MB/h, the stable bound, is 13,888.9 bytes/s: deriv's unit.
    assert alert_rules() == DEFAULT_RULES
    assert alert_rules("  process_resident_memory_bytes\n") == DEFAULT_RULES  # the query as typed, trimmed


def test_a_limit_a_start_time_series_and_other_durations_each_add_their_clause_and_comment():
    text = alert_rules(
        'process_resident_memory_bytes{job="app"}',
        window_s=5400,
        floor_s=30,
        horizon_s=7200,
        limit_bytes=6e9,
        stable_bound_bytes_per_min=1e6,
        start_query='process_start_time_seconds{job="app"}',
    )
    floor = 'min_over_time((process_resident_memory_bytes{job="app"})[1m:1m])'  # 30 s: at least 1m
    late = f"deriv({floor}[45m:5m])"  # 90 minutes do not make whole hours
    expr = [
        f"{late} > 16666.7",
        "and",
        f"deriv({floor}[45m:5m] offset 45m) > 16666.7",
        "and",
        f"{floor} + {late} * 7200 > 6000000000",
        "unless",
        'changes(process_start_time_seconds{job="app"}[90m]) > 0',
    ]
    lines = text.splitlines()
    start = lines.index("        expr: |") + 1
    assert lines[start : start + len(expr)] == [" " * 10 + line for line in expr]
    assert lines[start + len(expr)] == "        for: 30m"
    assert lines[1] == "# It fires when, over the last 90m:"
    assert lines[2] == "#   - the 1m floor (min_over_time, sampled every 5m) grows faster than the"
    assert lines[3] == "#     stable bound (60 MB/h) in BOTH halves of the window"
    assert lines[6:9] == [
        "#   - and the floor plus 2h of the late slope passes the limit (6000000000 bytes), as leakhunt's "
        "time to limit does.",
        "#   - a window with a restart (process_start_time_seconds changed) is left out: a drop and a",
        "#     new climb are not a leak's slope; run `leakhunt fleet` over it to judge the segments.",
    ]
    assert "#   - sawtooth teeth longer than 1m still tilt the floor; no warm-up is cut;" in lines
    assert lines[-2] == (
        "          summary: 'Memory floor of {{ $labels.instance }} grows in both halves of the last 90m'"
    )
