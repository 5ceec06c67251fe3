"""What grows: types, lines and the containers that hold the growth, and RSS growth not in
Python objects.

Input is summaries.jsonl (one heap snapshot per probe, see sampling/probe.py), each stamped with
the moment its objects were counted (the fork), and rates use that time. Rates are Theil-Sen
slopes over the probes (a plain difference with only two), so one noisy probe does not decide the
ranking. A type absent from a probe's top list counts as zero there: its rate is then a lower
bound, which is the safe side for a ranking of what grows.

Accumulation points (who holds it): every probe lists the containers holding the most, by path
(sampling/walk.py). A container is an accumulation point when, over the fitted probes, it is
present in the last probe and in at least ACCUMULATION_MIN_PROBES, its element count rises from
first to last and never falls by more than ACCUMULATION_MAX_DROP between probes (a sawtooth
buffer that is emptied is not one), and its held bytes grow at a positive Theil-Sen rate. Points
whose paths differ only in dict keys or indexes (one cache per symbol and timeframe) are grouped
under one pattern with `[*]`, their rates summed, and one example path kept.

A share of RSS growth above 100 % is possible (objects reuse memory RSS already counted, or the
objects' rate is fitted over other moments than RSS's); it is never shown without that reason,
and the reason is given only when a share reads above 100 % in whole percent.
When nothing can be attributed (no probes, too few, probes off, no agent), the section says why
and which option fixes it.
"""

import re
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np

MB = 1e6
# Below this share of the RSS growth, Python objects are said not to explain it.
PYTHON_EXPLAINS_SHARE = 0.5
NEGLIGIBLE_SHARE_OF_BOUND = 0.1
ACCUMULATION_MIN_PROBES = 3
ACCUMULATION_MAX_DROP = 0.05
# An accumulation point must grow at least this share of the Python objects' own growth rate.
ACCUMULATION_MIN_SHARE = 0.01
ADVISED_PROBES = 6
SHARE_ABOVE_ONE_REASON = (
    "Shares above 100 % mean the objects grew faster than RSS between the probes: they reuse memory "
    "RSS already counted (freed objects, allocator free lists), or RSS is fitted over other moments "
    "than the probes. The objects' rate is measured at the moments they were counted."
)


@dataclass(frozen=True)
class Growing:
    name: str
    first_count: int
    last_count: int
    first_size_bytes: int
    last_size_bytes: int
    bytes_per_min: float
    share_of_rss_growth: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def theil_sen_slope(t: np.ndarray, values: np.ndarray) -> float:
    """The median of the slopes between every pair of points apart in t: scipy.stats.theilslopes'
    slope, computed as it computes it. scipy.stats itself takes 0.4-0.6 s to import, a sixth of a
    soak's wall time, for these three lines (tests/analysis/test_attribution.py holds them equal)."""
    t, values = np.asarray(t, dtype=float), np.asarray(values, dtype=float)
    apart_t = t[:, np.newaxis] - t
    apart = apart_t > 0
    return float(np.median((values[:, np.newaxis] - values)[apart] / apart_t[apart]))


def _rate_bytes_per_min(t_min: np.ndarray, values: np.ndarray) -> float:
    if len(t_min) < 2 or np.ptp(t_min) == 0:
        return 0.0
    if len(t_min) == 2:
        return float((values[1] - values[0]) / (t_min[1] - t_min[0]))
    return theil_sen_slope(t_min, values)


def _rank(
    summaries: list[dict[str, Any]], rows_of: Any, key: str, rss_slope: float | None, top: int
) -> list[Growing]:
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    tables = [{row[key]: row for row in rows_of(s)} for s in summaries]
    names = set().union(*tables)
    ranked = []
    for name in names:
        sizes = np.array([t.get(name, {}).get("size_bytes", 0) for t in tables], dtype=float)
        counts = [t.get(name, {}).get("count", 0) for t in tables]
        rate = _rate_bytes_per_min(t_min, sizes)
        share = rate / rss_slope if rss_slope and rss_slope > 0 else None
        ranked.append(Growing(name, counts[0], counts[-1], int(sizes[0]), int(sizes[-1]), rate, share))
    ranked.sort(key=lambda g: g.bytes_per_min, reverse=True)
    return [g for g in ranked[:top] if g.bytes_per_min > 0]


def rank_growing_types(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float | None = None, top: int = 10
) -> list[Growing]:
    return _rank(summaries, lambda s: s.get("types") or [], "type", rss_slope_bytes_per_min, top)


