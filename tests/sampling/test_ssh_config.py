"""ssh_config.py resolves hosts as OpenSSH does: each config of the table is checked against
`ssh -G HOST -F CONFIG` from the installed client, and a host defined only in an included file
is reached through a real sshd on 127.0.0.1."""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import paramiko
import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling.remote import RemoteSource
from leakhunt.sampling.sample import Sample
from leakhunt.sampling.ssh_config import (
    DEFAULT_IDENTITY_FILES,
    ResolvedHost,
    local_user,
    passwd_home,
    resolve,
)
from tests.sampling.conftest import collect

HOME = passwd_home()

# Each case: files to write under a temporary directory ROOT ({root} and {rel} are filled in;
# {rel} is a directory under ~/.ssh, as a path relative to ~/.ssh, for Includes relative to it;
# {me} the local user),
# the hosts to resolve, and what `ssh -G` must show for some of them: proof that it read the
# included files, so that both readers agreeing on nothing included cannot pass.
CASES = {
    "a Host block with every key": (
        {
            "config": "Host vps\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n"
            "  IdentityFile ~/.ssh/id_vps\n  IdentityFile /keys/%r@%h:%p\n  ProxyJump bastion\n"
        },
        ["vps", "other"],
    ),
    "Host * defaults: the first value wins, wherever it comes from": (
        {
            "config": "Host *\n  User everyone\n  Port 2022\nHost vps\n  User deploy\n  HostName 10.0.0.5\n"
            "Host *\n  Port 9\n  ProxyJump jump1\n"
        },
        ["vps", "db"],
    ),
    "a host defined only in an absolutely included file": (
        {
            "config": "Include {root}/conf.d/vps.conf\nHost *\n  User fallback\n",
            "conf.d/vps.conf": "Host inc\n  HostName 10.1.1.1\n  Port 2200\n  User incuser\n",
        },
        ["inc", "vps"],
        {"inc": {"hostname": "10.1.1.1", "port": "2200"}},
    ),
    "Includes by glob, in order, and an Include inside a block that does not apply": (
        {
            "config": "Include {root}/conf.d/*.conf\nHost nothere\n  Include {root}/never/*.conf\n",
            "conf.d/10-a.conf": "Host a\n  HostName 10.0.0.1\nHost *\n  User first\n",
            "conf.d/20-b.conf": "Host a b\n  HostName 10.0.0.2\n  User second\n",
            "never/x.conf": "Host *\n  Port 999\n",
        },
        ["a", "b"],
        {"a": {"hostname": "10.0.0.1", "user": "first"}, "b": {"hostname": "10.0.0.2", "port": "22"}},
    ),
    "an Include relative to ~/.ssh, and the block around it resumes afterwards": (
        {
            "config": "Host vps\n  Include {rel}/*.conf\n  User after-include\n",
            "rel/vps.conf": "HostName 10.9.9.9\nHost *\n  Port 7\n",
        },
        ["vps", "other"],
        {"vps": {"hostname": "10.9.9.9", "port": "7", "user": "after-include"}, "other": {"port": "22"}},
    ),
    "Match host sees the HostName so far; Match user the User so far or the local one": (
        {
            "config": "Host vps\n  HostName 10.0.0.7\nMatch host 10.0.0.*\n  Port 2201\n"
            "Match user root\n  IdentityFile /keys/root\n"
            "Match user deploy\n  IdentityFile /keys/deploy\n"
            "Host *\n  User deploy\nMatch originalhost vps,db !user nobody\n  ProxyJump j9\n"
        },
        ["vps", "db", "web"],
    ),
    "negated Host patterns, ? wildcards, Match all, case and key=value syntax": (
        {
            "config": 'host * !bastion\n  proxyjump=bastion\nHOST web?\n  Hostname "10.2.0.1"  # a comment\n'
            "Match all\n  Port=2022\n"
        },
        ["web1", "web12", "bastion"],
    ),
    "HostName with %h, ProxyJump none, and Match final": (
        {
            "config": "Host db\n  HostName %h.internal.example\n  ProxyJump none\n"
            "Match final host *.example\n  User finaluser\nHost *\n  ProxyJump jump\n"
        },
        ["db", "web"],
    ),
    "%-tokens in every path keyword, and ProxyCommand's own few": (
        {
            "config": "Host vps\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n  HostKeyAlias keyalias\n"
            "  IdentityFile /id/%C/%d/%h/%i/%k/%L/%l/%n/%p/%r/%u/%%\n"
            "  CertificateFile ~/cert/%C/%d/%h/%i/%k/%L/%l/%n/%p/%r/%u/%%\n"
            "  UserKnownHostsFile /kh/%C/%d/%h/%i/%k/%L/%l/%n/%p/%r/%u/%% ~/kh2\n"
            "  GlobalKnownHostsFile /g/%h/%n ~/g2\n"
            "  IdentityAgent ~/agent/%C/%d/%h/%i/%k/%L/%l/%n/%p/%r/%u/%%\n"
            "  RevokedHostKeys ~/rev/%C/%h/%r\n"
            "  ProxyCommand nc %h %p %r %n %k %% %u %d ~\n"
            "Host db\n  IdentityAgent none\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n"
            "  RevokedHostKeys none\n  ProxyCommand none\n"
        },
        ["vps", "db"],
    ),
    "numbers, times and yes/no in each of ssh's spellings": (
        {
            "config": "Host vps\n  ConnectTimeout 90\n  ServerAliveInterval 1h\n  ConnectionAttempts 5\n"
            "  RequiredRSASize 3072\n  Compression yes\n  TCPKeepAlive false\n  IdentitiesOnly true\n"
            "  HashKnownHosts yes\n  StrictHostKeyChecking accept-new\n  AddressFamily inet\n"
            "  BindAddress 10.0.0.9\n"
            "Host db\n  ConnectTimeout 1m30s\n  ServerAliveInterval 2M\n  StrictHostKeyChecking yes\n"
            "  TCPKeepAlive yes\n  IdentitiesOnly no\n  HashKnownHosts no\n  Compression no\n"
            "  AddressFamily inet6\n"
            "Host web\n  StrictHostKeyChecking true\n  ConnectTimeout 1w1d1h1m1s\n  AddressFamily any\n"
            "Host ask\n  StrictHostKeyChecking ask\n  IdentitiesOnly false\n  TCPKeepAlive no\n"
        },
        ["vps", "db", "web", "ask", "other"],
    ),
    "an Include from ~, two patterns on one line, and Includes nested in a block that does not apply": (
        {
            "config": "Include ~/.ssh/{rel}/a.conf {root}/b.conf\nHost nothere\n  Include {root}/outer.conf\n"
            "Host *\n  User last\n",
            "rel/a.conf": "Host a\n  HostName 10.3.0.1\n",
            "b.conf": "Host b\n  HostName 10.3.0.2\n",
            "outer.conf": "Host *\n  Include {root}/inner.conf\n  Port 998\n",
            "inner.conf": "Port 999\n",
        },
        ["a", "b", "c"],
        {"a": {"hostname": "10.3.0.1", "user": "last"}, "b": {"hostname": "10.3.0.2", "port": "22"}},
    ),
    "Match canonical and final in the second pass, localuser, and negated criteria": (
        {
            "config": "Host vps\n  HostName 10.0.0.8\nMatch canonical\n  Port 1001\n"
            "Match !final\n  User notfinal\n"
            "Match final !host 10.0.0.9\n  ConnectionAttempts 4\n"
            "Match localuser {me}\n  BindAddress 127.0.0.3\n"
            "Match !localuser {me}\n  Compression yes\nMatch !originalhost vps\n  IdentitiesOnly yes\n"
            "Match final user notfinal\n  Port 1002\n"
        },
        ["vps", "db"],
    ),
    "Match host is the HostName in lower case; a host typed in capitals; addresses keep their case": (
        {
            "config": "Host Case\n  HostName Web.EXAMPLE.com\nMatch host web.example.com\n  Port 1003\n"
            "Host v6\n  HostName FE80::ABCD\nHost Upper\n  HostName %h.Example\n"
            "Host vps\n  HostName 10.0.0.1\n"
            "Match originalhost VPS\n  Port 1004\n"
        },
        ["Case", "case", "v6", "Upper", "VPS", "vps"],
    ),
    "ProxyJump and ProxyCommand: whichever comes first wins, but ProxyJump none leaves ProxyCommand free": (
        {
            "config": "Host a\n  ProxyCommand nc %h %p\n  ProxyJump j1\n"
            "Host b\n  ProxyJump j2\n  ProxyCommand nc\n"
            "Host c\n  ProxyJump none\n  ProxyCommand nc %h\n"
        },
        ["a", "b", "c"],
    ),
    "blank lines and comments anywhere, and an Include that only the final pass reads": (
        {
            "config": "# leakhunt's own comment\n\nHost vps\n  # inside a block\n  HostName 10.0.0.1\n\n"
            "  Port 2201\nMatch final\n  Include {rel}/final.conf\n",
            "rel/final.conf": "\n# only in the final pass\nUser finaluser\n",
        },
        ["vps"],
        {"vps": {"port": "2201", "user": "finaluser"}},
    ),
    "a final asked for after an exec that was not run still makes the second pass": (
        {"config": "Match host nothere exec true final\nMatch canonical\n  Port 1001\n"},
        ["vps"],
        {"vps": {"port": "1001"}},
    ),
    "a Match final block is not read in the first pass, where a later block gives the value": (
        {"config": "Match final\n  User from-final\nHost vps\n  User from-host\n"},
        ["vps", "other"],
        {"vps": {"user": "from-host"}, "other": {"user": "from-final"}},
    ),
    "IdentityFile none: no key, not even the defaults; a file given twice, or in the final pass, once": (
        {
            "config": "Host vps\n  IdentityFile none\nHost w\n  IdentityFile /k/1\n  IdentityFile /k/2\n"
            "  IdentityFile /k/1\n  CertificateFile /c/1\n  CertificateFile /c/1\nMatch final\n  User x\n"
        },
        ["vps", "w"],
    ),
    "IdentityFile and CertificateFile accumulate across blocks; the first of everything else wins": (
        {
            "config": "Host a\n  IdentityFile /k/a1\n  User=first\n  User second\n"
            "Host *\n  IdentityFile /k/all\n"
            "  CertificateFile /c/1\n  CertificateFile /c/2\n  Port = 2000 # a comment\n"
            '  HostName "10.0.0.1"\n  ProxyCommand=nc %h %p # not a comment\n'
        },
        ["a", "b"],
    ),
}


