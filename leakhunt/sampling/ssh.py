"""SSH with paramiko: hosts resolve as OpenSSH resolves them, host keys are checked, nothing prompts.

Resolution (sampling/ssh_config.py): HostName, User, Port, IdentityFile and ProxyJump (one hop,
through a direct-tcpip channel), with `Host *` defaults, `Include` and `Match host`/`Match user`,
checked against `ssh -G`. Keys come from the agent and the IdentityFiles; a password is never
asked for, so cron and CI runs cannot hang on a prompt.

Host keys: checked against known_hosts. An unknown key is refused unless `accept_new_host_key`
(OpenSSH's StrictHostKeyChecking=accept-new), which records it; a changed key is always refused.
"""

import socket
from dataclasses import dataclass
from pathlib import Path

import paramiko

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.ssh_config import passwd_home, resolve

CONNECT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class HostSpec:
    alias: str
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    proxy_jump: str | None
    warnings: tuple[str, ...] = ()  # what the ssh config asks for that leakhunt cannot honour

    @property
    def where(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"


def default_known_hosts() -> Path:
    return passwd_home() / ".ssh" / "known_hosts"


def resolve_host(alias: str, ssh_config_path: Path | None = None) -> HostSpec:
    """`alias` resolved through the ssh config as `ssh -G` would, or a UsageError if it names
    no Host block and no host that resolves."""
    found = resolve(alias, Path(ssh_config_path) if ssh_config_path else None)
    if not found.has_block and found.hostname == alias.lower():
        try:
            socket.getaddrinfo(alias, None)
        except OSError:
            where = ssh_config_path or passwd_home() / ".ssh" / "config"
            raise UsageError(
                f"unknown host alias {alias!r}: no Host block in {where} and no such host name; "
                "add it to your ssh config or pass --ssh-config"
            ) from None
    return HostSpec(
        alias=alias,
        hostname=found.hostname,
        port=found.port,
        user=found.user,
        identity_files=tuple(found.identity_files),
        proxy_jump=found.proxy_jump,
        warnings=tuple(found.warnings),
    )


def connect(
    spec: HostSpec,
    *,
    known_hosts_path: Path | None = None,
    accept_new_host_key: bool = False,
    ssh_config_path: Path | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> paramiko.SSHClient:
    """An authenticated client, or one line saying what is wrong and what to do."""
    known_hosts = Path(known_hosts_path) if known_hosts_path else default_known_hosts()
    client = paramiko.SSHClient()
    if not known_hosts.exists():
        known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        known_hosts.touch(mode=0o600)
    client.load_host_keys(str(known_hosts))  # also where an accepted new key is written
    policy = paramiko.AutoAddPolicy() if accept_new_host_key else paramiko.RejectPolicy()
    client.set_missing_host_key_policy(policy)
    sock = (
        _jump(spec, known_hosts, accept_new_host_key, ssh_config_path, timeout_s) if spec.proxy_jump else None
    )
    try:
        client.connect(
            spec.hostname,
            port=spec.port,
            username=spec.user,
            key_filename=list(spec.identity_files) or None,
            allow_agent=True,
            look_for_keys=not spec.identity_files,
            timeout=timeout_s,
            banner_timeout=timeout_s,
            auth_timeout=timeout_s,
            sock=sock,
        )
    except paramiko.BadHostKeyException:
        client.close()
        raise RunError(
            f"the host key of {spec.hostname}:{spec.port} has CHANGED since it was recorded in "
            f"{known_hosts}: this may be an attack; if the host was really reinstalled, remove "
            f"the old key with `ssh-keygen -R '[{spec.hostname}]:{spec.port}'` and verify the new "
            "one"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise RunError(
            f"authentication to {spec.where} failed: load a key into ssh-agent or set "
            f"IdentityFile for {spec.alias} in your ssh config"
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise RunError(
                f"the host key of {spec.hostname}:{spec.port} is not known: verify it (ssh "
                f"{spec.alias}) and rerun with --accept-new-host-key"
            ) from None
        raise RunError(f"SSH to {spec.where} failed: {exc}") from None
    except (OSError, EOFError) as exc:
        client.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise RunError(
            f"cannot reach {spec.where}: {reason}; check that the host is up and the port is right"
        ) from None
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(5)
    return client


def _jump(
    spec: HostSpec,
    known_hosts: Path,
    accept_new_host_key: bool,
    ssh_config_path: Path | None,
    timeout_s: float,
) -> paramiko.Channel:
    """One ProxyJump hop: a direct-tcpip channel through the jump host to the target."""
    jump_alias = spec.proxy_jump or ""
    if "," in jump_alias:
        raise UsageError(
            f"ProxyJump {jump_alias!r} has several hops; leakhunt follows one: chain them in "
            "your ssh config as Host blocks with one ProxyJump each"
        )
    jump_alias = jump_alias.split("@")[-1]
    jump = connect(
        resolve_host(jump_alias, ssh_config_path),
        known_hosts_path=known_hosts,
        accept_new_host_key=accept_new_host_key,
        ssh_config_path=ssh_config_path,
        timeout_s=timeout_s,
    )
    transport = jump.get_transport()
    assert transport is not None
    return transport.open_channel("direct-tcpip", (spec.hostname, spec.port), ("127.0.0.1", 0))
