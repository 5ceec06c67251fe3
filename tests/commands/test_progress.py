"""Progress while a user waits: compare's per-variant progress and runs done, on a terminal and
off one (a line per variant as it finishes)."""

import io
from dataclasses import replace

from rich.console import Console

from leakhunt.commands.progress import CompareProgress
from leakhunt.runs.soak import SoakOptions
from leakhunt.sampling.sample import Sample
from leakhunt.workload.scenario import load_scenario

OPTIONS = SoakOptions(scenario=load_scenario("smoke"), duration_s=60.0)


def plan(label: str, replicate: int) -> SoakOptions:
    return replace(OPTIONS, variant=label, replicate=replicate)


def test_off_a_terminal_each_variant_gets_one_line_when_all_its_runs_are_done():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=100)
    with CompareProgress(console, ["fixes off", "caps only"], repeat=2, duration_s=60.0) as shown:
        shown.on_sample(plan("fixes off", 1), Sample(t_wall_s=1.0, t_sim_s=30.0, rss_bytes=10))
        shown.on_done(plan("fixes off", 1))
        assert stream.getvalue() == ""  # one of two replicates: nothing to say yet
        shown.on_done(plan("caps only", 1))
        shown.on_done(plan("fixes off", 2))
        shown.on_done(plan("caps only", 2))
    assert stream.getvalue().splitlines() == [
        "fixes off: 2/2 runs done (3/4 in all)",
        "caps only: 2/2 runs done (4/4 in all)",
    ]


def test_on_a_terminal_each_variant_shows_its_runs_done_and_the_total():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    with CompareProgress(console, ["fixes off", "caps only"], repeat=2, duration_s=60.0) as shown:
        for replicate in (1, 2):
            shown.on_sample(plan("fixes off", replicate), Sample(t_wall_s=1.0, t_sim_s=60.0, rss_bytes=10))
            shown.on_done(plan("fixes off", replicate))
        shown.on_done(plan("caps only", 1))
    # The last frame is drawn when the display stops (then erased: it is transient).
    last = stream.getvalue()
    assert "fixes off" in last and "2/2 done" in last
    assert "caps only" in last and "1/2 done" in last
    assert "3/4 done" in last


def test_a_watch_off_a_terminal_prints_a_line_per_minute_of_the_run_however_fast_samples_come():
    from leakhunt.commands.progress import live_watch
    from leakhunt.report.console import WatchView

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    view = WatchView([])
    with live_watch(console, view) as on_sample:
        for k in range(3001):  # ten minutes at 5 Hz, as fast as a replay feeds them
            on_sample(Sample(t_wall_s=k * 0.2, t_sim_s=k * 0.2, rss_bytes=50_000_000 + 10_000 * k))
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [f"{minute:.1f}" for minute in range(11)]
    assert view.n_samples == 3001
    assert "+3 MB/min LEAK" in lines[-1]  # grown steadily: the rate and verdict so far


def test_on_a_terminal_the_watch_panel_shows_the_growth_so_far_and_each_criterion():
    from leakhunt.analysis.criteria import parse_expect
    from leakhunt.commands.progress import live_watch
    from leakhunt.report.console import WatchView

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120)
    view = WatchView([parse_expect("peak<60MB")])
    with live_watch(console, view) as on_sample:
        for k in range(200):
            on_sample(Sample(t_wall_s=k * 1.0, t_sim_s=k * 1.0, rss_bytes=50_000_000 + 100_000 * k))
    shown = stream.getvalue()
    assert "200 samples" in shown and "growth so far" in shown
    assert "peak<60MB" in shown and "FAIL" in shown  # the peak reached 69.9 MB