@pytest.fixture(scope="module")
def relative_dir():
    """A directory under the real ~/.ssh (OpenSSH resolves relative Includes there, from the
    passwd home), removed afterwards; ~/.ssh too if this made it and nothing else is in it by
    then (another test worker may be using it)."""
    ssh_dir = HOME / ".ssh"
    created = not ssh_dir.exists()
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="leakhunt-test-", dir=ssh_dir))
    yield path
    shutil.rmtree(path)
    if created:
        with contextlib.suppress(OSError):
            ssh_dir.rmdir()


def write_case(files: dict[str, str], root: Path, relative: Path) -> Path:
    """The case's files; `relative` is a folder under ~/.ssh, named in the config relative to it."""
    rel = relative.relative_to(HOME / ".ssh")
    for name, text in files.items():
        target = relative / name.removeprefix("rel/") if name.startswith("rel/") else root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(root=root, rel=rel, me=local_user()))
    return root / "config"


def ssh_g(host: str, config: Path) -> dict[str, list[str]]:
    result = subprocess.run(
        ["ssh", "-G", host, "-F", str(config)], capture_output=True, text=True, check=True, timeout=30
    )
    values: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key, []).append(value)
    return values


def expand(raw: str, seen: dict[str, list[str]], host: str, tokens: str = "CdhikLlnpru%") -> str:
    """ssh -G prints IdentityFile, CertificateFile, RevokedHostKeys and ProxyCommand unexpanded:
    expand them from ssh's own resolved values (`tokens`: those the keyword takes)."""
    this_host = socket.gethostname()
    hostname, port, user = seen["hostname"][0], seen["port"][0], seen["user"][0]
    values = {
        "C": hashlib.sha1((this_host + hostname + port + user).encode()).hexdigest(),
        "d": str(HOME),
        "h": hostname,
        "i": str(os.getuid()),
        "k": seen.get("hostkeyalias", [host])[0],
        "L": this_host.split(".")[0],
        "l": this_host,
        "n": host,
        "p": port,
        "r": user,
        "u": local_user(),
        "%": "%",
    }
    text = str(HOME) + raw[1:] if raw.startswith("~") and tokens != PROXY_TOKENS else raw
    return re.sub(r"%(.)", lambda m: values[m.group(1)] if m.group(1) in tokens else m.group(0), text)


