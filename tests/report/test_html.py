"""html.py: one self-contained page per run, comparison or fleet, as a person reads it.

Debian's chromium, driven headless by selenium through its chromedriver, opens each page at
390 px (a phone) and 1280 px (a laptop): no element is wider than the viewport, the page does not
scroll sideways, and no table cell (nor anything that hides its overflow) is clipped. In the same
browser the verdicts show in the colour of the bare verdict (LEAK red, BOUNDED and INCONCLUSIVE
amber, STABLE green) and NOT PROVEN never in a pass's green. What a user or a target wrote (a
holder path, a series name in a `title=` attribute) reads back exactly as written through the
standard library's HTML parser.

In process, each page read back through that parser (tests/report/dom.py) as a person reads it:
the headline opening with the verdict label in the verdict's class, the growth table's cells
(rate and interval in MB/min, sizes in SI units, `limit hit` for `limit_hit`), the success
criteria with their status class, what measuring cost in its units, What grows (who holds it,
types, source lines), cleanups as a table and other events as a list, the run's facts with why it
ended, and a comparison's "removed" column and how each run was judged; a section the run has
nothing for is left out.
"""

import base64
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
from leakhunt.report.html import (
    headline_html,
    render_comparison_html,
    render_run_html,
    table,
    verdict_html,
)
from tests.helpers import fleet_series
from tests.report.dom import Element, parse, sections, table_text

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


# In process: each page's words, figures and classes, read through the parser (tests/report/dom.py).


def run_html(meta: dict | None = None, summary: dict | None = None, figures: list[Path] = ()) -> Element:
    return parse(
        render_run_html({"label": "r1", "command": "soak", **(meta or {})}, summary or {}, list(figures))
    )


def test_a_table_cell_carries_its_header_and_figures_are_never_broken():
    assert table(["run", "MB/min"], [["a&amp;b", "+1.5"]], num=(1,)) == (
        '<table><thead><tr><th>run</th><th class="num">MB/min</th></tr></thead><tbody>'
        '<tr><td data-label="run">a&amp;b</td><td class="num" data-label="MB/min">+1.5</td></tr>'
        "</tbody></table>"
    )
    assert table(['a"b'], []) == "<table><thead><tr><th>a&quot;b</th></tr></thead><tbody></tbody></table>"


def test_a_verdict_reads_its_short_words_in_a_cell_and_its_label_in_a_headline():
    leak = {"verdict": "LEAK", "verdict_short": "LEAK, slow", "verdict_label": "LEAK (slow: under the bound)"}
    assert verdict_html(leak) == '<span class="LEAK nw">LEAK, slow</span>'
    assert (
        verdict_html(leak, "LEAK (slow: under the bound)")
        == '<span class="LEAK">LEAK (slow: under the bound)</span>'
    )
    # A summary written before verdict labels: the bare verdict; anything unknown has no colour.
    assert verdict_html({"verdict": "STABLE"}) == '<span class="STABLE nw">STABLE</span>'
    assert verdict_html({}) == '<span class="unknown nw">?</span>'
    assert verdict_html({"verdict": "<b>"}) == '<span class="unknown nw">&lt;b&gt;</span>'


def test_a_headline_opens_with_its_verdict_label_in_the_verdicts_colour():
    summary = {
        "verdict": "BOUNDED",
        "verdict_label": "BOUNDED (sawtooth)",
        "headline": "BOUNDED (sawtooth): a<b",
    }
    assert headline_html(summary) == (
        '<p class="headline of-BOUNDED"><span class="BOUNDED">BOUNDED (sawtooth)</span>: a&lt;b</p>'
    )
    # The bare verdict stands for a missing label; a headline that does not open with it is all text.
    assert headline_html({"verdict": "STABLE", "headline": "STABLE: flat"}) == (
        '<p class="headline of-STABLE"><span class="STABLE">STABLE</span>: flat</p>'
    )
    assert headline_html({"verdict": "LEAK", "headline": "fixes off: LEAK"}) == (
        '<p class="headline of-LEAK">fixes off: LEAK</p>'
    )
    assert headline_html({"verdict": "odd", "headline": "odd words"}) == (
        '<p class="headline"><span class="unknown">odd</span> words</p>'
    )
    assert headline_html({"headline": "no verdict"}) == '<p class="headline">no verdict</p>'


