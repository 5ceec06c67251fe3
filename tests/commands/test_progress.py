"""Progress while a user waits: compare's per-variant progress and runs done, on a terminal and
off one (a line per variant as it finishes, a heartbeat between); a soak's and a watch's lines,
at least every 10 s of wall time off a terminal; a line while a report is written."""

import io
import re
from dataclasses import replace

from rich.console import Console

from leakhunt.analysis.growth import fit_growth
from leakhunt.commands.progress import LINE_EVERY_S, CompareProgress, Heartbeat, live_progress, working
from leakhunt.report.console import LiveLine
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
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())  # the text, without the terminal's codes
    for words in ("fixes off", "2/2 done", "caps only", "1/2 done", "all runs", "3/4 done"):
        assert re.search(rf"(?<!\w){re.escape(words)}(?!\w)", last), words  # as words, nothing glued on


def test_on_a_terminal_a_variants_bar_covers_the_simulated_time_of_all_its_replicates():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with CompareProgress(console, ["fixes off", "caps only"], repeat=2, duration_s=60.0) as shown:
        shown.on_sample(plan("fixes off", 1), Sample(t_wall_s=1.0, t_sim_s=30.0, rss_bytes=10))
        shown.on_sample(plan("fixes off", 2), Sample(t_wall_s=1.0, t_sim_s=45.0, rss_bytes=10))
        shown.on_sample(plan("fixes off", 1), Sample(t_wall_s=2.0, t_sim_s=40.0, rss_bytes=10))
        shown.on_sample(plan("caps only", 1), Sample(t_wall_s=1.0, t_sim_s=5.0, rss_bytes=10))
        shown.on_done(plan("fixes off", 2))
        # What each bar draws: its replicates' time together, out of repeat x duration.
        bars = {task.description.strip(): (task.completed, task.total) for task in shown._progress.tasks}
    assert bars == {"fixes off": (85.0, 120.0), "caps only": (5.0, 120.0), "all runs": (1, 4)}


def test_a_watch_off_a_terminal_prints_a_line_every_ten_seconds_of_the_run_however_fast_samples_come():
    from leakhunt.commands.progress import live_watch
    from leakhunt.report.console import WatchView

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    view = WatchView([])
    with live_watch(console, view) as on_sample:
        for k in range(3001):  # ten minutes at 5 Hz, as fast as a replay feeds them
            on_sample(Sample(t_wall_s=k * 0.2, t_sim_s=k * 0.2, rss_bytes=50_000_000 + 10_000 * k))
    lines = stream.getvalue().splitlines()
    # Minutes are printed to a tenth: times 6 and rounded, they count tens of seconds.
    assert [round(float(line.split()[1]) * 6) for line in lines] == list(range(61))
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


def test_ten_seconds_is_the_longest_a_log_waits_for_a_line():
    assert LINE_EVERY_S == 10.0


def soak_samples(n: int, wall_step_s: float) -> list[Sample]:
    """A soak at 5 simulated seconds a sample, growing 1 MB/min with page-sized wobble."""
    return [
        Sample(t_wall_s=k * wall_step_s, t_sim_s=k * 5.0, rss_bytes=80_000_000 + 83_333 * k + 4096 * (k % 3))
        for k in range(n)
    ]


def test_a_soak_off_a_terminal_prints_a_line_per_tenth_and_its_last_line_is_the_results_fit():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    samples = soak_samples(359, wall_step_s=0.03)  # 30 simulated min in 11 s, the last sample missing
    with live_progress(console, LiveLine(1800.0), 1800.0) as on_sample:
        for sample in samples:
            on_sample(sample)
    lines = stream.getvalue().splitlines()
    # Tenths at 0, 3, ..., 27 simulated min (never 10 s of wall apart), and the last sample's line.
    assert [line.split()[1].split("/")[0] for line in lines] == [
        "0.0", "3.0", "6.0", "9.0", "12.0", "15.0", "18.0", "21.0", "24.0", "27.0", "29.8",
    ]  # fmt: skip
    fit = fit_growth([s.t_sim_s for s in samples], [s.rss_bytes for s in samples])
    assert fit.shape == "linear"
    low, high = fit.ci_low_bytes_per_min / 1e6, fit.ci_high_bytes_per_min / 1e6
    assert lines[-1].endswith(
        f"growth so far +{fit.slope_bytes_per_min / 1e6:.3g} MB/min [+{low:.3g}…+{high:.3g}]"
    )


def test_a_slow_soak_off_a_terminal_still_prints_a_line_every_ten_seconds():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    # At the real pace (5 s of wall a sample), a tenth of 30 min is 3 min of wall: too long a wait.
    with live_progress(console, LiveLine(1800.0), 1800.0) as on_sample:
        for sample in soak_samples(13, wall_step_s=5.0):
            on_sample(sample)
    assert [line.split()[1].split("/")[0] for line in stream.getvalue().splitlines()] == [
        "0.0", "0.2", "0.3", "0.5", "0.7", "0.8", "1.0",
    ]  # fmt: skip


def test_a_heartbeat_speaks_after_ten_quiet_seconds_and_only_then():
    stream = io.StringIO()
    beat = Heartbeat(Console(file=stream, force_terminal=False), lambda: "still busy")
    beat.printed(100.0)
    assert not beat.tick(109.9) and stream.getvalue() == ""
    assert beat.tick(110.0) and stream.getvalue() == "still busy\n"
    assert not beat.tick(115.0)
    beat.printed(118.0)  # another line went out: the next beat waits from it
    assert not beat.tick(127.0) and beat.tick(128.0)


def test_writing_a_report_off_a_terminal_is_said_at_once_unless_told_not_to():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False)
    with working(console, "writing the report") as say:
        say("memory.png")
    with working(console, "reading from Prometheus", announce=False):
        pass
    assert stream.getvalue() == "writing the report...\n"


def test_compares_heartbeat_tells_runs_done_and_simulated_time_covered():
    console = Console(file=io.StringIO(), force_terminal=False)
    with CompareProgress(console, ["fixes off", "caps only"], repeat=2, duration_s=600.0) as shown:
        shown.on_sample(plan("fixes off", 1), Sample(t_wall_s=1.0, t_sim_s=600.0, rss_bytes=10))
        shown.on_sample(plan("caps only", 2), Sample(t_wall_s=1.0, t_sim_s=300.0, rss_bytes=10))
        shown.on_done(plan("fixes off", 1))
        assert shown.status_line() == "compare: 1/4 runs done, 15 of 40 simulated min covered"
