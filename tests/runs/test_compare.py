"""compare.py: the conclusion (the claims a rerun must repeat, without the figures that may move),
and the verdicts, paces and times to limit of each variant, pooled over replicates."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.student import t_critical_95
from leakhunt.analysis.summary import summarize_run
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.runs.compare import (
    claim,
    conclusion,
    effect,
    effect_text,
    plan_runs,
    render_comparison,
    summarize_comparison,
)
from leakhunt.runs.soak import SoakOptions
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RunDir
from leakhunt.workload.scenario import load_scenario
from tests.e2e.conftest import assert_real_figure

MB = 1e6


def growth(slope_mb: float, half_mb: float) -> dict:
    return {
        "slope_bytes_per_min": slope_mb * MB,
        "ci_low_bytes_per_min": (slope_mb - half_mb) * MB,
        "ci_high_bytes_per_min": (slope_mb + half_mb) * MB,
    }


def entry(label: str, slope_mb: float, half_mb: float, base: dict | None = None) -> dict:
    measured = growth(slope_mb, half_mb)
    row = {"label": label, "verdict": "STABLE", "growth": measured}
    if base is not None:
        row["effect"] = effect(base, measured)
    return row


def test_an_effect_proven_negligible_and_one_too_wide_to_tell_are_both_no_measurable_effect():
    base = growth(0.32, 0.01)
    narrow = entry("caps only", 0.33, 0.01, base)  # within ±10 % of the baseline: negligible
    wide = entry("caps only", 0.33, 0.2, base)  # reaches far past the margin: cannot tell
    assert narrow["effect"]["negligible"] and not wide["effect"]["negligible"]
    runs = [entry("fixes off", 0.32, 0.01)]
    assert conclusion({"runs": [*runs, narrow]}) == conclusion({"runs": [*runs, wide]})
    assert "caps only no leak proven, under the stable bound, no measurable effect" in conclusion(
        {"runs": [*runs, narrow]}
    )


def test_an_effect_whose_interval_clears_zero_and_the_margin_removes_growth():
    base = growth(0.32, 0.01)
    fixed = entry("oi_cap only", 0.02, 0.01, base)
    assert "oi_cap only no leak proven, under the stable bound, removes growth" in conclusion(
        {"runs": [entry("fixes off", 0.32, 0.01), fixed]}
    )


def test_only_the_first_replicate_of_fixes_off_and_all_fixes_is_probed_and_every_run_has_its_own_name():
    options = SoakOptions(scenario=load_scenario("smoke"), duration_s=600.0, probe_interval_s=120.0)
    plans = plan_runs(options, ablation=True, repeat=3)
    assert len(plans) == 15 and len({name for name, _ in plans}) == 15
    probed = [name for name, planned in plans if planned.probe_interval_s]
    assert probed == ["baseline-r1", "all-fixes-r1"]
    for name, planned in plans:
        assert name.endswith(f"-r{planned.replicate}")
        assert planned.probe_interval_s == (120.0 if name in probed else 0.0), name
        assert planned.probe_in_flight == 1  # runs side by side fill the cores already
    assert {planned.variant for _, planned in plans} == {
        "fixes off", "all fixes", "caps only", "oi_cap only", "cleanup only",
    }  # fmt: skip
    # Run once, a variant keeps its probes and its plain name.
    single = plan_runs(options, ablation=False, repeat=1)
    assert [(name, planned.probe_interval_s, planned.replicate) for name, planned in single] == [
        (single[0][0], 120.0, None),
        (single[1][0], 120.0, None),
    ]
    assert not single[0][0].endswith("-r1")


def run_of(label: str, rate_bytes_per_min: float, seed: int, *, scenario: str = "incident", **meta) -> dict:
    """One saved run as compare reads it: meta and a summary computed from a seeded curve."""
    t_s, rss_bytes, _ = service_at_rest(seed, rate_bytes_per_min, minutes=120, interval_s=5.0)
    samples = pd.DataFrame({"t_sim_s": t_s, "rss_bytes": rss_bytes, "swap_bytes": 0.0, "cpu_percent": 1.0})
    full_meta = {
        "command": "soak", "label": label, "memory_limit_bytes": 6e9, "exit_reason": "completed",
        "scenario": {"name": scenario, "scale": 1.0}, "duration_s": 7200.0, "fixes": [], **meta,
    }  # fmt: skip
    return {
        "label": label,
        "run_dir": SimpleNamespace(path=Path(f"/runs/{label}-{seed}")),
        "meta": full_meta,
        "summary": summarize_run(samples, full_meta),
    }


def test_replicates_of_a_slow_leak_are_judged_pooled_with_their_pace_and_time_to_limit():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(3)]
    base = summarize_comparison(runs)["runs"][0]
    assert (base["verdict"], base["pace"], base["verdict_short"]) == ("LEAK", "slow", "LEAK, slow")
    assert base["verdict_label"] == "LEAK (slow: under the 50 MB/h bound)"
    assert "MB/min (95 % CI" in base["verdict_reason"]
    left_bytes = 6e9 - base["final_rss_bytes"]
    assert base["time_to_limit_min"] == pytest.approx(left_bytes / base["growth"]["slope_bytes_per_min"])
    assert base["to_limit"] == f"~{base['time_to_limit_min']:,.0f} min"


def test_a_baseline_leaking_slowly_with_every_fix_off_is_said_to_pass_the_criterion_and_still_grow():
    comparison = summarize_comparison(
        [run_of("fixes off", 20 * MB / 60, 0), run_of("oi_cap", 0.0, 1, fixes=["oi_cap"])]
    )
    headline = comparison["headline"]
    assert headline.startswith("fixes off: ") and "MB/min (LEAK, slow); oi_cap: " in headline
    base = comparison["runs"][0]
    assert (
        f"passes the report's own criterion growth < 50 MB/h, and still grows without bound "
        f"(to the limit: {base['to_limit']})." in headline
    )
    assert "already meets" not in headline


def test_a_baseline_with_fixes_on_is_not_said_to_meet_the_criterion_with_every_fix_off():
    stable = [run_of("all fixes", 0.0, 0, fixes=["oi_cap"]), run_of("none", 0.0, 1)]
    assert "every fix off" not in summarize_comparison(stable)["headline"]
    fixes_off = [run_of("none", 0.0, 1), run_of("all fixes", 0.0, 0, fixes=["oi_cap"])]
    assert "With every fix off the model already meets" in summarize_comparison(fixes_off)["headline"]


def test_runs_of_different_scenarios_are_not_read_as_a_fix_removing_growth():
    comparison = summarize_comparison(
        [run_of("smoke", 1 * MB / 60, 0, scenario="smoke"), run_of("replay", 200 * MB, 1, scenario="replay")]
    )
    other = comparison["runs"][1]
    assert other["effect"]["comparable"] is False and other["reduction_percent"] is None
    assert effect_text(other).endswith(" against the baseline, a different scenario: not a fix's effect")
    assert "removes" not in comparison["headline"] and "%" not in effect_text(other)
    assert "replay LEAK, a different scenario" in comparison["conclusion"]
    assert any("differ in scenario" in warning for warning in comparison["warnings"])


def test_a_claim_is_a_leak_or_no_leak_proven_under_the_bound_whichever_word_carries_it():
    under = growth(0.02, 0.02)  # 0-2.4 MB/h: STABLE, BOUNDED or INCONCLUSIVE, rerun to rerun
    for verdict in ("STABLE", "BOUNDED", "INCONCLUSIVE"):
        assert claim({"verdict": verdict, "growth": under}) == "no leak proven, under the stable bound"
    assert claim({"verdict": "LEAK", "growth": under}) == "LEAK"
    at_bound = growth(50 / 60 - 0.1, 0.1)  # its high end exactly the 50 MB/h bound
    assert claim({"verdict": "INCONCLUSIVE", "growth": at_bound}) == "no leak proven, under the stable bound"
    straddling = growth(0.8, 0.2)
    assert claim({"verdict": "INCONCLUSIVE", "growth": straddling}) == "INCONCLUSIVE"
    custom = {"verdict": "INCONCLUSIVE", "growth": straddling, "stable_bound_bytes_per_min": 2 * MB}
    assert claim(custom) == "no leak proven, under the stable bound"


def test_replicates_pool_to_their_mean_slope_their_mean_half_width_and_spread_in_quadrature():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(3)]
    growths = [run["summary"]["growth"] for run in runs]
    pooled = summarize_comparison(runs)["runs"][0]["growth"]
    slopes = np.array([g["slope_bytes_per_min"] for g in growths])
    halves = [(g["ci_high_bytes_per_min"] - g["ci_low_bytes_per_min"]) / 2 for g in growths]
    spread = t_critical_95(2) * slopes.std(ddof=1) / np.sqrt(3)
    half = np.hypot(np.mean(halves), spread)
    assert pooled["slope_bytes_per_min"] == pytest.approx(slopes.mean(), rel=1e-12)
    assert pooled["ci_low_bytes_per_min"] == pytest.approx(slopes.mean() - half, rel=1e-12)
    assert pooled["ci_high_bytes_per_min"] == pytest.approx(slopes.mean() + half, rel=1e-12)
    assert pooled["replicate_slopes_bytes_per_min"] == pytest.approx(slopes.tolist(), rel=1e-12)
    assert pooled["replicate_spread_bytes_per_min"] == pytest.approx(spread, rel=1e-12)
    assert pooled["method"].startswith("mean of 3 replicates; interval: their mean half-width")


def test_a_single_run_carries_its_own_verdict_and_an_old_summary_its_bare_verdict_as_labels():
    run = run_of("fixes off", 20 * MB / 60, 0)
    summary = run["summary"]
    for key in ("verdict_label", "verdict_short"):
        del summary[key]  # a run saved before verdicts had paces
    entry = summarize_comparison([run])["runs"][0]
    assert entry["verdict_label"] == entry["verdict_short"] == summary["verdict"] == "LEAK"
    assert entry["verdict_reason"] == summary["verdict_reason"]
    assert entry["time_to_limit_min"] == summary["time_to_limit_min"] > 0
    assert entry["to_limit"] == summary["to_limit"]


def test_replicates_that_reached_the_limit_keep_saying_so():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(2)]
    runs[0]["summary"]["to_limit"] = "reached the 6 GB limit at 23 min"
    assert summarize_comparison(runs)["runs"][0]["to_limit"] == "reached the 6 GB limit at 23 min"


def test_an_effect_of_another_scenario_is_signed_and_has_no_percentage():
    comparison = summarize_comparison(
        [run_of("smoke", 1 * MB / 60, 0, scenario="smoke"), run_of("replay", 200 * MB, 1, scenario="replay")]
    )
    other = comparison["runs"][1]
    assert other["effect"]["percent"] is None and other["effect"]["percent_ci"] is None
    assert effect_text(other).startswith("+")  # it grows faster than the baseline


def test_an_effect_proven_negligible_is_said_so_in_words():
    base = growth(1.0, 0.01)
    entry = {"effect": effect(base, growth(1.0, 0.01))}
    assert entry["effect"]["negligible"]
    assert effect_text(entry) == "no effect beyond ±10% of the baseline's growth"


def test_a_rendered_comparison_is_indented_json_a_picture_and_a_page(tmp_path):
    run_dirs = []
    for label, rate in (("fixes off", 2 * MB), ("all fixes", 0.0)):
        path = tmp_path / label.replace(" ", "-")
        t_s, rss_bytes, _ = service_at_rest(len(run_dirs), rate, minutes=30, interval_s=5.0)
        run_dir = RunDir.create("soak", label, path)
        run_dir.write_meta(
            {"tool": "leakhunt", "command": "soak", "label": label, "memory_limit_bytes": 6e9,
             "time_axis": "t_sim_s", "duration_s": 1800.0, "exit_reason": "completed", "events": [],
             "expect": [], "scenario": {"name": "incident", "scale": 1.0}, "fixes": []}
        )  # fmt: skip
        with run_dir.sample_writer() as writer:
            for t, rss in zip(t_s, rss_bytes, strict=True):
                writer.write(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
        run_dirs.append(run_dir)
    out = RunDir.create("compare", "saved", tmp_path / "comparison")
    comparison = render_comparison(out, run_dirs, finish_runs=False)
    text = (out.path / "comparison.json").read_text()
    assert text.startswith('{\n  "baseline": "fixes off",\n') and text.endswith("}\n")
    assert json.loads(text)["runs"][1]["run_dir"] == str(run_dirs[1].path)
    assert comparison["runs"][0]["verdict"] == "LEAK" and comparison["comparison_dir"] == str(out.path)
    assert_real_figure(out.path / "comparison.png", min_height_px=350)  # two curves, one panel
    assert "fixes off" in (out.path / "report.html").read_text()
