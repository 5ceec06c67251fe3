"""A model of the incident's market-data manager: OHLCV caches per symbol and timeframe, an
open-interest history per symbol, and the report's three fixes as independent switches.

The leaking path is the report's merge, reproduced step for step: concat(existing, new), drop
duplicate timestamps keeping the last, sort, store, with no cap. Open interest is a list that
only grows. With the fixes:
- "caps": after each merge keep the tail of the per-timeframe cap (the report's table);
- "oi_cap": keep the newest 288 open-interest entries after each append;
- "cleanup": a periodic task (every `cleanup_interval_s` of simulated time, run by the target)
  that enforces both caps whatever the other switches say, then runs gc.collect().
"""

import ctypes
import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from leakhunt.workload.feed import SyntheticFeed

CANDLE_CAPS: dict[str, int] = {
    "1m": 1440,
    "5m": 864,
    "15m": 672,
    "30m": 672,
    "1h": 720,
    "4h": 360,
    "1d": 365,
}
DEFAULT_CANDLE_CAP = 1000
OI_CAP = 288


def candle_cap(timeframe: str) -> int:
    return CANDLE_CAPS.get(timeframe, DEFAULT_CANDLE_CAP)


@dataclass(frozen=True)
class CleanupResult:
    ohlcv_trimmed: int
    oi_trimmed: int
    gc_collected: int
    malloc_trimmed: bool | None = None


def _malloc_trim() -> bool | None:
    """glibc's malloc_trim(0); None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return None


class MarketDataManager:
    """Holds `data_cache[symbol]["ohlcv"][timeframe]` and `data_cache[symbol]["oi_history"]`."""

    def __init__(
        self,
        feed: SyntheticFeed,
        *,
        candles_per_fetch: Mapping[str, int],
        oi_entries_per_request: int,
        fixes: Iterable[str] = (),
    ) -> None:
        self.feed = feed
        self.candles_per_fetch = dict(candles_per_fetch)
        self.oi_entries_per_request = oi_entries_per_request
        self.fixes = frozenset(fixes)
        self.data_cache: dict[str, dict] = {}
        self.fetches = 0

    def _symbol_cache(self, symbol: str) -> dict:
        return self.data_cache.setdefault(symbol, {"ohlcv": {}, "oi_history": []})

    def fetch(self, symbol: str, now_s: float) -> None:
        """One fetch of the incident: every timeframe's window, then open interest."""
        for timeframe, limit in self.candles_per_fetch.items():
            self._merge_ohlcv(symbol, timeframe, self.feed.fetch_ohlcv(symbol, timeframe, limit, now_s))
        entries = self.feed.fetch_open_interest(symbol, self.oi_entries_per_request, now_s)
        self._append_open_interest(symbol, entries)
        self.fetches += 1

    def _merge_ohlcv(self, symbol: str, timeframe: str, new: pd.DataFrame) -> None:
        ohlcv = self._symbol_cache(symbol)["ohlcv"]
        existing = ohlcv.get(timeframe)
        combined = new if existing is None else pd.concat([existing, new])
        combined = combined[~combined.index.duplicated(keep="last")]
        combined = combined.sort_index()
        if "caps" in self.fixes:
            combined = combined.tail(candle_cap(timeframe))
        ohlcv[timeframe] = combined

    def _append_open_interest(self, symbol: str, entries: list[dict]) -> None:
        cache = self._symbol_cache(symbol)
        history = cache["oi_history"]
        history.extend(entries)
        if "oi_cap" in self.fixes and len(history) > OI_CAP:
            cache["oi_history"] = history[-OI_CAP:]

    def cleanup(self, *, malloc_trim: bool = False) -> CleanupResult:
        """The report's periodic task: enforce every cap, then a full collection.

        With `malloc_trim`, glibc is then asked to hand freed heap back to the OS, which shows how
        much of the RSS was only retained by the allocator (not in the report's fix).
        """
        ohlcv_trimmed = oi_trimmed = 0
        for cache in self.data_cache.values():
            for timeframe, frame in cache["ohlcv"].items():
                if len(frame) > candle_cap(timeframe):
                    cache["ohlcv"][timeframe] = frame.tail(candle_cap(timeframe))
                    ohlcv_trimmed += 1
            if len(cache["oi_history"]) > OI_CAP:
                cache["oi_history"] = cache["oi_history"][-OI_CAP:]
                oi_trimmed += 1
        collected = gc.collect()
        trimmed = _malloc_trim() if malloc_trim else None
        return CleanupResult(ohlcv_trimmed, oi_trimmed, collected, trimmed)

    def candle_counts(self) -> dict[str, dict[str, int]]:
        return {
            symbol: {tf: len(frame) for tf, frame in cache["ohlcv"].items()}
            for symbol, cache in self.data_cache.items()
        }

    def oi_counts(self) -> dict[str, int]:
        return {symbol: len(cache["oi_history"]) for symbol, cache in self.data_cache.items()}
