"""The names a scenario may use: timeframes and fixes.

Kept apart from feed.py and market.py, which load pandas, so that a scenario (and the command
line naming one) is checked in milliseconds, before any heavy import.
"""

TIMEFRAME_S: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}
FIXES: tuple[str, ...] = ("caps", "oi_cap", "cleanup")
