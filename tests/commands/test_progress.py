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
