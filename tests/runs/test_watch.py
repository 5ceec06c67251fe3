"""watch.py: a watch samples its source until its duration is covered, asks the agent on its
cadence without waiting for it, writes each summary at the moment its objects were counted, and
records in meta.json what it watched, how it ended and what its sampling and probes cost.

Watches of saved samples (ReplaySource, as `watch --replay` runs them) are on exact times; live
ones sample real processes at a few hundredths of a second, and what they can only say after
the fact (which samples were due a probe) is checked against the samples they wrote."""

import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from leakhunt import __version__
from leakhunt.agent import request_summary
from leakhunt.agent_socket import default_socket_path
from leakhunt.runs.cadence import Cadence, resolve
from leakhunt.runs.watch import WatchOptions, _cost, run_watch
from leakhunt.sampling.local import LocalSource
from leakhunt.sampling.logs import LogFollower, follow_local
from leakhunt.sampling.replay import ReplaySource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import RESERVE, RunDir
from tests.conftest import start
from tests.helpers.processes import spawn, stop, under_agent
from tests.helpers.systemctl import install_systemctl

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
MB = 1_000_000
UNIT = "virtuoso-trading.service"


def samples_every_second(count: int) -> Iterator[Sample]:
    """A saved curve: one sample a second from t = 0, 100 MB growing by 1 MB a second."""
    for k in range(count):
        yield Sample(t_wall_s=float(k), t_sim_s=float(k), rss_bytes=100 * MB + k * MB)


def read(path: Path) -> tuple[dict, list[list[str]]]:
    """meta.json, and samples.csv's rows without the header."""
    rows = [line.split(",") for line in (path / "samples.csv").read_text().splitlines()[1:]]
    return json.loads((path / "meta.json").read_text()), rows


def due_times(times_s: list[float], cadence: Cadence) -> list[float]:
    """The samples a watch asks a probe at: the first at or after each due time of the grid."""
    due, next_s = [], 0.0
    for t_s in times_s:
        if t_s >= next_s:
            due.append(t_s)
            while next_s <= t_s:
                next_s = cadence.next_after(next_s, len(due))
    return due


@pytest.fixture
def replayed(tmp_path) -> dict:
    """Ten saved samples watched for 6 s: the watch stops at the sample that covers it. Each
    test replays its own (milliseconds): mutmut maps a test to the code its own run calls."""
    path = tmp_path / "run"
    seen, meta_at_first = [], []

    def on_sample(sample: Sample) -> None:
        seen.append(sample)
        if len(seen) == 1:
            meta_at_first.append(json.loads((path / "meta.json").read_text()))

    options = WatchOptions(
        label="replayed", duration_s=6.0, interval_s=1.0, expect=("growth<50MB/h",),
        target={"pid": 1234, "memory_limit_bytes": 6e9}, allow_unproven=True,
    )  # fmt: skip
    source = ReplaySource(samples_every_second(10), "replay of ten samples")
    result = run_watch(options, source, run_dir=RunDir.create("watch", "replayed", path), on_sample=on_sample)
    meta, rows = read(path)
    return {"path": path, "result": result, "seen": seen, "meta_at_first": meta_at_first[0], "meta": meta,
            "rows": rows}  # fmt: skip


def test_a_watch_says_in_meta_json_what_it_watches_from_its_first_sample_on(replayed):
    meta = replayed["meta_at_first"]
    started = datetime.fromisoformat(meta.pop("start_time"))
    assert started.utcoffset().total_seconds() == 0
    assert meta == {
        "tool": "leakhunt", "version": __version__, "command": "watch", "label": "replayed",
        "command_line": " ".join(sys.argv), "target": {"pid": 1234, "memory_limit_bytes": 6e9},
        "source": "replay of ten samples", "host": platform.node(), "interval_s": 1.0, "duration_s": 6.0,
        "probe_interval_s": None, "probe_cadence": "", "probe_deadline_s": None, "agent": False,
        "time_axis": "t_wall_s", "memory_limit_bytes": 6e9, "expect": ["growth<50MB/h"],
        "allow_unproven": True, "exit_reason": "running", "events": [],
    }  # fmt: skip


