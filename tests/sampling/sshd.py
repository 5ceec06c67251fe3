"""A real OpenSSH server on 127.0.0.1 for the SSH tests (and the remote benchmark).

Host and user keys from `ssh-keygen -t ed25519 -N ''`, a config with ListenAddress 127.0.0.1 on
a free port, and an ssh config file with a `Host vps` alias, all under one temporary directory.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_sshd(deadline_s: float = 20.0) -> SshServer:
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
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nAuthorizedKeysFile {authorized}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"StrictModes no\nUsePAM no\nPidFile {root / 'sshd.pid'}\n"
        f"SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin\n"
    )
    os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(root / "sshd.log")])
    ssh_config = root / "ssh_config"
    ssh_config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {user_key}\n"
    )
    server = SshServer(root, port, process, host_key, user_key, ssh_config, root / "known_hosts", bin_dir)
    # Poll the port until it accepts, within a deadline: readiness, not a guessed sleep.
    until = time.monotonic() + deadline_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return server
        if process.poll() is not None or time.monotonic() > until:
            log = (root / "sshd.log").read_text() if (root / "sshd.log").exists() else ""
            server.stop()
            raise RuntimeError(f"sshd did not start on port {port}: {log[-500:]}")
        time.sleep(0.05)  # polling interval of the readiness loop above
