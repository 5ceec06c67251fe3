"""Resolve an SSH host the way OpenSSH's `ssh` does (readconf.c), for every keyword it knows.

paramiko's SSHConfig ignores `Include` (paramiko issues #1044, #1609), so hosts kept in included
files, as many users keep them, would not resolve. The rules followed here, checked against
`ssh -G HOST -F FILE` in tests/sampling/test_ssh_config.py and test_ssh_keywords.py:
- Files: the given one alone (as `ssh -F`), else ~/.ssh/config then /etc/ssh/ssh_config. `~` is
  the home directory from the passwd database, as OpenSSH has it, not $HOME.
- The first value obtained for a key wins; IdentityFile and CertificateFile accumulate, each file
  once (a second pass or a repeated line adds no duplicate, as readconf.c's). Keywords
  are case-insensitive, `Key=value` and "quoted values" are accepted, `#` starts a comment;
  ProxyCommand and the other commands take the rest of the line as it is written.
- `Host` patterns (`*`, `?`, `!negation`) match the host as typed, case-sensitively; a block
  applies when one pattern matches and no negated one does.
- `Match` criteria all must hold: `all`, `host` (the HostName so far, or the host as typed;
  like `originalhost`, in any case), `user` (the User so far, or the local user), `localuser`,
  `exec` (run by $SHELL, as ssh runs it, only while the criteria before it hold), `tagged` (the
  Tag), each negatable with `!`; `final` and `canonical` hold in the second pass that `Match final` asks
  for. `localnetwork` cannot be honoured: the block is skipped and a warning names it.
- `Include` takes absolute paths, paths relative to ~/.ssh (or /etc/ssh in the system file) and
  globs (a directory or dangling link among them is passed over, as ssh does); inside a Host or
  Match block it counts only when that block applies. An included file starts active, and the
  block that included it is resumed afterwards.
- HostName expands `%h` and `%%`; IdentityFile, CertificateFile, UserKnownHostsFile,
  RevokedHostKeys and IdentityAgent expand `~`, `${ENV}` and `%C %d %h %i %k %L %l %n %p %r %u %%`;
  GlobalKnownHostsFile only `~`; ProxyCommand `%h %k %n %p %r %%`.
- What each keyword gets is the table in sampling/ssh_keywords.py: a warned keyword gives one
  warning naming it, its file and line; a refused one is recorded in `refusals` (the caller
  refuses it before connecting); an unknown keyword is passed over with a warning (ssh would
  stop at it), unless IgnoreUnknown names it.
"""

import glob
import hashlib
import os
import pwd
import re
import shlex
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from leakhunt.errors import UsageError
from leakhunt.sampling import ssh_keywords

SYSTEM_CONFIG = Path("/etc/ssh/ssh_config")
MAX_INCLUDE_DEPTH = 16  # readconf.c's READCONF_MAX_DEPTH
DEFAULT_PORT = 22
# ssh's defaults when no IdentityFile is given (readconf.c fill_default_options, OpenSSH 9.2).
DEFAULT_IDENTITY_FILES = (
    "id_rsa",
    "id_ecdsa",
    "id_ecdsa_sk",
    "id_ed25519",
    "id_ed25519_sk",
    "id_xmss",
    "id_dsa",
)
DEFAULT_USER_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
DEFAULT_GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
_UNMATCHABLE = ("localnetwork",)
_ACCUMULATE = ("identityfile", "certificatefile")
_PROXIES = dict.fromkeys(("proxyjump", "proxycommand"))
_WHOLE_LINE = ("proxycommand", "localcommand", "remotecommand", "knownhostscommand")
_STRICT = {"yes": "yes", "true": "yes", "ask": "ask", "accept-new": "accept-new"}
_STRICT.update(dict.fromkeys(("no", "false", "off"), "no"))
_TIME_UNITS_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class ResolvedHost:
    """What `ssh -G` would print for the keywords leakhunt follows, and what it could not honour.
    Paths are expanded; lists are in ssh's order."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: list[str] = field(default_factory=list)
    identity_files_given: bool = True  # False: ssh's default list, whose missing files say nothing
    certificate_files: list[str] = field(default_factory=list)
    identities_only: bool = False
    identity_agent: str | None = None  # a socket path, "none", or None for $SSH_AUTH_SOCK
    proxy_jump: str | None = None
    proxy_command: str | None = None  # expanded, ready for `$SHELL -c`
    host_key_alias: str | None = None
    user_known_hosts_files: list[str] = field(default_factory=list)
    global_known_hosts_files: list[str] = field(default_factory=list)
    strict_host_key_checking: str = "ask"  # yes, ask, accept-new or no
    hash_known_hosts: bool | None = None  # None: not set anywhere
    revoked_host_keys: str | None = None
    required_rsa_size: int = 1024
    connect_timeout_s: float | None = None
    connection_attempts: int = 1
    server_alive_interval_s: float = 0.0
    address_family: str = "any"
    bind_address: str | None = None
    tcp_keepalive: bool = True
    compression: bool = False
    warnings: list[str] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)  # keyword -> one line saying why
    has_block: bool = False  # some Host or Match line other than `*`/`all` named this host
    sources: dict[str, str] = field(default_factory=dict)  # keyword -> "FILE line N"

    @property
    def where(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"


def passwd_home() -> Path:
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def local_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # OpenSSH patterns know only `*` and `?`; everything else is literal.
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def match_pattern_list(text: str, patterns: list[str]) -> bool:
    """One positive pattern matches and no negated one does."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_regex(pattern.removeprefix("!")).match(text):
            if negated:
                return False
            matched = True
    return matched