def test_a_watch_ends_at_the_sample_that_covers_its_duration(replayed):
    result = replayed["result"]
    assert (result.exit_reason, result.samples, result.write_error) == ("completed", 7, None)
    assert result.run_dir.path == replayed["path"]
    assert replayed["seen"] == list(samples_every_second(7))  # each one given to on_sample
    assert [row[:3] for row in replayed["rows"]] == [
        [f"{k}.0", f"{k}.0", str(100 * MB + k * MB)] for k in range(7)
    ]


def test_a_finished_watch_records_how_it_ended_and_a_replay_no_sampling_cost(replayed):
    meta = replayed["meta"]
    assert (meta["exit_reason"], meta["uptime_s"], meta["events"]) == ("completed", 6.0, [])
    assert meta["cost"] == {"replayed_samples": 7}  # nothing was sampled: no cost of measuring
    assert "probe_counts" not in meta and "exit_detail" not in meta
    assert datetime.fromisoformat(meta["start_time"]) <= datetime.fromisoformat(meta["end_time"])
    assert 0 < meta["wall_s"] < 60
    assert not (replayed["path"] / RESERVE).exists()  # meta.json had its last word


def test_a_watch_without_a_duration_takes_every_sample_its_source_has(tmp_path):
    options = WatchOptions(label="open", duration_s=None, interval_s=1.0)
    source = ReplaySource(samples_every_second(4), "replay")
    result = run_watch(options, source, run_dir=RunDir.create("watch", "open", tmp_path / "run"))
    meta, rows = read(tmp_path / "run")
    assert (result.exit_reason, result.samples, len(rows)) == ("completed", 4, 4)
    assert (meta["duration_s"], meta["uptime_s"], meta["cost"]) == (None, 3.0, {"replayed_samples": 4})


def test_a_log_line_is_marked_while_the_watch_goes_on(tmp_path):
    """Matched lines land in meta.json at the next sample, not only when the watch ends."""
    path, stop_watch = tmp_path / "run", threading.Event()

    def stop_once_marked(sample: Sample) -> None:
        if json.loads((path / "meta.json").read_text())["events"]:
            stop_watch.set()

    follower = follow_local("printf 'starting\\nMemory cleanup complete\\n'", "cleanup complete$")
    options = WatchOptions(label="logs", duration_s=None, interval_s=1.0, log_follower=follower)
    # Far more samples than the line takes to arrive: the watch is stopped long before the last.
    source = ReplaySource(samples_every_second(200_000), "replay")
    result = run_watch(
        options,
        source,
        run_dir=RunDir.create("watch", "logs", path),
        stop=stop_watch,
        on_sample=stop_once_marked,
    )
    meta, _ = read(path)
    assert result.exit_reason == "completed" and result.samples < 200_000
    [event] = meta["events"]
    assert event == {"kind": "log", "t_wall_s": event["t_wall_s"], "t_sim_s": event["t_wall_s"],
                     "line": "Memory cleanup complete", "text": "Memory cleanup complete"}  # fmt: skip
    assert event["t_wall_s"] > 0  # on the follower's clock, started with the watch


def test_a_log_line_written_as_the_watch_ends_is_marked_too(tmp_path):
    """The follower is stopped at the end and what it had written is still read: lines of the
    last interval have no sample after them."""
    says_goodbye = start(
        "-c",
        "import signal, sys\n"
        "def bye(*_):\n"
        "    print('Memory cleanup complete', flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "signal.pause()\n",
    )

    def close() -> None:
        says_goodbye.terminate()
        says_goodbye.wait()

    follower = LogFollower("cleanup complete", says_goodbye.stdout, close)
    options = WatchOptions(label="logs", duration_s=None, interval_s=1.0, log_follower=follower)
    run_watch(
        options,
        ReplaySource(samples_every_second(3), "replay"),
        run_dir=RunDir.create("watch", "logs", tmp_path / "run"),
    )
    meta, _ = read(tmp_path / "run")
    assert says_goodbye.returncode == 0  # stopped by the watch's end
    assert [(e["kind"], e["line"]) for e in meta["events"]] == [("log", "Memory cleanup complete")]


