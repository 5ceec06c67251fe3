"""Progress while a user waits, always on stderr: a bar or live panel on a terminal, and plain
lines elsewhere (cron, CI, a pipe) so logs show progress and tests can wait on a line."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from leakhunt.report.console import LiveLine, WatchView
from leakhunt.runs.soak import SoakOptions
from leakhunt.sampling.sample import Sample


@contextmanager
def live_progress(console: Console, live: LiveLine, duration_s: float) -> Iterator[Callable[[Sample], None]]:
    """A progress bar on a terminal; elsewhere a plain line per tenth of the run."""
    if console.is_terminal:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=duration_s)

            def on_sample(sample: Sample) -> None:
                progress.update(task, completed=sample.t_sim_s, description=live.update(sample))

            yield on_sample
        return
    step_s = max(duration_s / 10.0, 1e-9)
    next_s = [0.0]

    def on_line(sample: Sample) -> None:
        text = live.update(sample)
        if sample.t_sim_s >= next_s[0]:
            console.print(text, highlight=False, markup=False)
            next_s[0] = (sample.t_sim_s // step_s + 1) * step_s

    yield on_line


class CompareProgress:
    """compare's runs: per variant, the simulated time covered by its replicates and how many
    are done, and how many runs are done in all. Called from the worker threads."""

    def __init__(self, console: Console, labels: list[str], repeat: int, duration_s: float) -> None:
        self.console, self.repeat, self.duration_s = console, repeat, duration_s
        self.n_runs = len(labels) * repeat
        self._lock = threading.Lock()
        self._covered_s: dict[tuple[str, int | None], float] = {}
        self._done = dict.fromkeys(labels, 0)
        self._progress: Progress | None = None
        self._tasks: dict[str, int] = {}
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[done]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            width = max(map(len, labels))
            for label in labels:
                self._tasks[label] = self._progress.add_task(
                    f"{label:{width}}", total=repeat * duration_s, done=f"0/{repeat} done"
                )
            self._total = self._progress.add_task(f"{'all runs':{width}}", total=self.n_runs, done="")

    def __enter__(self) -> "CompareProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_sample(self, plan: SoakOptions, sample: Sample) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._covered_s[(plan.variant, plan.replicate)] = sample.t_sim_s
            covered_s = sum(t for (label, _), t in self._covered_s.items() if label == plan.variant)
        self._progress.update(self._tasks[plan.variant], completed=covered_s)

    def on_done(self, plan: SoakOptions) -> None:
        with self._lock:
            self._done[plan.variant] += 1
            variant_done = self._done[plan.variant]
            all_done = sum(self._done.values())
        if self._progress is not None:
            self._progress.update(self._tasks[plan.variant], done=f"{variant_done}/{self.repeat} done")
            self._progress.update(self._total, completed=all_done, done=f"{all_done}/{self.n_runs} done")
        elif variant_done == self.repeat:
            self.console.print(
                f"{plan.variant}: {self.repeat}/{self.repeat} runs done ({all_done}/{self.n_runs} in all)",
                highlight=False,
            )


LINE_EVERY_S = 60.0


@contextmanager
def live_watch(console: Console, view: WatchView) -> Iterator[Callable[[Sample], None]]:
    """A live panel on a terminal; elsewhere a plain line once a minute of the run."""
    if console.is_terminal:
        # Rendered at each refresh (twice a second), not at each sample: at 10 Hz a table per
        # sample would cost more than the sampling.
        with Live(get_renderable=view.render, console=console, refresh_per_second=2, transient=True):
            yield view.update
        return
    # By the run's own clock, not by sample count: a replay or a missed sample keeps the pace.
    next_line_s = [-1.0]

    def on_line(sample: Sample) -> None:
        view.update(sample)
        if sample.t_wall_s >= next_line_s[0]:
            # A log line as it is, unwrapped, and past rich's caches (they fill over hours).
            console.file.write(view.line() + "\n")
            console.file.flush()
            next_line_s[0] = (sample.t_wall_s // LINE_EVERY_S + 1) * LINE_EVERY_S

    yield on_line
