"""Nonsense in, one clear line out: every command and every file type, table-driven.

Each case must end with a non-zero exit and exactly one line on stderr that names what is wrong;
never a traceback, an "internal error", or a run that quietly starts on nonsense. Options that
would start a run are bounded (`--minutes 1`, `--duration 2s`) so a case that slips through fails
by succeeding rather than by hanging.
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, leakhunt
from tests.helpers.processes import run

SMOKE = (REPO / "scenarios" / "smoke.toml").read_text()
SOAK = ("soak", "--scenario", "smoke", "--minutes", "1")
COMPARE = ("compare", "--baseline", "--scenario", "smoke", "--minutes", "1", "--repeat", "1")


def watch(*args: str) -> tuple[str, ...]:
    return ("watch", "--pid", str(os.getpid()), "--duration", "2s", "--interval", "1s", *args)


def toml(replace: str, by: str) -> Callable[[Path], tuple[str, ...]]:
    """A soak of the smoke scenario with one line of its TOML changed."""

    def build(tmp_path: Path) -> tuple[str, ...]:
        assert replace in SMOKE
        path = tmp_path / "bad.toml"
        path.write_text(SMOKE.replace(replace, by))
        return ("soak", "--scenario", str(path), "--minutes", "1")

    return build


def file_at(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def folder_at(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


CLEANUP = "cleanup_interval_s = 600"
NAN_REFERENCE = '[reference]\ngrowth = "nanMB/min"\nbaseline = "1GB"\n[candles_per_fetch]'

CASES: dict[str, tuple[tuple[str, ...] | Callable[[Path], tuple[str, ...]], str]] = {
    # The command line itself
    "unknown command": (("frobnicate",), "frobnicate"),
    "unknown option": ((*SOAK, "--nope"), "--nope"),
    # soak: numbers
    "minutes not a number": ((*SOAK[:3], "--minutes", "abc"), "--minutes"),
    "minutes nan": ((*SOAK[:3], "--minutes", "nan"), "--minutes"),
    "minutes inf": ((*SOAK[:3], "--minutes", "inf"), "--minutes"),
    "minutes -inf": ((*SOAK[:3], "--minutes", "-inf"), "--minutes"),
    "minutes 1e999": ((*SOAK[:3], "--minutes", "1e999"), "--minutes"),
    "search limit too small": ((*SOAK, "--search-limit", "10"), "--search-limit"),
    "search limit not a number": ((*SOAK, "--search-limit", "lots"), "--search-limit"),
    "minutes 0": ((*SOAK[:3], "--minutes", "0"), "--minutes must be positive"),
    "minutes negative": ((*SOAK[:3], "--minutes", "-5"), "--minutes must be positive"),
    "scale nan": ((*SOAK, "--scale", "nan"), "--scale"),
    "scale inf": ((*SOAK, "--scale", "inf"), "--scale"),
    "scale 0": ((*SOAK, "--scale", "0"), "--scale"),
    "scale negative": ((*SOAK, "--scale", "-1"), "--scale"),
    "speed nan": ((*SOAK, "--speed", "nan"), "--speed"),
    "speed inf": ((*SOAK, "--speed", "inf"), "--speed"),
    "speed 0": ((*SOAK, "--speed", "0"), "--speed"),
    "speed negative": ((*SOAK, "--speed", "-3"), "--speed"),
    "speed a word": ((*SOAK, "--speed", "fast"), "--speed"),
    "interval nan": ((*SOAK, "--interval", "nan"), "--interval"),
    "interval inf": ((*SOAK, "--interval", "inf"), "--interval"),
    "interval 1e999s": ((*SOAK, "--interval", "1e999s"), "--interval"),
    "interval 0": ((*SOAK, "--interval", "0"), "--interval"),
    "interval negative": ((*SOAK, "--interval", "-5s"), "--interval"),
    "interval unknown unit": ((*SOAK, "--interval", "5parsecs"), "--interval"),
    "interval longer than the run": ((*SOAK, "--interval", "2h"), "--interval"),
    "probe interval nan": ((*SOAK, "--probe-interval", "nan"), "--probe-interval"),
    "probe interval negative": ((*SOAK, "--probe-interval", "-1"), "--probe-interval"),
    "probe interval a word": ((*SOAK, "--probe-interval", "soon"), "--probe-interval"),
    "memory limit 0": ((*SOAK, "--memory-limit", "0"), "--memory-limit"),
    "memory limit 0GB": ((*SOAK, "--memory-limit", "0GB"), "--memory-limit"),
    "memory limit nan": ((*SOAK, "--memory-limit", "nan"), "--memory-limit"),
    "memory limit inf": ((*SOAK, "--memory-limit", "inf"), "--memory-limit"),
    "memory limit negative": ((*SOAK, "--memory-limit", "-5GB"), "--memory-limit"),
    "memory limit a word": ((*SOAK, "--memory-limit", "lots"), "--memory-limit"),
    "memory limit true": ((*SOAK, "--memory-limit", "true"), "--memory-limit"),
    "seed negative": ((*SOAK, "--seed", "-1"), "--seed"),
    "seed not a number": ((*SOAK, "--seed", "x"), "--seed"),
    "tracemalloc negative": ((*SOAK, "--tracemalloc", "-1"), "--tracemalloc"),
    "tracemalloc too deep": ((*SOAK, "--tracemalloc", "100000"), "--tracemalloc"),
    "unknown fix": ((*SOAK, "--fixes", "caps,gc"), "'gc'"),
    "unknown scenario": (("soak", "--scenario", "nope"), "'nope'"),
    "missing scenario file": (("soak", "--scenario", "missing.toml"), "missing.toml"),
    "out empty": ((*SOAK, "--out", ""), "--out"),
    "out blank": ((*SOAK, "--out", "  "), "--out"),
    "out under a file": (lambda tmp: (*SOAK, "--out", str(file_at(tmp, "f", b"") / "run")), "--out"),
    # --expect (the same grammar for every command)
    "expect doubled op": ((*SOAK, "--expect", "rss<<2GB"), "rss<<2GB"),
    "expect cpu nan": ((*SOAK, "--expect", "cpu<nan%"), "cpu<nan%"),
    "expect cpu inf": ((*SOAK, "--expect", "cpu<inf%"), "cpu<inf%"),
    "expect cpu negative": ((*SOAK, "--expect", "cpu<-5%"), "cpu<-5%"),
    "expect rss nan": ((*SOAK, "--expect", "rss<nanGB"), "rss<nanGB"),
    "expect rss 1e999": ((*SOAK, "--expect", "rss<1e999GB"), "rss<1e999GB"),
    "expect growth without time": ((*SOAK, "--expect", "growth<50MB"), "growth<50MB"),
    "expect growth per zero": ((*SOAK, "--expect", "growth<50MB/0s"), "growth<50MB/0s"),
    "expect growth per nan": ((*SOAK, "--expect", "growth<50MB/nan"), "growth<50MB/nan"),
    "expect uptime a word": ((*SOAK, "--expect", "uptime>forever"), "uptime>forever"),
    "expect restarts negative": ((*SOAK, "--expect", "restarts==-1"), "restarts==-1"),
    "expect unknown metric": ((*SOAK, "--expect", "disk<5GB"), "disk"),
    "expect @ on peak": ((*SOAK, "--expect", "peak<2GB@5m"), "peak<2GB@5m"),
    "expect @ nan": ((*SOAK, "--expect", "rss<2GB@nan"), "rss<2GB@nan"),
    # compare
    "compare nothing": (("compare",), "nothing to compare"),
    "compare jobs 0": ((*COMPARE, "--jobs", "0"), "--jobs"),
    "compare jobs negative": ((*COMPARE, "--jobs", "-2"), "--jobs"),
    "compare repeat 0": ((*COMPARE[:-2], "--repeat", "0"), "--repeat"),
    "compare ablation alone": (("compare", "--ablation"), "--ablation"),
    "compare minutes nan": ((*COMPARE, "--minutes", "nan"), "--minutes"),
    "compare scale inf": ((*COMPARE, "--scale", "inf"), "--scale"),
    "compare speed nan": ((*COMPARE, "--speed", "nan"), "--speed"),
    "compare baseline and runs": ((*COMPARE, "reports"), "either --baseline"),
    "compare missing runs": (("compare", "no/such/a", "no/such/b"), "no/such/a"),
    "compare out empty": ((*COMPARE, "--out", ""), "--out"),
    # watch
    "watch no target": (("watch", "--duration", "2s"), "--pid"),
    "watch two targets": (watch("--unit", "x.service"), "exactly one"),
    "watch no such pid": (("watch", "--pid", "999999999", "--duration", "2s"), "999999999"),
    "watch pid negative": (("watch", "--pid", "-5", "--duration", "2s"), "-5"),
    "watch interval nan": (watch("--interval", "nan"), "--interval"),
    "watch interval 0": (watch("--interval", "0"), "--interval"),
    "watch search limit without the agent": (watch("--search-limit", "50000"), "add --agent"),
    "watch search limit too small": (watch("--agent", "--search-limit", "10"), "--search-limit"),
    "watch duration nan": (("watch", "--pid", str(os.getpid()), "--duration", "nan"), "--duration"),
    "watch duration inf": (("watch", "--pid", str(os.getpid()), "--duration", "inf"), "--duration"),
    "watch duration 0": (("watch", "--pid", str(os.getpid()), "--duration", "0"), "--duration"),
    "watch duration 1e999s": (("watch", "--pid", str(os.getpid()), "--duration", "1e999s"), "--duration"),
    "watch memory limit 0": (watch("--memory-limit", "0"), "--memory-limit"),
    "watch memory limit nan": (watch("--memory-limit", "nan"), "--memory-limit"),
    "watch probe interval nan": (watch("--probe-interval", "nan"), "--probe-interval"),
    "watch bad regex": (("watch", "--match", "[", "--duration", "2s"), "["),
    "watch events alone": (watch("--events", "true"), "--event-match"),
    "watch event match alone": (watch("--event-match", "x"), "--events"),
    "watch agent over ssh": (("watch", "--host", "h", "--pid", "1", "--agent"), "--agent"),
    "watch ssh config without host": (watch("--ssh-config", "x"), "--host"),
    "watch bad expect": (watch("--expect", "rss<"), "rss<"),
    "watch missing agent socket": (watch("--agent-socket", "/nonexistent/a.sock"), "/nonexistent/a.sock"),
    "watch out empty": (watch("--out", ""), "--out"),
    # report
    "report missing dir": (("report", "no/such/run"), "no/such/run"),
    "report a file": (lambda tmp: ("report", str(file_at(tmp, "f", b"x"))), "not a directory"),
    "report an empty dir": (lambda tmp: ("report", str(tmp)), str(Path("meta.json"))),
    # scenario TOML files
    "toml binary": (
        lambda tmp: ("soak", "--scenario", str(file_at(tmp, "b.toml", bytes(range(256)))), "--minutes", "1"),
        "b.toml",
    ),
    "toml syntax": (toml("overlap = 0.0", "overlap = = 0"), "not valid TOML"),
    "toml scale inf": (toml("seed = 7", "seed = 7\nscale = inf"), "'scale'"),
    "toml scale nan": (toml("seed = 7", "seed = 7\nscale = nan"), "'scale'"),
    "toml scale 0": (toml("seed = 7", "seed = 7\nscale = 0"), "'scale'"),
    "toml overlap 2": (toml("overlap = 0.0", "overlap = 2.0"), "'overlap'"),
    "toml overlap nan": (toml("overlap = 0.0", "overlap = nan"), "'overlap'"),
    "toml overlap a string": (toml("overlap = 0.0", 'overlap = "x"'), "'overlap'"),
    "toml memory limit 0": (toml('memory_limit = "2GB"', "memory_limit = 0"), "'memory_limit'"),
    "toml memory limit true": (toml('memory_limit = "2GB"', "memory_limit = true"), "'memory_limit'"),
    "toml memory limit negative": (toml('memory_limit = "2GB"', "memory_limit = -5"), "'memory_limit'"),
    "toml memory limit inf": (toml('memory_limit = "2GB"', "memory_limit = inf"), "'memory_limit'"),
    "toml cleanup nan": (toml(CLEANUP, "cleanup_interval_s = nan"), "'cleanup_interval_s'"),
    "toml cleanup inf": (toml(CLEANUP, "cleanup_interval_s = inf"), "'cleanup_interval_s'"),
    "toml cleanup 0": (toml(CLEANUP, "cleanup_interval_s = 0"), "'cleanup_interval_s'"),
    "toml cleanup true": (toml(CLEANUP, "cleanup_interval_s = true"), "'cleanup_interval_s'"),
    "toml fetches inf": (toml("fetches_per_15min = 90", "fetches_per_15min = inf"), "'fetches_per_15min'"),
    "toml fetches 0": (toml("fetches_per_15min = 90", "fetches_per_15min = 0"), "'fetches_per_15min'"),
    "toml symbols 0": (toml("symbols = 2", "symbols = 0"), "'symbols'"),
    "toml seed negative": (toml("seed = 7", "seed = -1"), "'seed'"),
    "toml seed a float": (toml("seed = 7", "seed = 7.5"), "'seed'"),
    "toml unknown key": (toml("seed = 7", "seed = 7\nsede = 8"), "'sede'"),
    "toml candles 0": (toml("1m = 200", "1m = 0"), "candles_per_fetch.1m"),
    "toml candles bad timeframe": (toml("1m = 200", "7m = 200"), "candles_per_fetch.7m"),
    "toml unknown fix": (toml("fixes = []", 'fixes = ["gc"]'), "'gc'"),
    "toml reference growth nan": (toml("[candles_per_fetch]", NAN_REFERENCE), "'reference.growth'"),
    "toml a directory": (lambda tmp: ("soak", "--scenario", str(folder_at(tmp, "d.toml"))), "is a directory"),
}


@pytest.mark.parametrize("case", CASES)
def test_nonsense_gets_one_clear_line_and_a_usage_exit(case, tmp_path):
    args, words = CASES[case]
    result = leakhunt(*(args(tmp_path) if callable(args) else args), cwd=tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, f"rc={result.returncode}\n{result.stderr}"
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "internal error" not in lines[0]
    assert words in lines[0], lines[0]


def test_there_are_at_least_90_cases():
    assert len(CASES) >= 90


@pytest.mark.parametrize(
    ("args", "words"),
    [([], "usage: python -m leakhunt.agent"), (["--", "no/such.py"], "no such script"), (["-m"], "usage")],
)
def test_the_agent_refuses_nonsense_in_one_line(args, words):
    result = run([sys.executable, "-m", "leakhunt.agent", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr
