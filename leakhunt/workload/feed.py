"""A seeded synthetic exchange that returns rolling windows of candles and open interest.

Every value is a pure function of (seed, symbol, timeframe, candle index), computed with a
vectorised counter-based hash, so the same seed gives byte-identical data in every run and a
candle seen in two overlapping fetches is the same candle.

Real exchanges return the newest N candles (a rolling window), so most of a fetch repeats what
the cache holds. `overlap` is the largest fraction of a window that may repeat the previous one:
1.0 is a real exchange; 0.0 returns a completely new page every time, as a paging bug would.
"""

import zlib

import numpy as np
import pandas as pd

from leakhunt.workload.names import TIMEFRAME_S

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
OI_PERIOD_S = 300
# A fixed epoch keeps timestamps identical across runs and hosts; 2025-10-30 00:00 UTC.
EPOCH_S = 1_761_782_400

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
# What pd.to_datetime(seconds, unit="s", utc=True) makes (microseconds in pandas 3, nanoseconds
# in 2), built without it: to_datetime took half of each fetch's frame, 1 s of an ablation's CPU.
TIME_DTYPE = pd.to_datetime(np.array([0]), unit="s", utc=True).dtype
_TICKS_PER_S = int(np.timedelta64(1, "s") / np.timedelta64(1, TIME_DTYPE.unit))


def _splitmix64(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (z ^ (z >> np.uint64(31))) & _MASK64


def _unit_floats(keys: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from uint64 keys, 53 bits each."""
    return (_splitmix64(keys) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _stable_id(*parts: object) -> int:
    # zlib.crc32, not hash(): str hashes are salted per process and would break determinism.
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


def payload_columns_for(payload_columns: int, scale: float) -> tuple[str, ...]:
    """Column names of a candle: OHLCV plus payload, the whole row scaled by `scale`."""
    n_columns = max(1, round((len(OHLCV_COLUMNS) + payload_columns) * scale))
    extra = tuple(f"p{i}" for i in range(max(0, n_columns - len(OHLCV_COLUMNS))))
    return (*OHLCV_COLUMNS, *extra)[:n_columns]


class SyntheticFeed:
    """The exchange side of the model. Stateful only in where each rolling window ended."""

    def __init__(self, *, seed: int, overlap: float, payload_columns: int = 0, scale: float = 1.0) -> None:
        self.seed = seed
        self.overlap = overlap
        self.columns = payload_columns_for(payload_columns, scale)
        self._last_end: dict[tuple[str, str], int] = {}
        # What this feed served, for a run's record: two runs that saw the same data end equal.
        # Each window's newest row stands for it (every value is a function of seed and index),
        # so the cost stays a row per fetch whatever the scale.
        self.served_crc32 = 0

    def _record(self, index: np.ndarray, newest_row: np.ndarray) -> None:
        self.served_crc32 = zlib.crc32(
            newest_row.tobytes(), zlib.crc32(index[-1:].tobytes(), self.served_crc32)
        )

    def _window_end(self, key: tuple[str, str], period_s: int, limit: int, now_s: float) -> int:
        natural_end = int((EPOCH_S + now_s) // period_s)
        previous = self._last_end.get(key)
        end = natural_end
        if previous is not None:
            # At most `overlap` of the window may repeat the previous one.
            min_new = int(np.ceil((1.0 - self.overlap) * limit))
            end = max(natural_end, previous + min_new)
        self._last_end[key] = end
        return end

    def fetch_ohlcv(self, symbol: str, timeframe: str, limit: int, now_s: float) -> pd.DataFrame:
        period_s = TIMEFRAME_S[timeframe]
        end = self._window_end((symbol, timeframe), period_s, limit, now_s)
        index = np.arange(end - limit + 1, end + 1, dtype=np.uint64)
        base = np.uint64(_stable_id(self.seed, symbol, timeframe) << 20)
        col_ids = np.arange(len(self.columns), dtype=np.uint64) << np.uint64(44)
        with np.errstate(over="ignore"):
            keys = (index[:, None] + base) ^ col_ids[None, :]
        values = _unit_floats(keys)
        values[:, : min(4, values.shape[1])] = 100.0 * (1.0 + 0.01 * values[:, :4])
        self._record(index, values[-1])
        ticks = (index.astype(np.int64) * (period_s * _TICKS_PER_S)).view(f"M8[{TIME_DTYPE.unit}]")
        return pd.DataFrame(
            values,
            index=pd.DatetimeIndex(ticks, dtype=TIME_DTYPE, name="timestamp"),
            columns=list(self.columns),
        )

    def fetch_open_interest(self, symbol: str, limit: int, now_s: float) -> list[dict]:
        end = self._window_end((symbol, "oi"), OI_PERIOD_S, limit, now_s)
        index = np.arange(end - limit + 1, end + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            keys = index + np.uint64(_stable_id(self.seed, symbol, "oi") << 20)
        values = 1e6 * (1.0 + _unit_floats(keys))
        self._record(index, values[-1:])
        # Plain dicts of Python scalars, as an exchange client returns them.
        return [
            {"timestamp": int(i) * OI_PERIOD_S * 1000, "open_interest": float(v), "symbol": symbol}
            for i, v in zip(index, values, strict=True)
        ]
