"""Public-key authentication as ssh does it, and a failure that says what was tried.

The keys are offered in sshconnect2.c pubkey_prepare's order: the certificates of
CertificateFile; then the agent's keys, each in its agent's order, those an IdentityFile names
first as they come, the others only without IdentitiesOnly; then the IdentityFiles the agent does
not hold, in config order, each followed by its `-cert.pub` when no CertificateFile is given.
A missing IdentityFile is skipped (ssh says "no such identity" and goes on), as is one that
needs a passphrase and is not in the agent: leakhunt never prompts. IdentityAgent names the
agent's socket (default $SSH_AUTH_SOCK, `none` for no agent).

When nothing is accepted the error names every key offered and every one skipped, and what to
do; paramiko's own words ("No authentication methods available") are never the whole story.
"""

import base64
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from paramiko.agent import AgentKey, AgentSSH
from paramiko.message import Message
from paramiko.pkey import PublicBlob, UnknownKeyType

from leakhunt.errors import RunError
from leakhunt.sampling.ssh_config import ResolvedHost

CERT_SUFFIX = "-cert-v01@openssh.com"
_OPENSSH_MAGIC = b"openssh-key-v1\0"


@dataclass
class Identity:
    label: str
    path: Path | None = None  # the private key's file
    certificate: Path | None = None  # presented with the key instead of the bare key
    public_blob: bytes | None = None  # the bare public key, where it is known without loading
    agent_key: AgentKey | None = None
    user_provided: bool = True


@dataclass
class Outcome:
    """What was offered and what was passed over, for the failure message."""

    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    agent_note: str | None = None


class _Agent(AgentSSH):
    """paramiko's Agent reads only $SSH_AUTH_SOCK; IdentityAgent can name another socket."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._connect(sock)

    def close(self) -> None:
        self._close()


def open_agent(where: str | None, timeout_s: float) -> tuple[_Agent | None, str | None]:
    """The agent (or None) and, without one, why: for the failure message."""
    if where == "none":
        return None, "IdentityAgent none"
    path = where if where is not None else os.environ.get("SSH_AUTH_SOCK")
    if not path:
        return None, "no ssh-agent (SSH_AUTH_SOCK is not set)"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(path)
        return _Agent(sock), None
    except (OSError, paramiko.SSHException) as exc:
        sock.close()
        return None, f"ssh-agent at {path} not reachable ({getattr(exc, 'strerror', None) or exc})"


def public_blob_of(path: Path) -> bytes | None:
    """The public key of a private key file without its passphrase: from `path.pub`, or from
    the unencrypted header of the OpenSSH format (as sshkey_load_public reads it)."""
    pub = Path(f"{path}.pub")
    try:
        if pub.is_file():
            return PublicBlob.from_file(str(pub)).key_blob
        text = path.read_text()
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        data = base64.b64decode(body)
    except ValueError:
        return None
    if not data.startswith(_OPENSSH_MAGIC):
        return None
    offset = len(_OPENSSH_MAGIC)
    try:
        for _ in range(3):  # cipher, kdf name, kdf options
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            offset += 4 + length
        offset += 4  # the number of keys
        (length,) = struct.unpack(">I", data[offset : offset + 4])
    except struct.error:
        return None
    return data[offset + 4 : offset + 4 + length] or None


def certificate_key_blob(path: Path) -> bytes | None:
    """The bare public key a certificate file certifies, or None if it is not a certificate."""
    try:
        blob = PublicBlob.from_file(str(path))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not blob.key_type.endswith(CERT_SUFFIX):
        return None
    base = blob.key_type.removesuffix(CERT_SUFFIX)
    classes = {"ssh-rsa": paramiko.RSAKey, "ssh-ed25519": paramiko.Ed25519Key}
    try:
        return classes.get(base, paramiko.ECDSAKey)(msg=Message(blob.key_blob)).asbytes()
    except (paramiko.SSHException, ValueError, TypeError):
        return None


def missing_identity_notes(spec: ResolvedHost) -> list[str]:
    """What ssh says on its way ("no such identity"), said before connecting."""
    notes = []
    for where, files in (("IdentityFile", spec.identity_files), ("CertificateFile", spec.certificate_files)):
        for name in files:
            if where == "IdentityFile" and not spec.identity_files_given:
                continue
            if not Path(name).exists() and not (where == "IdentityFile" and Path(f"{name}.pub").exists()):
                notes.append(f"{where} {name} for {spec.alias} does not exist: skipped, as ssh skips it")
    return notes


def identities(spec: ResolvedHost, agent: _Agent | None) -> list[Identity]:
    """The keys to offer, in ssh's order."""
    files: list[Identity] = []
    for name in spec.identity_files:
        path = Path(name)
        files.append(
            Identity(name, path, None, public_blob_of(path), user_provided=spec.identity_files_given)
        )
        cert = Path(f"{name}-cert.pub")
        if not spec.certificate_files and certificate_key_blob(cert) is not None:
            files.append(Identity(str(cert), path, cert, user_provided=spec.identity_files_given))
    preferred = [Identity(name, certificate=Path(name)) for name in spec.certificate_files]
    from_agent = []
    for key in agent.get_keys() if agent is not None else ():
        named = next((i for i in files if i.certificate is None and i.public_blob == key.asbytes()), None)
        if named is not None:
            files.remove(named)
            named.agent_key = key
            named.label = f"{named.label} (in the agent)"
            preferred.append(named)
        elif not spec.identities_only:
            from_agent.append(Identity(f"agent key {key.comment or key.get_name()}", agent_key=key))
    return preferred + from_agent + files


