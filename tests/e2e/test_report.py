"""`leakhunt report` and a run's report.html: rendered from the files alone, self-contained, escaped."""

import json
import os
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import start
from tests.e2e.conftest import assert_real_figure, leakhunt, load_json
from tests.helpers.processes import stop

RENDERED = ("summary.json", "report.html", "memory.png")


@pytest.fixture(scope="module")
def probed_run(tmp_path_factory) -> Path:
    """A short soak with probes, so its report has every figure."""
    run_dir = tmp_path_factory.mktemp("report") / "run"
    leakhunt(
        "soak",
        "--scenario",
        "smoke",
        "--minutes",
        "6",
        "--probe-interval",
        "1m",
        "--out",
        str(run_dir),
        check_rc=0,
    )
    return run_dir


def test_report_renders_a_single_run_again_from_its_files_alone(probed_run, tmp_path):
    copy = tmp_path / "copied-from-a-server"
    copy.mkdir()
    for name in ("meta.json", "samples.csv", "summaries.jsonl"):
        (copy / name).write_bytes((probed_run / name).read_bytes())
    result = leakhunt("report", str(copy), "--json", check_rc=0)
    summary = json.loads(result.stdout)
    assert summary == load_json(copy / "summary.json")
    original = load_json(probed_run / "summary.json")

    def comparable(s: dict) -> dict:
        # Types growing at the same rate may be listed in either order: compare them as a set.
        types = sorted(json.dumps(t, sort_keys=True) for t in s["attribution"]["types"])
        return {**s, "run_dir": None, "attribution": {**s["attribution"], "types": types}}

    assert comparable(summary) == comparable(original)
    assert summary["run_dir"] == str(copy)
    assert_real_figure(copy / "memory.png")
    assert (copy / "types.png").exists() and (copy / "report.html").stat().st_size > 0


class _References(HTMLParser):
    """Every address a browser would fetch: src/href attributes and CSS url(...)."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.addresses += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "data")]

    def handle_data(self, data: str) -> None:
        self.addresses += [part.split(")")[0] for part in data.split("url(")[1:]]


def test_a_runs_report_html_fetches_nothing_from_elsewhere(probed_run):
    text = (probed_run / "report.html").read_text()
    parser = _References()
    parser.feed(text)
    assert parser.addresses, "the figures are images: their sources must be found"
    figures = sorted(p.name for p in probed_run.glob("*.png"))
    assert len(figures) >= 2 and len(parser.addresses) == len(figures)  # every figure, inlined
    assert all(address.startswith("data:image/png;base64,") for address in parser.addresses)
    assert not parser.tags & {"script", "link", "iframe", "object", "embed"}
    assert "@import" not in text


def test_labels_and_log_lines_are_escaped_in_report_html(tmp_path):
    token = f"<script>leakhunt{uuid.uuid4().hex}</script>"
    target = start("-c", f"import sys; print('ready', flush=True); sys.stdin.read()  # {token}")
    log = tmp_path / "service.log"
    log.write_text("INFO <img src=x onerror=alert(1)> cleanup complete\n")
    out = tmp_path / "run"
    try:
        leakhunt(
            "watch",
            "--match",
            token,
            "--duration",
            "1s",
            "--interval",
            "200ms",
            "--events",
            f"tail -n +1 -f {log}",
            "--event-match",
            "cleanup complete",
            "--out",
            str(out),
            check_rc=0,
        )
    finally:
        stop(target)
    assert load_json(out / "meta.json")["label"] == token
    text = (out / "report.html").read_text()
    parser = _References()
    parser.feed(text)
    assert not parser.tags & {"script"} and "onerror" not in str(parser.addresses)
    assert f"<title>leakhunt: {token.replace('<', '&lt;').replace('>', '&gt;')}</title>" in text
    assert "INFO &lt;img src=x onerror=alert(1)&gt; cleanup complete" in text
    assert "<img src=x" not in text


def test_an_unexpected_error_is_one_line_and_exit_1_and_debug_shows_the_traceback(probed_run, tmp_path):
    # Valid JSON that breaks an assumption of the analysis: events is a list.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "samples.csv").write_bytes((probed_run / "samples.csv").read_bytes())
    meta = load_json(probed_run / "meta.json")
    (broken / "meta.json").write_text(json.dumps({**meta, "events": 3}))
    result = leakhunt("report", str(broken))
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("internal error: TypeError") and "rerun with --debug" in lines[0]
    debug = leakhunt("--debug", "report", str(broken))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "TypeError" in debug.stderr
    assert not (broken / "report.html").exists()
    assert set(os.listdir(broken)) == {"samples.csv", "meta.json"}