def _percent(text: str, tokens: dict[str, str]) -> str:
    return re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), text)


def _environment(text: str, where: str) -> str:
    def value(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise UsageError(f"{where}: environment variable ${{{m.group(1)}}} is not set")
        return os.environ[m.group(1)]

    return re.sub(r"\$\{(\w+)\}", value, text)


def local_hostname() -> str:
    return socket.gethostname()


def connection_tokens(
    *, home: Path, hostname: str, alias: str, port: str, user: str, key_alias: str
) -> dict[str, str]:
    """readconf.c's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS."""
    this_host = local_hostname()
    return {
        "%": "%",
        "C": hashlib.sha1((this_host + hostname + port + user).encode()).hexdigest(),
        "L": this_host.split(".")[0],
        "d": str(home),
        "h": hostname,
        "i": str(os.getuid()),
        "k": key_alias,
        "l": this_host,
        "n": alias,
        "p": port,
        "r": user,
        "u": local_user(),
    }


def parse_seconds(text: str, what: str) -> float:
    """OpenSSH's time format (misc.c convtime): `30`, `90s`, `1m30s`, `1h`."""
    parts = re.findall(r"(\d+)([smhdwSMHDW]?)", text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"{what} {text!r} is not a time (e.g. 30, 90s, 1m30s)")
    return float(sum(int(n) * _TIME_UNITS_S[u.lower()] for n, u in parts))


def _flag(value: str, what: str) -> bool:
    lowered = value.lower()
    if lowered not in ("yes", "no", "true", "false"):
        raise UsageError(f"{what} {value!r} must be yes or no")
    return lowered in ("yes", "true")


class _Resolver:
    def __init__(self, alias: str, home: Path, final_pass: bool, previous: "_Resolver | None" = None) -> None:
        self.alias, self.home, self.final_pass = alias, home, final_pass
        self.values: dict[str, list[str]] = {}
        # IdentityFile, CertificateFile: each file once (readconf.c add_identity_file), where it was given
        self.lists: dict[str, dict[str, str]] = {}
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []
        self.refusals: dict[str, str] = {}
        self.wants_final_pass = False
        self.has_block = False
        if previous is not None:
            # OpenSSH reads everything again; values from the first pass stay, as the first wins.
            self.values, self.lists, self.sources = previous.values, previous.lists, previous.sources
            self.warnings, self.refusals, self.has_block = (
                previous.warnings,
                previous.refusals,
                previous.has_block,
            )

    # what a Match sees so far
    def current_host(self) -> str:
        hostname = self.first("hostname")
        return _percent(hostname, {"h": self.alias, "%": "%"}) if hostname else self.alias

    def current_user(self) -> str:
        return self.first("user") or local_user()

    def first(self, keyword: str) -> str | None:
        values = self.values.get(keyword)
        return values[0] if values else None

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def read(self, path: Path, *, user_file: bool, active: bool, depth: int) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise UsageError(f"{path}: Include nested deeper than {MAX_INCLUDE_DEPTH}; check for a loop")
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read ssh config {path}: {exc.strerror}") from None
        never = not active  # an Include inside a block that does not apply: nothing in it applies
        for number, line in enumerate(lines, 1):
            words = _words(line, path, number)
            if not words:
                continue
            keyword, args = words[0].lower(), words[1:]
            if keyword == "host":
                active = not never and match_pattern_list(self.alias, args)
                self.has_block |= active and any(a not in ("*",) for a in args)
            elif keyword == "match":
                active = not never and self.match(args, path, number)
            elif keyword == "include":
                for pattern in args:
                    self.include(pattern, user_file=user_file, active=active, depth=depth)
            elif self.known(keyword, path, number) and active:
                if keyword in _WHOLE_LINE:
                    args = [_rest_of_line(line)]
                self.set(keyword, args, path, number)

    def include(self, pattern: str, *, user_file: bool, active: bool, depth: int) -> None:
        if pattern.startswith("~"):
            pattern = str(self.home) + pattern[1:]
        elif not pattern.startswith("/"):
            pattern = str((self.home / ".ssh" if user_file else SYSTEM_CONFIG.parent) / pattern)
        for found in sorted(glob.glob(pattern)):
            if Path(found).is_file():  # ssh passes over a directory or a dangling link the glob names
                self.read(Path(found), user_file=user_file, active=active, depth=depth + 1)

    def known(self, keyword: str, path: Path, number: int) -> bool:
        """ssh stops at a keyword it does not know, in any block, unless IgnoreUnknown names it."""
        if ssh_keywords.lookup(keyword) is not None:
            return True
        ignored = [p.lower() for p in self.values.get("ignoreunknown", [""])[0].split(",") if p]
        if not match_pattern_list(keyword, ignored):
            self.warn(
                f"{path} line {number}: unknown keyword {keyword!r} is passed over (ssh stops at it: "
                "'Bad configuration option'; IgnoreUnknown silences both)"
            )
        return False

    def match(self, args: list[str], path: Path, number: int) -> bool:
        result = True
        words = list(args)
        if not words:
            raise UsageError(f"{path} line {number}: Match needs criteria")
        while words:
            word = words.pop(0)
            negated = word.startswith("!")
            criterion = word.removeprefix("!").lower()
            if criterion == "all":
                holds = True
            elif criterion in ("final", "canonical"):
                self.wants_final_pass |= criterion == "final"
                holds = self.final_pass
            elif not words:
                raise UsageError(f"{path} line {number}: Match {criterion} needs an argument")
            elif criterion == "exec":
                command = words.pop(0)
                if not result:
                    continue  # ssh runs a command only while the criteria before it hold
                holds = self.run_exec(command, path, number)
            else:
                patterns = words.pop(0).split(",")
                if criterion in ("host", "originalhost"):
                    patterns = [p.lower() for p in patterns]  # match_hostname: any case
                if criterion in _UNMATCHABLE:
                    self.warn(
                        f"{path} line {number}: `Match {criterion}` cannot be honoured by leakhunt; "
                        "its block is skipped"
                    )
                    return False
                subject = {
                    "host": self.current_host().lower(),
                    "originalhost": self.alias.lower(),
                    "user": self.current_user(),
                    "localuser": local_user(),
                    "tagged": self.first("tag") or "",
                }.get(criterion)
                if subject is None:
                    raise UsageError(f"{path} line {number}: unknown Match criterion {criterion!r}")
                holds = match_pattern_list(subject, patterns)
                if holds and criterion in ("host", "originalhost"):
                    self.has_block = True
            if holds == negated:
                result = False
        return result

    def run_exec(self, command: str, path: Path, number: int) -> bool:
        """`Match exec`, as readconf.c's execute_in_shell: $SHELL -c, stdin and stdout on /dev/null."""
        port = self.first("port") or str(DEFAULT_PORT)
        hostname = self.current_host()
        alias = self.first("hostkeyalias") or hostname
        tokens = connection_tokens(
            home=self.home,
            hostname=hostname,
            alias=self.alias,
            port=port,
            user=self.current_user(),
            key_alias=alias,
        )
        shell = os.environ.get("SHELL") or "/bin/sh"
        try:
            finished = subprocess.run(
                [shell, "-c", _percent(command, tokens)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
            )
        except OSError as exc:
            raise UsageError(f"{path} line {number}: Match exec cannot run {shell}: {exc.strerror}") from None
        return finished.returncode == 0

    def _proxy_taken(self) -> bool:
        """A ProxyJump or ProxyCommand obtained already; `ProxyJump none` leaves ProxyCommand free
        (as `ssh -G` shows), `ProxyCommand none` does not free ProxyJump."""
        jump = self.first("proxyjump")
        return "proxycommand" in self.values or (jump is not None and jump.lower() != "none")

    def set(self, keyword: str, args: list[str], path: Path, number: int) -> None:
        if not args:
            raise UsageError(f"{path} line {number}: {keyword} needs a value")
        known = ssh_keywords.lookup(keyword)
        assert known is not None
        key = known.name.lower()
        if key in _ACCUMULATE:
            self.lists.setdefault(key, {}).setdefault(args[0], f"{path} line {number}")
            return
        if key in self.values or (key in _PROXIES and self._proxy_taken()):
            return  # the first value obtained wins; ProxyJump and ProxyCommand exclude each other
        self.values[key], self.sources[key] = args, f"{path} line {number}"
        value = " ".join(args)
        if known.handling == "warned" and known.applies(value):
            self.warn(f"{path} line {number}: {known.name} {value} is not honoured by leakhunt: {known.why}")
        elif known.handling == "refused" and known.applies(value):
            self.refusals[key] = f"{path} line {number}: {known.name} {value}: {known.why}"


def _words(line: str, path: Path, number: int) -> list[str]:
    """readconf.c's tokenising: `Key value`, `Key=value`, quotes, `#` comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return []
    key = re.split(r"[\s=]", text, maxsplit=1)[0]
    rest = text[len(key) :].lstrip().removeprefix("=").lstrip()
    try:
        lexer = shlex.shlex(rest, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return [key, *lexer]
    except ValueError:
        raise UsageError(f"{path} line {number}: unbalanced quotes; fix the ssh config") from None


def _rest_of_line(line: str) -> str:
    """A command keyword's value: the line after the keyword, as written (readconf.c parse_command)."""
    text = line.strip()
    key = re.split(r"[\s=]", text, maxsplit=1)[0]
    return text[len(key) :].lstrip(" \t=")


def resolve(
    alias: str,
    config_path: Path | None = None,
    *,
    home: Path | None = None,
    preset: dict[str, str | int] | None = None,
) -> ResolvedHost:
    """`alias` as `ssh -G alias [-F config_path]` would resolve it; `preset` holds values given
    on ssh's command line (`-l`, `-p`, `-J` for a jump host), which win over the config's."""
    home = home or passwd_home()
    if config_path is not None:
        if not Path(config_path).is_file():
            raise UsageError(f"--ssh-config {config_path} does not exist")
        files = [(Path(config_path), True)]
    else:
        files = [(home / ".ssh" / "config", True), (SYSTEM_CONFIG, False)]
    resolver = _Resolver(alias, home, final_pass=False)
    for keyword, value in (preset or {}).items():
        resolver.values[keyword], resolver.sources[keyword] = [str(value)], "the command line"
    for path, user_file in files:
        if path.is_file():
            resolver.read(path, user_file=user_file, active=True, depth=0)
    if resolver.wants_final_pass:
        resolver = _Resolver(alias, home, final_pass=True, previous=resolver)
        for path, user_file in files:
            if path.is_file():
                resolver.read(path, user_file=user_file, active=True, depth=0)
    return _result(resolver)


def _result(resolver: _Resolver) -> ResolvedHost:
    first, sources = resolver.first, resolver.sources

    def what(keyword: str) -> str:
        known = ssh_keywords.lookup(keyword)
        return f"{sources.get(keyword, 'ssh config')}: {known.name if known else keyword}"

    def whole_number(keyword: str, default: str) -> int:
        text = first(keyword) or default
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"{what(keyword)} {text!r} is not a positive whole number")
        return int(text)

    hostname = resolver.current_host()
    if not _is_address(hostname):
        hostname = hostname.lower()
    port_text = first("port") or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"ssh config: Port {port_text!r} for {resolver.alias} is not a port number")
    user = resolver.current_user()
    host_key_alias = first("hostkeyalias")
    home = resolver.home
    tokens = connection_tokens(
        home=home,
        hostname=hostname,
        alias=resolver.alias,
        port=port_text,
        user=user,
        key_alias=host_key_alias or resolver.alias,
    )

    def tilde(raw: str, keyword: str = "") -> str:
        return str(home) + raw[1:] if raw.startswith("~") else raw

    def path(raw: str, keyword: str, where: str | None = None) -> str:
        return _percent(_environment(tilde(raw), where or sources.get(keyword, "ssh config")), tokens)

    def paths(keyword: str, default: tuple[str, ...], expand: Callable[[str, str], str]) -> list[str]:
        raw = resolver.values.get(keyword, list(default))
        return [] if raw == ["none"] else [expand(p, keyword) for p in raw]

    given = resolver.lists.get("identityfile", {})
    identity_files = [
        path(raw, "identityfile", where) for raw, where in given.items() if raw.lower() != "none"
    ]
    if not given:
        identity_files = [str(home / ".ssh" / name) for name in DEFAULT_IDENTITY_FILES]
    strict = (first("stricthostkeychecking") or "ask").lower()
    if strict not in _STRICT:
        raise UsageError(f"{what('stricthostkeychecking')} {strict!r} is not yes, ask, accept-new or no")
    family = (first("addressfamily") or "any").lower()
    if family not in ("any", "inet", "inet6"):
        raise UsageError(f"{what('addressfamily')} {family!r} is not any, inet or inet6")
    jump, command, revoked = first("proxyjump"), first("proxycommand"), first("revokedhostkeys")
    timeout, hash_known = first("connecttimeout"), first("hashknownhosts")
    proxy_tokens = {k: tokens[k] for k in ("%", "h", "k", "n", "p", "r")}
    return ResolvedHost(
        alias=resolver.alias,
        hostname=hostname,
        port=int(port_text),
        user=user,
        identity_files=identity_files,
        identity_files_given=bool(given),
        certificate_files=[
            path(raw, "certificatefile", where)
            for raw, where in resolver.lists.get("certificatefile", {}).items()
        ],
        identities_only=_flag(first("identitiesonly") or "no", what("identitiesonly")),
        identity_agent=_agent(first("identityagent"), path),
        proxy_jump=None if jump is None or jump.lower() == "none" else jump,
        proxy_command=None
        if command is None or command.lower() == "none"
        else _percent(command, proxy_tokens),
        host_key_alias=host_key_alias,
        user_known_hosts_files=paths("userknownhostsfile", DEFAULT_USER_KNOWN_HOSTS, path),
        # ssh expands only `~` there (ssh.c tilde_expand_paths), no %-tokens or ${ENV}.
        global_known_hosts_files=paths("globalknownhostsfile", DEFAULT_GLOBAL_KNOWN_HOSTS, tilde),
        strict_host_key_checking=_STRICT[strict],
        hash_known_hosts=None if hash_known is None else _flag(hash_known, what("hashknownhosts")),
        revoked_host_keys=None if revoked in (None, "none") else path(revoked, "revokedhostkeys"),
        required_rsa_size=whole_number("requiredrsasize", "1024"),
        connect_timeout_s=None if timeout is None else parse_seconds(timeout, what("connecttimeout")),
        connection_attempts=whole_number("connectionattempts", "1"),
        server_alive_interval_s=parse_seconds(
            first("serveraliveinterval") or "0", what("serveraliveinterval")
        ),
        address_family=family,
        bind_address=first("bindaddress"),
        tcp_keepalive=_flag(first("tcpkeepalive") or "yes", what("tcpkeepalive")),
        compression=_flag(first("compression") or "no", what("compression")),
        warnings=resolver.warnings,
        refusals=resolver.refusals,
        has_block=resolver.has_block,
        sources=dict(sources),
    )


def _agent(value: str | None, path: Callable[[str, str], str]) -> str | None:
    """IdentityAgent as ssh.c reads it: none, SSH_AUTH_SOCK, $VARIABLE, or a socket path."""
    if value is None or value == "none":
        return value
    if value == "SSH_AUTH_SOCK" or (value.startswith("$") and not value.startswith("${")):
        return os.environ.get(value.removeprefix("$"), "none")
    return path(value, "identityagent")


def _is_address(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except OSError:
        return False
    return True
