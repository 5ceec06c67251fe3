"""ssh_keywords.py is the parity table, checked against the installed `ssh -G` and the code:
every keyword ssh prints is in it; every example value is one ssh accepts; every followed
keyword resolves to what `ssh -G` says; every warned one warns (file and line) and every refused
one refuses before any connection, only with the values the table names; ignored ones say
nothing. The README's lists and the docs' table are the table's own."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from leakhunt.errors import UsageError
from leakhunt.sampling import ssh_keywords
from leakhunt.sampling.ssh import Connector, parse_jump
from leakhunt.sampling.ssh_config import ResolvedHost, local_user, passwd_home, resolve

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is not installed")

ROOT = Path(__file__).resolve().parents[2]
HOME = passwd_home()
PREAMBLE = "Host vps\n  HostName 127.0.0.1\n"  # an address: ssh -G never needs a resolver


def ssh_g(config: Path) -> tuple[dict[str, list[str]] | None, str]:
    """What `ssh -G vps -F config` prints, or None and its complaint."""
    result = subprocess.run(
        ["ssh", "-G", "vps", "-F", str(config)], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        return None, result.stderr
    values: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key.lower(), []).append(value)
    return values, ""


def expand(raw: str, theirs: dict[str, list[str]]) -> str:
    """ssh -G prints some paths unexpanded: expand them from ssh's own resolved values."""
    text = str(HOME) + raw[1:] if raw.startswith("~") else raw
    tokens = {
        "h": theirs["hostname"][0],
        "p": theirs["port"][0],
        "r": theirs["user"][0],
        "d": str(HOME),
        "%": "%",
    }
    return re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), text)


def seconds(text: str) -> float | None:
    return None if text == "none" else float(text)


def flag(text: str) -> bool:
    return text in ("yes", "true")