def rank_growing_lines(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float | None = None, top: int = 10
) -> list[Growing]:
    traced = [s for s in summaries if s.get("tracemalloc")]
    return _rank(traced, lambda s: s["tracemalloc"]["lines"], "where", rss_slope_bytes_per_min, top)


@dataclass(frozen=True)
class Gap:
    rss_bytes_per_min: float
    python_bytes_per_min: float
    gap_bytes_per_min: float
    python_share: float | None
    statement: str
    measurable: bool  # RSS or the Python objects grow more than noise
    # "none", "python", "unheld" (Python objects nothing reachable holds), "native", "reuse"
    kind: str = "python"
    reachable_bytes_per_min: float | None = None
    unheld_bytes_per_min: float | None = None
    pymalloc_bytes_per_min: float | None = None
    blocks_per_min: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _series_rate(summaries: list[dict[str, Any]], value_of: Any) -> float | None:
    """The rate of a per-probe value, or None when a probe lacks it (an older agent, a search
    that stopped at its bound): a rate over some of the probes would be another window's."""
    values = [value_of(s) for s in summaries]
    if any(v is None for v in values):
        return None
    t_min = np.array([s["t_sim_s"] for s in summaries], dtype=float) / 60.0
    return _rate_bytes_per_min(t_min, np.array(values, dtype=float))


def _search(summary: dict[str, Any]) -> dict[str, Any]:
    return summary.get("holder_search") or {}


def _unreached(summary: dict[str, Any]) -> dict[str, Any]:
    return _search(summary).get("unreached") or {}


@dataclass(frozen=True)
class _Inside:
    """The rates the probes give, beside RSS's: what the GC lists, what the roots reach, what the
    small-object allocator and tracemalloc hold."""

    python: float
    reachable: float | None
    pymalloc: float | None
    blocks: float | None
    traced: float | None
    unreached: float | None
    unreached_count: float | None
    held_from_outside: float | None

    @property
    def live(self) -> float:
        """Live Python memory: the largest of the views that count every object, held or not."""
        return max(v for v in (self.python, self.pymalloc, self.traced) if v is not None)

    @property
    def unheld(self) -> float | None:
        return None if self.reachable is None else self.live - self.reachable


def _inside(summaries: list[dict[str, Any]]) -> _Inside:
    traced = [s.get("tracemalloc") for s in summaries]
    return _Inside(
        python=_series_rate(summaries, lambda s: s.get("py_heap_bytes", 0)) or 0.0,
        reachable=_series_rate(summaries, lambda s: _search(s).get("reachable_bytes")),
        pymalloc=_series_rate(summaries, lambda s: s.get("pymalloc_bytes")),
        blocks=_series_rate(summaries, lambda s: s.get("allocated_blocks")),
        traced=_series_rate(summaries, lambda s: (s.get("tracemalloc") or {}).get("traced_bytes"))
        if all(traced)
        else None,
        unreached=_series_rate(summaries, lambda s: _unreached(s).get("bytes")),
        unreached_count=_series_rate(summaries, lambda s: _unreached(s).get("objects")),
        held_from_outside=_series_rate(summaries, lambda s: _unreached(s).get("held_from_outside")),
    )


