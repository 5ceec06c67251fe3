"""Real children scraped live every second (this file runs last, while the others use the time):
the leak's rate is recovered, the sawtooth and the flat one are not LEAK."""

import time

import pytest

from leakhunt.analysis.verdict import Verdict
from leakhunt.fleet.analyse import FleetOptions
from leakhunt.fleet.prometheus import PrometheusClient, aligned_window
from leakhunt.fleet.run import run_fleet
from tests.fleet.conftest import LIVE_LEAK_BYTES_PER_S

LIVE_POINTS = 75


@pytest.mark.slow  # it waits for 76 scrapes a second apart: left out of mutation runs
def test_live_children_leak_at_their_rate_and_the_others_do_not(fleet_server):
    query = 'process_resident_memory_bytes{job="live"}'
    # Each child says "scraped" at every scrape; a target's scrapes follow one another, so once a
    # child has been scraped LIVE_POINTS + 1 times, LIVE_POINTS of its samples are stored.
    for child in fleet_server.children.values():
        for _ in range(LIVE_POINTS + 1):
            assert child.stdout.readline().strip() == "scraped"
    assert fleet_server.count_points(query) >= LIVE_POINTS and len(_modes(fleet_server, query)) == 3
    end_s = time.time()
    options = FleetOptions(window=aligned_window(end_s - LIVE_POINTS, end_s, 1.0))
    with PrometheusClient(fleet_server.url) as client:
        fleet = run_fleet(client, query, options)
    by_mode = {r.labels["mode"]: r for r in fleet.results}
    leak = by_mode["leak"]
    assert leak.verdict == Verdict.LEAK
    expected = LIVE_LEAK_BYTES_PER_S * 60
    assert abs(leak.growth.slope_bytes_per_min - expected) / expected < 0.03
    assert by_mode["flat"].verdict == Verdict.STABLE
    assert by_mode["sawtooth"].verdict != Verdict.LEAK
    assert by_mode["sawtooth"].growth.shape == "sawtooth"


def _modes(server, query):
    import httpx

    result = httpx.get(f"{server.url}/api/v1/query", params={"query": query}).json()["data"]["result"]
    return {r["metric"]["mode"] for r in result}
