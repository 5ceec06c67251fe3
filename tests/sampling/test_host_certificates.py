"""host_certificates.py reads and checks host certificates as ssh does, on certificates made by
`ssh-keygen -s`: the certified key for every type paramiko takes, and each reason ssh has to
turn one down (a user certificate, another CA, a principal not listed, outside its validity, a
broken signature, a SHA-1 RSA signature)."""

import subprocess
import time
from pathlib import Path

import pytest

from leakhunt.sampling import host_certificates as hc
from leakhunt.sampling import known_hosts as kh

HOUR_S = 3600


def make_key(directory: Path, name: str, key_type: str = "ed25519") -> Path:
    path = directory / name
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(path)], check=True)
    return path


def blob_of(pub: Path) -> bytes:
    key_type, text = pub.read_text().split()[:2]
    blob = kh.key_from_text(key_type, text)
    assert blob is not None
    return blob


def certify(
    directory: Path, *options: str, key_type: str = "ed25519", ca: str = "ca"
) -> tuple[hc.Certificate, Path]:
    """A certificate from ssh-keygen, parsed, and the CA's public key file."""
    authority = make_key(directory, ca, "rsa" if ca.startswith("rsa") else "ed25519")
    key = make_key(directory, f"host_{key_type}", key_type)
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(authority), "-I", "host", *options, f"{key}.pub"],
        check=True,
        capture_output=True,
    )
    certificate = hc.parse(blob_of(Path(f"{key}-cert.pub")))
    assert certificate.key_blob == blob_of(Path(f"{key}.pub"))
    return certificate, Path(f"{authority}.pub")


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_a_good_host_certificate_of_each_type_is_good_for_its_principal(tmp_path, key_type):
    certificate, authority = certify(tmp_path, "-h", "-n", "web.example,127.0.0.1", key_type=key_type)
    assert certificate.principals == ["web.example", "127.0.0.1"]
    for principal in certificate.principals:
        assert hc.problem(certificate, principal=principal, authorities=[blob_of(authority)]) is None


@pytest.mark.parametrize(
    ("options", "principal", "words"),
    [
        (("-n", "web.example"), "web.example", "not a host certificate"),
        (("-h", "-n", "web.example"), "db.example", "it names web.example, not db.example"),
        (("-h", "-V", "-2d:-1d", "-n", "web.example"), "web.example", "expired"),
        (("-h", "-V", "+1d:+2d", "-n", "web.example"), "web.example", "not valid yet"),
    ],
)
def test_what_ssh_turns_down_is_turned_down_with_the_reason(tmp_path, options, principal, words):
    certificate, authority = certify(tmp_path, *options)
    assert words in (hc.problem(certificate, principal=principal, authorities=[blob_of(authority)]) or "")


def test_a_certificate_from_another_ca_or_with_a_broken_signature_is_turned_down(tmp_path):
    certificate, authority = certify(tmp_path, "-h", "-n", "web.example")
    other = make_key(tmp_path, "other_ca")
    why = hc.problem(certificate, principal="web.example", authorities=[blob_of(Path(f"{other}.pub"))])
    assert why is not None and "@cert-authority" in why
    tampered = hc.Certificate(
        **{**certificate.__dict__, "signed": certificate.signed.replace(b"web", b"wxb")}
    )
    why = hc.problem(tampered, principal="web.example", authorities=[blob_of(authority)])
    assert why == "its signature does not verify"


def test_sha1_rsa_signatures_are_turned_down_and_sha2_ones_taken(tmp_path):
    for algorithm, good in (("rsa-sha2-512", True), ("ssh-rsa", False)):
        certificate, authority = certify(tmp_path, "-h", "-n", "web.example", "-t", algorithm, ca="rsa_ca")
        why = hc.problem(certificate, principal="web.example", authorities=[blob_of(authority)])
        assert (why is None) is good, why


def test_validity_is_judged_at_the_time_given(tmp_path):
    certificate, authority = certify(tmp_path, "-h", "-V", "+1h:+3h", "-n", "web.example")
    later_s = time.time() + 2 * HOUR_S
    assert (
        hc.problem(certificate, principal="web.example", authorities=[blob_of(authority)], now_s=later_s)
        is None
    )


def test_what_is_not_a_certificate_is_a_value_error():
    with pytest.raises(ValueError, match="cannot read"):
        hc.parse(b"\x00\x00\x00\x0bssh-ed25519" + b"\x00" * 36)
