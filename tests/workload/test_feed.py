"""The synthetic exchange: seeded, rolling windows, an overlap knob, a payload that scales."""

import numpy as np
import pandas as pd

from leakhunt.workload.feed import EPOCH_S, OHLCV_COLUMNS, SyntheticFeed, payload_columns_for
from leakhunt.workload.names import TIMEFRAME_S


def test_a_real_exchange_returns_the_newest_candles_so_later_fetches_repeat_most_of_the_window():
    feed = SyntheticFeed(seed=3, overlap=1.0)
    first = feed.fetch_ohlcv("BTC/USDT", "1m", 1000, now_s=0.0)
    second = feed.fetch_ohlcv("BTC/USDT", "1m", 1000, now_s=300.0)
    shared = first.index.intersection(second.index)
    assert len(shared) == 995
    assert np.array_equal(first.loc[shared].to_numpy(), second.loc[shared].to_numpy())


def test_overlap_zero_returns_a_page_the_cache_has_never_seen():
    feed = SyntheticFeed(seed=3, overlap=0.0)
    first = feed.fetch_ohlcv("BTC/USDT", "5m", 300, now_s=0.0)
    second = feed.fetch_ohlcv("BTC/USDT", "5m", 300, now_s=10.0)
    assert first.index.intersection(second.index).empty
    assert second.index[0] > first.index[-1]


def test_half_overlap_repeats_at_most_half_of_the_window():
    feed = SyntheticFeed(seed=3, overlap=0.5)
    first = feed.fetch_ohlcv("BTC/USDT", "1m", 100, now_s=0.0)
    second = feed.fetch_ohlcv("BTC/USDT", "1m", 100, now_s=1.0)
    assert len(first.index.intersection(second.index)) == 50


def test_payload_columns_follow_the_scale_linearly():
    assert payload_columns_for(0, 1.0) == OHLCV_COLUMNS
    wide = len(payload_columns_for(3000, 0.02))
    wider = len(payload_columns_for(3000, 0.04))
    assert wide == 60 and wider == 120


def test_open_interest_entries_are_plain_dicts_of_the_symbol():
    feed = SyntheticFeed(seed=3, overlap=1.0)
    entries = feed.fetch_open_interest("ETH/USDT", 200, now_s=0.0)
    assert len(entries) == 200
    assert set(entries[0]) == {"timestamp", "open_interest", "symbol"}
    assert entries[-1]["symbol"] == "ETH/USDT"


def _served(seed: int) -> int:
    feed = SyntheticFeed(seed=seed, overlap=0.0)
    for k in range(3):
        feed.fetch_ohlcv("BTC/USDT", "1m", 50, now_s=60.0 * k)
        feed.fetch_open_interest("BTC/USDT", 20, now_s=60.0 * k)
    return feed.served_crc32


def test_what_a_feed_served_is_the_same_for_the_same_seed_and_differs_for_another():
    assert _served(7) == _served(7) != 0
    assert _served(8) != _served(7)


def test_each_candle_is_stamped_as_a_client_parsing_epoch_seconds_with_pandas_stamps_it():
    feed = SyntheticFeed(seed=3, overlap=1.0)
    for timeframe, period_s in TIMEFRAME_S.items():
        frame = feed.fetch_ohlcv("BTC", timeframe, 50, now_s=86_400.0)
        newest = (EPOCH_S + 86_400) // period_s  # the candle open at that moment, and 49 before it
        seconds = np.arange(newest - 49, newest + 1) * period_s
        expected = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True), name="timestamp")
        pd.testing.assert_index_equal(frame.index, expected, exact=True)
