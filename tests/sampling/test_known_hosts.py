"""known_hosts.py reads and writes known_hosts as OpenSSH does: lines and hashed names as
`ssh-keygen -H` and `-F` have them, one appended line and no other byte changed, and every
trust decision made on a real sshd on 127.0.0.1 the same as the real `ssh` client makes it
(UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, @cert-authority with real host
certificates, @revoked, RevokedHostKeys, StrictHostKeyChecking, HashKnownHosts)."""

import subprocess
from pathlib import Path

import pytest

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling import known_hosts as kh
from leakhunt.sampling.ssh import Connector, connect, resolve_host
from leakhunt.sampling.ssh_config import passwd_home
from tests.sampling.sshd import keygen, run_ssh, start_sshd


def public_line(key: Path) -> str:
    """`keytype base64` of a key's .pub file."""
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def key_blob(key: Path) -> bytes:
    key_type, text = public_line(key).split()
    blob = kh.key_from_text(key_type, text)
    assert blob is not None
    return blob


@pytest.fixture(scope="module")
def other_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "other"
    keygen(path)
    return path


def host_config(server, directory: Path, extra: str = "") -> Path:
    """A config for `vps` on the test sshd with the user key and no agent, plus `extra`."""
    config = directory / "config"
    config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {server.port}\n  User root\n"
        f"  IdentityFile {server.user_key}\n  IdentityAgent none\n{extra}"
    )
    return config


def leakhunt_connects(config: Path, **options) -> bool:
    connect(resolve_host("vps", config), ssh_config_path=config, **options).close()
    return True


def ssh_connects(config: Path, *options: str) -> bool:
    result = run_ssh(config, "vps", *options)
    assert result.returncode in (0, 255), result.stderr
    return result.returncode == 0


# ---- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "name", "matches"),
    [
        ("other.example,10.9.9.9", "10.9.9.9", True),
        ("other.example,10.9.9.9", "OTHER.example", True),
        ("*.example.com", "db.example.com", True),
        ("!bad.example.com,*.example.com", "bad.example.com", False),
        ("[127.0.0.1]:2222", "[127.0.0.1]:2222", True),
        ("[127.0.0.1]:2222", "127.0.0.1", False),
        ("web?", "web12", False),
    ],
)
def test_host_patterns_match_as_in_hostfile_c(hosts, name, matches):
    assert kh.hosts_match(hosts, name) is matches


def test_names_hashed_by_ssh_keygen_are_found_and_ours_are_found_by_ssh_keygen(tmp_path, other_key):
    theirs = tmp_path / "theirs"
    theirs.write_text(f"db.example.com {public_line(other_key)}\n[127.0.0.1]:2222 {public_line(other_key)}\n")
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(theirs)], check=True, capture_output=True)
    hashed = [line.split()[0] for line in theirs.read_text().splitlines()]
    assert all(h.startswith("|1|") for h in hashed)
    assert kh.hosts_match(hashed[0], "db.example.com") and kh.hosts_match(hashed[1], "[127.0.0.1]:2222")
    assert not kh.hosts_match(hashed[0], "db.example.org")

    ours = tmp_path / "ours"
    ours.write_text(f"{kh.hash_name('db.example.com')} {public_line(other_key)}\n")
    found = subprocess.run(
        ["ssh-keygen", "-F", "db.example.com", "-f", str(ours)], capture_output=True, text=True
    )
    assert found.returncode == 0 and public_line(other_key) in found.stdout


def test_lines_ssh_would_not_read_are_passed_over_and_markers_never_stop_the_file(tmp_path, other_key):
    key_type, text = public_line(other_key).split()
    known = tmp_path / "known_hosts"
    known.write_text(
        "# a comment\n\n"
        f"@cert-authority *.example.com {key_type} {text} the CA\n"
        f"@revoked * {key_type} {text}\n"
        f"@nonsense * {key_type} {text}\n"
        f"truncated.example {key_type}\n"
        f"mislabelled.example ssh-rsa {text}\n"
        f"badbase64.example {key_type} !!!!\n"
        f"  indented.example\t{key_type} {text} a key comment\n"
    )
    entries = kh.read_entries(known)
    assert [(e.line_number, e.marker, e.hosts) for e in entries] == [
        (3, kh.CA_MARKER, "*.example.com"),
        (4, kh.REVOKED_MARKER, "*"),
        (9, None, "indented.example"),
    ]
    store = kh.KnownHosts([known], [])
    assert store.check("indented.example", key_blob(other_key)).status == "revoked"  # @revoked * wins
    assert [e.line_number for e in store.authorities("db.example.com")] == [3]


# ---- writing ----------------------------------------------------------------------------------


AWKWARD = (
    "# kept as it is\n"
    "\n"
    "other.example,10.9.9.9 {key} a comment with  two spaces\n"
    "@cert-authority *.corp.example {key} corp CA\n"
    "   \t\n"
    "last.example {key}"  # no newline at the end
)


