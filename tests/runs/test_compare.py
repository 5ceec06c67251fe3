"""compare.py: the conclusion (the claims a rerun must repeat, without the figures that may move),
and the verdicts, paces and times to limit of each variant, pooled over replicates."""

import json
import os
import shutil
import signal
import threading
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.student import t_critical_95
from leakhunt.analysis.summary import summarize_run
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.errors import UsageError
from leakhunt.runs.compare import (
    Variant,
    _what_the_interrupt_left,
    claim,
    collect_runs,
    comparison_headline,
    comparison_runs,
    conclusion,
    default_jobs,
    effect,
    effect_text,
    is_comparison,
    mismatch_warnings,
    plan_runs,
    render_comparison,
    run_baseline_comparison,
    summarize_comparison,
    variants,
    weightiest_fix,
)
from leakhunt.runs.soak import SoakOptions, SoakResult
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import NotARunFile, RunDir
from leakhunt.workload.names import FIXES
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
        assert planned.probe_interval_s == (120.0 if name in probed else None), name
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


def saved_soak(path: Path, label: str, rate_bytes_per_min: float, seed: int, **meta) -> RunDir:
    """A soak's run folder as its store writes one: 30 simulated minutes at a seeded rate."""
    t_s, rss_bytes, _ = service_at_rest(seed, rate_bytes_per_min, minutes=30, interval_s=5.0)
    run_dir = RunDir.create("soak", label, path)
    run_dir.write_meta(
        {"tool": "leakhunt", "command": "soak", "label": label, "memory_limit_bytes": 6e9,
         "time_axis": "t_sim_s", "duration_s": 1800.0, "exit_reason": "completed", "events": [],
         "expect": [], "scenario": {"name": "incident", "scale": 1.0}, "fixes": [], **meta}
    )  # fmt: skip
    with run_dir.sample_writer() as writer:
        for t, rss in zip(t_s, rss_bytes, strict=True):
            writer.write(Sample(t_wall_s=float(t), t_sim_s=float(t), rss_bytes=int(rss)))
    return run_dir


def test_a_rendered_comparison_is_indented_json_a_picture_and_a_page(tmp_path):
    run_dirs = [saved_soak(tmp_path / "fixes-off", "fixes off", 2 * MB, 0),
                saved_soak(tmp_path / "all-fixes", "all fixes", 0.0, 1)]  # fmt: skip
    out = RunDir.create("compare", "saved", tmp_path / "comparison")
    comparison = render_comparison(out, run_dirs, finish_runs=False)
    text = (out.path / "comparison.json").read_text()
    assert text.startswith('{\n  "baseline": "fixes off",\n') and text.endswith("}\n")
    assert json.loads(text)["runs"][1]["run_dir"] == str(run_dirs[1].path)
    assert comparison["runs"][0]["verdict"] == "LEAK" and comparison["comparison_dir"] == str(out.path)
    assert_real_figure(out.path / "comparison.png", min_height_px=350)  # two curves, one panel
    assert "fixes off" in (out.path / "report.html").read_text()


def test_the_variants_are_fixes_off_all_on_and_with_ablation_each_fix_alone():
    assert variants(ablation=False) == [
        Variant("fixes off", "baseline", frozenset()),
        Variant("all fixes", "all-fixes", frozenset({"caps", "oi_cap", "cleanup"})),
    ]
    assert variants(ablation=True)[2:] == [
        Variant("caps only", "caps-only", frozenset({"caps"})),
        Variant("oi_cap only", "oi_cap-only", frozenset({"oi_cap"})),
        Variant("cleanup only", "cleanup-only", frozenset({"cleanup"})),
    ]


def test_two_replicates_are_numbered_and_each_runs_its_variants_fixes_on_the_same_scenario():
    scenario = load_scenario("smoke")
    options = SoakOptions(scenario=scenario, duration_s=600.0, probe_interval_s=120.0, interval_s=10.0)
    plans = plan_runs(options, ablation=False, repeat=2)
    assert [(name, p.variant, p.replicate, p.probe_interval_s) for name, p in plans] == [
        ("baseline-r1", "fixes off", 1, 120.0),
        ("baseline-r2", "fixes off", 2, None),
        ("all-fixes-r1", "all fixes", 1, 120.0),
        ("all-fixes-r2", "all fixes", 2, None),
    ]
    for _, planned in plans:
        fixes = frozenset() if planned.variant == "fixes off" else frozenset(FIXES)
        assert planned.scenario == replace(scenario, fixes=fixes)
        assert (planned.duration_s, planned.interval_s) == (600.0, 10.0)  # the rest as given