def load(identity: Identity, others: list[Identity], outcome: Outcome) -> paramiko.PKey | None:
    """The signing key to offer, or None with the reason noted in `outcome`."""
    holder = identity
    if identity.agent_key is None and identity.path is None:
        # A CertificateFile: its private key is the agent's or an IdentityFile's.
        assert identity.certificate is not None
        certified = certificate_key_blob(identity.certificate)
        found = [o for o in others if certified is not None and certified in (o.public_blob, _agent_blob(o))]
        if certified is None or not found:
            why = (
                "not a readable certificate"
                if certified is None
                else "its key is in no IdentityFile nor the agent"
            )
            outcome.skipped.append(f"{identity.label} ({why})")
            return None
        holder = found[0]
    if holder.agent_key is not None:
        agent_key = holder.agent_key
        # A fresh proxy for the agent's key: a certificate attached to it stays with this offer.
        key: paramiko.PKey | None = AgentKey(agent_key.agent, agent_key.blob, agent_key.comment)
    else:
        assert holder.path is not None
        key = _from_file(holder.path, holder, outcome)
        if key is None:
            return None
        key.public_blob = None  # PKey.from_path attaches `-cert.pub` itself: ssh offers both, in turn
    if identity.certificate is not None:
        try:
            key.load_certificate(str(identity.certificate))
        except (OSError, ValueError) as exc:
            outcome.skipped.append(f"{identity.label} ({exc})")
            return None
    return key


def _agent_blob(identity: Identity) -> bytes | None:
    return identity.agent_key.asbytes() if identity.agent_key is not None else None


def _from_file(path: Path, identity: Identity, outcome: Outcome) -> paramiko.PKey | None:
    try:
        return paramiko.PKey.from_path(path)
    except FileNotFoundError:
        if identity.user_provided:
            outcome.skipped.append(f"{path} (no such file)")
    except (TypeError, paramiko.PasswordRequiredException):
        outcome.skipped.append(f"{path} (needs its passphrase: add it to ssh-agent with ssh-add {path})")
    except UnknownKeyType as exc:
        outcome.skipped.append(f"{path} (a {exc.key_type} key, which paramiko cannot use)")
    except (OSError, ValueError, paramiko.SSHException) as exc:
        outcome.skipped.append(f"{path} ({getattr(exc, 'strerror', None) or exc})")
    return None


def authenticate(transport: paramiko.Transport, spec: ResolvedHost, *, timeout_s: float) -> None:
    """Offer the keys in turn until one is accepted, or raise one RunError saying what was tried."""
    agent, agent_note = open_agent(spec.identity_agent, timeout_s)
    outcome = Outcome(agent_note=agent_note)
    try:
        candidates = identities(spec, agent)
        for identity in candidates:
            key = load(identity, candidates, outcome)
            if key is None:
                continue
            try:
                remaining = transport.auth_publickey(spec.user, key)
            except paramiko.BadAuthenticationType as exc:
                raise RunError(
                    f"authentication to {spec.where} failed: the server accepts only "
                    f"{', '.join(exc.allowed_types) or 'nothing'} for {spec.user}, and leakhunt "
                    "authenticates by key only (it never asks for a password): allow publickey in sshd_config"
                ) from None
            except (paramiko.AuthenticationException, paramiko.SSHException, OSError, EOFError):
                outcome.refused.append(identity.label)
                if not transport.is_active():
                    raise RunError(_too_many(spec, outcome)) from None
                continue
            if transport.is_authenticated():
                return
            if remaining:
                raise RunError(
                    f"authentication to {spec.where} failed: after the key {identity.label} the server "
                    f"asks for {', '.join(remaining)} too, which leakhunt cannot answer (it never prompts)"
                )
        raise RunError(failure_message(spec, outcome))
    finally:
        if agent is not None:
            agent.close()


def _too_many(spec: ResolvedHost, outcome: Outcome) -> str:
    return (
        f"authentication to {spec.where} failed: the server closed the connection after refusing "
        f"{', '.join(outcome.refused)} (its MaxAuthTries): name the right key for {spec.alias} with "
        "IdentityFile and set IdentitiesOnly yes in your ssh config"
    )


def failure_message(spec: ResolvedHost, outcome: Outcome) -> str:
    parts = []
    if outcome.refused:
        parts.append("the server refused " + ", ".join(outcome.refused))
    if outcome.skipped:
        parts.append("skipped " + ", ".join(outcome.skipped))
    if not outcome.refused:
        if spec.identity_files_given:
            parts.append("no key to offer")
        elif not any(Path(name).exists() for name in spec.identity_files):
            defaults_dir = Path(spec.identity_files[0]).parent
            parts.append(f"no key to offer (no IdentityFile, and none of ssh's defaults in {defaults_dir})")
        if outcome.agent_note:
            parts.append(outcome.agent_note)
    return (
        f"authentication to {spec.where} failed: {'; '.join(parts)}; put your public key in "
        f"~{spec.user}/.ssh/authorized_keys on {spec.hostname}, load your key into ssh-agent (ssh-add), "
        f"or name it with IdentityFile for {spec.alias} in your ssh config"
    )
