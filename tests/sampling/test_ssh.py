"""ssh.py makes the connection ssh would make, against real sshds on 127.0.0.1 and compared
with the real `ssh` client: ProxyJump in every form OpenSSH reads (user@host:port, ssh:// URIs,
lists of hops), ProxyCommand, ConnectTimeout on a port that never answers, ServerAliveInterval,
TCPKeepAlive, BindAddress and Compression; refusals before any connection."""

import socket
import time
from pathlib import Path

import pytest

from leakhunt.errors import RunError, UsageError
from leakhunt.sampling.ssh import CONNECT_TIMEOUT_S, Connector, Hop, connect, parse_jump, resolve_host
from tests.sampling.sshd import run_ssh, silent_port, start_sshd

LOG_DEADLINE_S = 30.0  # a bound on waiting for a log line, not a measured time


@pytest.fixture(scope="module")
def bastion():
    """A second sshd: the jump host."""
    server = start_sshd()
    yield server
    server.stop()


@pytest.fixture
def network(sshd, bastion, tmp_path) -> Path:
    """A config where every host has both user keys and one known_hosts with both host keys."""
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line() + bastion.known_hosts_line())
    config = tmp_path / "config"
    config.write_text(
        f"Host vps\n  HostName 127.0.0.1\n  Port {sshd.port}\n"
        f"Host bastion\n  HostName 127.0.0.1\n  Port {bastion.port}\n"
        f"Host *\n  User root\n  IdentityFile {sshd.user_key}\n  IdentityFile {bastion.user_key}\n"
        f"  IdentityAgent none\n  UserKnownHostsFile {known}\n"
    )
    return config


def with_lines(config: Path, text: str) -> Path:
    """`config` with `text` put first, so that its values win."""
    config.write_text(text + config.read_text())
    return config


@pytest.mark.parametrize(
    ("text", "hops"),
    [
        ("bastion", [Hop(None, "bastion", None)]),
        ("root@127.0.0.1:22202", [Hop("root", "127.0.0.1", 22202)]),
        ("ssh://deploy@jump.example:2200", [Hop("deploy", "jump.example", 2200)]),
        ("ssh://jump.example", [Hop(None, "jump.example", None)]),
        ("[::1]:2222", [Hop(None, "::1", 2222)]),
        (
            "a@first,second:22,ssh://c@third",
            [Hop("a", "first", None), Hop(None, "second", 22), Hop("c", "third", None)],
        ),
    ],
)
def test_proxy_jump_is_read_in_every_form_openssh_reads(text, hops):
    assert parse_jump(text) == hops


@pytest.mark.parametrize("text", ["host:notaport", "@host", "ssh://host/path", "host:70000", "[::1"])
def test_a_proxy_jump_ssh_refuses_is_a_usage_error_naming_it(text):
    with pytest.raises(UsageError, match="is not \\[user@\\]host\\[:port\\]"):
        parse_jump(text)


@pytest.mark.parametrize(
    "jump",
    [
        "bastion",
        "root@127.0.0.1:{port}",  # the form that was "unknown host alias"
        "ssh://root@127.0.0.1:{port}",
        "bastion,root@127.0.0.1:{port}",  # two hops: the bastion, then through it the bastion again
    ],
)
def test_proxy_jump_connects_through_the_jump_host_as_ssh_does(sshd, bastion, network, jump):
    jump = jump.format(port=bastion.port)
    with_lines(network, f"Host vps\n  ProxyJump {jump}\n")
    assert run_ssh(network, "vps").returncode == 0
    connection = connect(resolve_host("vps", network), ssh_config_path=network)
    try:
        # The bastion holds one session per hop while the connection is up: it went through.
        assert len(bastion.session_processes()) == jump.count(",") + 1
        assert connection.run("echo through", timeout_s=30) == "through\n"
    finally:
        connection.close()