PROXY_TOKENS = "hknpr%"


def assert_as_ssh_G(ours: ResolvedHost, theirs: dict[str, list[str]], host: str) -> None:
    """Every value leakhunt follows is the one `ssh -G` printed (`theirs`) for `host`."""

    def one(key: str) -> str | None:
        return theirs.get(key, [None])[0]

    def files(key: str) -> list[str]:
        return [] if one(key) == "none" else one(key).split()

    command = one("proxycommand")
    agent = one("identityagent")
    assert ours.hostname == one("hostname"), host
    assert ours.user == one("user"), host
    assert ours.port == int(one("port")), host
    # ssh -G prints `IdentityFile none`; ssh.c load_public_identity_files then skips it.
    keys = [raw for raw in theirs.get("identityfile", []) if raw.lower() != "none"]
    assert ours.identity_files == [expand(raw, theirs, host) for raw in keys], host
    assert ours.certificate_files == [expand(raw, theirs, host) for raw in theirs.get("certificatefile", [])]
    assert ours.identities_only is (one("identitiesonly") == "yes"), host
    if agent == "SSH_AUTH_SOCK":
        assert ours.identity_agent == os.environ.get("SSH_AUTH_SOCK", "none"), host
    else:
        assert ours.identity_agent == agent, host  # ssh -G prints it expanded
    assert ours.proxy_jump == one("proxyjump"), host
    assert ours.proxy_command == (
        None if command in (None, "none") else expand(command, theirs, host, PROXY_TOKENS)
    )
    assert ours.host_key_alias == one("hostkeyalias"), host
    assert ours.user_known_hosts_files == files("userknownhostsfile"), host  # expanded too
    # Printed as written, and only `~` is expanded there (ssh.c tilde_expand_paths).
    globals_ = [expand(raw, theirs, host, tokens="") for raw in files("globalknownhostsfile")]
    assert ours.global_known_hosts_files == globals_, host
    strict = one("stricthostkeychecking")
    assert ours.strict_host_key_checking == {"true": "yes", "false": "no"}.get(strict, strict), host
    assert bool(ours.hash_known_hosts) is (one("hashknownhosts") == "yes"), host
    revoked = one("revokedhostkeys")
    assert ours.revoked_host_keys == (None if revoked is None else expand(revoked, theirs, host)), host
    assert ours.required_rsa_size == int(one("requiredrsasize")), host
    timeout = one("connecttimeout")
    assert ours.connect_timeout_s == (None if timeout == "none" else float(timeout)), host
    assert ours.connection_attempts == int(one("connectionattempts")), host
    assert ours.server_alive_interval_s == float(one("serveraliveinterval")), host
    assert ours.address_family == one("addressfamily"), host
    assert ours.bind_address == one("bindaddress"), host
    assert ours.tcp_keepalive is (one("tcpkeepalive") == "yes"), host
    assert ours.compression is (one("compression") == "yes"), host


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
@pytest.mark.parametrize("case", list(CASES))
def test_resolution_matches_ssh_G(case, tmp_path, relative_dir):
    files, hosts, *seen = CASES[case]
    config = write_case(files, tmp_path, relative_dir / tmp_path.name)
    for host, values in (seen[0] if seen else {}).items():
        theirs = ssh_g(host, config)
        assert {key: theirs[key][0] for key in values} == values, (case, host)  # ssh read the Include
    for host in hosts:
        assert_as_ssh_G(resolve(host, config), ssh_g(host, config), host)


