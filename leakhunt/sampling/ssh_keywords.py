"""Every ssh_config keyword and what leakhunt does with it: the parity table.

Four answers, one per keyword (readconf.c's table, Debian's GSSAPI additions and Apple's
UseKeychain):
- followed: leakhunt does what ssh does with it (checked against `ssh -G` and a real sshd in
  tests/sampling/test_ssh_keywords.py);
- warned: leakhunt cannot do it; one line names it, file and line, before any connection;
- refused: with these values ssh would connect in a way leakhunt will not (or not at all):
  the run stops before connecting, with a line saying why;
- ignored: no bearing on a watch (forwarding, terminals, logging, passwords: leakhunt opens one
  session for one command, never prompts, and authenticates by key), or ssh ignores it too.

`when` narrows warned and refused keywords to some values, `unless` takes some out; with any
other value the keyword is followed (or makes no difference). `example` is a value ssh accepts
that triggers the handling; `otherwise` one that does not. The table in docs/decisions.md and
the README's lists are `markdown_table()` and `names()`, checked against this dict by the tests.
"""

from dataclasses import dataclass
from typing import Literal

Handling = Literal["followed", "warned", "refused", "ignored"]


@dataclass(frozen=True)
class Keyword:
    name: str
    handling: Handling
    why: str
    example: str = "yes"
    when: tuple[str, ...] = ()  # lower-case values the handling applies to; () means any value
    otherwise: str = ""  # a value it does not apply to
    unless: tuple[str, ...] = ()  # lower-case values it does not apply to, whatever `when` says

    def applies(self, value: str) -> bool:
        """Whether this value triggers the warning or refusal."""
        lowered = value.lower()
        return (not self.when or lowered in self.when) and lowered not in self.unless


_NO_EFFECT = "no bearing on a watch: one session, one command, no forwarding"
_NEVER_PROMPTS = "leakhunt never prompts (as with BatchMode yes) and authenticates by key"
_SSH_IGNORES = "ssh ignores it too (deprecated or unsupported)"
_PARAMIKO_ALGORITHMS = "paramiko negotiates from its own algorithm list"

