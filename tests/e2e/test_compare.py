"""`leakhunt compare`: the fixes proven on the same seeded feed, and saved runs side by side."""

import json
import re

from tests.e2e.conftest import assert_real_figure, leakhunt, load_json
from tests.e2e.test_errors import assert_one_line_usage_error


def test_baseline_with_ablation_gives_five_runs_and_a_leak_only_with_the_fixes_off(tmp_path):
    out = tmp_path / "cmp"
    leakhunt(
        "compare",
        "--baseline",
        "--ablation",
        "--scenario",
        "incident-replay",
        "--scale",
        "0.03",
        "--minutes",
        "25",
        "--probe-interval",
        "0",
        "--out",
        str(out),
        check_rc=0,
    )
    comparison = load_json(out / "comparison.json")
    by_label = {entry["label"]: entry for entry in comparison["runs"]}
    assert set(by_label) == {"fixes off", "all fixes", "caps only", "oi_cap only", "cleanup only"}
    assert by_label["fixes off"]["verdict"] == "LEAK"
    assert by_label["all fixes"]["verdict"] != "LEAK"
    assert by_label["all fixes"]["reduction_percent"] > 90
    assert by_label["caps only"]["verdict"] != "LEAK"
    for entry in comparison["runs"]:
        assert (out / entry["run_dir"].split("/")[-1] / "summary.json").exists()
    assert "carries the most weight" in comparison["headline"]
    assert_real_figure(out / "comparison.png", min_width_px=800)
    html = (out / "report.html").read_text()
    # Self-contained: no external reference, every figure inlined.
    assert not re.search(r"""(?:src|href)=["'](?!data:)""", html)
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") == 1


def test_the_baseline_slope_is_proportional_to_the_scale(tmp_path):
    slopes = []
    for scale in ("0.02", "0.04"):
        out = tmp_path / scale
        leakhunt(
            "compare",
            "--baseline",
            "--scenario",
            "incident-replay",
            "--scale",
            scale,
            "--minutes",
            "20",
            "--probe-interval",
            "0",
            "--out",
            str(out),
            check_rc=0,
        )
        slopes.append(load_json(out / "comparison.json")["runs"][0]["growth"]["slope_bytes_per_min"])
    assert 1.7 < slopes[1] / slopes[0] < 2.3


def test_saved_runs_compare_without_running_anything(tmp_path):
    for name, fixes in (("a", "none"), ("b", "all")):
        leakhunt(
            "soak",
            "--scenario",
            "smoke",
            "--minutes",
            "10",
            "--fixes",
            fixes,
            "--probe-interval",
            "0",
            "--out",
            str(tmp_path / name),
            check_rc=0,
        )
    before = (tmp_path / "a" / "samples.csv").read_bytes()
    out = tmp_path / "cmp"
    result = leakhunt(
        "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out), "--json", check_rc=0
    )
    assert (tmp_path / "a" / "samples.csv").read_bytes() == before
    comparison = load_json(out / "comparison.json")
    assert [e["run_dir"].split("/")[-1] for e in comparison["runs"]] == ["a", "b"]
    assert '"runs"' in result.stdout
    # ... and re-rendering the comparison from its files gives the same numbers.
    leakhunt("report", str(out), check_rc=0)
    again = load_json(out / "comparison.json")
    assert [e["growth"] for e in again["runs"]] == [e["growth"] for e in comparison["runs"]]


def test_a_failed_expectation_exits_1_after_the_full_report(tmp_path):
    out = tmp_path / "cmp"
    result = leakhunt(
        "compare",
        "--baseline",
        "--scenario",
        "incident-replay",
        "--scale",
        "0.02",
        "--minutes",
        "15",
        "--probe-interval",
        "0",
        "--expect",
        "growth<50MB/h",
        "--out",
        str(out),
    )
    assert result.returncode == 1, result.stderr
    comparison = load_json(out / "comparison.json")
    baseline, fixed = comparison["runs"]
    assert baseline["criteria"][0]["passed"] is False
    assert fixed["criteria"][0]["passed"] is True
    assert (out / "report.html").exists() and "FAIL" in result.stderr


def test_bad_compare_input_is_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_usage_error(leakhunt("compare", str(empty), str(empty)), "no runs found")
    assert_one_line_usage_error(leakhunt("compare"), "--baseline")
    assert_one_line_usage_error(leakhunt("compare", "--baseline", "--expect", "growth<<1"), "growth<<1")
    soak_dir, watch_dir = tmp_path / "s", tmp_path / "w"
    leakhunt(
        "soak",
        "--scenario",
        "smoke",
        "--minutes",
        "3",
        "--probe-interval",
        "0",
        "--out",
        str(soak_dir),
        check_rc=0,
    )
    leakhunt(
        "soak",
        "--scenario",
        "smoke",
        "--minutes",
        "3",
        "--probe-interval",
        "0",
        "--out",
        str(watch_dir),
        check_rc=0,
    )
    meta = load_json(watch_dir / "meta.json")
    meta["command"] = "watch"
    (watch_dir / "meta.json").write_text(json.dumps(meta))
    assert_one_line_usage_error(leakhunt("compare", str(soak_dir), str(watch_dir)), "mismatched run types")
