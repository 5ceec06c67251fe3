"""A leak that restarts is still a leak (the incident's own pattern): leaks cut by restarts read
LEAK at their rate within 10 %, with and without a start-time series, in fleet over a real
Prometheus and in `watch --replay` at 1 Hz, 0.2 Hz and 1/15 Hz; a flat-floor sawtooth and a
one-off step never read LEAK."""

import json

import numpy as np
import pytest

from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir
from tests.e2e.conftest import leakhunt, load_json
from tests.helpers.fleet_series import end_of_backfill_s, grid
from tests.helpers.prometheus_server import Backfilled, PrometheusServer, backfill, need_prometheus

MB = 1e6
RATES_MB_PER_H = (40, 60, 80, 100)
BASE_BYTES = 400 * MB


def restarting_leak(
    rate_mb_per_h: float, seed: int, *, segments: int = 3, segment_min: float = 120, interval_s: float = 15
) -> tuple[np.ndarray, np.ndarray]:
    """`segments` processes one after another, each leaking from the same start level."""
    t_parts, rss_parts = [], []
    for k in range(segments):
        t_s, rss_bytes, _ = service_at_rest(
            seed * 10 + k, rate_mb_per_h * MB / 60, minutes=segment_min, interval_s=interval_s
        )
        keep = len(t_s) if k == segments - 1 else -1  # the next process's first point is its own
        t_parts.append(t_s[:keep] + k * segment_min * 60)
        rss_parts.append(rss_bytes[:keep] + BASE_BYTES - 80 * MB)
    return np.concatenate(t_parts), np.concatenate(rss_parts)


def flat_floor_sawtooth(t_s: np.ndarray, seed: int) -> np.ndarray:
    """A cleanup every 50 min frees all that accumulated: 7 teeth over 6 h, no leak."""
    teeth = ((t_s - t_s[0]) % 3000.0) / 3000.0 * 300 * MB
    return BASE_BYTES + teeth + np.random.default_rng(seed).normal(0, 1 * MB, len(t_s))


def one_off_step(t_s: np.ndarray, seed: int) -> np.ndarray:
    step = (t_s - t_s[0] > 0.6 * (t_s[-1] - t_s[0])) * 500 * MB
    return BASE_BYTES + step + np.random.default_rng(seed).normal(0, 1 * MB, len(t_s))