def native_gap(
    summaries: list[dict[str, Any]], rss_slope_bytes_per_min: float, stable_bound_bytes_per_min: float
) -> Gap:
    """RSS growth minus the growth of the Python objects the probe sees, and what that means."""
    inside = _inside(summaries)
    python_rate = inside.python
    gap = rss_slope_bytes_per_min - python_rate
    share = python_rate / rss_slope_bytes_per_min if rss_slope_bytes_per_min > 0 else None
    rss_text, py_text = f"{rss_slope_bytes_per_min / MB:.3g} MB/min", f"{python_rate / MB:.3g} MB/min"
    # Below the stable bound growth is still attributed (a slow leak is a leak); only growth too
    # small to tell from noise is not. Objects can grow while RSS does not (the allocator hands
    # back memory freed earlier), and that is still growth to attribute.
    negligible = NEGLIGIBLE_SHARE_OF_BOUND * stable_bound_bytes_per_min
    unheld = inside.unheld
    kind = "python"
    if max(rss_slope_bytes_per_min, inside.live) <= negligible:
        kind = "none"
        statement = f"RSS does not grow measurably ({rss_text}): nothing to attribute."
    elif (
        unheld is not None
        and unheld > negligible
        and unheld >= PYTHON_EXPLAINS_SHARE * inside.live
        and inside.live >= UNHELD_MIN_SHARE_OF_RSS * rss_slope_bytes_per_min
    ):
        kind = "unheld"
        statement = unheld_statement(summaries, inside, rss_slope_bytes_per_min)
    elif rss_slope_bytes_per_min <= negligible:
        kind = "reuse"
        statement = (
            f"RSS does not grow measurably yet ({rss_text}) but the Python objects do ({py_text}): "
            "the allocator is reusing memory it already holds, and RSS grows once that is used up. "
            "Look at the growing types below."
        )
    elif share is not None and share >= PYTHON_EXPLAINS_SHARE:
        # The share as measured, above 100 % too: its reason is in the section's notes.
        statement = (
            f"Python objects explain {share:.0%} of the RSS growth "
            f"({py_text} of {rss_text}): look at the growing types below."
        )
    else:
        kind = "native"
        statement = (
            f"RSS grows {rss_text} but the Python objects the probe sees grow {py_text}: "
            f"{gap / MB:.3g} MB/min is not Python objects — native memory or allocator "
            "retention (NumPy/pandas buffers or C extensions outside pympler's view, glibc "
            "arenas holding freed memory). Try the cleanup with malloc_trim, or a native "
            "profiler such as memray with --native."
        )
    measurable = max(rss_slope_bytes_per_min, inside.live) > negligible
    return Gap(
        rss_slope_bytes_per_min,
        python_rate,
        gap,
        share,
        statement,
        measurable,
        kind=kind,
        reachable_bytes_per_min=inside.reachable,
        unheld_bytes_per_min=unheld,
        pymalloc_bytes_per_min=inside.pymalloc,
        blocks_per_min=inside.blocks,
    )


# Python memory nothing holds is named when it is most of the live Python growth and at least
# this share of RSS's (tracemalloc's own traces, when it is on, and allocator slack make up the
# rest: measured 31 % on multidict 6.3.0 traced with 8 frames).
UNHELD_MIN_SHARE_OF_RSS = 0.25
UNHELD_HEAD = "Python objects nothing holds: a reference-count leak in a C extension"
CYCLES_HEAD = "Python objects nothing holds: cyclic garbage the collector has not freed yet"
# Below this share of the unreachable objects' own rate, those held from outside Python are too
# few to call a reference leak (cycles of garbage are referenced only from inside themselves).
HELD_FROM_OUTSIDE_SHARE = 0.1


def unheld_statement(summaries: list[dict[str, Any]], inside: _Inside, rss_bytes_per_min: float) -> str:
    """Live Python memory grows and what the roots reach does not: who keeps it, in words."""
    unheld = inside.unheld or 0.0
    evidence = []
    if inside.pymalloc is not None and inside.pymalloc > 0:
        blocks = f", {inside.blocks:+,.0f} blocks/min" if inside.blocks is not None else ""
        evidence.append(f"the small-object allocator's live blocks {mb(inside.pymalloc)}{blocks}")
    if inside.traced is not None and inside.traced > 0:
        evidence.append(f"tracemalloc {mb(inside.traced)}")
    if inside.python > 0:
        evidence.append(f"the objects the GC lists {mb(inside.python)}")
    cycles = (
        inside.unreached is not None
        and inside.unreached >= PYTHON_EXPLAINS_SHARE * unheld
        and (inside.held_from_outside or 0.0) < HELD_FROM_OUTSIDE_SHARE * (inside.unreached_count or 0.0)
    )
    head = CYCLES_HEAD if cycles else UNHELD_HEAD
    text = (
        f"{head}, not native memory. Live Python memory grows {mb(inside.live)} "
        f"({'; '.join(evidence)}) against RSS's {mb(rss_bytes_per_min)}, while what modules, classes "
        f"and frames reach grows {mb(inside.reachable or 0.0)}: {mb(unheld)} is objects no "
        "Python object refers to."
    )
    if inside.live < 0.8 * rss_bytes_per_min:
        text += (
            f" The other {mb(rss_bytes_per_min - inside.live)} of RSS is outside Python's objects "
            "(tracemalloc's own records when it traces, allocator slack, native memory)."
        )
    seen_by_gc = inside.unreached is not None and inside.unreached >= UNHELD_MIN_SHARE_OF_RSS * unheld
    if seen_by_gc:
        text += f" The GC lists them but no root reaches them: {_lost_types(summaries)}."
    else:
        text += " The GC does not list them: objects it does not track (str, bytes, int, float)."
    if cycles:
        return text + (
            " They refer only to each other: gc.collect() frees them. Is the collector disabled "
            "(gc.disable, gc.freeze) or its thresholds raised?"
        )
    if seen_by_gc and inside.held_from_outside:
        text += f" {inside.held_from_outside:+,.0f} objects/min hold references no Python object has."
    text += " C code took a reference and never gave it back: malloc_trim frees none of it."
    extensions = (summaries[-1].get("extensions") or []) if summaries else []
    if extensions:
        named = ", ".join(f"{e['package']} {e.get('version') or '(version unknown)'}" for e in extensions[:8])
        text += f" Compiled extensions loaded: {named}: look for a reference leak fixed in a later release."
    lines = rank_growing_lines(summaries, rss_bytes_per_min, top=3)
    lines = [g for g in lines if g.bytes_per_min >= 0.05 * lines[0].bytes_per_min]
    if lines:
        where = ", ".join(f"{g.name} ({g.bytes_per_min / MB:+.3g} MB/min)" for g in lines)
        text += f" Allocated at {where}."
    else:
        text += (
            " To name the lines that allocate them, trace allocations: soak --tracemalloc 8, or "
            "run the service under `python -m leakhunt.agent --tracemalloc 8 -- ...`."
        )
    return text


