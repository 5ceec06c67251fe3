"""`leakhunt compare`: the same seeded feed with the fixes off and on (and each fix alone), or
saved run directories side by side; one comparison directory with every run inside it.

Runs are independent child processes, run in parallel up to `jobs`. Sampling is tied to
simulated time by the barrier, so CPU contention between runs slows them down but does not move
a sample: parallel runs measure the same curve as serial ones (benchmarks/ checks this).
"""

import dataclasses
import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from leakhunt.analysis.growth import Growth
from leakhunt.analysis.student import t_critical_95
from leakhunt.analysis.verdict import STABLE_BOUND_BYTES_PER_MIN, Judgement, judge, limit_text
from leakhunt.errors import UsageError
from leakhunt.runs.soak import TARGET_LOG, SoakOptions, SoakResult, run_soak
from leakhunt.runs.stopper import Stopper, interrupts_stop_runs
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import NotARunFile, RunDir, read_json_file, write_atomic
from leakhunt.sampling.target_server import TargetServer, target_server
from leakhunt.units import format_mb
from leakhunt.workload.names import FIXES

COMPARISON = "comparison.json"
MB = 1e6
NEGLIGIBLE_SHARE = 0.10


@dataclass(frozen=True)
class Variant:
    label: str
    directory: str
    fixes: frozenset[str]


def variants(ablation: bool) -> list[Variant]:
    """Fixes off (the baseline) and all on; with ablation, each fix alone as well."""
    chosen = [
        Variant("fixes off", "baseline", frozenset()),
        Variant("all fixes", "all-fixes", frozenset(FIXES)),
    ]
    if ablation:
        chosen += [Variant(f"{fix} only", f"{fix}-only", frozenset({fix})) for fix in FIXES]
    return chosen


def default_jobs() -> int:
    return os.cpu_count() or 1


def plan_runs(options: SoakOptions, *, ablation: bool, repeat: int) -> list[tuple[str, SoakOptions]]:
    """Each run's directory name and options: every variant `repeat` times.

    Only the first replicate of the fixes-off and all-fixes variants takes heap probes: what
    grows with nothing fixed, and what still grows with every fix. The comparison itself reads
    only the slopes, which the probes were shown not to move (tests/e2e/test_what_grows.py), and
    the probes' walks were over half of an ablation's CPU; a fix alone is judged by its rate."""
    plans = []
    for variant in variants(ablation):
        scenario = replace(options.scenario, fixes=variant.fixes)
        probed = variant.fixes in (frozenset(), frozenset(FIXES))
        for replicate in range(1, repeat + 1):
            name = variant.directory if repeat == 1 else f"{variant.directory}-r{replicate}"
            plans.append((name, replace(
                options,
                scenario=scenario,
                variant=variant.label,
                probe_in_flight=1,
                probe_interval_s=options.probe_interval_s if probed and replicate == 1 else None,
                replicate=replicate if repeat > 1 else None,
            )))  # fmt: skip
    return plans


