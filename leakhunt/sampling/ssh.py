"""SSH with paramiko, as OpenSSH users have it: the host ssh would reach, trusted no less than
ssh trusts it, with the keys ssh would offer; nothing prompts, so cron and CI runs cannot hang.

A `Connector` makes every local decision once, before the network: the ssh config resolved
(sampling/ssh_config.py, every keyword as sampling/ssh_keywords.py says), refused keywords
refused, and every warning said (unhonoured keywords, missing IdentityFiles, @cert-authority
lines that apply) through `on_warning`. Its `connect()` is then one connection (and each
reconnect): TCP as ssh makes it (AddressFamily, BindAddress, ConnectTimeout, ConnectionAttempts,
TCPKeepAlive), or a ProxyCommand, or a direct-tcpip channel through every ProxyJump hop, each hop
a connection of its own resolved from the same config; then the banner within ConnectTimeout,
the host key, and the keys (sampling/ssh_auth.py).

Host keys (sampling/known_hosts.py): looked up under HostKeyAlias or `[host]:port` in
UserKnownHostsFile and GlobalKnownHostsFile (`--known-hosts` replaces the first, as `-o
UserKnownHostsFile` does), the key types already known asked for first, as ssh asks, and host
certificates first where a `@cert-authority` line applies: a certificate that passes
(sampling/host_certificates.py) is trusted, one that does not leaves the bare key to be judged,
as in ssh, unless it is revoked. A changed or revoked key is always refused; an unknown one is
refused unless `--accept-new-host-key` or StrictHostKeyChecking accept-new, and then recorded
as one appended line. StrictHostKeyChecking no is refused (--accept-new-host-key overrides it,
as a command-line option does in ssh).
"""

import logging
import os
import re
import select
import shlex
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import paramiko

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling import host_certificates
from leakhunt.sampling import known_hosts as kh
from leakhunt.sampling.ssh_auth import authenticate, missing_identity_notes
from leakhunt.sampling.ssh_config import ResolvedHost, passwd_home, resolve

# paramiko logs its transport thread's failures, tracebacks included; with no handler anywhere,
# Python's last-resort handler would print them on stderr. The errors raised here say it all.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

HostSpec = ResolvedHost
CONNECT_TIMEOUT_S = 15.0  # without ConnectTimeout: ssh would wait for the system's TCP timeout
HANDSHAKE_TIMEOUT_S = 15.0  # key exchange after the banner (paramiko's default)
AUTH_TIMEOUT_S = 30.0
DEFAULT_KEEPALIVE_S = 5.0  # unless ServerAliveInterval says otherwise
CONNECTION_ATTEMPT_PAUSE_S = 1.0  # ssh's pause between ConnectionAttempts
MAX_HOPS = 16
_RSA_ALGORITHMS = ["rsa-sha2-512", "rsa-sha2-256"]
_CHECKABLE_AUTHORITIES = ("ssh-ed25519", "ssh-rsa")  # and ecdsa-sha2-*
_REFUSAL_ADVICE = {
    "stricthostkeychecking": "leakhunt never connects without checking the host key: remove it for {alias}, "
    "or rerun with --accept-new-host-key to trust a new key (never a changed one)",
    "pubkeyauthentication": "leakhunt has no other way in: allow it for {alias}",
    "proxyusefdpass": "set ProxyUseFdpass no for {alias}",
    "refuseconnection": "ssh {alias} refuses too",
}

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Hop:
    user: str | None
    host: str
    port: int | None


def parse_jump(text: str) -> list[Hop]:
    """ProxyJump's hops, first to last, as readconf.c parse_jump reads them: each
    `[user@]host[:port]` (an IPv6 address in brackets) or `ssh://[user@]host[:port]`."""
    hops = []
    for part in text.split(","):
        hop = _parse_uri(part) if part.lower().startswith("ssh://") else _parse_user_host_port(part)
        if hop is None:
            raise UsageError(
                f"ProxyJump {text!r}: {part!r} is not [user@]host[:port] or ssh://[user@]host[:port]; "
                "fix the ssh config"
            )
        hops.append(hop)
    return hops