def mb(rate_bytes_per_min: float) -> str:
    return f"{rate_bytes_per_min / MB:.3g} MB/min"


def _lost_types(summaries: list[dict[str, Any]], top: int = 3) -> str:
    """The types of the objects the GC lists but no root reaches, fastest first."""
    rows = [s for s in summaries if _unreached(s).get("types") is not None]
    if len(rows) < 2:
        return ""
    ranked = _rank(rows, lambda s: _unreached(s)["types"], "type", None, top)
    return ", ".join(f"{g.name} {(g.last_count - g.first_count):+,}" for g in ranked)


def attribute(
    summaries: list[dict[str, Any]],
    rss_slope_bytes_per_min: float,
    stable_bound_bytes_per_min: float,
    since_s: float | None = None,
) -> dict[str, Any] | None:
    """The "What grows" section of a report; None with fewer than two probes.

    `since_s` limits the rates to the part of the run the RSS slope was fitted on (after warm-up,
    or the last third of a plateau), so a cache filling up to its cap is not called growth.
    """
    usable = sorted((s for s in summaries if "t_sim_s" in s and "types" in s), key=lambda s: s["t_sim_s"])
    if since_s is not None and sum(s["t_sim_s"] >= since_s for s in usable) >= 2:
        usable = [s for s in usable if s["t_sim_s"] >= since_s]
    if len(usable) < 2:
        return None
    gap = native_gap(usable, rss_slope_bytes_per_min, stable_bound_bytes_per_min)
    types = rank_growing_types(usable, rss_slope_bytes_per_min)
    lines = rank_growing_lines(usable, rss_slope_bytes_per_min)
    points = []
    if gap.measurable:
        points = accumulation_points(usable, gap.python_bytes_per_min, rss_slope_bytes_per_min)
    notes = []
    shares = [g.share_of_rss_growth for g in (*types, *lines) if g.share_of_rss_growth is not None]
    shares += [gap.python_share] if gap.kind == "python" and gap.python_share is not None else []
    shares += [p["share_of_rss_growth"] for p in points if p["share_of_rss_growth"] is not None]
    # As shown, in whole percent: a share of 1.004 reads "100 %" and needs no explaining.
    if any(round(share * 100) > 100 for share in shares):
        notes.append(SHARE_ABOVE_ONE_REASON)
    bound_hits = [s for s in usable if (s.get("holder_search") or {}).get("bound_hit")]
    if bound_hits:
        notes.append(bound_note(bound_hits, len(usable)))
    budget_hits = [s for s in usable if _search(s).get("budget_hit")]
    if budget_hits:
        notes.append(
            f"The reference search stopped at the snapshot child's memory budget in {len(budget_hits)} of "
            f"{len(usable)} probes (what the host had available, less a reserve): fewer holders are named."
        )
    cost = probe_cost(usable)
    if cost["child_share_of_service_max"] is not None:
        notes.append(child_memory_note(cost))
    failed = [s for s in summaries if s.get("error")]
    if failed:
        notes.append(f"{len(failed)} probe(s) gave no count: {failed[0]['error']}.")
    statement = gap.statement
    if points:
        top = points[0]
        statement += f" Held by {top['pattern']} (+{top['bytes_per_min'] / MB:.3g} MB/min)."
    return {
        "statement": statement,
        "gap": gap.to_dict(),
        "types": [g.to_dict() for g in types],
        "lines": [g.to_dict() for g in lines],
        "accumulation_points": points,
        "notes": notes,
        "probes": len(usable),
        "since_s": usable[0]["t_sim_s"] if usable else None,
        "cost": cost,
        "probe_s_mean": float(np.mean([s.get("probe_s", 0.0) for s in usable])),
        "objects_last": usable[-1].get("objects"),
    }


