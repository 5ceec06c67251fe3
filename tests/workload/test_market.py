"""The market-data manager model: the leaking merge path and the report's three fixes."""

import gc

import pandas as pd
import pytest

from leakhunt.workload.feed import SyntheticFeed
from leakhunt.workload.market import CANDLE_CAPS, OI_CAP, MarketDataManager

CANDLES = {"1m": 1000, "5m": 300, "30m": 200, "4h": 200}


def manager(fixes: tuple[str, ...] = (), overlap: float = 0.0, seed: int = 1) -> MarketDataManager:
    return MarketDataManager(
        SyntheticFeed(seed=seed, overlap=overlap),
        candles_per_fetch=CANDLES,
        oi_entries_per_request=200,
        fixes=fixes,
    )


def fetch_many(model: MarketDataManager, n: int, symbol: str = "BTC/USDT", step_s: float = 60.0) -> None:
    for k in range(n):
        model.fetch(symbol, k * step_s)


def test_with_caps_each_timeframe_holds_exactly_its_cap_after_enough_fetches():
    model = manager(fixes=("caps",))
    fetch_many(model, 6)
    counts = model.candle_counts()["BTC/USDT"]
    assert counts == {tf: CANDLE_CAPS[tf] for tf in CANDLES}


def test_without_caps_the_cache_keeps_growing_by_every_new_candle():
    model = manager()
    fetch_many(model, 3)
    first = model.candle_counts()["BTC/USDT"]
    fetch_many(model, 6)
    later = model.candle_counts()["BTC/USDT"]
    assert later["1m"] > CANDLE_CAPS["1m"]
    assert all(later[tf] > first[tf] for tf in CANDLES)


def test_open_interest_is_exactly_288_with_the_fix_and_200_per_request_without():
    capped, leaking = manager(fixes=("oi_cap",)), manager()
    fetch_many(capped, 7)
    fetch_many(leaking, 7)
    assert capped.oi_counts()["BTC/USDT"] == OI_CAP
    assert leaking.oi_counts()["BTC/USDT"] == 200 * 7


def test_merge_drops_duplicate_timestamps_keeping_the_last_and_sorts():
    model = manager(overlap=1.0)
    model.fetch("BTC/USDT", 0.0)
    model.fetch("BTC/USDT", 600.0)  # ten minutes later: ten new 1m candles, the rest repeats
    frame = model.data_cache["BTC/USDT"]["ohlcv"]["1m"]
    assert len(frame) == 1010
    assert frame.index.is_unique and frame.index.is_monotonic_increasing


def test_cleanup_enforces_every_cap_even_when_the_cap_switches_are_off():
    model = manager(fixes=("cleanup",))
    fetch_many(model, 4)
    result = model.cleanup()
    assert result.ohlcv_trimmed >= 1 and result.oi_trimmed == 1
    assert model.candle_counts()["BTC/USDT"]["1m"] == CANDLE_CAPS["1m"]
    assert model.oi_counts()["BTC/USDT"] == OI_CAP


def test_cleanup_reports_the_garbage_its_full_collection_found():
    model = manager(fixes=("cleanup",))
    gc.disable()  # so the 500 cycles below are still there when the cleanup collects
    try:
        for _ in range(500):
            pair: list = [[]]
            pair[0].append(pair)
        del pair
        result = model.cleanup()
    finally:
        gc.enable()
    assert result.gc_collected >= 1000


def _cache_hash(model: MarketDataManager) -> list[int]:
    hashes = []
    for symbol in sorted(model.data_cache):
        for _tf, frame in sorted(model.data_cache[symbol]["ohlcv"].items()):
            hashes.append(int(pd.util.hash_pandas_object(frame).sum()))
        hashes.append(hash(tuple(tuple(sorted(e.items())) for e in model.data_cache[symbol]["oi_history"])))
    return hashes


@pytest.mark.parametrize("overlap", [0.0, 1.0])
def test_the_same_seed_gives_byte_identical_caches_and_another_seed_does_not(overlap):
    runs = []
    for seed in (11, 11, 12):
        model = manager(overlap=overlap, seed=seed)
        for k in range(4):
            model.fetch(("BTC/USDT", "ETH/USDT")[k % 2], k * 300.0)
        runs.append(model)
    frames = [m.data_cache["ETH/USDT"]["ohlcv"]["5m"] for m in runs]
    assert frames[0].to_numpy().tobytes() == frames[1].to_numpy().tobytes()
    assert frames[0].index.equals(frames[1].index)
    assert _cache_hash(runs[0]) == _cache_hash(runs[1])
    assert _cache_hash(runs[0]) != _cache_hash(runs[2])