def run_baseline_comparison(
    options: SoakOptions,
    *,
    ablation: bool,
    jobs: int,
    comparison_dir: RunDir,
    repeat: int = 1,
    on_sample: Callable[[SoakOptions, Sample], None] | None = None,
    on_done: Callable[[SoakOptions], None] | None = None,
) -> list[SoakResult]:
    """Run every variant of `options.scenario` `repeat` times, each into a subdirectory of
    `comparison_dir` (`baseline`, or `baseline-r1`, `baseline-r2` ... when repeated).
    `on_sample(plan, sample)` and `on_done(plan)` report progress, from the worker threads."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {repeat}")
    plans = []
    for name, planned in plan_runs(options, ablation=ablation, repeat=repeat):
        run_dir = RunDir.create("soak", name, comparison_dir.path / name)
        plans.append((replace(planned, out=run_dir.path), run_dir))

    def run_one(
        plan: SoakOptions, run_dir: RunDir, server: TargetServer, stopper: Stopper
    ) -> SoakResult | None:
        if stopper.stopped:
            return None  # queued when Ctrl-C came: never started
        result = run_soak(
            plan,
            run_dir=run_dir,
            on_sample=partial(on_sample, plan) if on_sample else None,
            start_target=server.start,
            stopper=stopper,
        )
        if on_done is not None:
            on_done(plan)
        return result

    # Every run has the seed of options.scenario: one warmed interpreter forks all their targets.
    futures: list[Future[SoakResult | None]] = []
    with (
        target_server(options.scenario.seed, comparison_dir.file("target-server.log")) as server,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        try:
            with interrupts_stop_runs() as stopper:
                for plan, run_dir in plans:
                    futures.append(pool.submit(run_one, plan, run_dir, server, stopper))
                return [result for future in futures if (result := future.result()) is not None]
        except KeyboardInterrupt:
            baseline = [run_dir.path for plan, run_dir in plans if plan.variant == plans[0][0].variant]
            return _what_the_interrupt_left(futures, [run_dir for _, run_dir in plans], baseline)


def _what_the_interrupt_left(
    futures: list[Future[SoakResult | None]], run_dirs: list[RunDir], baseline: list[Path]
) -> list[SoakResult]:
    """After Ctrl-C: every started run was stopped and recorded `interrupted`; those that sampled
    are compared, the folders of those that did not (queued, or stopped as they started) go.
    Without a run of the baseline (`baseline`: its folders) that sampled there is nothing to
    compare against: the interrupt goes on."""
    sampled = []
    for k, run_dir in enumerate(run_dirs):
        future = futures[k] if k < len(futures) else None  # None: interrupted while being queued
        if future is not None and not future.cancel() and (result := future.result()) and result.samples:
            sampled.append(result)
        else:
            run_dir.discard_unsampled(also=(TARGET_LOG,))
    if not any(result.run_dir.path in baseline for result in sampled):
        raise KeyboardInterrupt
    return sampled


def _label_of(run_dir: RunDir, meta: dict[str, Any]) -> str:
    return meta.get("variant") or meta.get("label") or run_dir.path.name


def collect_runs(paths: list[Path]) -> list[RunDir]:
    """Run directories given directly, or found one level below a comparison directory."""
    found: list[RunDir] = []
    for path in paths:
        if not Path(path).is_dir():
            raise UsageError(f"{path} is not a directory: give run directories under reports/")
        candidate = RunDir(path)
        if candidate.is_run():
            found.append(candidate)
            continue
        inner = [RunDir(p) for p in sorted(Path(path).iterdir()) if p.is_dir() and RunDir(p).is_run()]
        if not inner:
            raise UsageError(
                f"no runs found in {path}: it holds no samples.csv and meta.json, nor subdirectories that do"
            )
        found.extend(inner)
    if len(found) < 2:
        raise UsageError("compare needs at least two runs: give two run directories, or use --baseline")
    commands = {run.read_meta().get("command") for run in found}
    if len(commands) > 1:
        raise UsageError(
            f"mismatched run types ({', '.join(sorted(map(str, commands)))}): compare soak runs with "
            "soak runs and watch runs with watch runs"
        )
    return found


def _replicate_groups(runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Replicates of one variant (same label, each with a replicate number) form one group;
    every other run is a group of its own, in the order given."""
    groups: list[list[dict[str, Any]]] = []
    by_label: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run["meta"].get("replicate") and run["label"] in by_label:
            by_label[run["label"]].append(run)
            continue
        groups.append([run])
        if run["meta"].get("replicate"):
            by_label[run["label"]] = groups[-1]
    return groups


def _pooled_growth(group: list[dict[str, Any]]) -> dict[str, Any]:
    """Replicates' mean slope; the interval adds their spread to their own mean half-width.

    Replicates share the seeded feed, so their own intervals are not independent draws and are
    averaged, not pooled; what differs between them (allocator, timing) is the spread, whose
    t-interval over N runs is added in quadrature.
    """
    growths = [run["summary"]["growth"] for run in group]
    if len(group) == 1:
        return dict(growths[0])
    slopes = np.array([g["slope_bytes_per_min"] for g in growths])
    halves = np.array([(g["ci_high_bytes_per_min"] - g["ci_low_bytes_per_min"]) / 2 for g in growths])
    spread = float(t_critical_95(len(slopes) - 1) * slopes.std(ddof=1) / np.sqrt(len(slopes)))
    half = float(np.sqrt(np.mean(halves) ** 2 + spread**2))
    (shape, votes), *others = Counter(g["shape"] for g in growths).most_common()
    pooled = dict(growths[0])
    pooled.update(
        slope_bytes_per_min=float(slopes.mean()),
        ci_low_bytes_per_min=float(slopes.mean()) - half,
        ci_high_bytes_per_min=float(slopes.mean()) + half,
        # The replicates' majority shape: one borderline replicate must not flip the verdict.
        shape=shape if not others or votes > others[0][1] else "mixed",
        replicate_slopes_bytes_per_min=slopes.tolist(),
        whole_ci_high_bytes_per_min=max(g.get("whole_ci_high_bytes_per_min", np.inf) for g in growths),
        replicate_spread_bytes_per_min=spread,
        method=f"mean of {len(slopes)} replicates; interval: their mean half-width and their spread "
        f"(t over {len(slopes)} runs) in quadrature; each: {growths[0]['method']}",
    )
    return pooled


