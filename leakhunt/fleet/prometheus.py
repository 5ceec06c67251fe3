"""Read memory series from Prometheus' HTTP API (`/api/v1/query_range`, `/api/v1/query`).

Rules:
- The step: `--step`, or the range over `DEFAULT_POINTS` (1,440: 15 s over 6 h), rounded up to
  whole seconds. The fit bins the curve to a few hundred medians anyway; more points would only
  cost transfer time.
- Start and end are aligned down to multiples of the step, as Grafana does: the points then fall
  where a subquery `[W:step]` evaluates, so the server's own `predict_linear` can be checked
  against ours on the very same points.
- Chunks: the server refuses more than 11,000 points per series in one query_range
  (`MAX_POINTS_PER_SERIES`). Requests cover consecutive, non-overlapping stretches of the grid
  (each chunk starts one step after the last ended). The first asks for `FIRST_CHUNK_POINTS`
  only; once it says how many series the query matches (the most seen so far), later chunks are
  cut so that series x points stays under `POINTS_PER_REQUEST`: one JSON body stays near 8 MB
  however large the fleet (1,000 series x 1,441 points in one body took 557 MB of RSS to parse).
- Each chunk's JSON is turned into float arrays per series at once and dropped; what stays is
  16 bytes per point (time and value), never the parsed JSON of the whole range. Memory is then
  those arrays and one chunk's JSON, whatever the range and the fleet (benchmarks/results.md).
- Cost: the parse makes a few million small lists and strings that hold no cycle, so the cyclic
  garbage collector is paused while a fetch turns them into arrays (it walked them again and
  again: two thirds of the parse's time). A server on this machine (a loopback address) is asked
  for uncompressed answers: gzip there costs the server more CPU than the bytes it saves (38 MB
  of JSON for 1,000 series x 6 h took 4.4 s gzipped against 0.55 s plain on a loaded 2-core
  machine); across a network the answers stay compressed.
- A series is its label set (`__name__` included); chunks are merged on it.
- Missing points (the series absent at a step) and "NaN" values are gaps, never zeros.
- Errors are one line: the server unreachable, its own `error` text for bad PromQL, a query that
  matches nothing.
"""

import gc
import ipaddress
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import numpy as np

from leakhunt.errors import RunError, UsageError

MAX_POINTS_PER_SERIES = 11_000
# series x points per request after the first: ~30 bytes of JSON each, so ~8 MB per body.
POINTS_PER_REQUEST = 100_000
FIRST_CHUNK_POINTS = 60
DEFAULT_POINTS = 1440
TIMEOUT_S = 60.0

LabelKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Window:
    """The evaluation grid: start, end (both on the grid) and step, in Unix seconds."""

    start_s: float
    end_s: float
    step_s: float

    @property
    def n_points(self) -> int:
        return round((self.end_s - self.start_s) / self.step_s) + 1

    @property
    def range_s(self) -> float:
        return self.end_s - self.start_s


def choose_step_s(range_s: float) -> float:
    """The default step: about `DEFAULT_POINTS` points over the range, whole seconds, at least 1 s."""
    return float(max(1, math.ceil(range_s / DEFAULT_POINTS)))


def aligned_window(start_s: float, end_s: float, step_s: float) -> Window:
    """Start and end moved down to multiples of the step (see the module's rules)."""
    if step_s <= 0:
        raise UsageError(f"--step must be positive, got {step_s:g} s")
    start = math.ceil(start_s / step_s) * step_s
    end = math.floor(end_s / step_s) * step_s
    if end <= start:
        raise UsageError(
            f"the range ({end_s - start_s:g} s) holds fewer than two steps of {step_s:g} s: "
            "widen --range or shorten --step"
        )
    return Window(float(start), float(end), float(step_s))


def series_name(labels: dict[str, str]) -> str:
    """A label set as PromQL writes it: `metric{job="a",instance="b"}`."""
    metric = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{metric}{{{rest}}}" if rest or not metric else metric


@dataclass
class Series:
    """One series over the window: points present only, times in Unix seconds."""

    labels: dict[str, str]
    t_s: np.ndarray
    values: np.ndarray

    @property
    def name(self) -> str:
        return series_name(self.labels)


@dataclass
class _Parts:
    labels: dict[str, str]
    t_parts: list[np.ndarray] = field(default_factory=list)
    v_parts: list[np.ndarray] = field(default_factory=list)


def _key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


def on_this_machine(url: str) -> bool:
    """Whether the server's host is a loopback address (or `localhost`)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while (see the rules), back on as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _server_error(response: httpx.Response) -> str:
    """The server's own `error` text, on one line; the status line when the body is not its JSON."""
    try:
        body = response.json()
        text = str(body.get("error") or body)
    except ValueError:
        text = response.text.strip() or response.reason_phrase
    return " ".join(text.split())