def test_an_effect_is_the_difference_with_its_halves_in_quadrature_and_its_share_of_the_baseline():
    found = effect(growth(1.0, 0.3), growth(0.5, 0.4))
    assert found == {
        "removed_bytes_per_min": pytest.approx(0.5 * MB),
        "removed_ci_low_bytes_per_min": pytest.approx(0.0),  # 0.5 - hypot(0.3, 0.4)
        "removed_ci_high_bytes_per_min": pytest.approx(1.0 * MB),
        "negligible": False,
        "measurable": False,  # its low end is zero: not clear of it
        "percent": pytest.approx(50.0),
        "percent_ci": (pytest.approx(0.0, abs=1e-9), pytest.approx(100.0)),
    }
    clear = effect(growth(1.0, 0.1), growth(0.5, 0.1))
    assert clear["measurable"] and not clear["negligible"]
    assert clear["percent_ci"] == (
        pytest.approx(50 - 100 * 0.1 * 2**0.5),
        pytest.approx(50 + 100 * 0.1 * 2**0.5),
    )
    adds = effect(growth(0.5, 0.1), growth(1.0, 0.1))  # grows faster than the baseline
    assert adds["measurable"] and adds["removed_bytes_per_min"] == pytest.approx(-0.5 * MB)


def test_an_effect_on_a_baseline_that_does_not_grow_has_no_percentage_and_an_unbounded_one_no_claim():
    flat = effect(growth(0.0, 0.1), growth(-1.0, 0.1))
    assert (flat["percent"], flat["percent_ci"], flat["negligible"]) == (None, None, False)
    assert flat["measurable"]
    assert effect_text({"effect": flat}) == "changes growth by -1 MB/min"
    shrinking = effect(growth(-1.0, 0.1), growth(-0.5, 0.1))
    assert shrinking["percent"] is None and shrinking["measurable"] and not shrinking["negligible"]
    unbounded = {
        "slope_bytes_per_min": 0.5 * MB,
        "ci_low_bytes_per_min": -np.inf,
        "ci_high_bytes_per_min": np.inf,
    }
    found = effect(growth(1.0, 0.1), unbounded)
    assert (found["percent"], found["percent_ci"], found["negligible"], found["measurable"]) == (
        None, None, False, False,
    )  # fmt: skip


def test_each_effect_reads_as_what_it_removes_or_why_it_says_nothing():
    assert effect_text({"effect": effect(growth(1.0, 0.1), growth(0.5, 0.1))}) == (
        "removes 50 % (95 % CI 36 to 64 %)"
    )
    assert (
        effect_text({"effect": effect(growth(1.0, 0.3), growth(0.5, 0.4))})
        == "no measurable effect in this run"
    )
    other = {"effect": {**effect(growth(1.0, 0.1), growth(1.5, 0.1)), "comparable": False}}
    assert effect_text(other) == "+0.5 MB/min against the baseline, a different scenario: not a fix's effect"


def effect_entry(label: str, removed_mb: float, half_mb: float) -> dict:
    removed = {
        "removed_bytes_per_min": removed_mb * MB,
        "removed_ci_low_bytes_per_min": (removed_mb - half_mb) * MB,
        "removed_ci_high_bytes_per_min": (removed_mb + half_mb) * MB,
        "measurable": removed_mb - half_mb > 0,
    }
    return {"label": label, "effect": removed}