def test_the_table_covers_what_paramiko_gets_wrong(tmp_path, relative_dir):
    """The reason for this module: paramiko's reader does not follow Include."""
    files, *_ = CASES["a host defined only in an absolutely included file"]
    config = write_case(files, tmp_path, relative_dir)
    assert paramiko.SSHConfig.from_path(str(config)).lookup("inc")["hostname"] == "inc"
    assert resolve("inc", config).hostname == "10.1.1.1"


def test_what_cannot_be_honoured_is_named_in_one_line_per_keyword(tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "IgnoreUnknown UseSomething*\n"
        "Host vps\n  HostName 10.0.0.5\n  CanonicalizeHostname yes\nMatch localnetwork 10.0.0.0/8\n  User x\n"
        "Host *\n  KexAlgorithms curve25519-sha256\n  Frobnicate yes\n  UseSomethingNew yes\n"
        "  CanonicalizeHostname no\n  ProxyCommand nc %h %p\n"
    )
    warnings = resolve("vps", config).warnings
    assert len(warnings) == 4, warnings
    for line, words in (
        (4, "CanonicalizeHostname yes"),
        (5, "Match localnetwork"),
        (8, "KexAlgorithms"),
        (9, "frobnicate"),
    ):
        assert [w for w in warnings if f"{config} line {line}:" in w and words in w], (line, warnings)
    assert all("\n" not in w for w in warnings)
    assert (
        f"{config} line 5: `Match localnetwork` cannot be honoured by leakhunt; its block is skipped"
        in warnings
    )
    assert resolve("vps", config).user != "x"  # the localnetwork block is skipped, not guessed


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_match_exec_runs_as_ssh_runs_it_with_its_tokens_and_only_while_the_criteria_before_it_hold(tmp_path):
    ran = tmp_path / "ran"
    config = tmp_path / "config"
    config.write_text(
        "Host vps\n  HostName 10.0.0.5\n  Port 2222\n"
        f'Match exec "echo %h:%p:%n:%r:%k:%d >> {ran}; test %h = 10.0.0.5"\n  User matched\n'
        f'Host vps\n  HostKeyAlias alias-of-vps\nMatch exec "echo %k >> {ran}"\n  Compression yes\n'
        f'Match host nothere exec "echo never >> {ran}"\n  Port 9\n'
        'Match !exec "false"\n  IdentityFile /keys/negated\n'
    )
    theirs = ssh_g("vps", config)
    ssh_ran = ran.read_text()
    ran.unlink()
    ours = resolve("vps", config)
    # User not set yet; %k the HostName until a HostKeyAlias is given
    assert ran.read_text() == ssh_ran == f"10.0.0.5:2222:vps:{local_user()}:10.0.0.5:{HOME}\nalias-of-vps\n"
    assert theirs["user"] == ["matched"]
    assert (ours.user, ours.port, ours.identity_files) == (
        theirs["user"][0],
        int(theirs["port"][0]),
        theirs["identityfile"],
    )