def test_a_recorded_key_is_one_appended_line_and_no_other_byte_changes(tmp_path, other_key):
    known = tmp_path / "known_hosts"
    original = AWKWARD.format(key=public_line(other_key)).encode()
    known.write_bytes(original)
    kh.KnownHosts([known], []).record("[127.0.0.1]:2222", "ssh-ed25519", key_blob(other_key), hashed=None)
    after = known.read_bytes()
    assert after.startswith(original)
    assert after[len(original) :] == f"\n[127.0.0.1]:2222 {public_line(other_key)}\n".encode()


@pytest.mark.parametrize(
    ("existing", "hash_known_hosts", "hashed"),
    [
        ("hashed", None, True),
        ("plain", None, False),
        ("mixed", None, False),
        ("plain", True, True),
        ("hashed", False, False),
    ],
)
def test_a_recorded_name_is_hashed_as_the_file_or_hash_known_hosts_says(
    tmp_path, other_key, existing, hash_known_hosts, hashed
):
    known = tmp_path / "known_hosts"
    line = f"db.example.com {public_line(other_key)}\nweb.example.com {public_line(other_key)}\n"
    known.write_text(line)
    if existing != "plain":
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True, capture_output=True)
    if existing == "mixed":
        known.write_text(known.read_text() + f"plain.example {public_line(other_key)}\n")
    before = known.read_text()
    kh.KnownHosts([known], []).record(
        "new.example", "ssh-ed25519", key_blob(other_key), hashed=hash_known_hosts
    )
    added = known.read_text().removeprefix(before)
    assert added.count("\n") == 1
    assert added.startswith("|1|") is hashed
    assert kh.hosts_match(added.split()[0], "new.example")


# ---- against a real sshd, decided as ssh decides ----------------------------------------------