_TABLE = [
    # Which host, as which user
    Keyword("Host", "followed", "patterns with * ? and !negation, as typed on the command line", "vps"),
    Keyword("Match", "followed", "all host originalhost user localuser exec tagged final canonical", "all"),
    Keyword("Include", "followed", "absolute, ~/.ssh-relative and glob paths", "/dev/null"),
    Keyword("HostName", "followed", "with %h", "10.0.0.5"),
    Keyword("User", "followed", "", "deploy"),
    Keyword("Port", "followed", "", "2222"),
    Keyword("Tag", "followed", "for Match tagged", "prod"),
    Keyword("IgnoreUnknown", "followed", "unknown keywords it matches are passed over silently", "Foo*"),
    Keyword(
        "CanonicalizeHostname", "warned", "the name is not canonicalized", "yes", ("yes", "always"), "no"
    ),
    Keyword("CanonicalDomains", "ignored", "used only by CanonicalizeHostname", "example.com"),
    Keyword("CanonicalizeFallbackLocal", "ignored", "used only by CanonicalizeHostname"),
    Keyword("CanonicalizeMaxDots", "ignored", "used only by CanonicalizeHostname", "1"),
    Keyword(
        "CanonicalizePermittedCNAMEs", "warned", "CNAMEs are not followed", "*.a:*.b", (), "none", ("none",)
    ),
    # How the connection is made
    Keyword("ProxyJump", "followed", "user@host:port, ssh:// URIs and lists of hops", "bastion"),
    Keyword("ProxyCommand", "followed", "run through $SHELL -c 'exec ...' as ssh runs it", "nc %h %p"),
    Keyword("ProxyUseFdpass", "refused", "paramiko cannot take a passed descriptor", "yes", ("yes",), "no"),
    Keyword("ConnectTimeout", "followed", "for the TCP connection and the SSH banner", "2"),
    Keyword("ConnectionAttempts", "followed", "one second apart, as ssh", "2"),
    Keyword(
        "ServerAliveInterval",
        "followed",
        "keepalives; a silent connection also meets the read deadline",
        "30",
    ),
    Keyword(
        "ServerAliveCountMax", "ignored", "a silent connection is judged by leakhunt's read deadline", "3"
    ),
    Keyword("TCPKeepAlive", "followed", "", "no"),
    Keyword("AddressFamily", "followed", "", "inet"),
    Keyword("BindAddress", "followed", "", "127.0.0.1"),
    Keyword("BindInterface", "warned", "the connection is not bound to an interface", "lo"),
    Keyword("Compression", "followed", ""),
    Keyword("RefuseConnection", "refused", "ssh refuses to connect too", "yes", ("yes",), "no"),
    Keyword("ControlMaster", "ignored", "leakhunt opens its own connection", "auto"),
    Keyword("ControlPath", "ignored", "leakhunt opens its own connection", "~/.ssh/cm-%C"),
    Keyword("ControlPersist", "ignored", "leakhunt opens its own connection", "10m"),
    # Whom to trust
    Keyword(
        "StrictHostKeyChecking",
        "refused",
        "a host key is always checked",
        "no",
        ("no", "off", "false"),
        "accept-new",
    ),
    Keyword(
        "UserKnownHostsFile", "followed", "read, and the first one written (one appended line)", "~/.ssh/kh"
    ),
    Keyword("GlobalKnownHostsFile", "followed", "read", "/etc/ssh/kh"),
    Keyword("HostKeyAlias", "followed", "the name keys are looked up and recorded under", "web"),
    Keyword("HashKnownHosts", "followed", "a new line is hashed; also when the file's lines all are"),
    Keyword(
        "RevokedHostKeys", "followed", "a list of keys; a KRL is refused as unreadable", "/etc/ssh/revoked"
    ),
    Keyword("RequiredRSASize", "followed", "for the host's RSA key", "2048"),
    Keyword("CheckHostIP", "warned", "the address's key is not checked", "yes", ("yes",), "no"),
    Keyword("KnownHostsCommand", "warned", "not run: keys it would give are not known", "/bin/true"),
    Keyword("VerifyHostKeyDNS", "warned", "SSHFP records are not consulted", "yes", ("yes", "ask"), "no"),
    Keyword(
        "NoHostAuthenticationForLocalhost",
        "warned",
        "localhost's key is checked anyway",
        "yes",
        ("yes",),
        "no",
    ),
    Keyword("UpdateHostKeys", "ignored", "leakhunt records no key but a new host's first", "no"),
    Keyword("HostKeyAlgorithms", "warned", _PARAMIKO_ALGORITHMS, "ssh-ed25519"),
    Keyword("KexAlgorithms", "warned", _PARAMIKO_ALGORITHMS, "curve25519-sha256"),
    Keyword("Ciphers", "warned", _PARAMIKO_ALGORITHMS, "aes128-ctr"),
    Keyword("MACs", "warned", _PARAMIKO_ALGORITHMS, "hmac-sha2-256"),
    Keyword(
        "CASignatureAlgorithms",
        "ignored",
        "ssh's default: host certificates signed with SHA-1 RSA are refused",
        "ssh-ed25519",
    ),
    Keyword("FingerprintHash", "ignored", "fingerprints are shown as SHA256", "md5"),
    Keyword("VisualHostKey", "ignored", _NO_EFFECT),
    Keyword("RekeyLimit", "ignored", "paramiko rekeys on its own schedule", "1G"),
    # Who we are
    Keyword("IdentityFile", "followed", "in order; missing ones skipped as ssh skips them", "~/.ssh/id_vps"),
    Keyword("IdentitiesOnly", "followed", "agent keys not named by an IdentityFile are not offered"),
    Keyword(
        "CertificateFile", "followed", "paired with its key from the files or the agent", "~/.ssh/id-cert.pub"
    ),
    Keyword("IdentityAgent", "followed", "a socket path, SSH_AUTH_SOCK or none", "none"),
    Keyword(
        "PubkeyAuthentication", "refused", "leakhunt authenticates by key only", "no", ("no", "false"), "yes"
    ),
    Keyword("PubkeyAcceptedAlgorithms", "warned", _PARAMIKO_ALGORITHMS, "ssh-ed25519"),
    Keyword("PKCS11Provider", "warned", "keys on a token are not offered", "/usr/lib/opensc-pkcs11.so"),
    Keyword(
        "SecurityKeyProvider",
        "warned",
        "FIDO keys are not offered",
        "/usr/lib/sk.so",
        (),
        "internal",
        ("internal",),
    ),
    Keyword("AddKeysToAgent", "ignored", "leakhunt adds no key to the agent"),
    Keyword("BatchMode", "ignored", _NEVER_PROMPTS),
    Keyword("PasswordAuthentication", "ignored", _NEVER_PROMPTS),
    Keyword("KbdInteractiveAuthentication", "ignored", _NEVER_PROMPTS),
    Keyword("KbdInteractiveDevices", "ignored", _NEVER_PROMPTS, "pam"),
    Keyword("NumberOfPasswordPrompts", "ignored", _NEVER_PROMPTS, "1"),
    Keyword("PreferredAuthentications", "ignored", _NEVER_PROMPTS, "publickey"),
    Keyword("HostbasedAuthentication", "ignored", _NEVER_PROMPTS),
    Keyword("HostbasedAcceptedAlgorithms", "ignored", _NEVER_PROMPTS, "ssh-ed25519"),
    Keyword("EnableSSHKeysign", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPIAuthentication", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPIDelegateCredentials", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPIKeyExchange", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPIClientIdentity", "ignored", _NEVER_PROMPTS, "me@EXAMPLE.COM"),
    Keyword("GSSAPIServerIdentity", "ignored", _NEVER_PROMPTS, "host@example.com"),
    Keyword("GSSAPIRenewalForcesRekey", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPITrustDns", "ignored", _NEVER_PROMPTS),
    Keyword("GSSAPIKexAlgorithms", "ignored", _NEVER_PROMPTS, "gss-curve25519-sha256-"),
    Keyword("UseKeychain", "ignored", "macOS's keychain passphrases: " + _NEVER_PROMPTS),
    # What the session does
    Keyword("RemoteCommand", "ignored", "leakhunt runs its own command", "uptime"),
    Keyword("RequestTTY", "ignored", _NO_EFFECT, "no"),
    Keyword("SessionType", "ignored", _NO_EFFECT, "default"),
    Keyword("StdinNull", "ignored", _NO_EFFECT),
    Keyword("ForkAfterAuthentication", "ignored", _NO_EFFECT, "no"),
    Keyword("LocalCommand", "ignored", _NO_EFFECT, "true"),
    Keyword("PermitLocalCommand", "ignored", _NO_EFFECT),
    Keyword("SendEnv", "ignored", _NO_EFFECT, "LANG"),
    Keyword("SetEnv", "ignored", _NO_EFFECT, "FOO=bar"),
    Keyword("EscapeChar", "ignored", _NO_EFFECT, "none"),
    Keyword("EnableEscapeCommandline", "ignored", _NO_EFFECT),
    Keyword("ObscureKeystrokeTiming", "ignored", _NO_EFFECT, "no"),
    Keyword("ChannelTimeout", "ignored", _NO_EFFECT, "session=5m"),
    Keyword("IPQoS", "ignored", _NO_EFFECT, "lowdelay"),
    Keyword("VersionAddendum", "ignored", _NO_EFFECT, "none"),
    Keyword("WarnWeakCrypto", "ignored", _NO_EFFECT, "no"),
    Keyword("LogLevel", "ignored", _NO_EFFECT, "ERROR"),
    Keyword("LogVerbose", "ignored", _NO_EFFECT, "kex.c:*"),
    Keyword("SyslogFacility", "ignored", _NO_EFFECT, "USER"),
    Keyword("ForwardAgent", "ignored", _NO_EFFECT),
    Keyword("ForwardX11", "ignored", _NO_EFFECT),
    Keyword("ForwardX11Trusted", "ignored", _NO_EFFECT),
    Keyword("ForwardX11Timeout", "ignored", _NO_EFFECT, "20m"),
    Keyword("XAuthLocation", "ignored", _NO_EFFECT, "/usr/bin/xauth"),
    Keyword("LocalForward", "ignored", _NO_EFFECT, "8080 localhost:80"),
    Keyword("RemoteForward", "ignored", _NO_EFFECT, "8080 localhost:80"),
    Keyword("DynamicForward", "ignored", _NO_EFFECT, "1080"),
    Keyword("GatewayPorts", "ignored", _NO_EFFECT),
    Keyword("ExitOnForwardFailure", "ignored", _NO_EFFECT),
    Keyword("ClearAllForwardings", "ignored", _NO_EFFECT),
    Keyword("PermitRemoteOpen", "ignored", _NO_EFFECT, "any"),
    Keyword("Tunnel", "ignored", _NO_EFFECT),
    Keyword("TunnelDevice", "ignored", _NO_EFFECT, "any:any"),
    Keyword("StreamLocalBindMask", "ignored", _NO_EFFECT, "0177"),
    Keyword("StreamLocalBindUnlink", "ignored", _NO_EFFECT),
    # readconf.c's deprecated and unsupported options
    *(
        Keyword(name, "ignored", _SSH_IGNORES, example)
        for name, example in (
            ("Protocol", "2"),
            ("Cipher", "3des"),
            ("FallBackToRsh", "no"),
            ("GlobalKnownHostsFile2", "/etc/ssh/kh2"),
            ("RhostsAuthentication", "no"),
            ("UserKnownHostsFile2", "~/.ssh/kh2"),
            ("UseRoaming", "no"),
            ("UseRsh", "no"),
            ("UsePrivilegedPort", "no"),
            ("AFSTokenPassing", "no"),
            ("KerberosAuthentication", "no"),
            ("KerberosTGTPassing", "no"),
            ("RSAAuthentication", "no"),
            ("RhostsRSAAuthentication", "no"),
            ("CompressionLevel", "6"),
        )
    ),
]

KEYWORDS: dict[str, Keyword] = {keyword.name.lower(): keyword for keyword in _TABLE}

# readconf.c's other spellings of the same options.
ALIASES = {
    "identityfile2": "identityfile",
    "keepalive": "tcpkeepalive",
    "dsaauthentication": "pubkeyauthentication",
    "challengeresponseauthentication": "kbdinteractiveauthentication",
    "skeyauthentication": "kbdinteractiveauthentication",
    "tisauthentication": "kbdinteractiveauthentication",
    "smartcarddevice": "pkcs11provider",
    "hostbasedkeytypes": "hostbasedacceptedalgorithms",
    "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
}


def lookup(keyword: str) -> Keyword | None:
    key = keyword.lower()
    return KEYWORDS.get(ALIASES.get(key, key))


def names(handling: Handling) -> list[str]:
    return [keyword.name for keyword in _TABLE if keyword.handling == handling]


def markdown_table() -> str:
    """The parity table for docs/decisions.md, one row per keyword."""
    rows = ["| Keyword | leakhunt | when | how, or why |", "| --- | --- | --- | --- |"]
    for keyword in _TABLE:
        when = ", ".join(keyword.when) if keyword.when else ""
        if keyword.unless:
            when = "not " + ", ".join(keyword.unless)
        if (keyword.when or keyword.unless) and keyword.handling in ("warned", "refused"):
            when += " (otherwise followed)"
        rows.append(f"| {keyword.name} | {keyword.handling} | {when} | {keyword.why} |")
    return "\n".join(rows) + "\n"