# keyword -> (config after the preamble, ours == theirs); {dir} is the test's directory.
PARITY = {
    "host": ("Host v?s !other\n  Port 2201\n", lambda o, t: o.port == int(t["port"][0]) == 2201),
    "match": (
        f"Match originalhost vps user {local_user()}\n  Port 2202\n",
        lambda o, t: o.port == int(t["port"][0]) == 2202,
    ),
    "include": ("Include {dir}/more.conf\n", lambda o, t: o.user == t["user"][0] == "included"),
    "hostname": ("", lambda o, t: o.hostname == t["hostname"][0]),
    "user": ("  User deploy\n", lambda o, t: o.user == t["user"][0] == "deploy"),
    "port": ("  Port 2222\n", lambda o, t: o.port == int(t["port"][0]) == 2222),
    "tag": (
        "  Tag prod\nMatch tagged prod\n  User tagged\n",
        lambda o, t: o.user == t["user"][0] == "tagged",
    ),
    "ignoreunknown": (
        "  IgnoreUnknown Foo*\n  FooBar yes\n  User known\n",
        lambda o, t: o.user == t["user"][0],
    ),
    "proxyjump": (
        "  ProxyJump root@jump:2200,ssh://other\n",
        # ssh -G prints the last hop as [user@]host[:port]: the hops are what must agree
        lambda o, t: (
            parse_jump(o.proxy_jump) == parse_jump(t["proxyjump"][0]) == parse_jump("root@jump:2200,other")
        ),
    ),
    "proxycommand": (
        "  ProxyCommand nc %h %p\n",
        lambda o, t: o.proxy_command == expand(t["proxycommand"][0], t),
    ),
    "connecttimeout": (
        "  ConnectTimeout 1m30s\n",
        lambda o, t: o.connect_timeout_s == seconds(t["connecttimeout"][0]) == 90,
    ),
    "connectionattempts": (
        "  ConnectionAttempts 3\n",
        lambda o, t: o.connection_attempts == int(t["connectionattempts"][0]) == 3,
    ),
    "serveraliveinterval": (
        "  ServerAliveInterval 1m\n",
        lambda o, t: o.server_alive_interval_s == seconds(t["serveraliveinterval"][0]) == 60,
    ),
    "tcpkeepalive": (
        "  TCPKeepAlive no\n",
        lambda o, t: o.tcp_keepalive is flag(t["tcpkeepalive"][0]) is False,
    ),
    "addressfamily": ("  AddressFamily inet6\n", lambda o, t: o.address_family == t["addressfamily"][0]),
    "bindaddress": ("  BindAddress 127.0.0.2\n", lambda o, t: o.bind_address == t["bindaddress"][0]),
    "compression": ("  Compression yes\n", lambda o, t: o.compression is flag(t["compression"][0]) is True),
    "stricthostkeychecking": (
        "  StrictHostKeyChecking accept-new\n",
        lambda o, t: o.strict_host_key_checking == t["stricthostkeychecking"][0] == "accept-new",
    ),
    "userknownhostsfile": (
        "  UserKnownHostsFile ~/kh_%h_%p %d/kh2\n",
        lambda o, t: o.user_known_hosts_files == t["userknownhostsfile"][0].split(),
    ),
    "globalknownhostsfile": (
        "  GlobalKnownHostsFile /g1 /g2\n",
        lambda o, t: o.global_known_hosts_files == t["globalknownhostsfile"][0].split(),
    ),
    "hostkeyalias": ("  HostKeyAlias web\n", lambda o, t: o.host_key_alias == t["hostkeyalias"][0]),
    "hashknownhosts": (
        "  HashKnownHosts yes\n",
        lambda o, t: o.hash_known_hosts is flag(t["hashknownhosts"][0]),
    ),
    "revokedhostkeys": (
        "  RevokedHostKeys ~/revoked\n",
        lambda o, t: o.revoked_host_keys == expand(t["revokedhostkeys"][0], t),
    ),
    "requiredrsasize": (
        "  RequiredRSASize 2048\n",
        lambda o, t: o.required_rsa_size == int(t["requiredrsasize"][0]) == 2048,
    ),
    "identityfile": (
        "  IdentityFile ~/.ssh/id_%h\n  IdentityFile /keys/%r@%h:%p\n",
        lambda o, t: o.identity_files == [expand(raw, t) for raw in t["identityfile"]],
    ),
    "identitiesonly": (
        "  IdentitiesOnly yes\n",
        lambda o, t: o.identities_only is flag(t["identitiesonly"][0]),
    ),
    "certificatefile": (
        "  CertificateFile ~/certs/%r.pub\n",
        lambda o, t: o.certificate_files == [expand(raw, t) for raw in t["certificatefile"]],
    ),
    "identityagent": (
        "  IdentityAgent ~/agent.%h\n",
        lambda o, t: o.identity_agent == expand(t["identityagent"][0], t),
    ),
}


def written(tmp_path: Path, body: str) -> Path:
    (tmp_path / "more.conf").write_text("Host vps\n  User included\n")
    config = tmp_path / "config"
    config.write_text(PREAMBLE + body.format(dir=tmp_path))
    return config


def test_every_keyword_ssh_prints_is_in_the_table(tmp_path):
    printed: set[str] = set()
    for keyword in ssh_keywords.KEYWORDS.values():
        theirs, _ = ssh_g(written(tmp_path, f"  {keyword.name} {keyword.example}\n"))
        printed |= set(theirs or {})
    unknown = {key for key in printed if ssh_keywords.lookup(key) is None}
    assert not unknown
    assert len(printed) > 80  # ssh -G printed its whole configuration


# Keywords newer than OpenSSH 9.2, or Apple's: the installed ssh may not know them.
NEWER_OR_VENDOR = {"tag", "refuseconnection", "obscurekeystroketiming", "channeltimeout", "versionaddendum"}
NEWER_OR_VENDOR |= {"warnweakcrypto", "usekeychain"}