class PrometheusClient:
    """A thin reader of the HTTP API; `transport` lets tests hand in their own (none do today)."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S) -> None:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--prometheus {url!r} is not a URL: give one such as http://127.0.0.1:9090")
        self.url = url
        headers = {"Accept-Encoding": "identity"} if on_this_machine(url) else None
        self._http = httpx.Client(base_url=url, timeout=timeout_s, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "PrometheusClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, data: dict[str, str]) -> list[dict]:
        try:
            response = self._http.post(path, data=data)
        except httpx.TimeoutException:
            raise RunError(
                f"Prometheus at {self.url} did not answer within {self._http.timeout.read:g} s: "
                "narrow the query or the range, or raise --step"
            ) from None
        except httpx.HTTPError as exc:
            raise UsageError(
                f"cannot reach Prometheus at {self.url} ({type(exc).__name__}: {exc}): "
                "check --prometheus and that the server is up"
            ) from None
        if response.status_code in (400, 422):
            raise UsageError(f"Prometheus refused the query: {_server_error(response)}")
        if response.status_code == 404:
            raise UsageError(
                f"{self.url}{path} does not exist: give the server's base URL to --prometheus, "
                "such as http://127.0.0.1:9090"
            )
        if response.status_code != 200:
            raise RunError(
                f"Prometheus at {self.url} answered {response.status_code}: {_server_error(response)}"
            )
        try:
            body = response.json()
        except ValueError:
            raise UsageError(
                f"{self.url}{path} did not answer with Prometheus JSON: is --prometheus the server's "
                "base URL (such as http://127.0.0.1:9090)?"
            ) from None
        if body.get("status") != "success":
            raise UsageError(f"Prometheus refused the query: {' '.join(str(body.get('error')).split())}")
        data_part = body.get("data") or {}
        result = data_part.get("result")
        if data_part.get("resultType") not in ("matrix", "vector") or not isinstance(result, list):
            raise UsageError(
                f"the query gives a {data_part.get('resultType')}, not series: give an expression "
                'of series, such as process_resident_memory_bytes{job="app"}'
            )
        return result

    def chunks(self, query: str, window: Window) -> Iterator[tuple[Window, list[dict]]]:
        """The raw results of consecutive query_range requests covering the window."""
        step = window.step_s
        per_request, most_series = FIRST_CHUNK_POINTS, 1
        start = window.start_s
        while start <= window.end_s + 1e-9:
            end = min(window.end_s, start + (per_request - 1) * step)
            chunk = Window(start, end, step)
            result = self._post(
                "/api/v1/query_range",
                {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"},
            )
            yield chunk, result
            # Later chunks: sized from the number of series the query matches.
            if not result and most_series == 1:
                # Nothing yet (the series start later): widen step by step, not to 11,000 at once.
                per_request = min(MAX_POINTS_PER_SERIES, per_request * 4)
            else:
                most_series = max(most_series, len(result))
                per_request = max(2, min(MAX_POINTS_PER_SERIES, POINTS_PER_REQUEST // most_series))
            start = end + step

    def fetch(
        self, query: str, window: Window, *, on_chunk: Callable[[Window, int], None] | None = None
    ) -> list[Series]:
        """Every series the query matches over the window, merged across chunks."""
        merged: dict[LabelKey, _Parts] = {}
        with _collector_paused():
            for chunk, result in self.chunks(query, window):
                for item in result:
                    labels = dict(item.get("metric") or {})
                    points = item.get("values") or []
                    if not points:
                        continue
                    parts = merged.setdefault(_key(labels), _Parts(labels))
                    parts.t_parts.append(np.fromiter((p[0] for p in points), float, len(points)))
                    parts.v_parts.append(np.array([p[1] for p in points], dtype=float))
                if on_chunk is not None:
                    on_chunk(chunk, len(result))
        series = []
        while merged:  # each series' parts are dropped as soon as they are joined
            _, parts = merged.popitem()
            t_s, values = np.concatenate(parts.t_parts), np.concatenate(parts.v_parts)
            labels = parts.labels
            del parts
            present = np.isfinite(values)  # "NaN" is a gap, as a missing point is
            series.append(Series(labels, t_s[present], values[present]))
        series.reverse()  # popitem takes the last first: back to the server's order
        return series

    def instant(self, query: str, at_s: float) -> list[tuple[dict[str, str], float]]:
        """An instant query at `at_s`: (labels, value) per series."""
        result = self._post("/api/v1/query", {"query": query, "time": f"{at_s:.3f}"})
        return [(dict(item.get("metric") or {}), float(item["value"][1])) for item in result]


def match_labels(labels: dict[str, str], candidates: list[dict[str, str]]) -> int | None:
    """Which candidate label set belongs to `labels`: every label both have (the metric name
    aside) agrees, and of those that do, the one sharing the most labels; None if none does or
    two tie with different labels."""
    best, best_shared, tied = None, -1, False
    for index, other in enumerate(candidates):
        shared = [k for k in other if k != "__name__" and k in labels]
        if any(other[k] != labels[k] for k in shared):
            continue
        if len(shared) > best_shared:
            best, best_shared, tied = index, len(shared), False
        elif len(shared) == best_shared:
            tied = True
    return None if tied else best
