"""`leakhunt watch --host` as an OpenSSH user meets it, through the real command and a real
sshd on 127.0.0.1: what the config asks for and leakhunt cannot do is said before connecting;
--out is checked before any connection; a silent port, a refused keyword or an unknown key is
one line on stderr, never a traceback (paramiko's own logging included)."""

from pathlib import Path

import pytest

from tests.e2e.conftest import leakhunt
from tests.sampling.sshd import silent_port, start_sshd


@pytest.fixture(scope="module")
def server():
    running = start_sshd()
    yield running
    running.stop()


def config_for(server, directory: Path, extra: str = "") -> tuple[Path, Path]:
    known = directory / "known_hosts"
    known.write_text(server.known_hosts_line())
    config = directory / "config"
    config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {server.port}\n  User root\n  IdentityAgent none\n"
        f"  UserKnownHostsFile {known}\n{extra}  IdentityFile {server.user_key}\n"
    )
    return config, known


def watch(config: Path, *args: str):
    return leakhunt("watch", "--host", "vps", "--ssh-config", str(config), "--duration", "1s", *args)


def stderr_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_a_port_that_never_answers_is_one_line_naming_connect_timeout_and_no_traceback(
    server, tmp_path, idle
):
    with silent_port() as port:
        config, _ = config_for(server, tmp_path, "  ConnectTimeout 2\n")
        config.write_text(config.read_text().replace(f"Port {server.port}", f"Port {port}"))
        result = watch(config, "--pid", str(idle.pid), "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    (line,) = stderr_lines(result)
    assert "no SSH banner within ConnectTimeout 2 s" in line
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr
    assert not (tmp_path / "run").exists()  # nothing left of a watch that never started


def test_a_warning_is_said_before_connecting_so_a_failing_user_sees_it(server, tmp_path, idle):
    config, known = config_for(server, tmp_path, "  CheckHostIP yes\n")
    known.write_text("")
    # Its own --out: a default one would be made in the checkout (and removed) while other
    # workers' tests look at it.
    result = watch(config, "--pid", str(idle.pid), "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    assert not (tmp_path / "run").exists()
    warning, error = stderr_lines(result)
    assert warning.startswith("warning: ") and "CheckHostIP yes" in warning and f"{config} line 7" in warning
    assert "is not known" in error and "--accept-new-host-key" in error


def test_an_out_that_would_be_refused_is_refused_before_any_connection(server, tmp_path, idle):
    config, known = config_for(server, tmp_path)
    known.write_text("")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "samples.csv").write_text("t_wall_s\n")
    result = watch(config, "--pid", str(idle.pid), "--accept-new-host-key", "--out", str(taken))
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert "already holds a run" in line
    assert known.read_text() == ""  # never connected: no host key was recorded


def test_strict_host_key_checking_no_is_refused_in_one_line_saying_why(server, tmp_path, idle):
    config, _ = config_for(server, tmp_path, "  StrictHostKeyChecking no\n")
    result = watch(config, "--pid", str(idle.pid), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    (line,) = stderr_lines(result)
    assert "StrictHostKeyChecking no" in line and "--accept-new-host-key" in line and "Traceback" not in line


def test_a_missing_first_identity_file_is_said_and_the_next_key_gets_in(server, tmp_path, idle):
    config, _ = config_for(server, tmp_path, f"  IdentityFile {tmp_path / 'gone'}\n")
    result = watch(config, "--pid", str(idle.pid), "--interval", "250ms", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in stderr_lines(result) if line.startswith("warning: ")]
    assert warnings == [
        f"warning: IdentityFile {tmp_path / 'gone'} for vps does not exist: skipped, as ssh skips it"
    ]
    assert (tmp_path / "run" / "summary.json").exists()


def test_proxy_jump_in_the_user_at_host_port_form_watches_through_the_jump(server, tmp_path, idle):
    config, _ = config_for(server, tmp_path, f"  ProxyJump root@127.0.0.1:{server.port}\n")
    config.write_text(
        config.read_text()
        + f"Host 127.0.0.1\n  IdentityAgent none\n  IdentityFile {server.user_key}\n"
        + f"  UserKnownHostsFile {tmp_path / 'known_hosts'}\n"
    )
    result = watch(config, "--pid", str(idle.pid), "--interval", "250ms", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "summary.json").exists()
