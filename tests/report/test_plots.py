"""The run and comparison pictures (leakhunt/report/plots.py), opened as Figures and read back as
PNGs: what is drawn, on which axes, in which colour, with which legend.

- comparison.png: one small panel per variant, every panel on the same x and y axes; a variant's
  replicates are a band from their lowest to their highest value around their median line, in the
  colour of the variant's verdict; the baseline is repeated in grey in every other panel; each
  panel's title says the variant, its verdict words and its growth; one legend of at most five
  entries for the whole figure. Two saved runs make two panels.
- holders.png and types.png: every label kept (a `__main__...` path too), x from 0 in
  memory.png's unit ("simulated minutes" for a soak, "minutes" for a watch).
- No picture sends a matplotlib warning to stderr: every warning fails these tests.
"""

import zlib
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

from leakhunt.analysis.summary import summarize_run
from leakhunt.report.plots import (
    BASELINE_GREY,
    VERDICT_COLOURS,
    comparison_figure,
    holders_figure,
    minutes_label,
    replicate_band,
    run_figure,
    save,
    types_figure,
    verdict_colour,
)
from leakhunt.runs.compare import summarize_comparison
from leakhunt.sampling.store import RunDir
from leakhunt.units import format_mb
from tests.helpers.figures import colour_share, count_panels, ink_share, pixels

pytestmark = pytest.mark.filterwarnings("error")
MB = 1e6
# (variant, MB/min, shape): what `compare --baseline --ablation` runs, with known answers.
ABLATION = (
    ("fixes off", 7.0, "linear"),
    ("all fixes", 0.0, "linear"),
    ("caps only", 0.6, "linear"),
    ("oi_cap only", 7.0, "linear"),
    ("cleanup only", 0.0, "sawtooth"),
)
REPLICATES = 3


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def synthetic_run(root: Path, label: str, rate_mb_per_min: float, shape: str, replicate: int | None,
                  *, axis: str = "t_sim_s", minutes: float = 30) -> dict:  # fmt: skip
    """One run as render_comparison hands it over: samples, meta, its real summary."""
    t_s = np.arange(0.0, minutes * 60 + 1, 5.0)
    rng = np.random.default_rng(zlib.crc32(f"{label}-{replicate}".encode()))
    rss = 80 * MB + rate_mb_per_min * MB * t_s / 60 + rng.normal(0, 0.2 * MB, len(t_s))
    events = []
    if shape == "sawtooth":
        rss = 80 * MB + (t_s % 600) / 600 * 40 * MB + rng.normal(0, 0.2 * MB, len(t_s))
        events = [{"kind": "cleanup", "t_sim_s": float(s)} for s in range(600, int(minutes * 60), 600)]
    samples = pd.DataFrame(
        {"t_wall_s": t_s, "t_sim_s": t_s, "rss_bytes": rss, "swap_bytes": 0.0, "cpu_percent": 1.0}
    )
    meta = {
        "command": "soak", "label": "incident", "variant": label, "replicate": replicate,
        "time_axis": axis, "scenario": {"name": "incident", "scale": 1.0}, "seed": 1,
        "duration_s": minutes * 60, "events": events,
    }  # fmt: skip
    name = label.replace(" ", "-") + (f"-r{replicate}" if replicate else "")
    return {
        "label": label, "run_dir": RunDir(root / name), "meta": meta,
        "summary": summarize_run(samples, meta), "samples": samples,
    }  # fmt: skip


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    runs = [
        synthetic_run(root, label, rate, shape, replicate)
        for label, rate, shape in ABLATION
        for replicate in range(1, REPLICATES + 1)
    ]
    entries = summarize_comparison(runs)["runs"]
    # The panel colours below are only worth testing if the verdicts differ.
    assert len({entry["verdict"] for entry in entries}) >= 2
    return runs, entries


@pytest.fixture
def drawn(ablation, tmp_path):
    runs, entries = ablation
    fig = comparison_figure(runs, entries)
    path = tmp_path / "comparison.png"
    fig.savefig(path, dpi=110)
    return fig, [ax for ax in fig.axes if ax.get_visible()], entries, path


def _in_mb(runs: list[dict], label: str) -> np.ndarray:
    return np.concatenate([r["samples"]["rss_bytes"].to_numpy() / MB for r in runs if r["label"] == label])


