"""summary.json of one run: growth, verdict, criteria, and the incident's reference figures.

Everything here is computed from a run directory's files alone, so a run copied from a server
or interrupted half-way is summarised exactly as a live one.
"""

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from leakhunt.analysis.attribution import what_grows
from leakhunt.analysis.criteria import evaluate, gate_passes, parse_expect
from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.restarts import (
    curve_reading,
    curve_restarts,
    event_restarts,
    fit_segments,
    fresh_start_text,
    fresh_start_to_limit_min,
    segment_start_bytes,
)
from leakhunt.analysis.verdict import (
    NEGLIGIBLE_BYTES_PER_MIN,
    STABLE_BOUND_BYTES_PER_MIN,
    judge,
    limit_text,
)
from leakhunt.units import format_mb

MB = 1e6
# Why a run that stopped here did not cover what it was asked to: its criteria are not proven.
_EARLY_ENDS = {
    "target_exited": "the target exited before the end",
    "connection_lost": "the connection was lost before the end",
}


def ended_early(meta: dict[str, Any], covered_s: float) -> str | None:
    """Why the run did not cover its planned span, or None when it did (or had none planned)."""
    reason = meta.get("exit_reason")
    if reason in _EARLY_ENDS:
        return f"{_EARLY_ENDS[reason]} ({covered_s / 60:.1f} min covered)"
    if reason in ("interrupted", "running") and meta.get("duration_s"):
        how = "interrupted" if reason == "interrupted" else "cut short"
        return f"the run was {how} at {covered_s / 60:.1f} of {meta['duration_s'] / 60:g} min"
    return None


def _limit_hit_at_s(meta: dict[str, Any]) -> float | None:
    hits = [e for e in meta.get("events", []) if e.get("kind") == "limit_hit"]
    if not hits:
        return None
    return hits[0].get("t_sim_s", hits[0].get("t_wall_s"))


def _explained(reference: dict[str, Any] | None, slope_bytes_per_min: float) -> dict[str, Any] | None:
    if not reference:
        return None
    reference_rate = reference["growth_bytes_per_min"]
    return {
        "growth_bytes_per_min": reference_rate,
        "baseline_bytes": reference["baseline_bytes"],
        "crash_after_s": reference.get("crash_after_s"),
        "explained_fraction": slope_bytes_per_min / reference_rate if reference_rate else None,
    }


def headline(meta: dict[str, Any], summary: dict[str, Any]) -> str:
    """One sentence a user reads first; for incident scenarios it puts the model beside the report."""
    # summary.json files written before verdict labels carry the bare verdict only.
    text = f"{summary.get('verdict_label') or summary['verdict']}: RSS {summary['verdict_reason']}."
    reference = summary.get("reference")
    if reference and reference.get("explained_fraction") is not None:
        fraction = reference["explained_fraction"]
        scenario = meta.get("scenario") or {}
        scale = scenario.get("scale", 1.0)
        text += f" The incident observed {reference['growth_bytes_per_min'] / MB:.0f} MB/min; "
        if scale == 1.0:
            text += f"this model explains {fraction:.1%} of it."
        else:
            # The payload scales linearly, so the unscaled rate is the fair comparison.
            text += (
                f"at --scale {scale:g} this model explains {fraction:.1%} of it, "
                f"{fraction / scale:.0%} once scaled back to 1."
            )
        if fraction < 0.5 and not scenario.get("calibrated"):
            text += (
                " The report's literal figures do not reproduce the incident: see "
                "--scenario incident-replay for a model that reaches 220 MB/min and what it "
                "had to assume."
            )
    if not meta.get("fixes") and meta.get("command") == "soak" and summary["verdict"] == "STABLE":
        text += " With every fix off it already meets the report's own criterion growth < 50 MB/h."
    elif not meta.get("fixes") and meta.get("command") == "soak" and summary.get("pace") == "slow":
        text += (
            " With every fix off it passes the report's own criterion growth < 50 MB/h, and still "
            f"grows without bound (to the limit: {summary['to_limit']})."
        )
    if meta.get("exit_reason") == "limit_hit":
        hits = [e["text"] for e in meta.get("events", []) if e.get("kind") == "limit_hit"]
        text += f" {hits[0][0].upper()}{hits[0][1:]}." if hits else ""
    return text


def _segmented_growth(
    t_s: np.ndarray, rss_bytes: np.ndarray, meta: dict[str, Any], axis: str
) -> tuple[Growth, list[int]]:
    """The growth over the stretches between restarts (analysis/restarts.py), and the cuts.

    A soak's target and a live watch's process record every restart as an event: those are the
    cuts. Samples of unknown provenance (a replayed CSV, a run directory written elsewhere) have
    only their curve, and drops it reads as restarts are cuts too, said so in the method."""
    events = meta.get("events") or []
    restart_t_s = [e.get(axis, e.get("t_wall_s")) for e in events if e.get("kind") == "restart"]
    cuts = event_restarts(t_s, [t for t in restart_t_s if t is not None])
    target = meta.get("target") or {}
    recorded = meta.get("command") == "soak" or any(target.get(key) for key in ("pid", "unit", "match"))
    from_curve = [] if cuts or recorded else curve_restarts(rss_bytes)
    if not (cuts or from_curve):
        return fit_growth(t_s, rss_bytes), []
    growth = fit_segments(t_s, rss_bytes, cuts or from_curve)
    if from_curve:
        reading = curve_reading(len(from_curve), "a watch of the service's --unit records restarts")
        growth = replace(growth, method=f"{growth.method}; {reading}")
    return growth, cuts or from_curve


