"""The agent: summaries of a real service over a private Unix socket, at no risk to the host.

It runs a service the way python does, adds almost nothing to it, and its probes leave the
service's memory curve where it was (each summary is counted in a forked child).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from leakhunt.agent import _read_request_line, check_socket_is_private, request, request_summary
from leakhunt.analysis.attribution import rank_growing_types
from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.child import read_status_bytes
from tests.helpers.processes import run, spawn
from tests.helpers.processes import stop as kill

HELPERS = Path(__file__).resolve().parent / "helpers"
CHILD = HELPERS / "agent_child.py"
MB = 1e6


def spawn_service(
    socket_path: Path | None, per_step: int = 20000, env: dict | None = None
) -> subprocess.Popen:
    """A real child process started under `python -m leakhunt.agent -- agent_child.py`."""
    socket_args = ["--socket", str(socket_path)] if socket_path else []
    return spawn(
        [sys.executable, "-m", "leakhunt.agent", *socket_args, "--", str(CHILD), str(per_step)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def start_service(
    socket_path: Path | None, per_step: int = 20000, env: dict | None = None
) -> subprocess.Popen:
    process = spawn_service(socket_path, per_step, env)
    assert "listening on" in process.stderr.readline()
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture
def service(tmp_path):
    socket_path = tmp_path / "agent" / "service.sock"
    process = start_service(socket_path)
    yield process, socket_path
    process.stdin.close()
    process.wait(timeout=30)


def grow(process: subprocess.Popen) -> None:
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "grown"


def test_a_service_under_the_agent_names_its_growing_type(service):
    process, socket_path = service
    summaries = []
    for step in range(4):
        summary = request_summary(socket_path)
        summary["t_sim_s"] = step * 60.0  # one step a minute, whatever the wall clock did
        summaries.append(summary)
        grow(process)
    ranked = rank_growing_types(summaries)
    assert ranked[0].name == "dict"
    assert ranked[0].last_count - ranked[0].first_count >= 3 * 20000


def test_a_summary_request_bounds_its_holder_search_and_a_bad_bound_is_refused(service):
    process, socket_path = service
    grow(process)
    bounded = request_summary(socket_path, max_visited=5_000)["holder_search"]
    assert (bounded["max_visited"], bounded["bound_hit"]) == (5_000, True)
    assert request_summary(socket_path)["holder_search"]["max_visited"] == 2_000_000  # the default again
    with pytest.raises(RunError, match="max_visited is a positive number of objects"):
        request(socket_path, {"op": "summary", "max_visited": "lots"})
    assert process.poll() is None


def test_the_host_survives_a_malformed_request(service):
    process, socket_path = service
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))
        client.sendall(b"this is not json\n")
        reply = client.makefile("rb").readline()
    assert b"error" in reply
    with pytest.raises(RunError, match="unknown op"):
        request(socket_path, {"op": "explode"})
    assert request(socket_path, {"op": "ping"})["pid"] == process.pid
    assert process.poll() is None


def test_a_socket_open_to_others_is_refused(service):
    _, socket_path = service
    os.chmod(socket_path, 0o666)
    with pytest.raises(UsageError, match="refusing agent socket"):
        request_summary(socket_path)


def test_the_socket_is_created_private(service):
    _, socket_path = service
    check_socket_is_private(socket_path)
    assert oct(socket_path.stat().st_mode & 0o777) == "0o600"
    assert oct(socket_path.parent.stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_a_peer_of_another_user_is_refused_even_through_an_open_socket():
    # Open the way on purpose (a world-reachable directory, a 0777 socket), so that only the
    # agent's own SO_PEERCRED check stands between another user and the summaries.
    directory = Path(tempfile.mkdtemp(prefix="leakhunt-test-", dir="/tmp"))
    socket_path = directory / "agent" / "service.sock"
    process = start_service(socket_path)
    os.chmod(directory, 0o755)
    os.chmod(socket_path.parent, 0o777)
    os.chmod(socket_path, 0o777)
    nobody = 65534
    probe = (
        "import socket,sys; c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]);"
        "c.sendall(b'{\"op\": \"summary\"}\\n'); print(c.makefile('rb').readline().decode())"
    )
    try:
        # The system interpreter: the project's venv may sit where the other user cannot read.
        result = run(
            ["/usr/bin/python3", "-c", probe, str(socket_path)],
            capture_output=True,
            text=True,
            user=nobody,
            timeout=30,
        )
        assert "refused" in result.stdout, result.stderr
        assert process.poll() is None
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def under_agent(tmp_path: Path, *service: str) -> list[str]:
    return [sys.executable, "-m", "leakhunt.agent", "--socket", str(tmp_path / "a.sock"), "--", *service]


def test_a_script_runs_as_python_runs_it_from_any_directory_with_its_argv_and_exit_code(tmp_path):
    script = HELPERS / "service_dir" / "service.py"
    result = run(
        under_agent(tmp_path, str(script), "3", "--flag", "value"),
        cwd=tmp_path,  # not the script's folder: its sibling module is found through sys.path[0]
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == "sibling imported 3 --flag value"


def test_a_module_runs_with_dash_m_and_a_missing_script_is_one_clear_line(tmp_path):
    result = run(
        under_agent(tmp_path, "-m", "json.tool", "--sort-keys"),
        input='{"b": 1, "a": 2}',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.index('"a"') < result.stdout.index('"b"')  # json.tool got its own argv
    missing = run(
        [sys.executable, "-m", "leakhunt.agent", "--", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "no such script" in missing.stderr


def test_a_service_that_starts_the_agent_itself_is_attributed_by_path(tmp_path):
    socket_path = tmp_path / "embedded.sock"
    process = spawn(
        [sys.executable, str(HELPERS / "embedded_agent.py"), str(socket_path), "5000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        grow(process)
        summary = request_summary(socket_path)
        held = {row["path"]: row for row in summary["holders"]}
        assert held["__main__.SEEN_REQUESTS"]["count"] == 5000
        assert summary["mode"] == "fork" and summary["probe_s"] < summary["child"]["walk_s"]
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def wait_for_port(process: subprocess.Popen) -> None:
    """http.server prints its "Serving HTTP" line once it listens."""
    assert "Serving HTTP" in process.stdout.readline()


def test_the_agent_adds_at_most_2_mb_to_an_idle_web_server(tmp_path):
    def serve(*prefix: str) -> subprocess.Popen:
        # Port 0: each server takes a port of its own, whatever else runs beside the test.
        process = spawn(
            [sys.executable, *prefix, "-m", "http.server", "0", "--bind", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for_port(process)
        return process

    socket_path = tmp_path / "idle.sock"
    plain = serve()
    agent_args = ("-m", "leakhunt.agent", "--socket", str(socket_path), "--")
    served = serve(*agent_args)
    try:
        before_probes_bytes = read_status_bytes(served.pid)[0]
        summaries = [request_summary(socket_path) for _ in range(6)]
        after_probes_bytes = read_status_bytes(served.pid)[0]
        added_bytes = after_probes_bytes - read_status_bytes(plain.pid)[0]
        assert added_bytes <= 2 * MB, f"the agent added {added_bytes / MB:.2f} MB"
        # The count ran in children: six probes leave the service where it was (a page or two).
        assert after_probes_bytes - before_probes_bytes <= 0.25 * MB
        assert all(s["mode"] == "fork" and s["objects"] > 10_000 for s in summaries)
    finally:
        for process in (plain, served):
            kill(process)


def test_probes_every_5_s_leave_a_leaking_service_on_the_curve_of_an_unprobed_one(tmp_path):
    # Both services grow by 2,000 dicts a step; a step stands for a second of a real service.
    probed = start_service(tmp_path / "probed.sock", per_step=2000)
    quiet = start_service(tmp_path / "quiet.sock", per_step=2000)
    rss = {"probed": [], "quiet": []}
    try:
        for step in range(60):
            if step % 5 == 0:
                request_summary(tmp_path / "probed.sock")
            for name, process in (("probed", probed), ("quiet", quiet)):
                grow(process)
                rss[name].append(read_status_bytes(process.pid)[0])
    finally:
        for process in (probed, quiet):
            process.stdin.close()
            process.wait(timeout=30)
    steps = np.arange(60)
    slope = {name: np.polyfit(steps, values, 1)[0] for name, values in rss.items()}
    assert abs(rss["probed"][-1] - rss["quiet"][-1]) <= 1 * MB
    assert slope["probed"] == pytest.approx(slope["quiet"], rel=0.05)


# --- Where the socket lives, and what another local user can do about it ---------------------

NOBODY_UID = 65534


@pytest.fixture
def shared_tmp():
    """A 1777 folder like /tmp, reachable by another user (pytest's tmp_path is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="leakhunt-shared-", dir="/tmp"))
    os.chmod(directory, 0o1777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def default_env(tmp_dir: Path, runtime_dir: Path | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_RUNTIME_DIR", "TEMP", "TMP")}
    env["TMPDIR"] = str(tmp_dir)
    if runtime_dir is not None:
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    return env


def stop(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(timeout=30)


def test_a_socket_in_a_shared_folder_leaves_the_folder_mode_alone(shared_tmp):
    socket_path = shared_tmp / "service.sock"
    process = start_service(socket_path)
    try:
        assert oct(shared_tmp.stat().st_mode & 0o7777) == "0o1777"
        assert oct(socket_path.stat().st_mode & 0o777) == "0o600"
        assert request(socket_path, {"op": "ping"})["pid"] == process.pid
    finally:
        stop(process)


def test_the_default_folder_is_created_private_under_tmpdir(shared_tmp):
    process = start_service(None, env=default_env(shared_tmp))
    try:
        folder = shared_tmp / f"leakhunt-{os.getuid()}"
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert request(folder / f"agent-{process.pid}.sock", {"op": "ping"})["pid"] == process.pid
    finally:
        stop(process)


def test_xdg_runtime_dir_is_preferred_when_it_exists(shared_tmp):
    # Under /tmp, not pytest's tmp_path: a socket path over 107 bytes cannot be bound, and
    # tmp_path's length grows with the run's number and the worker's name.
    runtime = shared_tmp / "run-user"
    runtime.mkdir(mode=0o700)
    process = start_service(None, env=default_env(shared_tmp, runtime))
    try:
        assert (runtime / "leakhunt" / f"agent-{process.pid}.sock").is_socket()
        assert not (shared_tmp / f"leakhunt-{os.getuid()}").exists()
    finally:
        stop(process)


def as_nobody(*command: str) -> None:
    subprocess.run(list(command), user=NOBODY_UID, group=NOBODY_UID, check=True, timeout=30)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
@pytest.mark.parametrize("planted", ["folder", "open folder", "symlink to our own private folder"])
def test_a_folder_another_user_planted_is_refused_and_the_service_still_runs(shared_tmp, tmp_path, planted):
    folder = shared_tmp / f"leakhunt-{os.getuid()}"
    if planted == "folder":
        as_nobody("mkdir", "-m", "700", str(folder))
    elif planted == "open folder":
        as_nobody("mkdir", "-m", "777", str(folder))
    else:
        ours = tmp_path / "ours"
        ours.mkdir(mode=0o700)
        as_nobody("ln", "-s", str(ours), str(folder))
    process = spawn_service(None, env=default_env(shared_tmp))
    try:
        refusal = process.stderr.readline()
        assert refusal.startswith("leakhunt agent not started") and str(folder) in refusal
        assert "--socket" in refusal  # the way out
        assert process.stdout.readline().strip() == "ready"  # the service runs without the agent
        grow(process)
        assert os.lstat(folder).st_uid == NOBODY_UID  # nothing of theirs was changed or used
        assert list(Path(os.path.realpath(folder)).glob("*.sock")) == []
    finally:
        stop(process)
    assert process.returncode == 0
    assert process.stderr.read() == ""


def test_a_socket_path_in_an_unwritable_place_is_one_line_and_the_service_still_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    process = spawn_service(blocker / "agent.sock")
    try:
        assert process.stderr.readline().startswith("leakhunt agent not started")
        assert process.stdout.readline().strip() == "ready"
    finally:
        stop(process)
    assert process.stderr.read() == ""


def test_a_socket_path_too_long_to_bind_says_so_in_one_line_and_the_service_still_runs(tmp_path):
    folder = tmp_path / ("d" * 120)
    folder.mkdir()
    process = spawn_service(folder / "agent.sock")
    try:
        line = process.stderr.readline()
        assert line.startswith("leakhunt agent not started") and "AF_UNIX path too long" in line, line
        assert ": None:" not in line
        assert process.stdout.readline().strip() == "ready"
    finally:
        stop(process)


# --- Several clients, and a socket that does not outlive its agent ----------------------------


def test_idle_clients_do_not_delay_a_ping(service):
    process, socket_path = service
    idle = []
    try:
        for _ in range(6):  # more than the old backlog of 4 and one at a time
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(socket_path))
            idle.append(client)
        assert request(socket_path, {"op": "ping"}, timeout_s=30)["pid"] == process.pid
        for client in idle:  # served concurrently: none of them was timed out to make room
            client.setblocking(False)
            with pytest.raises(BlockingIOError):
                client.recv(1)
    finally:
        for client in idle:
            client.close()


def test_a_silent_client_is_dropped_after_its_deadline(service):
    _, socket_path = service
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(60)
        client.connect(str(socket_path))
        client.sendall(b'{"op": ')  # half a request, then silence
        assert b"no request line" in client.makefile("rb").readline()


def test_the_deadline_is_for_the_whole_request_not_for_each_read():
    # A client sending one byte at a time, each well inside the deadline, for ten deadlines: a
    # deadline renewed at every read would wait for it for ever, one for the request ends it.
    within_s, pace_s = 0.5, 0.05
    server_end, client_end = socket.socketpair()
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(_read_request_line(server_end, within_s))
        except TimeoutError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    with server_end, client_end:
        reader.start()
        for _ in range(int(10 * within_s / pace_s)):
            client_end.sendall(b" ")
            reader.join(timeout=pace_s)  # the pace of the dribble, ended early once the read is
            if not reader.is_alive():
                break
        dribbling = reader.is_alive()
        client_end.sendall(b"\n")  # whatever happened, the read may end now
        reader.join(timeout=60)
    assert not dribbling, "the read was still waiting after ten deadlines of a byte at a time"
    assert isinstance(outcome[0], TimeoutError) and f"within {within_s:g} s" in str(outcome[0])


def test_sigterm_removes_the_socket_and_ends_the_service_as_sigterm_would(tmp_path):
    socket_path = tmp_path / "term.sock"
    process = start_service(socket_path)
    process.terminate()
    assert process.wait(timeout=30) == -15
    assert not socket_path.exists()


def test_a_normal_exit_removes_the_socket_of_an_embedded_agent(tmp_path):
    socket_path = tmp_path / "embedded.sock"
    process = spawn(
        [sys.executable, str(HELPERS / "embedded_agent.py"), str(socket_path), "10"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    assert socket_path.is_socket()
    stop(process)
    assert not socket_path.exists()


def test_the_socket_of_a_killed_agent_is_cleaned_at_the_next_start(shared_tmp):
    env = default_env(shared_tmp)
    killed = start_service(None, env=env)
    folder = shared_tmp / f"leakhunt-{os.getuid()}"
    stale = folder / f"agent-{killed.pid}.sock"
    killed.kill()
    killed.wait(timeout=30)
    assert stale.is_socket()  # SIGKILL cannot be caught: the socket stays behind
    process = start_service(None, env=env)
    try:
        assert not stale.exists()
        assert [path.name for path in folder.iterdir()] == [f"agent-{process.pid}.sock"]
    finally:
        stop(process)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_the_usage_and_what_the_agent_does_on_stdout(flag):
    shown = subprocess.run(
        [sys.executable, "-m", "leakhunt.agent", flag], capture_output=True, text=True, timeout=60
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.startswith(
        "usage: python -m leakhunt.agent [--socket PATH] [--tracemalloc FRAMES] -- "
    )
    assert "--socket PATH   " in shown.stdout and "--tracemalloc FRAMES  " in shown.stdout
    assert shown.stdout.endswith("\n")


def test_with_tracemalloc_the_summaries_name_the_allocating_lines_and_a_bad_frame_count_is_one_line(tmp_path):
    socket_path = tmp_path / "agent" / "traced.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "leakhunt.agent", "--socket", str(socket_path), "--tracemalloc", "4",
         "--", str(CHILD), "20000"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "listening on" in process.stderr.readline()
        assert process.stdout.readline().strip() == "ready"
        grow(process)
        traced = request_summary(socket_path)["tracemalloc"]
        line = next(n for n, text in enumerate(CHILD.read_text().splitlines(), 1) if "kept.extend" in text)
        assert traced["lines"][0]["where"] == f"{CHILD}:{line}"
        untraced = start_service(tmp_path / "agent" / "plain.sock")
        try:
            assert request_summary(tmp_path / "agent" / "plain.sock")["tracemalloc"] is None
        finally:
            stop(untraced)
    finally:
        stop(process)
    bad = subprocess.run(
        [sys.executable, "-m", "leakhunt.agent", "--tracemalloc", "many", "--", str(CHILD), "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--tracemalloc" in bad.stderr
