"""pytest plugin: soak a test's body in a forked child and fail the build on a leak, with who holds it.

    @pytest.mark.leakhunt(calls=2000, growth="<1KB/call")
    def test_parse_does_not_leak():
        parse(SAMPLE)

The marked test's body runs `calls` times in a forked child (runs/calls.py): RSS and the
Python heap's size after every call (and, when it does not pass, again with heap snapshots at a
few calls, to say what grows); growth per call is judged as `watch` judges growth per
minute (analysis/per_call.py). A leak fails the test with its rate and interval, what grows and
where it is held, and a run directory holding memory.png and report.html. Too few calls to tell
(NOT PROVEN) fails too, unless `leakhunt_allow_unproven = true`.

Also: the `leakhunt` fixture, `leakhunt(func, calls=..., growth=...)`, for parametrised or async
tests (pass `lambda: asyncio.run(coroutine())`); and `pytest --leakhunt`, which gives tests
matching `leakhunt_pattern` (ini, fnmatch on the test name) the default budget
(`leakhunt_calls`, `leakhunt_growth`).
"""

import fnmatch
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DEFAULT_CALLS = 1000
DEFAULT_GROWTH = "<1KB/call"
MARKER = "leakhunt"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakhunt", "memory growth per call (leakhunt)")
    group.addoption(
        "--leakhunt",
        action="store_true",
        help="Also check tests matching leakhunt_pattern (ini) with the default budget.",
    )
    parser.addini("leakhunt_pattern", "Test names (fnmatch) checked under --leakhunt.", type="linelist")
    parser.addini("leakhunt_calls", f"Default calls per check ({DEFAULT_CALLS}).", default=str(DEFAULT_CALLS))
    parser.addini("leakhunt_growth", f"Default budget (default {DEFAULT_GROWTH!r}).", default=DEFAULT_GROWTH)
    parser.addini("leakhunt_allow_unproven", "Let NOT PROVEN pass.", type="bool", default=False)
    parser.addini("leakhunt_out", "Where failed checks' run directories go (reports/leakhunt-pytest).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "leakhunt(calls=1000, growth='<1KB/call', probes=5, deadline_s=600): run the test's body "
        "`calls` times in a forked child and fail on memory growth per call over the budget",
    )


def _settings(config: pytest.Config, marker: pytest.Mark | None) -> dict[str, Any]:
    kwargs = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - {"calls", "growth", "probes", "deadline_s"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.leakhunt: unknown argument(s) {', '.join(sorted(unknown))}")
    return {
        "calls": int(kwargs.get("calls", config.getini("leakhunt_calls"))),
        "growth": str(kwargs.get("growth", config.getini("leakhunt_growth"))),
        "probes": int(kwargs.get("probes", 5)),
        "deadline_s": float(kwargs.get("deadline_s", 600.0)),
    }


def _out_dir(config: pytest.Config, name: str) -> Path:
    root = config.getini("leakhunt_out") or str(config.rootpath / "reports" / "leakhunt-pytest")
    return Path(root) / re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def _judge(run: Any, budget: Any) -> Any:
    from leakhunt.analysis.per_call import judge_calls

    return judge_calls(run.rss_bytes, run.allocated_blocks, run.traced_bytes, run.summaries, budget)


def check(
    config: pytest.Config,
    name: str,
    func: Callable[[], Any],
    *,
    calls: int,
    growth: str,
    probes: int = 5,
    deadline_s: float = 600.0,
) -> None:
    """Run `func` `calls` times and fail the current test unless its growth passes the budget."""
    from leakhunt.analysis.per_call import parse_budget
    from leakhunt.errors import LeakhuntError
    from leakhunt.report.calls import write_calls_report
    from leakhunt.runs.calls import run_calls

    try:
        budget = parse_budget(growth)
        # Heap snapshots walk the whole heap (seconds each in a test process): a passing function
        # is judged on its readings alone, and only one that does not pass is run again with
        # snapshots, to say what grows. The calls are the same code, so the verdict is the second
        # run's, with its snapshots beside it.
        run = run_calls(func, calls, probes=0, deadline_s=deadline_s)
        verdict = _judge(run, budget)
        if not verdict.passed and probes:
            run = run_calls(func, calls, probes=probes, deadline_s=deadline_s)
            verdict = _judge(run, budget)
    except LeakhuntError as exc:
        pytest.fail(f"leakhunt: {exc.message}", pytrace=False)
    allowed = verdict.status == "NOT PROVEN" and config.getini("leakhunt_allow_unproven")
    if verdict.passed or allowed:
        return
    out_dir = write_calls_report(_out_dir(config, name), name, run.rss_bytes, run.allocated_blocks, verdict)
    where = f"run directory: {out_dir} (memory.png, report.html)"
    pytest.fail("\n".join([*verdict.lines, where]), pytrace=False)


def _applies(item: pytest.Function) -> pytest.Mark | bool:
    marker = item.get_closest_marker(MARKER)
    if marker is not None:
        return marker
    patterns = item.config.getini("leakhunt_pattern")
    return bool(item.config.getoption("leakhunt") and any(fnmatch.fnmatch(item.name, p) for p in patterns))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    applies = _applies(pyfuncitem)
    if not applies:
        return None
    marker = applies if isinstance(applies, pytest.Mark) else None
    test = pyfuncitem.obj
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    if inspect.iscoroutinefunction(test):
        import asyncio

        def body() -> None:
            asyncio.run(test(**arguments))
    else:

        def body() -> None:
            test(**arguments)

    check(pyfuncitem.config, pyfuncitem.nodeid, body, **_settings(pyfuncitem.config, marker))
    return True


@pytest.fixture
def leakhunt(request: pytest.FixtureRequest) -> Callable[..., None]:
    """`leakhunt(func, calls=1000, growth="<1KB/call")`: check `func` within a test."""
    config = request.config

    def run(func: Callable[[], Any], **options: Any) -> None:
        settings = _settings(config, None)
        settings.update(options)
        check(config, request.node.nodeid, func, **settings)

    return run
