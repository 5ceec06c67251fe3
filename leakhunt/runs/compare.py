"""`leakhunt compare`: the same seeded feed with the fixes off and on (and each fix alone), or
saved run directories side by side; one comparison directory with every run inside it.

Runs are independent child processes, run in parallel up to `jobs`. Sampling is tied to
simulated time by the barrier, so CPU contention between runs slows them down but does not move
a sample: parallel runs measure the same curve as serial ones (benchmarks/ checks this).
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leakhunt.analysis.verdict import reduction_percent
from leakhunt.errors import UsageError
from leakhunt.report.html import render_comparison_html
from leakhunt.report.plots import plot_comparison
from leakhunt.runs.finish import finish_run, open_run
from leakhunt.runs.soak import SoakOptions, SoakResult, interrupts_stop_runs, run_soak
from leakhunt.sampling.store import RunDir
from leakhunt.workload.market import FIXES

COMPARISON = "comparison.json"
MB = 1e6


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


def run_baseline_comparison(
    options: SoakOptions, *, ablation: bool, jobs: int, comparison_dir: RunDir
) -> list[SoakResult]:
    """Run every variant of `options.scenario` into a subdirectory of `comparison_dir`."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    chosen = variants(ablation)
    plans = []
    for variant in chosen:
        scenario = replace(options.scenario, fixes=variant.fixes)
        run_dir = RunDir.create("soak", variant.directory, comparison_dir.path / variant.directory)
        plans.append((replace(options, scenario=scenario, out=run_dir.path, variant=variant.label), run_dir))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_soak, plan, run_dir=run_dir) for plan, run_dir in plans]
        try:
            with interrupts_stop_runs():
                return [future.result() for future in futures]
        except KeyboardInterrupt:
            # Every target was stopped; each run recorded `interrupted` and keeps its samples.
            return [future.result() for future in futures]


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


def summarize_comparison(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """comparison.json from each run's label, meta and summary; the first run is the baseline."""
    baseline = runs[0]["summary"]
    base_rate = baseline["growth"]["slope_bytes_per_min"]
    entries = []
    for run in runs:
        summary = run["summary"]
        rate = summary["growth"]["slope_bytes_per_min"]
        entries.append(
            {
                "label": run["label"],
                "run_dir": str(run["run_dir"].path),
                "fixes": run["meta"].get("fixes", []),
                "verdict": summary["verdict"],
                "growth": summary["growth"],
                "time_to_limit_min": summary.get("time_to_limit_min"),
                "peak_rss_bytes": summary.get("peak_rss_bytes"),
                "final_rss_bytes": summary.get("final_rss_bytes"),
                "exit_reason": summary.get("exit_reason"),
                "reduction_percent": None if run is runs[0] else reduction_percent(base_rate, rate),
                "explained_fraction": summary.get("explained_fraction"),
                "criteria": summary.get("criteria", []),
                "criteria_passed": summary.get("criteria_passed", True),
                "verdict_reason": summary.get("verdict_reason"),
                "cost": summary.get("cost"),
            }
        )
    comparison = {
        "baseline": runs[0]["label"],
        "runs": entries,
        "criteria_passed": all(e["criteria_passed"] for e in entries),
        "reference": baseline.get("reference"),
        "thresholds": baseline.get("thresholds"),
    }
    comparison["headline"] = comparison_headline(comparison)
    return comparison


def comparison_headline(comparison: dict[str, Any]) -> str:
    entries = comparison["runs"]
    base = entries[0]
    base_rate = base["growth"]["slope_bytes_per_min"]
    parts = [f"{base['label']}: {base_rate / MB:.3g} MB/min ({base['verdict']})"]
    for entry in entries[1:]:
        reduction = entry["reduction_percent"]
        removed = "" if reduction is None else f", removes {reduction:.0f} %"
        parts.append(
            f"{entry['label']}: {entry['growth']['slope_bytes_per_min'] / MB:.3g} MB/min "
            f"({entry['verdict']}{removed})"
        )
    text = "; ".join(parts) + "."
    singles = [e for e in entries if e["label"].endswith(" only") and e["reduction_percent"] is not None]
    if singles:
        best = max(singles, key=lambda e: e["reduction_percent"])
        text += f" Alone, {best['label'].removesuffix(' only')} carries the most weight."
    reference = comparison.get("reference")
    if reference and reference.get("growth_bytes_per_min"):
        fraction = base_rate / reference["growth_bytes_per_min"]
        text += (
            f" The incident observed {reference['growth_bytes_per_min'] / MB:.0f} MB/min; "
            f"the baseline model explains {fraction:.1%} of it."
        )
    if abs(base_rate) < 50 * MB / 60 and base["verdict"] != "LEAK":
        text += " With every fix off the model already meets the report's own criterion growth < 50 MB/h."
    return text


def render_comparison(comparison_dir: RunDir, run_dirs: list[RunDir]) -> dict[str, Any]:
    """Finish every run, then write comparison.json, comparison.png and report.html."""
    runs = []
    for run_dir in run_dirs:
        summary = finish_run(run_dir)
        meta = run_dir.read_meta()
        runs.append(
            {
                "label": _label_of(run_dir, meta),
                "run_dir": run_dir,
                "meta": meta,
                "summary": summary,
                "samples": run_dir.read_samples(),
            }
        )
    comparison = summarize_comparison(runs)
    comparison["comparison_dir"] = str(comparison_dir.path)
    comparison["rendered_at"] = datetime.now(UTC).isoformat()
    figure = plot_comparison(runs, comparison_dir.file("comparison.png"))
    comparison_dir.file(COMPARISON).write_text(json.dumps(comparison, indent=2, default=str) + "\n")
    comparison_dir.file("report.html").write_text(render_comparison_html(comparison, [figure]))
    return comparison


def comparison_runs(comparison_dir: Path) -> list[RunDir]:
    """The runs of a saved comparison, in their recorded order."""
    data = json.loads((Path(comparison_dir) / COMPARISON).read_text())
    runs = []
    for entry in data["runs"]:
        # Runs made by --baseline live inside the comparison (which may have been copied
        # elsewhere); saved runs compared later stay where they were.
        inside = Path(comparison_dir) / Path(entry["run_dir"]).name
        runs.append(open_run(inside if inside.is_dir() else Path(entry["run_dir"])))
    return runs


def is_comparison(path: Path) -> bool:
    return (Path(path) / COMPARISON).exists()
