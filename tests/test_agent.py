"""The agent: summaries of a real service over a private Unix socket, at no risk to the host."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from leakhunt.agent import check_socket_is_private, request, request_summary
from leakhunt.analysis.attribution import rank_growing_types
from leakhunt.errors import RunError, UsageError

CHILD = Path(__file__).resolve().parent / "helpers" / "agent_child.py"


def start_service(socket_path: Path) -> subprocess.Popen:
    """A real child process started under `python -m leakhunt.agent -- agent_child.py`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "leakhunt.agent", "--socket", str(socket_path), "--", str(CHILD), "20000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
        result = subprocess.run(
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