def test_the_weightiest_fix_is_named_only_when_its_effect_stands_apart_from_every_other():
    apart = [effect_entry("caps only", 0.1, 0.05), effect_entry("oi_cap only", 0.9, 0.1),
             effect_entry("cleanup only", 0.2, 0.1)]  # fmt: skip
    assert weightiest_fix(apart) == " Alone, oi_cap carries the most weight."
    overlapping = [effect_entry("caps only", 0.7, 0.2), effect_entry("oi_cap only", 0.9, 0.1)]
    assert weightiest_fix(overlapping) == (
        " No single fix stands apart from the others in this run: their effects' intervals overlap "
        "(run longer with --minutes or repeat with --repeat to separate them)."
    )
    touching = [effect_entry("caps only", 0.6, 0.2), effect_entry("oi_cap only", 0.9, 0.1)]  # 0.8 = 0.8
    assert weightiest_fix(touching).startswith(" No single fix stands apart")
    unmeasurable_best = [effect_entry("caps only", 0.1, 0.05), effect_entry("oi_cap only", 0.9, 0.95)]
    assert weightiest_fix(unmeasurable_best).startswith(" No single fix stands apart")
    unknown = effect_entry("cleanup only", 0.0, 0.0)
    unknown["effect"]["removed_ci_high_bytes_per_min"] = np.inf  # too few teeth to measure
    assert weightiest_fix([*apart[:2], unknown]) == (
        " Alone, oi_cap carries the most weight of the fixes whose effect could be measured "
        "(cleanup: not in this run)."
    )
    # One fix alone, or only one that could be measured: nothing to rank it against.
    assert weightiest_fix([effect_entry("oi_cap only", 0.9, 0.1)]) == ""
    assert weightiest_fix([apart[1], unknown]).startswith(" No single fix stands apart")
    assert weightiest_fix([{"label": "all fixes", "effect": apart[1]["effect"]}, apart[0]]) == ""
    assert weightiest_fix([{**apart[1], "effect": None}, apart[0]]) == ""


def headline_entry(label: str, slope_mb: float, short: str, **fields) -> dict:
    return {"label": label, "growth": growth(slope_mb, 0.01), "verdict_short": short, "verdict": short,
            "fixes": [], **fields}  # fmt: skip


def test_the_headline_gives_each_rate_verdict_and_effect_and_what_the_model_explains():
    base = headline_entry("fixes off", 2.2, "LEAK", pace="fast", to_limit="~2,700 min")
    fixed = headline_entry("all fixes", 0.0, "STABLE", fixes=list(FIXES))
    fixed["effect"] = effect(base["growth"], fixed["growth"])
    wide = headline_entry("caps only", 2.0, "LEAK", fixes=["caps"])
    wide["effect"] = effect(base["growth"], growth(2.0, 0.5))
    comparison = {
        "runs": [base, fixed, wide],
        "reference": {"growth_bytes_per_min": 220 * MB},
        "warnings": [
            "the runs differ in seed (a: 1, b: 2): differences between them are not the fixes' alone"
        ],
    }
    assert comparison_headline(comparison) == (
        "fixes off: 2.2 MB/min (LEAK); all fixes: 0 MB/min (STABLE, removes 100 % (95 % CI 99 to 101 %)); "
        "caps only: 2 MB/min (LEAK, no measurable effect in this run). Where there is no measurable "
        "effect, a longer run (--minutes) or more replicates (--repeat) would resolve it. The incident "
        "observed 220 MB/min; the baseline model explains 1.0% of it. Warning: the runs differ in seed "
        "(a: 1, b: 2): differences between them are not the fixes' alone."
    )


def test_a_headline_without_a_reference_or_warnings_ends_with_its_verdicts():
    base = headline_entry("fixes off", 0.0, "STABLE")
    fixed = headline_entry("all fixes", 0.0, "STABLE", fixes=list(FIXES))
    fixed["effect"] = effect(base["growth"], growth(0.0, 0.01))
    fixed["effect"]["negligible"] = True  # proven within ±10 %: no call for a longer run
    assert comparison_headline({"runs": [base, fixed], "reference": {"growth_bytes_per_min": 0}}) == (
        "fixes off: 0 MB/min (STABLE); all fixes: 0 MB/min (STABLE, no effect beyond ±10% of the "
        "baseline's growth). With every fix off the model already meets the report's own criterion "
        "growth < 50 MB/h."
    )
    slow = headline_entry("fixes off", 0.2, "LEAK, slow", pace="slow", to_limit="~9,000 min")
    assert comparison_headline({"runs": [slow]}) == (
        "fixes off: 0.2 MB/min (LEAK, slow). With every fix off the model passes the report's own "
        "criterion growth < 50 MB/h, and still grows without bound (to the limit: ~9,000 min)."
    )
    slow_with_fixes = {**slow, "fixes": ["caps"]}
    assert comparison_headline({"runs": [slow_with_fixes]}) == "fixes off: 0.2 MB/min (LEAK, slow)."
    stable_with_fixes = {**base, "fixes": ["caps"]}
    assert comparison_headline({"runs": [stable_with_fixes]}) == "fixes off: 0 MB/min (STABLE)."