@pytest.mark.parametrize("key", list(ssh_keywords.KEYWORDS))
def test_each_example_is_a_value_ssh_accepts(key, tmp_path):
    keyword = ssh_keywords.KEYWORDS[key]
    if key in ("host", "match", "include"):
        return  # structure, checked by their parity cases
    for value in filter(None, (keyword.example, keyword.otherwise)):
        theirs, complaint = ssh_g(written(tmp_path, f"  {keyword.name} {value}\n"))
        if theirs is None and key in NEWER_OR_VENDOR and "Bad configuration option" in complaint:
            continue
        assert theirs is not None, (keyword.name, value, complaint)


def test_every_followed_keyword_has_a_parity_case():
    followed = {name.lower() for name in ssh_keywords.names("followed")}
    # A keyword refused or warned about only with some values is followed with the others.
    partly = {
        k for k, v in ssh_keywords.KEYWORDS.items() if v.handling != "followed" and (v.when or v.unless)
    }
    assert followed <= set(PARITY) <= followed | partly


@pytest.mark.parametrize("key", list(PARITY))
def test_a_followed_keyword_resolves_as_ssh_G_says(key, tmp_path):
    body, same = PARITY[key]
    config = written(tmp_path, body)
    ours: ResolvedHost = resolve("vps", config)
    assert not ours.warnings and not ours.refusals
    theirs, complaint = ssh_g(config)
    if theirs is None:
        assert key in NEWER_OR_VENDOR and "Bad configuration option" in complaint, complaint
        assert key == "tag" and ours.user == "tagged"  # what newer ssh prints, by its documentation
        return
    assert same(ours, theirs), (key, ours, theirs)


def handling_of(config: Path) -> tuple[list[str], str | None]:
    """The warnings said and the refusal raised before any connection."""
    said: list[str] = []
    try:
        Connector(resolve("vps", config), on_warning=said.append)
    except UsageError as refused:
        return said, refused.message
    return said, None


@pytest.mark.parametrize("key", [k for k, v in ssh_keywords.KEYWORDS.items() if v.handling != "followed"])
def test_warned_refused_and_ignored_keywords_do_only_that_and_only_with_their_values(key, tmp_path):
    keyword = ssh_keywords.KEYWORDS[key]
    said, refusal = handling_of(written(tmp_path, f"  {keyword.name} {keyword.example}\n"))
    where = f"{tmp_path / 'config'} line 3"
    if keyword.handling == "warned":
        assert refusal is None and len(said) == 1 and said[0].startswith(f"{where}: {keyword.name}"), said
    elif keyword.handling == "refused":
        assert not said and refusal is not None and refusal.startswith(f"{where}: {keyword.name}"), refusal
    else:
        assert not said and refusal is None, (said, refusal)
    if keyword.otherwise:
        assert handling_of(written(tmp_path, f"  {keyword.name} {keyword.otherwise}\n")) == ([], None)


def test_aliases_are_the_keywords_ssh_reads_them_as(tmp_path):
    said, _ = handling_of(written(tmp_path, "  SmartcardDevice /usr/lib/x.so\n"))
    assert len(said) == 1 and "PKCS11Provider" in said[0]
    assert resolve("vps", written(tmp_path, "  IdentityFile2 /keys/old\n")).identity_files == ["/keys/old"]


def test_the_readme_names_exactly_the_followed_warned_and_refused_keywords():
    text = (ROOT / "README.md").read_text()
    for handling in ("followed", "warned", "refused"):
        match = re.search(rf"{handling} keywords?:\s+([^.;]+)[.;]", text)
        assert match, f"the README has no list of {handling} keywords"
        listed = [name.strip(" `\n") for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group(1))]
        assert sorted(listed) == sorted(ssh_keywords.names(handling)), handling
    assert f"The other {len(ssh_keywords.names('ignored'))} (" in text


def test_the_markdown_table_has_one_row_per_keyword_and_the_docs_carry_it_as_it_is():
    rows = ssh_keywords.markdown_table().splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [
        k.name for k in ssh_keywords.KEYWORDS.values()
    ]
    decisions = (ROOT / "docs" / "decisions.md").read_text()
    assert ssh_keywords.markdown_table() in decisions
