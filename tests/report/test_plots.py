"""The run and comparison pictures (leakhunt/report/plots.py), opened as Figures and read back as
PNGs: what is drawn, on which axes, in which colour, with which legend.

- comparison.png: one small panel per variant, every panel on the same x and y axes; a variant's
  replicates are a band from their lowest to their highest value around their median line, in the
  colour of the variant's verdict; the baseline is repeated in grey in every other panel; each
  panel's title says the variant, its verdict words and its growth; one legend of at most five
  entries for the whole figure. Two saved runs make two panels.
- holders.png and types.png: every label kept (a `__main__...` path too), x from 0 in
  memory.png's unit ("simulated minutes" for a soak, "minutes" for a watch).
- memory.png: the run beside its memory limit and the incident it models (that line stopping at
  the limit), then close up with swap, the fit from where it starts, and the events as lines
  (cleanups labelled once, log lines green, restarts and gaps black with their words).
- A label or holder path too long for its place keeps both ends, elided in the middle.
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
    plot_comparison,
    plot_holders,
    plot_types,
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
    assert [list(line.get_xdata()) for line in memory.axes[-1].get_lines()] == [[0, 30]]
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


def _lines(ax) -> dict[str, object]:
    return {line.get_label(): line for line in ax.get_lines()}


def _ten_minutes(swap_bytes: list[float] | None = None) -> pd.DataFrame:
    t_s = np.arange(0, 601, 60.0) + 100.0  # a run's clock need not start at 0
    return pd.DataFrame(
        {
            "t_sim_s": t_s,
            "rss_bytes": 100 * MB + MB * (t_s - 100) / 60,
            "swap_bytes": swap_bytes or [0.0] * 11,
        }
    )


RUN_META = {
    "label": "r1",
    "memory_limit_bytes": 1e9,
    "scenario": {"reference": {"baseline_bytes": 80 * MB, "growth_bytes_per_min": 220 * MB}},
    "events": [
        {"kind": "cleanup", "t_sim_s": 160.0},
        {"kind": "cleanup", "t_sim_s": 400.0},
        {"kind": "log", "t_sim_s": 220.0},
        {"kind": "restart", "t_sim_s": 340.0, "text": "restarted (pid 12)"},
        {"kind": "gap", "t_sim_s": 460.0},
        {"kind": "probe", "t_sim_s": 500.0},
    ],
}
RUN_SUMMARY = {
    "headline": "LEAK (slow): RSS grows 1 MB/min",
    "growth": {
        "slope_bytes_per_min": MB,
        "ci_low_bytes_per_min": 0.9 * MB,
        "ci_high_bytes_per_min": 1.1 * MB,
        "intercept_bytes": 101 * MB,
        "fit_start_s": 60.0,
    },
}


def test_the_run_picture_puts_the_run_beside_the_limit_and_the_incident_it_models():
    top, _ = run_figure(_ten_minutes(), RUN_META, RUN_SUMMARY).axes
    assert top.get_title(loc="left") == "r1: LEAK (slow): RSS grows 1 MB/min"
    assert top.get_ylabel() == "RSS (MB)" and top.get_ylim()[0] == 0
    lines = _lines(top)
    assert list(lines) == ["RSS (r1)", "memory limit 1 GB", "incident: 80 MB + 220 MB/min"]
    assert [t.get_text() for t in top.get_legend().get_texts()] == list(lines)
    rss = lines["RSS (r1)"]
    np.testing.assert_allclose(rss.get_xdata(), np.arange(11.0))  # minutes from the first sample
    np.testing.assert_allclose(rss.get_ydata(), 100 + np.arange(11.0))
    assert to_hex(rss.get_color()) == "#d62728"
    np.testing.assert_allclose(lines["memory limit 1 GB"].get_ydata(), [1000, 1000])
    # The incident's line stops where it reaches the limit: (1000 - 80) MB / 220 MB/min.
    incident = lines["incident: 80 MB + 220 MB/min"]
    np.testing.assert_allclose(incident.get_xdata(), [0, 920 / 220])
    np.testing.assert_allclose(incident.get_ydata(), [80, 1000])


def test_the_close_up_shows_the_fit_over_its_window_and_the_events_as_lines():
    samples = _ten_minutes(swap_bytes=[0.0] * 10 + [5 * MB])
    _, bottom = run_figure(samples, RUN_META, RUN_SUMMARY).axes
    assert bottom.get_ylabel() == "RSS (MB), close up" and bottom.get_xlabel() == "simulated minutes"
    shown = [t.get_text() for t in bottom.get_legend().get_texts()]
    assert shown == ["RSS", "swap", "robust fit: +1 MB/min [0.9, 1.1]", "cleanup runs"]
    lines = _lines(bottom)
    np.testing.assert_allclose(lines["RSS"].get_xdata(), np.arange(11.0))
    np.testing.assert_allclose(lines["RSS"].get_ydata(), 100 + np.arange(11.0))
    np.testing.assert_allclose(lines["swap"].get_ydata()[-2:], [0, 5])
    assert to_hex(lines["swap"].get_color()) == "#800080"
    fit = lines["robust fit: +1 MB/min [0.9, 1.1]"]
    # From where the fit starts (1 min) to the last sample, through its intercept at its slope.
    np.testing.assert_allclose(fit.get_xdata(), [1, 10])
    np.testing.assert_allclose(fit.get_ydata(), [101, 110])
    assert fit.get_linestyle() == "--" and to_hex(fit.get_color()) == "#000000"
    marks = [line for line in bottom.get_lines() if len(line.get_xdata()) == 2 and line not in (fit,)]
    drawn = [
        (float(m.get_xdata()[0]), to_hex(m.get_color()), m.get_linestyle(), m.get_alpha()) for m in marks
    ]
    assert drawn == [
        (1.0, "#1f77b4", ":", 0.25),  # cleanups, faint, the first labelled
        (5.0, "#1f77b4", ":", 0.25),
        (2.0, "#008000", "--", 0.5),  # a log line
        (4.0, "#000000", "-.", 0.6),  # a restart, with its words
        (6.0, "#000000", "-.", 0.6),  # a gap, named by its kind
    ]
    assert [(t.get_text(), t.get_rotation()) for t in bottom.texts] == [
        ("restarted (pid 12)", 90),
        ("gap", 90),
    ]


def test_a_run_without_limit_reference_swap_or_fit_draws_its_curve_alone():
    samples = _ten_minutes()
    for growth in ({}, {"slope_bytes_per_min": MB}, {**RUN_SUMMARY["growth"], "slope_bytes_per_min": None}):
        top, bottom = run_figure(samples, {"label": "r"}, {"growth": growth}).axes
        assert list(_lines(top)) == ["RSS (r)"] and list(_lines(bottom)) == ["RSS"]
    assert top.get_title(loc="left") == "r:"
    # Without the limit the incident's line runs the run's length (at least a minute).
    meta = {"scenario": RUN_META["scenario"]}
    (incident,) = [line for line in run_figure(samples, meta, {}).axes[0].get_lines() if line.get_alpha()]
    np.testing.assert_allclose(incident.get_xdata(), [0, 10])
    short = samples.iloc[:1]
    (incident,) = [line for line in run_figure(short, meta, {}).axes[0].get_lines() if line.get_alpha()]
    np.testing.assert_allclose(incident.get_xdata(), [0, 1])
    # A limit the incident starts above: its line is a point at 0.
    low = {**meta, "memory_limit_bytes": 50 * MB}
    (incident,) = [line for line in run_figure(samples, low, {}).axes[0].get_lines() if line.get_alpha()]
    np.testing.assert_allclose(incident.get_xdata(), [0, 0])


def test_a_saved_picture_is_a_png_at_the_reports_resolution_and_is_closed(tmp_path):
    fig = run_figure(_ten_minutes(), RUN_META, RUN_SUMMARY)
    top, bottom = fig.axes
    assert bottom.get_position().height > top.get_position().height  # the close up is the larger
    path = save(fig, tmp_path / "memory.png")
    assert pixels(path).shape[:2] == (int(7.5 * 110), 9 * 110)
    assert not plt.fignum_exists(fig.number)
    runs = [synthetic_run(tmp_path, "off", 7.0, "linear", None, minutes=5)]
    path = plot_comparison(runs, tmp_path / "comparison.png", summarize_comparison(runs)["runs"])
    assert path == tmp_path / "comparison.png" and count_panels(path) == 1
    assert verdict_colour("LEAK") == "#bb0000" and verdict_colour(None) == verdict_colour("odd") == "#555555"


def _effect(**found) -> dict:
    return {"effect": found}


@pytest.mark.parametrize(
    ("effect", "words"),
    [
        ({"measurable": True, "percent": 95.6}, "removes 96 % of the baseline's growth"),
        ({"measurable": True, "percent": -20.4}, "adds 20 % of the baseline's growth"),
        ({"measurable": True, "percent": 0.0}, "removes 0 % of the baseline's growth"),
        (
            {"measurable": True, "percent": None, "removed_bytes_per_min": 2.5 * MB},
            "changes growth by -2.5 MB/min",
        ),
        (
            {"measurable": True, "percent": None, "removed_bytes_per_min": -2.5 * MB},
            "changes growth by +2.5 MB/min",
        ),
        ({"measurable": False, "percent": 3.0}, "no measurable effect"),
        ({"comparable": False, "measurable": True, "percent": 50.0}, "another scenario: no fix's effect"),
    ],
)
def test_a_panel_says_what_its_variant_does_to_the_baselines_growth(tmp_path, effect, words):
    runs = [
        synthetic_run(tmp_path, label, rate, "linear", None, minutes=10)
        for label, rate in (("off", 7.0), ("on", 0))
    ]
    entries = summarize_comparison(runs)["runs"]
    entries[1] = {**entries[1], "effect": effect}
    _, panel = comparison_figure(runs, entries).axes
    assert [t.get_text() for t in panel.texts] == [words]
    entries[1] = {**entries[1], "effect": None}
    assert len(comparison_figure(runs, entries).axes[1].texts) == 0


def test_a_long_label_is_shortened_in_the_middle_in_its_panel_and_in_the_legend(tmp_path):
    """Both ends kept, as the terminal keeps them: the end is what tells variants apart."""
    labels = [
        "incident-2025-10-30-caps+cleanup+oi_cap-only-r1",
        "incident-2025-10-30-caps+cleanup+oi_cap-off-r1",
    ]
    runs = [
        synthetic_run(tmp_path, name, rate, "linear", None, minutes=10)
        for name, rate in zip(labels, (7, 0), strict=True)
    ]
    fig = comparison_figure(runs, summarize_comparison(runs)["runs"])
    assert [ax.get_title(loc="left").splitlines()[0] for ax in fig.axes] == [
        "incident-2025-10-30-…cleanup+oi_cap-only-r1",
        "incident-2025-10-30-…cleanup+oi_cap-off-r1",
    ]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "RSS",
        "incident-2025-…oi_cap-only-r1 (baseline)",
    ]
    assert fig.legends[0].get_title().get_text() == "RSS of each run on shared axes; colour: the verdict"


def test_cleanups_are_drawn_in_each_panel_and_named_once_in_the_legend(tmp_path):
    runs = [synthetic_run(tmp_path, "cleanup only", 0.0, "sawtooth", None, minutes=30)]
    fig = comparison_figure(runs, summarize_comparison(runs)["runs"])
    (panel,) = fig.axes
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["RSS", "cleanup runs"]
    dotted = [line for line in panel.get_lines() if line.get_linestyle() == ":"]
    assert [float(line.get_xdata()[0]) for line in dotted] == [10.0, 20.0]
    assert len(panel.texts) == 0  # a panel is too small for an event's words
    # Six panels are three columns of two rows; four are two by two.
    runs = [synthetic_run(tmp_path, f"v{k}", 1.0, "linear", None, minutes=5) for k in range(6)]
    fig = comparison_figure(runs)
    assert fig.axes[0].get_gridspec().get_geometry() == (2, 3) and len(fig.axes) == 6
    assert comparison_figure(runs[:4]).axes[0].get_gridspec().get_geometry() == (2, 2)


def test_types_are_stacked_in_time_order_over_all_the_python_objects_the_probe_sees():
    summaries = [
        {"t_sim_s": 120.0, "py_heap_bytes": 9e6, "types": [{"type": "dict", "size_bytes": 3e6}]},
        {"t_sim_s": 0.0, "py_heap_bytes": 5e6, "types": [{"type": "dict", "size_bytes": 1e6},
                                                         {"type": "list", "size_bytes": 2e6}]},
        {"t_sim_s": 60.0, "py_heap_bytes": 7e6},  # a probe without types is left out
        {"t_sim_s": 60.0, "types": None},
    ]  # fmt: skip
    ax = types_figure(summaries, ["dict", "list"]).axes[0]
    assert ax.get_xlabel() == "simulated minutes" and ax.get_ylabel() == "size (MB)"
    assert ax.get_title() == "What grows: the fastest-growing types, stacked"
    dict_stack, list_stack = ax.collections
    top_of = [path.vertices[:, 1].max() for path in (dict_stack.get_paths()[0], list_stack.get_paths()[0])]
    assert top_of == [3.0, 3.0]  # dict 1 then 3 MB; list 2 MB on top of it, then nothing
    assert (
        to_hex(dict_stack.get_facecolor()[0]) == "#d62728"
        and to_hex(list_stack.get_facecolor()[0]) == "#2ca02c"
    )
    (heap,) = ax.get_lines()
    np.testing.assert_allclose(heap.get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(heap.get_ydata(), [5, 0, 9])


def test_each_holder_is_drawn_in_its_colour_by_bytes_and_by_items():
    points = _points()
    points[1]["pattern"] = "app." + "x" * 120
    held, items = holders_figure(points).axes
    assert held.get_ylabel() == "held (MB)" and items.get_ylabel() == "items"
    assert held.get_title() == "Where it is held: each accumulation point at each probe"
    first, second = held.get_lines()
    np.testing.assert_allclose(first.get_xdata(), [5, 10, 15, 20, 25, 30])
    np.testing.assert_allclose(first.get_ydata(), [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(items.get_lines()[1].get_ydata(), [100, 200, 300, 400, 500, 600])
    assert [to_hex(line.get_color()) for line in (first, second)] == ["#d62728", "#2ca02c"]
    assert [to_hex(line.get_color()) for line in items.get_lines()] == ["#d62728", "#2ca02c"]
    # A path too long for the legend keeps both ends: it has no spaces to be shortened at.
    assert [t.get_text() for t in held.get_legend().get_texts()] == [
        HOLDER,
        "app." + "x" * 41 + "…" + "x" * 44,
    ]
    assert holders_figure([]).axes[0].get_legend() is None


def test_the_legend_names_two_replicates_band_and_a_cleanup_in_any_panel(tmp_path):
    runs = [synthetic_run(tmp_path, "cleanup only", 0.0, "sawtooth", r, minutes=30) for r in (1, 2)]
    runs += [synthetic_run(tmp_path, "caps only", 0.6, "linear", r, minutes=30) for r in (1, 2)]
    fig = comparison_figure(runs, summarize_comparison(runs)["runs"])
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        "median of the 2 replicates",
        "their lowest to highest",
        "cleanup only (baseline)",
        "cleanup runs",  # drawn in the first panel only, still named
    ]
    assert to_hex(legend.legend_handles[2].get_color()) == BASELINE_GREY
    assert to_hex(legend.legend_handles[3].get_color()) == "#333333"  # a cleanup, whatever the verdict
    # Nothing to compare: one empty panel and the plain key.
    empty = comparison_figure([])
    assert [t.get_text() for t in empty.legends[0].get_texts()] == ["RSS"]
    assert empty.get_supxlabel() == "simulated minutes"


def test_plotting_writes_the_pictures_as_the_figures_draw_them(tmp_path):
    runs = [synthetic_run(tmp_path, "off", 7.0, "linear", r, minutes=5) for r in (1, 2)]
    # The comparison's entries pool the replicates in one panel; without them each run is one.
    path = plot_comparison(runs, tmp_path / "pooled.png", summarize_comparison(runs)["runs"])
    assert count_panels(path) == 1
    assert count_panels(plot_comparison(runs, tmp_path / "apart.png")) == 2
    # A run saved without its time axis was a soak's: simulated time.
    for run in runs:
        del run["meta"]["time_axis"]
    assert count_panels(plot_comparison(runs, tmp_path / "soak.png")) == 2
    holders = plot_holders(_points(), tmp_path / "holders.png", time_axis="t_wall_s")
    assert count_panels(holders) == 2 and pixels(holders).shape[:2] == (int(5.5 * 110), 9 * 110)
    summaries = [{"t_sim_s": 60.0 * k, "py_heap_bytes": 5e6 * k, "types": []} for k in range(3)]
    types = plot_types(summaries, [], tmp_path / "types.png")
    assert count_panels(types) == 1 and pixels(types).shape[:2] == (4 * 110, 9 * 110)
