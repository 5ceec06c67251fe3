"""The analysis a live view shows while it samples, at constant work per sample and in bounded
memory however long the watch runs.

Samples are folded into at most MAX_BUCKETS buckets of equal sample count (time, median, min
and max of RSS). When they are all used, neighbours are merged in pairs and each bucket then
takes twice as many samples: an 8-hour watch at 10 Hz keeps the same few kilobytes as a
1-minute one. The robust fit (analysis/growth.py) runs on the buckets when the view asks for it,
at most every REFIT_EVERY_S of the run's time, so its cost per sample does not grow with the run
either. A
merged bucket's median is the mean of its two halves' medians: close, not exact. The verdict of
record is computed once at the end, from every sample on disk.

What the criteria need besides the fit (last, peak, most swap, mean CPU, RSS at `rss@T`) is kept
as running values (criteria.Observed).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leakhunt.analysis.criteria import Criterion, CriterionResult, Observed, evaluate
from leakhunt.analysis.growth import Growth, fit_growth
from leakhunt.analysis.verdict import Judgement, judge
from leakhunt.sampling.sample import Sample

MAX_BUCKETS = 512
REFIT_EVERY_S = 5.0
# Over the first samples it is refitted whenever asked: a short watch still shows its growth.
ALWAYS_REFIT_BELOW = 12


class Buckets:
    """A bounded summary of a time series: per bucket the mean time and the median, min and max."""

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self.per_bucket = 1
        self.t_s = np.empty(max_buckets)
        self.median = np.empty(max_buckets)
        self.low = np.empty(max_buckets)
        self.high = np.empty(max_buckets)
        self.closed = 0
        self._pending_t: list[float] = []
        self._pending_y: list[float] = []

    def add(self, t_s: float, value: float) -> None:
        self._pending_t.append(t_s)
        self._pending_y.append(value)
        if len(self._pending_t) < self.per_bucket:
            return
        if self.closed == self.max_buckets:
            self._halve()  # the pending samples then fill half a bucket of the new size
            return
        k = self.closed
        y = np.asarray(self._pending_y)
        self.t_s[k] = sum(self._pending_t) / len(self._pending_t)
        self.median[k], self.low[k], self.high[k] = np.median(y), y.min(), y.max()
        self.closed += 1
        self._pending_t.clear()
        self._pending_y.clear()

    def _halve(self) -> None:
        """Merge neighbours in pairs; from now on a bucket takes twice as many samples."""
        half = self.max_buckets // 2
        for column, merge in (
            (self.t_s, np.mean),
            (self.median, np.mean),
            (self.low, np.min),
            (self.high, np.max),
        ):
            column[:half] = merge(column[: 2 * half].reshape(half, 2), axis=1)
        self.closed = half
        self.per_bucket *= 2

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """(time, median) of every bucket, the samples not yet in one as one more bucket."""
        t_s, median = self.t_s[: self.closed], self.median[: self.closed]
        if self._pending_t:
            t_s = np.append(t_s, sum(self._pending_t) / len(self._pending_t))
            median = np.append(median, np.median(self._pending_y))
        return t_s, median


@dataclass(frozen=True)
class LiveStatus:
    growth: Growth
    judgement: Judgement
    criteria: list[CriterionResult]


class LiveAnalysis:
    """Growth, verdict and criteria so far, updated sample by sample."""

    def __init__(
        self,
        criteria: Sequence[Criterion] = (),
        refit_every_s: float = REFIT_EVERY_S,
        time_axis: str = "t_wall_s",
    ) -> None:
        """`time_axis`: the clock growth is measured on, `t_sim_s` for a soak's simulated one;
        refits are paced by the wall clock either way."""
        self.criteria = list(criteria)
        self.refit_every_s = refit_every_s
        self.time_axis = time_axis
        self.rss = Buckets()
        self.n_samples = 0
        self.last: Sample | None = None
        self._status: LiveStatus | None = None
        self.fits = 0
        self._first_t_s = 0.0
        self._peak_rss_bytes = 0.0
        self._max_swap_bytes = 0.0
        self._cpu_sum = 0.0
        self._fitted_at_s = -np.inf
        self._fitted_n = 0
        self._at_s = sorted({c.at_s for c in self.criteria if c.metric == "rss" and c.at_s is not None})
        self._near: dict[float, tuple[float, float, float]] = {}  # T -> (distance, elapsed, rss)

    def add(self, sample: Sample) -> None:
        if self.last is None:
            self._first_t_s = sample.t_sim_s
        self.last = sample
        self.n_samples += 1
        self.rss.add(getattr(sample, self.time_axis), sample.rss_bytes)
        self._peak_rss_bytes = max(self._peak_rss_bytes, sample.rss_bytes)
        self._max_swap_bytes = max(self._max_swap_bytes, sample.swap_bytes or 0)
        self._cpu_sum += sample.cpu_percent or 0.0
        elapsed_s = sample.t_sim_s - self._first_t_s
        for at_s in self._at_s:
            distance = abs(elapsed_s - at_s)
            if at_s not in self._near or distance < self._near[at_s][0]:
                self._near[at_s] = (distance, elapsed_s, float(sample.rss_bytes))

    @property
    def status(self) -> LiveStatus | None:
        """Growth, verdict and criteria so far, refitted when asked and stale: a view shown once
        a minute refits once a minute, a panel at most every `refit_every_s`."""
        last = self.last
        if last is None:
            return None
        if self.n_samples <= ALWAYS_REFIT_BELOW or last.t_wall_s - self._fitted_at_s >= self.refit_every_s:
            self._refit(last)
        return self._status

    def fresh_status(self) -> LiveStatus | None:
        """The status fitted to every sample so far, whatever the cadence: for the line a log
        keeps, and the last one of a run."""
        if self.last is not None and self._fitted_n != self.n_samples:
            self._refit(self.last)
        return self._status

    def observed(self) -> Observed:
        assert self.last is not None
        return Observed(
            n_samples=self.n_samples,
            covered_s=self.last.t_sim_s - self._first_t_s,
            last_rss_bytes=float(self.last.rss_bytes),
            peak_rss_bytes=self._peak_rss_bytes,
            max_swap_bytes=self._max_swap_bytes,
            mean_cpu_percent=self._cpu_sum / self.n_samples,
            rss_near={at_s: (elapsed_s, rss) for at_s, (_, elapsed_s, rss) in self._near.items()},
        )

    def _refit(self, sample: Sample) -> None:
        self.fits += 1
        self._fitted_at_s = sample.t_wall_s
        self._fitted_n = self.n_samples
        growth = fit_growth(*self.rss.series())
        self._status = LiveStatus(
            growth=growth,
            judgement=judge(growth, last_rss_bytes=sample.rss_bytes),
            criteria=evaluate(self.criteria, self.observed(), growth),
        )


def warm_up() -> None:
    """One full-size fit and one merge of buckets on scratch data, before sampling starts.

    Their one-time costs (numpy's lazily loaded parts, the allocator's first arenas for them) then
    land in start-up, rather than as a 1-2 MB step in leakhunt's own RSS at the first merge and
    the first full fit (measured, watching leakhunt with leakhunt)."""
    # Scratch values: what they are does not matter, only that the code paths run (so no mutant
    # of these lines could be caught, and mutmut is told not to make any).
    scratch = LiveAnalysis([])  # pragma: no mutate
    for k in range(2 * MAX_BUCKETS + 1):  # pragma: no mutate
        rss_bytes = 10**8 + 4096 * (k % 7)  # pragma: no mutate
        scratch.add(Sample(t_wall_s=float(k), t_sim_s=float(k), rss_bytes=rss_bytes))  # pragma: no mutate
    assert scratch.status is not None  # pragma: no mutate