def test_the_conclusion_is_each_variants_claim_and_what_its_fix_does_in_words():
    base = headline_entry("fixes off", 2.2, "LEAK")
    removes = {
        **headline_entry("all fixes", 0.0, "STABLE"),
        "effect": effect(base["growth"], growth(0.0, 0.01)),
    }
    adds = {**headline_entry("caps only", 3.0, "LEAK"), "effect": effect(base["growth"], growth(3.0, 0.01))}
    nothing = {
        **headline_entry("oi_cap only", 2.2, "LEAK"),
        "effect": effect(base["growth"], growth(2.2, 1.0)),
    }
    unlike = {**effect(base["growth"], growth(9.0, 0.01)), "comparable": False, "measurable": False}
    other = {**headline_entry("replay", 9.0, "LEAK"), "effect": unlike}
    assert conclusion({"runs": [base, removes, adds, nothing, other]}) == (
        "fixes off LEAK; all fixes no leak proven, under the stable bound, removes growth; caps only LEAK, "
        "adds growth; oi_cap only LEAK, no measurable effect; replay LEAK, a different scenario. No single "
        "fix stands apart from the others in this run: their effects' intervals overlap (run longer with "
        "--minutes or repeat with --repeat to separate them)."
    )
    assert conclusion({"runs": [base]}) == "fixes off LEAK."


def test_runs_that_differ_in_a_setting_are_warned_of_by_name_and_value():
    runs = [
        {"label": "a", "meta": {"scenario": {"name": "smoke", "scale": 1.0}, "seed": 1, "duration_s": 60.0}},
        {"label": "b", "meta": {"scenario": {"name": "smoke", "scale": 0.5}, "seed": 2, "duration_s": 60.0}},
    ]
    assert mismatch_warnings(runs) == [
        "the runs differ in scale (a: 1.0, b: 0.5): differences between them are not the fixes' alone",
        "the runs differ in seed (a: 1, b: 2): differences between them are not the fixes' alone",
    ]
    runs[1]["meta"].update(scenario={"name": "incident", "scale": 1.0}, seed=1, duration_s=120.0)
    assert mismatch_warnings(runs) == [
        "the runs differ in scenario (a: smoke, b: incident): differences between them are not the "
        "fixes' alone",
        "the runs differ in duration (a: 60.0, b: 120.0): differences between them are not the fixes' alone",
    ]
    assert mismatch_warnings([runs[0], {**runs[0], "label": "c"}]) == []


def test_a_comparison_lists_each_run_and_the_baseline_has_no_effect_of_its_own():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(2)]
    fixed = run_of("all fixes", 0.0, 5, fixes=list(FIXES))
    runs[1]["summary"].update(peak_rss_bytes=9e9, criteria_passed=False)
    comparison = summarize_comparison([*runs, fixed])
    base, other = comparison["runs"]
    assert (base["label"], base["replicates"], other["replicates"]) == ("fixes off", 2, 1)
    assert base["run_dir"] == "/runs/fixes off-0" and base["run_dirs"] == [
        "/runs/fixes off-0",
        "/runs/fixes off-1",
    ]
    assert (base["effect"], base["reduction_percent"]) == (None, None)
    assert other["effect"] == effect(base["growth"], other["growth"])
    assert other["reduction_percent"] == other["effect"]["percent"] and other["fixes"] == list(FIXES)
    assert base["replicate_verdicts"] == [r["summary"]["verdict"] for r in runs]
    assert base["peak_rss_bytes"] == 9e9  # the highest of its replicates
    assert (base["criteria_passed"], other["criteria_passed"], comparison["criteria_passed"]) == (
        False,
        True,
        False,
    )
    first = runs[0]["summary"]
    for key in ("final_rss_bytes", "exit_reason", "explained_fraction", "cost"):
        assert base[key] == first.get(key), key
    assert base["criteria"] == first.get("criteria", [])
    assert (comparison["baseline"], comparison["replicates"], comparison["warnings"]) == ("fixes off", 2, [])
    assert comparison["reference"] == first.get("reference")
    assert comparison["thresholds"] == first.get("thresholds")
    assert comparison["headline"] == comparison_headline(comparison)
    assert comparison["conclusion"] == conclusion(comparison)


