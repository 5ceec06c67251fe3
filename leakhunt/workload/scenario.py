"""Scenarios: TOML files shipped as `leakhunt.scenarios` (`scenarios/` in the checkout) or any
path, validated on load into a frozen dataclass.

A bad file gets one message naming the file, the key and the expected type.
"""

import dataclasses
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from leakhunt.errors import UsageError
from leakhunt.units import parse_duration_s, parse_rate_bytes_per_min, parse_size_bytes
from leakhunt.workload.names import FIXES, TIMEFRAME_S

# Package data, so a wheel or pipx install has them; installed packages are plain directories.
SCENARIO_DIR = Path(str(resources.files("leakhunt.scenarios")))
DEFAULT_SCENARIO = "incident-2025-10-30"
SYMBOL_NAMES = (
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT",
    "DOGE/USDT", "ADA/USDT", "AVAX/USDT", "LINK/USDT", "DOT/USDT",
)  # fmt: skip


@dataclass(frozen=True)
class Reference:
    """The incident's own figures, used only to annotate reports."""

    growth_bytes_per_min: float
    baseline_bytes: int
    crash_after_s: float | None
    source: str


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    symbols: tuple[str, ...]
    fetches_per_15min: float
    candles_per_fetch: tuple[tuple[str, int], ...]
    oi_entries_per_request: int
    overlap: float
    payload_columns: int
    seed: int
    fixes: frozenset[str]
    cleanup_interval_s: float
    memory_limit_bytes: int | None
    scale: float = 1.0
    calibrated: tuple[str, ...] = ()
    assumptions: str = ""
    reference: Reference | None = None

    @property
    def fetch_interval_s(self) -> float:
        return 900.0 / self.fetches_per_15min

    def with_overrides(self, **changes: Any) -> "Scenario":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fixes"] = sorted(self.fixes)
        data["candles_per_fetch"] = dict(self.candles_per_fetch)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Scenario":
        """Inverse of to_dict, for the child process and for re-rendering saved runs."""
        data = dict(data)
        data["symbols"] = tuple(data["symbols"])
        data["fixes"] = frozenset(data["fixes"])
        data["candles_per_fetch"] = tuple(data["candles_per_fetch"].items())
        data["calibrated"] = tuple(data.get("calibrated", ()))
        if data.get("reference"):
            data["reference"] = Reference(**data["reference"])
        return cls(**data)


def parse_fixes(text: str | list[str]) -> frozenset[str]:
    """`all`, `none`, or a comma list of caps, oi_cap, cleanup."""
    if isinstance(text, str):
        word = text.strip().lower()
        if word == "all":
            return frozenset(FIXES)
        if word in ("none", ""):
            return frozenset()
        names = [part.strip() for part in word.split(",") if part.strip()]
    else:
        names = list(text)
    unknown = [name for name in names if name not in FIXES]
    if unknown:
        raise UsageError(f"unknown fix {unknown[0]!r}: use all, none, or a comma list of {', '.join(FIXES)}")
    return frozenset(names)


