"""`leakhunt report`: re-render a run or a comparison from its files."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from leakhunt.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console


def report_command(path: Path, *, results: "Console", progress: "Console") -> dict[str, Any]:
    if not Path(path).is_dir():
        raise UsageError(f"{path} is not a directory: give a run or comparison directory under reports/")
    from leakhunt.commands.progress import working
    from leakhunt.report.console import print_comparison, print_run_summary
    from leakhunt.runs.compare import COMPARISON, comparison_runs, is_comparison, render_comparison
    from leakhunt.runs.finish import finish_run, open_run
    from leakhunt.sampling.store import RunDir, read_json_file

    if is_comparison(path):
        saved = read_json_file(Path(path) / COMPARISON)
        with working(progress, "re-rendering the comparison", announce=False):
            comparison = render_comparison(
                RunDir(path),
                comparison_runs(path),
                finish_runs=False,
                meta_overrides=saved.get("meta_overrides"),
            )
        print_comparison(results, comparison)
        return comparison
    run_dir = open_run(path)
    with working(progress, "re-rendering the run", announce=False):
        summary = finish_run(run_dir)
    print_run_summary(results, summary, str(run_dir.path))
    return summary