def test_replicates_are_grouped_by_label_and_other_runs_stay_apart_in_their_order():
    runs = [run_of("a", 0.0, 0, replicate=1), run_of("b", 0.0, 1), run_of("a", 0.0, 2, replicate=2),
            run_of("b", 0.0, 3)]  # fmt: skip
    comparison = summarize_comparison(runs)
    assert [(e["label"], e["run_dirs"]) for e in comparison["runs"]] == [
        ("a", ["/runs/a-0", "/runs/a-2"]), ("b", ["/runs/b-1"]), ("b", ["/runs/b-3"]),
    ]  # fmt: skip


def test_replicates_take_their_majority_shape_or_mixed_and_the_widest_whole_interval():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(3)]
    shapes = ["linear", "stairs", "linear"]
    for run, shape, high in zip(runs, shapes, (1.0, 3.0, 2.0), strict=True):
        run["summary"]["growth"].update(shape=shape, whole_ci_high_bytes_per_min=high)
    pooled = summarize_comparison(runs)["runs"][0]["growth"]
    assert (pooled["shape"], pooled["whole_ci_high_bytes_per_min"]) == ("linear", 3.0)
    runs[2]["summary"]["growth"]["shape"] = "sawtooth"
    assert summarize_comparison(runs)["runs"][0]["growth"]["shape"] == "mixed"
    del runs[1]["summary"]["growth"]["whole_ci_high_bytes_per_min"]  # an older run
    assert summarize_comparison(runs)["runs"][0]["growth"]["whole_ci_high_bytes_per_min"] == np.inf
    tie = runs[:2]
    assert summarize_comparison(tie)["runs"][0]["growth"]["shape"] == "mixed"  # one each


def test_pooled_replicates_judged_mixed_are_judged_as_linear_growth():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(2)]
    runs[0]["summary"]["growth"]["shape"], runs[1]["summary"]["growth"]["shape"] = "linear", "stairs"
    mixed = summarize_comparison(runs)["runs"][0]
    for run in runs:
        run["summary"]["growth"]["shape"] = "linear"
    linear = summarize_comparison(runs)["runs"][0]
    assert mixed["growth"]["shape"] == "mixed"
    assert {k: mixed[k] for k in ("verdict", "verdict_label", "pace", "verdict_reason")} == {
        k: linear[k] for k in ("verdict", "verdict_label", "pace", "verdict_reason")
    }


def test_pooled_replicates_are_judged_against_the_runs_own_stable_bound():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(2)]
    assert summarize_comparison(runs)["runs"][0]["pace"] == "slow"  # 20 MB/h, under 50 MB/h
    for run in runs:
        run["summary"]["stable_bound_bytes_per_min"] = 1000.0  # 60 kB/h: 20 MB/h is far past it
    assert summarize_comparison(runs)["runs"][0]["pace"] == "fast"


@pytest.fixture(scope="module")
def baseline_comparison(tmp_path_factory) -> dict:
    """Fixes off and all on, two simulated minutes each, side by side, and their comparison."""
    path = tmp_path_factory.mktemp("baseline") / "comparison"
    options = SoakOptions(
        scenario=load_scenario("smoke"), duration_s=120.0, interval_s=10.0, probe_interval_s=0.0
    )
    sampled, done = [], []
    results = run_baseline_comparison(
        options,
        ablation=False,
        jobs=2,
        comparison_dir=RunDir.create("compare", "baseline", path),
        on_sample=lambda plan, sample: sampled.append((plan.variant, plan.out, sample.t_sim_s)),
        on_done=lambda plan: done.append((plan.variant, plan.out)),
    )
    run_dirs = [result.run_dir for result in results]
    comparison = render_comparison(RunDir(path), run_dirs)
    return {"path": path, "results": results, "sampled": sampled, "done": done, "comparison": comparison}


