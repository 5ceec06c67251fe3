"""ssh_auth.py authenticates as ssh does, against a real sshd on 127.0.0.1 with a real ssh-agent:
the keys offered in the order the real `ssh` client offers them (read from sshd's own log of
each attempt), missing IdentityFiles skipped, IdentitiesOnly keeping agent keys back,
CertificateFile and `<key>-cert.pub` certificates presented with their keys from a file or the
agent, and a failure that names what was tried and what to do."""

import re
import subprocess
import time
from pathlib import Path

import pytest

from leakhunt.errors import RunError
from leakhunt.sampling import known_hosts as kh
from leakhunt.sampling.ssh import Connector, connect, resolve_host
from tests.sampling.sshd import keygen, run_ssh, start_agent, start_sshd

LOG_DEADLINE_S = 30.0  # a bound on waiting for sshd's log line, not a measured time


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    """Keys the server does not know (a, b, c), an encrypted one, and a user CA."""
    directory = tmp_path_factory.mktemp("keys")
    made = {}
    for name in ("a", "b", "c", "certified", "ca"):
        made[name] = directory / name
        keygen(made[name])
    made["encrypted"] = directory / "encrypted"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(made["encrypted"])], check=True
    )
    return made


@pytest.fixture(scope="module")
def server(keys):
    """An sshd that logs every key offered (LogLevel VERBOSE) and trusts certificates of the CA."""
    running = start_sshd(extra_config=f"LogLevel VERBOSE\nTrustedUserCAKeys {keys['ca']}.pub\n")
    running.trust()
    yield running
    running.stop()


@pytest.fixture
def agent(tmp_path):
    running = start_agent(tmp_path)
    yield running
    running.stop()


def fingerprint(key: Path) -> str:
    key_type, text = key.with_suffix(".pub").read_text().split()[:2]
    blob = kh.key_from_text(key_type, text)
    assert blob is not None
    return kh.fingerprint(blob)


def certify(keys: dict[str, Path], key: Path, principal: str = "root", to: Path | None = None) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(keys["ca"]), "-I", "test", "-n", principal, f"{key}.pub"], check=True
    )
    made = Path(f"{key}-cert.pub")
    if to is not None:
        made.rename(to)
        return to
    return made


def config_for(server, directory: Path, body: str) -> Path:
    config = directory / "config"
    config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {server.port}\n  User root\n"
        f"  UserKnownHostsFile {server.known_hosts}\n{body}"
    )
    return config


def leakhunt(config: Path) -> bool:
    try:
        connect(resolve_host("vps", config), ssh_config_path=config).close()
        return True
    except RunError:
        return False


def ssh(config: Path) -> bool:
    return run_ssh(config, "vps").returncode == 0


_ATTEMPT = re.compile(r"(Failed|Accepted) publickey for root from \S+ port (\d+) ssh2: \S+ (SHA256:\S+)")
_END = re.compile(r"(?:Accepted publickey for root from|authenticating user root) \S+ port (\d+)")
_PORT = re.compile(r" port (\d+)")


def attempts(server, run) -> tuple[bool, list[str]]:
    """Whether `run()` got in, and the keys sshd logged for its one connection, in order (a
    connection's lines are told apart by its client port; "accepted " marks the key let in)."""
    log = server.root / "sshd.log"
    before = set(_PORT.findall(log.read_text())) if log.exists() else set()
    succeeded = run()
    deadline = time.monotonic() + LOG_DEADLINE_S
    while True:  # waits for sshd's line ending this connection's authentication, never a fixed time
        text = log.read_text()
        ended = set(_END.findall(text)) - before
        if ended:
            break
        assert time.monotonic() < deadline, "sshd logged no end of authentication"
        time.sleep(0.05)  # sshd appends to a file and signals nobody: the file is polled, not timed
    assert len(ended) == 1, ended
    (port,) = ended
    return succeeded, [
        ("accepted " if verdict == "Accepted" else "") + key
        for verdict, key_port, key in _ATTEMPT.findall(text)
        if key_port == port
    ]


def test_keys_are_offered_in_the_order_ssh_offers_them(server, keys, agent, tmp_path):
    # The agent holds b (also an IdentityFile) and c; the files are a, b, then the good key.
    agent.add(keys["b"])
    agent.add(keys["c"])
    config = config_for(
        server,
        tmp_path,
        f"  IdentityAgent {agent.socket_path}\n  IdentityFile {keys['a']}\n  IdentityFile {keys['b']}\n"
        f"  IdentityFile {server.user_key}\n",
    )
    theirs = attempts(server, lambda: ssh(config))
    ours = attempts(server, lambda: leakhunt(config))
    expected = [fingerprint(keys[k]) for k in ("b", "c", "a")] + ["accepted " + fingerprint(server.user_key)]
    assert theirs == (True, expected)
    assert ours == theirs