def test_a_jump_host_that_cannot_reach_the_target_says_so(bastion, network, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: refused
        with_lines(network, f"Host nowhere\n  HostName 127.0.0.1\n  Port {port}\n  ProxyJump bastion\n")
        with pytest.raises(RunError, match=f"the jump host bastion cannot reach 127.0.0.1:{port}"):
            connect(resolve_host("nowhere", network), ssh_config_path=network)


def test_a_proxy_jump_that_loops_back_is_refused_before_connecting(network):
    with_lines(network, "Host *\n  ProxyJump bastion\n")  # applies to the bastion itself too
    with pytest.raises(UsageError, match="ProxyJump for bastion loops back"):
        Connector(resolve_host("vps", network), ssh_config_path=network)


def test_proxy_command_is_run_as_ssh_runs_it_and_its_failure_is_its_own_words(sshd, network):
    with_lines(
        network,
        f"Host viaproxy\n  HostName 127.0.0.1\n  Port {sshd.port}\n"
        f"  ProxyCommand ssh -F {network} -W %h:%p bastion\n",
    )
    assert run_ssh(network, "viaproxy").returncode == 0
    connection = connect(resolve_host("viaproxy", network))
    assert connection.run("echo proxied", timeout_s=30) == "proxied\n"
    connection.close()
    # It reads our banner's first byte, then dies: the end of its output is the end of the link.
    with_lines(
        network, "Host broken\n  ProxyCommand sh -c 'head -c 1 >/dev/null; echo no route to %h:%p >&2'\n"
    )
    began_s = time.monotonic()
    with pytest.raises(RunError, match="the ProxyCommand for broken failed: no route to broken:22"):
        connect(resolve_host("broken", network))
    assert time.monotonic() - began_s < CONNECT_TIMEOUT_S  # not the banner timeout it once waited


def test_connect_timeout_gives_up_on_a_port_that_never_answers_in_one_line_naming_it(network):
    with silent_port() as port:
        with_lines(network, f"Host hung\n  HostName 127.0.0.1\n  Port {port}\n  ConnectTimeout 2\n")
        theirs = run_ssh(network, "hung")
        assert theirs.returncode == 255 and "banner exchange" in theirs.stderr
        began_s = time.monotonic()
        with pytest.raises(RunError) as gave_up:
            connect(resolve_host("hung", network))
        waited_s = time.monotonic() - began_s
    message = gave_up.value.message
    assert (
        f"sent no SSH banner within ConnectTimeout 2 s ({network} line 4)" in message and "\n" not in message
    )
    assert waited_s < CONNECT_TIMEOUT_S  # the 15 s it waited before, whatever ConnectTimeout said


def test_without_connect_timeout_the_default_is_named_with_how_to_change_it(network):
    with silent_port() as port:
        with_lines(network, f"Host hung\n  HostName 127.0.0.1\n  Port {port}\n")
        with pytest.raises(RunError, match="within 1 s \\(set ConnectTimeout for hung to wait longer\\)"):
            connect(resolve_host("hung", network), timeout_s=1.0)


@pytest.fixture(scope="module")
def chatty_sshd():
    """An sshd that logs every global request it gets (LogLevel DEBUG3)."""
    server = start_sshd(extra_config="LogLevel DEBUG3\n")
    server.trust()
    yield server
    server.stop()


def test_server_alive_interval_sends_keepalives_at_its_interval(chatty_sshd, tmp_path):
    config = tmp_path / "config"
    body = (
        f"Host vps\n  HostName 127.0.0.1\n  Port {chatty_sshd.port}\n  User root\n"
        f"  IdentityFile {chatty_sshd.user_key}\n  IdentityAgent none\n"
    )
    for interval, expected_s in (("1", 1), ("0", 0), (None, 5)):
        config.write_text(body + (f"  ServerAliveInterval {interval}\n" if interval else ""))
        connection = connect(resolve_host("vps", config), known_hosts_path=chatty_sshd.known_hosts)
        try:
            assert connection.transport.packetizer._Packetizer__keepalive_interval == expected_s
            if expected_s == 1:
                log = chatty_sshd.root / "sshd.log"
                deadline = time.monotonic() + LOG_DEADLINE_S
                while "keepalive@lag.net" not in log.read_text():  # sent when the link is idle 1 s
                    assert time.monotonic() < deadline, "no keepalive reached sshd"
                    time.sleep(0.1)
        finally:
            connection.close()


def test_tcp_options_are_those_of_the_config(sshd, network):
    defaults = network.read_text()
    with_lines(network, "Host vps\n  BindAddress 127.0.0.2\n  TCPKeepAlive no\n  Compression yes\n")
    connection = connect(resolve_host("vps", network))
    try:
        sock = connection.transport.sock
        assert sock.getsockname()[0] == "127.0.0.2"
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        assert connection.transport.local_compression == "zlib@openssh.com"
    finally:
        connection.close()
    network.write_text(defaults)
    connection = connect(resolve_host("vps", network))
    try:
        assert connection.transport.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert connection.transport.local_compression == "none"
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("RefuseConnection yes", "RefuseConnection yes"),
        ("PubkeyAuthentication no", "leakhunt authenticates by key only"),
        ("ProxyUseFdpass yes", "ProxyUseFdpass yes"),
    ],
)
def test_a_refused_keyword_stops_the_run_before_any_connection(network, line, words):
    with_lines(network, f"Host vps\n  {line}\n")
    with pytest.raises(UsageError) as refused:
        Connector(resolve_host("vps", network))
    assert words in refused.value.message and f"{network} line 2" in refused.value.message


def test_a_connection_that_fails_after_its_jump_leaves_no_session_on_the_jump_host(sshd, bastion, network):
    with_lines(
        network,
        f"Host stranger\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User nosuchuser\n  ProxyJump bastion\n",
    )
    with pytest.raises(RunError, match=f"authentication to nosuchuser@127.0.0.1:{sshd.port} failed"):
        connect(resolve_host("stranger", network), ssh_config_path=network)
    deadline = time.monotonic() + LOG_DEADLINE_S
    while bastion.session_processes():  # the jump's connection was closed; sshd ends its session
        assert time.monotonic() < deadline, "the jump host's session outlived the failure"
        time.sleep(0.05)
