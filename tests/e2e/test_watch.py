"""`leakhunt watch` on this host: real processes that leak, stay flat, exit or look alike."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import HELPERS, start
from tests.e2e.conftest import assert_real_figure, leakhunt, load_json, start_leakhunt
from tests.e2e.test_errors import assert_one_line_usage_error
from tests.helpers.processes import spawn, stop, under_agent
from tests.helpers.systemctl import install_systemctl

MB = 1e6


def test_a_leaking_pid_fails_the_growth_gate_with_exit_1_and_a_full_report(tmp_path, leaker):
    out = tmp_path / "run"
    result = leakhunt(
        "watch",
        "--pid",
        str(leaker.pid),
        "--duration",
        "6s",
        "--interval",
        "200ms",
        "--expect",
        "growth<50MB/h",
        "--out",
        str(out),
    )
    assert result.returncode == 1, result.stderr
    summary = load_json(out / "summary.json")
    assert summary["verdict"] == "LEAK"
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(20 * 2**20 * 60, rel=0.10)
    assert summary["criteria"][0]["passed"] is False
    assert (out / "report.html").exists()
    assert_real_figure(out / "memory.png")
    cost = load_json(out / "meta.json")["cost"]
    # The cost line counts all of leakhunt's CPU while it sampled, of which the reads are a part.
    assert 0 < cost["sampler_cpu_s"] <= cost["leakhunt_cpu_s"]
    assert cost["leakhunt_core_fraction"] == pytest.approx(
        cost["leakhunt_cpu_s"] / load_json(out / "meta.json")["wall_s"], rel=0.05
    )
    assert "leakhunt used" in result.stdout and "% of a core while sampling" in result.stdout


def test_a_stable_pid_passes_with_exit_0(tmp_path, idle):
    out = tmp_path / "run"
    result = leakhunt(
        "watch",
        "--pid",
        str(idle.pid),
        "--duration",
        "4s",
        "--interval",
        "100ms",
        "--expect",
        "growth<50MB/h",
        "--expect",
        "swap==0",
        "--expect",
        "restarts==0",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    summary = load_json(out / "summary.json")
    assert summary["verdict"] == "STABLE"
    assert all(c["passed"] for c in summary["criteria"])


# What a watch must not hold while it samples: the report's libraries (pandas, scipy,
# matplotlib, loaded at the end) and psutil (the loop reads /proc itself). Each has compiled
# parts, so a loaded one shows in /proc/PID/maps.
NOT_WHILE_SAMPLING = ("pandas", "scipy", "matplotlib", "psutil")


def loaded_packages(pid: int) -> set[str]:
    """The site-packages packages whose shared objects a process has mapped."""
    paths = {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()}
    return {path.split("site-packages/", 1)[1].split("/")[0] for path in paths if "site-packages/" in path}


def test_a_watch_samples_without_the_reports_libraries_and_sigterm_ends_it_with_a_report(tmp_path, idle):
    out = tmp_path / "run"
    process = start_leakhunt("watch", "--pid", str(idle.pid), "--interval", "100ms", "--out", str(out))
    # The first live line is printed by the first sample: the loop is running.
    lines = [process.stderr.readline() for _ in range(2)]
    assert lines[0].startswith("watching ") and lines[1].startswith("t "), lines
    mapped = loaded_packages(process.pid)
    assert "numpy" in mapped  # the live fit's, and proof that the maps are read
    assert not {name for name in mapped if name.split(".")[0] in NOT_WHILE_SAMPLING}, sorted(mapped)
    process.send_signal(signal.SIGTERM)  # as Ctrl-C: the report of what was sampled
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert load_json(out / "meta.json")["exit_reason"] == "interrupted"
    assert load_json(out / "summary.json")["n_samples"] >= 1
    assert_real_figure(out / "memory.png")


def test_a_process_that_exits_ends_the_run_with_its_reason(tmp_path):
    process = start(str(HELPERS / "leaker.py"), str(2**20), "4.0")
    out = tmp_path / "run"
    leakhunt(
        "watch",
        "--pid",
        str(process.pid),
        "--duration",
        "60s",
        "--interval",
        "100ms",
        "--out",
        str(out),
        check_rc=0,
    )
    process.wait()
    meta = load_json(out / "meta.json")
    assert meta["exit_reason"] == "target_exited"
    assert any(e["kind"] == "exited" for e in meta["events"])
    assert load_json(out / "summary.json")["n_samples"] >= 3


def test_a_target_that_died_proves_no_criterion_and_exits_1(tmp_path):
    # The incident's gate on a process that lived 3 s: no pass can be claimed from it, whatever
    # its few samples say (it does not grow, so each criterion would pass on its own).
    process = start(str(HELPERS / "leaker.py"), "0", "3")
    out = tmp_path / "run"
    result = leakhunt(
        "watch", "--pid", str(process.pid), "--duration", "60s", "--interval", "100ms",
        "--expect", "growth<50MB/h", "--expect", "rss<2GB@30m", "--expect", "swap==0", "--out", str(out),
    )  # fmt: skip
    process.wait()
    assert result.returncode == 1, result.stderr
    criteria = load_json(out / "summary.json")["criteria"]
    assert [c["status"] for c in criteria] == ["NOT PROVEN"] * 3
    assert "run for at least 30 min" in criteria[1]["detail"]
    assert "the target exited before the end" in criteria[2]["detail"]
    assert "NOT PROVEN" in result.stdout


def test_an_idle_web_server_under_load_is_stable_not_a_leak(tmp_path):
    # The false-alarm panel's real member: RSS jitters with every request, and does not grow.
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("<p>hello</p>" * 1000)
    server = spawn(
        [sys.executable, str(HELPERS / "web_server.py"), str(tmp_path / "www")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    port = int(server.stdout.readline().split()[1])
    load = start(str(HELPERS / "load.py"), f"http://127.0.0.1:{port}/index.html")
    try:
        out = tmp_path / "run"
        leakhunt(
            "watch", "--pid", str(server.pid), "--duration", "30s", "--interval", "100ms",
            "--expect", "growth<50MB/h", "--out", str(out), check_rc=0,
        )  # fmt: skip
    finally:
        for process in (load, server):
            process.stdin.close()
            process.wait(timeout=30)
    summary = load_json(out / "summary.json")
    assert summary["verdict"] == "STABLE", summary["verdict_reason"]
    assert summary["criteria"][0]["status"] == "PASS"


def test_match_with_two_candidates_lists_both(tmp_path):
    token = f"leakhunt-test-{uuid.uuid4().hex}"
    twins = [
        start("-c", f"import sys; print('ready', flush=True); sys.stdin.read()  # {token}") for _ in range(2)
    ]
    try:
        result = leakhunt("watch", "--match", token, "--duration", "1s")
        assert_one_line_usage_error(result, "matches 2 processes", str(twins[0].pid), str(twins[1].pid))
    finally:
        for twin in twins:
            stop(twin)


def test_match_finds_the_one_process(tmp_path, idle):
    token = f"leakhunt-test-{uuid.uuid4().hex}"
    single = start("-c", f"import sys; print('ready', flush=True); sys.stdin.read()  # {token}")
    try:
        out = tmp_path / "run"
        leakhunt(
            "watch",
            "--match",
            token,
            "--duration",
            "1s",
            "--interval",
            "200ms",
            "--out",
            str(out),
            check_rc=0,
        )
        assert load_json(out / "meta.json")["source"] == f"pid {single.pid}"
    finally:
        stop(single)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--pid", "999999999"], ["no process with PID 999999999"]),
        ([], ["exactly one of --pid, --unit, --match or --replay"]),
        (["--pid", "1", "--match", "x"], ["exactly one of"]),
        (["--unit", "x; touch /tmp/owned"], ["is not a systemd unit name"]),
        (["--match", "("], ["not a regular expression"]),
        (["--pid", "1", "--interval", "0"], ["--interval must be positive"]),
        (["--pid", "1", "--expect", "rss<"], ["METRIC OP VALUE"]),
        (["--pid", "1", "--host", "vps", "--agent"], ["--agent works on this host only"]),
        (
            ["--pid", "1", "--host", "vps", "--agent-socket", "/tmp/x.sock"],
            ["--agent works on this host only"],
        ),
        (["--pid", "1", "--accept-new-host-key"], ["go with --host"]),
    ],
)
def test_bad_watch_input_is_one_line_and_exit_2(args, words):
    assert_one_line_usage_error(leakhunt("watch", *args), *words)
    assert not Path("/tmp/owned").exists()


@pytest.fixture(scope="module")
def vps():
    from tests.sampling.sshd import start_sshd

    server = start_sshd()
    server.trust()
    yield server
    server.stop()


def test_watch_over_ssh_through_an_alias_writes_the_same_run_and_gates_on_criteria(tmp_path, vps, leaker):
    out = tmp_path / "run"
    result = leakhunt(
        "watch",
        "--host",
        "vps",
        "--ssh-config",
        str(vps.ssh_config),
        "--known-hosts",
        str(vps.known_hosts),
        "--pid",
        str(leaker.pid),
        "--duration",
        "4s",
        "--interval",
        "200ms",
        "--expect",
        "growth<50MB/h",
        "--out",
        str(out),
    )
    assert result.returncode == 1, result.stderr
    summary = load_json(out / "summary.json")
    assert summary["verdict"] == "LEAK"
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(20 * 2**20 * 60, rel=0.10)
    meta = load_json(out / "meta.json")
    assert meta["source"] == f"pid {leaker.pid} on vps"
    assert meta["cost"]["remote_cpu_s_per_sample"] is not None


def test_an_unknown_host_key_over_the_cli_is_one_line(tmp_path, vps, idle):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = leakhunt(
        "watch",
        "--host",
        "vps",
        "--ssh-config",
        str(vps.ssh_config),
        "--known-hosts",
        str(empty),
        "--pid",
        str(idle.pid),
        "--duration",
        "1s",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == 1
    assert not (tmp_path / "run").exists()  # a watch that never started leaves nothing
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--accept-new-host-key" in lines[0] and "Traceback" not in result.stderr


def test_accept_new_host_key_over_the_cli_records_the_key_and_the_next_watch_needs_no_flag(
    tmp_path, vps, idle
):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    remote = ["--host", "vps", "--ssh-config", str(vps.ssh_config), "--known-hosts", str(known_hosts)]
    watch = ["--pid", str(idle.pid), "--duration", "1s", "--interval", "250ms"]
    leakhunt("watch", *remote, "--accept-new-host-key", *watch, "--out", str(tmp_path / "first"), check_rc=0)
    assert known_hosts.read_text() == vps.known_hosts_line()
    leakhunt("watch", *remote, *watch, "--out", str(tmp_path / "second"), check_rc=0)
    assert load_json(tmp_path / "second" / "summary.json")["n_samples"] >= 4


def test_a_probe_that_fails_is_an_event_and_the_watch_goes_on(tmp_path, idle):
    # A socket left behind by a service that died: private, but nobody listens on it.
    socket_dir = tmp_path / "agent"
    socket_dir.mkdir(mode=0o700)
    stale = socket_dir / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(stale))
    stale.chmod(0o600)
    out = tmp_path / "run"
    leakhunt(
        "watch",
        "--pid",
        str(idle.pid),
        "--agent-socket",
        str(stale),
        "--probe-interval",
        "1s",
        "--duration",
        "2s",
        "--interval",
        "250ms",
        "--out",
        str(out),
        check_rc=0,
    )
    failed = [e for e in load_json(out / "meta.json")["events"] if e["kind"] == "probe_failed"]
    assert failed and all("did not answer" in e["text"] for e in failed)
    assert not (out / "summaries.jsonl").exists()
    summary = load_json(out / "summary.json")
    assert summary["n_samples"] >= 8 and summary["attribution"]["probes"] == 0
    assert (
        "did not answer" in summary["attribution"]["statement"]
        or "no probe" in summary["attribution"]["statement"].lower()
    )


def test_watch_with_the_agent_names_what_grows_in_a_live_service(tmp_path):
    socket_path = tmp_path / "agent" / "leaker.sock"
    service = spawn(
        [
            sys.executable,
            "-m",
            "leakhunt.agent",
            "--socket",
            str(socket_path),
            "--",
            str(HELPERS / "leaker.py"),
            str(5 * 2**20),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on" in service.stderr.readline()
        assert service.stdout.readline().strip() == "ready"
        out = tmp_path / "run"
        leakhunt(
            "watch",
            "--pid",
            str(service.pid),
            "--agent-socket",
            str(socket_path),
            "--probe-interval",
            "1s",
            "--duration",
            "5s",
            "--interval",
            "250ms",
            "--out",
            str(out),
            check_rc=0,
        )
        attribution = load_json(out / "summary.json")["attribution"]
        assert attribution["types"][0]["name"] == "bytearray"
        assert "Python objects explain" in attribution["statement"]
        assert service.poll() is None
    finally:
        stop(service)


@pytest.mark.parametrize("over_ssh", [False, True])
def test_matching_log_lines_are_marked_as_events(tmp_path, idle, vps, over_ssh):
    log = tmp_path / "service.log"
    log.write_text(
        "INFO started\nINFO Memory cleanup complete: freed 126.7MB\nWARN slow fetch\n"
        "INFO Memory cleanup complete: freed 12.1MB\n"
    )
    out = tmp_path / "run"
    remote = ["--host", "vps", "--ssh-config", str(vps.ssh_config), "--known-hosts", str(vps.known_hosts)]
    leakhunt(
        "watch",
        *(remote if over_ssh else []),
        "--pid",
        str(idle.pid),
        "--duration",
        "2s",
        "--interval",
        "250ms",
        "--events",
        f"tail -n +1 -f {log}",
        "--event-match",
        "Memory cleanup complete",
        "--out",
        str(out),
        check_rc=0,
    )
    marked = [e for e in load_json(out / "meta.json")["events"] if e["kind"] == "log"]
    assert [e["line"] for e in marked] == [
        "INFO Memory cleanup complete: freed 126.7MB",
        "INFO Memory cleanup complete: freed 12.1MB",
    ]


def test_events_without_a_pattern_is_a_usage_error(idle):
    assert_one_line_usage_error(
        leakhunt("watch", "--pid", str(idle.pid), "--events", "tail -f /dev/null"),
        "--events and --event-match go together",
    )


def test_a_log_line_in_the_last_interval_is_kept_when_the_target_exits(tmp_path):
    """The relay prints the line, then acknowledges; only then the target exits (no sample between).

    A follower drained only after samples loses it: the exit, not a sample, ends the run.
    """
    line_fifo, ack_fifo = tmp_path / "line", tmp_path / "ack"
    os.mkfifo(line_fifo)
    os.mkfifo(ack_fifo)
    target = start(
        "-c",
        "import sys; print('ready', flush=True); sys.stdin.readline();"
        f" open({str(line_fifo)!r}, 'w').write('INFO Memory cleanup complete: freed 9.9MB\\n');"
        f" open({str(ack_fifo)!r}).read()",
    )
    out = tmp_path / "run"
    watch = start_leakhunt(
        "watch",
        "--pid",
        str(target.pid),
        "--duration",
        "10m",
        "--interval",
        "1s",
        "--events",
        f"sh -c 'cat {line_fifo}; echo relayed > {ack_fifo}; exec sleep 600'",
        "--event-match",
        "Memory cleanup complete",
        "--out",
        str(out),
    )
    # Off a terminal the first sample prints a line `t ... RSS ...`: sampling has begun.
    while not watch.stderr.readline().lstrip().startswith("t "):
        assert watch.poll() is None, "watch ended before its first sample"
    target.stdin.write("go\n")
    target.stdin.flush()
    target.wait()
    _, stderr = watch.communicate(timeout=120)
    assert watch.returncode == 0, stderr
    meta = load_json(out / "meta.json")
    assert meta["exit_reason"] == "target_exited"
    assert [e["line"] for e in meta["events"] if e["kind"] == "log"] == [
        "INFO Memory cleanup complete: freed 9.9MB"
    ]


UNIT = "virtuoso-trading.service"


def first_on_path(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def test_watch_unit_on_this_host_follows_the_main_pid_across_a_restart(tmp_path, idle):
    successor = start("-c", "import sys; print('ready', flush=True); sys.stdin.read()")
    stand_in = install_systemctl(tmp_path, UNIT, (idle.pid, successor.pid), restart_after_calls=4)
    out = tmp_path / "run"
    try:
        leakhunt(
            "watch",
            "--unit",
            UNIT,
            "--duration",
            "2s",
            "--interval",
            "100ms",
            "--expect",
            "restarts==1",
            "--out",
            str(out),
            env={"PATH": first_on_path(tmp_path)},
            check_rc=0,
        )
    finally:
        stop(successor)
    meta = load_json(out / "meta.json")
    assert meta["source"] == f"unit {UNIT} (pid {idle.pid})"
    # The stand-in stopped the first process and said MainPID=0 twice before the second started,
    # as systemd does: the watch goes on through it and samples the successor.
    assert meta["exit_reason"] == "completed"
    restarts = [e for e in meta["events"] if e["kind"] == "restart"]
    assert [(e["old_pid"], e["new_pid"], e["restarts"]) for e in restarts] == [(idle.pid, successor.pid, 1)]
    assert "no main process for" in restarts[0]["text"]
    summary = load_json(out / "summary.json")
    assert summary["criteria"][0]["passed"] is True
    calls = stand_in.calls()
    assert len(calls) >= summary["n_samples"] and set(calls) == {stand_in.expected_call()}


def test_a_unit_without_a_main_process_is_one_line(tmp_path, idle):
    install_systemctl(tmp_path, UNIT, (idle.pid, idle.pid), restart_after_calls=1)
    result = leakhunt(
        "watch", "--unit", "other.service", "--duration", "1s", env={"PATH": first_on_path(tmp_path)}
    )
    assert_one_line_usage_error(result, "unit other.service has no running main process", "MainPID=0")


def test_a_host_without_systemctl_says_to_use_pid_or_match(tmp_path):
    result = leakhunt("watch", "--unit", UNIT, "--duration", "1s", env={"PATH": str(tmp_path)})
    assert_one_line_usage_error(result, "--unit needs systemctl", "use --pid or --match")


def test_a_sampler_stopped_by_the_host_records_the_samples_it_missed_and_never_backfills_them(tmp_path, idle):
    # SIGSTOP holds the whole leakhunt process, as a paused VM or a swapped-out host would.
    out, interval_s = tmp_path / "run", 0.05
    watch = start_leakhunt(
        "watch", "--pid", str(idle.pid), "--interval", "50ms", "--duration", "4s", "--out", str(out)
    )
    try:
        # The first sample's line (after the "watching ..." lines): sampling has begun.
        assert any(line.startswith("t ") for line in iter(watch.stderr.readline, ""))
        os.kill(watch.pid, signal.SIGSTOP)
        stopped_at_s, chunk = time.monotonic(), bytes(10_000_000)
        # Held for ten intervals at least, whatever this machine's speed: the fault, not a wait
        # for something to happen.
        while time.monotonic() - stopped_at_s < 10 * interval_s:
            hashlib.sha256(chunk).digest()
        os.kill(watch.pid, signal.SIGCONT)
        held_s = time.monotonic() - stopped_at_s
        watch.communicate(timeout=120)
    finally:
        watch.kill()
    assert watch.returncode == 0
    meta = load_json(out / "meta.json")
    missed = [event for event in meta["events"] if event["kind"] == "missed"]
    assert sum(event["missed"] for event in missed) == meta["cost"]["missed_samples"]
    assert meta["cost"]["missed_samples"] >= held_s / interval_s - 2  # the due times it was held over
    import pandas as pd

    t_s = pd.read_csv(out / "samples.csv")["t_wall_s"].to_numpy()
    slots = (t_s / interval_s).astype(int)
    assert len(set(slots)) == len(slots)  # one row per due time at most: no burst of duplicates
    # The rows and the missed samples together account for every due time of the run.
    assert len(t_s) + meta["cost"]["missed_samples"] == pytest.approx(slots[-1] + 1, abs=2)


def test_a_replayed_run_goes_through_the_same_watch_and_gets_the_same_verdict(tmp_path):
    from leakhunt.analysis.synthetic import service_at_rest

    t_s, rss_bytes, _ = service_at_rest(4, 3 * MB, minutes=60, interval_s=1.0)
    recorded = tmp_path / "samples.csv"
    rows = "".join(f"{t:.1f},{t:.1f},{int(r)},,0,2.0,\n" for t, r in zip(t_s, rss_bytes, strict=True))
    recorded.write_text("t_wall_s,t_sim_s,rss_bytes,uss_bytes,swap_bytes,cpu_percent,py_heap_bytes\n" + rows)
    result = leakhunt(
        "watch",
        "--replay",
        str(recorded),
        "--expect",
        "rss<2GB@30m",
        "--out",
        str(tmp_path / "run"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "LEAK"
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(3 * MB, rel=0.05)
    assert summary["criteria"][0]["status"] == "PASS"
    # A line every 10 s of the recorded run on stderr, however fast the replay went.
    assert sum(line.startswith("t ") for line in result.stderr.splitlines()) == 361
    assert_real_figure(tmp_path / "run" / "memory.png")


def test_probes_longer_than_the_interval_leave_one_row_per_due_time(tmp_path):
    # 100,000 dicts under the agent: each count (0.3 s idle, 0.15 s on a fast host) takes longer
    # than the 50 ms interval and the 100 ms probe interval, so probes come due during a walk,
    # and well within the 5 s probe deadline of a 10 s watch even on a loaded host (300,000
    # took over 5 s at a load of 9 and no probe was kept).
    service = under_agent("agent_child.py", "100000")
    out, interval_s = tmp_path / "run", 0.05
    try:
        assert service.stdout.readline().strip() == "ready"
        service.stdin.write("\n")
        service.stdin.flush()
        assert service.stdout.readline().strip() == "grown"
        args = ["--pid", str(service.pid), "--agent", "--probe-interval", "100ms", "--interval", "50ms"]
        leakhunt("watch", *args, "--duration", "10s", "--out", str(out), check_rc=0)
    finally:
        stop(service)
    summaries = [json.loads(line) for line in (out / "summaries.jsonl").read_text().splitlines()]
    assert summaries and max(s["child"]["walk_s"] for s in summaries if s.get("child")) > 2 * interval_s
    import pandas as pd

    t_s = pd.read_csv(out / "samples.csv")["t_wall_s"].to_numpy()
    slots = (t_s / interval_s).astype(int)
    assert len(set(slots)) == len(slots)  # no burst of identical rows after a probe
    meta = load_json(out / "meta.json")
    missed = meta["cost"]["missed_samples"]
    assert len(t_s) + missed == pytest.approx(slots[-1] + 1, abs=2)  # every due time is a row or a gap
    # Probes that came due during a walk are counted, so a missing holder can be explained.
    counts = meta["probe_counts"]
    assert counts["late"] >= 1 and counts["asked"] == counts["answered"] + counts["failed"]
    assert counts["answered"] == len(summaries)


def test_a_probe_still_counting_when_the_watch_ends_is_killed_at_its_deadline_not_waited_for(tmp_path):
    # Two million dicts: a walk takes longer than the 5 s deadline of a 4 s watch (half of it, at
    # least 5 s), so the watch ends one deadline after its duration at most, and says why.
    service = under_agent("agent_child.py", "2000000")
    out = tmp_path / "run"
    try:
        assert service.stdout.readline().strip() == "ready"
        service.stdin.write("\n")
        service.stdin.flush()
        assert service.stdout.readline().strip() == "grown"
        args = ["--pid", str(service.pid), "--agent", "--interval", "0.5s", "--duration", "4s"]
        leakhunt("watch", *args, "--out", str(out), check_rc=0)
        assert service.poll() is None  # the agent killed its child, not the service
    finally:
        stop(service)
    meta = load_json(out / "meta.json")
    assert meta["probe_deadline_s"] == 10.0  # the child's 5 s and 5 s for the agent's answer
    assert meta["wall_s"] < 4.0 + meta["probe_deadline_s"]
    failed = [e["text"] for e in meta["events"] if e["kind"] == "probe_failed"]
    assert failed and "the snapshot child took over 5 s: killed" in failed[0]
    statement = load_json(out / "summary.json")["attribution"]["statement"]
    assert "took over 5 s: killed" in statement


def test_a_one_minute_agent_watch_with_default_options_calls_a_steady_19_mb_per_min_leak(tmp_path):
    # What a user types: no --interval. RSS is sampled at the watch's own interval (half a second
    # for a minute), probes at theirs (every 10 s): a verdict, where every 5 s gave 13 points.
    rate_bytes_per_s = 19e6 / 60
    service = spawn(
        [sys.executable, "-m", "leakhunt.agent", "--", str(HELPERS / "leaker.py"), str(rate_bytes_per_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out = tmp_path / "run"
    try:
        assert service.stdout.readline().strip() == "ready"
        args = ["--pid", str(service.pid), "--agent", "--duration", "60s"]
        leakhunt("watch", *args, "--out", str(out), check_rc=0)
    finally:
        stop(service)
    meta, summary = load_json(out / "meta.json"), load_json(out / "summary.json")
    assert meta["interval_s"] == 0.5 and summary["n_samples"] >= 100
    assert summary["verdict"] == "LEAK", summary["verdict_reason"]
    assert summary["growth"]["slope_bytes_per_min"] == pytest.approx(19e6, rel=0.15)
    assert summary["attribution"]["probes"] >= 5
    assert summary["attribution"]["types"][0]["name"] == "bytearray"
