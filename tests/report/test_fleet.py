"""How a fleet is named and drawn: labels that tell series apart, rates, small curves; the
terminal's table and what it says under it (the failed criteria, at most twenty series; the
series with gaps, at most five); the HTML report's method, rows and judgements, and worst.png
drawing the worst four and up to four more that predict_linear and leakhunt disagree on."""

import io
import itertools

import numpy as np
import pytest
from rich.console import Console

from leakhunt.analysis.criteria import parse_expect
from leakhunt.fleet.analyse import FleetOptions, analyse_series, rank
from leakhunt.fleet.prometheus import Series, Window
from leakhunt.fleet.run import summarize
from leakhunt.report.fleet import (
    SPARK_SCALE,
    _marks,
    _pl_text,
    bin_medians,
    common_labels,
    fleet_table,
    print_fleet,
    rate_with_interval,
    render_fleet_html,
    series_text,
    short_name,
    sparkline,
    write_fleet_report,
)
from tests.helpers import fleet_series
from tests.helpers.figures import count_panels
from tests.report.dom import Element, parse, sections, table_text

MB = 1e6


def test_rows_are_named_by_the_labels_that_tell_them_apart():
    series = [
        {"labels": {"__name__": "rss", "job": "api", "instance": "a"}},
        {"labels": {"__name__": "rss", "job": "api", "instance": "b"}},
    ]
    common = common_labels(series)
    assert common == {"__name__": "rss", "job": "api"}
    assert short_name(series[1]["labels"], common) == 'instance="b"'
    # One series alone keeps its whole name.
    assert common_labels(series[:1]) == {}
    assert short_name({"__name__": "rss"}, {"__name__": "rss"}) == "rss"


def test_rates_read_with_their_interval():
    growth = {
        "slope_bytes_per_min": 5.004 * MB,
        "ci_low_bytes_per_min": 4.9 * MB,
        "ci_high_bytes_per_min": 5.108 * MB,
    }
    assert rate_with_interval(growth) == "+5.00 ±0.10"
    tight = {"slope_bytes_per_min": 0.0, "ci_low_bytes_per_min": -1.0, "ci_high_bytes_per_min": 1.0}
    assert rate_with_interval(tight) == "+0.00 ±<0.001"
    unknown = {"slope_bytes_per_min": 0.0, "ci_low_bytes_per_min": -np.inf, "ci_high_bytes_per_min": np.inf}
    assert rate_with_interval(unknown) == "+0.00 ±?"


def test_a_small_curve_is_an_inline_svg_that_follows_the_series():
    t_s = np.arange(0.0, 6 * 3600, 15)
    svg = sparkline(t_s, 1e8 + t_s * 1000)
    assert svg.startswith("<svg") and "http" not in svg
    points = [tuple(map(float, p.split(","))) for p in svg.split('points="')[1].split('"')[0].split()]
    assert len(points) == 120
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert ys == sorted(ys, reverse=True)  # a rising series climbs the picture (y grows downward)
    # Drawn in tenths of a pixel: the curve spans the box, a pixel from each edge.
    assert (min(xs), max(xs)) == (SPARK_SCALE, (160 - 1) * SPARK_SCALE)
    assert (min(ys), max(ys)) == (SPARK_SCALE, (32 - 1) * SPARK_SCALE)
    assert 'viewBox="0 0 1600 320"' in svg
    assert sparkline(t_s[:1], t_s[:1]) == ""


def test_bins_are_the_means_and_medians_one_bin_at_a_time_would_give():
    rng = np.random.default_rng(7)
    for n in (2, 7, 119, 120, 121, 1441, 1000, 3333):
        t_s = np.cumsum(rng.choice([15.0, 15.0, 15.0, 600.0], n)) + 1.8e9  # some gaps
        values = np.round(rng.normal(4e8, 3e7, n))
        edges = np.linspace(0, n, min(120, n) + 1).astype(int)
        pairs = [(a, b) for a, b in itertools.pairwise(edges) if b > a]
        xs, ys = bin_medians(t_s, values, 120)
        assert xs.tolist() == [t_s[a:b].mean() for a, b in pairs]
        assert ys.tolist() == [np.median(values[a:b]) for a, b in pairs]


END_S = 1_800_000_000.0


@pytest.fixture(scope="module")
def fleet():
    """Four real series of an hour judged by fleet/analyse.py: a leak, the same leak with a
    10-minute gap, a restart, a one-off step."""
    t_s = fleet_series.grid(END_S, span_s=3600)
    leak = fleet_series.leak(t_s, 10e6, 0)
    holed = np.r_[0:100, 140 : len(t_s)]
    shapes = [
        (t_s, leak),
        (t_s, fleet_series.step(t_s)),
        (t_s[holed], leak[holed]),
        (t_s, fleet_series.restart(t_s)),
    ]
    series = [
        Series({"__name__": "rss", "job": "api", "instance": f"h{k}"}, t, values)
        for k, (t, values) in enumerate(shapes)
    ]
    options = FleetOptions(
        window=Window(float(t_s[0]), END_S, fleet_series.STEP_S),
        limit_bytes=2e9,
        criteria=(parse_expect("growth<50MB/h"),),
    )
    results = rank([analyse_series(one, options) for one in series])
    return summarize(results, "rss", options, "http://127.0.0.1:9090", None, None), results


def printed(show, *args, width: int = 100) -> list[str]:
    stream = io.StringIO()
    show(Console(file=stream, width=width, force_terminal=False), *args)
    return stream.getvalue().splitlines()


def test_the_terminal_says_the_shared_labels_once_then_each_series_ranked_and_what_failed(fleet):
    summary, _ = fleet
    assert printed(print_fleet, summary, "reports/f") == [
        'series of rss{job="api"}',
        "series                     verdict       MB/min ±95 %         to limit       pred_lin  expect",
        "─────────────────────────────────────────────────────────────────────────────────────────────",
        'instance="h0"              LEAK, fast    +10.00 ±0.31          ~92 min  ALERT 3.48 GB  FAIL',
        'instance="h2" (gaps)       LEAK, fast     +9.98 ±0.34          ~92 min  ALERT 3.48 GB  FAIL',
        'instance="h3" (1 restart)  INCONCLUSIVE   +0.05 ±0.05          unknown  ALERT 2.46 GB  PASS',
        'instance="h1"              STABLE         -0.01 ±0.06  not approaching  ALERT 4.12 GB  PASS',
        "pred_lin: predict_linear(x[1 h], 4 h) at the end; ALERT where it passes the limit; bold where it"
        " and",
        "leakhunt disagree.",
        "4 series: 2 LEAK, 1 STABLE, 1 INCONCLUSIVE. Within 4 h, predict_linear over the last 1 h alerts on",
        "4, leakhunt on 2; they disagree on 2. --expect: 2 of 4 series do not pass.",
        '  FAIL rss{instance="h0",job="api"}: growth<50MB/h: growth 10 MB/min (600 MB/h) is not < 50 MB/h',
        '  FAIL rss{instance="h2",job="api"}: growth<50MB/h: growth 9.98 MB/min (599 MB/h) is not < 50 MB/h',
        'gaps (judged on the points present): rss{instance="h2",job="api"}',
        "report: reports/f/report.html",
    ]


def test_predict_linears_value_is_bold_where_it_and_leakhunt_disagree(fleet):
    summary, _ = fleet
    rows = fleet_table(summary, 100)[2:]
    bold = [
        any("bold" in str(span.style) for span in row.spans if "ALERT" in row.plain[span.start : span.end])
        for row in rows
    ]
    assert bold == [item["disagrees"] for item in summary["series"]] == [False, False, True, True]
    # Without --expect there is no expect column.
    assert fleet_table({**summary, "expect": []}, 100)[0].plain.split()[-1] == "pred_lin"


def test_many_failed_series_are_cut_to_twenty_and_many_gaps_to_five(fleet):
    summary, _ = fleet
    failing = summary["series"][0]
    many = [{**failing, "name": f"s{k}", "labels": {"i": f"s{k}"}} for k in range(23)]
    gaps = [f"s{k}" for k in range(7)]
    lines = printed(print_fleet, {**summary, "series": many, "series_with_gaps": gaps}, None)
    assert lines[0].startswith("series  ") and not [line for line in lines if line.startswith("report")]
    assert sum(line.startswith("  FAIL s") for line in lines) == 20
    assert lines[-2:] == [
        "  ... and 3 more series: see summary.json",
        "gaps (judged on the points present): s0, s1, s2, s3, s4 ...",
    ]
    five = printed(print_fleet, {**summary, "series": many[:20], "series_with_gaps": gaps[:5]}, None)
    assert five[-1] == "gaps (judged on the points present): s0, s1, s2, s3, s4"
    assert not [line for line in five if "more series" in line]


def test_restarts_gaps_and_predict_linear_read_beside_the_name():
    item = {"restarts": [], "gaps": []}
    assert _marks(item) == ""
    assert _marks({**item, "restarts": [{}], "gaps": [{}]}) == " (1 restart) (gaps)"
    assert _marks({**item, "restarts": [{}, {}]}) == " (2 restarts)"
    pl = {"value_bytes": 3.48e9, "alerts": False}
    assert _pl_text({"predict_linear": pl}) == "3.48 GB"
    assert _pl_text({"predict_linear": {**pl, "alerts": True}}) == "ALERT 3.48 GB"
    assert _pl_text({"predict_linear": {**pl, "value_bytes": None}}) == "n/a"


def test_a_series_is_named_as_promql_writes_it():
    assert series_text({"__name__": "rss", "job": "api", "a": "1"}) == 'rss{a="1",job="api"}'
    assert series_text({"__name__": "rss"}) == "rss" and series_text({"job": "api"}) == '{job="api"}'
    # Told apart by the metric itself: the name with its differing labels.
    # (series of two metrics with one label set: the metric's name alone, not `rss{}`)
    assert short_name({"__name__": "rss", "job": "a"}, {"job": "a"}) == "rss"
    assert short_name({"__name__": "rss", "job": "a", "i": "1"}, {"job": "a"}) == 'rss{i="1"}'
    assert short_name({}, {}) == "{}"
    assert common_labels([{"labels": {"a": "1"}}, {"labels": {"a": "2"}}]) == {}


def test_large_and_tight_rates_keep_their_figures():
    def growth(slope_mb: float, half_mb: float) -> dict:
        return {"slope_bytes_per_min": slope_mb * MB, "ci_low_bytes_per_min": (slope_mb - half_mb) * MB,
                "ci_high_bytes_per_min": (slope_mb + half_mb) * MB}  # fmt: skip

    assert rate_with_interval(growth(224.4, 150.2)) == "+224 ±150"
    assert rate_with_interval(growth(100.7, 100.2)) == "+101 ±100"  # from 100 MB/min, whole MB
    assert rate_with_interval(growth(-1234.0, 0.5)) == "-1,234 ±0.50"
    assert rate_with_interval(growth(1.0, 0.0034)) == "+1.00 ±0.003"
    assert rate_with_interval(growth(1.0, 0.005)) == "+1.00 ±0.01"
    assert rate_with_interval(growth(1.0, 0.001)) == "+1.00 ±0.001"
    lopsided = {
        "slope_bytes_per_min": 1 * MB,
        "ci_low_bytes_per_min": 0.5 * MB,
        "ci_high_bytes_per_min": 1.1 * MB,
    }
    assert rate_with_interval(lopsided) == "+1.00 ±0.50"
    assert rate_with_interval({**lopsided, "ci_low_bytes_per_min": float("nan")}) == "+1.00 ±?"


