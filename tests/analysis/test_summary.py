"""summary.py: summary.json is computed from a run directory's files alone, and says why a run is
not the whole story (ended early, limit hit) in words a user reads first."""

import numpy as np
import pandas as pd
import pytest

from leakhunt.analysis.restarts import event_restarts, fit_segments
from leakhunt.analysis.summary import ended_early, headline, summarize_run
from leakhunt.analysis.synthetic import service_at_rest
from leakhunt.analysis.verdict import judge

MB = 1e6


def run_samples(minutes: float, slope_bytes_per_min: float, start_s: float = 0.0) -> pd.DataFrame:
    t_s = np.arange(0, minutes * 60 + 1, 5.0)
    rss = 500 * MB + slope_bytes_per_min * t_s / 60 + np.where(np.arange(len(t_s)) % 2, 1e5, -1e5)
    swap = np.zeros(len(t_s))
    swap[3], swap[-1] = 8192, np.nan
    return pd.DataFrame(
        {
            # The wall clock runs 10x slower than the simulated one: the axis decides the slope.
            "t_wall_s": start_s + 10 * t_s,
            "t_sim_s": start_s + t_s,
            "rss_bytes": rss,
            "swap_bytes": swap,
            "cpu_percent": 12.0,
        }
    )


def reference(rate_bytes_per_min: float = 220 * MB) -> dict:
    return {"growth_bytes_per_min": rate_bytes_per_min, "baseline_bytes": 300 * MB, "crash_after_s": 1500.0}


def leaking_meta(**extra) -> dict:
    meta = {
        "label": "fixes off",
        "command": "soak",
        "exit_reason": "limit_hit",
        "exit_detail": "rss over the limit",
        "duration_s": 1800.0,
        "memory_limit_bytes": 2e9,
        "uptime_s": 7200.0,
        "cost": {"cpu_s": 0.5},
        "expect": ["growth<50MB/h", "restarts==0", "uptime>1h"],
        "scenario": {"scale": 1.0, "reference": reference()},
        "events": [
            {"kind": "restart", "t_sim_s": 60.0},
            {"kind": "limit_hit", "t_sim_s": 1500.0, "t_wall_s": 15000.0, "text": "rss reached the limit"},
            {"kind": "limit_hit", "t_sim_s": 1700.0, "text": "second"},
        ],
    }
    meta.update(extra)
    return meta