# What each object the reference search visits costs the snapshot child (its index, parent and
# edge entries): the search's own peak allocations, measured with tracemalloc, were 186 B an
# object at 50,000 visited and 124 B at 1,000,000.
SEARCH_BYTES_PER_OBJECT = 200


def bound_note(bound_hits: list[dict[str, Any]], probes: int) -> str:
    """The reference search hit its bound: what that left out, and the option that moves it."""
    bound = bound_hits[0]["holder_search"]["max_visited"]
    sampled = max(s["holder_search"].get("sampled_holders", 0) for s in bound_hits)
    text = (
        f"The reference search stopped at its bound of {bound:,} objects in {len(bound_hits)} of "
        f"{probes} probes"
    )
    if sampled:
        text += (
            f": past it, {sampled} holder(s) were found upwards from a sample of the largest types, "
            "their bytes estimated, and smaller holders beyond it are not named"
        )
    else:
        text += ": containers beyond it are not named"
    return text + (
        f". Raise it with --search-limit OBJECTS (the snapshot child needs about "
        f"{SEARCH_BYTES_PER_OBJECT} bytes per object searched)."
    )


def child_memory_note(cost: dict[str, Any]) -> str:
    """What the snapshot children cost the host, against the service they copy."""
    return (
        f"Each snapshot child took up to {cost['child_private_dirty_bytes_max'] / MB:.0f} MB of the host's "
        f"memory, {cost['child_share_of_service_max']:.0%} of the service's "
        f"{cost['service_rss_bytes_max'] / MB:.0f} MB: a walk copies each page it touches. A child "
        "stops at what the host has available less 64 MB, and no child is forked when that would not "
        "cover the last one's size."
    )