def test_the_html_report_says_the_query_the_method_and_each_series_row(fleet):
    summary, results = fleet
    page = parse(render_fleet_html(summary, results, None))
    assert page.one("title").text == page.one("h1").text == "leakhunt fleet: rss"
    headline, method, shared = page.all("p")
    assert headline.classes == {"headline"} and headline.text == summary["headline"] + "."
    assert method.text == (
        "http://127.0.0.1:9090, 1 h at a 15 s step. Verdicts as in watch: STABLE when the whole 95 % CI is "
        "at or below 50 MB/h, LEAK when its low end is above. predict_linear: predict_linear(x[1 h], 14400) "
        "> limit at the end of the range; it disagrees with leakhunt on 2 series (leakhunt alerts when LEAK "
        "reaches the limit within the same 4 h)."
    )
    assert shared.text == 'Labels every series shares: rss{job="api"}'
    assert sections(page) == ["Every series, ranked by time to limit", "How each was judged"]
    rows = table_text(page.one("table"))
    assert rows == [
        ["#", "series", "curve", "verdict", "MB/min", "95 % CI", "to limit", "predict_linear", "disagree",
         "expect"],
        ["1", 'instance="h0"', "", "LEAK, fast", "+10", "+9.69 … +10.3", "~92 min", "ALERT 3.48 GB", "",
         "FAIL: growth 10 MB/min (600 MB/h) is not < 50 MB/h"],
        ["2", 'instance="h2"\n(gaps: 10.0 min missing)', "", "LEAK, fast", "+9.98", "+9.65 … +10.3",
         "~92 min", "ALERT 3.48 GB", "", "FAIL: growth 9.98 MB/min (599 MB/h) is not < 50 MB/h"],
        ["3", 'instance="h3"\n(1 restart)', "", "INCONCLUSIVE", "+0.0527", "+0.00278 … +0.103", "unknown",
         "ALERT 2.46 GB", "yes", "PASS"],
        ["4", 'instance="h1"', "", "STABLE", "-0.0142", "-0.0742 … +0.0458", "not approaching",
         "ALERT 4.12 GB", "yes", "PASS"],
    ]  # fmt: skip
    assert [len(row.all("svg")) for row in page.one("table").all("tr")[1:]] == [1, 1, 1, 1]
    assert [[td.attrs.get("class") for td in row.all("td")] for row in page.one("table").all("tr")[1:2]] == [
        ["num", None, None, None, "num", None, "num", "num", None, None]
    ]
    judged = [li.text for li in page.all("li")]
    assert judged[0] == (
        'rss{instance="h0",job="api"}: LEAK (fast: above the 50 MB/h bound), '
        f"{summary['series'][0]['verdict_reason']}. {summary['series'][0]['method']}."
    )
    assert len(judged) == 4
    without = parse(render_fleet_html({**summary, "expect": []}, results, None))
    assert table_text(without.one("table"))[0][-1] == "disagree"


def test_the_html_report_draws_the_worst_four_and_past_them_those_predict_linear_disagrees_on(
    fleet, tmp_path
):
    summary, results = fleet
    agreeing, disagreeing = results[0], next(r for r in results if r.disagrees)
    many = [agreeing] * 6 + [disagreeing]
    shown = [s for s in summary["series"] if s["name"] in {agreeing.name, disagreeing.name}]
    path = write_fleet_report({**summary, "series": shown}, many, tmp_path)
    assert path == tmp_path / "report.html"
    page = parse(path.read_text())
    assert sections(page)[0] == "The worst series"
    assert page.one("img").attrs["alt"] == "worst.png"
    assert count_panels(tmp_path / "worst.png") == 5
    # Nothing to draw: no picture.
    (tmp_path / "none").mkdir()
    empty = write_fleet_report({**summary, "series": []}, [], tmp_path / "none")
    assert parse(empty.read_text()).all("img") == [] and not (tmp_path / "none" / "worst.png").exists()


def test_a_long_name_may_break_between_its_labels_only(fleet):
    summary, results = fleet
    series = [
        {**item, "labels": {**item["labels"], "pod": f"api-{k}"}} for k, item in enumerate(summary["series"])
    ]
    page = parse(render_fleet_html({**summary, "series": series}, results, None))
    name = page.one("table").all("tr")[1].all("span")[0]
    assert name.attrs["title"] == 'rss{instance="h0",job="api"}'
    assert name.children == ['instance="h0",', Element("wbr", {}), 'pod="api-0"']
