"""Curves whose answer is known, judged through the commands a user runs: a 20 MB/h leak under GC
noise over 2 h at 0.2 Hz reads as a slow leak with its time to the limit (watch --replay, a soak
re-rendered by `leakhunt report`, fleet over a real Prometheus); a flat sawtooth and a one-off step
read STABLE; a cache filling to its cap reads BOUNDED."""

import json
from pathlib import Path

import numpy as np
import pytest

from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir
from tests.e2e.conftest import leakhunt, load_json
from tests.helpers.fleet_series import end_of_backfill_s, grid
from tests.helpers.prometheus_server import Backfilled, PrometheusServer, backfill, need_prometheus

MB = 1e6
SLOW_BYTES_PER_MIN = 20 * MB / 60
LIMIT_BYTES = 2e9
WIDE = {"COLUMNS": "200"}  # headlines on one line, to read them whole


def slow_leak(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    t_s, rss_bytes, _ = service_at_rest(seed, SLOW_BYTES_PER_MIN, minutes=120, interval_s=5.0)
    return t_s, rss_bytes


def flat_sawtooth() -> tuple[np.ndarray, np.ndarray]:
    t_s = np.arange(0.0, 7200.0 + 1e-9, 5.0)
    rng = np.random.default_rng(7)
    teeth = (t_s % 317.0) / 317.0 * 40 * MB  # a cleanup every 317 s frees 40 MB
    return t_s, 300 * MB + teeth + rng.normal(0, 0.3 * MB, len(t_s))


def one_off_step() -> tuple[np.ndarray, np.ndarray]:
    t_s = np.arange(0.0, 7200.0 + 1e-9, 5.0)
    rng = np.random.default_rng(8)
    return t_s, 300 * MB + (t_s > 3000) * 200 * MB + rng.normal(0, 0.3 * MB, len(t_s))


def filled_cache() -> tuple[np.ndarray, np.ndarray]:
    t_s = np.arange(0.0, 7200.0 + 1e-9, 5.0)
    rng = np.random.default_rng(9)
    cache_bytes = np.minimum(t_s, 2400.0) / 60 * 5 * MB  # 5 MB/min until full at 40 min
    return t_s, 300 * MB + cache_bytes + rng.normal(0, 0.3 * MB, len(t_s))


def write_run(path: Path, command: str, t_s: np.ndarray, rss_bytes: np.ndarray) -> Path:
    """A run directory as leakhunt writes one: meta.json and samples.csv, written by its own store."""
    run_dir = RunDir.create(command, "known", path)
    run_dir.write_meta(
        {
            "tool": "leakhunt", "command": command, "label": "known", "memory_limit_bytes": LIMIT_BYTES,
            "time_axis": "t_sim_s" if command == "soak" else "t_wall_s", "duration_s": float(t_s[-1]),
            "exit_reason": "completed", "events": [], "expect": [],
        }
    )  # fmt: skip
    with run_dir.sample_writer() as writer:
        for t, rss in zip(t_s, rss_bytes, strict=True):
            writer.write(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
    return path


def assert_slow_leak_with_time_to_limit(summary: dict) -> None:
    assert (summary["verdict"], summary["pace"]) == ("LEAK", "slow"), summary["verdict_reason"]
    assert summary["verdict_label"] == "LEAK (slow: under the 50 MB/h bound)"
    # About 1.6 GB left at 20 MB/h: some 4,900 minutes, within what the interval allows.
    left_bytes = LIMIT_BYTES - summary["final_rss_bytes"]
    assert summary["time_to_limit_min"] == pytest.approx(left_bytes / SLOW_BYTES_PER_MIN, rel=0.25)
    assert summary["to_limit"] == f"~{summary['time_to_limit_min']:,.0f} min"


def test_a_slow_leak_replayed_by_watch_is_a_slow_leak_with_its_time_to_limit(tmp_path):
    run = write_run(tmp_path / "saved", "watch", *slow_leak())
    out = tmp_path / "replayed"
    result = leakhunt(
        "watch", "--replay", str(run / "samples.csv"), "--expect", "growth<50MB/h", "--out", str(out),
        env=WIDE, check_rc=0,
    )  # fmt: skip
    summary = load_json(out / "summary.json")
    assert_slow_leak_with_time_to_limit(summary)  # the limit came from the replayed run's meta
    assert summary["criteria_passed"] is True  # the gate growth<50MB/h passes a slow leak
    assert "LEAK (slow: under the 50 MB/h bound): RSS grows" in result.stdout


def test_a_slow_leak_in_a_soak_re_rendered_by_report_is_a_slow_leak_with_its_time_to_limit(tmp_path):
    run = write_run(tmp_path / "soak", "soak", *slow_leak(1))
    result = leakhunt("report", str(run), env=WIDE, check_rc=0)
    assert_slow_leak_with_time_to_limit(load_json(run / "summary.json"))
    assert "LEAK (slow: under the 50 MB/h bound): RSS grows" in result.stdout


@pytest.mark.parametrize(
    ("curve", "verdict"),
    [(flat_sawtooth, "STABLE"), (one_off_step, "STABLE"), (filled_cache, "BOUNDED")],
    ids=["flat_sawtooth", "one_off_step", "filled_cache"],
)
def test_curves_that_do_not_grow_without_bound_keep_their_words(tmp_path, curve, verdict):
    run = write_run(tmp_path / "saved", "watch", *curve())
    out = tmp_path / "replayed"
    leakhunt("watch", "--replay", str(run / "samples.csv"), "--out", str(out), check_rc=0)
    summary = load_json(out / "summary.json")
    assert (summary["verdict"], summary["pace"]) == (verdict, None), summary["verdict_reason"]
    assert summary["time_to_limit_min"] is None


def test_a_slow_leak_in_a_fleet_is_a_slow_leak_ranked_by_its_time_to_limit(tmp_path):
    need_prometheus()
    end_s = end_of_backfill_s()
    t_grid = grid(end_s, span_s=7200, step_s=5)
    slow = slow_leak(0)[1][: len(t_grid)] + 400 * MB  # the curve the watch test replays
    fast = 400 * MB + 2 * MB * (t_grid - t_grid[0]) / 60  # 120 MB/h: its limit comes sooner
    flat = 400 * MB + np.random.default_rng(3).normal(0, 0.3 * MB, len(t_grid))
    series = [
        Backfilled("svc_rss_bytes", {"job": "known", "instance": name}, t_grid, np.round(values))
        for name, values in (("slow", slow), ("fast", fast), ("flat", flat))
    ]
    server = PrometheusServer(tmp_path / "prometheus")
    backfill(server.data_dir, series, tmp_path / "prometheus")
    server.start()
    try:
        out = tmp_path / "fleet"
        leakhunt(
            "fleet", "--prometheus", server.url, "--query", 'svc_rss_bytes{job="known"}',
            "--start", str(t_grid[0]), "--end", str(t_grid[-1]), "--step", "5s",
            "--memory-limit", "2GB", "--out", str(out), check_rc=0,
        )  # fmt: skip
    finally:
        server.stop()
    ranked = json.loads((out / "summary.json").read_text())["series"]
    by_name = {item["labels"]["instance"]: item for item in ranked}
    assert [item["labels"]["instance"] for item in ranked] == ["fast", "slow", "flat"]
    assert (by_name["slow"]["verdict"], by_name["slow"]["pace"]) == ("LEAK", "slow")
    left_bytes = LIMIT_BYTES - slow[-1]
    assert by_name["slow"]["time_to_limit_min"] == pytest.approx(left_bytes / SLOW_BYTES_PER_MIN, rel=0.25)
    assert by_name["flat"]["verdict"] == "STABLE" and by_name["flat"]["time_to_limit_min"] is None