def _judged(growth: dict[str, Any], summary: dict[str, Any]) -> Judgement:
    """The pooled replicates judged as one run is, time to limit from the first one's last RSS."""
    fields = {f.name for f in dataclasses.fields(Growth)}
    shape = growth["shape"] if growth["shape"] != "mixed" else "linear"
    return judge(
        Growth(**{**{k: v for k, v in growth.items() if k in fields}, "shape": shape}),
        stable_bound_bytes_per_min=summary.get("stable_bound_bytes_per_min") or STABLE_BOUND_BYTES_PER_MIN,
        limit_bytes=summary.get("memory_limit_bytes"),
        last_rss_bytes=summary.get("final_rss_bytes"),
    )


def _verdict_fields(group: list[dict[str, Any]], growth: dict[str, Any]) -> dict[str, Any]:
    """A single run's verdict as its summary gives it; replicates' from their pooled growth."""
    summary = group[0]["summary"]
    if len(group) == 1:
        return {
            "verdict": summary["verdict"],
            "verdict_label": summary.get("verdict_label") or summary["verdict"],
            "verdict_short": summary.get("verdict_short") or summary["verdict"],
            "pace": summary.get("pace"),
            "verdict_reason": summary.get("verdict_reason"),
            "time_to_limit_min": summary.get("time_to_limit_min"),
            "to_limit": summary.get("to_limit"),
        }
    judgement = _judged(growth, summary)
    to_limit = summary.get("to_limit") or ""
    if not to_limit.startswith("reached"):
        to_limit = limit_text(judgement, limit_bytes=summary.get("memory_limit_bytes"))
    return {
        "verdict": str(judgement.verdict),
        "verdict_label": judgement.label,
        "verdict_short": judgement.short_label,
        "pace": judgement.pace,
        "verdict_reason": judgement.reason,
        "time_to_limit_min": judgement.time_to_limit_min,
        "to_limit": to_limit,
    }


