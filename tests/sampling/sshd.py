"""A real OpenSSH server on 127.0.0.1 for the SSH tests (and the remote benchmark).

Host and user keys from `ssh-keygen -t ed25519 -N ''`, a config with ListenAddress 127.0.0.1 on
a free port, and an ssh config file with a `Host vps` alias, all under one temporary directory.
Also a real ssh-agent on a socket of its own, a port that accepts connections and never
answers, and the real `ssh` client run against the same files, for parity.
Each test worker starts its own: a port another worker took between our look and sshd's bind
makes sshd say so and exit, and it is started again on another port (tests/helpers/ports.py).
The server dies with the test process that started it, however that one ends.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from leakhunt.sampling.lifeline import dies_with_parent
from tests.helpers.ports import BIND_ATTEMPTS, free_port
from tests.helpers.processes import stop

SSHD = "/usr/sbin/sshd"


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@dataclass
class SshServer:
    root: Path
    port: int
    process: subprocess.Popen
    host_key: Path
    user_key: Path
    ssh_config: Path
    known_hosts: Path
    bin_dir: Path  # first on the PATH of remote commands: for the stand-in systemctl

    def known_hosts_line(self, key: Path | None = None) -> str:
        public = (key or self.host_key).with_suffix(".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"

    def trust(self) -> None:
        self.known_hosts.write_text(self.known_hosts_line())

    def session_processes(self) -> list[int]:
        """PIDs of the per-connection sshd processes (children of the listener)."""
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def start_sshd(extra_config: str = "") -> SshServer:
    if not os.path.exists(SSHD):
        raise RuntimeError(
            f"{SSHD} is missing: `make test` installs openssh-server; run it, or apt-get install "
            "openssh-server"
        )
    root = Path(tempfile.mkdtemp(prefix="leakhunt-sshd-"))
    host_key, user_key = root / "host_ed25519", root / "user_ed25519"
    keygen(host_key)
    keygen(user_key)
    authorized = root / "authorized_keys"
    authorized.write_text(user_key.with_suffix(".pub").read_text())
    bin_dir = root / "bin"
    bin_dir.mkdir()
    os.makedirs("/run/sshd", exist_ok=True)
    for _ in range(BIND_ATTEMPTS):
        server = _start_on(free_port(), root, host_key, user_key, authorized, bin_dir, extra_config)
        if server is not None:
            return server
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"sshd found no free port in {BIND_ATTEMPTS} attempts: {(root / 'sshd.log')}")


def _start_on(
    port: int, root: Path, host_key: Path, user_key: Path, authorized: Path, bin_dir: Path, extra_config: str
) -> SshServer | None:
    """The server listening on `port`; None when the port was taken first (try another)."""
    config = root / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nAuthorizedKeysFile {authorized}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nPidFile {root / 'sshd.pid'}\n"
        f"SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin\n{extra_config}"
    )
    # -e: log to stderr, which we read until sshd says it listens (no guessing, no sleeping),
    # then keep draining into sshd.log so a chatty server never blocks on a full pipe.
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a Ctrl-C meant for pytest reaches it through our stop() only
        preexec_fn=dies_with_parent(signal.SIGTERM),  # a killed test run leaves no server behind
    )
    ssh_config = root / "ssh_config"
    ssh_config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {user_key}\n"
    )
    server = SshServer(root, port, process, host_key, user_key, ssh_config, root / "known_hosts", bin_dir)
    log_lines = []
    assert process.stderr is not None
    for line in process.stderr:
        log_lines.append(line)
        if "Server listening on 127.0.0.1" in line:
            break
    else:
        process.wait()
        (root / "sshd.log").write_text("".join(log_lines))
        if "Address already in use" in "".join(log_lines):
            return None
        server.stop()
        raise RuntimeError(f"sshd did not start on port {port}: {''.join(log_lines)[-500:]}")
    threading.Thread(target=_drain, args=(process.stderr, root / "sshd.log"), daemon=True).start()
    return server


def _drain(stream: IO[str], path: Path) -> None:
    with path.open("a", buffering=1) as log:  # line-buffered: tests read it while sshd runs
        for line in stream:
            log.write(line)


@dataclass
class SshAgent:
    socket_path: Path
    process: subprocess.Popen

    def add(self, key: Path) -> None:
        subprocess.run(
            ["ssh-add", "-q", str(key)],
            env={**os.environ, "SSH_AUTH_SOCK": str(self.socket_path)},
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_agent(directory: Path) -> SshAgent:
    """`ssh-agent -D -a SOCKET`: in the foreground, a child of the test; ready once it says so."""
    socket_path = directory / "agent.sock"
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(socket_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()  # "SSH_AUTH_SOCK=...; export SSH_AUTH_SOCK;" once it listens
    if "SSH_AUTH_SOCK" not in first_line:
        process.kill()
        raise RuntimeError(f"ssh-agent did not start: {first_line}")
    return SshAgent(socket_path, process)


@contextlib.contextmanager
def silent_port():
    """A port whose connections the kernel accepts and nobody ever answers: a hung sshd."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def run_ssh(config: Path, host: str, *options: str, agent: Path | None = None) -> subprocess.CompletedProcess:
    """The real client, never prompting: `ssh -F CONFIG -o BatchMode=yes [-o ...] HOST true`."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    if agent is not None:
        env["SSH_AUTH_SOCK"] = str(agent)
    flags = [arg for option in options for arg in ("-o", option)]
    return subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", *flags, host, "true"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
