"""OpenSSH host certificates, checked as ssh checks them (PROTOCOL.certkeys; sshkey.c
sshkey_cert_check_authority with a host wanted and a principal required).

paramiko negotiates a certificate host key but never checks it. A certificate is good for a
host when it is a host certificate, signed by a key that an `@cert-authority` line for the host
names, with a signature that verifies (and not by SHA-1 RSA, outside ssh's default
CASignatureAlgorithms), listing the host name (or HostKeyAlias) among its principals, inside its
validity window, and with no critical option (none is defined for host certificates).
"""

import struct
import time
from dataclasses import dataclass

import paramiko
from paramiko.message import Message
from paramiko.pkey import UnknownKeyType

CERT_SUFFIX = "-cert-v01@openssh.com"
HOST_CERTIFICATE = 2
# Host key algorithms of certificates paramiko can take, in ssh's order of preference.
ALGORITHMS = [
    "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
]
# How many fields of the certified key come after the nonce, per certificate type.
_KEY_FIELDS = {"ssh-ed25519": 1, "ssh-rsa": 2, "ecdsa-sha2-nistp256": 2, "ecdsa-sha2-nistp384": 2}
_KEY_FIELDS["ecdsa-sha2-nistp521"] = 2


@dataclass(frozen=True)
class Certificate:
    key_blob: bytes  # the certified key, as a plain public key blob
    kind: int
    key_id: str
    principals: list[str]
    valid_after_s: int
    valid_before_s: int
    critical_options: bytes
    signature_key: bytes
    signature: bytes
    signed: bytes  # what the signature covers


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError("truncated certificate")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def string(self) -> bytes:
        (size,) = struct.unpack(">I", self.take(4))
        return self.take(size)

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def uint64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def parse(blob: bytes) -> Certificate:
    """A certificate blob's fields; ValueError when it is not one ssh would read."""
    reader = _Reader(blob)
    cert_type = reader.string().decode(errors="replace")
    base = cert_type.removesuffix(CERT_SUFFIX)
    if base == cert_type or base not in _KEY_FIELDS:
        raise ValueError(f"a {cert_type} certificate, which leakhunt cannot read")
    reader.string()  # nonce
    key_blob = _string(base.encode()) + b"".join(_string(reader.string()) for _ in range(_KEY_FIELDS[base]))
    reader.uint64()  # serial
    kind = reader.uint32()
    key_id = reader.string().decode(errors="replace")
    principals_reader = _Reader(reader.string())
    principals = []
    while principals_reader.offset < len(principals_reader.data):
        principals.append(principals_reader.string().decode(errors="replace"))
    valid_after_s, valid_before_s = reader.uint64(), reader.uint64()
    critical_options = reader.string()
    reader.string()  # extensions
    reader.string()  # reserved
    signature_key = reader.string()
    signed = blob[: reader.offset]
    signature = reader.string()
    return Certificate(
        key_blob,
        kind,
        key_id,
        principals,
        valid_after_s,
        valid_before_s,
        critical_options,
        signature_key,
        signature,
        signed,
    )


def problem(
    certificate: Certificate, *, principal: str, authorities: list[bytes], now_s: float | None = None
) -> str | None:
    """Why the certificate is not good for `principal` under these CA keys, or None if it is."""
    now_s = time.time() if now_s is None else now_s
    if certificate.kind != HOST_CERTIFICATE:
        return "it is not a host certificate"
    if certificate.signature_key not in authorities:
        return "no @cert-authority line for the host names the key that signed it"
    algorithm = Message(certificate.signature).get_text()
    if algorithm == "ssh-rsa":
        return "it is signed with SHA-1 RSA, which ssh no longer accepts (CASignatureAlgorithms)"
    try:
        authority = paramiko.PKey.from_type_string(
            Message(certificate.signature_key).get_text(), certificate.signature_key
        )
        if not authority.verify_ssh_sig(certificate.signed, Message(certificate.signature)):
            return "its signature does not verify"
    except (UnknownKeyType, paramiko.SSHException, ValueError, TypeError):
        return "its signature cannot be checked by paramiko"
    if certificate.critical_options:
        return "it has critical options, which no host certificate may have"
    if not now_s >= certificate.valid_after_s:
        return "it is not valid yet"
    if not now_s < certificate.valid_before_s:
        return "it has expired"
    if principal not in certificate.principals:
        return f"it names {', '.join(certificate.principals) or 'no host'}, not {principal}"
    return None
