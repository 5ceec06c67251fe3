import threading

import pytest

from leakhunt.sampling.sample import Sample
from tests.sampling.sshd import start_sshd


@pytest.fixture(scope="module")
def sshd():
    server = start_sshd()
    yield server
    server.stop()


@pytest.fixture
def trusted_sshd(sshd):
    sshd.trust()
    return sshd


def collect(source, n_samples: int, interval_s: float = 0.1, on_sample=None) -> list:
    """Items until `n_samples` samples were seen; `on_sample(k)` may act after the k-th."""
    stop, items, seen = threading.Event(), [], 0
    for item in source.stream(interval_s, stop):
        items.append(item)
        if isinstance(item, Sample):
            seen += 1
            if on_sample is not None:
                on_sample(seen)
            if seen >= n_samples:
                stop.set()
    source.close()
    return items