def test_a_leaking_run_is_summarised_in_full():
    samples = run_samples(30, 22 * MB)
    summary = summarize_run(samples, leaking_meta())
    # The restart recorded at 60 s cuts the fit: the segments are fitted on their own.
    t_s, rss_bytes = samples["t_sim_s"].to_numpy(), samples["rss_bytes"].to_numpy(dtype=float)
    growth = fit_segments(t_s, rss_bytes, event_restarts(t_s, [60.0]))
    assert growth.method.startswith("2 segments between restarts")
    judgement = judge(growth, limit_bytes=2e9, last_rss_bytes=float(samples["rss_bytes"].iloc[-1]))
    assert judgement.verdict == "LEAK"
    expected_growth = {**growth.to_dict(), "fit_start_s": growth.warmup_s}
    expected = {
        "label": "fixes off",
        "command": "soak",
        "exit_reason": "limit_hit",
        "exit_detail": "rss over the limit",
        "n_samples": 361,
        "span_s": 1800.0,
        "ended_early": None,
        "growth": expected_growth,
        "verdict": "LEAK",
        "verdict_label": "LEAK (fast: above the 50 MB/h bound)",
        "verdict_short": "LEAK, fast",
        "pace": "fast",
        "verdict_reason": judgement.reason,
        "thresholds": (
            "Verdict thresholds: LEAK when the 95 % CI's low end is above the negligible band of "
            "2 MB/h (slow when all of it is at or below the stable bound of 50 MB/h, fast when all "
            "of it is above); STABLE when the whole CI is at or below the bound and holds zero or "
            "lies inside the band; BOUNDED when growth is clear early and gone late (a plateau); "
            "INCONCLUSIVE when there are too few points or the CI is too wide to tell."
        ),
        "method": growth.method,
        "time_to_limit_min": judgement.time_to_limit_min,
        "time_to_limit_range_min": judgement.time_to_limit_range_min,
        # A restarted process starts where the one after the restart did, at 60 s.
        "to_limit": "reached at 25.0 min; a restarted process reaches it in ~67 min",
        "restarted_to_limit_min": (2e9 - rss_bytes[12]) / growth.slope_bytes_per_min,
        "stable_bound_bytes_per_min": 50 * MB / 60,
        "memory_limit_bytes": 2e9,
        "peak_rss_bytes": int(samples["rss_bytes"].max()),
        "final_rss_bytes": int(samples["rss_bytes"].iloc[-1]),
        "max_swap_bytes": 8192,
        "criteria_passed": False,
        "reference": {
            "growth_bytes_per_min": 220 * MB,
            "baseline_bytes": 300 * MB,
            "crash_after_s": 1500.0,
            "explained_fraction": growth.slope_bytes_per_min / (220 * MB),
        },
        "cost": {"cpu_s": 0.5},
        "events": 3,
        "explained_fraction": growth.slope_bytes_per_min / (220 * MB),
    }
    criteria = summary.pop("criteria")
    assert summary.pop("attribution")["probes"] == 0  # no probes given: what grows says why
    label = "LEAK (fast: above the 50 MB/h bound)"
    assert summary.pop("headline").startswith(f"{label}: RSS {judgement.reason}.")
    assert summary == expected
    assert judgement.time_to_limit_min is not None and judgement.time_to_limit_min > 0
    assert [(c["text"], c["status"], c["measured"]) for c in criteria] == [
        ("growth<50MB/h", "FAIL", growth.slope_bytes_per_min),
        ("restarts==0", "FAIL", 1.0),
        ("uptime>1h", "PASS", 7200.0),
    ]


def test_the_time_axis_and_the_stable_bound_come_from_the_meta():
    samples = run_samples(30, 22 * MB, start_s=60.0)
    meta = leaking_meta(
        time_axis="t_wall_s", stable_bound_bytes_per_min=5 * MB, allow_unproven=True, expect=[]
    )
    summary = summarize_run(samples, meta)
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(2.2 * MB, rel=0.01)
    assert summary["span_s"] == 18000.0
    assert summary["stable_bound_bytes_per_min"] == 5 * MB
    assert "at or below the stable bound of 300 MB/h" in summary["thresholds"]
    # 132 MB/h, its interval clear of zero and under the 300 MB/h bound: a slow leak, with the time
    # it leaves, and no criterion to fail.
    assert (summary["verdict"], summary["pace"]) == ("LEAK", "slow")
    assert summary["verdict_label"] == "LEAK (slow: under the 300 MB/h bound)"
    left_bytes = 2e9 - summary["final_rss_bytes"]
    assert summary["time_to_limit_min"] == pytest.approx(left_bytes / (2.2 * MB), rel=0.02)
    assert summary["criteria_passed"] is True


def test_unproven_criteria_pass_the_gate_only_when_the_run_allows_it():
    samples = run_samples(0.5, 0.0)  # 7 samples: too few to prove any growth criterion
    meta = leaking_meta(expect=["growth<50MB/h"], exit_reason="completed")
    assert summarize_run(samples, meta)["criteria_passed"] is False
    assert summarize_run(samples, {**meta, "allow_unproven": True})["criteria_passed"] is True