def test_the_growth_row_reads_rate_interval_limit_sizes_and_how_the_run_ended():
    summary = {
        "verdict": "LEAK",
        "verdict_short": "LEAK, fast",
        "growth": growth(224.4),
        "to_limit": "reached at 25.0 min",
        "peak_rss_bytes": 6.01e9,
        "final_rss_bytes": 5.5e9,
        "exit_reason": "limit_hit",
    }
    page = run_html(summary=summary)
    (first, *_) = page.all("table")
    assert table_text(first) == [
        ["run", "verdict", "growth", "95 % CI", "time to limit", "peak RSS", "final RSS", "ended"],
        [
            "r1",
            "LEAK, fast",
            "+224 MB/min",
            "+224 MB/min … +225 MB/min",
            "reached at 25.0 min",
            "6.01 GB",
            "5.5 GB",
            "limit hit",
        ],
    ]
    # A run with nothing fitted yet: no rate, no sizes, nothing invented.
    (first, *_) = run_html(summary={"growth": {"slope_bytes_per_min": float("nan")}}).all("table")
    assert table_text(first)[1] == ["r1", "?", "n/a", "n/a … n/a", "", "0 B", "0 B", ""]
    assert [td.attrs.get("class") for td in first.all("td")] == [
        None,
        None,
        "num",
        None,
        "num",
        "num",
        "num",
        None,
    ]


def test_a_run_page_says_what_the_run_is_above_its_table_and_nothing_it_does_not_have():
    page = run_html(
        {"label": "caps<only>"},
        {
            "verdict": "STABLE",
            "headline": "STABLE: flat",
            "method": "m<1>",
            "thresholds": "Verdict thresholds: 50 MB/h",
        },
    )
    assert page.one("title").text == "leakhunt: caps<only>"
    assert page.one("h1").text == "leakhunt soak: caps<only>"
    headline = page.all("p")[0]
    assert headline.classes == {"headline", "of-STABLE"} and headline.text == "STABLE: flat"
    assert [p.text for p in page.all("small")] == ["m<1>", "Verdict thresholds: 50 MB/h"]
    assert sections(page) == ["Run"]
    bare = run_html({}, {})
    assert not [p for p in bare.all("p") if "headline" in p.classes] and bare.all("small") == []
    assert bare.one("title").text == "leakhunt: r1"
    assert parse(render_run_html({}, {}, [])).one("h1").text == "leakhunt : run"


def test_the_run_facts_say_command_host_start_fixes_seed_speed_and_exit():
    meta = {
        "command_line": "leakhunt soak --fixes caps",
        "host": "vm",
        "start_time": "2025-10-30T12:00:00",
        "fixes": ["caps", "oi_cap"],
        "seed": 7,
        "speed": "max",
        "exit_reason": "completed",
    }
    facts = table_text(run_html(meta).all("table")[-1])
    assert facts == [
        ["", ""],
        ["command", "leakhunt soak --fixes caps"],
        ["host", "vm"],
        ["started", "2025-10-30T12:00:00"],
        ["fixes", "caps, oi_cap"],
        ["seed", "7"],
        ["speed", "max"],
        ["exit", "completed"],
    ]
    assert table_text(run_html({}).all("table")[-1])[1:] == [
        ["command", ""],
        ["host", ""],
        ["started", ""],
        ["fixes", "none"],
        ["seed", ""],
        ["speed", ""],
        ["exit", ""],
    ]


@pytest.mark.parametrize(
    ("reason", "detail", "said"),
    [
        ("completed", None, "completed"),
        ("interrupted", {"text": ""}, "interrupted"),
        ("disk_full", "not a record", "disk_full"),
        (
            "disk_full",
            {"text": "disk_full: /srv/r/samples.csv refused"},
            "disk_full: /srv/r/samples.csv refused",
        ),
        ("cut_off", {"text": "last sample at 12.0 min"}, "cut_off: last sample at 12.0 min"),
    ],
)
def test_the_exit_says_why_with_what_the_run_recorded_once(reason, detail, said):
    facts = table_text(run_html({"exit_reason": reason, "exit_detail": detail}).all("table")[-1])
    assert facts[-1] == ["exit", said]


