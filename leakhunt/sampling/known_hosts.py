"""known_hosts as OpenSSH reads and writes it (hostfile.c; sshconnect.c check_host_key).

Reading: every user file (UserKnownHostsFile), then every global one (GlobalKnownHostsFile); a
line is `[@marker] hosts keytype base64 [comment]`, `hosts` a comma list of patterns (`*`, `?`,
`!negation`, `[host]:port`), compared case-insensitively, or one `|1|salt|hmac` hashed name. A
line that does not parse is passed over, as ssh passes it over; nothing in a file stops the
others from being read. The name looked up is HostKeyAlias, else the host, as `[host]:port` off
port 22.

Checking (check_hostkeys_by_key_or_type): a plain line with the same key is OK; otherwise any
other plain line for the name makes the key CHANGED (ssh negotiates a type it knows, so a key of
another type is a changed key too); an `@revoked` line with the key, or the key in
RevokedHostKeys, makes it REVOKED whatever else matches; nothing at all is NEW.
`@cert-authority` lines vouch only for host certificates (checked in host_certificates.py),
never for a bare key.

Writing: a new key is appended to the first user file as one line, `name keytype base64`, the
name lower-cased (write_host_entry) and hashed when HashKnownHosts says so or, HashKnownHosts
unset, when the file's lines are all hashed already. No other byte of the file changes (a last
line without its newline gets one first).
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.ssh_config import match_pattern_list

CA_MARKER, REVOKED_MARKER = "@cert-authority", "@revoked"
KRL_MAGIC = b"SSHKRL\n\0"
DEFAULT_PORT = 22


@dataclass(frozen=True)
class Entry:
    path: Path
    line_number: int
    marker: str | None  # CA_MARKER, REVOKED_MARKER or None
    hosts: str
    key_type: str
    key_blob: bytes

    @property
    def where(self) -> str:
        return f"{self.path} line {self.line_number}"


@dataclass(frozen=True)
class Check:
    status: str  # "ok", "new", "changed" or "revoked"
    entry: Entry | None = None  # the matching, offending or revoking line


def lookup_name(hostname: str, port: int, host_key_alias: str | None = None) -> str:
    if host_key_alias:
        return host_key_alias.lower()
    return hostname.lower() if port == DEFAULT_PORT else f"[{hostname.lower()}]:{port}"


def fingerprint(key_blob: bytes) -> str:
    """As `ssh-keygen -l` shows it: SHA256:base64, unpadded."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def key_from_text(key_type: str, text: str) -> bytes | None:
    """The key blob of a `keytype base64` pair, or None where sshkey_read would fail."""
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    return blob if blob[4 : 4 + length] == key_type.encode() else None


def parse_line(line: str) -> tuple[str | None, str, str, bytes] | None:
    """(marker, hosts, keytype, key blob) of one known_hosts line, None for a comment, a blank
    or a line ssh would not read."""
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = None
    if fields[0].startswith("@"):
        if fields[0] not in (CA_MARKER, REVOKED_MARKER):
            return None
        marker, fields = fields[0], fields[1:]
    if len(fields) < 3:
        return None
    blob = key_from_text(fields[1], fields[2])
    return None if blob is None else (marker, fields[0], fields[1], blob)


def read_entries(path: Path) -> list[Entry]:
    try:
        text = path.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UsageError(f"cannot read known_hosts {path}: {exc.strerror}; fix its permissions") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        parsed = parse_line(line)
        if parsed is not None:
            entries.append(Entry(path, number, *parsed))
    return entries


def hash_name(name: str, salt: bytes | None = None) -> str:
    """`|1|salt|hmac`: HMAC-SHA1 of the name keyed by a 20-byte salt (hostfile.c host_hash)."""
    salt = os.urandom(20) if salt is None else salt
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def hosts_match(hosts: str, name: str) -> bool:
    if hosts.startswith("|"):
        parts = hosts.split("|")
        if len(parts) != 4 or parts[1] != "1":
            return False
        try:
            salt = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            return False
        return len(salt) == 20 and hmac.compare_digest(hash_name(name, salt), hosts)
    return match_pattern_list(name.lower(), [pattern.lower() for pattern in hosts.split(",")])


def revoked_by_file(path: Path, key_blob: bytes) -> bool:
    """RevokedHostKeys as authfile.c sshkey_check_revoked reads a list of keys; ssh refuses the
    connection when the file cannot be read, and so does leakhunt (a KRL included)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunError(f"cannot read RevokedHostKeys {path}: {exc.strerror}; ssh would refuse too") from None
    if data.startswith(KRL_MAGIC):
        raise RunError(
            f"RevokedHostKeys {path} is a KRL, which leakhunt cannot read: list the revoked keys one per "
            "line instead (ssh-keygen -Q checks a key against a KRL)"
        )
    for line in data.decode(errors="replace").splitlines():
        fields = line.split()
        if (
            len(fields) >= 2
            and not fields[0].startswith("#")
            and key_from_text(fields[0], fields[1]) == key_blob
        ):
            return True
    return False


class KnownHosts:
    """The user files (the first one written) and the global ones, as ssh reads them."""

    def __init__(self, user_files: list[Path], global_files: list[Path]) -> None:
        self.user_files, self.global_files = user_files, global_files

    def entries_for(self, name: str) -> list[Entry]:
        return [
            entry
            for path in [*self.user_files, *self.global_files]
            for entry in read_entries(path)
            if hosts_match(entry.hosts, name)
        ]

    def check(self, name: str, key_blob: bytes) -> Check:
        entries = self.entries_for(name)
        result = Check("new")
        for entry in entries:
            if entry.marker is not None:
                continue
            if entry.key_blob == key_blob:
                result = Check("ok", entry)
                break
            result = Check("changed", entry)
        revoking = [e for e in entries if e.marker == REVOKED_MARKER and e.key_blob == key_blob]
        return Check("revoked", revoking[0]) if revoking else result

    def key_types(self, name: str) -> list[str]:
        """The types of the keys recorded for `name`, in file order: ssh asks for these first."""
        types = [e.key_type for e in self.entries_for(name) if e.marker is None]
        return list(dict.fromkeys(types))

    def authorities(self, name: str) -> list[Entry]:
        return [e for e in self.entries_for(name) if e.marker == CA_MARKER]

    def record(self, name: str, key_type: str, key_blob: bytes, *, hashed: bool | None) -> Path:
        """Append one line for the key to the first user file and return that file."""
        if not self.user_files:
            raise RunError(
                f"cannot record the new host key of {name}: UserKnownHostsFile is none; "
                "add the key to a known_hosts file yourself"
            )
        path = self.user_files[0]
        if hashed is None:
            hashed = _all_hashed(read_entries(path))
        host = hash_name(name) if hashed else name
        line = f"{host} {key_type} {base64.b64encode(key_blob).decode()}\n"
        _append(path, line.encode())
        return path


def _all_hashed(entries: list[Entry]) -> bool:
    plain = [e for e in entries if e.marker is None]
    return bool(plain) and all(e.hosts.startswith("|1|") for e in plain)


def _append(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise RunError(f"cannot record the host key in {path}: {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        os.write(fd, data)
    except OSError as exc:
        raise RunError(f"cannot record the host key in {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