def test_a_baseline_comparison_runs_each_variant_into_its_own_folder_of_the_comparison(baseline_comparison):
    path = baseline_comparison["path"]
    results = baseline_comparison["results"]
    assert [(r.run_dir.path, r.exit_reason, r.samples) for r in results] == [
        (path / "baseline", "completed", 13), (path / "all-fixes", "completed", 13),
    ]  # fmt: skip
    metas = [r.run_dir.read_meta() for r in results]
    assert [(m["variant"], m["fixes"], m["replicate"]) for m in metas] == [
        ("fixes off", [], None), ("all fixes", sorted(FIXES), None),
    ]  # fmt: skip
    # Progress comes from each run with its plan; each plan knows where its run is written.
    assert sorted(set(baseline_comparison["done"])) == [
        ("all fixes", path / "all-fixes"),
        ("fixes off", path / "baseline"),
    ]
    for variant, folder in (("fixes off", path / "baseline"), ("all fixes", path / "all-fixes")):
        times = [t for v, out, t in baseline_comparison["sampled"] if (v, out) == (variant, folder)]
        assert times == [k * 10.0 for k in range(13)]
    # Rendered with each run's own report (one test: mutmut maps a test to the code its own run
    # calls, and only the first test of a module's shared run makes it).
    comparison = baseline_comparison["comparison"]
    for run in ("baseline", "all-fixes"):
        assert {"summary.json", "memory.png", "report.html"} <= {p.name for p in (path / run).iterdir()}
    assert [e["label"] for e in comparison["runs"]] == ["fixes off", "all fixes"]
    assert comparison["meta_overrides"] is None and comparison["comparison_dir"] == str(path)
    assert datetime.fromisoformat(comparison["rendered_at"]).utcoffset().total_seconds() == 0
    assert json.loads((path / "comparison.json").read_text())["rendered_at"] == comparison["rendered_at"]


def test_a_saved_baseline_comparison_is_read_back_from_a_copy(baseline_comparison, tmp_path):
    path = baseline_comparison["path"]
    assert is_comparison(path) and not is_comparison(path / "baseline")
    assert [run.path for run in comparison_runs(path)] == [path / "baseline", path / "all-fixes"]
    copy = tmp_path / "copied"
    shutil.copytree(path, copy)  # the runs are found inside the copy, not where they were made
    assert [run.path for run in comparison_runs(copy)] == [copy / "baseline", copy / "all-fixes"]
    assert [run.path for run in collect_runs([copy])] == [copy / "all-fixes", copy / "baseline"]


def test_saved_runs_are_given_directly_or_found_one_level_below_a_folder(baseline_comparison, tmp_path):
    path = baseline_comparison["path"]
    assert [run.path for run in collect_runs([path / "baseline", path / "all-fixes"])] == [
        path / "baseline", path / "all-fixes",
    ]  # fmt: skip
    with pytest.raises(UsageError) as raised:
        collect_runs([tmp_path / "nowhere"])
    assert (
        raised.value.message
        == f"{tmp_path / 'nowhere'} is not a directory: give run directories under reports/"
    )
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(UsageError) as raised:
        collect_runs([tmp_path / "empty"])
    assert raised.value.message == (
        f"no runs found in {tmp_path / 'empty'}: it holds no samples.csv and meta.json, "
        "nor subdirectories that do"
    )
    with pytest.raises(UsageError) as raised:
        collect_runs([path / "baseline"])
    assert (
        raised.value.message == "compare needs at least two runs: give two run directories, or use --baseline"
    )
    watch = tmp_path / "watch"
    shutil.copytree(path / "baseline", watch)
    meta = json.loads((watch / "meta.json").read_text())
    (watch / "meta.json").write_text(json.dumps({**meta, "command": "watch"}))
    with pytest.raises(UsageError) as raised:
        collect_runs([path / "baseline", watch])
    assert raised.value.message == (
        "mismatched run types (soak, watch): compare soak runs with soak runs and watch runs with watch runs"
    )


def test_a_saved_comparison_without_its_list_of_runs_is_refused(tmp_path):
    (tmp_path / "comparison.json").write_text('{"baseline": "fixes off"}')
    with pytest.raises(NotARunFile, match="no list of runs"):
        comparison_runs(tmp_path)


