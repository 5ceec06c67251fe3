"""Progress while a user waits, always on stderr: a bar or live panel on a terminal, and plain
lines elsewhere (cron, CI, a pipe) so logs show progress and tests can wait on a line.

Off a terminal a long command says something at least every LINE_EVERY_S of wall time: a run's
line, or a heartbeat while a report is written or runs are under way."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from leakhunt.report.console import LiveLine, WatchView
from leakhunt.sampling.sample import Sample

if TYPE_CHECKING:
    from leakhunt.runs.soak import SoakOptions  # the soak runner (psutil) is no watch's business

LINE_EVERY_S = 10.0


class Heartbeat:
    """Off a terminal, a line at least every `every_s` while work goes on: `say()` gives it.

    `tick(now_s)` prints when the last line is `every_s` old; `printed(now_s)` tells it another
    line went out. A thread ticks it once a second (`running`); tests tick it by hand."""

    def __init__(self, console: Console, say: Callable[[], str], every_s: float = LINE_EVERY_S) -> None:
        self.console, self.say, self.every_s = console, say, every_s
        self.last_s = time.monotonic()
        self._lock = threading.Lock()

    def printed(self, now_s: float) -> None:
        with self._lock:
            self.last_s = now_s

    def tick(self, now_s: float) -> bool:
        with self._lock:
            if now_s - self.last_s < self.every_s:
                return False
            self.last_s = now_s
        self.console.file.write(self.say() + "\n")
        self.console.file.flush()
        return True

    @contextmanager
    def running(self) -> Iterator["Heartbeat"]:
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(1.0):
                self.tick(time.monotonic())

        thread = threading.Thread(target=beat, name="leakhunt-heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


@contextmanager
def working(console: Console, what: str, *, announce: bool = True) -> Iterator[Callable[[str], None]]:
    """`what` under way (e.g. "writing the report"): a spinner on a terminal; elsewhere a line
    every LINE_EVERY_S until it is done, and with `announce` one at once (after Ctrl-C: the user
    waits to hear the report is coming; otherwise an error stays the one line on stderr). It
    yields a function that sets the latest detail."""
    if console.is_terminal:
        with console.status(escape(what)) as status:
            yield lambda detail: status.update(escape(f"{what}: {detail}"))
        return
    started_s, detail = time.monotonic(), [""]
    if announce:
        _write_line(console, f"{what}...")

    def say() -> str:
        return f"still {what}{': ' + detail[0] if detail[0] else ''} ({time.monotonic() - started_s:.0f} s)"

    with Heartbeat(console, say).running():
        yield lambda text: detail.__setitem__(0, text)


@contextmanager
def shown(display: "Live | Progress") -> Iterator[None]:
    """A rich live display, started and always stopped: also when Ctrl-C lands while it starts
    (a `with` runs no __exit__ for an __enter__ that raised, and a half-started display would go
    on redrawing itself under every later line, "interrupted" included)."""
    try:
        display.start()
        yield
    finally:
        display.stop()


@contextmanager
def live_progress(console: Console, live: LiveLine, duration_s: float) -> Iterator[Callable[[Sample], None]]:
    """A progress bar on a terminal; elsewhere a plain line per tenth of the run, or every
    LINE_EVERY_S of wall time if a tenth takes longer, and the run's last sample's line at the
    end: the last line a log shows agrees with the result."""
    if console.is_terminal:
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with shown(progress):
            task = progress.add_task("starting", total=duration_s)

            def on_sample(sample: Sample) -> None:
                progress.update(task, completed=sample.t_sim_s, description=live.update(sample))

            yield on_sample
        return
    step_s = max(duration_s / 10.0, 1e-9)
    next_s = [0.0]
    next_wall_s = [-1.0]
    printed_n = [0]

    def on_line(sample: Sample) -> None:
        live.update(sample)
        if sample.t_sim_s >= next_s[0] or sample.t_wall_s >= next_wall_s[0]:
            _write_line(console, live.fresh())
            printed_n[0] = live.analysis.n_samples
            next_s[0] = (sample.t_sim_s // step_s + 1) * step_s
            next_wall_s[0] = sample.t_wall_s + LINE_EVERY_S

    try:
        yield on_line
    finally:
        if live.analysis.n_samples > printed_n[0]:
            _write_line(console, live.fresh())


def _write_line(console: Console, text: str) -> None:
    # A log line as it is, unwrapped, and past rich's caches (they fill over hours).
    console.file.write(text + "\n")
    console.file.flush()


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
                TaskProgressColumn(),  # of the simulated time: a bar's fill alone is hard to read
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

        self.heartbeat = Heartbeat(console, self.status_line)
        self._beating: Any = None

    def __enter__(self) -> "CompareProgress":
        self._beating = shown(self._progress) if self._progress is not None else self.heartbeat.running()
        self._beating.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._beating.__exit__(*exc)

    def status_line(self) -> str:
        """How far the runs are, for a log: runs done and simulated time covered in all."""
        with self._lock:
            covered_s, all_done = sum(self._covered_s.values()), sum(self._done.values())
        total_min = self.n_runs * self.duration_s / 60
        return (
            f"compare: {all_done}/{self.n_runs} runs done, {covered_s / 60:,.0f} of {total_min:,.0f} "
            "simulated min covered"
        )

    def on_sample(self, plan: "SoakOptions", sample: Sample) -> None:
        with self._lock:
            self._covered_s[(plan.variant, plan.replicate)] = sample.t_sim_s
            covered_s = sum(t for (label, _), t in self._covered_s.items() if label == plan.variant)
        if self._progress is not None:
            self._progress.update(self._tasks[plan.variant], completed=covered_s)

    def on_done(self, plan: "SoakOptions") -> None:
        with self._lock:
            self._done[plan.variant] += 1
            variant_done = self._done[plan.variant]
            all_done = sum(self._done.values())
        if self._progress is not None:
            self._progress.update(self._tasks[plan.variant], done=f"{variant_done}/{self.repeat} done")
            self._progress.update(self._total, completed=all_done, done=f"{all_done}/{self.n_runs} done")
        elif variant_done == self.repeat:
            _write_line(
                self.console,
                f"{plan.variant}: {self.repeat}/{self.repeat} runs done ({all_done}/{self.n_runs} in all)",
            )
            self.heartbeat.printed(time.monotonic())


@contextmanager
def live_watch(console: Console, view: WatchView) -> Iterator[Callable[[Sample], None]]:
    """A live panel on a terminal; elsewhere a plain line every LINE_EVERY_S of the run."""
    if console.is_terminal:
        # Rendered at each refresh (twice a second), not at each sample: at 10 Hz a table per
        # sample would cost more than the sampling.
        with shown(Live(get_renderable=view.render, console=console, refresh_per_second=2, transient=True)):
            yield view.update
        return
    # By the run's own clock, not by sample count: a replay or a missed sample keeps the pace.
    next_line_s = [-1.0]

    def on_line(sample: Sample) -> None:
        view.update(sample)
        if sample.t_wall_s >= next_line_s[0]:
            _write_line(console, view.line())
            next_line_s[0] = (sample.t_wall_s // LINE_EVERY_S + 1) * LINE_EVERY_S

    yield on_line
