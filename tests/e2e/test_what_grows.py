"""Every soak report says what grows; on the incident model it names the right culprits."""

from tests.e2e.conftest import REPO, assert_real_figure, leakhunt, load_json


def test_fixes_off_the_dataframe_cache_and_the_oi_dicts_grow_and_with_the_fixes_nothing_does(tmp_path):
    common = ["--scenario", "incident-replay", "--scale", "0.03", "--minutes", "20", "--probe-interval", "2m"]
    leakhunt("soak", *common, "--fixes", "none", "--out", str(tmp_path / "off"), check_rc=0)
    leakhunt("soak", *common, "--fixes", "all", "--out", str(tmp_path / "on"), check_rc=0)
    off = load_json(tmp_path / "off" / "summary.json")["attribution"]
    on = load_json(tmp_path / "on" / "summary.json")["attribution"]
    names = [t["name"] for t in off["types"]]
    assert names[0] == "pandas.DataFrame"
    assert "dict" in names[:3]
    assert off["types"][0]["share_of_rss_growth"] > 0.5
    grown = {t["name"]: t["bytes_per_min"] for t in on["types"]}
    assert grown.get("pandas.DataFrame", 0) < 0.01 * off["types"][0]["bytes_per_min"]
    assert grown.get("dict", 0) < 0.05 * off["types"][0]["bytes_per_min"]
    assert_real_figure(tmp_path / "off" / "types.png")
    html = (tmp_path / "off" / "report.html").read_text()
    assert "What grows" in html and "pandas.DataFrame" in html


def test_malloc_trim_in_the_cleanup_shows_rss_the_allocator_only_retained(tmp_path):
    common = [
        "--scenario",
        "incident-replay",
        "--scale",
        "0.03",
        "--fixes",
        "cleanup",
        "--minutes",
        "25",
        "--probe-interval",
        "0",
    ]
    leakhunt("soak", *common, "--out", str(tmp_path / "plain"), check_rc=0)
    leakhunt("soak", *common, "--malloc-trim", "--out", str(tmp_path / "trim"), check_rc=0)

    def cleanups(name: str) -> list[dict]:
        return [e for e in load_json(tmp_path / name / "meta.json")["events"] if e["kind"] == "cleanup"]

    assert all(e["malloc_trimmed"] is not None for e in cleanups("trim"))
    assert all(e["malloc_trimmed"] is None for e in cleanups("plain"))
    # Same feed, same trimming of caches: what malloc_trim adds is memory glibc was holding on to.
    assert cleanups("trim")[-1]["rss_after_bytes"] < cleanups("plain")[-1]["rss_after_bytes"]


def test_with_tracemalloc_the_growing_line_is_the_merge_of_the_ohlcv_cache(tmp_path):
    leakhunt(
        "soak",
        "--scenario",
        "incident-replay",
        "--scale",
        "0.03",
        "--minutes",
        "12",
        "--probe-interval",
        "4m",
        "--tracemalloc",
        "8",
        "--out",
        str(tmp_path / "run"),
        check_rc=0,
    )
    summary = load_json(tmp_path / "run" / "summary.json")
    top = summary["attribution"]["lines"][0]
    source = (REPO / "leakhunt" / "workload" / "market.py").read_text().splitlines()
    merge_line = next(n for n, line in enumerate(source, 1) if "pd.concat([existing, new])" in line)
    assert top["name"].endswith(f"leakhunt/workload/market.py:{merge_line}")
    assert top["share_of_rss_growth"] > 0.5
    assert summary["cost"]["probe_s"] > 0