def test_a_run_without_a_limit_hit_event_or_reference_says_so():
    samples = run_samples(30, 0.0)
    samples["swap_bytes"] = np.nan  # swap never read
    meta = {"command": "watch", "exit_reason": "completed", "memory_limit_bytes": 2e9}
    summary = summarize_run(samples, meta)
    assert summary["max_swap_bytes"] == 0
    assert summary["verdict"] == "STABLE"
    assert summary["to_limit"] == "not approaching"
    assert summary["reference"] is None and "explained_fraction" not in summary
    assert summary["label"] == "" and summary["criteria"] == [] and summary["events"] == 0
    assert "this watch had no agent" in summary["attribution"]["statement"]


def test_an_empty_run_is_summarised_as_too_few_points():
    samples = run_samples(1, 0.0).iloc[0:0]
    summary = summarize_run(samples, {}, [probe(0, 0.0), probe(1, 1 * MB)])
    assert summary["command"] == ""
    assert summary["attribution"]["probes"] == 2
    assert summary["verdict"] == "INCONCLUSIVE"
    assert summary["span_s"] == 0.0 and summary["n_samples"] == 0
    assert summary["peak_rss_bytes"] is None and summary["final_rss_bytes"] is None
    assert summary["max_swap_bytes"] == 0


def test_a_run_that_ended_early_proves_none_of_its_passes():
    meta = leaking_meta(exit_reason="interrupted", expect=["uptime>1h"], scenario=None)
    summary = summarize_run(run_samples(10, 0.0), meta)
    assert summary["ended_early"] == "the run was interrupted at 10.0 of 30 min"
    assert summary["criteria"][0]["status"] == "NOT PROVEN"


def test_a_reference_without_a_rate_explains_no_fraction():
    meta = leaking_meta(scenario={"reference": reference(0.0)})
    assert summarize_run(run_samples(30, 22 * MB), meta)["reference"]["explained_fraction"] is None


def test_the_limit_hit_falls_back_to_the_wall_clock():
    meta = leaking_meta(events=[{"kind": "limit_hit", "t_wall_s": 600.0, "text": "rss reached the limit"}])
    assert summarize_run(run_samples(30, 22 * MB), meta)["to_limit"] == "reached at 10.0 min"


def probe(t_min: float, heap_bytes: float) -> dict:
    return {"t_sim_s": t_min * 60, "py_heap_bytes": heap_bytes, "probe_s": 0.2, "types": [], "objects": 10}


def test_attribution_covers_the_fitted_part_of_the_run():
    samples = run_samples(30, 22 * MB)
    # The heap grows fast during warm-up (the first 3 minutes) and slowly after it.
    probes = [probe(t, 50 * MB * min(t, 3) + 1 * MB * t) for t in (0, 1, 2, 3, 10, 20, 30)]
    attribution = summarize_run(samples, leaking_meta(), probes)["attribution"]
    assert attribution["since_s"] == 180.0
    assert attribution["gap"]["python_bytes_per_min"] == pytest.approx(1 * MB)


def test_attribution_of_a_plateau_covers_its_last_third():
    # A run whose clock starts at 600 s: the last third starts at 4195 - 3595 / 3 = 2996.7 s.
    t_s = np.arange(600, 4200, 5.0)
    cache = np.minimum(t_s - 600, 1200) / 60 * 5 * MB
    rss = 70 * MB + cache + np.where(np.arange(len(t_s)) % 2, 1e5, -1e5)
    samples = pd.DataFrame({"t_sim_s": t_s, "rss_bytes": rss, "swap_bytes": 0.0, "cpu_percent": 1.0})
    probes = [
        probe(t_min, 5 * MB * min(t_min, 30)) for t_min in (10, 20, 30, 40, 2993 / 60, 2997 / 60, 60, 70)
    ]
    summary = summarize_run(samples, {"command": "soak"}, probes)
    assert summary["verdict"] == "BOUNDED"
    assert summary["attribution"]["since_s"] == pytest.approx(2997.0)  # the first probe in the last third
    assert summary["attribution"]["gap"]["python_bytes_per_min"] == 0.0