@pytest.fixture
def service_under_the_agent():
    service = under_agent("agent_child.py", "1000")
    assert service.stdout.readline().strip() == "ready"
    yield service
    stop(service)


def test_a_watch_with_the_agent_records_what_it_watched_its_probes_and_their_cost(
    tmp_path, service_under_the_agent
):
    socket_path = default_socket_path(service_under_the_agent.pid)
    cadence = resolve("1s", 3.0)
    options = WatchOptions(
        label="agent-child",
        duration_s=3.0,
        interval_s=0.1,
        expect=("growth<50MB/h",),
        target={"memory_limit_bytes": 6e9},
        probe_interval_s=1.0,
        probe_cadence=cadence,
        probe_deadline_s=30.0,
        ask_summary=lambda: request_summary(socket_path, timeout_s=60.0, deadline_s=30.0),
    )
    source = LocalSource(pid=service_under_the_agent.pid)
    result = run_watch(options, source, run_dir=RunDir.create("watch", "agent-child", tmp_path / "run"))
    assert result.exit_reason == "completed" and result.samples >= 3
    meta, rows = read(tmp_path / "run")
    assert {k: meta[k] for k in ("command", "label", "source", "interval_s", "duration_s", "time_axis")} == {
        "command": "watch", "label": "agent-child", "source": source.description, "interval_s": 0.1,
        "duration_s": 3.0, "time_axis": "t_wall_s",
    }  # fmt: skip
    assert (meta["probe_interval_s"], meta["probe_cadence"], meta["probe_deadline_s"]) == (
        1.0,
        "every 1 s",
        30.0,
    )
    assert (meta["agent"], meta["memory_limit_bytes"], meta["expect"]) == (True, 6e9, ["growth<50MB/h"])
    assert meta["exit_reason"] == "completed"
    assert [e for e in meta["events"] if e["kind"] != "missed"] == []  # a loaded host may miss some
    assert len(rows) == result.samples
    times_s = [float(row[0]) for row in rows]
    assert meta["uptime_s"] == times_s[-1] and times_s[-1] >= 3.0 - 1e-9
    counts = meta["probe_counts"]
    summaries = [json.loads(line) for line in (tmp_path / "run" / "summaries.jsonl").read_text().splitlines()]
    # Every due time of the grid is asked or, with the previous probe still counting, late.
    due = due_times(times_s, cadence)
    assert counts["asked"] + counts["late"] == len(due) == 4  # at 0, 1, 2 and 3 s
    assert counts["answered"] == len(summaries) == counts["asked"] >= 2 and counts["failed"] == 0
    anchors_unix_s = []
    for summary in summaries:
        # Asked at a due sample, counted in the child after that, and placed on the watch's clock
        # where it was counted.
        assert summary["asked_at_s"] in due
        assert summary["asked_at_s"] <= summary["t_wall_s"] == summary["t_sim_s"] <= meta["wall_s"]
        anchors_unix_s.append(summary["counted_unix_s"] - summary["t_wall_s"])
    # The watch's t = 0 in Unix time, the same for every summary (within a loaded host's jitter).
    assert max(anchors_unix_s) - min(anchors_unix_s) < 0.5
    assert abs(anchors_unix_s[0] - datetime.fromisoformat(meta["start_time"]).timestamp()) < 0.5
    cost = meta["cost"]
    assert cost["probe_s"] == pytest.approx(sum(s["probe_s"] for s in summaries)) and cost["probe_s"] > 0
    assert cost["probe_fraction"] == cost["probe_s"] / meta["wall_s"]
    assert cost["sampler_reads"] >= result.samples and cost["sampler_cpu_s_per_read"] > 0
    assert cost["realtime_core_fraction"] == pytest.approx(cost["sampler_cpu_s_per_read"] / 0.1)


def test_a_probe_the_agent_cannot_answer_is_recorded_where_it_was_asked_with_why(tmp_path):
    missing = tmp_path / "no-agent.sock"
    cadence = resolve("2s", 9.0)
    options = WatchOptions(
        label="no-agent", duration_s=9.0, interval_s=1.0, probe_interval_s=2.0, probe_cadence=cadence,
        ask_summary=lambda: request_summary(missing, timeout_s=5.0),
    )  # fmt: skip
    result = run_watch(options, ReplaySource(samples_every_second(20), "replay"),
                       run_dir=RunDir.create("watch", "no-agent", tmp_path / "run"))  # fmt: skip
    meta, rows = read(tmp_path / "run")
    assert result.samples == 10
    counts = meta["probe_counts"]
    due = due_times([float(row[0]) for row in rows], cadence)
    assert due == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert counts["asked"] + counts["late"] == 5 and counts["asked"] >= 1
    assert (counts["answered"], counts["failed"]) == (0, counts["asked"])
    why = (
        f"no leakhunt agent socket at {missing}: start the service under "
        "`python -m leakhunt.agent -- service.py`"
    )
    failed = [e for e in meta["events"] if e["kind"] == "probe_failed"]
    assert len(failed) == counts["failed"] == len(meta["events"])
    for event in failed:
        assert event == {"kind": "probe_failed", "t_wall_s": event["t_wall_s"], "t_sim_s": event["t_wall_s"],
                         "text": why}  # fmt: skip
        assert event["t_wall_s"] in due
    assert not (tmp_path / "run" / "summaries.jsonl").exists()
    assert meta["probe_deadline_s"] == 60.0 and meta["probe_cadence"] == "every 2 s"


class SlowProbe:
    """An agent whose snapshot is still being counted when the watch ends (`release` set: by the
    watch's own stop event), then answers as counted `counted_after_s` after it was asked (None:
    an agent that does not say when it counted)."""

    def __init__(self, release: threading.Event, counted_after_s: float | None, answer: dict) -> None:
        self.release, self.counted_after_s, self.answer = release, counted_after_s, answer
        self.asked_unix_s: list[float] = []

    def __call__(self) -> dict:
        self.asked_unix_s.append(time.time())
        self.release.wait()
        if self.counted_after_s is None:
            return dict(self.answer)
        counted = {"counted_unix_s": self.asked_unix_s[-1] + self.counted_after_s}
        return {**counted, **self.answer}


def watch_with_a_slow_probe(tmp_path, idle, probe: SlowProbe, stop_watch: threading.Event, deadline_s: float):
    cadence = Cadence(0.05, text="every 0.05 s")
    options = WatchOptions(
        label="slow-probe", duration_s=0.3, interval_s=0.02, probe_interval_s=0.05, probe_cadence=cadence,
        probe_deadline_s=deadline_s, ask_summary=probe,
    )  # fmt: skip
    source = LocalSource(pid=idle.pid)
    result = run_watch(
        options, source, run_dir=RunDir.create("watch", "slow", tmp_path / "run"), stop=stop_watch
    )
    meta, rows = read(tmp_path / "run")
    return (
        result,
        meta,
        [float(row[0]) for row in rows],
        due_times([float(row[0]) for row in rows], cadence),
        source,
    )


def test_a_probe_still_counting_makes_the_next_ones_late_and_is_written_when_it_answers(tmp_path, idle):
    stop_watch = threading.Event()
    probe = SlowProbe(stop_watch, counted_after_s=100.0, answer={"probe_s": 0.25, "types": []})
    result, meta, times_s, due, source = watch_with_a_slow_probe(tmp_path, idle, probe, stop_watch, 30.0)
    assert len(probe.asked_unix_s) == 1 and len(due) >= 4
    assert meta["probe_counts"] == {"asked": 1, "answered": 1, "failed": 0, "late": len(due) - 1}
    [summary] = [json.loads(line) for line in (tmp_path / "run" / "summaries.jsonl").read_text().splitlines()]
    # Placed where it was counted: 100 s after it was asked at the first sample.
    assert summary["asked_at_s"] == pytest.approx(times_s[0], abs=1e-6)
    assert summary["t_wall_s"] == summary["t_sim_s"]
    # (the probe's thread notes when it was asked a moment after the watch does: later, never earlier)
    assert 100.0 - 0.01 < summary["t_wall_s"] - times_s[0] < 105.0
    assert summary["types"] == [] and summary["probe_s"] == 0.25
    cost, wall_s, sampled = meta["cost"], meta["wall_s"], source.cost()
    # The sampler's own figures over the watch's whole wall time, and the service's pause.
    n, cpu_s = sampled["samples"], sampled["sampler_cpu_s"]
    assert n == result.samples == len(times_s)
    assert {k: v for k, v in cost.items() if not k.startswith("leakhunt_")} == {
        "sampler_cpu_s": cpu_s, "sampler_reads": n, "sampler_cpu_s_per_read": cpu_s / n,
        "sampler_cpu_fraction": cpu_s / wall_s, "realtime_core_fraction": cpu_s / n / 0.02,
        "sampler_cpu_s_per_sampled_min": cpu_s / (wall_s / 60), "remote_cpu_s": None,
        "remote_cpu_s_per_sample": None, "probe_s": 0.25, "probe_fraction": 0.25 / wall_s,
        "missed_samples": sampled["missed_samples"],
    }  # fmt: skip
    assert cost["leakhunt_cpu_s_per_sample"] == cost["leakhunt_cpu_s"] / n
    assert cost["leakhunt_core_fraction"] == pytest.approx(cost["leakhunt_cpu_s"] / wall_s, rel=0.5)