class _Reader:
    """Takes typed values out of one TOML table, with messages naming file and key."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix
        self.used: set[str] = set()

    def fail(self, key: str, expected: str) -> UsageError:
        value = self.table.get(key)
        return UsageError(
            f"{self.path}: key '{self.prefix}{key}' must be {expected}, "
            f"got {value!r} ({type(value).__name__}); fix the scenario file"
        )

    def get(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is ...:
                raise UsageError(f"{self.path}: missing key '{self.prefix}{key}'; add it")
            return default
        return self.table[key]

    def number(self, key: str, *, low: float, high: float = float("inf"), default: Any = ...) -> float:
        value = self.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
        if not ok or not math.isfinite(value):
            bounds = f"from {low} to {high}" if math.isfinite(high) else f">= {low} (and finite)"
            raise self.fail(key, f"a number {bounds}")
        return float(value)

    def integer(self, key: str, *, low: int, default: Any = ...) -> int:
        value = self.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise self.fail(key, f"a whole number >= {low}")
        return value

    def text(self, key: str, default: Any = ...) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value

    def unit(self, key: str, parse: Any, expected: str, default: Any = ...) -> Any:
        value = self.get(key, default)
        if value is None:
            return None
        try:
            return parse(value)
        except UsageError:
            raise self.fail(key, expected) from None

    def check_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise UsageError(
                f"{self.path}: unknown key '{self.prefix}{unknown[0]}'; "
                "see scenarios/incident-2025-10-30.toml for the keys a scenario takes"
            )


def _symbols(reader: _Reader) -> tuple[str, ...]:
    value = reader.get("symbols")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return tuple(SYMBOL_NAMES[i] if i < len(SYMBOL_NAMES) else f"SYM{i}/USDT" for i in range(value))
    if isinstance(value, list) and value and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise reader.fail("symbols", "a count >= 1 or a list of symbol names")


def _candles(path: Path, value: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, dict) or not value:
        raise UsageError(
            f"{path}: key 'candles_per_fetch' must be a table of timeframe = count, "
            f"got {value!r}; fix the scenario file"
        )
    candles = []
    for timeframe, count in value.items():
        if timeframe not in TIMEFRAME_S:
            raise UsageError(
                f"{path}: key 'candles_per_fetch.{timeframe}' is not a timeframe; "
                f"use one of {', '.join(TIMEFRAME_S)}"
            )
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UsageError(
                f"{path}: key 'candles_per_fetch.{timeframe}' must be a whole number >= 1, "
                f"got {count!r}; fix the scenario file"
            )
        candles.append((timeframe, count))
    return tuple(candles)


def _reference(path: Path, value: Any) -> Reference | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: '[reference]' must be a table; fix the scenario file")
    reader = _Reader(path, value, "reference.")
    reference = Reference(
        growth_bytes_per_min=reader.unit("growth", parse_rate_bytes_per_min, "a rate like '220MB/min'"),
        baseline_bytes=reader.unit("baseline", parse_size_bytes, "a size like '500MB'"),
        crash_after_s=reader.unit("crash_after", parse_duration_s, "a duration like '25m'", None),
        source=reader.text("source", ""),
    )
    reader.check_unknown()
    return reference


def _positive_size_bytes(value: Any) -> int:
    size_bytes = parse_size_bytes(value)
    if size_bytes <= 0:
        raise UsageError("a memory limit of 0 bytes")
    return size_bytes


def load_scenario_file(path: Path) -> Scenario:
    import tomllib  # here: an unknown scenario name is refused without it (benchmarks/bench_cli.py)

    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix the scenario file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (not UTF-8); give a TOML scenario file") from None
    except OSError as exc:
        raise UsageError(f"cannot read scenario {path}: {exc.strerror}") from None
    reader = _Reader(path, data)
    fixes_value = reader.get("fixes", [])
    if not isinstance(fixes_value, list) or not all(isinstance(f, str) for f in fixes_value):
        raise reader.fail("fixes", f"a list drawn from {list(FIXES)}")
    calibrated = reader.get("calibrated", [])
    if not isinstance(calibrated, list) or not all(isinstance(c, str) for c in calibrated):
        raise reader.fail("calibrated", "a list of key names")
    scenario = Scenario(
        name=reader.text("name", path.stem),
        description=reader.text("description", ""),
        path=str(path),
        symbols=_symbols(reader),
        fetches_per_15min=reader.number("fetches_per_15min", low=0.01),
        candles_per_fetch=_candles(path, reader.get("candles_per_fetch")),
        oi_entries_per_request=reader.integer("oi_entries_per_request", low=0),
        overlap=reader.number("overlap", low=0.0, high=1.0),
        payload_columns=reader.integer("payload_columns", low=0, default=0),
        seed=reader.integer("seed", low=0),
        fixes=parse_fixes(fixes_value),
        cleanup_interval_s=reader.unit("cleanup_interval_s", parse_duration_s, "a duration in seconds"),
        memory_limit_bytes=reader.unit("memory_limit", _positive_size_bytes, "a size like '6GB'", None),
        scale=reader.number("scale", low=1e-6, default=1.0),
        calibrated=tuple(calibrated),
        assumptions=reader.text("assumptions", ""),
        reference=_reference(path, reader.get("reference", None)),
    )
    reader.check_unknown()
    if scenario.cleanup_interval_s <= 0:
        raise reader.fail("cleanup_interval_s", "a positive duration")
    return scenario


def available_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a TOML file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if candidate.is_dir():
            raise UsageError(f"scenario {candidate} is a directory; give a .toml file")
        if not candidate.is_file():
            raise UsageError(f"scenario file {candidate} does not exist; check the path")
        return load_scenario_file(candidate)
    shipped = SCENARIO_DIR / f"{name_or_path}.toml"
    if not shipped.is_file():
        names = ", ".join(p.stem for p in available_scenarios())
        raise UsageError(f"unknown scenario {name_or_path!r}: use one of {names}, or a path to a .toml file")
    return load_scenario_file(shipped)