@pytest.mark.parametrize(
    ("meta", "text"),
    [
        ({"exit_reason": "target_exited"}, "the target exited before the end (12.5 min covered)"),
        ({"exit_reason": "connection_lost"}, "the connection was lost before the end (12.5 min covered)"),
        ({"exit_reason": "interrupted", "duration_s": 1800}, "the run was interrupted at 12.5 of 30 min"),
        ({"exit_reason": "running", "duration_s": 1800}, "the run was cut short at 12.5 of 30 min"),
        ({"exit_reason": "interrupted"}, None),
        ({"exit_reason": "completed", "duration_s": 1800}, None),
        ({}, None),
    ],
)
def test_a_run_that_ended_early_says_why_and_how_far_it_got(meta, text):
    assert ended_early(meta, 750.0) == text


def summary_of(verdict: str, fraction: float | None, rate_bytes_per_min: float = 220 * MB) -> dict:
    summary = {"verdict": verdict, "verdict_reason": "grows 1 MB/min", "reference": None}
    if fraction is not None:
        summary["reference"] = {**reference(rate_bytes_per_min), "explained_fraction": fraction}
    return summary


def test_the_headline_puts_the_model_beside_the_incident():
    meta = {"scenario": {"scale": 1.0, "calibrated": ["overlap"]}}
    assert headline(meta, summary_of("LEAK", 0.98)) == (
        "LEAK: RSS grows 1 MB/min. The incident observed 220 MB/min; this model explains 98.0% of it."
    )


def test_a_scaled_model_is_also_compared_once_scaled_back():
    meta = {"scenario": {"scale": 0.1, "calibrated": ["overlap"]}}
    assert headline(meta, summary_of("LEAK", 0.098)) == (
        "LEAK: RSS grows 1 MB/min. The incident observed 220 MB/min; at --scale 0.1 this model "
        "explains 9.8% of it, 98% once scaled back to 1."
    )


def test_an_uncalibrated_model_explaining_under_half_points_to_the_replay():
    pointer = " The report's literal figures do not reproduce the incident: see --scenario incident-replay"
    literal = headline({"scenario": {}}, summary_of("LEAK", 0.0014))
    assert literal == (
        "LEAK: RSS grows 1 MB/min. The incident observed 220 MB/min; this model explains 0.1% of it."
        + pointer
        + " for a model that reaches 220 MB/min and what it had to assume."
    )
    assert pointer not in headline({"scenario": {"calibrated": ["overlap"]}}, summary_of("LEAK", 0.0014))
    assert pointer not in headline({"scenario": {}}, summary_of("LEAK", 0.5))
    assert pointer not in headline({"scenario": {}}, summary_of("LEAK", 0.6))


def test_no_reference_or_an_unknown_fraction_gives_no_comparison():
    assert headline({}, summary_of("LEAK", None)) == "LEAK: RSS grows 1 MB/min."
    summary = summary_of("LEAK", 0.5)
    summary["reference"]["explained_fraction"] = None
    assert headline({}, summary) == "LEAK: RSS grows 1 MB/min."


def test_a_soak_with_every_fix_off_that_is_already_stable_says_it_meets_the_criterion():
    meets = " With every fix off it already meets the report's own criterion growth < 50 MB/h."
    assert headline({"command": "soak"}, summary_of("STABLE", None)) == "STABLE: RSS grows 1 MB/min." + meets
    assert meets not in headline({"command": "soak", "fixes": ["cleanup"]}, summary_of("STABLE", None))
    assert meets not in headline({"command": "watch"}, summary_of("STABLE", None))
    assert meets not in headline({"command": "soak"}, summary_of("LEAK", None))