def test_no_jobs_or_no_replicates_are_refused_before_anything_runs(tmp_path):
    options = SoakOptions(scenario=load_scenario("smoke"), duration_s=60.0)
    out = RunDir.create("compare", "refused", tmp_path / "comparison")
    with pytest.raises(UsageError) as raised:
        run_baseline_comparison(options, ablation=False, jobs=0, comparison_dir=out)
    assert raised.value.message == "--jobs must be at least 1, got 0"
    with pytest.raises(UsageError) as raised:
        run_baseline_comparison(options, ablation=False, jobs=1, comparison_dir=out, repeat=0)
    assert raised.value.message == "--repeat must be at least 1, got 0"
    assert not (tmp_path / "comparison" / "baseline").exists()
    assert default_jobs() == os.cpu_count()


def test_saved_runs_compared_under_other_settings_are_named_by_variant_label_or_folder(tmp_path):
    run_dirs = [
        saved_soak(tmp_path / "a", "smoke", 2 * MB, 0, variant="fixes off"),
        saved_soak(tmp_path / "b", "smoke-caps", 0.0, 1),
        saved_soak(tmp_path / "c", "", 0.0, 2),
    ]
    out = RunDir.create("compare", "saved", tmp_path / "comparison")
    overrides = {"expect": ["growth<50MB/h"]}
    comparison = render_comparison(out, run_dirs, finish_runs=False, meta_overrides=overrides)
    assert [e["label"] for e in comparison["runs"]] == ["fixes off", "smoke-caps", "c"]
    assert comparison["meta_overrides"] == overrides
    assert [[c["text"] for c in e["criteria"]] for e in comparison["runs"]] == [["growth<50MB/h"]] * 3
    assert [e["criteria_passed"] for e in comparison["runs"]] == [False, True, True]
    assert comparison["criteria_passed"] is False
    assert not (tmp_path / "a" / "summary.json").exists()  # saved runs are read, never rewritten
    assert json.loads((tmp_path / "a" / "meta.json").read_text())["expect"] == []


def test_a_comparison_saved_before_replicates_or_of_runs_kept_elsewhere_is_read_back(tmp_path):
    kept = [saved_soak(tmp_path / "kept" / name, name, 0.0, k) for k, name in enumerate(("x", "y"))]
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "comparison.json").write_text(
        json.dumps({"runs": [{"run_dir": str(kept[0].path)}, {"run_dir": str(kept[1].path), "run_dirs": []}]})
    )
    assert [run.path for run in comparison_runs(tmp_path / "cmp")] == [kept[0].path, kept[1].path]
    (tmp_path / "cmp" / "comparison.json").write_text('{"runs": {"run_dir": "x"}}')
    with pytest.raises(NotARunFile, match="no list of runs"):
        comparison_runs(tmp_path / "cmp")
    (tmp_path / "cmp" / "comparison.json").write_text("[]")
    with pytest.raises(NotARunFile, match="no list of runs"):
        comparison_runs(tmp_path / "cmp")


def test_runs_of_one_scenario_at_different_scales_are_not_read_as_a_fix():
    other_scale = run_of("all fixes", 0.0, 1, fixes=list(FIXES))
    other_scale["meta"]["scenario"] = {"name": "incident", "scale": 0.5}
    comparison = summarize_comparison([run_of("fixes off", 20 * MB / 60, 0), other_scale])
    assert comparison["runs"][1]["effect"]["comparable"] is False
    assert comparison["warnings"] == [
        "the runs differ in scale (fixes off: 1.0, all fixes: 0.5): differences between them are not "
        "the fixes' alone"
    ]


def test_a_single_run_keeps_its_own_verdict_label_and_a_run_without_a_peak_counts_none():
    run = run_of("fixes off", 20 * MB / 60, 0)
    run["summary"]["peak_rss_bytes"] = None  # a summary that could not tell
    entry = summarize_comparison([run])["runs"][0]
    assert entry["verdict_label"] == run["summary"]["verdict_label"] == "LEAK (slow: under the 50 MB/h bound)"
    assert entry["verdict_short"] == run["summary"]["verdict_short"] == "LEAK, slow"
    assert entry["pace"] == "slow" and entry["peak_rss_bytes"] == 0


