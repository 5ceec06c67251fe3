"""Gates on every command that takes them: a criterion the run could not prove (too few points to
judge growth, or an interval that straddles the threshold) is NOT PROVEN, never FAIL: exit 1, and
with --allow-unproven exit 0. The soak's own interrupted case is in test_soak.py."""

import numpy as np
import pytest

from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir
from tests.e2e.conftest import leakhunt, load_json
from tests.helpers.fleet_series import end_of_backfill_s, grid
from tests.helpers.prometheus_server import Backfilled, PrometheusServer, backfill, need_prometheus

GATE = ("--expect", "growth<50MB/h")
ALLOW = ("--allow-unproven",)


def straddling_run(path) -> str:
    """A watch run whose growth is ~58 MB/h with a 95 % interval of ~22-93 MB/h: it straddles the
    incident's 50 MB/h, so growth<50MB/h can be neither passed nor failed."""
    from leakhunt.analysis.synthetic import _ar1

    t_s = np.arange(0.0, 1800.1, 5.0)
    rss_bytes = 300e6 + 50e6 / 3600 * t_s + _ar1(np.random.default_rng(4), len(t_s), 0.95, 4e6)
    run_dir = RunDir.create("watch", "straddling", path)
    run_dir.write_meta({"tool": "leakhunt", "command": "watch", "label": "wide", "exit_reason": "completed"})
    with run_dir.sample_writer() as writer:
        for t, rss in zip(t_s, rss_bytes, strict=True):
            writer.write(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
    return str(path)


def test_a_straddling_interval_is_not_proven_in_watch_and_compare_never_fail(tmp_path):
    first, second = straddling_run(tmp_path / "a"), straddling_run(tmp_path / "b")
    assert_unproven_gate(
        tmp_path / "watch",
        lambda out: ("watch", "--replay", f"{first}/samples.csv", "--out", str(out)),
        run_statuses,
    )
    assert "FAIL" not in run_statuses(tmp_path / "watch" / "strict")
    assert_unproven_gate(
        tmp_path / "compare", lambda out: ("compare", first, second, "--out", str(out)), comparison_statuses
    )


def short_run(path) -> str:
    """A watch run of six samples: too few to prove any growth criterion."""
    run_dir = RunDir.create("watch", "short", path)
    run_dir.write_meta({"tool": "leakhunt", "command": "watch", "label": "short", "exit_reason": "completed"})
    with run_dir.sample_writer() as writer:
        for k in range(6):
            writer.write(Sample(t_wall_s=float(k), t_sim_s=float(k), rss_bytes=100_000_000 + 4096 * k))
    return str(path)


def assert_unproven_gate(tmp_path, args_for, statuses_in) -> None:
    """`args_for(out)`: the command writing to `out`; `statuses_in(out)`: its criteria's statuses."""
    strict_out, allowed_out = tmp_path / "strict", tmp_path / "allowed"
    strict = leakhunt(*args_for(strict_out), *GATE)
    assert strict.returncode == 1, strict.stderr
    assert "NOT PROVEN" in statuses_in(strict_out)
    allowed = leakhunt(*args_for(allowed_out), *GATE, *ALLOW)
    assert allowed.returncode == 0, allowed.stderr
    assert "NOT PROVEN" in statuses_in(allowed_out)  # still said, only not failed


def run_statuses(out) -> list[str]:
    return [c["status"] for c in load_json(out / "summary.json")["criteria"]]


def comparison_statuses(out) -> list[str]:
    return [c["status"] for run in load_json(out / "comparison.json")["runs"] for c in run["criteria"]]


def test_watch(tmp_path):
    saved = short_run(tmp_path / "saved")
    assert_unproven_gate(
        tmp_path, lambda out: ("watch", "--replay", f"{saved}/samples.csv", "--out", str(out)), run_statuses
    )


def test_compare_of_saved_runs(tmp_path):
    first, second = short_run(tmp_path / "a"), short_run(tmp_path / "b")
    args = ("compare", first, second)
    assert_unproven_gate(tmp_path, lambda out: (*args, "--out", str(out)), comparison_statuses)


def test_compare_baseline(tmp_path):
    # Half a simulated minute: six samples a run.
    args = ("compare", "--baseline", "--scenario", "smoke", "--minutes", "0.5", "--repeat", "1")
    assert_unproven_gate(
        tmp_path, lambda out: (*args, "--probe-interval", "0", "--out", str(out)), comparison_statuses
    )


@pytest.fixture(scope="module")
def few_points_server(tmp_path_factory):
    need_prometheus()
    root = tmp_path_factory.mktemp("prometheus-gates")
    from leakhunt.analysis.synthetic import _ar1

    t_s = grid(end_of_backfill_s(), span_s=60, step_s=15)  # five points
    # An hour at 15 s growing 50 MB/h under AR(1) noise: its interval (~27-95 MB/h) straddles 50.
    wide_t_s = grid(end_of_backfill_s(), span_s=3600, step_s=15)
    noise = _ar1(np.random.default_rng(5), len(wide_t_s), 0.9, 5e6)
    wide = 300e6 + 50e6 / 3600 * (wide_t_s - wide_t_s[0]) + noise
    server = PrometheusServer(root)
    backfill(
        server.data_dir,
        [
            Backfilled("svc_rss_bytes", {"job": "short"}, t_s, np.full(5, 10**8)),
            Backfilled("svc_rss_bytes", {"job": "wide"}, wide_t_s, np.round(wide)),
        ],
        root,
    )
    server.start()
    server.t_s, server.wide_t_s = t_s, wide_t_s
    yield server
    server.stop()


def test_fleet(few_points_server, tmp_path):
    t_s = few_points_server.t_s

    def statuses(out) -> list[str]:
        return [c["status"] for s in load_json(out / "summary.json")["series"] for c in s["criteria"]]

    def args(out) -> tuple[str, ...]:
        return (
            "fleet", "--prometheus", few_points_server.url, "--query", 'svc_rss_bytes{job="short"}',
            "--start", str(t_s[0]), "--end", str(t_s[-1]), "--step", "15s", "--out", str(out),
        )  # fmt: skip

    assert_unproven_gate(tmp_path, args, statuses)


def test_fleet_a_straddling_interval_is_not_proven_never_fail(few_points_server, tmp_path):
    t_s = few_points_server.wide_t_s

    def statuses(out) -> list[str]:
        return [c["status"] for s in load_json(out / "summary.json")["series"] for c in s["criteria"]]

    def args(out) -> tuple[str, ...]:
        return (
            "fleet", "--prometheus", few_points_server.url, "--query", 'svc_rss_bytes{job="wide"}',
            "--start", str(t_s[0]), "--end", str(t_s[-1]), "--step", "15s", "--out", str(out),
        )  # fmt: skip

    assert_unproven_gate(tmp_path, args, statuses)
    assert statuses(tmp_path / "strict") == ["NOT PROVEN"]


def test_soak_a_straddling_interval_is_not_proven_never_fail(tmp_path):
    # Five simulated minutes of the smoke scenario: its interval spans about -56 to +122 MB/h.
    def args(out) -> tuple[str, ...]:
        return ("soak", "--scenario", "smoke", "--minutes", "5", "--probe-interval", "0", "--out", str(out))

    assert_unproven_gate(tmp_path, args, run_statuses)
    assert run_statuses(tmp_path / "strict") == ["NOT PROVEN"]
