"""Resolve an SSH host the way OpenSSH's `ssh` does (readconf.c), for the keys leakhunt uses.

paramiko's SSHConfig ignores `Include` (paramiko issues #1044, #1609), so hosts kept in included
files, as many users keep them, would not resolve. The rules followed here, checked against
`ssh -G HOST -F FILE` in tests/sampling/test_ssh_config.py:
- Files: the given one alone (as `ssh -F`), else ~/.ssh/config then /etc/ssh/ssh_config. `~` is
  the home directory from the passwd database, as OpenSSH has it, not $HOME.
- The first value obtained for a key wins; IdentityFile accumulates. Keywords are
  case-insensitive, `Key=value` and "quoted values" are accepted, `#` starts a comment.
- `Host` patterns (`*`, `?`, `!negation`) match the host as typed, case-sensitively; a block
  applies when one pattern matches and no negated one does.
- `Match` criteria all must hold: `all`, `host` (the HostName so far, or the host as typed),
  `originalhost`, `user` (the User so far, or the local user), `localuser`, each negatable with
  `!`; `final` and `canonical` hold in the second pass that `Match final` asks for. `exec`,
  `localnetwork` and `tagged` cannot be honoured: the block is skipped and a warning names them.
- `Include` takes absolute paths, paths relative to ~/.ssh (or /etc/ssh in the system file) and
  globs; inside a Host or Match block it counts only when that block applies. An included file
  starts active, and the block that included it is resumed afterwards.
- HostName expands `%h` and `%%`; IdentityFile expands `~` and `%d %h %i %l %n %p %r %u %%`.
- Keywords that change how the connection is made and that leakhunt does not follow
  (ProxyCommand, HostKeyAlias ...) give one warning each, naming the keyword.
"""

import glob
import os
import pwd
import re
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path

from leakhunt.errors import UsageError

SYSTEM_CONFIG = Path("/etc/ssh/ssh_config")
MAX_INCLUDE_DEPTH = 16  # readconf.c's READCONF_MAX_DEPTH
DEFAULT_PORT = 22
_NOT_HONOURED = {
    "proxycommand": "ProxyCommand",
    "hostkeyalias": "HostKeyAlias",
    "canonicalizehostname": "CanonicalizeHostname",
    "certificatefile": "CertificateFile",
    "identityagent": "IdentityAgent",
    "pkcs11provider": "PKCS11Provider",
    "knownhostscommand": "KnownHostsCommand",
    "userknownhostsfile": "UserKnownHostsFile",
}
_UNMATCHABLE = ("exec", "localnetwork", "tagged")


@dataclass
class ResolvedHost:
    """What `ssh -G` would print for the keys leakhunt uses, and what it could not honour."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: list[str] = field(default_factory=list)
    proxy_jump: str | None = None
    warnings: list[str] = field(default_factory=list)
    has_block: bool = False  # some Host or Match line other than `*`/`all` named this host


def passwd_home() -> Path:
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def local_user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # OpenSSH patterns know only `*` and `?`; everything else is literal.
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z")


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


class _Resolver:
    def __init__(self, alias: str, home: Path, final_pass: bool) -> None:
        self.alias, self.home, self.final_pass = alias, home, final_pass
        self.values: dict[str, str] = {}
        self.identity_files: list[str] = []
        self.warnings: list[str] = []
        self.wants_final_pass = False
        self.has_block = False

    # what a Match sees so far
    def current_host(self) -> str:
        hostname = self.values.get("hostname")
        return _percent(hostname, {"h": self.alias, "%": "%"}) if hostname else self.alias

    def current_user(self) -> str:
        return self.values.get("user") or local_user()

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
            elif active:
                self.set(keyword, args, path, number)

    def include(self, pattern: str, *, user_file: bool, active: bool, depth: int) -> None:
        if pattern.startswith("~"):
            pattern = str(self.home) + pattern[1:]
        elif not pattern.startswith("/"):
            pattern = str((self.home / ".ssh" if user_file else SYSTEM_CONFIG.parent) / pattern)
        for found in sorted(glob.glob(pattern)):
            self.read(Path(found), user_file=user_file, active=active, depth=depth + 1)

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
            else:
                patterns = words.pop(0).split(",")
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
                }.get(criterion)
                if subject is None:
                    raise UsageError(f"{path} line {number}: unknown Match criterion {criterion!r}")
                holds = match_pattern_list(subject, patterns)
                if holds and criterion in ("host", "originalhost"):
                    self.has_block = True
            if holds == negated:
                result = False
        return result

    def set(self, keyword: str, args: list[str], path: Path, number: int) -> None:
        if not args:
            raise UsageError(f"{path} line {number}: {keyword} needs a value")
        if keyword == "identityfile":
            self.identity_files.append(args[0])
        elif keyword in ("hostname", "user", "port", "proxyjump"):
            self.values.setdefault(keyword, args[0])
        elif keyword in _NOT_HONOURED and keyword not in self.values:
            self.values[keyword] = args[0]
            if not (keyword == "canonicalizehostname" and args[0].lower() == "no"):
                self.warn(f"{path} line {number}: {_NOT_HONOURED[keyword]} is not honoured by leakhunt")


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


def resolve(alias: str, config_path: Path | None = None, *, home: Path | None = None) -> ResolvedHost:
    """`alias` as `ssh -G alias [-F config_path]` would resolve it."""
    home = home or passwd_home()
    if config_path is not None:
        if not Path(config_path).is_file():
            raise UsageError(f"--ssh-config {config_path} does not exist")
        files = [(Path(config_path), True)]
    else:
        files = [(home / ".ssh" / "config", True), (SYSTEM_CONFIG, False)]
    resolver = _Resolver(alias, home, final_pass=False)
    for path, user_file in files:
        if path.is_file():
            resolver.read(path, user_file=user_file, active=True, depth=0)
    if resolver.wants_final_pass:
        # OpenSSH reads everything again; values from the first pass stay, as the first wins.
        final = _Resolver(alias, home, final_pass=True)
        final.values, final.identity_files = resolver.values, resolver.identity_files
        final.warnings, final.has_block = resolver.warnings, resolver.has_block
        for path, user_file in files:
            if path.is_file():
                final.read(path, user_file=user_file, active=True, depth=0)
        resolver = final
    return _result(resolver)


def _result(resolver: _Resolver) -> ResolvedHost:
    values = resolver.values
    hostname = resolver.current_host()
    if not _is_address(hostname):
        hostname = hostname.lower()
    port_text = values.get("port", str(DEFAULT_PORT))
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"ssh config: Port {port_text!r} for {resolver.alias} is not a port number")
    user = resolver.current_user()
    tokens = {
        "%": "%",
        "d": str(resolver.home),
        "h": hostname,
        "i": str(os.getuid()),
        "l": socket.gethostname().split(".")[0],
        "n": resolver.alias,
        "p": port_text,
        "r": user,
        "u": local_user(),
    }
    identity_files = []
    for raw in resolver.identity_files:
        expanded = str(resolver.home) + raw[1:] if raw.startswith("~") else raw
        identity_files.append(_percent(expanded, tokens))
    jump = values.get("proxyjump")
    return ResolvedHost(
        alias=resolver.alias,
        hostname=hostname,
        port=int(port_text),
        user=user,
        identity_files=identity_files,
        proxy_jump=None if jump is None or jump.lower() == "none" else jump,
        warnings=resolver.warnings,
        has_block=resolver.has_block,
    )


def _is_address(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except OSError:
        return False
    return True