def test_accept_new_appends_one_line_that_ssh_itself_then_trusts(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    original = AWKWARD.format(key=sshd.known_hosts_line().split(maxsplit=1)[1].strip()).encode()
    known.write_bytes(original)
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert not ssh_connects(config, "StrictHostKeyChecking=yes")  # unknown to ssh as well
    with pytest.raises(RunError, match="not known"):
        leakhunt_connects(config)
    assert known.read_bytes() == original
    assert leakhunt_connects(config, accept_new_host_key=True)
    after = known.read_bytes()
    assert after == original + b"\n" + sshd.known_hosts_line().encode()
    assert ssh_connects(config, "StrictHostKeyChecking=yes")  # the line is one ssh reads
    assert leakhunt_connects(config) and known.read_bytes() == after  # and nothing more is written


def test_hash_known_hosts_yes_records_a_hashed_line_that_ssh_trusts(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n  HashKnownHosts yes\n")
    assert leakhunt_connects(config, accept_new_host_key=True)
    (line,) = known.read_text().splitlines()
    assert line.startswith("|1|") and f"{sshd.port}" not in line
    assert ssh_connects(config, "StrictHostKeyChecking=yes")


def test_a_different_key_in_the_configs_user_known_hosts_file_is_refused_as_ssh_refuses(
    sshd, tmp_path, other_key
):
    home_known = passwd_home() / ".ssh" / "known_hosts"
    home_before = home_known.read_bytes() if home_known.exists() else None
    known = tmp_path / "elsewhere_known_hosts"
    known.write_text(sshd.known_hosts_line(other_key))
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert not ssh_connects(config)
    for accept in (False, True):
        with pytest.raises(RunError, match=rf"CHANGED since it was recorded in {known} line 1"):
            leakhunt_connects(config, accept_new_host_key=accept)
    assert known.read_text() == sshd.known_hosts_line(other_key)
    assert (home_known.read_bytes() if home_known.exists() else None) == home_before


def test_the_global_known_hosts_file_is_read_and_never_written(sshd, tmp_path, other_key):
    user_known, global_known = tmp_path / "user_known_hosts", tmp_path / "global_known_hosts"
    user_known.write_text("")
    global_known.write_text(sshd.known_hosts_line())
    config = host_config(
        sshd, tmp_path, f"  UserKnownHostsFile {user_known}\n  GlobalKnownHostsFile {global_known}\n"
    )
    assert ssh_connects(config, "StrictHostKeyChecking=yes") and leakhunt_connects(config)
    assert user_known.read_text() == ""
    global_known.write_text(sshd.known_hosts_line(other_key))
    assert not ssh_connects(config)
    with pytest.raises(RunError, match=rf"CHANGED.*{global_known} line 1"):
        leakhunt_connects(config, accept_new_host_key=True)


def test_host_key_alias_is_the_name_keys_are_checked_and_recorded_under(sshd, tmp_path, other_key):
    known = tmp_path / "known_hosts"
    right, wrong = (
        sshd.known_hosts_line().split(maxsplit=1)[1],
        sshd.known_hosts_line(other_key).split(maxsplit=1)[1],
    )
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n  HostKeyAlias webfarm\n")
    known.write_text(f"webfarm {right}[127.0.0.1]:{sshd.port} {wrong}")
    assert ssh_connects(config, "StrictHostKeyChecking=yes") and leakhunt_connects(config)
    known.write_text(f"webfarm {wrong}[127.0.0.1]:{sshd.port} {right}")
    assert not ssh_connects(config)
    with pytest.raises(RunError, match="CHANGED"):
        leakhunt_connects(config)
    known.write_text("")
    assert leakhunt_connects(config, accept_new_host_key=True)
    assert known.read_text() == f"webfarm {right}"


def test_a_key_recorded_without_the_port_is_trusted_and_nothing_is_written(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"127.0.0.1 {sshd.known_hosts_line().split(maxsplit=1)[1]}")
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    before = known.read_text()
    assert ssh_connects(config, "StrictHostKeyChecking=yes") and leakhunt_connects(config)
    assert known.read_text() == before


@pytest.fixture(scope="module")
def authorities(tmp_path_factory):
    """A CA key paramiko can check signatures with (Ed25519) and one it cannot (DSA)."""
    directory = tmp_path_factory.mktemp("authorities")
    made = {}
    for name, key_type in (("ca", "ed25519"), ("dsa_ca", "dsa")):
        made[name] = directory / name
        subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-f", str(made[name])], check=True)
    return made


def test_a_cert_authority_line_never_stops_a_host_with_a_plain_entry(sshd, tmp_path, authorities):
    known = tmp_path / "known_hosts"
    known.write_text(
        f"@cert-authority *.corp.example {public_line(authorities['dsa_ca'])}\n"
        f"@cert-authority [127.0.0.1]:* {public_line(authorities['ca'])} our CA\n" + sshd.known_hosts_line()
    )
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    said: list[str] = []
    Connector(resolve_host("vps", config), on_warning=said.append).connect().close()
    assert said == []  # neither applies in a way leakhunt cannot follow
    assert ssh_connects(config, "StrictHostKeyChecking=yes")


def test_a_cert_authority_paramiko_cannot_check_is_said_before_connecting(sshd, tmp_path, authorities):
    known = tmp_path / "known_hosts"
    known.write_text(
        f"@cert-authority [127.0.0.1]:* {public_line(authorities['dsa_ca'])}\n" + sshd.known_hosts_line()
    )
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    said: list[str] = []
    connector = Connector(resolve_host("vps", config), on_warning=said.append)
    assert len(said) == 1 and said[0].startswith(f"{known} line 1: @cert-authority") and "ssh-dss" in said[0]
    connector.connect().close()


def test_a_host_without_a_certificate_is_judged_by_its_own_key_as_ssh_judges_it(sshd, tmp_path, authorities):
    ca_line = f"@cert-authority [127.0.0.1]:* {public_line(authorities['ca'])}\n"
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.write_text(ca_line)
    theirs.write_text(ca_line)
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {ours}\n")
    assert not ssh_connects(config, f"UserKnownHostsFile={theirs}")
    with pytest.raises(RunError, match="not known"):
        leakhunt_connects(config)
    assert ssh_connects(config, f"UserKnownHostsFile={theirs}", "StrictHostKeyChecking=accept-new")
    assert leakhunt_connects(config, accept_new_host_key=True)
    assert ours.read_text() == theirs.read_text() == ca_line + sshd.known_hosts_line()


@pytest.fixture(scope="module")
def certified_sshd(tmp_path_factory, authorities):
    """An sshd whose ECDSA host key has a host certificate for 127.0.0.1 from the Ed25519 CA."""
    key = tmp_path_factory.mktemp("hostcert") / "host_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(key)], check=True)
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-s",
            str(authorities["ca"]),
            "-I",
            "host",
            "-h",
            "-n",
            "127.0.0.1",
            f"{key}.pub",
        ],
        check=True,
    )
    server = start_sshd(extra_config=f"HostKey {key}\nHostCertificate {key}-cert.pub\n")
    yield server
    server.stop()


