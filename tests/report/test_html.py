"""html.py: one self-contained page per run, comparison or fleet, as a person reads it.

Debian's chromium, driven headless by selenium through its chromedriver, opens each page at
390 px (a phone) and 1280 px (a laptop): no element is wider than the viewport, the page does not
scroll sideways, and no table cell (nor anything that hides its overflow) is clipped. In the same
browser the verdicts show in the colour of the bare verdict (LEAK red, BOUNDED and INCONCLUSIVE
amber, STABLE green) and NOT PROVEN never in a pass's green. What a user or a target wrote (a
holder path, a series name in a `title=` attribute) reads back exactly as written through the
standard library's HTML parser.
"""

import colorsys
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from leakhunt.analysis.criteria import parse_expect
from leakhunt.fleet.analyse import FleetOptions, analyse_series, rank
from leakhunt.fleet.prometheus import Series, Window
from leakhunt.fleet.run import summarize
from leakhunt.report.fleet import write_fleet_report
from leakhunt.report.html import render_comparison_html, render_run_html
from tests.helpers import fleet_series

matplotlib.use("Agg")

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTHS_PX = (390, 1280)
REPO = Path(__file__).resolve().parents[2]
HOLDER = "app.run:manager.data_cache[*]['<script>alert(1)</script>&amp;'][*]"
HOSTILE_LABEL = 'a"b<i>c</i>&d'