def _parse_user_host_port(text: str) -> Hop | None:
    user, at, rest = text.rpartition("@")
    if at and not user:
        return None
    if rest.startswith("["):
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            return None
        port_text = tail[1:]
    else:
        host, _, port_text = rest.partition(":")
    if not host or (port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536)):
        return None
    return Hop(user or None, host, int(port_text) if port_text else None)


def _parse_uri(text: str) -> Hop | None:
    rest = text[len("ssh://") :]
    if "/" in rest:
        return None  # readconf.c: a path is not allowed
    hop = _parse_user_host_port(rest)
    if hop is None or hop.user is None:
        return hop
    return Hop(unquote(hop.user.split(";")[0]), hop.host, hop.port)  # `user;params`: params unused


def resolve_host(
    alias: str,
    ssh_config_path: Path | None = None,
    *,
    user: str | None = None,
    port: int | None = None,
    proxy_jump: str | None = None,
) -> HostSpec:
    """`alias` resolved through the ssh config as `ssh -G [-l user] [-p port] [-J jump] alias`
    would, or a UsageError if it names no Host block and no host that resolves."""
    preset = {k: v for k, v in (("user", user), ("port", port), ("proxyjump", proxy_jump)) if v is not None}
    found = resolve(alias, Path(ssh_config_path) if ssh_config_path else None, preset=preset)
    if not found.has_block and found.hostname == alias.lower():
        try:
            socket.getaddrinfo(alias, None)
        except OSError:
            where = ssh_config_path or passwd_home() / ".ssh" / "config"
            raise UsageError(
                f"unknown host alias {alias!r}: no Host block in {where} and no such host name; "
                "add it to your ssh config or pass --ssh-config"
            ) from None
    return found


@dataclass
class Connection:
    """One authenticated SSH connection, and the jump hosts' connections it runs through."""

    transport: paramiko.Transport
    through: list["Connection"] = field(default_factory=list)

    def get_transport(self) -> paramiko.Transport:
        return self.transport

    def run(self, command: str, timeout_s: float) -> str:
        """The command's standard output, once it has closed."""
        channel = self.transport.open_session(timeout=timeout_s)
        channel.settimeout(timeout_s)
        channel.exec_command(command)
        chunks = []
        while chunk := channel.recv(65536):
            chunks.append(chunk)
        channel.close()
        return b"".join(chunks).decode(errors="replace")

    def close(self) -> None:
        self.transport.close()
        for hop in self.through:
            hop.close()