def test_a_host_certificate_from_a_cert_authority_in_known_hosts_is_trusted_as_ssh_trusts_it(
    certified_sshd, tmp_path, authorities
):
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority 127.0.0.1,[127.0.0.1]:* {public_line(authorities['ca'])}\n")
    before = known.read_text()
    config = host_config(certified_sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert ssh_connects(config, "StrictHostKeyChecking=yes")
    connection = connect(resolve_host("vps", config))
    assert connection.transport.host_key_type == "ecdsa-sha2-nistp256-cert-v01@openssh.com"
    connection.close()
    assert known.read_text() == before  # trusted through the CA: nothing to record


def test_a_host_certificate_for_another_name_falls_back_to_the_bare_key_as_in_ssh(
    certified_sshd, tmp_path, authorities
):
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority webfarm {public_line(authorities['ca'])}\n")
    config = host_config(certified_sshd, tmp_path, f"  UserKnownHostsFile {known}\n  HostKeyAlias webfarm\n")
    assert not ssh_connects(config, "StrictHostKeyChecking=yes")
    refused = r"its certificate was not accepted: it names 127\.0\.0\.1, not webfarm"
    with pytest.raises(RunError, match=refused):
        leakhunt_connects(config)


def test_a_host_certificate_from_a_revoked_authority_is_refused_outright_as_ssh_refuses_it(
    certified_sshd, tmp_path, authorities
):
    known = tmp_path / "known_hosts"
    lines = (
        f"@cert-authority [127.0.0.1]:* {public_line(authorities['ca'])}\n"
        f"@revoked * {public_line(authorities['ca'])}\n"
    )
    known.write_text(lines)
    config = host_config(certified_sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert not ssh_connects(config, "StrictHostKeyChecking=accept-new")
    with pytest.raises(RunError, match="marked @revoked"):
        leakhunt_connects(config, accept_new_host_key=True)
    assert known.read_text() == lines  # and nothing was trusted on first use instead


def test_a_revoked_key_is_refused_even_beside_a_plain_entry_as_ssh_refuses_it(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"@revoked * {public_line(sshd.host_key)}\n" + sshd.known_hosts_line())
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert not ssh_connects(config)
    with pytest.raises(RunError, match=rf"marked @revoked in {known} line 1"):
        leakhunt_connects(config, accept_new_host_key=True)


def test_revoked_host_keys_lists_are_honoured_and_a_krl_or_a_missing_file_refused(sshd, tmp_path, other_key):
    known, revoked = tmp_path / "known_hosts", tmp_path / "revoked"
    known.write_text(sshd.known_hosts_line())
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n  RevokedHostKeys {revoked}\n")
    revoked.write_text(f"{public_line(other_key)}\n")
    assert ssh_connects(config) and leakhunt_connects(config)
    revoked.write_text(f"# retired\n{public_line(other_key)}\n{public_line(sshd.host_key)} old host\n")
    assert not ssh_connects(config)
    with pytest.raises(RunError, match="revoked in RevokedHostKeys"):
        leakhunt_connects(config)
    subprocess.run(
        ["ssh-keygen", "-q", "-k", "-f", str(revoked), str(other_key.with_suffix(".pub"))], check=True
    )
    with pytest.raises(RunError, match="is a KRL"):
        leakhunt_connects(config)
    revoked.unlink()
    assert not ssh_connects(config)
    with pytest.raises(RunError, match="cannot read RevokedHostKeys"):
        leakhunt_connects(config)


def test_strict_host_key_checking_accept_new_is_the_flag_and_no_is_refused_before_connecting(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    config = host_config(
        sshd, tmp_path, f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking accept-new\n"
    )
    assert leakhunt_connects(config) and known.read_text() == sshd.known_hosts_line()

    known.write_text("")
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking no\n")
    with pytest.raises(UsageError) as refused:
        resolve_and_prepare(config)
    assert f"{config} line 8: StrictHostKeyChecking no" in refused.value.message
    assert "--accept-new-host-key" in refused.value.message
    assert known.read_text() == ""
    assert leakhunt_connects(config, accept_new_host_key=True)  # the flag wins, as `-o` would

    known.write_text("")
    config = host_config(sshd, tmp_path, f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n")
    with pytest.raises(RunError, match="not known"):
        leakhunt_connects(config)
    assert leakhunt_connects(config, accept_new_host_key=True)


def resolve_and_prepare(config: Path) -> None:
    Connector(resolve_host("vps", config))


@pytest.fixture(scope="module")
def two_key_sshd(tmp_path_factory):
    """An sshd with an ECDSA host key beside its Ed25519 one: paramiko would pick Ed25519."""
    ecdsa = tmp_path_factory.mktemp("hostkeys") / "host_ecdsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(ecdsa)], check=True)
    server = start_sshd(extra_config=f"HostKey {ecdsa}\n")
    server.ecdsa_key = ecdsa
    yield server
    server.stop()


def test_the_key_type_already_known_is_asked_for_first_as_ssh_asks(two_key_sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(two_key_sshd.known_hosts_line(two_key_sshd.ecdsa_key))
    config = host_config(two_key_sshd, tmp_path, f"  UserKnownHostsFile {known}\n")
    assert ssh_connects(config, "StrictHostKeyChecking=yes") and leakhunt_connects(config)
    assert known.read_text() == two_key_sshd.known_hosts_line(two_key_sshd.ecdsa_key)