def test_criteria_read_their_status_in_its_colour_and_what_was_measured():
    criteria = [
        {"text": "swap==0", "status": "PASS", "passed": True, "detail": "max swap 0 B"},
        {"text": "rss<2GB@30m", "status": "NOT PROVEN", "passed": False, "detail": "run covers 5 min"},
        {"text": "cpu<40%", "passed": False, "detail": "cpu 55 %"},  # written before NOT PROVEN existed
        {"text": "growth<50MB/h", "passed": True, "detail": "0 MB/h"},
        {"text": "x", "status": "WEIRD", "passed": True, "detail": "?"},  # unknown: read as a failure
    ]
    page = run_html(summary={"criteria": criteria})
    assert sections(page) == ["Success criteria", "Run"]
    assert table_text(page.all("table")[1]) == [
        ["expect", "result", "measured"],
        ["swap==0", "PASS", "max swap 0 B"],
        ["rss<2GB@30m", "NOT PROVEN", "run covers 5 min"],
        ["cpu<40%", "FAIL", "cpu 55 %"],
        ["growth<50MB/h", "PASS", "0 MB/h"],
        ["x", "FAIL", "?"],
    ]
    assert [span.attrs["class"] for span in page.all("table")[1].all("span")] == [
        "pass nw",
        "unproven nw",
        "fail nw",
        "pass nw",
        "fail nw",
    ]


def test_what_measuring_cost_shows_each_figure_in_its_unit():
    cost = {
        "leakhunt_core_fraction": 0.0085,
        "leakhunt_cpu_s_per_sample": 449e-6,
        "sampler_cpu_s_per_read": 133e-6,
        "missed_samples": 1234,
        "sampler_cpu_fraction": 0.00012,
        "probe_fraction": 0.0123,
        "probe_s": 1.234,
        "bytes_per_sample": 45.4,
        "remote_cpu_s_per_sample": 0.00123,
    }
    page = run_html({"cost": cost})
    assert sections(page) == ["What measuring cost", "Run"]
    assert table_text(page.all("table")[1])[1:] == [
        ["leakhunt CPU while sampling (all threads)", "0.850% of a core"],
        ["leakhunt CPU per sample", "449 µs"],
        ["of which the read itself", "133 µs"],
        ["samples missed (gaps)", "1,234"],
        ["sampler CPU / run wall time", "0.012%"],
        ["probe pause / run wall time", "1.23% (1.23 s)"],
        ["bytes written per sample", "45"],
        ["remote sampling CPU per sample", "1.23 ms"],
    ]
    # Only what was measured: no missed samples is no row, and a zero is still a figure.
    some = {"sampler_cpu_s_per_read": 0.0, "missed_samples": 0}
    assert table_text(run_html({"cost": some}).all("table")[1])[1:] == [["of which the read itself", "0 µs"]]
    assert sections(run_html({"cost": {}})) == ["Run"]


ATTRIBUTION = {
    "statement": "Python objects explain 61% of the RSS growth.",
    "accumulation_points": [
        {
            "pattern": "m.cache[*]",
            "members": 4,
            "example": "m.cache['a<b']",
            "type": "list",
            "item_type": "pandas.DataFrame",
            "first_count": 1560,
            "last_count": 8060,
            "first_bytes": 325_000,
            "last_bytes": 1_680_000,
            "bytes_per_min": 324_000.0,
            "share_of_rss_growth": 0.494,
        },
        {
            "pattern": "m.log",
            "members": 1,
            "example": "m.log",
            "type": "dict",
            "first_count": 1,
            "last_count": 2,
            "first_bytes": 100,
            "last_bytes": 200,
            "bytes_per_min": -5.0,
        },
    ],
    "notes": ["RSS not explained by Python objects: 39 %."],
    "cost": {"pause_s_mean": 0.0021, "pause_s_max": 0.0048, "child_walk_s_mean": 0.25},
    "types": [
        {
            "name": "pandas.core.frame.DataFrame",
            "last_count": 4,
            "last_size_bytes": 1_680_000,
            "bytes_per_min": 324_000.0,
            "share_of_rss_growth": 0.49,
        },
        {"name": "dict", "bytes_per_min": None},
    ],
    "lines": [{"name": "app.py:12", "last_size_bytes": 2_000_000, "bytes_per_min": 1e6}, {"name": "b.py:1"}],
}


