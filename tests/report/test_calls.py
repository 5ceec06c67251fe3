"""calls.py: the directory the pytest plugin writes for a test whose calls leak: samples.csv (one
row a call), memory.png (RSS against calls, the fit over the calls after the warm-up in the
status's colour) and a self-contained report.html with the verdict's words and the picture."""

import base64
import csv

import numpy as np
import pytest
from matplotlib import image

from leakhunt.analysis.per_call import judge_calls, parse_budget
from leakhunt.report.calls import write_calls_report
from tests.report.dom import parse


def verdict(rss_bytes: list[int], budget: str = "<1kB/call"):
    calls = len(rss_bytes)
    return judge_calls(rss_bytes, list(range(calls)), [1000] * calls, [], parse_budget(budget))


def leaking(calls: int = 40, per_call_bytes: int = 100_000) -> list[int]:
    noise = np.random.default_rng(3).integers(0, 4096, calls)
    return [int(50e6 + k * per_call_bytes + n) for k, n in enumerate(noise)]


@pytest.fixture
def written(tmp_path):
    """Drawn for each test (a third of a second): mutmut credits a fixture's calls to the first
    test that used it only, and each of these checks a different part of what was written."""
    rss = leaking()
    judged = verdict(rss)
    out = write_calls_report(tmp_path / "a" / "b", "test_cache<fill>", rss, list(range(40)), judged)
    return out, rss, judged


def test_every_call_is_a_row_of_samples_csv(written):
    out, rss, _ = written
    with (out / "samples.csv").open() as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["call", "rss_bytes", "allocated_blocks"]
    assert rows[1:] == [[str(k), str(value), str(k)] for k, value in enumerate(rss)]


def test_the_page_says_the_verdicts_words_escaped_with_the_picture_inlined(written):
    out, _, judged = written
    assert judged.status == "FAIL"
    text = (out / "report.html").read_text()
    page = parse(text)
    assert (
        page.one("title").text == "leakhunt: test_cache<fill>" and page.one("h1").text == "test_cache<fill>"
    )
    assert page.one("pre").text == "\n".join(judged.lines) and judged.lines[0].startswith(
        "leakhunt: FAIL growth"
    )
    img = page.one("img")
    assert img.attrs["alt"] == "RSS against calls"
    assert (
        img.attrs["src"]
        == "data:image/png;base64," + base64.b64encode((out / "memory.png").read_bytes()).decode()
    )
    assert text.endswith("</body></html>\n")


def test_the_picture_draws_rss_and_the_fit_in_the_statuss_colour(written):
    out, _, _ = written
    picture = image.imread(out / "memory.png")[..., :3]
    assert picture.shape[:2] == (450, 800)
    red = (np.abs(picture - np.array([0xD6, 0x27, 0x28]) / 255).max(axis=2) < 0.08).mean()
    blue = (np.abs(picture - np.array([0x1F, 0x77, 0xB4]) / 255).max(axis=2) < 0.08).mean()
    assert red > 0.001 and blue > 0.0005


def test_a_passing_test_is_drawn_in_green_and_one_call_still_draws(tmp_path):
    flat = [50_000_000] * 30
    judged = verdict(flat, "<1MB/call")
    assert judged.status == "PASS"
    out = write_calls_report(tmp_path / "flat", "flat", flat, [0] * 30, judged)
    picture = image.imread(out / "memory.png")[..., :3]
    assert (np.abs(picture - np.array([0x2C, 0xA0, 0x2C]) / 255).max(axis=2) < 0.08).mean() > 0.001
    one = write_calls_report(tmp_path / "one", "one", [1], [0], verdict([1, 1]))
    assert sorted(p.name for p in one.iterdir()) == ["memory.png", "report.html", "samples.csv"]