def test_a_summary_without_its_count_time_is_placed_where_it_was_asked(tmp_path, idle):
    stop_watch = threading.Event()
    probe = SlowProbe(stop_watch, counted_after_s=None, answer={"types": []})  # says neither
    _, meta, times_s, _, _ = watch_with_a_slow_probe(tmp_path, idle, probe, stop_watch, 30.0)
    [summary] = [json.loads(line) for line in (tmp_path / "run" / "summaries.jsonl").read_text().splitlines()]
    assert (
        summary["t_wall_s"]
        == summary["t_sim_s"]
        == summary["asked_at_s"]
        == pytest.approx(times_s[0], abs=1e-6)
    )
    assert meta["cost"]["probe_s"] == 0.0 and meta["cost"]["probe_fraction"] == 0.0


def test_a_probe_that_outlasts_its_deadline_is_left_behind_and_the_watch_ends(tmp_path, idle):
    never, stop_watch = threading.Event(), threading.Event()
    probe = SlowProbe(never, counted_after_s=1.0, answer={"types": []})
    before = set(threading.enumerate())
    try:
        started_s = time.monotonic()
        _, meta, _, due, _ = watch_with_a_slow_probe(tmp_path, idle, probe, stop_watch, 0.05)
        assert time.monotonic() - started_s < 30  # not the default minute
        # The probe left behind cannot keep leakhunt from exiting: no thread of the watch's but daemons.
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        assert left and all(t.daemon for t in left)
    finally:
        never.set()  # the probe's thread ends with the test
    assert meta["probe_counts"] == {"asked": 1, "answered": 0, "failed": 0, "late": len(due) - 1}
    assert meta["probe_deadline_s"] == 0.05
    assert not (tmp_path / "run" / "summaries.jsonl").exists()