def test_what_grows_says_who_holds_it_the_types_and_the_lines_that_grow():
    page = run_html(summary={"attribution": ATTRIBUTION})
    assert sections(page) == ["What grows", "Run"]
    assert [p.text for p in page.all("p")[:3]] == [
        "Python objects explain 61% of the RSS growth.",
        "RSS not explained by Python objects: 39 %.",
        "Probes: service paused 2.1 ms per probe (max 4.8); each child walked 0.25 s.",
    ]
    assert page.one("h3").text == "Where it is held"
    held, types, lines = page.all("table")[1:4]
    assert table_text(held) == [
        ["accumulation point", "container", "items", "held", "growth", "share of RSS growth"],
        [
            "m.cache[*]\n4 like it, e.g. m.cache['a<b']",
            "list of pandas.DataFrame",
            "1,560 → 8,060",
            "325 kB → 1.68 MB",
            "+0.324 MB/min",
            "49%",
        ],
        ["m.log", "dict", "1 → 2", "100 B → 200 B", "-5e-06 MB/min", ""],
    ]
    assert [td.attrs.get("class") for td in held.all("tr")[1].all("td")] == [
        None,
        None,
        "num",
        "num",
        "num",
        "num",
    ]
    assert table_text(types) == [
        ["type", "count", "size", "growth", "share of RSS growth"],
        ["pandas.core.frame.DataFrame", "4", "1.68 MB", "+0.324 MB/min", "49%"],
        ["dict", "None", "0 B", "n/a", ""],
    ]
    assert table_text(lines) == [
        ["source line", "size", "growth"],
        ["app.py:12", "2 MB", "+1 MB/min"],
        ["b.py:1", "0 B", "n/a"],
    ]


def test_what_grows_leaves_out_what_it_does_not_have():
    assert sections(run_html(summary={"attribution": {}})) == ["Run"]
    page = run_html(summary={"attribution": {"notes": ["no probe ran: use --probe-every"]}})
    assert sections(page) == ["What grows", "Run"]
    assert [p.text for p in page.all("p")] == ["no probe ran: use --probe-every"]
    assert len(page.all("table")) == 2 and page.all("h3") == []


def test_cleanups_are_a_table_and_other_events_a_list():
    events = [
        {
            "kind": "cleanup",
            "t_sim_s": 615.0,
            "rss_before_bytes": 2.5e9,
            "rss_after_bytes": 1.2e9,
            "freed_bytes": 1.3e9,
            "gc_collected": 120,
            "ohlcv_trimmed": 40,
            "oi_trimmed": 3,
        },
        {"kind": "log", "text": "Memory cleanup <complete>"},
        {"kind": "restart"},
    ]
    page = run_html({"events": events})
    assert sections(page) == ["Cleanup runs", "Events", "Run"]
    assert table_text(page.all("table")[1]) == [
        ["at", "RSS before", "RSS after", "freed", "gc collected", "OHLCV trimmed", "OI trimmed"],
        ["10.2 min", "2.5 GB", "1.2 GB", "1.3 GB", "120", "40", "3"],
    ]
    assert all(td.classes == {"num"} for td in page.all("table")[1].all("td"))
    assert [li.text for li in page.all("li")] == ["Memory cleanup <complete>", "restart"]


def test_a_scenarios_assumptions_and_calibrated_values_are_said():
    scenario = {"assumptions": "pages overlap <never>", "calibrated": ["candle_bytes", "symbols"]}
    page = run_html({"scenario": scenario})
    assert sections(page) == ["Assumptions of this scenario", "Run"]
    assert [p.text for p in page.all("p")] == [
        "pages overlap <never>",
        "Calibrated values: candle_bytes, symbols",
    ]
    assert sections(run_html({"scenario": {"calibrated": ["x"]}})) == ["Run"]


def test_figures_are_inlined_as_png_named_by_their_file(tmp_path):
    path = figure(tmp_path / "memory<1>.png", width_px=200)
    (img,) = run_html(figures=[path]).all("img")
    assert img.attrs["alt"] == "memory<1>.png"
    assert img.attrs["src"] == "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def test_the_page_is_one_file_that_reads_at_any_width():
    text = render_run_html({"label": "r"}, {}, [])
    assert text.startswith(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>"
    )
    assert text.endswith("</body></html>\n")
    style = parse(text).one("style").text
    assert ".LEAK{color:#b00;font-weight:bold}.STABLE{color:#080;font-weight:bold}" in style
    assert "@media (max-width:640px)" in style