def test_an_interrupted_comparison_starts_no_queued_run_and_leaves_only_the_run_that_sampled(tmp_path):
    # One job, two replicates: baseline-r1 runs, three more wait. SIGTERM (Ctrl-C's twin) at
    # baseline-r1's third sample, to the main thread, where Python runs signal handlers.
    path = tmp_path / "comparison"
    options = SoakOptions(
        scenario=load_scenario("smoke"), duration_s=3600.0, interval_s=10.0, probe_interval_s=0.0
    )

    def interrupt_at_the_third(plan, sample) -> None:
        if plan.out.name == "baseline-r1" and sample.t_sim_s == 20.0:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    results = run_baseline_comparison(
        options,
        ablation=False,
        jobs=1,
        repeat=2,
        comparison_dir=RunDir.create("compare", "interrupted", path),
        on_sample=interrupt_at_the_third,
    )
    [result] = results
    assert (result.run_dir.path, result.exit_reason) == (path / "baseline-r1", "interrupted")
    assert 3 <= result.samples < 361  # the samples until the stop reached it, never the whole hour
    assert sorted(p.name for p in path.iterdir() if p.is_dir()) == ["baseline-r1"]  # no empty folder left


def finished(result: SoakResult | None) -> Future:
    future = Future()
    future.set_running_or_notify_cancel()
    future.set_result(result)
    return future


def test_an_interrupt_before_the_baseline_sampled_leaves_nothing_to_compare_and_goes_on(tmp_path):
    comparison = RunDir.create("compare", "x", tmp_path / "comparison")
    baseline, fixed = (
        RunDir.create("soak", name, comparison.path / name) for name in ("baseline", "all-fixes")
    )
    for run_dir in (baseline, fixed):
        run_dir.write_meta({"command": "soak"})
        (run_dir.path / "target.log").write_text("")
    fixed.file("samples.csv").write_text("t_sim_s,rss_bytes\n0.0,1\n")
    futures = [
        finished(SoakResult(baseline, "interrupted", samples=0)),  # stopped as it started
        finished(SoakResult(fixed, "interrupted", samples=1)),
    ]
    with pytest.raises(KeyboardInterrupt):
        _what_the_interrupt_left(futures, [baseline, fixed], [baseline.path])
    assert not baseline.path.exists()  # nothing sampled, nothing kept
    assert fixed.file("samples.csv").exists()  # what was sampled stays


def test_a_queued_run_is_cancelled_and_its_folder_removed_and_the_sampled_baseline_is_what_is_left(tmp_path):
    comparison = RunDir.create("compare", "x", tmp_path / "comparison")
    baseline, queued, mine = (
        RunDir.create("soak", n, comparison.path / n) for n in ("baseline", "q", "mine")
    )
    baseline.file("samples.csv").write_text("t_sim_s,rss_bytes\n0.0,1\n")
    (mine.path / "notes.txt").write_text("not leakhunt's")  # a folder holding anything else stays
    waiting = Future()  # still queued: cancel() succeeds
    done = finished(SoakResult(baseline, "interrupted", samples=1))
    assert _what_the_interrupt_left([done, waiting], [baseline, queued, mine], [baseline.path]) == [
        done.result()
    ]
    assert waiting.cancelled() and not queued.path.exists()
    assert sorted(p.name for p in mine.path.iterdir()) == ["notes.txt"]


def test_a_group_ends_as_its_first_replicate_that_did_not_complete():
    runs = [run_of("fixes off", 20 * MB / 60, seed, replicate=seed + 1) for seed in range(3)]
    assert summarize_comparison(runs)["runs"][0]["exit_reason"] == "completed"
    runs[1]["summary"]["exit_reason"] = "interrupted"
    runs[2]["summary"]["exit_reason"] = "limit_hit"
    assert summarize_comparison(runs)["runs"][0]["exit_reason"] == "interrupted"


def test_any_replicate_of_the_baseline_that_sampled_is_enough_to_compare_against(tmp_path):
    comparison = RunDir.create("compare", "x", tmp_path / "comparison")
    first, second = (RunDir.create("soak", n, comparison.path / n) for n in ("baseline-r1", "baseline-r2"))
    second.file("samples.csv").write_text("t_sim_s,rss_bytes\n0.0,1\n")
    unsampled = finished(SoakResult(first, "interrupted", samples=0))
    sampled = finished(SoakResult(second, "interrupted", samples=1))
    left = _what_the_interrupt_left([unsampled, sampled], [first, second], [first.path, second.path])
    assert left == [sampled.result()] and not first.path.exists()