def test_a_watch_of_a_process_that_ends_stops_with_it(tmp_path):
    short = spawn([sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert short.stdout.readline().strip() == "ready"
    source = LocalSource(pid=short.pid)

    def end_after_a_quarter_second(sample) -> None:
        if sample.t_wall_s > 0.25 and short.poll() is None:
            short.stdin.close()  # the process reads EOF and exits

    options = WatchOptions(label="short", duration_s=600.0, interval_s=0.1)
    run_dir = RunDir.create("watch", "short", tmp_path / "run")
    result = run_watch(options, source, run_dir=run_dir, on_sample=end_after_a_quarter_second)
    short.wait()
    meta, rows = read(tmp_path / "run")
    assert result.exit_reason == meta["exit_reason"] == "target_exited"
    [ended] = [e for e in meta["events"] if e["kind"] != "missed"]  # a loaded host may miss some
    t_s = ended["t_wall_s"]
    assert ended == {"kind": "exited", "t_wall_s": t_s, "t_sim_s": t_s, "pid": short.pid,
                     "text": f"process {short.pid} exited at t = {t_s / 60:.1f} min"}  # fmt: skip
    assert float(rows[-1][0]) < t_s and meta["uptime_s"] == float(rows[-1][0])
    assert "probe_counts" not in meta and meta["cost"]["probe_s"] == 0.0


def test_a_unit_that_restarts_is_watched_on_and_its_uptime_counts_from_the_restart(
    tmp_path, idle, monkeypatch
):
    successor = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    # Calls: 1 from the constructor, 2-3 for the first two samples; 4-5 between stop and start.
    install_systemctl(tmp_path, UNIT, (idle.pid, successor.pid), restart_after_calls=3, stopped_calls=2)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    path, stop_watch, after_restart = tmp_path / "run", threading.Event(), []

    def three_samples_after_the_restart(sample: Sample) -> None:
        if json.loads((path / "meta.json").read_text())["events"]:
            after_restart.append(sample)
            if len(after_restart) == 3:
                stop_watch.set()

    options = WatchOptions(label="unit", duration_s=None, interval_s=0.05)
    result = run_watch(options, LocalSource(unit=UNIT), run_dir=RunDir.create("watch", "unit", path),
                       stop=stop_watch, on_sample=three_samples_after_the_restart)  # fmt: skip
    meta, rows = read(path)
    assert result.exit_reason == meta["exit_reason"] == "completed"
    [restart] = [e for e in meta["events"] if e["kind"] != "missed"]
    assert restart["kind"] == "restart" and restart["t_sim_s"] == restart["t_wall_s"]
    assert (restart["old_pid"], restart["new_pid"], restart["restarts"]) == (idle.pid, successor.pid, 1)
    assert meta["uptime_s"] == float(rows[-1][0]) - restart["t_wall_s"] > 0


def test_ctrl_c_ends_a_watch_as_interrupted_with_every_sample_kept(tmp_path):
    def interrupt_at_the_third(sample: Sample) -> None:
        if sample.t_wall_s == 2.0:
            raise KeyboardInterrupt

    options = WatchOptions(label="x", duration_s=None, interval_s=1.0)
    run_dir = RunDir.create("watch", "x", tmp_path / "run")
    source = ReplaySource(samples_every_second(10), "replay")
    result = run_watch(options, source, run_dir=run_dir, on_sample=interrupt_at_the_third)
    meta, rows = read(tmp_path / "run")
    assert (result.exit_reason, meta["exit_reason"], result.samples, len(rows)) == (
        "interrupted",
        "interrupted",
        3,
        3,
    )
    assert meta["uptime_s"] == 2.0 and "exit_detail" not in meta


def test_a_full_disk_ends_a_watch_saying_which_file_with_every_sample_before_it_kept(tiny_tmpfs):
    path = tiny_tmpfs / "run"
    run_dir = RunDir.create("watch", "full", path)  # its reserve keeps room for the last meta.json
    (tiny_tmpfs / "filler").write_bytes(bytes(600 * 1024))
    options = WatchOptions(label="full", duration_s=None, interval_s=1.0)
    result = run_watch(options, ReplaySource(samples_every_second(1_000_000), "replay"), run_dir=run_dir)
    meta, rows = read(path)
    assert result.exit_reason == meta["exit_reason"] == "write_failed"
    assert result.write_error is not None and result.write_error.path == path / "samples.csv"
    assert meta["exit_detail"] == {"text": result.write_error.message}
    assert "No space left on device" in result.write_error.message
    kept = RunDir(path).read_samples()  # a torn last row, cut by the full disk, is left out
    assert 0 < result.samples == len(kept) < 1_000_000 and len(rows) - len(kept) in (0, 1)
    assert meta["cost"] == {"replayed_samples": result.samples + 1}  # the one it could not write


def test_an_open_ended_watch_counts_the_probes_due_while_one_is_still_counting(tmp_path):
    stop_watch = threading.Event()
    probe = SlowProbe(stop_watch, counted_after_s=None, answer={"types": []})
    cadence = resolve("auto", None)  # every 10 s, doubling after six probes
    options = WatchOptions(label="open", duration_s=None, interval_s=1.0, probe_interval_s=None,
                           probe_cadence=cadence, ask_summary=probe)  # fmt: skip
    run_watch(options, ReplaySource(samples_every_second(35), "replay"),
              run_dir=RunDir.create("watch", "open", tmp_path / "run"), stop=stop_watch)  # fmt: skip
    meta, _ = read(tmp_path / "run")
    # Asked at 0 s and still counting at 10, 20 and 30 s; answered when the watch ended.
    assert meta["probe_counts"] == {"asked": 1, "answered": 1, "failed": 0, "late": 3}
    assert meta["probe_cadence"] == "auto: every 10 s, doubling every 6 probes"
    assert meta["probe_deadline_s"] == 60.0 and meta["agent"] is True


def test_what_sampling_over_ssh_cost_counts_the_remote_side_per_sample_and_what_was_missed():
    remote = {"sampler_cpu_s": 2.0, "remote_cpu_s": 0.5, "samples": 10, "missed_samples": 2}
    assert _cost(remote, samples=12, wall_s=60.0, interval_s=5.0, probe_s=3.0) == {
        "sampler_cpu_s": 2.0, "sampler_reads": 10, "sampler_cpu_s_per_read": 0.2,
        "sampler_cpu_fraction": 2.0 / 60, "realtime_core_fraction": 0.2 / 5.0,
        "sampler_cpu_s_per_sampled_min": 2.0, "remote_cpu_s": 0.5,
        "remote_cpu_s_per_sample": 0.05, "probe_s": 3.0, "probe_fraction": 0.05, "missed_samples": 2,
    }  # fmt: skip
    # A source that counts nothing itself: the watch's own count, and nothing measured.
    nothing = _cost({}, samples=0, wall_s=0.0, interval_s=5.0, probe_s=0.0)
    assert nothing == {
        "sampler_cpu_s": 0.0, "sampler_reads": 0, "sampler_cpu_s_per_read": None,
        "sampler_cpu_fraction": None, "realtime_core_fraction": None,
        "sampler_cpu_s_per_sampled_min": None, "remote_cpu_s": None,
        "remote_cpu_s_per_sample": None, "probe_s": 0.0, "probe_fraction": 0.0, "missed_samples": 0,
    }  # fmt: skip
    assert (
        _cost({"remote_cpu_s": 0.0}, samples=4, wall_s=1.0, interval_s=1.0, probe_s=0.0)["sampler_reads"] == 4
    )


def test_a_watch_of_no_samples_at_all_has_no_uptime(tmp_path):
    options = WatchOptions(label="empty", duration_s=60.0, interval_s=1.0)
    result = run_watch(
        options, ReplaySource([], "replay"), run_dir=RunDir.create("watch", "e", tmp_path / "run")
    )
    meta, rows = read(tmp_path / "run")
    assert (result.exit_reason, result.samples, rows) == ("completed", 0, [])
    assert (meta["uptime_s"], meta["cost"]) == (0.0, {"replayed_samples": 0})


def test_a_probe_interval_without_a_cadence_probes_at_that_interval(tmp_path):
    stop_watch = threading.Event()
    probe = SlowProbe(stop_watch, counted_after_s=None, answer={"types": []})
    options = WatchOptions(
        label="every-3s", duration_s=None, interval_s=1.0, probe_interval_s=3.0, ask_summary=probe
    )
    run_watch(options, ReplaySource(samples_every_second(10), "replay"),
              run_dir=RunDir.create("watch", "every-3s", tmp_path / "run"), stop=stop_watch)  # fmt: skip
    meta, _ = read(tmp_path / "run")
    # Due at 0, 3, 6 and 9 s: asked at the first, the rest late behind it.
    assert meta["probe_counts"] == {"asked": 1, "answered": 1, "failed": 0, "late": 3}
    assert (meta["probe_interval_s"], meta["probe_cadence"]) == (3.0, "")


def test_a_sample_a_nanosecond_short_of_the_duration_covers_it(tmp_path):
    """Times from a clock in floating point: 6 s may come out a hair under 6 s."""
    times_s = [0.0, 3.0, 6.0 - 1e-9, 9.0]
    samples = [Sample(t_wall_s=t, t_sim_s=t, rss_bytes=100 * MB) for t in times_s]
    options = WatchOptions(label="edge", duration_s=6.0, interval_s=3.0)
    result = run_watch(
        options, ReplaySource(samples, "replay"), run_dir=RunDir.create("watch", "e", tmp_path / "run")
    )
    assert result.samples == 3