def test_a_soak_with_every_fix_off_that_leaks_slowly_says_it_passes_the_criterion_and_still_grows():
    summary = {**summary_of("LEAK", None), "verdict_label": "LEAK (slow: under the 50 MB/h bound)"}
    summary.update(pace="slow", to_limit="~18,000 min (range 16,000-20,000 min)")
    text = headline({"command": "soak"}, summary)
    assert text == (
        "LEAK (slow: under the 50 MB/h bound): RSS grows 1 MB/min. With every fix off it passes the "
        "report's own criterion growth < 50 MB/h, and still grows without bound (to the limit: "
        "~18,000 min (range 16,000-20,000 min))."
    )
    assert "still grows" not in headline({"command": "soak", "fixes": ["oi_cap"]}, summary)
    assert "still grows" not in headline({"command": "soak"}, {**summary, "pace": "fast"})


def test_a_headline_from_a_summary_written_before_labels_uses_the_bare_verdict():
    assert headline({}, summary_of("LEAK", None)).startswith("LEAK: RSS")


def test_a_hit_limit_is_told_in_the_headline_as_a_sentence():
    meta = {"exit_reason": "limit_hit", "events": leaking_meta()["events"]}
    assert headline(meta, summary_of("LEAK", None)) == "LEAK: RSS grows 1 MB/min. Rss reached the limit."
    assert headline({"events": meta["events"]}, summary_of("LEAK", None)) == "LEAK: RSS grows 1 MB/min."
    no_event = {"exit_reason": "limit_hit", "events": [{"kind": "restart", "text": "x"}]}
    assert headline(no_event, summary_of("LEAK", None)) == "LEAK: RSS grows 1 MB/min."
    assert headline({"exit_reason": "limit_hit"}, summary_of("LEAK", None)) == "LEAK: RSS grows 1 MB/min."


def restarting_leak(rate_bytes_per_min: float) -> pd.DataFrame:
    """Three processes one after another, each leaking from the same start level for 40 min."""
    pieces = [service_at_rest(seed, rate_bytes_per_min, minutes=40, interval_s=5.0) for seed in range(3)]
    t_s = np.concatenate([t + k * 2405.0 for k, (t, _, _) in enumerate(pieces)])
    rss_bytes = np.concatenate([rss + 300 * MB for _, rss, _ in pieces])
    columns = {"t_wall_s": t_s, "t_sim_s": t_s, "rss_bytes": rss_bytes, "swap_bytes": 0.0, "cpu_percent": 1.0}
    return pd.DataFrame(columns)


def test_samples_of_unknown_provenance_read_drops_to_the_start_level_as_restarts_and_say_so():
    summary = summarize_run(restarting_leak(2 * MB), {"command": "watch", "target": {"replay": "x.csv"}})
    assert (summary["verdict"], summary["pace"]) == ("LEAK", "fast")
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(2 * MB, rel=0.10)
    assert summary["method"].startswith("3 segments between restarts or gaps")
    # With the limit 3 GB: a restarted process climbs from ~300 MB at 2 MB/min, some 1,350 min.
    assert summarize_run(restarting_leak(2 * MB), {"command": "watch", "memory_limit_bytes": 3e9})[
        "restarted_to_limit_min"
    ] == pytest.approx(2.7e9 / (2 * MB), rel=0.1)
    assert summary["method"].endswith(
        "3 segments: 2 drops to the start level or below half read as restarts (a slow cleanup would "
        "look the same; a watch of the service's --unit records restarts to confirm)"
    )


def test_a_live_watch_or_a_soak_trusts_its_recorded_restarts_and_reads_none_from_the_curve():
    samples = restarting_leak(1 * MB)
    for meta in ({"command": "watch", "target": {"unit": "svc"}}, {"command": "soak", "events": []}):
        summary = summarize_run(samples, meta)
        assert "segments" not in summary["method"]  # no restart was recorded: one curve, its drops
    recorded = {"command": "watch", "target": {"unit": "svc"}, "events": [
        {"kind": "restart", "t_wall_s": 2405.0}, {"kind": "restart", "t_wall_s": 4810.0},
    ]}  # fmt: skip
    summary = summarize_run(samples, recorded)
    assert summary["method"].startswith("3 segments between restarts")
    assert "read as restarts" not in summary["method"]
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(1 * MB, rel=0.10)