def _bands(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_a_band_spans_the_replicates_and_its_line_is_their_median():
    x = np.arange(0.0, 10.0, 0.5)
    curves = [(x, x + offset) for offset in (0.0, 1.0, 5.0)]
    minutes, low, median, high = replicate_band(curves, bins=len(x))
    np.testing.assert_allclose(minutes, x)
    np.testing.assert_allclose(low, x)
    np.testing.assert_allclose(median, x + 1.0)
    np.testing.assert_allclose(high, x + 5.0)
    # A replicate cut short counts where it has points; nothing warns about the bins it lacks.
    short = [(x, x), (x[:5], x[:5] + 2.0)]
    minutes, low, median, high = replicate_band(short, bins=len(x))
    np.testing.assert_allclose(high[:5], x[:5] + 2.0)
    np.testing.assert_allclose(high[5:], x[5:])
    np.testing.assert_allclose(median[5:], x[5:])
    # A hole in time (a gap in the samples) leaves bins no replicate reaches: left out, silently.
    holed = np.r_[0.0, 1.0, 2.0, 8.0, 9.0, 10.0]
    minutes, low, median, high = replicate_band([(holed, holed)], bins=6)  # 1.67 min each
    np.testing.assert_allclose(minutes, [0.5, 2.0, 8.0, 9.5])
    np.testing.assert_allclose(low, [0.0, 2.0, 8.0, 9.0])
    np.testing.assert_allclose(high, [1.0, 2.0, 8.0, 10.0])
    # Long curves are binned down to the panel's resolution, keeping every extreme.
    long_x = np.linspace(0, 30, 20_000)
    spiky = np.where(np.arange(20_000) == 7_777, 99.0, 1.0)
    minutes, low, median, high = replicate_band([(long_x, spiky)], bins=300)
    assert len(minutes) == 300 and high.max() == 99.0 and low.min() == 1.0


def test_one_panel_per_variant_on_shared_axes_with_one_small_legend(drawn):
    fig, panels, _, _ = drawn
    assert len(panels) == len(ABLATION)
    first = panels[0]
    for ax in panels[1:]:
        assert first.get_shared_x_axes().joined(first, ax)
        assert first.get_shared_y_axes().joined(first, ax)
        assert ax.get_ylim() == first.get_ylim()
    for index, ax in enumerate(panels):
        assert ax.get_xlim()[0] == 0
        # The bottom panel of each column carries the x tick labels, the one above the empty slot too.
        assert ax.xaxis.get_tick_params()["labelbottom"] == (index >= len(panels) - 3)
        assert ax.get_legend() is None  # no legend per panel, let alone per curve
    assert len(fig.legends) == 1
    entries_shown = [text.get_text() for text in fig.legends[0].get_texts()]
    assert 2 <= len(entries_shown) <= 5
    assert f"median of the {REPLICATES} replicates" in entries_shown
    assert "fixes off (baseline)" in entries_shown
    assert fig.get_supxlabel() == "simulated minutes"


def test_each_panel_is_titled_and_coloured_by_its_variants_verdict(drawn):
    _, panels, entries, _ = drawn
    colours = {}
    for ax, entry in zip(panels, entries, strict=True):
        title = ax.get_title(loc="left")
        rate = format_mb(entry["growth"]["slope_bytes_per_min"], signed=True)
        assert title == f"{entry['label']}\n{entry['verdict_short']} · {rate} MB/min"
        colour = verdict_colour(entry["verdict"])
        assert to_hex(ax._left_title.get_color()) == colour
        medians = [line for line in ax.get_lines() if line.get_linewidth() == 1.8]
        assert len(medians) == 1 and to_hex(medians[0].get_color()) == colour
        colours.setdefault(entry["verdict"], set()).add(colour)
    # One colour per verdict class, and a different one for each class.
    assert all(len(shades) == 1 for shades in colours.values())
    assert len({next(iter(shades)) for shades in colours.values()}) == len(colours)
    assert {c for shades in colours.values() for c in shades} <= set(VERDICT_COLOURS.values())
    # Effects are written where a fix is judged: not on the baseline itself.
    assert not panels[0].texts and "growth" in panels[1].texts[0].get_text()


def test_replicates_are_one_band_and_the_baseline_is_repeated_faintly(drawn, ablation):
    runs, _ = ablation
    _, panels, entries, _ = drawn
    baseline_median = next(line for line in panels[0].get_lines() if line.get_linewidth() == 1.8)
    for index, (ax, entry) in enumerate(zip(panels, entries, strict=True)):
        bands = _bands(ax)
        own = [b for b in bands if to_hex(b.get_facecolor()[0][:3]) == verdict_colour(entry["verdict"])]
        assert len(own) == 1  # three replicates, one band
        y = own[0].get_paths()[0].vertices[:, 1]
        values = _in_mb(runs, entry["label"])
        assert y.min() == pytest.approx(values.min()) and y.max() == pytest.approx(values.max())
        greys = [line for line in ax.get_lines() if to_hex(line.get_color()) == BASELINE_GREY]
        if index == 0:
            assert not greys and len(bands) == 1
        else:
            assert len(greys) == 1 and len(bands) == 2
            np.testing.assert_array_equal(greys[0].get_ydata(), baseline_median.get_ydata())


def test_the_png_shows_each_panel_with_ink_in_its_verdicts_colour(drawn):
    fig, panels, entries, path = drawn
    height, width = pixels(path).shape[:2]
    assert width >= 1000 and height >= 500
    assert count_panels(path) == len(ABLATION)
    for ax, entry in zip(panels, entries, strict=True):
        assert ink_share(path, fig, ax) > 0.03
        assert colour_share(path, fig, ax, verdict_colour(entry["verdict"])) > 0.002
    empty_slot = [ax for ax in fig.axes if not ax.get_visible()]
    assert len(empty_slot) == 1


def test_two_saved_runs_of_one_scenario_are_two_panels_told_apart(tmp_path):
    runs = [
        synthetic_run(tmp_path, "incident", rate, "linear", None, axis="t_wall_s", minutes=10)
        for rate in (3.0, 0.0)
    ]
    runs[1]["run_dir"] = RunDir(tmp_path / "after-the-fix")
    entries = summarize_comparison(runs)["runs"]
    fig = comparison_figure(runs, entries)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2 and len(fig.axes) == 2
    titles = [ax.get_title(loc="left").splitlines()[0] for ax in panels]
    assert titles == ["incident (incident)", "incident (after-the-fix)"]
    assert not _bands(panels[0])  # one run: a line, no band
    assert len(fig.legends[0].get_texts()) == 2
    assert fig.get_supxlabel() == "minutes"  # a watch's wall time
    path = save(fig, tmp_path / "two.png")
    assert count_panels(path) == 2
    # Without a comparison's entries, each run is judged by its own summary.
    alone = comparison_figure(runs)
    assert [ax.get_title(loc="left").splitlines()[1].split(" · ")[0] for ax in alone.axes] == [
        run["summary"]["verdict_short"] for run in runs
    ]


HOLDER = "__main__.render_profile.<closure>.cache"


def _points() -> list[dict]:
    series = [{"t_s": 300.0 * k, "bytes": 1e6 * k, "count": 100 * k} for k in range(1, 7)]
    return [{"pattern": HOLDER, "series": series}, {"pattern": "app.registry", "series": series}]


@pytest.mark.parametrize("axis", ["t_sim_s", "t_wall_s"])
def test_holders_keep_every_label_and_start_at_zero_in_memory_pngs_unit(axis, tmp_path):
    fig = holders_figure(_points(), time_axis=axis)
    held, items = fig.axes
    assert [t.get_text() for t in held.get_legend().get_texts()] == [HOLDER, "app.registry"]
    assert held.get_xlim()[0] == 0 and items.get_xlim()[0] == 0
    samples = pd.DataFrame({axis: [0.0, 1800.0], "rss_bytes": [1e8, 2e8], "swap_bytes": [0.0, 0.0]})
    memory = run_figure(samples, {"time_axis": axis}, {})
    assert items.get_xlabel() == memory.axes[-1].get_xlabel() == minutes_label(axis)
    path = save(fig, tmp_path / "holders.png")
    assert ink_share(path, fig, held) > 0.01 and ink_share(path, fig, items) > 0.01


def test_types_keep_a_name_starting_with_an_underscore():
    summaries = [
        {
            "t_sim_s": 60.0 * k,
            "py_heap_bytes": 5e6 * k,
            "types": [{"type": "_io.BytesIO", "size_bytes": 1e6 * k}],
        }
        for k in range(1, 6)
    ]
    fig = types_figure(summaries, ["_io.BytesIO"], time_axis="t_wall_s")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "_io.BytesIO",
        "all Python objects the probe sees",
    ]
    assert ax.get_xlim()[0] == 0 and ax.get_xlabel() == "minutes"
