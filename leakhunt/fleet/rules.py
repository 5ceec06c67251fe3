"""`leakhunt fleet --rules`: a Prometheus alerting rule closer to leakhunt's LEAK than predict_linear.

What it does, and why (the comments in the YAML say the same to whoever deploys it):
- Floors, not points: `min_over_time(...[FLOOR])` every 5 minutes follows the troughs, so a
  GC sawtooth whose teeth are shorter than FLOOR and lone spikes do not move it (leakhunt judges a
  sawtooth on its envelope, and its levels are medians).
- Both halves must grow: `deriv` (least squares) over the first and the second half of the
  window, each above the stable bound. A one-off step (a cache filled once) lies in one half only
  and a curve that has flattened fails the second half: leakhunt calls these STABLE and BOUNDED.
- Restarts: where the exporter gives process_start_time_seconds, a window with a restart is left
  to leakhunt (`changes(...) == 0`): a restart's drop and new climb are not a leak's slope.
- Time to limit: with a limit, the floor plus the second half's slope over the horizon must reach
  it, as leakhunt's time to limit does.
Where it cannot match: no confidence interval (leakhunt's LEAK needs the interval's low end above
the bound; this fires on the slope), no warm-up cut, teeth longer than FLOOR still tilt `deriv`,
and a staircase with all its steps in one half is missed.
"""

from leakhunt.analysis.verdict import STABLE_BOUND_BYTES_PER_MIN

DEFAULT_QUERY = "process_resident_memory_bytes"


def _duration(seconds: float) -> str:
    """PromQL durations: whole minutes or hours."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def alert_rules(
    query: str | None = None,
    *,
    window_s: float = 6 * 3600,
    floor_s: float = 15 * 60,
    horizon_s: float = 4 * 3600,
    limit_bytes: float | None = None,
    stable_bound_bytes_per_min: float = STABLE_BOUND_BYTES_PER_MIN,
    start_query: str | None = None,
) -> str:
    """The YAML of one rule group with one alert (see the module's rules)."""
    q = (query or DEFAULT_QUERY).strip()
    half = _duration(window_s / 2)
    floor = f"min_over_time(({q})[{_duration(floor_s)}:1m])"
    bound_per_s = stable_bound_bytes_per_min / 60
    late = f"deriv({floor}[{half}:5m])"
    early = f"deriv({floor}[{half}:5m] offset {half})"
    expr = f"{late} > {bound_per_s:.6g}\nand\n{early} > {bound_per_s:.6g}"
    if limit_bytes:
        expr += f"\nand\n{floor} + {late} * {horizon_s:.0f} > {limit_bytes:.0f}"
    if start_query:
        expr += f"\nunless\nchanges({start_query}[{_duration(window_s)}]) > 0"
    limit_comment = (
        f"#   - and the floor plus {_duration(horizon_s)} of the late slope passes the limit "
        f"({limit_bytes:.0f} bytes), as leakhunt's time to limit does.\n"
        if limit_bytes
        else "#   - no limit given (--memory-limit): it says nothing about time to limit.\n"
    )
    restart_comment = (
        "#   - a window with a restart (process_start_time_seconds changed) is left out: a drop and a\n"
        "#     new climb are not a leak's slope; run `leakhunt fleet` over it to judge the segments.\n"
        if start_query
        else "#   - restarts are not seen (no process_start_time_seconds for this query): a restart's\n"
        "#     new climb can fire it where leakhunt fits the segments apart.\n"
    )
    return (
        "# Written by `leakhunt fleet --rules`: an approximation of leakhunt's LEAK verdict in PromQL.\n"
        "# It fires when, over the last " + _duration(window_s) + ":\n"
        f"#   - the {_duration(floor_s)} floor (min_over_time, sampled every 5m) grows faster than the\n"
        f"#     stable bound ({stable_bound_bytes_per_min * 60 / 1e6:g} MB/h) in BOTH halves of the window\n"
        "#     (deriv = least squares per half): a one-off step sits in one half only, a plateau fails\n"
        "#     the late half, a sawtooth's floor stays flat;\n"
        + limit_comment
        + restart_comment
        + "# Where it cannot match leakhunt:\n"
        "#   - no confidence interval: leakhunt's LEAK needs the interval's LOW end above the bound;\n"
        "#     this rule fires on the slope alone, so noisy series fire sooner (INCONCLUSIVE there);\n"
        f"#   - sawtooth teeth longer than {_duration(floor_s)} still tilt the floor; no warm-up is cut;\n"
        "#   - a staircase whose steps all fall in one half is missed;\n"
        '#   - `for: 30m` stands in for leakhunt\'s "sample longer".\n'
        "groups:\n"
        "  - name: leakhunt-memory\n"
        "    rules:\n"
        "      - alert: MemoryLeak\n"
        "        expr: |\n" + _indent(expr, 10) + "\n"
        "        for: 30m\n"
        "        labels:\n"
        "          severity: warning\n"
        "        annotations:\n"
        "          summary: 'Memory floor of {{ $labels.instance }} grows in both halves of the last "
        + _duration(window_s)
        + "'\n"
        "          description: 'Late slope {{ $value | humanize }}B/s; check with leakhunt fleet.'\n"
    )
