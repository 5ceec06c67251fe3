"""compare.py's conclusion: the claims a rerun must repeat, without the figures that may move."""

from leakhunt.runs.compare import conclusion, effect

MB = 1e6


def growth(slope_mb: float, half_mb: float) -> dict:
    return {
        "slope_bytes_per_min": slope_mb * MB,
        "ci_low_bytes_per_min": (slope_mb - half_mb) * MB,
        "ci_high_bytes_per_min": (slope_mb + half_mb) * MB,
    }


def entry(label: str, slope_mb: float, half_mb: float, base: dict | None = None) -> dict:
    measured = growth(slope_mb, half_mb)
    row = {"label": label, "verdict": "STABLE", "growth": measured}
    if base is not None:
        row["effect"] = effect(base, measured)
    return row


def test_an_effect_proven_negligible_and_one_too_wide_to_tell_are_both_no_measurable_effect():
    base = growth(0.32, 0.01)
    narrow = entry("caps only", 0.33, 0.01, base)  # within ±10 % of the baseline: negligible
    wide = entry("caps only", 0.33, 0.2, base)  # reaches far past the margin: cannot tell
    assert narrow["effect"]["negligible"] and not wide["effect"]["negligible"]
    runs = [entry("fixes off", 0.32, 0.01)]
    assert conclusion({"runs": [*runs, narrow]}) == conclusion({"runs": [*runs, wide]})
    assert "caps only STABLE, no measurable effect" in conclusion({"runs": [*runs, narrow]})


def test_an_effect_whose_interval_clears_zero_and_the_margin_removes_growth():
    base = growth(0.32, 0.01)
    fixed = entry("oi_cap only", 0.02, 0.01, base)
    assert "oi_cap only STABLE, removes growth" in conclusion(
        {"runs": [entry("fixes off", 0.32, 0.01), fixed]}
    )
