"""The one parser for durations and sizes on the command line, in scenarios and in `--expect`.

Files store SI base units only (seconds, bytes), whatever the user typed. Only finite numbers >= 0
are read: nan, inf, a negative number, a number too large for a float (`1e999s`) or a TOML
boolean is refused with the expected form, never passed on to crash a run later.
"""

import math
import re

from leakhunt.errors import UsageError

_DURATION_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
# The spellings people type after a slash (`50MB/hour`) or a number (`2 hours`).
_DURATION_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "mins": "min", "minute": "min", "minutes": "min",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
}  # fmt: skip
_SIZE_BYTES = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*$")

DURATION_HELP = "a duration such as 500ms, 30s, 5m, 2h or a bare number of seconds"
SIZE_HELP = "a size such as 512MB, 2GB, 6GiB or a bare number of bytes"
RATE_HELP = "a rate such as 220MB/min, 50MB/h, 50 MB/hour or 2MiB/s"


def _split(text: str) -> tuple[float, str] | None:
    match = _NUMBER_UNIT.match(str(text))
    if not match or not math.isfinite(float(match.group(1))):
        return None
    return float(match.group(1)), match.group(2).lower()


def _plain_number(value: object) -> float | None:
    """A TOML or Python number that is finite and >= 0; None for anything else (bools too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def parse_duration_s(text: str | float, what: str = "duration") -> float:
    """`500ms`, `30s`, `5m`, `2h`, `1d` or a bare number of seconds -> seconds."""
    if not isinstance(text, str):
        number = _plain_number(text)
        if number is None:
            raise UsageError(f"{what}: {text!r} is not {DURATION_HELP}")
        return number
    parts = _split(text)
    unit = _DURATION_WORDS.get(parts[1], parts[1]) if parts else None
    if parts is None or unit not in ("", *_DURATION_S):
        raise UsageError(f"{what}: {text!r} is not {DURATION_HELP}")
    return parts[0] * _DURATION_S.get(unit, 1.0)


def parse_size_bytes(text: str | float, what: str = "size") -> int:
    """`512MB`, `2GB`, `6GiB` (also the systemd-style `6G` = GiB) or bare bytes -> bytes."""
    if not isinstance(text, str):
        number = _plain_number(text)
        if number is None:
            raise UsageError(f"{what}: {text!r} is not {SIZE_HELP}")
        return round(number)
    parts = _split(text)
    if parts is None or parts[1] not in ("", *_SIZE_BYTES):
        raise UsageError(f"{what}: {text!r} is not {SIZE_HELP}")
    value, unit = parts
    return round(value * _SIZE_BYTES.get(unit, 1))


def format_bytes(size_bytes: float) -> str:
    """Human SI size with a sign only where negative: 1.23 GB, 456 MB, 12.0 kB."""
    magnitude = abs(size_bytes)
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if magnitude >= factor:
            return f"{size_bytes / factor:.3g} {unit}"
    return f"{size_bytes:.0f} B"


def format_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def parse_rate_bytes_per_min(text: str, what: str = "rate") -> float:
    """`220MB/min`, `50MB/h`, `50 MB/hour`, `2MiB/s` -> bytes per minute.

    Errors quote `text` as typed, never the `1hour` that `/hour` is read as."""
    size_text, slash, per_text = str(text).partition("/")
    if not slash:
        raise UsageError(f"{what}: {text!r} is not {RATE_HELP}")
    per_text = per_text.strip()
    try:
        per_s = parse_duration_s("1" + per_text if per_text[:1].isalpha() else per_text, what)
    except UsageError:
        raise UsageError(f"{what}: {text!r} is not {RATE_HELP}") from None
    if per_s <= 0:
        raise UsageError(f"{what}: {text!r} has a zero time unit")
    try:
        return parse_size_bytes(size_text, what) * 60.0 / per_s
    except UsageError:
        raise UsageError(f"{what}: {text!r} is not {RATE_HELP}") from None


def format_mb(size_bytes: float | None, *, signed: bool = False) -> str:
    """Megabytes without scientific notation: 0.323, 7.38, 224, 3,600; `n/a` when unknown."""
    if size_bytes is None or not math.isfinite(size_bytes):
        return "n/a"
    value = size_bytes / 1e6
    sign = "+" if signed else ""
    return f"{value:{sign},.0f}" if abs(value) >= 100 else f"{value:{sign}.3g}"