def comparison_entry(label: str, verdict: str, reduction: float | None, **more) -> dict:
    return {
        "label": label,
        "verdict": verdict,
        "verdict_short": verdict,
        "verdict_label": f"{verdict} (words)",
        "verdict_reason": "its interval is above the bound",
        "growth": growth(7.0),
        "to_limit": "~9 min",
        "peak_rss_bytes": 3.2e9,
        "final_rss_bytes": 3.1e9,
        "exit_reason": "completed",
        "reduction_percent": reduction,
        "run_dir": f"/srv/reports/{label}",
        **more,
    }


def test_a_comparison_page_has_each_variant_with_what_it_removes_and_how_it_was_judged():
    criteria = [{"text": "swap==0", "passed": False, "detail": "max swap 1 MB"}]
    runs = [
        comparison_entry("fixes-off", "LEAK", None, criteria=criteria),
        comparison_entry("caps-only", "STABLE", 95.6),
    ]
    page = parse(
        render_comparison_html(
            {"headline": "caps remove 96 % <of it>", "thresholds": "t<1>", "runs": runs}, []
        )
    )
    assert page.one("title").text == "leakhunt compare" and page.one("h1").text == "leakhunt compare"
    headline = page.all("p")[0]
    assert headline.classes == {"headline"} and headline.text == "caps remove 96 % <of it>"
    first = page.all("table")[0]
    assert table_text(first) == [
        ["run", "verdict", "removed", "growth", "95 % CI", "time to limit", "peak RSS", "final RSS", "ended"],
        [
            "fixes-off",
            "LEAK",
            "baseline",
            "+7 MB/min",
            "+6.96 MB/min … +7.61 MB/min",
            "~9 min",
            "3.2 GB",
            "3.1 GB",
            "completed",
        ],
        [
            "caps-only",
            "STABLE",
            "96 %",
            "+7 MB/min",
            "+6.96 MB/min … +7.61 MB/min",
            "~9 min",
            "3.2 GB",
            "3.1 GB",
            "completed",
        ],
    ]
    assert [td.attrs.get("class") for td in first.all("tr")[1].all("td")] == [
        None,
        None,
        "num",
        "num",
        None,
        "num",
        "num",
        "num",
        None,
    ]
    assert sections(page) == ["How each run was judged", "fixes-off", "Success criteria", "Runs"]
    assert [li.text for li in page.all("li")] == [
        "fixes-off: LEAK (words), its interval is above the bound. least squares through window medians",
        "caps-only: STABLE (words), its interval is above the bound. least squares through window medians",
    ]
    assert [p.text for p in page.all("p")[1:]] == [
        "t<1>",
        "Each run's own report.html sits in its directory: fixes-off, caps-only.",
    ]
    assert table_text(page.all("table")[1])[1] == ["swap==0", "FAIL", "max swap 1 MB"]
    # Without thresholds, reasons or methods: nothing in their place.
    bare = comparison_entry("a", "LEAK", None, verdict_reason=None, growth={})
    page = parse(render_comparison_html({"runs": [bare]}, []))
    assert [li.text for li in page.all("li")] == ["a: LEAK (words), . "]
    assert page.all("p")[0].text == "" and len(page.all("p")) == 2


def test_a_comparison_of_replicates_says_where_their_reports_are_and_how_to_draw_their_pictures():
    runs = [
        {**comparison_entry("fixes-off", "LEAK", None), "run_dirs": ["/c/baseline-r1", "/c/baseline-r2"]},
        {**comparison_entry("caps-only", "STABLE", 95.6), "run_dirs": ["/c/caps-only-r1", "/c/caps-only-r2"]},
    ]
    runs[0]["run_dir"], runs[1]["run_dir"] = "/c/baseline-r1", "/c/caps-only-r1"
    page = parse(render_comparison_html({"runs": runs}, []))
    assert page.all("p")[-1].text == (
        "Each run's own report.html sits in its directory: baseline-r1, caps-only-r1. The other "
        "replicates' reports have their figures and no pictures (their curves are in the bands "
        "above); leakhunt report DIR draws a replicate's."
    )