def test_a_missing_first_identity_file_is_skipped_and_said_before_connecting(server, keys, tmp_path):
    missing = tmp_path / "no_such_key"
    config = config_for(
        server,
        tmp_path,
        f"  IdentityAgent none\n  IdentityFile {missing}\n  IdentityFile {server.user_key}\n",
    )
    said: list[str] = []
    connector = Connector(resolve_host("vps", config), on_warning=said.append)
    assert said == [f"IdentityFile {missing} for vps does not exist: skipped, as ssh skips it"]
    connector.connect().close()
    assert ssh(config)


def test_identities_only_keeps_a_good_agent_key_back_as_ssh_does(server, keys, agent, tmp_path):
    agent.add(server.user_key)
    body = f"  IdentityAgent {agent.socket_path}\n  IdentityFile {keys['a']}\n"
    config = config_for(server, tmp_path, body + "  IdentitiesOnly yes\n")
    assert not ssh(config)
    with pytest.raises(RunError) as refused:
        connect(resolve_host("vps", config))
    message = refused.value.message
    assert f"the server refused {keys['a']};" in message and "agent key" not in message
    assert "IdentityFile for vps" in message
    config = config_for(server, tmp_path, body)
    assert ssh(config) and leakhunt(config)  # without IdentitiesOnly the agent's key gets in


def test_the_agent_is_found_by_ssh_auth_sock_and_identity_agent_none_turns_it_off(
    server, agent, tmp_path, monkeypatch
):
    agent.add(server.user_key)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.socket_path))
    config = config_for(server, tmp_path, f"  IdentityFile {tmp_path / 'absent'}\n")
    assert leakhunt(config)
    config = config_for(server, tmp_path, f"  IdentityFile {tmp_path / 'absent'}\n  IdentityAgent none\n")
    with pytest.raises(RunError, match="IdentityAgent none"):
        connect(resolve_host("vps", config))


def test_a_certificate_file_at_its_own_path_is_presented_with_its_key_from_a_file_or_the_agent(
    server, keys, agent, tmp_path
):
    cert = certify(keys, keys["certified"], to=tmp_path / "issued.pub")
    with_file = f"  IdentityAgent none\n  IdentityFile {keys['certified']}\n  CertificateFile {cert}\n"
    config = config_for(server, tmp_path, with_file)
    assert ssh(config) and leakhunt(config)
    agent.add(keys["certified"])
    config = config_for(server, tmp_path, f"  IdentityAgent {agent.socket_path}\n  CertificateFile {cert}\n")
    assert ssh(config) and leakhunt(config)
    config = config_for(server, tmp_path, f"  IdentityAgent none\n  IdentityFile {keys['certified']}\n")
    assert not ssh(config) and not leakhunt(config)  # the bare key alone is not authorized


def test_a_key_cert_pub_beside_the_key_is_presented_after_the_bare_key(server, keys, tmp_path):
    cert = certify(keys, keys["c"])
    try:
        config = config_for(server, tmp_path, f"  IdentityAgent none\n  IdentityFile {keys['c']}\n")
        theirs = attempts(server, lambda: ssh(config))
        ours = attempts(server, lambda: leakhunt(config))
    finally:
        cert.unlink()
    assert theirs[0] and ours[0]
    assert ours[1][0] == theirs[1][0] == fingerprint(keys["c"])  # the bare key first, refused
    assert ours[1][-1].startswith("accepted ") and theirs[1][-1].startswith("accepted ")


def test_a_key_that_needs_its_passphrase_is_skipped_unless_the_agent_holds_it(server, keys, agent, tmp_path):
    body = f"  IdentityFile {keys['encrypted']}\n  IdentityFile {keys['a']}\n"
    config = config_for(server, tmp_path, "  IdentityAgent none\n" + body)
    with pytest.raises(RunError) as refused:
        connect(resolve_host("vps", config))
    assert f"skipped {keys['encrypted']} (needs its passphrase: add it to ssh-agent" in refused.value.message
    assert f"the server refused {keys['a']}" in refused.value.message
    # In the agent (a decrypted copy added), the key is offered there, as ssh offers it.
    copy = tmp_path / "decrypted"
    copy.write_bytes(keys["encrypted"].read_bytes())
    copy.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "secret", "-N", "", "-f", str(copy)], check=True)
    agent.add(copy)
    config = config_for(
        server, tmp_path, f"  IdentityAgent {agent.socket_path}\n  IdentitiesOnly yes\n" + body
    )
    theirs, ours = attempts(server, lambda: ssh(config)), attempts(server, lambda: leakhunt(config))
    assert ours == theirs == (False, [fingerprint(keys["encrypted"]), fingerprint(keys["a"])])


def test_no_key_at_all_is_advice_not_paramikos_words(server, tmp_path):
    config = config_for(server, tmp_path, f"  IdentityAgent none\n  IdentityFile {tmp_path / 'gone'}\n")
    with pytest.raises(RunError) as refused:
        connect(resolve_host("vps", config))
    message = refused.value.message
    assert "No authentication methods available" not in message
    assert message.startswith(f"authentication to root@127.0.0.1:{server.port} failed: ")
    assert f"skipped {tmp_path / 'gone'} (no such file)" in message and "no key to offer" in message
    assert "authorized_keys" in message and "ssh-add" in message and "\n" not in message