def summarize_run(
    samples: pd.DataFrame, meta: dict[str, Any], summaries: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The contents of summary.json for one run directory's samples and meta."""
    axis = meta.get("time_axis", "t_sim_s")
    t_s = samples[axis].to_numpy(dtype=float)
    rss_bytes = samples["rss_bytes"].to_numpy(dtype=float)
    growth, cuts = _segmented_growth(t_s, rss_bytes, meta, axis)
    limit_bytes = meta.get("memory_limit_bytes")
    final_rss = float(rss_bytes[-1]) if len(rss_bytes) else None
    bound = meta.get("stable_bound_bytes_per_min") or STABLE_BOUND_BYTES_PER_MIN
    judgement = judge(
        growth, stable_bound_bytes_per_min=bound, limit_bytes=limit_bytes, last_rss_bytes=final_rss
    )
    restarted_to_limit_min = None
    if cuts and judgement.verdict == "LEAK":
        restarted_to_limit_min = fresh_start_to_limit_min(
            limit_bytes, segment_start_bytes(rss_bytes, cuts), growth.slope_bytes_per_min
        )
    events = meta.get("events", [])
    restarts = sum(1 for e in events if e.get("kind") == "restart")
    criteria = [parse_expect(text) for text in meta.get("expect", [])]
    span_s = float(t_s[-1] - t_s[0]) if len(t_s) else 0.0
    early = ended_early(meta, span_s)
    results = evaluate(
        criteria, samples, growth, restarts=restarts, uptime_s=meta.get("uptime_s"), ended_early=early
    )
    growth_dict = growth.to_dict()
    growth_dict["fit_start_s"] = growth.warmup_s
    summary: dict[str, Any] = {
        "label": meta.get("label", ""),
        "command": meta.get("command", ""),
        "exit_reason": meta.get("exit_reason"),
        "exit_detail": meta.get("exit_detail"),
        "n_samples": len(samples),
        "span_s": span_s,
        "ended_early": early,
        "growth": growth_dict,
        "verdict": str(judgement.verdict),
        "verdict_label": judgement.label,
        "verdict_short": judgement.short_label,
        "pace": judgement.pace,
        "verdict_reason": judgement.reason,
        "thresholds": (
            f"Verdict thresholds: LEAK when the 95 % CI's low end is above the negligible band "
            f"of {format_mb(min(NEGLIGIBLE_BYTES_PER_MIN, bound) * 60)} MB/h (slow when all of it "
            f"is at or below the stable bound of {format_mb(bound * 60)} MB/h, fast when all of "
            "it is above); STABLE when the whole CI is at or below the bound and holds zero or "
            "lies inside the band; BOUNDED when growth is clear early and gone late (a plateau); "
            "INCONCLUSIVE when there are too few points or the CI is too wide to tell."
        ),
        "method": growth.method,
        "time_to_limit_min": judgement.time_to_limit_min,
        "time_to_limit_range_min": judgement.time_to_limit_range_min,
        "to_limit": limit_text(judgement, limit_bytes=limit_bytes, limit_hit_at_s=_limit_hit_at_s(meta))
        + fresh_start_text(restarted_to_limit_min),
        "restarted_to_limit_min": restarted_to_limit_min,
        "stable_bound_bytes_per_min": bound,
        "memory_limit_bytes": limit_bytes,
        "peak_rss_bytes": int(np.max(rss_bytes)) if len(rss_bytes) else None,
        "final_rss_bytes": int(final_rss) if final_rss is not None else None,
        "max_swap_bytes": int(samples["swap_bytes"].fillna(0).max()) if len(samples) else 0,
        "criteria": [r.to_dict() for r in results],
        "criteria_passed": gate_passes(results, allow_unproven=bool(meta.get("allow_unproven"))),
        "reference": _explained((meta.get("scenario") or {}).get("reference"), growth.slope_bytes_per_min),
        "cost": meta.get("cost"),
        "events": len(events),
    }
    since_s = float(t_s[0]) + growth.warmup_s if len(t_s) else None
    if growth.shape == "plateau" and len(t_s):
        since_s = float(t_s[-1]) - (float(t_s[-1]) - float(t_s[0])) / 3
    summary["attribution"] = what_grows(
        summaries or [],
        meta,
        growth.slope_bytes_per_min,
        judgement.stable_bound_bytes_per_min,
        since_s,
        summary["span_s"],
        verdict=summary["verdict"],
    )
    if summary["reference"]:
        summary["explained_fraction"] = summary["reference"]["explained_fraction"]
    summary["headline"] = headline(meta, summary)
    return summary