def include_chain(root: Path, depth: int) -> Path:
    """A config whose Includes nest `depth` files deep, the host defined in the deepest one."""
    (root / f"level{depth}.conf").write_text("Host deep\n  HostName 10.16.16.16\n")
    for level in range(1, depth):
        (root / f"level{level}.conf").write_text(f"Include {root}/level{level + 1}.conf\n")
    config = root / "config"
    config.write_text(f"Include {root}/level1.conf\n")
    return config


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_includes_nest_16_deep_as_in_openssh_and_no_deeper(tmp_path):
    (tmp_path / "16").mkdir()
    (tmp_path / "17").mkdir()
    deepest_read, too_deep = include_chain(tmp_path / "16", 16), include_chain(tmp_path / "17", 17)
    assert ssh_g("deep", deepest_read)["hostname"] == ["10.16.16.16"]
    assert resolve("deep", deepest_read).hostname == "10.16.16.16"
    refused = subprocess.run(["ssh", "-G", "deep", "-F", str(too_deep)], capture_output=True, text=True)
    assert refused.returncode != 0 and "Too many recursive configuration includes" in refused.stderr
    with pytest.raises(UsageError, match="Include nested deeper than 16"):
        resolve("deep", too_deep)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('Host a\n  HostName "unbalanced\n', ["line 2", "quotes"]),
        ("Match\n", ["line 1", "Match needs criteria"]),
        ("Host a\n  Port eighty\n", ["Port 'eighty'"]),
        ("Include {config}\n", ["Include nested deeper"]),
    ],
)
def test_a_broken_config_is_a_usage_error_naming_the_line(tmp_path, text, words):
    config = tmp_path / "config"
    config.write_text(text.format(config=config))
    with pytest.raises(UsageError) as raised:
        resolve("a", config)
    for word in words:
        assert word in raised.value.message