@pytest.fixture(scope="module")
def restart_server(tmp_path_factory):
    need_prometheus()
    root = tmp_path_factory.mktemp("prometheus-restarts")
    end_s = end_of_backfill_s()
    t_grid = grid(end_s)
    series = []
    for seed, rate in enumerate(RATES_MB_PER_H):
        _, rss_bytes = restarting_leak(rate, seed)
        values = np.round(rss_bytes[: len(t_grid)])
        labels = {"job": "restarts", "rate": f"{rate}MB/h"}
        series.append(Backfilled("svc_rss_bytes", labels, t_grid, values))
        # The same processes as an exporter shows them, with their start times.
        started_s = t_grid[0] + np.minimum((t_grid - t_grid[0]) // 7200, 2) * 7200
        series.append(Backfilled("process_resident_memory_bytes", labels, t_grid, values))
        series.append(Backfilled("process_start_time_seconds", labels, t_grid, started_s))
    for seed, shape in enumerate((flat_floor_sawtooth, one_off_step)):
        labels = {"job": "not-leaks", "shape": shape.__name__}
        series.append(Backfilled("svc_rss_bytes", labels, t_grid, np.round(shape(t_grid, seed))))
    server = PrometheusServer(root)
    backfill(server.data_dir, series, root)
    server.start()
    server.t_grid = t_grid
    yield server
    server.stop()


def assert_restarting_leaks(series: list[dict], reading_from_curve: bool) -> None:
    for item in series:
        rate_mb_per_h = float(item["labels"]["rate"].removesuffix("MB/h"))
        assert item["verdict"] == "LEAK", item["verdict_reason"]
        assert item["growth"]["slope_bytes_per_min"] * 60 / MB == pytest.approx(rate_mb_per_h, rel=0.10)
        assert len(item["restarts"]) == 2
        assert ("read as restarts" in item["method"]) is reading_from_curve
        # A restarted process climbs from ~400 MB to the 2 GB limit: how often it will die.
        expected_min = 1600 * MB / (rate_mb_per_h * MB / 60)
        assert item["restarted_to_limit_min"] == pytest.approx(expected_min, rel=0.15)
        assert "a restarted process reaches it in ~" in item["to_limit"]


def run_fleet_json(server, tmp_path, query: str) -> list[dict]:
    out = tmp_path / query.split("{")[0]
    t_grid = server.t_grid
    leakhunt(
        "fleet", "--prometheus", server.url, "--query", query, "--start", str(t_grid[0]),
        "--end", str(t_grid[-1]), "--memory-limit", "2GB", "--out", str(out), check_rc=0,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["predict_linear"]["window_s"] == 3600  # the comparison is still made
    return summary["series"]


def test_fleet_reads_leaks_that_restart_as_leaks_from_the_curve_alone(restart_server, tmp_path):
    series = run_fleet_json(restart_server, tmp_path, 'svc_rss_bytes{job="restarts"}')
    assert len(series) == len(RATES_MB_PER_H)
    assert_restarting_leaks(series, reading_from_curve=True)


def test_fleet_reads_leaks_that_restart_from_their_start_time_series(restart_server, tmp_path):
    series = run_fleet_json(restart_server, tmp_path, 'process_resident_memory_bytes{job="restarts"}')
    assert_restarting_leaks(series, reading_from_curve=False)
    assert all(r["how"] == "process_start_time_seconds changed" for s in series for r in s["restarts"])


def test_fleet_never_calls_a_flat_floor_sawtooth_or_a_one_off_step_a_leak(restart_server, tmp_path):
    series = run_fleet_json(restart_server, tmp_path, 'svc_rss_bytes{job="not-leaks"}')
    verdicts = {s["labels"]["shape"]: s["verdict"] for s in series}
    assert set(verdicts) == {"flat_floor_sawtooth", "one_off_step"}
    assert "LEAK" not in verdicts.values(), verdicts


def replay(tmp_path, t_s: np.ndarray, rss_bytes: np.ndarray) -> dict:
    saved = RunDir.create("watch", "rss-only", tmp_path / "saved")
    saved.write_meta({"tool": "leakhunt", "command": "watch", "label": "rss", "exit_reason": "completed"})
    with saved.sample_writer() as writer:
        for t, rss in zip(t_s, rss_bytes, strict=True):
            writer.write(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
    out = tmp_path / "replayed"
    leakhunt("watch", "--replay", str(saved.path / "samples.csv"), "--out", str(out), check_rc=0)
    return load_json(out / "summary.json")


@pytest.mark.parametrize("interval_s", [1.0, 5.0, 15.0], ids=["1Hz", "0.2Hz", "1/15Hz"])
def test_a_replayed_leak_with_a_restart_in_the_middle_is_a_leak_at_its_rate(tmp_path, interval_s):
    t_s, rss_bytes = restarting_leak(60, 3, segments=2, segment_min=60, interval_s=interval_s)
    summary = replay(tmp_path, t_s, rss_bytes)
    assert summary["verdict"] == "LEAK", summary["verdict_reason"]
    assert summary["growth"]["slope_bytes_per_min"] * 60 / MB == pytest.approx(60, rel=0.10)
    assert "1 drop to the start level or below half read as restarts" in summary["method"]


@pytest.mark.parametrize("interval_s", [1.0, 5.0, 15.0], ids=["1Hz", "0.2Hz", "1/15Hz"])
@pytest.mark.parametrize("shape", [flat_floor_sawtooth, one_off_step], ids=lambda f: f.__name__)
def test_a_replayed_flat_floor_sawtooth_or_step_is_never_a_leak(tmp_path, interval_s, shape):
    t_s = np.arange(0.0, 6 * 3600.0, interval_s)
    summary = replay(tmp_path, t_s, shape(t_s, 5))
    assert summary["verdict"] != "LEAK", summary["verdict_reason"]
