"""Every soak report says what grows; on the incident model it names the right culprits."""

from tests.e2e.conftest import assert_real_figure, leakhunt, load_json


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