def need_chromium() -> None:
    """Skip only where chromium is absent and apt cannot install it; where it can, `make
    system-deps` (part of `make test`) installs it, and a missing one is a failure."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if shutil.which("apt-cache"):
        policy = subprocess.run(
            ["apt-cache", "policy", "chromium", "chromium-driver"], capture_output=True, text=True
        ).stdout
        candidates = re.findall(r"Candidate: (\S+)", policy)
        if len(candidates) == 2 and "(none)" not in candidates:
            pytest.fail(
                "chromium is missing: run `make system-deps` (it installs chromium and chromium-driver)"
            )
    pytest.skip("chromium and chromium-driver are not installed, and apt has no candidate for them here")


@pytest.fixture(scope="module")
def browser():
    need_chromium()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.add_argument("--force-device-scale-factor=1")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_at(browser, page: Path, width_px: int) -> None:
    """The page in a viewport exactly `width_px` wide (the window's frame taken off)."""
    browser.set_window_size(width_px, 900)
    browser.get(page.resolve().as_uri())
    frame_px = width_px - browser.execute_script("return window.innerWidth")
    if frame_px:
        browser.set_window_size(width_px + frame_px, 900)
    assert browser.execute_script("return window.innerWidth") == width_px


LAYOUT_PROBLEMS = """
const width = window.innerWidth, problems = [];
const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "'
    + (el.textContent || '').trim().slice(0, 40) + '"';
if (document.documentElement.scrollWidth > width)
    problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && (box.left < -0.5 || box.right > width + 0.5))
        problems.push(name(el) + ' spans ' + Math.round(box.left) + '..' + Math.round(box.right) + ' px');
    const hides = getComputedStyle(el).overflowX !== 'visible';
    if ((hides || el.matches('td, th')) && el.scrollWidth > el.clientWidth + 1)
        problems.push(name(el) + ' clipped: ' + el.scrollWidth + ' > ' + el.clientWidth + ' px');
}
return problems.slice(0, 12);
"""


def figure(path: Path, width_px: int = 1100) -> Path:
    """A real matplotlib PNG, wider than a phone."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_px / 100, 4), dpi=100)
    ax.plot(np.arange(100), np.arange(100) ** 1.1, label="RSS")
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
    return path


def growth(slope_mb_per_min: float) -> dict:
    slope = slope_mb_per_min * 1e6
    return {
        "slope_bytes_per_min": slope,
        "ci_low_bytes_per_min": slope - 36_600.0,
        "ci_high_bytes_per_min": slope + 612_000.0,
        "method": "least squares through window medians",
    }


CRITERIA = [
    {"text": "swap==0", "status": "PASS", "passed": True, "detail": "max swap 0 B"},
    {
        "text": "growth<50MB/h",
        "status": "FAIL",
        "passed": False,
        "detail": "growth 224 MB/min is not < 50 MB/h",
    },
    {
        "text": "rss<2GB@30m",
        "status": "NOT PROVEN",
        "passed": False,
        "detail": "rss at 30 min not reached: the run covers 5 min; run for at least 30 min",
    },
]


def run_page(tmp_path: Path) -> Path:
    """A run with everything long a real one can have: label, holder paths, command line."""
    label = "incident-2025-10-30-caps+cleanup+oi_cap-r1"
    summary = {
        "verdict": "LEAK",
        "verdict_short": "LEAK, slow",
        "verdict_label": "LEAK (slow: under the 50 MB/h bound)",
        "headline": "LEAK (slow: under the 50 MB/h bound): RSS grows 0.657 MB/min (95 % CI 0.0366 MB/min to "
        "1.28 MB/min): it does grow.",
        "growth": growth(0.657),
        "to_limit": "reached at 152.0 min",
        "peak_rss_bytes": 2.01e9,
        "final_rss_bytes": 2.0e9,
        "exit_reason": "connection_lost",
        "criteria": CRITERIA,
        "method": "least squares",
        "thresholds": "Verdict thresholds: ...",
        "attribution": {
            "statement": f"Python objects explain 61% of the RSS growth. Held by {HOLDER} (+0.324 MB/min).",
            "accumulation_points": [
                {
                    "pattern": HOLDER,
                    "members": 4,
                    "example": HOLDER.replace("[*]", "['BTC/USDT']"),
                    "type": "list",
                    "item_type": "pandas.DataFrame",
                    "first_count": 1560,
                    "last_count": 8060,
                    "first_bytes": 325_000,
                    "last_bytes": 1_680_000,
                    "bytes_per_min": 324_000.0,
                    "share_of_rss_growth": 0.49,
                }
            ],
            "types": [
                {
                    "name": "pandas.core.frame.DataFrame",
                    "last_count": 4,
                    "last_size_bytes": 1_680_000,
                    "bytes_per_min": 324_000.0,
                    "share_of_rss_growth": 0.49,
                }
            ],
            "notes": [],
        },
    }
    meta = {
        "label": label,
        "command": "soak",
        "command_line": "/home/someone/projects/leakhunt/.venv/bin/leakhunt soak --scenario "
        "/home/someone/projects/leakhunt/scenarios/incident-2025-10-30-with-a-long-name.toml --out "
        "/home/someone/projects/leakhunt/reports/20251030T120000Z-soak-incident-2025-10-30",
        "host": "vm",
        "start_time": "2025-10-30T12:00:00+00:00",
        "fixes": ["caps", "cleanup", "oi_cap"],
        "seed": 7,
        "speed": "max",
        "exit_reason": "connection_lost",
        "exit_detail": {"text": "no answer from vps for 3 intervals (15 s); reconnecting failed"},
        "cost": {
            "leakhunt_core_fraction": 0.0085,
            "leakhunt_cpu_s_per_sample": 449e-6,
            "sampler_cpu_s_per_read": 133e-6,
            "bytes_per_sample": 45,
        },
    }
    path = tmp_path / "run.html"
    path.write_text(render_run_html(meta, summary, [figure(tmp_path / "memory.png")]))
    return path


VERDICTS = {
    "LEAK": ("LEAK, fast", "red"),
    "BOUNDED": ("BOUNDED", "amber"),
    "INCONCLUSIVE": ("INCONCLUSIVE", "amber"),
    "STABLE": ("STABLE", "green"),
}


def comparison_page(tmp_path: Path) -> Path:
    runs = []
    for k, (verdict, (short, _)) in enumerate(VERDICTS.items()):
        runs.append(
            {
                "label": f"incident-2025-10-30-{verdict.lower()}-variant-with-a-long-label-r{k}",
                "verdict": verdict,
                "verdict_short": short,
                "verdict_label": f"{short} (words)",
                "verdict_reason": "grows",
                "growth": growth(224.4 - 50 * k),
                "to_limit": "not approaching",
                "peak_rss_bytes": 3.2e9,
                "final_rss_bytes": 3.1e9,
                "exit_reason": "completed",
                "reduction_percent": None if k == 0 else 96.0,
                "criteria": CRITERIA,
                "run_dir": f"/srv/reports/20251030T120000Z-soak-incident-2025-10-30-r{k}",
            }
        )
    comparison = {"headline": "fixes off: 224 MB/min (LEAK, fast); " * 4, "thresholds": "t", "runs": runs}
    path = tmp_path / "comparison.html"
    path.write_text(render_comparison_html(comparison, [figure(tmp_path / "comparison.png", 1400)]))
    return path


def fleet_page(tmp_path: Path) -> Path:
    """A real fleet report: series of known shapes judged by fleet/analyse.py, with long labels."""
    end_s = 1_800_000_000.0
    t_s = fleet_series.grid(end_s)
    shapes = [fleet_series.leak(t_s, rate, seed) for seed, rate in enumerate((10e6, 0.7e6))]
    shapes += [fleet_series.sawtooth(t_s), fleet_series.step(t_s), fleet_series.restart(t_s)]
    series = [
        Series(
            {
                "__name__": "process_resident_memory_bytes",
                "instance": f"127.0.0.1:1870{k}",
                "job": "api-gateway-production",
                "pod": f"api-gateway-7d9f8c6b5-x{k}q2z",
                "note": HOSTILE_LABEL,
            },
            t_s,
            values,
        )
        for k, values in enumerate(shapes)
    ]
    options = FleetOptions(
        window=Window(float(t_s[0]), end_s, fleet_series.STEP_S),
        limit_bytes=2e9,
        criteria=(parse_expect("growth<50MB/h"), parse_expect("rss<1GB@30h")),
    )
    results = rank([analyse_series(one, options) for one in series])
    summary = summarize(
        results, "process_resident_memory_bytes", options, "http://127.0.0.1:9090", None, None
    )
    return write_fleet_report(summary, results, tmp_path)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pages")
    soak_dir = root / "soak"
    # A real soak's report too, as the CLI writes it (criteria: one passes, one cannot be proven).
    command = [
        sys.executable,
        "-m",
        "leakhunt",
        "soak",
        "--scenario",
        "smoke",
        "--minutes",
        "3",
        "--expect",
        "swap==0",
        "--expect",
        "rss<1GB@30m",
        "--out",
        str(soak_dir),
    ]
    subprocess.run(command, cwd=REPO, capture_output=True, timeout=600, check=False)
    assert (soak_dir / "report.html").exists()
    (root / "fleet").mkdir()
    return {
        "soak": soak_dir / "report.html",
        "run": run_page(root),
        "comparison": comparison_page(root),
        "fleet": fleet_page(root / "fleet"),
    }


@pytest.mark.parametrize("width_px", WIDTHS_PX)
@pytest.mark.parametrize("name", ["soak", "run", "comparison", "fleet"])
def test_no_element_is_wider_than_the_viewport_and_no_cell_is_clipped(browser, pages, name, width_px):
    open_at(browser, pages[name], width_px)
    assert browser.execute_script(LAYOUT_PROBLEMS) == []
    # Every table is there to read, its figures whole: none is scrolled out of sight.
    assert browser.execute_script("return document.querySelectorAll('td').length") > 5


def hue_of(css_colour: str) -> str:
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])
    hue, saturation, _ = colorsys.rgb_to_hsv(red, green, blue)
    degrees = hue * 360
    if saturation < 0.5:
        return "grey"
    if degrees < 15 or degrees > 345:
        return "red"
    if 20 <= degrees <= 60:
        return "amber"
    return "green" if 90 <= degrees <= 150 else f"{degrees:.0f}°"


def colours_of(browser, text: str) -> set[str]:
    """The hues of the innermost elements whose whole text is `text`."""
    found = browser.execute_script(
        """return [...document.body.querySelectorAll('span, b, td')]
            .filter(el => el.textContent.trim() === arguments[0] && el.children.length === 0)
            .map(el => getComputedStyle(el).color);""",
        text,
    )
    assert found, f"{text!r} is not on the page"
    return {hue_of(colour) for colour in found}


@pytest.mark.parametrize("width_px", WIDTHS_PX)
def test_verdicts_and_statuses_show_in_their_colours(browser, pages, width_px):
    open_at(browser, pages["comparison"], width_px)
    for short, colour in VERDICTS.values():
        assert colours_of(browser, short) == {colour}, short
    assert colours_of(browser, "PASS") == {"green"}
    assert colours_of(browser, "FAIL") == {"red"}
    assert colours_of(browser, "NOT PROVEN") == {"amber"}  # a criterion that could not be proven
    open_at(browser, pages["fleet"], width_px)
    assert colours_of(browser, "LEAK, fast") == {"red"} and colours_of(browser, "STABLE") == {"green"}
    assert colours_of(browser, "NOT PROVEN") == {"amber"}


class Parsed(HTMLParser):
    """Every start tag with its attributes, and the text inside each `code` element."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.code: list[str] = []
        self._in_code = 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "code":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_code -= 1

    def handle_data(self, data):
        if self._in_code:
            self.code[-1] += data


def test_a_holder_path_reads_back_as_written_and_adds_no_element(pages):
    parsed = Parsed(pages["run"].read_text())
    assert HOLDER in parsed.code and HOLDER.replace("[*]", "['BTC/USDT']") in parsed.code
    assert "script" not in {tag for tag, _ in parsed.tags}


def test_the_run_table_says_why_the_run_ended_with_what_the_run_recorded_about_it(pages):
    said = "connection_lost: no answer from vps for 3 intervals (15 s); reconnecting failed"
    assert f'<td data-label="">exit</td><td data-label="">{said}</td>' in pages["run"].read_text()


def test_a_series_name_in_a_title_attribute_reads_back_as_written(pages):
    parsed = Parsed(pages["fleet"].read_text())
    titles = [attrs["title"] for tag, attrs in parsed.tags if tag == "span" and "title" in attrs]
    assert len(titles) == 5
    assert all(f'note="{HOSTILE_LABEL}"' in title for title in titles), titles
    assert "i" not in {tag for tag, _ in parsed.tags}  # the label's <i> stayed text


def test_pages_fetch_nothing_from_outside(pages):
    for page in pages.values():
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page.read_text())
