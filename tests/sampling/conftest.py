import pytest

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