class Connector:
    """Every local check done and every warning said once; `connect()` for each connection."""

    def __init__(
        self,
        spec: HostSpec,
        *,
        known_hosts_path: Path | None = None,
        accept_new_host_key: bool = False,
        ssh_config_path: Path | None = None,
        timeout_s: float = CONNECT_TIMEOUT_S,
        on_warning: Warn | None = None,
        _chain: tuple[tuple[str, str, int, str | None], ...] = (),
    ) -> None:
        self.spec = spec
        self.warn: Warn = on_warning or (lambda _text: None)
        self.timeout_s = spec.connect_timeout_s if spec.connect_timeout_s is not None else timeout_s
        refusals = dict(spec.refusals)
        if accept_new_host_key:
            refusals.pop("stricthostkeychecking", None)
        for keyword, text in refusals.items():
            advice = _REFUSAL_ADVICE.get(keyword, "remove it for {alias}").format(alias=spec.alias)
            raise UsageError(f"{text}; {advice}")
        self.accept_new = accept_new_host_key or spec.strict_host_key_checking == "accept-new"
        user_files = (
            [Path(known_hosts_path)] if known_hosts_path else [Path(p) for p in spec.user_known_hosts_files]
        )
        self.known = kh.KnownHosts(user_files, [Path(p) for p in spec.global_known_hosts_files])
        self.name = kh.lookup_name(spec.hostname, spec.port, spec.host_key_alias)
        # The same host with the same ProxyJump again would jump the same way forever; a list of
        # hops may pass one host twice, each time with the rest of the list.
        here = (spec.user, spec.hostname, spec.port, spec.proxy_jump)
        if here in _chain or len(_chain) >= MAX_HOPS:
            raise UsageError(
                f"ProxyJump for {spec.alias} loops back to {spec.where} (or passes {MAX_HOPS} hops): "
                f"a `Host *` ProxyJump also applies to the jump host; exclude it with `Host * !{spec.alias}`"
            )
        for text in [*spec.warnings, *missing_identity_notes(spec), *self._authority_notes()]:
            self.warn(text)
        self.jump: Connector | None = None
        if spec.proxy_jump:
            *before, last = parse_jump(spec.proxy_jump)
            jump_spec = resolve_host(
                last.host,
                ssh_config_path,
                user=last.user,
                port=last.port,
                proxy_jump=",".join(f"{h.user + '@' if h.user else ''}{_host_port(h)}" for h in before)
                or None,
            )
            self.jump = Connector(
                jump_spec,
                known_hosts_path=known_hosts_path,
                accept_new_host_key=accept_new_host_key,
                ssh_config_path=ssh_config_path,
                timeout_s=timeout_s,
                on_warning=on_warning,
                _chain=(*_chain, here),
            )

    def _authority_notes(self) -> list[str]:
        return [
            f"{entry.where}: @cert-authority for {entry.hosts} is passed over: paramiko cannot check "
            f"signatures by a {entry.key_type} key, so the host's own key must be in known_hosts"
            for entry in self.known.authorities(self.name)
            if entry.key_type not in _CHECKABLE_AUTHORITIES and not entry.key_type.startswith("ecdsa-sha2-")
        ]

    def timeout_words(self) -> str:
        source = self.spec.sources.get("connecttimeout")
        if source:
            return f"ConnectTimeout {self.timeout_s:g} s ({source})"
        return f"{self.timeout_s:g} s (set ConnectTimeout for {self.spec.alias} to wait longer)"

    def connect(self) -> Connection:
        """An authenticated connection, or one line saying what is wrong and what to do."""
        through: list[Connection] = []
        sock: socket.socket | paramiko.Channel | paramiko.ProxyCommand | None = None
        transport: paramiko.Transport | None = None
        try:
            sock = self._open(through)
            transport = paramiko.Transport(sock)
            transport.banner_timeout = self.timeout_s
            transport.handshake_timeout = HANDSHAKE_TIMEOUT_S
            transport.auth_timeout = AUTH_TIMEOUT_S
            transport.use_compression(self.spec.compression)
            self._ask_for_known_key_types(transport)
            self._start(transport, sock)
            self._check_host_key(transport.get_remote_server_key(), transport.host_key_type)
            authenticate(transport, self.spec, timeout_s=self.timeout_s)
            alive = "serveraliveinterval" in self.spec.sources
            transport.set_keepalive(int(self.spec.server_alive_interval_s if alive else DEFAULT_KEEPALIVE_S))
            return Connection(transport, through)
        except BaseException:
            if transport is not None:
                transport.close()
            elif sock is not None:
                sock.close()
            for hop in through:
                hop.close()
            raise

    def _open(self, through: list[Connection]) -> socket.socket | paramiko.Channel | paramiko.ProxyCommand:
        spec = self.spec
        if self.jump is not None:
            hop = self.jump.connect()
            through.append(hop)
            try:
                return hop.transport.open_channel(
                    "direct-tcpip", (spec.hostname, spec.port), ("127.0.0.1", 0), timeout=self.timeout_s
                )
            except paramiko.ChannelException as exc:
                raise RunError(
                    f"the jump host {self.jump.spec.alias} cannot reach {spec.hostname}:{spec.port} "
                    f"({exc.text}); check HostName and Port for {spec.alias}"
                ) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise RunError(
                    f"the jump host {self.jump.spec.alias} dropped the connection: {exc}"
                ) from None
        if spec.proxy_command is not None:
            shell = os.environ.get("SHELL") or "/bin/sh"
            try:
                return _ProxyCommand(shlex.join([shell, "-c", f"exec {spec.proxy_command}"]))
            except (paramiko.ProxyCommandFailure, OSError) as exc:
                raise RunError(f"the ProxyCommand for {spec.alias} cannot start: {exc}") from None
        return self._tcp()

    def _tcp(self) -> socket.socket:
        spec = self.spec
        family = {"any": socket.AF_UNSPEC, "inet": socket.AF_INET, "inet6": socket.AF_INET6}[
            spec.address_family
        ]
        try:
            addresses = socket.getaddrinfo(spec.hostname, spec.port, family, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise RunError(
                f"cannot resolve {spec.hostname} (the host name of {spec.alias}): {exc.strerror}; "
                "check HostName in your ssh config, or your DNS"
            ) from None
        error: OSError | None = None
        for attempt in range(spec.connection_attempts):
            if attempt:
                time.sleep(CONNECTION_ATTEMPT_PAUSE_S)
            for address_family, kind, protocol, _, address in addresses:
                sock = socket.socket(address_family, kind, protocol)
                sock.settimeout(self.timeout_s)
                try:
                    if spec.bind_address:
                        sock.bind((spec.bind_address, 0))
                except OSError as exc:
                    sock.close()
                    raise RunError(
                        f"BindAddress {spec.bind_address} for {spec.alias}: {exc.strerror}"
                    ) from None
                try:
                    sock.connect(address)
                except OSError as exc:
                    sock.close()
                    error = exc
                    continue
                if spec.tcp_keepalive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                return sock
        if isinstance(error, TimeoutError):
            reason = f"no answer within {self.timeout_words()}"
        else:
            reason = (error.strerror if error is not None else None) or str(error)
        raise RunError(
            f"cannot reach {spec.where}: {reason}; check that the host is up and the port is right"
        )

    def _ask_for_known_key_types(self, transport: paramiko.Transport) -> None:
        """As ssh's order_hostkeyalgs: certificates first when a @cert-authority line applies,
        then the types known for this host, so that the key checked is one that can be."""
        options = transport.get_security_options()
        ours = list(options.key_types)
        wanted = [
            a for t in self.known.key_types(self.name) for a in (_RSA_ALGORITHMS if t == "ssh-rsa" else [t])
        ]
        if self.known.authorities(self.name):
            wanted = host_certificates.ALGORITHMS + wanted
        first = [a for a in dict.fromkeys(wanted) if a in ours or a in host_certificates.ALGORITHMS]
        if first:
            options.key_types = [*first, *(a for a in ours if a not in first)]

    def _start(self, transport: paramiko.Transport, sock: object) -> None:
        spec = self.spec
        try:
            transport.start_client(timeout=self.timeout_s + HANDSHAKE_TIMEOUT_S)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            # A ProxyCommand that ended: its own words, whether paramiko was reading its banner
            # or writing to its closed pipe when it noticed.
            said = _proxy_stderr(sock)
            if said:
                raise RunError(f"the ProxyCommand for {spec.alias} failed: {said}") from None
            if "banner" not in str(exc):
                raise RunError(f"SSH to {spec.where} failed during the handshake: {exc}") from None
            if isinstance(exc.__context__, TimeoutError):
                raise RunError(
                    f"{spec.where} accepted the connection but sent no SSH banner within "
                    f"{self.timeout_words()}: check that sshd runs there, on that port"
                ) from None
            raise RunError(
                f"{spec.where} closed the connection before the SSH banner: check that sshd runs there, on "
                "that port, and that it accepts this host (MaxStartups, tcp wrappers, a firewall)"
            ) from None
        if not transport.is_active() or transport.get_remote_server_key() is None:
            raise RunError(f"SSH to {spec.where} failed: no key exchange within {HANDSHAKE_TIMEOUT_S:g} s")

    def _certificate_problem(self, certificate_blob: bytes, key_blob: bytes) -> str | None:
        """Why a host certificate does not vouch for this host (sshconnect.c: the CA lines for
        the name, the principal the host name or HostKeyAlias), or None when it does; a revoked
        one is refused outright."""
        try:
            certificate = host_certificates.parse(certificate_blob)
        except ValueError as exc:
            return str(exc)
        entries = self.known.entries_for(self.name)
        revoked = {e.key_blob for e in entries if e.marker == kh.REVOKED_MARKER}
        if revoked & {certificate.signature_key, key_blob}:
            # ssh refuses here, without trying the bare key.
            raise RunError(
                f"the host certificate of {self.name} is signed by a key, or certifies one, that is marked "
                "@revoked in known_hosts: it may be stolen; leakhunt refuses it, as ssh does"
            )
        authorities = [e.key_blob for e in entries if e.marker == kh.CA_MARKER]
        principal = self.spec.host_key_alias or self.spec.hostname
        return host_certificates.problem(certificate, principal=principal, authorities=authorities)

    def _check_host_key(self, key: paramiko.PKey, algorithm: str) -> None:
        spec, name = self.spec, self.name
        blob = key.asbytes()  # the bare key, also when a certificate came with it
        shown = f"{key.get_name()} key {kh.fingerprint(blob)}"
        if key.get_name() == "ssh-rsa" and key.get_bits() < spec.required_rsa_size:
            raise RunError(
                f"the host key of {name} is a {key.get_bits()}-bit RSA key, under RequiredRSASize "
                f"{spec.required_rsa_size}: ssh refuses it too"
            )
        if spec.revoked_host_keys and kh.revoked_by_file(Path(spec.revoked_host_keys), blob):
            raise RunError(
                f"the host key of {name} ({shown}) is revoked in RevokedHostKeys {spec.revoked_host_keys}"
            )
        certificate_note = ""
        if algorithm.endswith(host_certificates.CERT_SUFFIX) and key.public_blob is not None:
            why = self._certificate_problem(key.public_blob.key_blob, blob)
            if why is None:
                return
            # ssh then checks the bare key, as if no certificate had come.
            certificate_note = f"; its certificate was not accepted: {why}"
        check = self.known.check(name, blob)
        if check.status == "new" and not spec.host_key_alias and spec.port != kh.DEFAULT_PORT:
            # ssh then looks for the key under the bare host name, without recording anything.
            check = self.known.check(spec.hostname.lower(), blob)
            if check.status != "ok":
                check = kh.Check("new")
        if check.status == "ok":
            return
        if check.status == "revoked":
            assert check.entry is not None
            raise RunError(
                f"the host key of {name} ({shown}) is marked @revoked in {check.entry.where}: it may be a "
                "stolen key; leakhunt refuses it, as ssh does"
            )
        if check.status == "changed":
            assert check.entry is not None
            raise RunError(
                f"the host key of {spec.hostname}:{spec.port} has CHANGED since it was recorded in "
                f"{check.entry.where} (it now shows {shown}): this may be an attack; if the host was really "
                f"reinstalled, remove the old key with `ssh-keygen -R '{name}' -f {check.entry.path}` and "
                f"verify the new one{certificate_note}"
            )
        if not self.accept_new:
            raise RunError(
                f"the host key of {spec.hostname}:{spec.port} is not known ({shown}{certificate_note}): "
                f"verify it (ssh {spec.alias}) and rerun with --accept-new-host-key"
            )
        path = self.known.record(name, key.get_name(), blob, hashed=spec.hash_known_hosts)
        self.warn(f"permanently added {name} ({shown}) to {path}")


class _ProxyCommand(paramiko.ProxyCommand):
    """paramiko's ProxyCommand reads a closed pipe as "no data yet", spinning until the banner
    timeout; a socket says end of file at once, and so does this one."""

    def recv(self, size: int) -> bytes:
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError()
        try:
            return os.read(self.process.stdout.fileno(), size)
        except OSError as exc:
            raise paramiko.ProxyCommandFailure(" ".join(self.cmd), exc.strerror) from None


def _host_port(hop: Hop) -> str:
    host = f"[{hop.host}]" if ":" in hop.host else hop.host
    return f"{host}:{hop.port}" if hop.port else host


def _proxy_stderr(sock: object) -> str:
    """The first line a ProxyCommand that has ended wrote on its stderr, if it has ended."""
    if not isinstance(sock, paramiko.ProxyCommand):
        return ""
    process = sock.process
    try:
        process.wait(timeout=1.0)
    except Exception:  # still running: it said nothing we can read without blocking
        return ""
    text = process.stderr.read(4096).decode(errors="replace") if process.stderr else ""
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    return lines[0] if lines else f"it exited with status {process.returncode} before the SSH banner"


def connect(spec: HostSpec, **options: object) -> Connection:
    """One connection: Connector(spec, **options).connect()."""
    return Connector(spec, **options).connect()  # type: ignore[arg-type]