def test_a_host_only_in_an_included_file_is_reached_through_a_real_sshd(trusted_sshd, idle, tmp_path):
    (tmp_path / "hosts.d").mkdir()
    (tmp_path / "hosts.d" / "included.conf").write_text(
        f"Host included-vps\n  HostName 127.0.0.1\n  Port {trusted_sshd.port}\n  User root\n"
        f"  IdentityFile {trusted_sshd.user_key}\n"
    )
    config = tmp_path / "config"
    # At the top, as OpenSSH wants it: below a Host line it would belong to that block.
    config.write_text(f"Include {tmp_path}/hosts.d/*.conf\n\nHost other\n  HostName 10.255.255.1\n")
    source = RemoteSource(
        "included-vps", ssh_config_path=config, known_hosts_path=trusted_sshd.known_hosts, pid=idle.pid
    )
    samples = [item for item in collect(source, 3) if isinstance(item, Sample)]
    assert len(samples) == 3 and all(sample.rss_bytes > 0 for sample in samples)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Host a\n  Compression maybe\n", "{config} line 2: Compression 'maybe' must be yes or no"),
        ("Host a\n  TCPKeepAlive sometimes\n", "{config} line 2: TCPKeepAlive 'sometimes' must be yes or no"),
        ("Host a\n  IdentitiesOnly maybe\n", "{config} line 2: IdentitiesOnly 'maybe' must be yes or no"),
        ("Host a\n  HashKnownHosts maybe\n", "{config} line 2: HashKnownHosts 'maybe' must be yes or no"),
        (
            "Host a\n  ConnectionAttempts 0\n",
            "{config} line 2: ConnectionAttempts '0' is not a positive whole number",
        ),
        (
            "Host a\n  AddressFamily inet4\n",
            "{config} line 2: AddressFamily 'inet4' is not any, inet or inet6",
        ),
        (
            "Host a\n  ConnectTimeout 5x\n",
            "{config} line 2: ConnectTimeout '5x' is not a time (e.g. 30, 90s, 1m30s)",
        ),
        ("Match foo bar\n  Port 1\n", "{config} line 1: unknown Match criterion 'foo'"),
        # A criterion after an exec that was not run is still read, and refused if unknown.
        (
            "Match host nothere exec true bogus x\n  Port 1\n",
            "{config} line 1: unknown Match criterion 'bogus'",
        ),
        ('Host a\n  HostName "unbalanced\n', "{config} line 2: unbalanced quotes; fix the ssh config"),
        ("Match host\n  Port 1\n", "{config} line 1: Match host needs an argument"),
        ("Host a\n  User\n", "{config} line 2: user needs a value"),
        ("Host a\n  Port 65536\n", "ssh config: Port '65536' for a is not a port number"),
    ],
)
def test_a_value_ssh_refuses_too_is_one_line_naming_the_file_line_and_keyword(tmp_path, text, message):
    config = tmp_path / "config"
    config.write_text(text)
    with pytest.raises(UsageError) as raised:
        resolve("a", config)
    assert raised.value.message == message.format(config=config)
    if shutil.which("ssh"):
        assert subprocess.run(["ssh", "-G", "a", "-F", str(config)], capture_output=True).returncode != 0


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_environment_variables_in_paths_are_expanded_and_an_unset_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKHUNT_TEST_DIR", "/from/env")
    monkeypatch.delenv("LEAKHUNT_TEST_UNSET", raising=False)
    config = tmp_path / "config"
    config.write_text("Host vps\n  UserKnownHostsFile ${LEAKHUNT_TEST_DIR}/known\n")
    assert resolve("vps", config).user_known_hosts_files == ssh_g("vps", config)["userknownhostsfile"]
    assert resolve("vps", config).user_known_hosts_files == ["/from/env/known"]
    config.write_text("Host vps\n  UserKnownHostsFile ${LEAKHUNT_TEST_UNSET}/known\n")
    with pytest.raises(UsageError) as raised:
        resolve("vps", config)
    assert (
        raised.value.message == f"{config} line 2: environment variable ${{LEAKHUNT_TEST_UNSET}} is not set"
    )