def probe_cost(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """What the probes cost the service (the fork) and the host (the children)."""
    children = [s["child"] for s in summaries if s.get("child")]
    fallbacks = [s.get("mode_reason") for s in summaries if s.get("mode") == "in-process"]

    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    return {
        "pause_s_mean": mean([s.get("probe_s", 0.0) for s in summaries]),
        "pause_s_max": max((s.get("probe_s", 0.0) for s in summaries), default=None),
        "waited_s": float(sum(s.get("waited_s", 0.0) for s in summaries)),
        "child_walk_s_mean": mean([c["walk_s"] for c in children]),
        "child_private_dirty_bytes_max": max((c["private_dirty_bytes"] or 0 for c in children), default=None),
        "child_minor_faults_mean": mean([c["minor_faults"] for c in children if c.get("minor_faults")]),
        "in_process": len(fallbacks),
        "in_process_reason": fallbacks[0] if fallbacks else None,
        # The child against the service it copies: a walk touches every object's page.
        "child_share_of_service_max": max(
            (
                s["child"]["private_dirty_bytes"] / s["service_rss_bytes"]
                for s in summaries
                if s.get("child") and s["child"].get("private_dirty_bytes") and s.get("service_rss_bytes")
            ),
            default=None,
        ),
        "service_rss_bytes_max": max((s.get("service_rss_bytes") or 0 for s in summaries), default=None)
        or None,
    }


_SUBSCRIPT = re.compile(r"\[[^\[\]]*\]")


def _tokens(path: str) -> list[str]:
    """A path cut so that each subscript is its own token: `a.b['x'][3].c` -> a.b, ['x'], [3], .c"""
    tokens, at = [], 0
    for match in _SUBSCRIPT.finditer(path):
        if match.start() > at:
            tokens.append(path[at : match.start()])
        tokens.append(match.group())
        at = match.end()
    if at < len(path):
        tokens.append(path[at:])
    return tokens


def _patterns(paths: list[str]) -> dict[str, str]:
    """Each path's pattern: subscripts where sibling paths differ become [*]."""
    tokenised = {path: _tokens(path) for path in paths}
    for _ in range(3):  # two levels of keys (symbol, timeframe) settle in two rounds
        changed = False
        for tokens in tokenised.values():
            for j, token in enumerate(tokens):
                if not token.startswith("[") or token == "[*]":
                    continue
                siblings = [
                    other
                    for other in tokenised.values()
                    if other is not tokens
                    and len(other) == len(tokens)
                    and other[j] != token
                    and all(a == b for k, (a, b) in enumerate(zip(other, tokens, strict=True)) if k != j)
                ]
                if siblings:
                    for other in siblings:
                        other[j] = "[*]"
                    tokens[j] = "[*]"
                    changed = True
        if not changed:
            break
    return {path: "".join(tokens) for path, tokens in tokenised.items()}


def _series(summaries: list[dict[str, Any]]) -> dict[str, list[tuple[float, dict[str, Any]]]]:
    series: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for summary in summaries:
        for row in summary.get("holders") or []:
            series.setdefault(row["path"], []).append((summary["t_sim_s"] / 60.0, row))
    return series


def _accumulates(points: list[tuple[float, dict[str, Any]]], last_t_min: float) -> bool:
    counts = [row["count"] for _, row in points]
    if len(points) < ACCUMULATION_MIN_PROBES or points[-1][0] != last_t_min or counts[-1] <= counts[0]:
        return False
    # Still growing in the second half: a cache that filled to its cap early is not where growth is.
    if counts[-1] <= counts[len(counts) // 2]:
        return False
    return all(b >= a * (1 - ACCUMULATION_MAX_DROP) for a, b in pairwise(counts))


def accumulation_points(
    summaries: list[dict[str, Any]], python_bytes_per_min: float, rss_slope_bytes_per_min: float | None
) -> list[dict[str, Any]]:
    """The containers whose contents grow, grouped by path pattern, fastest first."""
    if not summaries:
        return []
    last_t_min = summaries[-1]["t_sim_s"] / 60.0
    growing = {}
    for path, points in _series(summaries).items():
        if not _accumulates(points, last_t_min):
            continue
        t_min = np.array([t for t, _ in points])
        held = np.array([row["bytes"] for _, row in points], dtype=float)
        counts = np.array([row["count"] for _, row in points], dtype=float)
        rate = _rate_bytes_per_min(t_min, held)
        if rate > 0:
            growing[path] = (points, rate, _rate_bytes_per_min(t_min, counts))
    floor = ACCUMULATION_MIN_SHARE * max(python_bytes_per_min, rss_slope_bytes_per_min or 0.0)
    # A container inside another growing one is the more precise answer: the outer one is dropped
    # when the inner ones carry its growth (a dict of caches, each cache growing).
    inner_rates: dict[str, float] = {}
    for path, (_, rate, _) in growing.items():
        for outer in growing:
            if outer != path and path.startswith(outer) and path[len(outer)] in ".[:":
                inner_rates[outer] = inner_rates.get(outer, 0.0) + rate
    precise = {path: value for path, value in growing.items() if inner_rates.get(path, 0.0) < 0.8 * value[1]}
    # ... and an inner one is dropped when its outer one is kept: its bytes are counted there.
    precise = {
        path: value
        for path, value in precise.items()
        if not any(
            outer != path and path.startswith(outer) and path[len(outer)] in ".[:" for outer in precise
        )
    }
    patterns = _patterns(list(precise))
    groups: dict[str, list[str]] = {}
    for path, pattern in patterns.items():
        groups.setdefault(pattern, []).append(path)
    # Small growth is noise (a module cache warming up), judged per pattern: one cache per symbol
    # grows slowly, all of them together do not.
    groups = {
        pattern: paths for pattern, paths in groups.items() if sum(precise[p][1] for p in paths) >= floor
    }
    result = []
    for pattern, paths in groups.items():
        paths.sort(key=lambda path: precise[path][1], reverse=True)
        example_points = precise[paths[0]][0]
        first = sum(precise[path][0][0][1]["bytes"] for path in paths)
        last = sum(precise[path][0][-1][1]["bytes"] for path in paths)
        rate = sum(precise[path][1] for path in paths)
        rss_rate = rss_slope_bytes_per_min
        share = rate / rss_rate if rss_rate and rss_rate > 0 else None
        result.append(
            {
                "pattern": pattern,
                "example": paths[0],
                "members": len(paths),
                "type": example_points[-1][1]["type"],
                "item_type": example_points[-1][1].get("item_type"),
                "first_count": sum(precise[path][0][0][1]["count"] for path in paths),
                "last_count": sum(precise[path][0][-1][1]["count"] for path in paths),
                "first_bytes": first,
                "last_bytes": last,
                "bytes_per_min": rate,
                "count_per_min": sum(precise[path][2] for path in paths),
                "share_of_rss_growth": share,
                "probes": len(example_points),
                "series": _summed_series([precise[path][0] for path in paths]),
            }
        )
    result.sort(key=lambda point: point["bytes_per_min"], reverse=True)
    return result


def _summed_series(members: list[list[tuple[float, dict[str, Any]]]]) -> list[dict[str, float]]:
    """Count and bytes of a pattern at each probe (its members summed): the point over time."""
    by_t: dict[float, dict[str, float]] = {}
    for points in members:
        for t_min, row in points:
            entry = by_t.setdefault(t_min, {"t_s": t_min * 60.0, "count": 0, "bytes": 0})
            entry["count"] += row["count"]
            entry["bytes"] += row["bytes"]
    return [by_t[t] for t in sorted(by_t)]


def unavailable(meta: dict[str, Any], summaries: list[dict[str, Any]], span_s: float) -> dict[str, Any]:
    """Why "What grows" has nothing to show, and the option that would fix it."""
    command = meta.get("command", "")
    interval_s = meta.get("probe_interval_s")
    usable = [s for s in summaries if "types" in s]
    failed = [s.get("error") for s in summaries if s.get("error")]
    failed += [e.get("text") for e in meta.get("events", []) if e.get("kind") == "probe_failed"]
    advised_s = max(1.0, span_s / ADVISED_PROBES)
    advice = f"--probe-interval {advised_s:.0f}s (or leave --probe-interval at auto)"
    if command == "watch" and not meta.get("agent"):
        statement = (
            "No inside view: this watch had no agent. Start the service under "
            "`python -m leakhunt.agent -- service.py` (or call leakhunt.agent.start() in it) and "
            "watch with --agent."
        )
    elif not interval_s:
        statement = f"No inside view: probes were off (--probe-interval 0). Run with {advice}."
    elif failed and not usable:
        statement = f"Every probe failed ({failed[0]}): nothing to attribute."
    else:
        late = _late_text(meta, summaries)
        statement = (
            f"Only {len(usable)} probe(s) in {span_s / 60:.1f} min (one every {interval_s:g} s): "
            f"at least 2 are needed and {ADVISED_PROBES} give a rate. "
            + (f"Of the others, {late}. " if late else "")
            + f"Run with {advice}."
        )
    return {"statement": statement, "unavailable": True, "probes": len(usable), "types": [], "lines": []}


# A container has filled when, over the last third of the probes, its count moved by no more
# than this share of it, and it ended no lower than this share below its peak.
FILLED_FLAT_SHARE = 0.05
# ... and the bytes it gained are at least this share of the largest gain among those that filled.
FILLED_MIN_SHARE = 0.1


def filled_containers(summaries: list[dict[str, Any]], top: int = 3) -> list[dict[str, Any]]:
    """The containers that grew and then stopped at a size: what a plateau filled, largest first."""
    usable = sorted((s for s in summaries if "t_sim_s" in s), key=lambda s: s["t_sim_s"])
    if len(usable) < ACCUMULATION_MIN_PROBES:
        return []
    last_t_min = usable[-1]["t_sim_s"] / 60.0
    late_from_min = usable[-max(2, len(usable) // 3)]["t_sim_s"] / 60.0
    filled = {}
    for path, points in _series(usable).items():
        counts = [row["count"] for _, row in points]
        late = [row["count"] for t, row in points if t >= late_from_min]
        if len(points) < ACCUMULATION_MIN_PROBES or points[-1][0] != last_t_min or len(late) < 2:
            continue
        gained_bytes = points[-1][1]["bytes"] - points[0][1]["bytes"]
        if counts[-1] <= counts[0] or gained_bytes <= 0:
            continue
        if max(late) - min(late) > FILLED_FLAT_SHARE * counts[-1] or counts[-1] < (
            1 - FILLED_FLAT_SHARE
        ) * max(counts):
            continue
        full_at_min = next(t for t, row in points if row["count"] >= (1 - FILLED_FLAT_SHARE) * counts[-1])
        filled[path] = {
            "path": path,
            "type": points[-1][1]["type"],
            "item_type": points[-1][1].get("item_type"),
            "first_count": counts[0],
            "last_count": counts[-1],
            "gained_bytes": gained_bytes,
            "full_at_s": full_at_min * 60.0,
        }
    # A container holding one that filled is the filled one's, said once (the inner is precise).
    for path in list(filled):
        inner = [p for p in filled if p != path and p.startswith(path) and p[len(path)] in ".[:"]
        if sum(filled[p]["gained_bytes"] for p in inner) >= 0.8 * filled[path]["gained_bytes"]:
            del filled[path]
    ranked = sorted(filled.values(), key=lambda row: row["gained_bytes"], reverse=True)
    return [
        row for row in ranked[:top] if row["gained_bytes"] >= FILLED_MIN_SHARE * ranked[0]["gained_bytes"]
    ]


def bounded_statement(filled: list[dict[str, Any]], probes: int) -> str:
    """What a BOUNDED run filled, or why none is named."""
    if not filled:
        return (
            f"RSS levels off (BOUNDED), and no container the {probes} probe(s) saw filled: it filled "
            "before the first probe or between two of them, or what filled is not Python objects "
            "(the allocator's arenas, a native buffer). Probe more often through the rise to name it."
        )
    top = filled[0]
    holds = f"{top['type']} of {top['item_type']}" if top.get("item_type") else top["type"]
    text = (
        f"RSS levels off (BOUNDED): what filled is {top['path']} ({holds}), "
        f"{top['first_count']:,} -> {top['last_count']:,} items (+{top['gained_bytes'] / MB:.3g} MB), "
        f"full by {top['full_at_s'] / 60:.1f} min and the same size since: a cache at its cap, not a "
        "leak. If the cap costs more than this host can spare, lower it."
    )
    others = ", ".join(f"{row['path']} (+{row['gained_bytes'] / MB:.3g} MB)" for row in filled[1:])
    return text + (f" Also filled: {others}." if others else "")


def what_grows(
    summaries: list[dict[str, Any]],
    meta: dict[str, Any],
    rss_slope_bytes_per_min: float,
    stable_bound_bytes_per_min: float,
    since_s: float | None,
    span_s: float,
    verdict: str | None = None,
) -> dict[str, Any]:
    """The "What grows" section: the attribution, or why there is none. A BOUNDED run's rates
    are those of its plateau (nothing grows there): it is told what filled before."""
    found = attribute(summaries, rss_slope_bytes_per_min, stable_bound_bytes_per_min, since_s)
    if found is None:
        found = unavailable(meta, summaries, span_s)
    if verdict == "BOUNDED" and found["probes"] >= 2:
        heaps = [s for s in summaries if "types" in s]
        found["filled"] = filled_containers(heaps)
        found["statement"] = bounded_statement(found["filled"], len(heaps))
    elif not found.get("unavailable"):
        reason = holder_missing(found, summaries, meta)
        if reason is not None:
            found["holder_missing"] = reason
            found["notes"].append(reason)
    return found


def _late_text(meta: dict[str, Any], summaries: list[dict[str, Any]]) -> str:
    """How many probes did not complete and why, from the watch's counts and the failures."""
    counts = meta.get("probe_counts") or {}
    parts = []
    if counts.get("late"):
        walks = [s["child"]["walk_s"] for s in summaries if s.get("child")]
        walked = f" (each walk took {max(walks):.0f} s at most)" if walks else ""
        parts.append(
            f"{counts['late']} came due while the previous one was still counting{walked}, and were not asked"
        )
    failed = [s for s in summaries if s.get("error")] + [
        e for e in meta.get("events", []) if e.get("kind") == "probe_failed"
    ]
    if failed:
        first = failed[0].get("error") or failed[0].get("text")
        parts.append(f"{len(failed)} failed ({first})")
    return "; ".join(parts)


def holder_missing(
    found: dict[str, Any], summaries: list[dict[str, Any]], meta: dict[str, Any]
) -> str | None:
    """Why no container is named as the holder of growth that is Python objects; None when one
    is, or when there is nothing a container could hold (no growth, native memory, objects no
    root reaches: the statement says so)."""
    gap = found.get("gap") or {}
    if found.get("accumulation_points") or not gap.get("measurable"):
        return None
    if gap.get("kind") not in ("python", "reuse"):
        return None
    usable = [s for s in summaries if "types" in s]
    probes = found["probes"]
    bound_hits = [s for s in usable if _search(s).get("bound_hit")]
    if bound_hits:
        bound = _search(bound_hits[0]).get("max_visited", 0)
        return (
            f"No holder named: the reference search stopped at its bound of {bound:,} objects in "
            f"{len(bound_hits)} of {len(usable)} probes, before it reached what grows: raise it with "
            "--search-limit OBJECTS."
        )
    if not any("holders" in s for s in usable):
        return "No holder named: these probes did not search for holders."
    if probes < ACCUMULATION_MIN_PROBES:
        late = _late_text(meta, summaries)
        return (
            f"No holder named: who holds it takes {ACCUMULATION_MIN_PROBES} probes in the fitted part "
            f"of the run, and {probes} completed there"
            + (f": of the others, {late}." if late else ".")
            + " Probe more often (--probe-interval) or watch longer."
        )
    return (
        f"No holder named: no container's contents grew steadily across the {probes} probes. The "
        f"growth is spread over containers of under {16_384 // 1024} kB each, or held outside "
        "containers (attributes, closures, globals rebound to new objects)."
    )
