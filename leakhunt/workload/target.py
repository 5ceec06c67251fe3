"""Entry point of the child process that runs a scenario: `python -m leakhunt.workload.target CONFIG`.

CONFIG is JSON: {"scenario": Scenario.to_dict(), "duration_s", "interval_s", "probe_interval_s",
"speed", "tracemalloc_frames", "malloc_trim", "probe_in_flight" (snapshot children walking at
once, default 1)}. The child talks to its parent over stdin/stdout, one JSON object a line.
At every sample point it writes {"op": "sample", "t_sim_s"} and blocks until the parent answers
a line: the parent reads RSS from outside while the model stands still, so samples line up
with simulated time exactly at any speed. The cleanup task is bracketed by two such barriers so
its RSS before and after are read from outside too. The probe forks a snapshot child at its own
cadence (after the RSS read) and the model runs on while the child counts; each summary is sent
as {"op": "summary", ...} when its child is done, stamped with the simulated time of its fork.
"""

import contextlib
import heapq
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from leakhunt.workload.clock import SimClock
from leakhunt.workload.feed import SyntheticFeed
from leakhunt.workload.market import MarketDataManager
from leakhunt.workload.scenario import Scenario

# Ordering of simultaneous events: the work of a moment happens before it is measured,
# and the expensive probe comes after the RSS read.
FETCH, CLEANUP, SAMPLE, PROBE = range(4)


def _ticks(interval_s: float | None, duration_s: float, kind: int) -> Iterator[tuple[float, int, int]]:
    if not interval_s:
        return
    for k in range(math.floor(duration_s / interval_s + 1e-9) + 1):
        yield (k * interval_s, kind, k)


def schedule(
    *,
    duration_s: float,
    fetch_interval_s: float,
    sample_interval_s: float,
    cleanup_interval_s: float | None,
    probe_interval_s: float | None,
) -> Iterator[tuple[float, int, int]]:
    """(t_sim_s, kind, k) in time order; times are k * interval, so they never drift.

    No probe at 0 s: the growth is fitted after a warm-up (analysis/growth.py), and a heap counted
    before the first fetch would be a walk no rate uses."""
    cleanups = (e for e in _ticks(cleanup_interval_s, duration_s, CLEANUP) if e[0] > 0)
    probes = (e for e in _ticks(probe_interval_s, duration_s, PROBE) if e[0] > 0)
    return heapq.merge(
        _ticks(fetch_interval_s, duration_s, FETCH),
        cleanups,
        _ticks(sample_interval_s, duration_s, SAMPLE),
        probes,
    )


class Channel:
    """The child's end of the barrier protocol."""

    def __init__(self, reader: IO[str], writer: IO[str]) -> None:
        self._reader, self._writer = reader, writer

    def send(self, message: dict[str, Any]) -> None:
        self._writer.write(json.dumps(message, default=str) + "\n")
        self._writer.flush()

    def send_line(self, line: bytes) -> None:
        """A summary line from the probe, forwarded as it came (a summary is never parsed here)."""
        self._writer.write('{"op": "summary", ' + line.decode()[1:])
        self._writer.flush()

    def barrier(self, message: dict[str, Any]) -> None:
        self.send(message)
        if not self._reader.readline():
            raise SystemExit(0)  # the parent is gone: nobody is measuring any more


def run(config: dict[str, Any], channel: Channel) -> MarketDataManager:
    scenario = Scenario.from_dict(config["scenario"])
    probe = None
    if config.get("probe_interval_s"):
        from leakhunt.sampling.probe import Probe  # the probe hook: loaded only when asked for

        limit = config.get("search_limit")
        probe = Probe(
            tracemalloc_frames=config.get("tracemalloc_frames", 0),
            in_flight=config.get("probe_in_flight", 1),
            **({"max_visited": limit} if limit else {}),
        )
    feed = SyntheticFeed(
        seed=scenario.seed,
        overlap=scenario.overlap,
        payload_columns=scenario.payload_columns,
        scale=scenario.scale,
    )
    manager = MarketDataManager(
        feed,
        candles_per_fetch=dict(scenario.candles_per_fetch),
        oi_entries_per_request=scenario.oi_entries_per_request,
        fixes=scenario.fixes,
    )
    clock = SimClock(config.get("speed"))
    channel.send({"op": "ready", "pid": os.getpid()})
    events = schedule(
        duration_s=config["duration_s"],
        fetch_interval_s=scenario.fetch_interval_s,
        sample_interval_s=config["interval_s"],
        cleanup_interval_s=scenario.cleanup_interval_s if "cleanup" in scenario.fixes else None,
        probe_interval_s=config.get("probe_interval_s"),
    )
    for t_sim_s, kind, k in events:
        clock.wait_until(t_sim_s)
        if kind == FETCH:
            manager.fetch(scenario.symbols[k % len(scenario.symbols)], t_sim_s)
        elif kind == CLEANUP:
            channel.barrier({"op": "cleanup_begin", "t_sim_s": t_sim_s})
            started = time.perf_counter()
            result = manager.cleanup(malloc_trim=config.get("malloc_trim", False))
            channel.barrier(
                {
                    "op": "cleanup_end",
                    "t_sim_s": t_sim_s,
                    "duration_s": time.perf_counter() - started,
                    "ohlcv_trimmed": result.ohlcv_trimmed,
                    "oi_trimmed": result.oi_trimmed,
                    "gc_collected": result.gc_collected,
                    "malloc_trimmed": result.malloc_trimmed,
                }
            )
        elif kind == SAMPLE:
            channel.barrier({"op": "sample", "t_sim_s": t_sim_s})
        elif probe is not None:
            probe.start(t_sim_s=t_sim_s, t_wall_s=clock.wall_elapsed_s())
        if probe is not None:
            for line in probe.ready():
                channel.send_line(line)
    for line in probe.finish() if probe is not None else ():
        channel.send_line(line)
    channel.send(
        {
            "op": "done",
            "fetches": manager.fetches,
            "candles": manager.candle_counts(),
            "oi_entries": manager.oi_counts(),
            "feed_crc32": feed.served_crc32,
        }
    )
    return manager


def main(config: dict[str, Any] | None = None) -> None:
    """Run CONFIG: the JSON of the first argument, or `config` in a target forked by
    workload/server.py."""
    config = config if config is not None else json.loads(sys.argv[1])
    # The protocol owns the real stdout; anything else the model prints goes to stderr.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    # The parent stopping the run ends it here; the parent already holds every sample.
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        run(config, Channel(sys.stdin, protocol_out))


if __name__ == "__main__":
    main()