def test_a_block_naming_the_host_is_told_apart_from_defaults_for_every_host(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host *\n  User everyone\nMatch all\n  Port 2200\nHost other\n  User o\n")
    assert resolve("vps", config).has_block is False
    config.write_text("Host * vps\n  User v\n")
    assert resolve("vps", config).has_block is True
    config.write_text("Host *\n  User everyone\nMatch originalhost vps\n  Port 2200\n")
    assert resolve("vps", config).has_block is True
    config.write_text("Host vps\n  User v\nHost *\n  Port 2200\n")  # a later `Host *` takes nothing back
    assert resolve("vps", config).has_block is True


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_an_include_relative_inside_an_included_file_is_still_relative_to_ssh_dir(tmp_path, relative_dir):
    rel = relative_dir.relative_to(HOME / ".ssh")
    (relative_dir / "inner.conf").write_text("Host vps\n  HostName 10.4.0.1\n")
    (tmp_path / "outer.conf").write_text(f"Include {rel}/inner.conf\n")
    config = tmp_path / "config"
    config.write_text(f"Include {tmp_path}/outer.conf\n")
    assert ssh_g("vps", config)["hostname"] == ["10.4.0.1"]
    assert resolve("vps", config).hostname == "10.4.0.1"


def test_without_a_config_given_the_users_file_is_read_from_the_home_given(tmp_path):
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host vps\n  HostName 10.5.0.1\n  IdentityFile ~/.ssh/id_vps\n")
    (tmp_path / ".ssh" / "more.conf").write_text("Host vps\n  Port 2205\n")
    with (tmp_path / ".ssh" / "config").open("a") as config:
        config.write("Include more.conf\n")  # relative to the home's ~/.ssh
    resolved = resolve("vps", home=tmp_path)
    assert (resolved.alias, resolved.hostname, resolved.port) == ("vps", "10.5.0.1", 2205)
    assert (resolved.identity_files, resolved.identity_files_given) == ([f"{tmp_path}/.ssh/id_vps"], True)
    defaults = resolve("other", home=tmp_path)  # ssh's default keys: a missing one says nothing
    assert defaults.identity_files_given is False
    assert defaults.identity_files == [f"{tmp_path}/.ssh/{name}" for name in DEFAULT_IDENTITY_FILES]
    assert resolved.sources["hostname"] == f"{tmp_path / '.ssh' / 'config'} line 2"


def test_values_from_the_command_line_win_over_the_configs(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host vps\n  User deploy\n  Port 2222\n  ProxyCommand nc %h %p\n")
    resolved = resolve("vps", config, preset={"user": "admin", "port": 2200, "proxyjump": "jump"})
    assert (resolved.user, resolved.port, resolved.proxy_jump, resolved.proxy_command) == (
        "admin",
        2200,
        "jump",
        None,  # -J wins over the config's ProxyCommand, as in ssh
    )
    assert resolved.sources["user"] == "the command line"


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_match_exec_sees_the_default_port_and_its_output_goes_nowhere(tmp_path, capfd):
    config = tmp_path / "config"
    config.write_text('Match exec "echo said; test %p = 22"\n  User matched\n')
    assert ssh_g("vps", config)["user"] == ["matched"]
    capfd.readouterr()
    assert resolve("vps", config).user == "matched"
    assert capfd.readouterr() == ("", "")  # as ssh: stdout on /dev/null


def test_an_unset_variable_in_an_identity_file_names_the_line_that_gave_it(tmp_path, monkeypatch):
    monkeypatch.delenv("LEAKHUNT_TEST_UNSET", raising=False)
    config = tmp_path / "config"
    config.write_text("Host vps\n  IdentityFile /k/1\n  CertificateFile ${LEAKHUNT_TEST_UNSET}/c\n")
    with pytest.raises(UsageError) as raised:
        resolve("vps", config)
    assert (
        raised.value.message == f"{config} line 3: environment variable ${{LEAKHUNT_TEST_UNSET}} is not set"
    )
    config.write_text("Host vps\n  IdentityFile /k/1\n  IdentityFile ${LEAKHUNT_TEST_UNSET}/id\n")
    with pytest.raises(UsageError) as raised:
        resolve("vps", config)
    assert (
        raised.value.message == f"{config} line 3: environment variable ${{LEAKHUNT_TEST_UNSET}} is not set"
    )


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
@pytest.mark.parametrize("shell", ["/bin/bash", None])
def test_match_exec_runs_in_the_users_shell_or_bin_sh(tmp_path, monkeypatch, shell):
    if shell:
        monkeypatch.setenv("SHELL", shell)
    else:
        monkeypatch.delenv("SHELL", raising=False)
    config = tmp_path / "config"
    config.write_text('Match exec "kill -0 $BASHPID"\n  User in-bash\n')  # dash has no $BASHPID
    theirs = ssh_g("vps", config)["user"]
    assert theirs == (["in-bash"] if shell else [local_user()])  # /bin/sh is not bash here
    assert resolve("vps", config).user == theirs[0]


def test_comments_and_blank_lines_say_nothing(tmp_path):
    config = tmp_path / "config"
    config.write_text("# a comment\n\n   \nHost vps\n  # another\n  User deploy # and a trailing one\n")
    resolved = resolve("vps", config)
    assert (resolved.user, resolved.warnings, resolved.refusals) == ("deploy", [], {})


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_includes_pass_over_directories_and_dangling_links_and_match_not_all_never_holds(tmp_path):
    (tmp_path / "conf.d" / "subfolder").mkdir(parents=True)
    (tmp_path / "conf.d" / "a.conf").write_text("Host vps\n  HostName 10.6.0.1\n")
    (tmp_path / "conf.d" / "dangling").symlink_to(tmp_path / "nowhere")
    config = tmp_path / "config"
    config.write_text(f"Include {tmp_path}/conf.d/*\nMatch !all\n  User notall\n")
    theirs = ssh_g("vps", config)
    assert theirs["hostname"] == ["10.6.0.1"] and theirs["user"] == [local_user()]
    assert_as_ssh_G(resolve("vps", config), theirs, "vps")


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_match_exec_reads_nothing_from_stdin(tmp_path):
    """As ssh, the command's stdin is /dev/null: it never eats the caller's input."""
    config = tmp_path / "config"
    config.write_text('Match exec "read line"\n  User from-stdin\n')
    theirs = subprocess.run(
        ["ssh", "-G", "vps", "-F", str(config)], input="a line\n", capture_output=True, text=True
    )
    read_end, write_end = os.pipe()
    os.write(write_end, b"a line\n")
    os.close(write_end)
    saved_stdin = os.dup(0)
    os.dup2(read_end, 0)  # this process's stdin holds a line, as a caller's might
    try:
        ours = resolve("vps", config)
    finally:
        os.dup2(saved_stdin, 0)
        os.close(saved_stdin)
        os.close(read_end)
    assert ours.user == local_user()
    assert f"user {local_user()}" in theirs.stdout.splitlines()


def test_an_unknown_keyword_is_passed_over_with_one_warning_naming_it(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host vps\n  Frobnicate yes\n  User deploy\n")
    resolved = resolve("vps", config)
    assert resolved.user == "deploy"
    assert resolved.warnings == [
        f"{config} line 2: unknown keyword 'frobnicate' is passed over (ssh stops at it: "
        "'Bad configuration option'; IgnoreUnknown silences both)"
    ]


def test_identity_agent_from_a_variable_and_ignore_unknown_with_a_list(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKHUNT_TEST_AGENT", "/run/agent.sock")
    config = tmp_path / "config"
    config.write_text(
        "IgnoreUnknown Foo,BarBaz\nHost vps\n  IdentityAgent $LEAKHUNT_TEST_AGENT\n  BarBaz yes\n  Foo yes\n"
    )
    resolved = resolve("vps", config)
    assert (resolved.identity_agent, resolved.warnings) == ("/run/agent.sock", [])


def test_a_shell_that_cannot_run_match_exec_is_refused_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SHELL", str(tmp_path / "no-shell"))
    config = tmp_path / "config"
    config.write_text("Host vps\n  User v\nMatch exec true\n  Port 2\n")
    with pytest.raises(UsageError) as raised:
        resolve("vps", config)
    assert raised.value.message == (
        f"{config} line 3: Match exec cannot run {tmp_path / 'no-shell'}: No such file or directory"
    )


@pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")
def test_includes_nest_16_deep_in_the_final_pass_too(tmp_path):
    config = include_chain(tmp_path, 16)
    config.write_text(config.read_text() + "Match final\n  User final\n")
    assert ssh_g("deep", config)["hostname"] == ["10.16.16.16"]
    assert resolve("deep", config).hostname == "10.16.16.16"
