"""replay.py: a run's samples.csv fed back through the watch loop as fast as it is taken, row by
row, with a torn row skipped and a foreign file refused."""

import threading

import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling.replay import ReplaySource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.store import NotARunFile, RunDir

HEADER = "t_wall_s,t_sim_s,rss_bytes,uss_bytes,swap_bytes,cpu_percent,py_heap_bytes\n"


def test_a_watchs_rows_come_back_as_its_samples_and_a_torn_last_row_is_skipped(tmp_path):
    run = RunDir.create("watch", "x", tmp_path / "run")
    taken = [
        Sample(t_wall_s=k * 0.5, t_sim_s=k * 0.5, rss_bytes=1000 + k, swap_bytes=k, cpu_percent=1.5)
        for k in range(5)
    ]
    with run.sample_writer() as writer:
        for sample in taken:
            writer.write(sample)
    with (tmp_path / "run" / "samples.csv").open("a") as stream:
        stream.write("2.5,2.5,10")  # torn by a crash: no newline, fields missing
    source = ReplaySource.from_csv(tmp_path / "run" / "samples.csv")
    replayed = list(source.stream(5.0, threading.Event()))
    assert replayed == taken
    assert source.cost() == {"replayed_samples": 5}  # nothing sampled: no sampling cost to tell


def test_a_soak_is_replayed_on_its_simulated_clock(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text(HEADER + "0.1,0.0,100,,0,0,\n0.2,60.0,200,,0,0,\n,,,,,,\n")
    replayed = list(ReplaySource.from_csv(path).stream(1.0, threading.Event()))
    assert [(s.t_wall_s, s.t_sim_s, s.rss_bytes) for s in replayed] == [(0.0, 0.0, 100), (60.0, 60.0, 200)]


def test_the_stop_event_ends_a_replay_between_two_samples(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text(HEADER + "".join(f"{k},{k},{k + 1},,0,0,\n" for k in range(100)))
    stop, seen = threading.Event(), []
    for sample in ReplaySource.from_csv(path).stream(1.0, stop):
        seen.append(sample)
        if len(seen) == 3:
            stop.set()
    assert len(seen) == 3


def test_a_missing_file_or_one_without_rss_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(UsageError, match=r"no such file; give a run's samples\.csv"):
        ReplaySource.from_csv(tmp_path / "nope.csv")
    (tmp_path / "other.csv").write_text("time,value\n1,2\n")
    with pytest.raises(NotARunFile, match="no t_wall_s column"):
        ReplaySource.from_csv(tmp_path / "other.csv")