def effect(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """What a variant removes from the baseline's growth, with the difference's 95 % interval.

    The two runs are measured apart, so the interval's half-widths add in quadrature. The
    percentage is the difference over the baseline's own rate, whose uncertainty its row shows.
    An interval wholly within ±10 % of the baseline's rate is a negligible effect, whatever side
    of zero it falls: a code path a few allocations longer is not a fix, and calling it one would
    flip from rerun to rerun.
    """
    diff = base["slope_bytes_per_min"] - other["slope_bytes_per_min"]
    half = float(
        np.hypot(
            (base["ci_high_bytes_per_min"] - base["ci_low_bytes_per_min"]) / 2,
            (other["ci_high_bytes_per_min"] - other["ci_low_bytes_per_min"]) / 2,
        )
    )
    rate = base["slope_bytes_per_min"]
    margin = NEGLIGIBLE_SHARE * abs(rate)
    negligible = bool(np.isfinite(half) and margin > 0 and -margin < diff - half and diff + half < margin)
    result: dict[str, Any] = {
        "removed_bytes_per_min": diff,
        "removed_ci_low_bytes_per_min": diff - half,
        "removed_ci_high_bytes_per_min": diff + half,
        "negligible": negligible,
        "measurable": bool((diff - half > 0 or diff + half < 0) and not negligible),
        "percent": None,
        "percent_ci": None,
    }
    if rate > 0 and np.isfinite(half):
        result["percent"] = 100.0 * diff / rate
        result["percent_ci"] = (100.0 * (diff - half) / rate, 100.0 * (diff + half) / rate)
    return result


def effect_text(entry: dict[str, Any]) -> str:
    found = entry["effect"]
    if found.get("comparable") is False:
        change = format_mb(-found["removed_bytes_per_min"], signed=True)
        return f"{change} MB/min against the baseline, a different scenario: not a fix's effect"
    if found.get("negligible"):
        return f"no effect beyond ±{NEGLIGIBLE_SHARE:.0%} of the baseline's growth"
    if not found["measurable"]:
        return "no measurable effect in this run"
    if found["percent"] is None:
        return f"changes growth by {format_mb(-found['removed_bytes_per_min'], signed=True)} MB/min"
    low, high = found["percent_ci"]
    return f"removes {found['percent']:.0f} % (95 % CI {low:.0f} to {high:.0f} %)"


_COMPARED_SETTINGS = (
    ("scenario", lambda meta: (meta.get("scenario") or {}).get("name")),
    ("scale", lambda meta: (meta.get("scenario") or {}).get("scale")),
    ("seed", lambda meta: meta.get("seed")),
    ("duration", lambda meta: meta.get("duration_s")),
)


def _scenario_key(meta: dict[str, Any]) -> str:
    scenario = meta.get("scenario") or {}
    return json.dumps([scenario.get("name"), scenario.get("scale")], default=str)


def mismatch_warnings(runs: list[dict[str, Any]]) -> list[str]:
    """Runs that differ in scenario, scale, seed or duration do not measure the same thing."""
    warnings = []
    for name, read in _COMPARED_SETTINGS:
        values = {run["label"]: read(run["meta"]) for run in runs}
        if len({json.dumps(v, default=str) for v in values.values()}) > 1:
            listed = ", ".join(f"{label}: {value}" for label, value in values.items())
            warnings.append(
                f"the runs differ in {name} ({listed}): differences between them are not the fixes' alone"
            )
    return warnings


def summarize_comparison(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """comparison.json from each run's label, meta and summary; the first group is the baseline."""
    groups = _replicate_groups(runs)
    entries = []
    for group in groups:
        first = group[0]
        summary = first["summary"]
        growth = _pooled_growth(group)
        entries.append(
            {
                "label": first["label"],
                "run_dir": str(first["run_dir"].path),
                "run_dirs": [str(run["run_dir"].path) for run in group],
                "replicates": len(group),
                "fixes": first["meta"].get("fixes", []),
                **_verdict_fields(group, growth),
                "replicate_verdicts": [run["summary"]["verdict"] for run in group],
                "growth": growth,
                "peak_rss_bytes": max(run["summary"].get("peak_rss_bytes") or 0 for run in group),
                "final_rss_bytes": summary.get("final_rss_bytes"),
                # A replicate interrupted (or at the limit) ends its group so: never hidden behind the first.
                "exit_reason": next(
                    (reason for run in group if (reason := run["summary"].get("exit_reason")) != "completed"),
                    "completed",
                ),
                "explained_fraction": summary.get("explained_fraction"),
                "criteria": summary.get("criteria", []),
                "criteria_passed": all(run["summary"].get("criteria_passed", True) for run in group),
                "cost": summary.get("cost"),
            }
        )
    base = entries[0]
    scenario_of = {run["label"]: _scenario_key(run["meta"]) for run in runs}
    for entry in entries[1:]:
        entry["effect"] = effect(base["growth"], entry["growth"])
        if scenario_of[entry["label"]] != scenario_of[base["label"]]:
            # A fix's effect is measured against the same model; another scenario's is another curve.
            entry["effect"].update(comparable=False, measurable=False, percent=None, percent_ci=None)
        entry["reduction_percent"] = entry["effect"]["percent"]
    base["effect"], base["reduction_percent"] = None, None
    comparison = {
        "baseline": base["label"],
        "runs": entries,
        "replicates": max(entry["replicates"] for entry in entries),
        "criteria_passed": all(e["criteria_passed"] for e in entries),
        "reference": runs[0]["summary"].get("reference"),
        "thresholds": runs[0]["summary"].get("thresholds"),
        "warnings": mismatch_warnings(runs),
    }
    comparison["headline"] = comparison_headline(comparison)
    comparison["conclusion"] = conclusion(comparison)
    return comparison


def claim(entry: dict[str, Any]) -> str:
    """What a variant's verdict claims, in words a rerun must repeat.

    A LEAK is a claim (growth clear of the negligible band). STABLE, BOUNDED and an INCONCLUSIVE
    whose interval stays under the stable bound all say the same thing a rerun can repeat: no leak
    proven, and under the bound. Which of the three a curve of 1-2 MB/h gets depends on where its
    interval falls against the 2 MB/h band and on whether the last third looks flat, which moves
    from rerun to rerun (measured: the default ablation's fixed variants flipped between the
    three in 3 of 3 rerun sets)."""
    if entry["verdict"] == "LEAK":
        return "LEAK"
    bound = entry.get("stable_bound_bytes_per_min") or STABLE_BOUND_BYTES_PER_MIN
    if entry["growth"]["ci_high_bytes_per_min"] <= bound:
        return "no leak proven, under the stable bound"
    return "INCONCLUSIVE"


def conclusion(comparison: dict[str, Any]) -> str:
    """The headline's claims without its figures: what must not change when a comparison is rerun."""
    entries = comparison["runs"]
    parts = [f"{entries[0]['label']} {claim(entries[0])}"]
    for entry in entries[1:]:
        # A negligible effect (proven within ±10 %) is also no measurable effect: which of the two
        # a rerun shows depends on how narrow its interval came out, a figure, not a claim.
        effect_claim = "removes growth" if entry["effect"]["measurable"] else "no measurable effect"
        if entry["effect"].get("comparable") is False:
            effect_claim = "a different scenario"
        if entry["effect"]["measurable"] and entry["effect"]["removed_bytes_per_min"] < 0:
            effect_claim = "adds growth"
        parts.append(f"{entry['label']} {claim(entry)}, {effect_claim}")
    return "; ".join(parts) + "." + weightiest_fix(entries)


def weightiest_fix(entries: list[dict[str, Any]]) -> str:
    """The single fix whose effect stands apart from every other single fix's, or why none does.

    A fix whose effect could not be measured at all (an infinite interval: a sawtooth of too few
    teeth) is left out of the ranking and named, rather than blocking it."""
    singles = [e for e in entries if e["label"].endswith(" only") and e.get("effect")]
    unknown = [e for e in singles if not np.isfinite(e["effect"]["removed_ci_high_bytes_per_min"])]
    ranked = [e for e in singles if e not in unknown]
    if len(singles) < 2 or not ranked:
        return ""
    best = max(ranked, key=lambda e: e["effect"]["removed_bytes_per_min"])
    low = best["effect"]["removed_ci_low_bytes_per_min"]
    apart = all(low > e["effect"]["removed_ci_high_bytes_per_min"] for e in ranked if e is not best)
    if not (best["effect"]["measurable"] and apart and len(ranked) >= 2):
        return (
            " No single fix stands apart from the others in this run: their effects' intervals "
            "overlap (run longer with --minutes or repeat with --repeat to separate them)."
        )
    text = f" Alone, {best['label'].removesuffix(' only')} carries the most weight"
    if unknown:
        names = ", ".join(e["label"].removesuffix(" only") for e in unknown)
        return text + f" of the fixes whose effect could be measured ({names}: not in this run)."
    return text + "."


def _short(entry: dict[str, Any]) -> str:
    return entry.get("verdict_short") or entry["verdict"]


def comparison_headline(comparison: dict[str, Any]) -> str:
    entries = comparison["runs"]
    base = entries[0]
    base_rate = base["growth"]["slope_bytes_per_min"]
    parts = [f"{base['label']}: {format_mb(base_rate)} MB/min ({_short(base)})"]
    for entry in entries[1:]:
        parts.append(
            f"{entry['label']}: {format_mb(entry['growth']['slope_bytes_per_min'])} MB/min "
            f"({_short(entry)}, {effect_text(entry)})"
        )
    text = "; ".join(parts) + "."
    if any(not (e["effect"]["measurable"] or e["effect"].get("negligible")) for e in entries[1:]):
        text += (
            " Where there is no measurable effect, a longer run (--minutes) or more replicates"
            " (--repeat) would resolve it."
        )
    text += weightiest_fix(entries)
    reference = comparison.get("reference")
    if reference and reference.get("growth_bytes_per_min"):
        fraction = base_rate / reference["growth_bytes_per_min"]
        text += (
            f" The incident observed {reference['growth_bytes_per_min'] / MB:.0f} MB/min; "
            f"the baseline model explains {fraction:.1%} of it."
        )
    if base["verdict"] == "STABLE" and not base["fixes"]:
        text += " With every fix off the model already meets the report's own criterion growth < 50 MB/h."
    elif base.get("pace") == "slow" and not base["fixes"]:
        text += (
            " With every fix off the model passes the report's own criterion growth < 50 MB/h, and "
            f"still grows without bound (to the limit: {base.get('to_limit')})."
        )
    for warning in comparison.get("warnings", []):
        text += f" Warning: {warning}."
    return text


def render_comparison(
    comparison_dir: RunDir,
    run_dirs: list[RunDir],
    *,
    finish_runs: bool = True,
    meta_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write comparison.json, comparison.png and report.html; with `finish_runs`, each run's own
    report too (runs made for this comparison). Saved runs are read, never rewritten."""
    # Imported here: pandas and matplotlib take most of a second, which compare spends on the runs
    # first (its command imports them in a thread meanwhile: runs/warm.py).
    from leakhunt.report.forked import run_all
    from leakhunt.report.html import render_comparison_html
    from leakhunt.report.plots import plot_comparison
    from leakhunt.runs.finish import analyse_run, draw_report, write_summary

    analysed = [write_summary(run_dir) for run_dir in run_dirs] if finish_runs else []
    if finish_runs:
        summaries = [each.summary for each in analysed]
    else:
        summaries = [analyse_run(run_dir, meta_overrides=meta_overrides) for run_dir in run_dirs]
    # The samples each analysis read already, read again only for saved runs.
    samples = [each.samples for each in analysed] or [run_dir.read_samples() for run_dir in run_dirs]
    runs = []
    for run_dir, summary, run_samples in zip(run_dirs, summaries, samples, strict=True):
        meta = run_dir.read_meta()
        runs.append(
            {
                "label": _label_of(run_dir, meta),
                "run_dir": run_dir,
                "meta": meta,
                "summary": summary,
                "samples": run_samples,
            }
        )
    comparison = summarize_comparison(runs)
    comparison["meta_overrides"] = meta_overrides
    comparison["comparison_dir"] = str(comparison_dir.path)
    comparison["rendered_at"] = datetime.now(UTC).isoformat()
    figure = comparison_dir.file("comparison.png")
    # The comparison's picture here (the longest piece), each run's report in a child beside it.
    # A replicate after the first has no pictures: its curve is in its variant's band, and drawing
    # them was a third of an ablation's report (benchmarks/results.md).
    run_all(
        [
            lambda: write_atomic(figure, lambda tmp: plot_comparison(runs, tmp, comparison["runs"])),
            *(
                partial(draw_report, each, pictures=(each.meta.get("replicate") or 1) == 1)
                for each in analysed
            ),
        ]
    )
    text = json.dumps(comparison, indent=2, default=str) + "\n"
    write_atomic(comparison_dir.file(COMPARISON), lambda tmp: tmp.write_text(text))
    html = render_comparison_html(comparison, [figure])
    write_atomic(comparison_dir.file("report.html"), lambda tmp: tmp.write_text(html))
    return comparison


def comparison_runs(comparison_dir: Path) -> list[RunDir]:
    """The runs of a saved comparison, in their recorded order."""
    from leakhunt.runs.finish import open_run

    path = Path(comparison_dir) / COMPARISON
    data = read_json_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise NotARunFile(path, "no list of runs")
    runs = []
    for entry in data["runs"]:
        for recorded in entry.get("run_dirs") or [entry["run_dir"]]:
            # Runs made by --baseline live inside the comparison (which may have been copied
            # elsewhere); saved runs compared later stay where they were.
            inside = Path(comparison_dir) / Path(recorded).name
            runs.append(open_run(inside if inside.is_dir() else Path(recorded)))
    return runs


def is_comparison(path: Path) -> bool:
    return (Path(path) / COMPARISON).exists()
