"""`leakhunt watch`, run in process: a saved run replayed (as fast as it goes) and a real process
watched for a second; the options reach the run's meta.json, the replayed run's memory limit is
told again unless --memory-limit overrides it, progress goes to stderr and results to stdout, a
failed or unproven criterion exits 1, and every option mistake is one line and exit 2, before any
connection; a watch that never started leaves no run directory behind."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.commands.conftest import interrupt_once_sampled, leakhunt, refusal

LIMIT_BYTES = 3_000_000_000
MARK = f"leakhunt-commands-idle-{os.getpid()}"  # what --match finds: this worker's child alone


def load(path):
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Half a simulated minute of the smoke scenario, judged against a 3 GB limit: its samples.csv."""
    out = tmp_path_factory.mktemp("watch") / "soak"
    ran = leakhunt("soak", "--scenario", "smoke", "--minutes", "0.5", "--probe-interval", "0",
                   "--memory-limit", "3GB", "--out", out)  # fmt: skip
    assert ran.code == 0, ran.err
    return out / "samples.csv"


@pytest.fixture(scope="module")
def replayed(saved, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("watch-replay")
    out = cwd / "run"
    ran = leakhunt("watch", "--replay", saved, "--expect", "rss<2GB", "--out", "run", cwd=cwd)
    return ran, out, load(out / "meta.json")


@pytest.fixture
def idle():
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; print('ready', flush=True); sys.stdin.read()  # {MARK}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline() == "ready\n"
    yield process
    process.stdin.close()
    process.wait(timeout=30)
    process.stdout.close()


def test_a_replay_reaches_the_run_with_the_replayed_runs_memory_limit(replayed, saved):
    ran, _, meta = replayed
    assert ran.code == 0, ran.err
    assert meta["target"] == {"pid": None, "unit": None, "match": None, "host": None,
                              "memory_limit_bytes": LIMIT_BYTES, "replay": str(saved)}  # fmt: skip
    assert (meta["command"], meta["label"], meta["source"]) == ("watch", "replay", f"replay of {saved}")
    assert (meta["interval_s"], meta["duration_s"], meta["memory_limit_bytes"]) == (5.0, None, LIMIT_BYTES)
    assert (meta["probe_interval_s"], meta["probe_cadence"]) == (
        10.0,
        "auto: every 10 s, doubling every 6 probes",
    )
    assert (meta["expect"], meta["allow_unproven"], meta["agent"]) == (["rss<2GB"], False, False)


def test_progress_goes_to_stderr_and_results_to_stdout(replayed, saved):
    ran, out, _ = replayed
    first, *lines = ran.err_lines
    assert first == f"watching replay of {saved} until Ctrl-C, every 5 s; writing run"
    assert lines and all(line.startswith("t    0.") and "  RSS " in line for line in lines), lines
    assert ran.out.splitlines()[2].startswith("replay  ")
    assert "  PASS rss<2GB: rss at the end " in ran.out
    assert ran.out.splitlines()[-1] == "run directory: run  (report.html, memory.png)"
    assert (out / "report.html").is_file()


def test_every_option_of_a_replay_reaches_the_run_and_json_is_alone_on_stdout(saved, tmp_path):
    out = tmp_path / "run"
    ran = leakhunt("watch", "--replay", saved, "--memory-limit", "1GB", "--duration", "20s",
                   "--interval", "2s",
                   "--probe-interval", "0", "--expect", "rss<2GB@2h", "--allow-unproven", "--json",
                   "--out", "run", cwd=tmp_path)  # fmt: skip
    assert ran.code == 0, ran.err
    meta = load(out / "meta.json")
    assert (meta["memory_limit_bytes"], meta["target"]["memory_limit_bytes"]) == (
        1_000_000_000,
        1_000_000_000,
    )
    assert (meta["duration_s"], meta["interval_s"], meta["probe_interval_s"]) == (20.0, 2.0, None)
    assert (meta["expect"], meta["allow_unproven"]) == (["rss<2GB@2h"], True)
    summary = json.loads(ran.out)
    assert summary == load(out / "summary.json")
    assert summary["criteria"][0]["status"] == "NOT PROVEN"
    assert ran.err_lines[0] == f"watching replay of {saved} for 20 s, every 2 s; writing run"
    assert ran.err_lines[-1] == "run directory: run  (report.html, memory.png)"


def test_without_out_a_replay_goes_to_reports_named_by_time_command_and_label(saved, tmp_path):
    ran = leakhunt("watch", "--replay", saved, cwd=tmp_path)
    assert ran.code == 0, ran.err
    (out,) = (tmp_path / "reports").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-watch-replay", out.name), out.name


def test_an_unproven_criterion_exits_1(saved, tmp_path):
    ran = leakhunt("watch", "--replay", saved, "--expect", "rss<2GB@2h", "--out", tmp_path / "run")
    assert ran.code == 1
    assert load(tmp_path / "run" / "summary.json")["criteria"][0]["status"] == "NOT PROVEN"


@pytest.mark.parametrize(
    ("meta", "limit_bytes"),
    [(None, None), ("{", None), ("[1, 2]", None), ('{"memory_limit_bytes": 5}', 5)],
    ids=["no meta.json", "torn meta.json", "not an object", "its limit"],
)
def test_a_replay_without_a_readable_meta_json_has_no_limit(saved, tmp_path, meta, limit_bytes):
    source = tmp_path / "source"
    source.mkdir()
    (source / "samples.csv").write_bytes(saved.read_bytes())
    if meta is not None:
        (source / "meta.json").write_text(meta)
    ran = leakhunt("watch", "--replay", source / "samples.csv", "--out", tmp_path / "run")
    assert ran.code == 0, ran.err
    assert load(tmp_path / "run" / "meta.json")["memory_limit_bytes"] == limit_bytes


def test_a_replay_with_no_samples_is_one_error_line_after_the_start(saved, tmp_path):
    source = tmp_path / "[bold]" / "samples.csv"  # brackets in a path are not markup
    source.parent.mkdir()
    source.write_text(saved.read_text().splitlines()[0] + "\n")  # the header alone
    out = tmp_path / "run"
    ran = leakhunt("watch", "--replay", source, "--out", out)
    assert (ran.code, ran.out) == (1, "")
    assert ran.err_lines == [
        f"watching replay of {source} until Ctrl-C, every 5 s; writing {out}",
        f"error: no sample was taken (completed); see {out}/meta.json",
    ]


def test_a_live_process_is_watched_for_its_duration_with_its_log_events(idle, tmp_path):
    out = tmp_path / "run"
    ran = leakhunt("watch", "--pid", idle.pid, "--duration", "1s", "--interval", "0.5s",
                   "--events", "echo Memory cleanup complete", "--event-match", "cleanup",
                   "--out", "run", cwd=tmp_path)  # fmt: skip
    assert ran.code == 0, ran.err
    meta = load(out / "meta.json")
    assert meta["target"] == {
        "pid": idle.pid,
        "unit": None,
        "match": None,
        "host": None,
        "memory_limit_bytes": None,
    }
    assert (meta["label"], meta["source"], meta["duration_s"], meta["interval_s"]) == (
        str(idle.pid), f"pid {idle.pid}", 1.0, 0.5,
    )  # fmt: skip
    assert [(e["kind"], e["line"]) for e in meta["events"]] == [("log", "Memory cleanup complete")]
    assert ran.err_lines[0] == f"watching pid {idle.pid} for 1 s, every 0.5 s; writing run"
    assert ran.out.splitlines()[-1] == "run directory: run  (report.html, memory.png)"


def test_a_process_found_by_match_is_labelled_by_the_pattern(idle, tmp_path):
    ran = leakhunt("watch", "--match", MARK, "--duration", "1s", "--out", "run", cwd=tmp_path)
    assert ran.code == 0, ran.err
    meta = load(tmp_path / "run" / "meta.json")
    assert (meta["label"], meta["target"]["match"], meta["target"]["pid"]) == (
        MARK,
        MARK,
        None,
    )
    assert meta["interval_s"] == 0.5  # auto: a 120th of the duration, at least 0.5 s
    assert ran.err_lines[0].endswith(" for 1 s, every 0.5 s; writing run")


REFUSED_SSH = "Host h\n  HostName 127.0.0.1\n  StrictHostKeyChecking no\n"


def test_an_ssh_config_refused_before_connecting_leaves_no_run_directory(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(REFUSED_SSH)
    line = refusal("watch", "--host", "h", "--pid", "1", "--ssh-config", config, "--out", tmp_path / "run")
    assert line.startswith(f"error: {config} line 3: StrictHostKeyChecking no: a host key is always checked")
    assert not (tmp_path / "run").exists()


def test_a_refused_watch_keeps_what_was_in_an_existing_out_and_only_that(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(REFUSED_SSH)
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    refusal("watch", "--host", "h", "--pid", "1", "--ssh-config", config, "--out", out)
    assert [path.name for path in out.iterdir()] == ["mine.txt"]


MATCHES = "error: give exactly one of --pid, --unit, --match or --replay"
REPLAY_ONLY = "error: --replay plays samples already taken: --host, --agent and --events do not apply"
WITH_HOST = "error: --ssh-config, --known-hosts and --accept-new-host-key go with --host"
AGENT_HERE = "error: --agent works on this host only: run leakhunt watch on the service's host"
TOGETHER = "error: --events and --event-match go together: a log command and the lines to mark"
NOT_A_DURATION = "is not a duration such as 500ms, 30s, 5m, 2h or a bare number of seconds"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--pid", "PID", "--events", "true"), TOGETHER),
        (("--pid", "PID", "--event-match", "x"), TOGETHER),
        (("--pid", "PID", "--duration", "0"), "error: --duration must be positive, got 0"),
        (("--pid", "PID", "--duration", "soon"), f"error: --duration: 'soon' {NOT_A_DURATION}"),
        (("--pid", "PID", "--interval", "0"), "error: --interval must be positive, got 0"),
        (("--pid", "PID", "--memory-limit", "0"), "error: --memory-limit must be above zero, "
         "got '0': give a size such as 6GB"),
        (("--pid", "PID", "--probe-interval", "soon"), f"error: --probe-interval: 'soon' {NOT_A_DURATION}"),
        (("--pid", "PID", "--agent", "--search-limit", "10"),
         "error: --search-limit takes 1,000 objects or more, got 10"),
        (("--pid", "PID", "--search-limit", "5000"),
         "error: --search-limit is for the agent's holder search: add --agent"),
        (("--host", "h", "--pid", "1", "--agent"), AGENT_HERE),
        (("--host", "h", "--pid", "1", "--agent-socket", "/x"), AGENT_HERE),
        ((), MATCHES),
        (("--pid", "PID", "--unit", "x.service"), MATCHES),
        (("--pid", "PID", "--match", "x"), MATCHES),
        (("--pid", "PID", "--replay", "samples.csv"), MATCHES),
        (("--replay", "samples.csv", "--host", "h"), REPLAY_ONLY),
        (("--replay", "samples.csv", "--agent"), REPLAY_ONLY),
        (("--replay", "samples.csv", "--agent-socket", "/x"), REPLAY_ONLY),
        (("--replay", "samples.csv", "--events", "true", "--event-match", "x"), REPLAY_ONLY),
        (("--pid", "PID", "--ssh-config", "x"), WITH_HOST),
        (("--pid", "PID", "--known-hosts", "x"), WITH_HOST),
        (("--pid", "PID", "--accept-new-host-key"), WITH_HOST),
        (("--pid", "999999999"),
         "error: no process with PID 999999999: check the PID with `ps` or `pgrep -af NAME`"),
        (("--pid", "PID", "--expect", "rss<"),
         "error: --expect 'rss<' is not understood; write METRIC OP VALUE[@TIME], "
         "e.g. rss<2GB@30m, peak<2.5GB, growth<50MB/h, swap==0, cpu<40%, uptime>8h, restarts==0"),
        (("--pid", "PID", "--agent-socket", "/nonexistent/a.sock"), "error: no leakhunt agent socket at "
         "/nonexistent/a.sock: start the service under `python -m leakhunt.agent -- service.py`"),
    ],
)  # fmt: skip
def test_option_mistakes_are_one_line_and_exit_2_before_any_sample(args, line, tmp_path):
    args = tuple(str(os.getpid()) if arg == "PID" else arg for arg in args)  # a PID that exists
    assert refusal("watch", "--duration", "2s", *args, cwd=tmp_path) == line
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []  # no run directory left behind


def test_a_missing_agent_socket_leaves_no_run_directory(tmp_path):
    # It did: the socket was checked after the run directory (and its 256 KB reserve) was made.
    out = tmp_path / "run"
    refusal("watch", "--pid", str(os.getpid()), "--agent-socket", tmp_path / "none.sock", "--out", out)
    assert not out.exists()


def test_agent_asks_the_socket_of_the_watched_pid_and_a_missing_one_is_one_line(idle, tmp_path):
    from leakhunt.agent_socket import default_directory

    line = refusal("watch", "--pid", str(idle.pid), "--agent", "--duration", "2s", "--out", tmp_path / "run")
    assert line == (
        f"error: no leakhunt agent socket at {default_directory() / f'agent-{idle.pid}.sock'}: "
        "start the service under `python -m leakhunt.agent -- service.py`"
    )
    assert not (tmp_path / "run").exists()


def test_ctrl_c_ends_a_watch_saying_it_writes_the_report_and_exits_130(idle, tmp_path):
    out = tmp_path / "run"
    interrupter = interrupt_once_sampled(out / "samples.csv", rows=3)
    ran = leakhunt("watch", "--pid", idle.pid, "--interval", "50ms", "--out", out)
    interrupter.join()
    assert ran.code == 130, ran
    assert ran.err_lines[-2:] == ["writing the report...", "interrupted"]
    assert json.loads((out / "summary.json").read_text())["exit_reason"] == "interrupted"
